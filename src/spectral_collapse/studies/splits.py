"""Which crops of a dataset's paired split each study sees: the test crops each seed scores, and the validation
crops the Pareto sweep tunes on (never scored by the tables)."""
from __future__ import annotations

import torch

__all__ = ["test_subsets", "validation_indices"]


def test_subsets(n_split: int, n_test: int, seeds, n_val: int) -> dict:
    """{seed: indices into the paired split} of the crops each seed translates and scores. The last ``n_val`` crops
    are the validation crops the Pareto sweep tunes on and are never scored here. When the remaining crops hold
    ``n_test`` for every seed, the seeds take disjoint subsets of one fixed random order of them (so a seed is a
    replicate on other crops, and a subset spans the whole image rather than one region); otherwise each seed draws
    its own ``n_test`` of them (subsets overlap)."""
    seeds = list(seeds)
    pool = max(0, n_split - max(0, int(n_val)))
    if pool == 0:
        pool = n_split  # no room for a validation split: every crop is a test crop
    n = min(int(n_test), pool)
    order = torch.randperm(pool, generator=torch.Generator().manual_seed(20_251_123)).tolist()
    if n * len(seeds) <= pool:
        return {s: sorted(order[k * n:(k + 1) * n]) for k, s in enumerate(seeds)}
    return {s: sorted(torch.randperm(pool, generator=torch.Generator().manual_seed(1000 + int(s)))[:n].tolist())
            for s in seeds}


def validation_indices(n_split: int, n_images: int, n_val: int) -> tuple[list[int], str]:
    """The crops the sweep tunes on: up to ``n_images`` of the last ``n_val`` crops of the paired split, which no
    other study scores (``translation.test_subsets``), so the step sizes are not chosen on the crops they are judged
    on. A split with no validation crops (``n_val`` 0, or nothing beside them) tunes on its first crops, and the note
    says that tuning and testing share crops."""
    n_val = max(0, min(int(n_val), n_split - 1))
    if n_val > 0:
        start = n_split - n_val
        idx = list(range(start, start + min(n_images, n_val)))
        return idx, f"validation crops {idx[0]}-{idx[-1]} of the paired split, apart from the crops the tables score"
    idx = list(range(min(n_images, n_split)))
    return idx, f"the first {len(idx)} crops of the paired split, which are also test crops (no validation split)"
