"""Which crops of a dataset's paired split each study sees: the validation crops the Pareto sweep tunes on, and the
test crops each seed scores (never a validation crop)."""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["test_subsets", "validation_crops", "validation_indices", "SPLIT_SEED", "SPLIT_SCHEME", "SPLIT_STUDIES"]

SPLIT_SEED = 20_251_123
# how the crops are split, in the results key of every study that picks its crops here (``content.content_inputs``):
# a change to the split makes their stored results stale
SPLIT_SCHEME = f"validation: one per block, seed {SPLIT_SEED}; test: the rest, disjoint per seed"
SPLIT_STUDIES = ("pareto", "main_results", "pca_collapse", "gaussianity", "decorrelation", "ovg_schedule",
                 "backbone_ablation", "space_ablation", "scale_factor", "eps_vs_x0", "seed_spread", "flow_collapse")


def validation_crops(n_split: int, n_val: int) -> list[int]:
    """The validation crops of a paired split of ``n_split`` crops: one of each of ``n_val`` consecutive blocks
    (``np.array_split``), chosen with ``SPLIT_SEED``; none when ``n_val`` is 0 or leaves no test crop."""
    if n_val <= 0 or n_val >= n_split:
        return []
    rng = np.random.default_rng(SPLIT_SEED)
    return sorted(int(rng.choice(block)) for block in np.array_split(np.arange(n_split), n_val))


def test_subsets(n_split: int, n_test: int, seeds, n_val: int) -> dict:
    """{seed: indices into the paired split} each seed scores, never a validation crop: disjoint subsets of one fixed
    random order when they fit, else each seed's own draw."""
    seeds = list(seeds)
    held = set(validation_crops(n_split, n_val))
    pool = [i for i in range(n_split) if i not in held]
    n = min(int(n_test), len(pool))
    order = [pool[k] for k in torch.randperm(len(pool), generator=torch.Generator().manual_seed(SPLIT_SEED)).tolist()]
    if n * len(seeds) <= len(pool):
        return {s: sorted(order[k * n:(k + 1) * n]) for k, s in enumerate(seeds)}
    draws = {s: torch.randperm(len(pool), generator=torch.Generator().manual_seed(1000 + int(s)))[:n] for s in seeds}
    return {s: sorted(pool[k] for k in d.tolist()) for s, d in draws.items()}


def validation_indices(n_split: int, n_images: int | None, n_val: int) -> tuple[list[int], str]:
    """(crops, note) the sweep tunes on: ``n_images`` (None: all) of the validation crops, evenly spread; without
    validation crops the split's first crops, the note saying tuning and testing share them."""
    val = validation_crops(n_split, n_val)
    if val:
        k = len(val) if n_images is None else min(int(n_images), len(val))
        idx = [val[int(i)] for i in np.unique(np.linspace(0, len(val) - 1, k).round().astype(int))]
        return idx, (f"{len(idx)} validation crops of the paired split, one per block of "
                     f"{n_split // len(val)} crops (seeded), apart from the crops the tables score")
    idx = list(range(n_split if n_images is None else min(int(n_images), n_split)))
    return idx, f"the first {len(idx)} crops of the paired split, which are also test crops (no validation split)"
