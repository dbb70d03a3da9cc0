"""Which translated samples count: a sample is *failed* when its inversion diverged, not only when it became NaN.

A diverging guidance step can leave a latent that is finite but enormous (an OVG run with eta_HF = 1e6 reaches
||x_T||^2 / d ~ 4e9) and an output far outside the data range; averaging such a sample, or scoring its latent's
decorrelation, publishes a number for the wrong reason. ``failures`` marks, per sample, the first bound it leaves:

- ``"nonfinite"``: a NaN / inf appeared during inversion or sampling (the loop records the step);
- ``"latent_norm"``: ||x_T||^2 / d above ``MAX_NORM_RATIO`` = 1000 (an RMS 32 times that of the noise). Under
  N(0, I) the ratio is 1 +- sqrt(2 / d) (1 +- 0.03 at d = 3072). A poor but working inversion can sit far off
  that shell: plain DDIM inversion of an x0-prediction model reaches 10-250 on the suite's small models, a
  result to score (its S_DC is computed on the latent scaled to unit variance), not a divergence. A diverging
  guidance step goes past 1000 within a step or two and on to 1e9;
- ``"output_range"``: the raw (unclamped) output leaves [-MAX_ABS_OUTPUT, MAX_ABS_OUTPUT] = [-5, 5], five times the
  half-width of the [-1, 1] data range; a working sampler overshoots [-1, 1] by a few tenths at most.

Failed samples are left out of every mean, counted in every table cell (``aggregate.summary``), and a (method,
seed) cell with any failed sample is left out of the shares and correlations of the claims (``scorecard``).
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["MAX_NORM_RATIO", "MAX_ABS_OUTPUT", "REASONS", "failures", "failure_bounds", "failed_of",
           "failure_table"]

MAX_NORM_RATIO = 1000.0
MAX_ABS_OUTPUT = 5.0
REASONS = ("", "nonfinite", "latent_norm", "output_range")   # "" = kept


def failures(output, latent, nonfinite_step=None) -> np.ndarray:
    """Per-sample failure reason (``REASONS``; "" where the sample is kept) of raw outputs and inverted latents.

    output: the raw model output (N, ...) before any clamping (decoded to images for latent models); latent: x_T
    (N, ...); nonfinite_step: the loop's per-sample step of the first non-finite value (< 0: none), or None.
    """
    out = torch.as_tensor(np.asarray(output) if not isinstance(output, torch.Tensor) else output).detach()
    lat = torch.as_tensor(np.asarray(latent) if not isinstance(latent, torch.Tensor) else latent).detach()
    if out.shape[0] != lat.shape[0]:
        raise ValueError(f"output and latent hold different sample counts: {out.shape[0]} and {lat.shape[0]}")
    out, lat = out.reshape(out.shape[0], -1).double(), lat.reshape(lat.shape[0], -1).double()
    nonfinite = ~(torch.isfinite(out).all(1) & torch.isfinite(lat).all(1)).numpy()
    if nonfinite_step is not None:
        nonfinite |= np.asarray(nonfinite_step) >= 0
    with np.errstate(invalid="ignore", over="ignore"):
        norm = lat.nan_to_num(posinf=np.inf, neginf=-np.inf).pow(2).mean(1).numpy()
        peak = out.abs().amax(1).numpy() if out.shape[1] else np.zeros(len(out))
    reason = np.full(len(out), "", dtype=object)
    reason[(peak > MAX_ABS_OUTPUT)] = "output_range"
    reason[(norm > MAX_NORM_RATIO)] = "latent_norm"
    reason[nonfinite] = "nonfinite"
    return reason.astype(str)


def failure_bounds() -> str:
    """The bounds in words, recorded in every results file (attrs ``failure_bounds``)."""
    return (f"failed: non-finite, ||x_T||^2/d > {MAX_NORM_RATIO:g}, or raw output beyond +-{MAX_ABS_OUTPUT:g} "
            "(images in [-1, 1])")


def failed_of(ds, prefix: str = ""):
    """The per-sample ``failed`` mask of a results dataset (``prefix`` e.g. ``"baseline_"``); results written before
    failures were recorded hold only ``finite``, whose negation is used. None when neither is stored."""
    if f"{prefix}failed" in ds:
        return ds[f"{prefix}failed"]
    return ~ds[f"{prefix}finite"] if f"{prefix}finite" in ds else None


def failure_table(ds):
    """The failed samples of a results table (``failed`` / ``failure`` over a ``sample`` dimension), one row per
    point with any (its coordinates besides ``sample``, ``seed`` included): ``failed``, ``of`` (samples at that
    point), one count column per reason of ``REASONS``, and ``crops`` (the failed samples' positions, numbered from
    1 in the order the chapter shows them). An empty DataFrame when nothing failed or the results hold no such
    table."""
    import pandas as pd

    if ds is None or not {"failed", "failure"} <= set(ds.variables) or "sample" not in ds["failed"].dims:
        return pd.DataFrame()
    failed = ds["failed"].transpose(..., "sample")
    failure = ds["failure"].transpose(*failed.dims)
    dims = list(failed.dims[:-1])
    flat, why = np.asarray(failed.values, bool), np.asarray(failure.values).astype(str)
    rows = []
    for at in np.ndindex(*flat.shape[:-1]):
        mask = flat[at]
        if not mask.any():
            continue
        row = {d: failed[d].values[i].item() for d, i in zip(dims, at)}
        row.update(failed=int(mask.sum()), of=int(mask.size))
        row.update({r: int((why[at][mask] == r).sum()) for r in REASONS if r})
        row["crops"] = ", ".join(str(int(i) + 1) for i in np.flatnonzero(mask))
        rows.append(row)
    return pd.DataFrame(rows)
