"""The gate's edge-density check, for data whose source images are edge maps (task "edges": dark lines on white).

An edge map passes the ``mean`` and ``std`` checks at 10 % with its share of edge pixels far off (grey haze in place
of white moves both moments little), so the check counts pixels whose BT.709 luma is below ``WHITE``. The value is
the relative error of the samples' mean edge share against the training pool's; the threshold the larger of the
relative half-width of the ``LEVEL`` bootstrap interval of the mean share of n real maps (n: the gate's samples) and
``MIN_TOLERANCE`` (a test of significance alone fails every imperfect model once n is large). On the bundled
ihc-edges crops (15.0 % edges) that is 10 %. Cost: milliseconds."""
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


def edge_share(x: torch.Tensor, white: float = WHITE) -> torch.Tensor:
    """(N,) share of each image's pixels whose luma (BT.709; one channel: the mean) is below ``WHITE``."""
    from ..data.degrade import LUMA_WEIGHTS

    x = x.detach().double().cpu()
    lum = torch.einsum("nchw,c->nhw", x, torch.tensor(LUMA_WEIGHTS, dtype=torch.float64)) if x.shape[1] == 3 \
        else x.mean(1)
    return (lum < white).double().flatten(1).mean(1)


def edge_tolerance(pool: torch.Tensor, n: int, *, level: float = LEVEL, resamples: int = RESAMPLES,
                   seed: int = _SEED) -> tuple[float, float]:
    """(the pool's mean edge share, the relative half-width of the ``level`` bootstrap interval of the mean share of
    ``n`` maps drawn from the pool); ValueError on a pool without edge pixels."""
    shares = edge_share(pool)
    ref = float(shares.mean())
    if not ref > 0:
        raise ValueError(f"the edge maps of this pool have no pixel with luma below {WHITE}; an edge-density check "
                         f"needs edge maps (dark lines on white)")
    g = torch.Generator().manual_seed(seed)
    means = shares[torch.randint(len(shares), (resamples, int(n)), generator=g)].mean(1)
    lo, hi = (float(q) for q in means.quantile(torch.tensor([(1 - level) / 2, (1 + level) / 2], dtype=torch.float64)))
    return ref, max(ref - lo, hi - ref) / ref


def edge_task(data) -> bool:
    """Whether ``data`` (UnpairedDomains or a view of it) is an edge-map task, whose label-0 images are edge maps."""
    base = getattr(data, "data", data)
    return getattr(getattr(base, "task", None), "kind", None) == "edges"


def edge_stats(x: torch.Tensor, pool: torch.Tensor) -> dict:
    """The edge check's numbers for samples x against the training pool: ``share`` (samples), ``real`` (pool),
    ``value`` (|share / real - 1|) and ``threshold`` (``edge_tolerance`` at n = len(x), at least ``MIN_TOLERANCE``)."""
    real, tol = edge_tolerance(pool, len(x))
    share = float(edge_share(x).mean())
    return {"share": share, "real": real, "value": abs(share / real - 1), "threshold": max(tol, MIN_TOLERANCE)}
