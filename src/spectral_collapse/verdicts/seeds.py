"""The bootstrap over training seeds and crops (``hierarchical_ci``), and one verdict from each training seed's."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .words import DEPENDS

__all__ = ["DRAWS", "LEVEL", "ONE_RUN", "hierarchical_ci", "two_level_ci", "over_seeds"]

DRAWS = 4000     # bootstrap draws of every interval this package computes
LEVEL = 0.95     # their level
ONE_RUN = "decided on one training run"   # the caveat of a verdict no second training seed backs


def hierarchical_ci(groups, stat: Callable[[np.ndarray], np.ndarray], *, n_boot: int = DRAWS, level: float = LEVEL,
                    seed: int = 0) -> tuple[float, float, float]:
    """(point, lo, hi): ``stat`` of the per-seed means of ``groups`` ((k, n) arrays of k paired quantities over n crops,
    one per training seed) and its percentile interval under a two-level bootstrap: seeds, then each seed's crops,
    drawn with replacement; ``stat`` maps (draws, seeds, k) crop means to a value per draw."""
    groups = [np.atleast_2d(np.asarray(g, dtype=np.float64)) for g in groups]
    groups = [g[:, np.isfinite(g).all(0)] for g in groups]
    groups = [g for g in groups if g.shape[1]]
    if not groups:
        return np.nan, np.nan, np.nan
    point = float(stat(np.stack([g.mean(1) for g in groups])[None])[0])
    rng = np.random.default_rng(seed)
    s, k = len(groups), groups[0].shape[0]
    pick = rng.integers(0, s, (n_boot, s)) if s > 1 else np.zeros((n_boot, 1), dtype=int)
    means = np.empty((n_boot, s, k))
    for j in range(s):           # the j-th drawn seed of every draw
        for g_i, g in enumerate(groups):
            rows = np.flatnonzero(pick[:, j] == g_i)
            if len(rows):
                idx = rng.integers(0, g.shape[1], (len(rows), g.shape[1]))
                means[rows, j] = g[:, idx].mean(-1).T
    a = (1 - level) / 2
    lo, hi = np.quantile(stat(means), [a, 1 - a])
    return point, float(lo), float(hi)


def two_level_ci(groups, *, n_boot: int = DRAWS, level: float = LEVEL, seed: int = 0) -> tuple[float, float]:
    """``hierarchical_ci`` interval of the mean of the runs' means of ``groups`` (crop values per training run)."""
    groups = [np.asarray(g, dtype=np.float64).ravel()[None] for g in groups]
    _, lo, hi = hierarchical_ci(groups, lambda m: m[..., 0].mean(1), n_boot=n_boot, level=level, seed=seed)
    return lo, hi


def over_seeds(verdicts: dict) -> tuple[str, str]:
    """(verdict, words) from {seed: verdict}: theirs "on every training seed" when they agree, else ``DEPENDS`` with
    each seed's; one seed: its verdict, ``ONE_RUN``."""
    each = "; ".join(f"training seed {k}: {v}" for k, v in sorted(verdicts.items()))
    if len(verdicts) == 1:
        return next(iter(verdicts.values())), f"{each} ({ONE_RUN})"
    words = set(verdicts.values())
    if len(words) == 1:
        return next(iter(words)), f"{next(iter(words))} on every training seed ({len(verdicts)})"
    return DEPENDS, each
