"""The general rules a claim is decided by, each stated once: the claims page and every chapter show these texts."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .effect import EFFECT_RULE, FULL, NO_GAP, claim_effect, strength_verdict
from .words import (DEPENDS, FAILS, HOLDS, INCONCLUSIVE, MEANS_ONLY, TIE_RULE, UNGATED, UNTESTABLE, Finding,
                    count_words, natural_key)

__all__ = ["PAIRED", "SHARE", "CORRELATION", "MEANS", "SUBSAMPLES", "EFFECT", "SEEDS", "GATE", "MIN_COMPARISONS",
           "SHARE_POWER", "NONINFERIOR", "KID_MARGIN", "FLOOR_RULE", "TEXTURE_RULE", "RULES", "fold", "fold_datasets",
           "combine", "claimed_strength", "min_comparisons"]

PAIRED, SHARE, CORRELATION, MEANS = "paired comparison", "share of comparisons", "correlation", "means only"
SUBSAMPLES, EFFECT, SEEDS, GATE = "interval over subsamples", "fraction of the gap", "training seeds", "quality gate"
NONINFERIOR = "non-inferiority"
KID_MARGIN = 0.1   # the fraction of the comparator's KID_wav gap to the ground truth a method may lose by, not worse
SHARE_POWER = (0.8, 0.8)   # (true share, power): the effect a share's minimum count is sized to detect


def min_comparisons(share: float = SHARE_POWER[0], power: float = SHARE_POWER[1], level: float = 0.95) -> int:
    """The fewest decided comparisons at which the two-sided exact binomial (sign) test at ``1 − level`` rejects a
    share of 50 % with probability ``power`` when the true share is ``share`` (``scipy.stats``)."""
    from scipy.stats import binom

    for n in range(1, 1000):
        wins = np.arange(n + 1)
        reject = wins[(wins > n / 2) & (2 * binom.sf(wins - 1, n, 0.5) <= 1 - level)]   # P(X >= k), both sides
        if len(reject) and binom.sf(reject[0] - 1, n, share) >= power:
            return n
    raise ValueError(f"no count below 1000 reaches power {power} at share {share}; ask for a larger effect")


MIN_COMPARISONS = min_comparisons()   # a share over fewer decided comparisons is inconclusive, whatever its value
# a correlation read on a score that does not vary: most points at the score's floor
FLOOR_RULE = ("a score at its floor (0 within its minimal effect) on half the points or more does not vary there "
              "(S_G of the latents at their full dimension): the claim is not testable here, and says so")
# how a signed texture error (Δlog E_HF: log E_HF − μ_HF of the real crops) counts as moved toward the real crops'
TEXTURE_RULE = ("the signed texture error Δlog E_HF moves toward 0: |mean Δlog E_HF(method)| < |mean Δlog "
                "E_HF(baseline)| and the paired interval of the per-crop |Δ(method)| − |Δ(baseline)| below 0 beyond "
                "its minimal effect (the real crops' band, mean ± std of their per-crop value, is shown but decides "
                "nothing: the copied input scores inside it on each scikit-image photograph of the metric-validation "
                "chapter)")

RULES = {
    PAIRED: ("paired 95 % bootstrap interval over crops of the difference: holds when the whole interval lies on the "
             "claimed side of 0 and the mean difference beyond the metric's minimal effect "
             "(metrics.intervals.MIN_EFFECT), does not hold when both lie on the other side, else inconclusive; every "
             f"comparison must hold; where Δlog E_HF is read: {TEXTURE_RULE}; paper tables: the means, {TIE_RULE}"),
    EFFECT: EFFECT_RULE,
    SHARE: ("share of the distinct comparisons decided (the two means further apart than the metric's minimal "
            "effect; closer: a tie, left out as the sign test leaves it) that the paper's side wins, with its exact "
            "(Clopper–Pearson) 95 % binomial interval, not degenerate and wholly on the paper's side of 50 %; under "
            f"{MIN_COMPARISONS} decided comparisons, the fewest at which the two-sided sign test at 5 % detects a "
            f"true share of {SHARE_POWER[0] * 100:.0f} % with {SHARE_POWER[1] * 100:.0f} % power: inconclusive; paper "
            "tables: the reported share's side of 50 %"),
    CORRELATION: ("Pearson r over distinct (dataset, method) means: holds when the whole 95 % Fisher-z interval lies "
                  "beyond the threshold (and so excludes 0), does not hold when it lies wholly short of it, else "
                  f"inconclusive; {FLOOR_RULE}; paper tables: r alone"),
    SUBSAMPLES: ("each difference a 95 % interval over subsamples of the latents, read as a paired comparison is, "
                 "with the claim's minimal effect"),
    NONINFERIOR: ("\"at least as real\" and \"no worse\": the paired 95 % interval of the difference over the crops "
                  "(KID_wav: the two-sample bootstrap over test and reference crops) lies on the better side of a "
                  "margin, the metric's minimal effect for S_LF (metrics.intervals.MIN_EFFECT) and "
                  f"{KID_MARGIN * 100:.0f} % of the comparator's KID_wav gap to the ground truth's KID for texture: holds; "
                  "does not hold when the whole interval lies beyond the margin on the worse side, else "
                  "inconclusive; KID_wav is read only where it ranks the ground truth first and every control worse"),
    MEANS: f"method means only, no interval: the verdict says {MEANS_ONLY} and counts among the caveats",
    SEEDS: ("where the arms were trained with several training seeds, the claim is judged on each seed's results; "
            f"one verdict when they agree, else \"{DEPENDS}\"; each comparison is printed once, pooled over the "
            "runs (the fraction of the gap: its Student t interval over the runs), the runs' own numbers under "
            "\"per training run\""),
    GATE: ("only arms on models that pass the quality gate decide; a claim that names its arms (U-Net and DiT, "
           f"pixel and latent space) with one of them below the gate is \"{UNGATED}\", the passing arms' verdict "
           "shown beside it as partial evidence; a claim with no comparison left on passing models is "
           f"\"{UNGATED}\"; the caveat names the models below the gate"),
}


def fold(verdicts) -> str:
    """All hold -> holds; any does not hold -> does not hold; else inconclusive."""
    vs = list(verdicts)
    return HOLDS if all(v == HOLDS for v in vs) else FAILS if FAILS in vs else INCONCLUSIVE


def fold_datasets(verdicts) -> str:
    """``fold`` of each dataset's verdict; ``DEPENDS`` where one depends on the seed and none does not hold."""
    vs = list(verdicts)
    return DEPENDS if FAILS not in vs and DEPENDS in vs else fold(vs)


