"""The verdict rule of ``spectral_collapse.verdicts``: effect words from the fraction of a gap closed (constructed
per-crop data with a known fraction), the bootstrap over training seeds and crops, verdicts over training seeds,
gated arms deciding, means-only verdicts, counts in agreement, and the rule texts the pages show."""
from __future__ import annotations

import importlib
import inspect
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spectral_collapse.claims import paper as C
from spectral_collapse.claims import evidence as EV
from spectral_collapse.verdicts import effect as E
from spectral_collapse.verdicts import words as W
from spectral_collapse.verdicts.rules import RULES
from spectral_collapse.verdicts.seeds import hierarchical_ci, over_seeds, two_level_ci

ROOT = Path(__file__).resolve().parents[1]


def crops(fraction: float, n: int = 48, baseline: float = 0.3, noise: float = 0.01, seed: int = 0):
    """Per-crop S_DC of a baseline and of a method closing ``fraction`` of its gap to white noise (1)."""
    rng = np.random.default_rng(seed)
    b = baseline + noise * rng.standard_normal(n)
    return b + fraction * (1 - baseline) + noise * rng.standard_normal(n), b


@pytest.mark.parametrize("fraction, word", [(0.03, E.SLIGHTLY), (0.3, E.REDUCES), (0.8, E.REMOVES),
                                            (-0.2, E.WORSENS), (0.0, E.NO_EFFECT)])
def test_each_effect_word_from_a_known_fraction(fraction, word):
    m, b = crops(fraction)
    g = E.gap_fraction("s_dc", m, b)
    assert g.lo < fraction < g.hi and g.hi - g.lo < 0.05      # the interval covers the fraction built in
    assert g.word == word, str(g)
    # only a fraction whose whole interval lies above one half backs "removes"
    assert E.strength_verdict(g) == (W.HOLDS if fraction > 0.5 else W.FAILS)


def test_the_fraction_is_the_ratio_of_mean_differences_and_its_interval_scipys():
    from scipy.stats import bootstrap

    m, b = crops(0.3, noise=0.05)
    g = E.gap_fraction("s_dc", m, b, n_boot=4000)
    assert g.fraction == pytest.approx((m.mean() - b.mean()) / (1 - b.mean()), rel=1e-12)
    ref = bootstrap((m, b), lambda x, y, axis=-1: (x.mean(axis) - y.mean(axis)) / (1 - y.mean(axis)), paired=True,
                    method="percentile", n_resamples=4000, random_state=1).confidence_interval
    assert g.lo == pytest.approx(ref.low, abs=0.01) and g.hi == pytest.approx(ref.high, abs=0.01)


def test_a_claims_word_is_its_weakest_metrics_and_a_tiny_gap_has_nothing_to_close():
    strong, weak = (E.gap_fraction("s_dc", *crops(f)) for f in (0.8, 0.03))
    assert E.claim_effect([strong, weak]) == E.SLIGHTLY
    m, b = crops(0.5, baseline=0.995)
    assert E.gap_fraction("s_dc", m, b).word == E.NO_GAP


def test_the_hierarchical_bootstrap_spans_the_seeds_when_they_disagree():
    agree = [np.full((1, 6), 2.0)] * 3
    assert two_level_ci([g[0] for g in agree], n_boot=200) == (2.0, 2.0)
    # two seeds, constant crops 1 and 3: a draw's grand mean is 1, 2 or 3 with chance 1/4, 1/2, 1/4
    lo, hi = two_level_ci([np.ones(5), np.full(7, 3.0)], n_boot=4000)
    assert (lo, hi) == (1.0, 3.0)
    point, lo, hi = hierarchical_ci([np.ones((1, 5)), np.full((1, 7), 3.0)], lambda x: x[..., 0].mean(1),
                                    n_boot=4000, level=0.4)
    assert point == 2.0 and lo == hi == 2.0     # the middle 40 % of draws: the grand mean 2


def test_the_gap_over_training_seeds_carries_their_spread():
    runs = [crops(f, seed=k) for k, f in enumerate((0.1, 0.3, 0.5))]
    g = E.gap_fraction("s_dc", [m for m, _ in runs], [b for _, b in runs])
    one = E.gap_fraction("s_dc", runs[1][0], runs[1][1])
    assert g.seeds == 3 and g.n == 144 and g.lo < 0.2 and g.hi > 0.4     # wider than any run's own interval
    assert one.hi - one.lo < (g.hi - g.lo) / 3


