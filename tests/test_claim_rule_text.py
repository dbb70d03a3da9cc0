"""The claims' rule text and the prose around it: one rule text with its band clause, copied rows said once, rules
in words, study and model names in words, counts that say what they count."""
import re

import numpy as np
import pandas as pd


def test_every_statement_of_the_paired_rule_carries_the_band_clause():
    from spectral_collapse.studies.claims import RULES
    from spectral_collapse.studies.claims_words import BAND_CLAUSE, PAIRED, chapter_rule

    assert "band" in BAND_CLAUSE and BAND_CLAUSE in RULES[PAIRED]
    assert BAND_CLAUSE in chapter_rule() and BAND_CLAUSE in chapter_rule(shares=True)
    assert "50 %" in chapter_rule(shares=True) and "50 %" not in chapter_rule()


def test_rules_are_said_in_words_not_as_lists_of_formulas():
    from spectral_collapse.studies.claims import CLAIMS

    for c in CLAIMS:
        assert "either's" not in c.rule, c.key
        assert not re.search(r"\) − \w+\([^)]*\), \w+\([^)]*\) − \w+\([^)]*\) [<>]", c.rule), c.key


def test_a_copied_row_is_said_once_and_the_claims_refer_to_it():
    from spectral_collapse.report.claims_page import copies_markdown, copies_reference

    a = "Table 5's TABA row (BBBC021 ×16) carries the numbers of Table 4's TABA row on all 7 metrics."
    b = "The OVG rows of Tables 3, 4 and 5 (BBBC021 ×16) carry the numbers of Table 9's OVG + TABA row."
    copies = {"backbone": (b,), "space": (b, a), "scale": (b, a)}
    top = copies_markdown(copies)
    assert top.count(a) == 1 and top.count(b) == 1
    ref = copies_reference(copies["space"])
    assert a not in ref and "Table 5's TABA row (BBBC021 ×16)" in ref and "the OVG rows of Tables 3, 4 and 5" in ref
    assert copies_markdown({"x": ()}) == "" and copies_reference(()) == ""


def test_the_held_count_reads_as_a_sentence():
    from spectral_collapse.report.settle import held_counts

    held = pd.DataFrame([{"verdict": "holds", "decided by": "paired comparison", "our numbers": "x"}] * 4)
    said = held_counts(held)
    assert said == "4 rest on a 95 % interval" and "with its" not in said


def test_studies_and_models_are_named_in_words():
    from spectral_collapse.studies.claims_words import gate_models_words, study_title, where_words
    from spectral_collapse.studies.registry import STUDIES

    titles = {s.name: s.title.lower() for s in STUDIES} if not isinstance(STUDIES, dict) else \
        {k: v.title.lower() for k, v in STUDIES.items()}
    for key in ("backbone_ablation", "space_ablation", "scale_factor", "eps_vs_x0", "x0", "backbone"):
        name = study_title(key)
        assert "_" not in name and "eps vs" not in name
        full = {"x0": "eps_vs_x0", "backbone": "backbone_ablation"}.get(key, key)
        assert name.lower() in titles[full]
    words = gate_models_words("backbone", "ihc-sr", ("backbone", {"DiT": ["ihc-sr-x4-eps-dit-quick"]}),
                              ["ihc-sr-x4-eps-dit-quick"])
    assert words == "the DiT model of the backbone ablation on ihc-sr"
    assert "-quick" not in gate_models_words("pca_collapse", "ihc-sr", None, ["ihc-sr-x4-eps-quick"])
    assert where_words("Sec. 6.2 (state-of-the-art trade-off)") == "Sec. 6.2, state-of-the-art trade-off"


def test_the_ordering_summary_says_why_totals_differ_and_reads_a_share_without_interval():
    from spectral_collapse.studies.scorecard import ordering_note, ties_note

    agree = pd.DataFrame({"metric": ["psnr", "s_hf"], "pairs": [9, 8], "agree": [3, 6], "share": [1 / 3, 0.75],
                          "ties": [2, 0]})
    assert "left out" in ties_note(agree) and "PSNR 2" in ties_note(agree)
    assert ties_note(agree.assign(ties=0)) == ""
    assert "no interval" in ordering_note(agree)


def test_a_row_failed_everywhere_is_said_once_beside_its_method():
    from spectral_collapse.report.ablations import named_arms

    ix = pd.MultiIndex.from_tuples([("x0", 4, "ovg"), ("x0", 4, "ddim")], names=["parameterization", "factor",
                                                                                 "method"])
    t = pd.DataFrame({"psnr": ["n/a (48 of 48 samples failed)", "20.1"], "s_hf": ["n/a (48 of 48 samples failed)",
                                                                                  "0.9 (2 of 48 samples failed)"]},
                     index=ix)
    shown = named_arms(t)
    text = shown.to_string()
    assert text.count("48 of 48") == 1 and "ovg (48 of 48 failed)" in text and "2 of 48 samples failed" in text


def test_seed_claims_count_a_named_set_and_untestable_rows_read_a_dash():
    from spectral_collapse.report.seed_claims import agreement, claim_set_words
    from spectral_collapse.studies.tables import MAIN_CLAIMS

    claims = pd.DataFrame({"claim": ["a", "b", "c"], "seed 0": ["holds", "holds", "not testable here"],
                           "seed 1": ["holds", "inconclusive", "not testable here"],
                           "same verdict in every run": ["yes", "no", "—"]})
    same, moved = agreement(claims)
    said = claim_set_words(claims, len(same) + len(moved))
    assert "3 claims that read the main results" in said and "2 of them are testable here" in said
    assert f"gives {len(MAIN_CLAIMS)} of them" in said


def test_the_outlier_rule_is_short_sentences_and_draws_carry_a_separator():
    from spectral_collapse.report.seed_outliers import outlier_rule

    import inspect

    from spectral_collapse.report import seeds

    rule = outlier_rule(3.0)
    assert len(rule.split(". ")) >= 2 and all(len(s) < 200 for s in rule.split(". "))
    assert "{n_boot:,}" in inspect.getsource(seeds.spread_legend)


def test_chapter_prose_writes_formulas_as_maths_not_ascii():
    import inspect

    from spectral_collapse.report import ablation_paper, ablations, main_results

    for mod in (ablations, ablation_paper, main_results):
        src = inspect.getsource(mod)
        strings = re.findall(r'"[^"\n]*"', src)
        assert not [s for s in strings if re.search(r"\|\|\w+\|\|\^?2?|x0_hat|\bsigma\b(?!\$)", s)
                    and "$" not in s], mod.__name__


def test_a_claims_sample_names_its_study_by_the_chapter_title():
    import numpy as np
    import pandas as pd

    from spectral_collapse.studies.claims_words import study_title
    from spectral_collapse.studies.samples import sample_size
    from spectral_collapse.studies.scorecard import Evidence

    frame = pd.DataFrame({"study": ["x0", "scale"], "dataset": "ihc-sr", "method": "ddim", "seed": 0,
                          "metric": "s_hf", "value": 0.5, "failed": 0, "samples": np.nan})
    said = sample_size(Evidence(frame=frame), ("x0", "scale"))
    assert "eps vs x0" not in said and said.startswith(f"{study_title('x0')}, ihc-sr")
    assert f"; {study_title('scale')}, ihc-sr" in said
