"""The gate's edge-density check, for edge-map data (task "edges": dark lines on white), whose share of edge pixels
the ``mean`` and ``std`` checks barely see: the relative error of the samples' mean share of pixels with BT.709 luma
below ``WHITE`` against the training pool's, within the larger of ``MIN_TOLERANCE`` and the relative half-width of
the ``LEVEL`` bootstrap interval of the mean share of n real maps (n: the gate's samples; the floor because a test
of significance alone fails every imperfect model once n is large). Cost: milliseconds."""
from __future__ import annotations

import torch

__all__ = ["WHITE", "LEVEL", "MIN_TOLERANCE", "RESAMPLES", "EDGE_LABEL", "edge_share", "edge_tolerance", "edge_task",
           "edge_stats"]

WHITE = 0.9          # luma below this (on [-1, 1]) is an edge pixel
LEVEL = 0.99         # two-sided level of the bootstrap interval that sets the threshold
MIN_TOLERANCE = 0.10  # the least threshold: the gate's tolerance on a channel's mean (quality.THRESHOLDS["mean"])
RESAMPLES = 2000     # bootstrap resamples of the pool's per-map shares
EDGE_LABEL = 0       # the class label of the edge maps (the source domain of an "edges" task)
_SEED = 4321


def edge_share(x: torch.Tensor) -> torch.Tensor:
    """(N,) share of each image's pixels whose luma (BT.709; one channel: the mean) is below ``WHITE``."""
    from ..data.degrade import LUMA_WEIGHTS

    x = x.detach().double().cpu()
    lum = torch.einsum("nchw,c->nhw", x, torch.tensor(LUMA_WEIGHTS, dtype=torch.float64)) if x.shape[1] == 3 \
        else x.mean(1)
    return (lum < WHITE).double().flatten(1).mean(1)


def edge_tolerance(pool: torch.Tensor, n: int) -> tuple[float, float]:
    """(the pool's mean edge share, the relative half-width of the ``LEVEL`` bootstrap interval of the mean share of
    ``n`` maps drawn from the pool); ValueError on a pool without edge pixels."""
    shares = edge_share(pool)
    ref = float(shares.mean())
    if not ref > 0:
        raise ValueError(f"the edge maps of this pool have no pixel with luma below {WHITE}; an edge-density check "
                         f"needs edge maps (dark lines on white)")
    g = torch.Generator().manual_seed(_SEED)
    means = shares[torch.randint(len(shares), (RESAMPLES, int(n)), generator=g)].mean(1)
    lo, hi = (float(q) for q in means.quantile(torch.tensor([(1 - LEVEL) / 2, (1 + LEVEL) / 2], dtype=torch.float64)))
    return ref, max(ref - lo, hi - ref) / ref


def edge_task(data) -> bool:
    """Whether ``data`` (UnpairedDomains or a view of it) is an edge-map task, whose label-0 images are edge maps."""
    return getattr(getattr(data, "task", None), "kind", None) == "edges"


def edge_stats(x: torch.Tensor, pool: torch.Tensor) -> dict:
    """The edge check's ``share`` (samples), ``real`` (pool), ``value`` (|share / real - 1|) and ``threshold``."""
    real, tol = edge_tolerance(pool, len(x))
    share = float(edge_share(x).mean())
    return {"share": share, "real": real, "value": abs(share / real - 1), "threshold": max(tol, MIN_TOLERANCE)}
