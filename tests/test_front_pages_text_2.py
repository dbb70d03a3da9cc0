"""The claims and conclusions pages speak the reader's names and each page has its own job: internal keys (method
labels, metric columns, claim keys, from the registries) are written as the pages name them, each claim's summary
row shows the comparison its verdict rests on with its interval, a metric a claim names but our numbers lack is said,
and the conclusions share no sentence with the introduction. Synthetic inputs for the helpers; the generated pages
as ``scripts/make_toc.py`` writes them for the rest."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from spectral_collapse.report.claims_page import (deciding_evidence, glossary_links, internal_keys, reader_names)
from spectral_collapse.studies.claims import CLAIMS, FAILS, HOLDS, INCONCLUSIVE
from spectral_collapse.studies.method_labels import BASELINE_LABELS, PAPER_LABELS, STABLE_OVG_LABEL

ROOT = Path(__file__).resolve().parents[1]
GEN = ROOT / "book" / "_generated"


def _key_hits(text: str) -> list[str]:
    """The internal keys ``text`` shows a reader: outside code spans, roles and longer names (a model folder)."""
    prose = re.sub(r"`[^`\n]*`", "", text)
    keys = "|".join(sorted(map(re.escape, internal_keys()), key=len, reverse=True))
    return re.findall(rf"(?<![\w\-./<{{])({keys})(?![\w\-/>}}])", prose)


def test_the_key_list_comes_from_the_registries():
    keys = set(internal_keys())
    assert {*PAPER_LABELS, *BASELINE_LABELS, STABLE_OVG_LABEL} <= keys
    assert {"s_hf", "s_lf", "s_dc", "s_g", "ms_ssim", "psnr"} <= keys
    assert {c.key for c in CLAIMS if "_" in c.key} <= keys and "table1" in keys
    assert "space" not in keys  # a claim key that is also an English word is not flagged


def test_reader_names_write_every_key_as_the_pages_name_it():
    said = reader_names("S_DC(ddim) − S_DC(taba); ihc-sr dit: S_HF ddim − ovg_edm; s_hf: 62.5% [50%, 70%]; "
                        "k90 ddim x2 − gaussian; null_class vs direct_inversion; ovg_stable")
    assert _key_hits(said) == [], said
    for name in ("S_DC(DDIM)", "OVG + EDM", "DiT", "S_HF: 62.5%", "Gaussian noise", "Null-Class", "DirectInversion",
                 "OVG (stable form)"):
        assert name in said, (name, said)


def test_reader_names_leave_longer_names_and_code_alone():
    kept = "rests on ihc-sr-x4-eps-dit-quick; `method_specs(['ddim'])`; data/results/main_results/x.nc"
    assert reader_names(kept) == kept


def test_key_check_can_fail():
    assert _key_hits("S_DC ddim − taba; ovg_edm on the front") == ["ddim", "taba", "ovg_edm"]


def test_glossary_links_link_the_first_use_only():
    said = glossary_links("k90 of DDIM; k90 again; 2 points coinciding with another method")
    assert said.count("{term}`k90 <k90>`") == 1 and "{term}`coinciding <Coinciding methods>`" in said


@pytest.mark.parametrize("verdict, want", [
    (FAILS, "S_DC b − a −0.041 [−0.049, −0.034]"),
    (INCONCLUSIVE, "S_HF b − a +0.004 [−0.009, +0.011]"),
    (HOLDS, "S_HF b − a +0.144 [+0.125, +0.162]"),
])
def test_the_summary_shows_the_comparison_a_verdict_rests_on(verdict, want):
    detail = ("2 of 4 hold, 1 inconclusive: x: S_HF b − a +0.144 [+0.125, +0.162], 48 crops → holds; x: S_DC b − a "
              "−0.041 [−0.049, −0.034], 48 crops (mean a; b) → does not hold; y: S_HF b − a +0.004 [−0.009, "
              "+0.011], 48 crops → inconclusive; y: S_DC b − a +0.1 [+0.05, +0.2], 48 crops → holds")
    got = deciding_evidence(verdict, detail)
    assert want in got and "(1 of 4 comparisons)" in got and "→" not in got


def test_a_comparison_without_an_interval_says_so():
    got = deciding_evidence(HOLDS, "2 of 2 hold: a: front = b, c; d: front = e")
    assert "no interval" in got


# ------------------------------------------------------------------------------------------------ generated pages

def _generated(name: str) -> str:
    path = GEN / name
    if not path.exists():
        pytest.skip(f"{path} is written by scripts/make_toc.py from stored results")
    return path.read_text()


def test_claims_page_shows_no_internal_key_and_the_summary_has_intervals():
    text = _generated("claims.md")
    assert _key_hits(text) == [], sorted(set(_key_hits(text)))
    table = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert table, "the claims page has no summary table"
    for row in table:
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        verdict, rests = cells[1], cells[2]
        if verdict != "not testable here":
            assert "[" in rests or "no interval" in rests or "cannot give an interval" in rests, row
            assert not re.search(r"\[([^,\]]+), \1\]", rests), row    # no zero-width interval printed


def test_a_metric_a_claim_names_but_our_numbers_lack_is_said():
    text = _generated("claims.md")
    for section in text.split("\n## ")[1:]:
        head, _, rest = section.partition("\n\n")
        statement = rest.split("\n")[0]
        ours = next((line for line in rest.splitlines() if line.startswith("- **Our verdict")), "")
        if "MS-SSIM" in statement and "MS-SSIM" not in ours and ("PSNR" in ours or "S_LF" in ours):
            assert "Not in our numbers: MS-SSIM" in section, head


def _sentences(text: str) -> set[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return {s.strip() for s in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", text)) if len(s.strip()) > 40}


def test_conclusions_do_not_repeat_the_introduction():
    conclusions = (ROOT / "book" / "conclusions.md").read_text()
    assert "_generated/answers.md" not in conclusions
    page = conclusions + _generated("conclusions.md")
    intro = (ROOT / "book" / "intro.md").read_text() + _generated("answers.md")
    assert not _sentences(page) & _sentences(intro)
    assert _key_hits(_generated("conclusions.md")) == []
    for head in ("## What the evidence supports", "## Limits of this evidence, in numbers"):
        assert head in page


def test_conclusions_name_a_claims_place_once():
    """A claim whose title already ends in where the paper makes it ("... (Table 1)") is not followed by the same
    place again."""
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "book" / "_generated" / "conclusions.md").read_text()
    assert not re.search(r"\(([^()]+)\)\*\* \(\1\)", page) and not re.search(r"\(([^()]+)\) \(\1\)", page)