def test_verdicts_over_seeds_agree_or_depend():
    assert over_seeds({0: W.HOLDS, 1: W.HOLDS})[0] == W.HOLDS
    v, each = over_seeds({0: W.HOLDS, 1: W.INCONCLUSIVE, 2: W.INCONCLUSIVE})
    assert v == W.DEPENDS and "training seed 1: inconclusive" in each


def test_counts_agree_with_their_verb():
    assert W.tally_words([W.HOLDS, W.HOLDS, W.UNTESTABLE]) == "2 hold and 1 is not testable here"
    assert W.tally_words([W.FAILS, "holds (means only)", W.FAILS]) == "1 holds and 2 do not hold"
    assert W.count_words(1, W.INCONCLUSIVE) == "1 is inconclusive" and W.count_words(3, W.FAILS) == "3 do not hold"


def _main(shifts: dict, train_seeds=None, n=12):
    """Main-results-like per-crop S_DC / S_HF / S_LF: each method ``0.4 + shift``, optionally per training seed."""
    rng = np.random.default_rng(0)
    methods = list(shifts if train_seeds is None else shifts[0])

    def one(sh):
        return np.stack([0.4 + sh[m] + 0.005 * rng.standard_normal((1, n)) for m in methods])

    if train_seeds is None:
        data = {k: (("method", "seed", "sample"), one(shifts)) for k in ("s_hf", "s_dc", "s_lf")}
        return xr.Dataset(data, coords={"method": methods, "seed": [0]},
                          attrs={"study": "main_results", "dataset": "ihc-sr"})
    data = {k: (("train_seed", "method", "seed", "sample"), np.stack([one(shifts[t]) for t in train_seeds]))
            for k in ("s_hf", "s_dc", "s_lf")}
    return xr.Dataset(data, coords={"train_seed": train_seeds, "method": methods, "seed": [0]},
                      attrs={"study": "seed_spread", "dataset": "ihc-sr"})


def test_training_seeds_decide_a_main_claim():
    claim = next(c for c in C.CLAIMS if c.key == "collapse_sdc")
    good, bad = {"ddim": 0.0, "taba": 0.3, "edm": 0.2}, {"ddim": 0.3, "taba": 0.0, "edm": 0.0}
    ev = EV.evidence_of(_main(good), "main")
    assert C.judge(claim, ev).verdict == W.HOLDS
    ev.extra["seed_spread"] = {"ihc-sr": _main({0: good, 1: good}, [0, 1])}
    both = C.judge(claim, ev)
    assert both.verdict == W.HOLDS and "the direction holds on 2 of 2 training runs" in both.detail
    # each comparison once: pooled over the runs in the numbers, each run's own under "per training run"
    assert both.detail.count("S_DC ddim − taba") == 0 and both.detail.count("S_DC taba closes") == 1
    assert "ihc-sr, training run 0: holds" in both.runs and "ihc-sr, training run 1: holds" in both.runs
    ev.extra["seed_spread"] = {"ihc-sr": _main({0: good, 1: bad, 2: good}, [0, 1, 2])}
    split = C.judge(claim, ev)
    assert split.verdict == W.DEPENDS and "training run 1: does not hold" in split.runs
    assert "the direction holds on 2 of 3 training runs" in split.detail


def _backbone_evidence(weak_arms: tuple) -> EV.Evidence:
    """Backbone-ablation evidence: OVG above DDIM on the U-Net arm, below it on the DiT arm; ``weak_arms`` below
    the quality gate."""
    rows, rng = [], np.random.default_rng(1)
    for arm, sign in (("unet", 1), ("dit", -1)):
        for method, up in (("ddim", 0.0), ("ovg", 0.2 * sign)):
            for metric in ("s_hf", "s_dc"):
                for crop in range(12):
                    rows.append({"study": "backbone", "dataset": "ihc-sr", "backbone": arm, "method": method,
                                 "seed": 0, "sample": crop, "crop": crop, "metric": metric,
                                 "value": 0.5 + up + 0.005 * rng.standard_normal()})
    f = pd.DataFrame(rows)
    names = [f"{a}-model" for a in weak_arms]
    weak = {("backbone", "ihc-sr"): (names, ("backbone", {a: [f"{a}-model"] for a in weak_arms}))} if names else {}
    return EV.Evidence(frame=f.drop(columns=["sample", "crop"]), crops=f, weak=weak)


