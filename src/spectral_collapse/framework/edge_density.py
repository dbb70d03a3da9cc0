"""The gate's edge-density check, for data whose source images are edge maps (task "edges": dark lines on white).

An edge map's mean and spread pass the gate's ``mean`` and ``std`` checks at 10 % while the share of its pixels that
are edges can be far off, because on binary-ish images both moments move little when grey haze replaces white. The
check counts edge pixels: a pixel is an edge where its luma (the BT.709 weights ``edge_map`` draws with) is below
``WHITE`` on the [-1, 1] scale, i.e. visibly darker than the white ground (real maps are exactly -1 or +1, so for them
any cut between the two gives the same count).

The value is the relative error of the samples' mean edge share against the training pool's. The threshold is the
larger of two: the half-width of the ``LEVEL`` bootstrap interval of the mean share of n real training maps (n: the
gate's samples per label), relative to the pool's share, below which samples cannot be told from n real maps; and
``MIN_TOLERANCE``, the 10 % the gate allows a channel's mean, so that a share within it passes however many samples
are drawn (a test of significance alone fails every imperfect model once n is large). On the bundled ihc-edges crops
(32 px, 15.0 % edges, per-crop std 3.7 points) the interval is about 4 % at n = 256 and 8 % at n = 64, so the
threshold is 10 %: a model drawing 13.5-16.5 % edge pixels passes, one drawing twice the real share fails. Cost: one
pass over the samples and 2,000 resamples of the pool's shares (milliseconds).
"""
from __future__ import annotations

import torch

__all__ = ["WHITE", "LEVEL", "MIN_TOLERANCE", "RESAMPLES", "EDGE_LABEL", "edge_share", "edge_tolerance", "edge_task", "edge_stats"]

WHITE = 0.9          # luma below this (on [-1, 1]) is an edge pixel
LEVEL = 0.99         # two-sided level of the bootstrap interval that sets the threshold
MIN_TOLERANCE = 0.10  # the least threshold: the gate's tolerance on a channel's mean (quality.THRESHOLDS["mean"])
RESAMPLES = 2000     # bootstrap resamples of the pool's per-map shares
EDGE_LABEL = 0       # the class label of the edge maps (the source domain of an "edges" task)
_SEED = 4321


def edge_share(x: torch.Tensor, white: float = WHITE) -> torch.Tensor:
    """Per image of x ((N, C, H, W) on [-1, 1]; C = 3: BT.709 luma, else the channel mean), the share of its pixels
    whose luma is below ``white``: (N,) float64."""
    from ..data.degrade import LUMA_WEIGHTS

    x = x.detach().double().cpu()
    lum = torch.einsum("nchw,c->nhw", x, torch.tensor(LUMA_WEIGHTS, dtype=torch.float64)) if x.shape[1] == 3 \
        else x.mean(1)
    return (lum < white).double().flatten(1).mean(1)


def edge_tolerance(pool: torch.Tensor, n: int, *, level: float = LEVEL, resamples: int = RESAMPLES,
                   seed: int = _SEED) -> tuple[float, float]:
    """(the pool's mean edge share, the relative half-width of the ``level`` bootstrap interval of the mean share of
    ``n`` maps drawn with replacement from the pool): the larger distance of the interval's ends from the pool's
    share, divided by that share. ValueError on a pool without edge pixels."""
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
