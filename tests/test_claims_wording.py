"""Verdicts say what their evidence supports: a model below the quality gate makes a verdict indicative only, a
zero-width share interval is said in words, an open comparison whose mean lies within the minimal effect is not
sent for more samples, S_LF is named for what it measures, the Pareto claim names the variants whose points make it,
the schedule target is read on an interval, and the claims page states each general rule once."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spectral_collapse.metrics.intervals import MIN_EFFECT, Interval
from spectral_collapse.studies import claims as C
from spectral_collapse.studies import scorecard as S
from spectral_collapse.studies import verdicts as V

N, SEEDS = 16, (0, 1, 2)


def _crops(values: dict, metric: str, dataset="d", study="main", **axes) -> pd.DataFrame:
    rows = []
    for method, v in values.items():
        v = np.broadcast_to(np.asarray(v, float), (len(SEEDS), N))
        for i, s in enumerate(SEEDS):
            rows += [dict(study=study, dataset=dataset, method=method, seed=s, sample=j, crop=i * N + j,
                          metric=metric, value=v[i, j], same_as="", **axes) for j in range(N)]
    return pd.DataFrame(rows)


def _evidence(*parts, **kw) -> S.Evidence:
    cr = pd.concat(parts, ignore_index=True)
    keys = [c for c in cr.columns if c not in ("sample", "crop", "value")]
    frame = cr.groupby(keys, dropna=False)["value"].mean().reset_index()
    return S.Evidence(frame=frame, crops=cr, source="ours", **kw)


def _noise(seed=0, scale=0.01):
    return scale * np.random.default_rng(seed).standard_normal((len(SEEDS), N))


def _backbone_evidence(weak: bool) -> S.Evidence:
    """Backbone-ablation evidence: OVG lifts S_HF and S_DC clearly on the U-Net arm; on the DiT arm DDIM's S_HF is
    above OVG's (the claim does not hold there). ``weak``: the DiT arm's model is below the quality gate."""
    parts = []
    for arm, sign in (("unet", -1), ("dit", +1)):
        for m in ("s_hf", "s_dc"):
            d = sign * 0.1 if m == "s_hf" else -0.1
            parts.append(_crops({"ddim": 0.5 + d + _noise(1), "ovg": 0.5 + _noise(2)}, m, dataset="ihc-sr",
                                study="backbone", backbone=arm))
    kw = dict(weak={("backbone", "ihc-sr"): ["dit-model"]},
              weak_arms={("backbone", "ihc-sr"): ("backbone", {"dit": ["dit-model"]})}) if weak else {}
    return _evidence(*parts, **kw)


# ---------------------------------------------------------------------------------------- the quality gate

def test_a_verdict_on_a_model_below_the_gate_is_indicative_only_with_the_gated_verdict_beside():
    c = next(c for c in C.CLAIMS if c.key == "backbone")
    plain = C.judge(c, _backbone_evidence(weak=False))
    assert plain.verdict == C.FAILS and plain.caveat == ""
    found = C.judge(c, _backbone_evidence(weak=True))
    assert found.verdict == C.FAILS                                   # the tally keeps the verdict
    assert "the DiT model of the backbone ablation" in found.caveat and "dit-model" not in found.caveat
    assert C.INDICATIVE not in found.caveat  # said once, by ``verdict_words``
    # the gated comparisons cover the U-Net arm only; the DiT arm rests on the weak model alone: no bare "holds"
    assert "cover the U-Net backbone only" in found.caveat and "2 of 2 comparisons hold there" in found.caveat
    assert "the DiT backbone rests only on the model below the gate" in found.caveat
    assert ": holds" not in found.caveat
    said = C.findings_markdown([(c, found)])
    assert f"{C.FAILS}, {C.INDICATIVE}" in said and "below the quality gate" in said
    assert said.count(C.INDICATIVE) == 1
    table = C.evaluate_claims(_backbone_evidence(weak=True), S.paper_evidence(), claims=[c])
    assert table.loc[0, "caveat"] == found.caveat


def test_the_arms_below_the_gate_are_read_from_the_results_attributes():
    from spectral_collapse.studies.evidence import weak_arms

    ds = xr.Dataset(attrs={
        "arms": json.dumps([{"coords": [["backbone", "unet"]], "tag": "unet"},
                            {"coords": [["backbone", "dit"]], "tag": "dit"}]),
        "per_arm": json.dumps({"unet": {"models": json.dumps({"eps": "data/checkpoints/u-0123456789ab"})},
                               "dit": {"models": json.dumps({"eps": "data/checkpoints/d-ba9876543210"})}}),
        "model_gate": json.dumps({"u-0123456789ab": {"passed": True}, "d-ba9876543210": {"passed": False}})})
    assert weak_arms(ds) == ("backbone", {"dit": ["d"]})
    ev = _backbone_evidence(weak=True)
    gated = ev.gated()
    assert set(gated.crops["backbone"]) == {"unet"} and gated.weak == {}


# ------------------------------------------------------------------------------------------------- shares

def test_a_zero_width_share_interval_is_said_in_words():
    from spectral_collapse.studies.shares import NO_SPREAD, share_span

    said = share_span(0.625, 0.625, 0.625, 96, "crop")
    assert NO_SPREAD in said and "96 crops" in said and "[" not in said
    assert share_span(0.625, 0.5, 0.75) == "62.5 % [50.0, 75.0]"
    # every comparison clear-cut: resampling crops never changes a winner, so the share has no spread
    parts = [_crops({"taba": 0.9 + _noise(3), "ddim": 0.1 + _noise(4), "null_class": 0.95 + _noise(5)}, "s_hf",
                    dataset=ds) for ds in ("a", "b")]
    found = next(c for c in C.CLAIMS if c.key == "table1").test(_evidence(*parts))
    text = found.detail.split(";")[0]
    assert NO_SPREAD in text and not re.search(r"\[(\d+\.\d)%, \1%\]", found.detail)
    from spectral_collapse.report.claims_page import deciding_evidence

    shown = deciding_evidence(found.verdict, found.detail)
    assert NO_SPREAD in shown and "means only" not in shown


# ---------------------------------------------------------------------------------------- open comparisons

@pytest.mark.parametrize("mean, lo, hi, want", [(-0.004, -0.009, 0.001, V.WITHIN_EFFECT),
                                                (-0.05, -0.12, 0.02, "its interval reaches 0"),
                                                (0.05, -0.02, 0.12, "leans the other way")])
def test_an_open_comparison_says_why(mean, lo, hi, want):
    v, said = V.read_interval(Interval(mean, lo, hi, 48), MIN_EFFECT["s_hf"], higher=False)
    assert v == V.INCONCLUSIVE and said.startswith(f"{V.INCONCLUSIVE}: ") and want in said


def test_a_mean_within_the_minimal_effect_is_not_sent_for_more_samples():
    from spectral_collapse.report.answers import _why_inconclusive
    from spectral_collapse.report.settle import settle_within as _settle_within

    f = _crops({"ddim": 0.5 + _noise(6), "taba": 0.5 + 0.3 * MIN_EFFECT["s_hf"] + _noise(7)}, "s_hf")
    v, text = V.compare(f, "ddim", "taba", "s_hf", higher=False)
    assert v == V.INCONCLUSIVE and V.WITHIN_EFFECT in text
    assert _why_inconclusive(text) == "a mean difference within the minimal effect"
    settle = _settle_within("t", text)
    assert "point against" in settle and "would not settle" in settle and "more test crops or seeds" not in settle
    # a mean within the minimal effect whose interval reaches beyond it: more samples could settle it
    wide = "1 of 2 hold, 1 inconclusive: d: k90 a − b −0.9 [−2.0, +0.0] → inconclusive: " + V.WITHIN_EFFECT + " (±1)"
    settle = _settle_within("t", wide)
    assert "could settle" in settle and "point against" not in settle
    swing = 0.2 * np.where(np.arange(len(SEEDS) * N) % 2, 1.0, -1.0).reshape(len(SEEDS), N)   # mean 0, wide
    f = _crops({"ddim": np.full((len(SEEDS), N), 0.5), "taba": 0.5 + 3 * MIN_EFFECT["s_hf"] + swing}, "s_hf")
    v, text = V.compare(f, "ddim", "taba", "s_hf", higher=False)
    assert v == V.INCONCLUSIVE and _why_inconclusive(text) == "an interval that reaches 0"


# --------------------------------------------------------------------------------------------------- S_LF

def test_s_lf_is_named_the_input_s_structure_in_every_heading():
    from spectral_collapse.studies.claim_titles import CLAIM_TITLES, INPUT_STRUCTURE

    for c in C.CLAIMS:
        if "S_LF" in c.statement or "structur" in c.statement:
            title = CLAIM_TITLES[c.key]
            assert "structure" not in title.replace(INPUT_STRUCTURE, ""), title


# -------------------------------------------------------------------------------------------------- Pareto

def _sweep(points: dict, baselines: dict, failed: dict | None = None, n=4) -> xr.Dataset:
    """A pareto results dataset: bases on a 1 x 2 grid, values constant over ``n`` samples; ``failed``: {(base, j):
    number of failed samples}."""
    bases = list(points)
    s_hf = np.array([[[[p[0]] * n for p in points[b]]] for b in bases])
    s_lf = np.array([[[[p[1]] * n for p in points[b]]] for b in bases])
    bad = np.zeros(s_hf.shape, bool)
    for (b, j), k in (failed or {}).items():
        bad[bases.index(b), 0, j, :k] = True
    s_hf, s_lf = np.where(bad, np.nan, s_hf), np.where(bad, np.nan, s_lf)
    dims = ("base", "eta_hf", "eta_lf", "sample")
    ds = xr.Dataset({"s_hf": (dims, s_hf), "s_lf": (dims, s_lf), "failed": (dims, bad),
                     "s_g": (dims[:3], np.ones(s_hf.shape[:3])), "on_front": (dims[:3], np.zeros(s_hf.shape[:3], bool)),
                     "chosen": (dims[:3], np.zeros(s_hf.shape[:3], bool))},
                    coords={"base": bases, "eta_hf": [1e-6], "eta_lf": [1e-3, 1e-2], "sample": range(n)})
    names = list(baselines)
    ds["baseline_s_hf"] = (("method", "sample"), np.array([[baselines[m][0]] * n for m in names]))
    ds["baseline_s_lf"] = (("method", "sample"), np.array([[baselines[m][1]] * n for m in names]))
    ds = ds.assign_coords(method=names)
    ds.attrs.update(dataset="d", profile="smoke", primary=bases[0], rule="maximin", choices="{}",
                    baseline_sources=json.dumps({m: "synthetic" for m in names}))
    return ds


# ----------------------------------------------------------------------------------------------- schedules

def _schedule(name: str, every4: np.ndarray, root=None) -> xr.Dataset:
    methods = ["ddim", "ovg", "low", "mid", "high", "every_4"]
    rng = np.random.default_rng(0)
    s_hf = {"ddim": 0.80 + 0.01 * rng.standard_normal(N), "ovg": 0.90 + 0.01 * rng.standard_normal(N),
            "low": np.full(N, 0.82), "mid": np.full(N, 0.84), "high": np.full(N, 0.89), "every_4": every4}
    per = np.stack([s_hf[m] for m in methods])
    mean = per.mean(1)
    share = (mean - mean[0]) / (mean[1] - mean[0])
    ds = xr.Dataset({"s_hf": (("method", "sample"), per), "s_hf_mean": ("method", mean),
                     "s_hf_gain_share": ("method", share), "psnr": (("method", "sample"), np.full((6, N), 20.0)),
                     "time_ratio": ("method", [1.0, 1.8, 1.2, 1.1, 1.0, 1.2]),
                     "backward_passes": ("method", [0, 100, 34, 32, 34, 26])},
                    coords={"method": methods, "sample": range(N)})
    ds.attrs.update(dataset=name, profile="quick", max_time_ratio=1.5, target_share=0.9, target_rule="r",
                    best_schedule="every_4", target_met=int(share[-1] >= 0.9),
                    schedules=json.dumps({t: {"sigma_range": [i, i + 1]}
                                          for i, t in enumerate(("low", "mid", "high"))}))
    return ds


def test_the_schedule_target_is_read_on_an_interval_over_the_crops():
    from spectral_collapse.report.schedule import target_reading

    spread = 0.80 + 0.1 * np.linspace(-1, 1, N) + 0.092   # mean share near 0.92, wide over crops
    reading, said = target_reading(_schedule("a", spread), "every_4")
    assert reading == "open" and "95 % interval over the 16 test crops" in said
    tight = np.full(N, 0.80 + 0.1 * 1.05)
    assert target_reading(_schedule("a", tight), "every_4")[0] == "meets"


def test_a_schedule_chapter_says_what_the_other_dataset_found(tmp_path):
    from spectral_collapse.report.schedule import other_datasets, verdict
    from spectral_collapse.studies.store import save_results

    here = _schedule("a", np.full(N, 0.80 + 0.1 * 1.05))
    assert other_datasets(here, tmp_path) == ""                      # nothing stored: nothing said
    there = _schedule("b", np.full(N, 0.80 + 0.1 * 0.5))
    save_results(there, tmp_path / "ovg_schedule" / "b-quick.nc")
    said = other_datasets(here, tmp_path)
    assert said.startswith("On b,") and "misses the target" in said and "different answer" in said
    assert said in verdict(here, tmp_path)


# ------------------------------------------------------------------------------------------- claims page

def test_each_general_rule_is_stated_once_and_named_by_its_claims():
    from spectral_collapse.report.claims_page import rules_markdown

    text = rules_markdown()
    for name, rule in C.RULES.items():
        assert text.count(f"*{name}*") == 1 and rule in text
    for c in C.CLAIMS:
        assert not c.by or c.by in C.RULES
        for rule in C.RULES.values():
            assert rule not in c.rule, c.key            # the claim refers to it, it does not repeat it
        assert c.full_rule.startswith(c.rule)


# ------------------------------------------------------------------------------------- conclusions' wording

def test_a_compound_name_in_a_difference_is_bracketed():
    from spectral_collapse.report.claims_page import reader_names

    said = reader_names("S_LF taba − ovg_edm −0.413 [−0.442, −0.388]; |Δlog E_HF| ovg_edm − ddim +0.1; best: ovg_edm")
    assert "TABA − (OVG + EDM) −0.413" in said and "(OVG + EDM) − DDIM" in said and said.endswith("best: OVG + EDM")
    # at the source, so that every page (chapters, figures) reads it so, whatever names it in its own words
    assert V.difference("taba", "ovg_edm") == "taba − (ovg_edm)" and V.difference("ovg", "ddim") == "ovg − ddim"
    f = _crops({"taba": 0.2 + _noise(14), "ovg_edm": 0.6 + _noise(15)}, "s_lf")
    assert "taba − (ovg_edm)" in V.compare(f, "taba", "ovg_edm", "s_lf", higher=False)[1]
    from spectral_collapse.report.claims_page import deciding_evidence

    detail = V.compare(f, "taba", "ovg_edm", "s_lf", higher=False)[1]
    assert "TABA − (OVG + EDM) " in reader_names(deciding_evidence(V.HOLDS, detail))


def test_settings_are_in_numeric_order_and_the_paper_datasets_in_its_names():
    from spectral_collapse.report.claims_page import reader_names

    checks = [(V.HOLDS, f"bbbc021 x{k}: S_HF a 1 vs b 0") for k in sorted(["8", "16", "32"])]  # string order
    detail = V.combine(checks, "").detail
    assert detail.index("x8:") < detail.index("x16:") < detail.index("x32:")
    kept = V.combine([(V.HOLDS, "s_hf: 1"), (V.HOLDS, "s_dc: 1")], "").detail   # a chosen order stays
    assert kept.index("s_hf") < kept.index("s_dc")
    assert reader_names("bbbc021 x8; edges2shoes") == "BBBC021 x8; Edges2Shoes"


def test_an_open_correlation_says_where_it_lies_without_guessing_the_outcome():
    from spectral_collapse.report.settle import settle_correlation

    short = settle_correlation("t", "Pearson r = +0.19 [−0.28, +0.58] (95 % Fisher-z interval)", "Pearson r(a, b) ≥ 0.5")
    assert "short of the rule's line" in short and "[−0.28, +0.58] reaches across the line" in short
    assert "likely" not in short and "does not hold only with an interval wholly short" in short
    past = settle_correlation("t", "Pearson r = −0.62 [−0.90, +0.05]", "Pearson r(a, b) ≤ −0.5")
    assert "past the rule's line" in past and "reaches across the line and 0" in past and "likely" not in past


def test_the_claims_that_hold_are_counted_by_what_they_rest_on():
    from spectral_collapse.report.settle import held_counts
    from spectral_collapse.studies.shares import NO_SPREAD

    held = pd.DataFrame({"rule": ["r", "r", "x (means only, no interval)"], "decided by": ["", "", C.MEANS],
                         "our numbers": ["a [1, 2]", f"62.5% ({NO_SPREAD} over 9 crops)", "front"]})
    said = held_counts(held)
    assert said.startswith("1 rests on a 95 % interval") and "1 on means only" in said and "1 on a share" in said
    assert C.verdict_words(C.HOLDS, "", C.MEANS) == f"{C.HOLDS} ({C.MEANS})"
    assert C.verdict_words(C.HOLDS, "", "", held["our numbers"][1]) == f"{C.HOLDS} ({C.NO_SPREAD_SHARE})"
    assert "over crops" not in said   # a set-level share has no spread over seeds, not crops


def test_the_claims_tally_counts_the_claims_that_hold_as_the_conclusions_do():
    from spectral_collapse.report.claims_page import tally_markdown
    from spectral_collapse.report.settle import held_counts
    from spectral_collapse.studies.shares import NO_SPREAD

    c = pd.DataFrame({"title": list("abcd"), "verdict": [C.HOLDS, C.HOLDS, C.HOLDS, C.FAILS],
                      "decided by": ["", C.MEANS, "", ""], "caveat": ["", "", "", ""],
                      "our numbers": ["a [1, 2]", "front", f"62.5% ({NO_SPREAD} over 6 seeds)", "b [−2, −1]"]})
    said = tally_markdown(c)
    assert held_counts(c[c["verdict"] == C.HOLDS]) in said and "1 on a share with no spread" in said


def test_the_s_lf_reading_is_said_beside_the_verdicts_that_use_it():
    from spectral_collapse.report.claims_page import rules_markdown
    from spectral_collapse.studies.claim_titles import SLF_READING

    assert SLF_READING in rules_markdown() and "paper's terms" in SLF_READING
    assert C.MEANS in C.RULES and all(c.by == C.MEANS for c in C.CLAIMS if "means only" in c.rule)


def test_the_ovg_answer_lists_only_what_it_costs():
    from spectral_collapse.report.answers import _ovg_sentence

    parts = [_crops({"ddim": 0.3 + _noise(8), "ovg": 0.6 + _noise(9)}, m, dataset="d") for m in ("s_hf", "s_dc")]
    parts += [_crops({"ddim": 0.2 + _noise(10), "ovg": 0.4 + _noise(11)}, "s_lf", dataset="d"),
              _crops({"ddim": 15.0 + _noise(12), "ovg": 14.0 + _noise(13)}, "psnr", dataset="d")]
    ev = _evidence(*parts)
    means = {m: {k: float(ev.frame[(ev.frame.method == m) & (ev.frame.metric == k)]["value"].mean())
                 for k in ("s_hf", "s_dc", "s_lf", "psnr")} for m in ("ddim", "ovg")}
    said = _ovg_sentence("d", means, ev)
    cost = said.split("it costs", 1)[1].split(";")[0]
    assert "PSNR" in cost and "S_LF" not in cost and "keeps more of the input's structure" in said


def test_schedule_prose_names_keys_and_reads_overshoot_and_overlap_on_intervals():
    from spectral_collapse.report.schedule import _overshoot_reading, _thirds_overlap, prose_names

    assert prose_names("every_4 and first_half; `every_4`") == "every 4th step and the first half; `every_4`"
    rng = np.random.default_rng(0)
    methods = ["ddim", "ovg", "low", "mid", "high", "every_4"]
    base = {"ddim": 0.5, "ovg": 0.6, "low": 0.52, "mid": 0.58, "high": 0.59, "every_4": 0.61}
    spread = {"every_4": 0.2, "mid": 0.05, "high": 0.05}
    s_hf = np.stack([base[m] + spread.get(m, 0.005) * rng.standard_normal(N) for m in methods])  # (method, sample)
    ds = xr.Dataset({"s_hf": (("method", "sample"), s_hf)}, coords={"method": methods})
    said = _overshoot_reading(ds, ["every_4"])
    assert "contains 100 %" in said and "do not show" in said
    assert "overlaps the mid third's" in _thirds_overlap(ds, "high", ["low", "mid", "high"])


def test_fig1_says_from_the_data_whether_ovg_flattens_the_latent_spectrum():
    from scipy.ndimage import gaussian_filter

    from spectral_collapse.report.paper_figures import FIGURES, _means_only_note, spectrum_finding

    rng = np.random.default_rng(0)
    white = rng.standard_normal((1, 2, 4, 1, 32, 32))                   # (seed, method, image, channel, y, x)
    smooth = np.stack([gaussian_filter(w, sigma=(0, 0, 0, 2, 2)) for w in white])
    def ds_of(ovg):
        lat = np.concatenate([smooth[:, :1], ovg[:, 1:]], axis=1)
        return xr.Dataset({"latents": (("seed", "method", "image", "channel", "y", "x"), lat)},
                          coords={"method": ["ddim", "ovg"]})
    v, line = spectrum_finding(ds_of(smooth))
    assert v == C.FAILS and "nearer DDIM's" in line and "own check" in line
    assert spectrum_finding(ds_of(white))[0] == C.HOLDS
    fig6 = next(f for f in FIGURES if f.number == 6)
    assert "means only" in _means_only_note(fig6)
    assert _means_only_note(next(f for f in FIGURES if f.number == 4)) == ""


def test_a_tally_of_several_comparisons_counts_every_verdict():
    """"4 of 8 hold, 3 inconclusive" leaves one comparison out: the count names those that do not hold too."""
    from spectral_collapse.studies.verdicts import FAILS, HOLDS, INCONCLUSIVE, combine

    found = combine([(True, "a: x → holds"), (False, "b: y → does not hold"), (INCONCLUSIVE, "c: z → inconclusive")],
                    "none")
    head = found.detail.split(": ")[0]
    assert head == f"1 of 3 hold, 1 {FAILS}, 1 {INCONCLUSIVE}" and found.verdict == FAILS
    assert combine([(True, "a: x"), (True, "b: y")], "none").detail.startswith(f"2 of 2 hold: ") and HOLDS


def test_a_claim_read_on_a_copied_paper_row_says_so():
    from spectral_collapse.studies.paper_copies import copies_read
    from spectral_collapse.studies.scorecard import paper_evidence

    frame = paper_evidence().frame
    said = copies_read(frame, ("backbone",))
    assert said and all("the cop" in t for t in said)
    assert copies_read(frame, ("main",)) == []   # the main tables' rows are the rows copied, not copies
    assert copies_read(frame.iloc[0:0], ("backbone",)) == []


def test_a_finding_that_begins_with_a_dataset_key_keeps_it_as_typed():
    """"ihc-sr (best OVG …)" starts a sentence as the key a user types; words are capitalised."""
    from spectral_collapse.studies.claims import sentence_start

    assert sentence_start("ihc-sr (best OVG by mean S_LF: OVG + EDM): holds") == "ihc-sr (best OVG by mean S_LF: OVG + EDM): holds"
    assert sentence_start("needs LPIPS weights") == "Needs LPIPS weights"
    assert sentence_start("s_hf rises") == "s_hf rises"
