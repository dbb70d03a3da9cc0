"""What the oracle (models/oracle.py) can fit: its two training pools checked before any moment or eigendecomposition.

A pool is refused, with what to do, when its crops are not square (the dihedral views need H = W), hold a NaN or inf,
are too few or carry no texture. A full covariance of d elements needs more than d crop views to be of full rank and
costs about 5 d^2 float64 and a d^3 eigendecomposition (about 50 s at d = 3,072 on one CPU thread); ``form="auto"``
takes it only where both hold, else the stationary form (which needs more crops than channels)."""
from __future__ import annotations

import math

import torch

from .gaussian import FULL_MAX_DIM, gaussian_form

__all__ = ["FULL_PEAK_COPIES", "oracle_form"]

FULL_PEAK_COPIES = 5   # d x d float64 matrices alive at once in a full fit (two pools' moments, their sum, C, U)


def _check_pool(name: str, pool, augment: bool) -> int:
    """The number of textured crops of ``pool``; raises naming the pool when it cannot be fitted at all."""
    if not isinstance(pool, torch.Tensor) or pool.ndim != 4 or not pool.is_floating_point():
        raise ValueError(f"the oracle's {name} pool must be a float tensor of crops (N, C, H, W), got "
                         f"{type(pool).__name__} {getattr(pool, 'dtype', '')} {tuple(getattr(pool, 'shape', ()))}")
    n, c, h, w = pool.shape
    if augment and h != w:
        raise ValueError(f"the oracle's {name} pool holds {h} x {w} px crops; its fit over the 8 dihedral views (the "
                         f"training augmentation) needs square crops: crop them to {min(h, w)} x {min(h, w)}, or "
                         f"fit without the views (augment=False)")
    bad = (~torch.isfinite(pool.flatten(1))).any(1).nonzero().flatten().tolist()
    if bad:
        raise ValueError(f"the oracle's {name} pool holds NaN or inf values in {len(bad)} of its {n} crops (crops "
                         f"{', '.join(map(str, bad[:5]))}{' ...' if len(bad) > 5 else ''}); leave those crops out or "
                         f"repair the images they come from")
    textured = int((pool.flatten(2).amax(2) > pool.flatten(2).amin(2)).any(1).sum())
    need = c + 1
    if textured < need:
        raise ValueError(f"the oracle's {name} pool holds {textured} crop(s) with texture ({n - textured} of its {n} "
                         f"are flat, one colour); its Gaussian needs at least {need} ({c} channels + 1): give more "
                         f"crops (more or larger images, a smaller crop stride)")
    if n > 1 and bool((pool == pool[:1]).all()):
        raise ValueError(f"every crop of the oracle's {name} pool ({n}) is the same image; its Gaussian needs "
                         f"different crops: give more images, or crop them at another stride")
    return textured


def oracle_form(data, form: str = "auto", augment: bool = True) -> str:
    """The covariance form ("full" or "stationary") the oracle fits to ``data``'s pools, after checking both."""
    pools = {"source": data.source, "target": data.target}
    counts = {name: _check_pool(name, p, augment) for name, p in pools.items()}
    shapes = {name: tuple(p.shape[1:]) for name, p in pools.items()}
    if shapes["source"] != shapes["target"]:
        raise ValueError(f"the oracle's source and target pools hold crops of different shapes {shapes['source']} / "
                         f"{shapes['target']}; crop both to one size")
    shape = shapes["source"]
    d, views = math.prod(shape), 8 if augment else 1
    if form == "full" and d > FULL_MAX_DIM:
        raise ValueError(f"a full-covariance oracle on {' x '.join(map(str, shape))} crops ({d} elements) needs about "
                         f"{FULL_PEAK_COPIES * d * d * 8 / 2**30:.1f} GiB and an eigendecomposition about "
                         f"{(d / 3072) ** 3:.0f} times longer than at 3 x 32 x 32 (about 50 s per Gaussian on one CPU thread), per pool; use "
                         f"form='stationary' (or 'auto'), or crops of at most {FULL_MAX_DIM} elements")
    short = {name: k for name, k in counts.items() if k * views <= d}
    if form == "full" and short:
        name, k = next(iter(short.items()))
        raise ValueError(f"the oracle's {name} pool has {k} textured crops ({k * views} views) for {d} elements per "
                         f"crop; a full covariance needs more views than elements: give at least "
                         f"{d // views + 1} crops, or use form='stationary' (or 'auto')")
    if form == "auto" and short and gaussian_form(shape, "auto") == "full":
        return "stationary"
    return gaussian_form(shape, form)
