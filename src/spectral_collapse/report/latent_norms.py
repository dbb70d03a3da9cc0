"""The spread of a set of latents' squared norms against Gaussian noise's: the sd ratio the Gaussianity tables show
and the range n Gaussian latents give it."""
from __future__ import annotations

import math

import numpy as np


def norm_sd_ratio(ratios, d: int) -> float:
    """The spread of a set's ‖x_T‖²/d against χ²(d)/d's: sample sd (ddof 1) over √(2/d); 1 for Gaussian noise,
    below 1 for norms narrower than χ²(d), above 1 for wider."""
    r = np.asarray(ratios, dtype=float)
    r = r[np.isfinite(r)]
    return float(np.std(r, ddof=1) / math.sqrt(2 / d)) if len(r) > 1 else float("nan")


def sd_ratio_range(n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Where ``norm_sd_ratio`` of n Gaussian latents falls with probability 1 − alpha (the norms are near normal at
    large d, so the sample variance is about χ²(n − 1)/(n − 1) times the true one)."""
    import scipy.stats

    q = scipy.stats.chi2.ppf([alpha / 2, 1 - alpha / 2], n - 1) / (n - 1)
    return float(math.sqrt(q[0])), float(math.sqrt(q[1]))
