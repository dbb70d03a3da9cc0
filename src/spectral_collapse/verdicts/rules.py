"""The general rules a claim is decided by, each stated once: the claims page and every chapter show these texts."""
from __future__ import annotations

from dataclasses import replace

from .effect import EFFECT_RULE, claim_effect, strength_verdict
from .words import (DEPENDS, FAILS, HOLDS, INCONCLUSIVE, MEANS_ONLY, TIE_RULE, UNGATED, UNTESTABLE, Finding,
                    count_words, natural_key)

__all__ = ["PAIRED", "SHARE", "CORRELATION", "MEANS", "SUBSAMPLES", "EFFECT", "SEEDS", "GATE", "MIN_COMPARISONS",
           "TEXTURE_RULE", "RULES", "fold", "fold_datasets", "combine", "claimed_strength"]

PAIRED, SHARE, CORRELATION, MEANS = "paired comparison", "share of comparisons", "correlation", "means only"
SUBSAMPLES, EFFECT, SEEDS, GATE = "interval over subsamples", "fraction of the gap", "training seeds", "quality gate"
MIN_COMPARISONS = 3   # a share over fewer distinct comparisons is inconclusive, whatever its value
# how a signed texture error (Δlog E_HF: log E_HF − μ_HF of the real crops) counts as moved toward the real crops'
TEXTURE_RULE = ("the signed texture error Δlog E_HF moves toward 0: |mean Δlog E_HF(method)| < |mean Δlog "
                "E_HF(baseline)|, the paired interval of the per-crop |Δ(method)| − |Δ(baseline)| below 0 beyond its "
                "minimal effect, and the method's mean not beyond the real crops' band (mean ± std of the ground "
                "truth's per-crop Δlog E_HF) on the other side from the baseline's")

RULES = {
    PAIRED: ("paired 95 % bootstrap interval over crops, on the claimed side of 0 beyond the metric's minimal effect "
             f"(metrics.intervals.MIN_EFFECT); every comparison must hold; where Δlog E_HF is read: {TEXTURE_RULE}; "
             f"paper tables: the means, {TIE_RULE}"),
    EFFECT: EFFECT_RULE,
    SHARE: ("share of distinct comparisons won, 95 % bootstrap interval over crops (seeds for S_G) wholly on the "
            f"paper's side of 50 %; under {MIN_COMPARISONS} comparisons: inconclusive; paper tables: the reported "
            "share's side of 50 %"),
    CORRELATION: ("Pearson r over distinct (dataset, method) means, 95 % Fisher-z interval beyond the threshold and "
                  "excluding 0; wholly short of the threshold: does not hold; paper tables: r alone"),
    SUBSAMPLES: ("each difference a 95 % interval over subsamples of the latents, read as a paired comparison is, "
                 "with the claim's minimal effect"),
    MEANS: f"method means only, no interval: the verdict says {MEANS_ONLY} and counts among the caveats",
    SEEDS: ("where the arms were trained with several training seeds, the claim is judged on each seed's results; "
            f"one verdict when they agree, else \"{DEPENDS}\" with each seed's verdict beside it"),
    GATE: ("only arms on models that pass the quality gate decide; a claim with no comparison left on them is "
           f"\"{UNGATED}\", and its caveat names the models below the gate"),
}


def fold(verdicts) -> str:
    """All hold -> holds; any does not hold -> does not hold; else inconclusive."""
    vs = list(verdicts)
    return HOLDS if all(v == HOLDS for v in vs) else FAILS if FAILS in vs else INCONCLUSIVE


def fold_datasets(verdicts) -> str:
    """One verdict from each dataset's: ``fold``, a dataset that depends on the training seed making it
    ``DEPENDS`` unless another does not hold."""
    vs = list(verdicts)
    if FAILS not in vs and DEPENDS in vs:
        return DEPENDS
    return fold(vs)


def combine(checks: list[tuple], missing: str) -> Finding:
    """One finding from (verdict or bool, text[, effect.Gap or a tuple of them]) checks, None ones left out; "not
    testable here" checks are listed after the others, which alone decide (none left: not testable here, their texts
    or ``missing``).
    Several checks: the detail counts how many hold, each ends with its verdict, settings in numeric order; the gaps
    (``Finding.gaps``) and their weakest word (``Finding.effect``) kept."""
    checks = [c for c in checks if c is not None]
    gaps = tuple(g for c in checks if len(c) > 2 for g in (c[2] if isinstance(c[2], tuple) else (c[2],))
                 if g is not None)
    checks = [tuple(c[:2]) for c in checks]
    untested = [t for v, t in checks if v == UNTESTABLE]
    checks = [(v, t) for v, t in checks if v != UNTESTABLE]
    vs = [v if isinstance(v, str) else (HOLDS if v else FAILS) for v, _ in checks]
    if not checks:
        return Finding(UNTESTABLE, "; ".join(untested) or missing)
    more = {"gaps": gaps, "effect": claim_effect(gaps)}
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
    """A finding on a claim that a method removes or restores: its verdict folded with each gap's
    ``strength_verdict`` (the fraction's interval against one half); as it is without gaps or when not testable."""
    if not found.gaps or found.verdict == UNTESTABLE:
        return found
    return replace(found, verdict=fold([found.verdict, fold(strength_verdict(g) for g in found.gaps)]))
