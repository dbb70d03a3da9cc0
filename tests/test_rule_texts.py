"""Each general rule the claims page prints (``verdicts.rules.RULES``) is what the code does: every number is read from
the printed text, and the code is checked on constructed cases on either side of each boundary the text names."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from spectral_collapse.metrics.intervals import MIN_EFFECT, Interval, three_way
from spectral_collapse.claims import paper as C
from spectral_collapse.claims import evidence as EV
from spectral_collapse.claims.shares import share_verdict, sign_interval
from spectral_collapse.verdicts import effect as E
from spectral_collapse.verdicts import words as W
from spectral_collapse.verdicts.rules import MIN_COMPARISONS, RULES

EPS = 1e-3


def number(text: str, pattern: str) -> float:
    """The number ``pattern`` (a regex with one group) finds in a rule text; the test fails when the text lacks it."""
    found = re.search(pattern, text)
    assert found, f"the rule text no longer says {pattern!r}: {text}"
    return float(found.group(1))


# ------------------------------------------------------------------------------------------------ correlation

def _points(r: float, n: int = 20) -> EV.Evidence:
    """Main-results means of ``n`` methods whose S_HF and S_DC have Pearson r exactly ``r`` (no score at its floor)."""
    rng = np.random.default_rng(0)
    x, z = rng.standard_normal(n), rng.standard_normal(n)
    x, z = x - x.mean(), z - z.mean()
    z -= x * (x @ z) / (x @ x)                                   # orthogonal to x: r(x, y) is r exactly
    y = r * x / np.linalg.norm(x) + np.sqrt(1 - r * r) * z / np.linalg.norm(z)
    rows = [dict(study="main", dataset="d", method=f"m{i}", seed=0, metric=k, value=0.5 + 0.05 * v[i] / np.abs(v).max())
            for i in range(n) for k, v in (("s_hf", x), ("s_dc", y))]
    return EV.Evidence(frame=pd.DataFrame(rows))


def _r_with_lower_bound(lo: float, n: int) -> float:
    """The r whose 95 % Fisher-z interval over ``n`` points starts at ``lo``."""
    from scipy.stats import norm

    return float(np.tanh(np.arctanh(lo) + norm.ppf(0.975) / np.sqrt(n - 3)))


def test_a_correlation_holds_only_when_its_whole_interval_is_beyond_the_threshold():
    text = RULES[C.CORRELATION]
    assert "whole 95 % Fisher-z interval lies beyond the threshold" in text and "wholly short of it" in text
    claim = next(c for c in C.CLAIMS if c.key == "corr_hf_dc")
    threshold = number(claim.rule, r"≥ ([\d.]+)")
    # the case: r = 0.75 [0.44, 0.90] against 0.5 is beyond the threshold in r, not in its interval
    assert W.correlation_verdict(0.75, 0.44, 0.90, +1, threshold) == W.INCONCLUSIVE
    for lo, want in ((threshold + 0.02, W.HOLDS), (threshold - 0.02, W.INCONCLUSIVE)):
        found = claim.test(_points(_r_with_lower_bound(lo, 20)))
        assert found.verdict == want, found.detail
    # wholly short of the threshold: does not hold; the claimed sign mirrors
    assert W.correlation_verdict(0.2, 0.1, threshold - EPS, +1, threshold) == W.FAILS
    assert W.correlation_verdict(0.2, 0.1, threshold + EPS, +1, threshold) == W.INCONCLUSIVE
    assert W.correlation_verdict(-0.8, -0.9, -(threshold + EPS), -1, threshold) == W.HOLDS
    assert W.correlation_verdict(-0.8, -0.9, -(threshold - EPS), -1, threshold) == W.INCONCLUSIVE


def test_a_score_at_its_floor_on_half_the_points_is_not_testable():
    assert "at its floor" in RULES[C.CORRELATION] and "not testable here" in RULES[C.CORRELATION]
    ev = _points(0.95)
    f = ev.frame
    half = f["method"].isin([f"m{i}" for i in range(10)]) & (f["metric"] == "s_dc")
    ev.frame = f.assign(value=np.where(half, 0.0, f["value"]))          # 10 of 20 points at 0
    found = next(c for c in C.CLAIMS if c.key == "corr_hf_dc").test(ev)
    assert found.verdict == W.UNTESTABLE and "on 10 of 20 points" in found.detail
    assert found.caveat == "S_DC does not vary: at its floor on 10 of 20 points"   # said beside the verdict
    ev.frame = f.assign(value=np.where(half & f["method"].ne("m0"), 0.0, f["value"]))   # 9 of 20: read
    assert next(c for c in C.CLAIMS if c.key == "corr_hf_dc").test(ev).verdict != W.UNTESTABLE


# ------------------------------------------------------------------------------------------------ paired

def test_a_paired_comparison_needs_its_interval_past_0_and_its_mean_past_the_minimal_effect():
    text = RULES[C.PAIRED]
    assert "whole interval lies on the claimed side of 0 and the mean difference beyond the metric's minimal" in text
    m = MIN_EFFECT["s_hf"]
    assert three_way(Interval(m + EPS, EPS, 2 * m, 48), m) == W.HOLDS
    assert three_way(Interval(m - EPS, EPS, 2 * m, 48), m) == W.INCONCLUSIVE      # mean within the minimal effect
    assert three_way(Interval(m + EPS, -EPS, 2 * m, 48), m) == W.INCONCLUSIVE     # interval reaches 0
    assert three_way(Interval(-m - EPS, -2 * m, -EPS, 48), m) == W.FAILS
    assert three_way(Interval(-m - EPS, -2 * m, -EPS, 48), m, higher_is_claimed=False) == W.HOLDS


# ------------------------------------------------------------------------------------------------ shares

def test_a_share_holds_only_over_enough_decided_comparisons_wholly_past_one_half():
    text = RULES[C.SHARE]
    least = int(number(text, r"under (\d+) decided comparisons"))
    assert "Clopper–Pearson" in text and "not degenerate" in text and "wholly on the paper's side of 50 %" in text
    assert least == MIN_COMPARISONS
    share, lo, hi = sign_interval(least, 0)
    assert share == 1 and lo > 0.5 and share_verdict(lo, hi, True) == W.HOLDS
    # the fewest wins of ``least`` whose exact interval clears one half, and one fewer
    k = next(k for k in range(least + 1) if sign_interval(k, least - k)[1] > 0.5)
    assert share_verdict(*sign_interval(k, least - k)[1:], True) == W.HOLDS
    assert share_verdict(*sign_interval(k - 1, least - k + 1)[1:], True) == W.INCONCLUSIVE
    assert share_verdict(*sign_interval(least - k, k)[1:], True) == W.FAILS        # the mirror: wholly below


# ------------------------------------------------------------------------------------------------ effect words

def _gap(lo: float, hi: float, gap: float = 0.5, metric: str = "s_dc", runs=()) -> E.Gap:
    return E.Gap(metric, (lo + hi) / 2, lo, hi, gap, 48, runs=runs)


def test_each_effect_word_at_each_boundary_of_its_text():
    text = RULES[C.EFFECT]
    full = number(text, r'"removes" / "restores": above ([\d.]+)')
    slight = number(text, r'"reduces": above ([\d.]+)')
    assert f"inside ±{slight:g}" in text and "Student t" in text and "scipy.stats.t" in text
    assert full == E.FULL and slight == E.SLIGHT
    cases = [((full + EPS, 0.9), E.REMOVES), ((full - EPS, 0.9), E.REDUCES),
             ((slight + EPS, 0.4), E.REDUCES), ((EPS, slight + EPS), E.REDUCES), ((EPS, slight - EPS), E.SLIGHTLY),
             ((-0.4, -slight - EPS), E.WORSENS), ((-slight - EPS, -EPS), E.WORSENS),
             ((-slight + EPS, -EPS), E.WORSENS_SLIGHTLY),
             ((-slight + EPS, slight - EPS), E.NO_EFFECT), ((-slight - EPS, slight - EPS), E.UNCLEAR),
             ((-0.3, 0.8), E.UNCLEAR)]
    for (lo, hi), want in cases:
        assert _gap(lo, hi).word == want, (lo, hi)
        mirror = {E.REDUCES: E.WORSENS, E.SLIGHTLY: E.WORSENS_SLIGHTLY}.get(want)
        if mirror and lo > 0 and hi < full:                      # "worsens" mirrors "reduces"
            assert _gap(-hi, -lo).word == mirror, (lo, hi)
    assert _gap(full + EPS, 0.9, metric="s_hf").word == E.RESTORES


def test_one_interval_one_word_whatever_the_gap_and_no_gap_inside_the_minimal_effect():
    # the interval [3, 5 %] reads the same on a small and a large gap
    assert {_gap(0.03, 0.05, gap=g).word for g in (0.04, 0.4, 0.7)} == {E.SLIGHTLY}
    m = MIN_EFFECT["s_dc"]
    assert _gap(0.03, 0.05, gap=m).word == E.NO_GAP and _gap(0.03, 0.05, gap=m + EPS).word == E.SLIGHTLY
    # pooled over training runs: a run whose gap is inside the minimal effect leaves nothing to close
    runs = ((0.04, 0.3), (0.05, m / 2), (0.03, 0.3))
    assert _gap(0.03, 0.05, runs=runs).word == E.NO_GAP and "by training run" in str(_gap(0.03, 0.05, runs=runs))
    assert E.claim_effect([_gap(0.03, 0.05, runs=runs), _gap(0.6, 0.8)]) == E.REMOVES


def test_the_claims_effect_names_the_score_that_sets_it():
    gaps = [E.Gap("s_dc", 0.05, 0.02, 0.08, 0.5, 48, what="ihc-edges: S_DC ovg"),
            E.Gap("s_hf", 0.47, 0.4, 0.55, 0.2, 48, what="ihc-edges: S_HF ovg")]
    assert E.effect_named(gaps) == "reduces slightly (ihc-edges: S_DC ovg 5 %; ihc-edges: S_HF ovg 47 %)"
    assert E.effect_named([]) == ""


def test_a_failed_strength_rule_is_printed_as_such():
    from spectral_collapse.verdicts.rules import claimed_strength

    found = W.Finding(W.HOLDS, "ihc-sr: S_DC ovg − ddim +0.1 [...] → holds", gaps=(_gap(0.3, 0.4),))
    out = claimed_strength(found)
    assert out.verdict == W.FAILS and out.detail.startswith(
        f"the direction holds; the strength, which needs over {E.FULL:g} of the gap on every score: {W.FAILS}")
    assert claimed_strength(W.Finding(W.HOLDS, "x", gaps=(_gap(0.6, 0.7),))).verdict == W.HOLDS


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_rule_the_page_prints_is_tested_here(name):
    """A rule added to ``RULES`` needs its boundaries checked: here, or (the training runs' agreement, the quality
    gate, means only) in test_verdict_words.py; the subsamples' rule is the paired one's ``three_way``."""
    tested = {C.CORRELATION, C.PAIRED, C.SHARE, C.EFFECT, C.SUBSAMPLES, C.MEANS, C.SEEDS, C.GATE, C.NONINFERIOR}
    assert name in tested, f"the rule {name!r} has no boundary test in {__file__}"


@pytest.mark.parametrize("lo, hi, higher, verdict", [
    (-0.009, 0.5, True, W.HOLDS), (-0.011, 0.5, True, W.INCONCLUSIVE), (-0.5, -0.011, True, W.FAILS),
    (-0.5, -0.009, True, W.INCONCLUSIVE), (-0.5, 0.009, False, W.HOLDS), (0.011, 0.5, False, W.FAILS)])
def test_non_inferiority_holds_when_the_worse_end_is_within_the_margin(lo, hi, higher, verdict):
    """Margin 0.01: "no worse" holds when the interval's worse end lies inside it, does not hold when the whole
    interval lies beyond it on the worse side; the rule's text names both ends."""
    from spectral_collapse.metrics.intervals import Interval, no_worse

    assert no_worse(Interval((lo + hi) / 2, lo, hi, 10, 0.95), 0.01, higher_is_better=higher) == verdict
    assert "does not hold when the whole interval lies beyond the margin" in RULES[C.NONINFERIOR]