def test_a_model_below_the_gate_does_not_decide():
    claim = next(c for c in C.CLAIMS if c.key == "backbone")
    assert C.judge(claim, _backbone_evidence(())).verdict == W.FAILS         # the DiT arm goes the other way
    # the claim names U-Net and DiT: without the DiT arm it is not testable, the U-Net arm's verdict partial evidence
    gated = C.judge(claim, _backbone_evidence(("dit",)))
    assert gated.verdict == W.UNGATED and "dit-model" in gated.caveat and "with them: does not hold" in gated.caveat
    assert "names the DiT arm" in gated.caveat and "on the passing arms alone (partial evidence): holds" in gated.caveat
    assert C.judge(claim, _backbone_evidence(("dit", "unet"))).verdict == W.UNGATED
    # a claim that names no arm is decided by the arms that pass the gate
    unnamed = C.Claim(**{**{f: getattr(claim, f) for f in claim.__dataclass_fields__}, "arms": ()})
    assert C.judge(unnamed, _backbone_evidence(("dit",))).verdict == W.HOLDS


def test_a_means_only_verdict_says_so_and_counts_as_a_caveat():
    claim = next(c for c in C.CLAIMS if c.key == "ovg_front")
    f = pd.DataFrame([{"study": "main", "dataset": "ihc-sr", "method": m, "seed": 0, "metric": k, "value": v}
                      for m, hf, lf in (("ddim", 0.2, 0.9), ("taba", 0.9, 0.2), ("ovg", 0.8, 0.8))
                      for k, v in (("s_hf", hf), ("s_lf", lf))])
    found = C.judge(claim, EV.Evidence(frame=f))
    assert found.verdict == f"{W.HOLDS} {W.MEANS_ONLY}" and "means only" in found.caveat
    assert W.base_verdict(found.verdict) == W.HOLDS


def test_every_claim_names_its_rule_and_the_pages_show_the_codes_texts():
    assert all(c.by in RULES for c in C.CLAIMS)           # no empty "decided by"
    table = pd.DataFrame({"decided by": [C.PAIRED, C.EFFECT]})
    text = C.rules_text(table)
    assert RULES[C.PAIRED] in text and RULES[C.EFFECT] in text
    page = json.loads((ROOT / "notebooks" / "book" / "claims.ipynb").read_text())
    code = "".join("".join(c["source"]) for c in page["cells"] if c["cell_type"] == "code")
    assert "from spectral_collapse.verdicts.rules import RULES" in code and "pd.Series(RULES" in code
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        src = "".join("".join(c["source"]) for c in cells)
        if "chapter_verdicts(" in src:   # a chapter that states its claims' verdicts glues their rule
            helpers = re.findall(r"from (spectral_collapse\.tables\.\w+) import (\w*_answers)\b", src)
            glues = ('answers["claims_rule"] = rules_text(claim_table)' in src    # or a library call that does
                     or any("claims_rule" in inspect.getsource(getattr(importlib.import_module(m), f))
                            or "verdict_answers(" in inspect.getsource(getattr(importlib.import_module(m), f))
                            for m, f in helpers))
            assert glues and "{{ claims_rule }}" in src, nb.name


def test_the_tally_lists_every_verdict_that_moved():
    from spectral_collapse.claims.tally import moved, tally_table

    before = pd.DataFrame({"verdict": [W.HOLDS, W.HOLDS], "effect": ["removes", ""],
                           "our numbers": ["a → holds; b → holds", "c"]}, index=["x", "y"])
    after = before.assign(verdict=[W.FAILS, W.HOLDS], effect=["reduces slightly", ""],
                          **{"our numbers": ["a → holds; b → does not hold", "c"]})
    m = moved(before, after)
    why = m.iloc[0]["why"]
    assert list(m["claim"]) == ["x"] and "− b → holds" in why and "+ b → does not hold" in why
    t = tally_table(before, after)
    assert t.loc[W.HOLDS, "before"] == 2 and t.loc[W.FAILS, "after"] == 1