def combine(checks: list[tuple], missing: str) -> Finding:
    """One finding from (verdict or bool, text[, Gap or tuple of Gaps[, (comparison, mean difference, has a gap)]])
    checks (None left out): untestable ones listed after those that decide (none left: ``missing``); several checks
    counted in the detail in numeric order of their settings, with their gaps and weakest effect word."""
    checks = [c for c in checks if c is not None]
    gaps = tuple(g for c in checks if len(c) > 2 for g in (c[2] if isinstance(c[2], tuple) else (c[2],))
                 if g is not None)
    diffs = tuple(c[3] for c in checks if len(c) > 3)
    checks = [tuple(c[:2]) for c in checks]
    untested = [t for v, t in checks if v == UNTESTABLE]
    checks = [(v, t) for v, t in checks if v != UNTESTABLE]
    vs = [v if isinstance(v, str) else (HOLDS if v else FAILS) for v, _ in checks]
    if not checks:
        return Finding(UNTESTABLE, "; ".join(untested) or missing)
    more = {"gaps": gaps, "effect": claim_effect(gaps), "diffs": diffs}
    if untested:
        n_inc = vs.count(INCONCLUSIVE)
        head = (f"{vs.count(HOLDS)} of {len(vs)} testable hold" + (f", {n_inc} inconclusive" if n_inc else "")
                + f" ({count_words(len(untested), UNTESTABLE)}): ")
        return Finding(fold(vs), head + "; ".join(t for _, t in checks) + "; " + "; ".join(untested), **more)
    settings = [str(t).split(": ")[0] for _, t in checks]
    if settings == sorted(settings):  # settings in string order (a groupby's): put their numbers in numeric order
        order = sorted(range(len(checks)), key=lambda i: natural_key(settings[i]))
        checks, vs = [checks[i] for i in order], [vs[i] for i in order]
    if len(vs) > 1:   # each of several comparisons says what it reads
        checks = [(v, t if " → " in str(t) else f"{t} → {w}") for (v, t), w in zip(checks, vs)]
    n_inc, n_fail = vs.count(INCONCLUSIVE), vs.count(FAILS)
    head = (f"{vs.count(HOLDS)} of {len(vs)} hold" + (f", {count_words(n_fail, FAILS)}" if n_fail else "")
            + (f", {n_inc} inconclusive" if n_inc else "") + ": " if len(vs) > 1 else "")
    return Finding(fold(vs), head + "; ".join(t for _, t in checks), **more)


def claimed_strength(found: Finding) -> Finding:
    """A finding on a claim that a method removes or restores, folded with each gap's ``strength_verdict``."""
    if not found.gaps or found.verdict == UNTESTABLE:
        return found
    strength = fold(strength_verdict(g) for g in found.gaps if g.word != NO_GAP)
    out = replace(found, verdict=fold([found.verdict, strength]))
    if found.verdict == HOLDS and strength != HOLDS:
        short = [g for g in found.gaps if g.word != NO_GAP and strength_verdict(g) != HOLDS]
        out = replace(out, detail=f"the direction holds; the strength, which needs over {FULL:g} of the gap on every "
                                  f"score: {strength} ({', '.join(str(g.what) for g in short)}); {found.detail}")
    return out
