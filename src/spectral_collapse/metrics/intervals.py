"""Uncertainty of a study's numbers: seeded percentile bootstrap intervals over test crops (the resampling unit),
paired differences of two methods on the same crops, three-way verdicts."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MIN_EFFECT", "Interval", "bootstrap_ci", "paired_ci", "three_way", "no_worse", "t_interval", "t_width"]

# The smallest difference that counts, per metric: 0.01 of a score in [0, 1], 0.1 dB of PSNR, one principal component
# of k90 (the components needed for 90 % of the variance: its resolution).
MIN_EFFECT = {"psnr": 0.1, "s_hf": 0.01, "s_lf": 0.01, "s_lf_gt": 0.01, "s_dc": 0.01, "s_g": 0.01, "ssim": 0.01,
              "delta_log_e_hf": 0.05, "delta_log_e_hf_luma_ref": 0.05, "delta_log_e_hf_chroma_ref": 0.05, "k90": 1.0}


@dataclass(frozen=True)
class Interval:
    """A mean with its percentile bootstrap interval: ``mean``, ``lo``, ``hi``, the number of units ``n``."""

    mean: float
    lo: float
    hi: float
    n: int
    level: float = 0.95

    def __str__(self) -> str:
        return f"{self.mean:.4g} [{self.lo:.4g}, {self.hi:.4g}]"


def bootstrap_ci(values, *, n_boot: int = 10_000, level: float = 0.95, seed: int = 0) -> Interval:
    """Percentile bootstrap interval of the mean of ``values`` (1-D; NaN entries are dropped, one unit each)."""
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return Interval(np.nan, np.nan, np.nan, 0, level)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if len(x) == 1:
        return Interval(float(x[0]), float(x[0]), float(x[0]), 1, level)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for start in range(0, n_boot, 1000):  # in blocks: memory stays n * 1000
        stop = min(n_boot, start + 1000)
        idx = rng.integers(0, len(x), size=(stop - start, len(x)))
        means[start:stop] = x[idx].mean(1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return Interval(float(x.mean()), float(lo), float(hi), int(len(x)), level)


def paired_ci(a, b, **kw) -> Interval:
    """Interval of the mean of a - b over shared units (a pair with a NaN on either side is dropped)."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired_ci needs the two methods' scores on the same units, got {a.shape} and {b.shape}")
    keep = np.isfinite(a) & np.isfinite(b)
    return bootstrap_ci(a[keep] - b[keep], **kw)


def three_way(diff: Interval, min_effect: float, *, higher_is_claimed: bool = True) -> str:
    """"holds" when the interval lies beyond zero in the claimed direction (> 0 when higher_is_claimed) and the mean
    exceeds ``min_effect``, "does not hold" when both lie on the other side, else "inconclusive"."""
    if diff.n == 0 or not np.isfinite(diff.mean):
        return "inconclusive"
    m, lo, hi = (diff.mean, diff.lo, diff.hi) if higher_is_claimed else (-diff.mean, -diff.hi, -diff.lo)
    if lo > 0 and m > min_effect:
        return "holds"
    if hi < 0 and m < -min_effect:
        return "does not hold"
    return "inconclusive"


def no_worse(diff: Interval, margin: float, *, higher_is_better: bool = True) -> str:
    """Non-inferiority of a difference a − b: "holds" when the interval's worse end lies within ``margin`` of 0,
    "does not hold" when the whole interval lies beyond it, else "inconclusive"."""
    if diff.n == 0 or not np.isfinite([diff.lo, diff.hi]).all():
        return "inconclusive"
    lo, hi = (diff.lo, diff.hi) if higher_is_better else (-diff.hi, -diff.lo)
    return "holds" if lo > -margin else "does not hold" if hi < -margin else "inconclusive"


def t_interval(values, level: float = 0.95) -> Interval:
    """The Student t interval of the mean of a few cluster values (one per training run): mean ± t(level, n − 1) ·
    sd / √n (``scipy.stats.t``), which accounts for having only n clusters; NaN bounds under two values."""
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if len(x) < 2:
        m = float(x[0]) if len(x) else np.nan
        return Interval(m, np.nan, np.nan, len(x), level)
    half = t_width(float(x.std(ddof=1)), len(x), level) / 2
    return Interval(float(x.mean()), float(x.mean() - half), float(x.mean() + half), len(x), level)


def t_width(sd: float, n: int, level: float = 0.95) -> float:
    """The width of ``t_interval`` over ``n`` clusters whose values spread with standard deviation ``sd``."""
    from scipy.stats import t

    return float(2 * t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n)) if n > 1 else np.inf
