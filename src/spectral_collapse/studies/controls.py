"""The image-only scores of a translation table and its controls: what an output scores without a latent, and the
two reference rows every table carries (the untranslated input, the ground truth)."""
from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from ..metrics import spectral as spec
from ..metrics.image import psnr

__all__ = ["CONTROLS", "image_scores", "control_scores"]


def image_scores(output: torch.Tensor, source: torch.Tensor, truth: torch.Tensor | None, *, mu_hf: float,
                 wavelet: str, kappa: float, edges: bool) -> dict[str, np.ndarray]:
    """The per-sample metrics of images alone (no latent): psnr, s_hf, delta_log_e_hf, s_lf, s_lf_gt."""
    out = output.clamp(-1, 1)
    lf_kw = dict(kappa=kappa, gray=edges, mask="nonwhite" if edges else None)
    if truth is None:
        nan = np.full(len(out), np.nan)
        paired = {"psnr": nan, "s_lf_gt": nan.copy()}
    else:
        paired = {"psnr": psnr(out, truth), "s_lf_gt": spec.s_lf(out, truth, kappa=kappa)}
    return {
        "psnr": paired["psnr"],
        "s_hf": spec.s_hf(out, mu_hf, wavelet=wavelet),
        "delta_log_e_hf": spec.delta_log_e(out, mu_hf, wavelet=wavelet),
        "s_lf": spec.s_lf(out, source, **lf_kw),       # against the input condition, as App. B.5 defines it
        "s_lf_gt": paired["s_lf_gt"],  # against the ground truth (a paired reference we also have)
    }


CONTROLS = ("copy", "ground_truth")


def control_scores(src: torch.Tensor, gt: torch.Tensor | None, scoring: dict) -> xr.Dataset:
    """The controls of a translation table, scored like the methods on the same crops: ``copy`` (the degraded
    input as the model is given it, e.g. nearest-neighbour upsampled) and ``ground_truth`` (the clean crop; absent
    without a paired test split). A metric on which ``copy`` beats every method rewards doing nothing."""
    kw = dict(mu_hf=scoring["mu_hf"], wavelet=scoring["wavelet"], kappa=scoring["kappa"], edges=scoring["edges"])
    rows = {"copy": image_scores(src, src, gt, **kw)}
    rows["ground_truth"] = image_scores(gt, src, gt, **kw) if gt is not None else \
        {k: np.full(len(src), np.nan) for k in rows["copy"]}
    rows["ground_truth"]["psnr"] = np.full(len(src), np.nan)  # against itself: infinite, says nothing
    metrics = list(rows["copy"])
    return xr.Dataset({f"control_{m}": (("control", "sample"), np.stack([rows[c][m] for c in CONTROLS]))
                       for m in metrics}, coords={"control": list(CONTROLS), "sample": np.arange(len(src))})
