"""How much of a gap a method closes: (method − baseline) / (reference − baseline), the reference what "no collapse"
is for the metric, with its paired bootstrap interval (over training runs: ``pooled``) and the effect words."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..metrics.intervals import MIN_EFFECT, t_interval, t_width
from ..text import percent
from .seeds import hierarchical_ci
from .words import FAILS, HOLDS, INCONCLUSIVE

__all__ = ["FULL", "SLIGHT", "REFERENCES", "REMOVES", "RESTORES", "REDUCES", "SLIGHTLY", "NO_EFFECT", "WORSENS",
           "UNCLEAR", "NO_GAP", "WORSENS_SLIGHTLY", "EFFECT_ORDER", "MORE_RUNS", "EFFECT_RULE", "Gap", "gap_fraction",
           "claim_effect", "strength_verdict", "effect_text", "effect_named", "pooled", "draws_gap"]

FULL = 0.5      # "removes" / "restores": the fraction's whole interval above one half of the gap
SLIGHT = 0.1    # "reduces slightly": whole interval in (0, a tenth); "no effect": across 0, inside ± a tenth
_ZERO = 1e-6   # a bound within this of 0 is 0 (the float error of a ratio of two equal KIDs)
MORE_RUNS = (5, 10)   # the training runs whose interval width each pooled fraction states, extrapolated
# what "no collapse" is for each metric a gap is measured on: a number, or "truth" (the ground truth's mean score)
REFERENCES = {"s_dc": (1.0, "white noise"), "s_g": (1.0, "white noise"), "latent_spectrum": (1.0, "white noise"),
              "s_hf": ("truth", "the ground truth"), "delta_log_e_hf": (0.0, "the ground truth"),
              "delta_log_e_hf_luma_ref": ("truth", "the ground truth"),
              "delta_log_e_hf_chroma_ref": ("truth", "the ground truth"),
              "kid_wav": ("truth", "the ground truth")}
REMOVES, RESTORES, REDUCES, SLIGHTLY = "removes", "restores", "reduces", "reduces slightly"
NO_EFFECT, WORSENS, UNCLEAR, NO_GAP = "no effect", "worsens", "unclear", "no gap to close"
WORSENS_SLIGHTLY = "worsens slightly"
EFFECT_ORDER = (WORSENS, WORSENS_SLIGHTLY, NO_EFFECT, UNCLEAR, SLIGHTLY, REDUCES, RESTORES, REMOVES)   # weakest first
_FULL_WORD = dict.fromkeys(("s_hf", "delta_log_e_hf", "delta_log_e_hf_luma_ref", "delta_log_e_hf_chroma_ref",
                            "kid_wav"), RESTORES)                                 # texture; else REMOVES
EFFECT_RULE = (
    "fraction of the gap closed: (method − baseline) / (reference − baseline) per metric, the reference what no "
    "collapse is (white noise for S_DC, S_G and the latent spectrum: 1; the ground truth's mean for S_HF; 0 for "
    "|Δlog E_HF|; for the luma and chroma detail, log energy over the real crops' mean read as each crop's "
    "|error|: the ground truth's own |error| on the same crops; for KID_wav: the ground truth's KID on them), with "
    "its paired 95 % bootstrap interval over crops (for KID_wav, which is not a mean over crops: the ratio of the "
    "KIDs in each draw of the two-sample bootstrap that resamples the test crops, the same for method, baseline and "
    "truth, and the reference crops; KID_wav read only where it passes its controls); where several training runs "
    "were trained, the comparison is printed once, as the mean of the per-run fractions with its Student t interval "
    "over the runs (mean ± t(0.975, runs − 1) · sd / √runs, scipy.stats.t: the runs are the clusters, and with 3 of "
    f"them t has 2 degrees of freedom), with the width that {' and '.join(map(str, MORE_RUNS))} runs would give at "
    "the same spread; the words are read from that interval alone, the same interval giving the same word "
    f"everywhere: \"removes\" / \"restores\": above {FULL:g}; \"reduces\": above {SLIGHT:g}, or above 0 and "
    f"reaching beyond {SLIGHT:g}; \"reduces slightly\": between 0 and {SLIGHT:g}; \"worsens\" and \"worsens "
    f"slightly\" mirror them below 0; \"no effect\": across 0 and inside ±{SLIGHT:g}; else \"unclear\"; a gap "
    "(reference − baseline) inside the metric's minimal effect, in any training run, says \"no gap to close\" and "
    "does not decide the word; a claim's word is the weakest of its metrics', named with the score that sets it; a "
    "claim that a method removes or restores holds when its direction holds and every fraction's interval lies above "
    f"{FULL:g}, does not hold when some fraction's interval lies below {FULL:g}")


@dataclass(frozen=True)
class Gap:
    """The fraction of ``metric``'s gap a method closes, with its interval, over ``n`` crops (``seeds`` runs)."""

    metric: str
    fraction: float
    lo: float
    hi: float
    gap: float              # reference − baseline, the means
    n: int
    seeds: int = 1
    what: str = ""          # which comparison: "ihc-sr: S_DC ovg"
    runs: tuple = ()        # per training run: (fraction, gap) of the run's own ``Gap`` (``pooled``)

    @property
    def word(self) -> str:
        """The effect word by the thresholds of ``EFFECT_RULE``, read from the interval alone."""
        gaps = [x for _, x in self.runs] or [self.gap]
        if not np.isfinite(gaps).all() or min(abs(x) for x in gaps) <= MIN_EFFECT.get(self.metric, 0.01):
            return NO_GAP
        if self.n == 0 or not np.isfinite([self.lo, self.hi]).all():
            return UNCLEAR
        if self.lo > FULL:
            return _FULL_WORD.get(self.metric, REMOVES)
        if self.lo > _ZERO:
            return SLIGHTLY if self.hi < SLIGHT else REDUCES
        if self.hi < -_ZERO:
            return WORSENS_SLIGHTLY if self.lo > -SLIGHT else WORSENS
        return NO_EFFECT if -SLIGHT < self.lo and self.hi < SLIGHT else UNCLEAR

    def wider(self, n: int) -> float:
        """The width, in fractions of the gap, of the Student t interval over ``n`` runs at the spread of ``runs``."""
        return t_width(float(np.std([f for f, _ in self.runs], ddof=1)), n) if len(self.runs) > 1 else np.nan

    def __str__(self) -> str:
        if self.word == NO_GAP:
            gaps = ", ".join(f"{g:+.3f}" for _, g in self.runs) if self.runs else f"{self.gap:+.3f}"
            return f"{NO_GAP} (gap {gaps}{' by training run' if self.runs else ''})"
        pc = [percent(round(x, 2) + 0.0, 0) for x in (self.fraction, self.lo, self.hi)]   # no "-0 %"
        over = ""
        if self.runs:
            at = ", ".join(f"{round(100 * self.wider(n))} at {n}" for n in MORE_RUNS)
            over = (f" over {len(self.runs)} training runs (Student t, width {round(100 * (self.hi - self.lo))} "
                    f"points, {at} runs)")
        return f"closes {pc[0]} of the gap [{pc[1].removesuffix(' %')}, {pc[2]}]{over}: {self.word}"