def test_a_claims_gap_over_training_runs_has_the_student_t_interval_of_the_runs_fractions():
    from scipy.stats import t as student

    claim = next(c for c in C.CLAIMS if c.key == "collapse_sdc")
    shifts = {t: {"ddim": 0.0, "taba": 0.3 + 0.1 * t, "edm": 0.2} for t in range(3)}
    ev = EV.evidence_of(_main(shifts[0]), "main")
    ev.extra["seed_spread"] = {"ihc-sr": _main(shifts, [0, 1, 2])}
    found = C.judge(claim, ev)
    taba = next(g for g in found.gaps if g.what.endswith("taba"))
    assert taba.seeds == 3 and "over 3 training runs (Student t" in found.detail
    # each run's fraction from its own crops, then the t interval over the 3 runs (2 degrees of freedom)
    runs = [_main(shifts, [0, 1, 2]).sel(train_seed=t) for t in range(3)]
    mean = [{m: float(r["s_dc"].sel({"method": m}).mean()) for m in ("taba", "ddim")} for r in runs]
    f = np.array([(x["taba"] - x["ddim"]) / (1 - x["ddim"]) for x in mean])
    lo, hi = student.interval(0.95, 2, loc=f.mean(), scale=f.std(ddof=1) / np.sqrt(3))
    assert (taba.fraction, taba.lo, taba.hi) == pytest.approx((f.mean(), lo, hi), rel=1e-9)
    # what more runs would buy, at the same spread: t(0.975, n − 1) · sd / √n on each side
    for n in (5, 10):
        assert taba.wider(n) == pytest.approx(2 * student.ppf(0.975, n - 1) * f.std(ddof=1) / np.sqrt(n))
    assert f"{round(100 * taba.wider(5))} at 5, {round(100 * taba.wider(10))} at 10 runs" in found.detail
    # the percentile bootstrap over 3 runs spans little more than their range; the t interval is wider
    assert hi - lo > 2 * (f.max() - f.min())


def test_a_comparison_without_a_gap_is_pooled_over_runs_as_its_mean_difference():
    """S_LF has no reference to close a gap to: over training runs its paired difference is printed once, the mean of
    the runs' mean differences with its Student t interval (scipy), each run's own under "per training run"."""
    from scipy.stats import t as student

    from spectral_collapse.text import signed

    claim = next(c for c in C.CLAIMS if c.key == "edm_tradeoff")
    shifts = {t: {"ddim": 0.0, "edm": 0.1 + 0.05 * t} for t in range(3)}
    ev = EV.evidence_of(_main(shifts[0]), "main")
    spread = _main(shifts, [0, 1, 2])
    ev.extra["seed_spread"] = {"ihc-sr": spread}
    found = C.judge(claim, ev)
    d = np.array([float(spread["s_lf"].sel({"train_seed": t, "method": "edm"}).mean()
                        - spread["s_lf"].sel({"train_seed": t, "method": "ddim"}).mean()) for t in range(3)])
    lo, hi = student.interval(0.95, 2, loc=d.mean(), scale=d.std(ddof=1) / np.sqrt(3))
    want = f"S_LF edm − ddim {signed(d.mean())} [{signed(lo)}, {signed(hi)}] over 3 training runs (Student t)"
    assert want in found.detail and found.detail.count("S_LF edm − ddim") == 1
    assert found.runs.count("S_LF edm − ddim") == 3


def test_the_tally_compares_a_saved_claims_table(tmp_path, capsys):
    """``--save`` writes the after side's table, and a later run reads it as its before side (the same rules on the
    same results: nothing moved)."""
    from spectral_collapse.claims import tally as T

    table = pd.DataFrame({"verdict": [W.HOLDS], "effect": [""], "our numbers": ["a → holds"]},
                         index=pd.Index(["x"], name="claim"))
    saved = tmp_path / "claims.json"
    table.reset_index().to_json(saved, orient="split", index=False)
    assert T.claims_of(saved).equals(table)
    T.main(["--before", str(saved), "--after", str(saved), "--save", str(tmp_path / "again.json")])
    assert "0 claim(s) moved." in capsys.readouterr().out and T.claims_of(tmp_path / "again.json").equals(table)
    with pytest.raises(FileNotFoundError, match="no results folder"):
        T.claims_of(tmp_path / "missing")
