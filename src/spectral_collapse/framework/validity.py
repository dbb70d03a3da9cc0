"""Which translated samples count: a sample is *failed* when its inversion diverged, not only when it became NaN."""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["MAX_NORM_RATIO", "MAX_ABS_OUTPUT", "FAILURE_WORDS", "failures", "failure_bounds", "failed_of"]

MAX_NORM_RATIO = 1000.0
MAX_ABS_OUTPUT = 5.0
FAILURE_WORDS = {"nonfinite": "non-finite values", "output_range": f"output beyond ±{MAX_ABS_OUTPUT:g}",
                 "latent_norm": f"latent norm ‖x_T‖²/d above {MAX_NORM_RATIO:g}"}


def failures(output, latent, nonfinite_step=None) -> np.ndarray:
    """Per-sample failure reason ("nonfinite", "latent_norm", "output_range"; "" where kept) of raw outputs and
    inverted latents x_T (N, ...); nonfinite_step: the loop's first non-finite step (< 0: none)."""
    out, lat = (torch.as_tensor(a if isinstance(a, torch.Tensor) else np.asarray(a)).detach() for a in (output, latent))
    if out.shape[0] != lat.shape[0]:
        raise ValueError(f"output and latent hold different sample counts: {out.shape[0]} and {lat.shape[0]}")
    out, lat = out.reshape(out.shape[0], -1).double(), lat.reshape(lat.shape[0], -1).double()
    nonfinite = ~(torch.isfinite(out).all(1) & torch.isfinite(lat).all(1)).numpy()
    if nonfinite_step is not None:
        nonfinite |= np.asarray(nonfinite_step) >= 0
    with np.errstate(invalid="ignore", over="ignore"):
        norm = lat.nan_to_num(posinf=np.inf, neginf=-np.inf).pow(2).mean(1).numpy()
        peak = out.abs().amax(1).numpy() if out.shape[1] else np.zeros(len(out))
    return np.select([nonfinite, norm > MAX_NORM_RATIO, peak > MAX_ABS_OUTPUT],
                     ["nonfinite", "latent_norm", "output_range"], "")


def failure_bounds() -> str:
    """The bounds in words, recorded in every results file (attrs ``failure_bounds``)."""
    return (f"failed: non-finite, ||x_T||^2/d > {MAX_NORM_RATIO:g}, or raw output beyond +-{MAX_ABS_OUTPUT:g} "
            "(images in [-1, 1])")


def failed_of(ds, prefix: str = ""):
    """The per-sample ``failed`` mask of a results dataset (``prefix`` e.g. ``"baseline_"``), else the negation of
    its ``finite`` mask; None when neither is stored."""
    if f"{prefix}failed" in ds:
        return ds[f"{prefix}failed"]
    return ~ds[f"{prefix}finite"] if f"{prefix}finite" in ds else None