def gap_fraction(metric: str, method, baseline, reference=None, **kw) -> Gap:
    """The ``Gap`` of paired per-crop values (or lists of them, one per training seed): ``reference`` a number,
    per-crop values, or None for the metric's number in ``REFERENCES``."""
    many = isinstance(method, (list, tuple))
    ms, bs = (list(method), list(baseline)) if many else ([method], [baseline])
    ref = REFERENCES[metric][0] if reference is None else reference
    rs = list(ref) if many and isinstance(ref, (list, tuple)) else [ref] * len(ms)
    groups = [np.stack([np.asarray(m, np.float64), np.asarray(b, np.float64),
                        np.broadcast_to(np.asarray(r, np.float64), np.shape(m))]) for m, b, r in zip(ms, bs, rs)]

    def stat(means):
        d, g = (means[..., 0] - means[..., 1]).mean(1), (means[..., 2] - means[..., 1]).mean(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return d / g

    point, lo, hi = hierarchical_ci(groups, stat, **kw)
    kept = [g[:, np.isfinite(g).all(0)] for g in groups]
    gap = float(np.mean([g[2].mean() - g[1].mean() for g in kept if g.shape[1]])) if kept else np.nan
    return Gap(metric, point, lo, hi, gap, int(sum(g.shape[1] for g in kept)), len([g for g in kept if g.shape[1]]))


def draws_gap(metric: str, point, draws, n: int, level: float = 0.95) -> Gap:
    """The ``Gap`` of a score that is not a mean over crops (KID_wav) from its (method, baseline, reference) ``point``
    and (draws, 3) bootstrap ``draws``: the interval the percentiles of each draw's fraction."""
    m, b, r = np.asarray(point, np.float64)
    d = np.asarray(draws, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        f, frac = (d[:, 0] - d[:, 1]) / (d[:, 2] - d[:, 1]), (m - b) / (r - b)
    f = f[np.isfinite(f)]
    lo, hi = np.quantile(f, [(1 - level) / 2, (1 + level) / 2]) if len(f) else (np.nan, np.nan)
    return Gap(metric, float(frac), float(lo), float(hi), float(r - b), int(n))


def pooled(gaps) -> list[Gap]:
    """One ``Gap`` per comparison (``Gap.what``): the mean of the runs' fractions with its Student t interval, the
    runs' (fraction, gap) kept in ``Gap.runs``; a comparison of one run as it is."""
    by: dict = {}
    for g in gaps:
        by.setdefault(g.what, []).append(g)
    out = []
    for what, gs in by.items():
        if len(gs) < 2:
            out += gs
            continue
        ci = t_interval([g.fraction for g in gs])
        out.append(Gap(gs[0].metric, ci.mean, ci.lo, ci.hi, float(np.mean([g.gap for g in gs])),
                       int(sum(g.n for g in gs)), len(gs), what, runs=tuple((g.fraction, g.gap) for g in gs)))
    return out


def claim_effect(gaps) -> str:
    """A claim's effect word: the weakest of its gaps' (``EFFECT_ORDER``) that have a gap to close; "" for none."""
    words = [g.word for g in gaps if g.word != NO_GAP]
    return min(words, key=EFFECT_ORDER.index) if words else ""


def strength_verdict(g: Gap) -> str:
    """Whether a gap backs "removes / restores": its interval above ``FULL`` holds, below it does not."""
    return HOLDS if g.lo > FULL else FAILS if g.hi < FULL else INCONCLUSIVE


def effect_named(gaps) -> str:
    """A claim's effect word (``claim_effect``) with the comparison and fraction that set it, then the others':
    "reduces slightly (ihc-edges: S_DC ovg 5 %; ihc-edges: S_HF ovg 48 %, ...)"; "" without gaps."""
    word = claim_effect(gaps)
    if not word:
        return ""
    shown = [g for g in gaps if g.word != NO_GAP]
    first = next(g for g in shown if g.word == word)
    pc = lambda g: f"{g.what} {percent(round(g.fraction, 2) + 0.0, 0)}"   # noqa: E731
    rest = ", ".join(pc(g) for g in shown if g is not first)
    return f"{word} ({pc(first)}" + (f"; {rest})" if rest else ")")


def effect_text(gaps) -> str:
    """Each gap's fraction with its interval and word: "ihc-sr: S_DC ovg 3 % [2, 4 %] reduces slightly; ..."."""
    return "; ".join(f"{g.what} {g}".strip() for g in gaps)
