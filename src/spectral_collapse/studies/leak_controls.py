"""Controls of the support leak (``metrics.latent.support_leak``) for the metric-validation study: white noise
scores 1, the input 0, TABA near 1; OVG's variance term on the exact model raises S_DC at leak 0 (a CPU minute)."""
from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from ..data.support import dataset_support
from ..inversion import OVG, Euler, default_sigmas, invert
from ..metrics import latent as lat

__all__ = ["CONTROLS", "VARIANCE_ETA_HF", "leak_controls"]

CONTROLS = ("white_noise", "input", "taba_stored", "ddim_exact", "variance_term_exact")
VARIANCE_ETA_HF = 1e-6   # OVG's variance term alone (eta_LF 0): the step size whose S_DC rise the chapter shows


def _scores(z: torch.Tensor, P) -> tuple[float, float]:
    """(mean support leak, mean S_DC on unit-variance latents) of latents ``z``."""
    return float(np.nanmean(lat.support_leak(z.double(), P))), float(np.mean(lat.decorrelation(z.float()).s_dc))


def leak_controls(data, main: xr.Dataset | None, oracle: dict | None, *, n: int = 16, steps: int = 50,
                  seed: int = 0) -> xr.Dataset:
    """Support leak and S_DC of each of ``CONTROLS`` on ``n`` test inputs (DDIM and OVG's variance term inverted with
    the exact model ``oracle``, float64); empty where the support is unknown, NaN for a control without input."""
    P, _ = dataset_support(data)
    if P is None:
        return xr.Dataset()
    x = data.test_source[:n].double()
    rows = {"white_noise": _scores(torch.randn(x.shape, generator=torch.Generator().manual_seed(seed),
                                               dtype=torch.float64), P),
            "input": _scores(x, P)}
    if main is not None and "latents" in main and "taba" in main["method"].values:
        z = torch.from_numpy(np.asarray(main["latents"].sel({"method": "taba"}).isel(seed=0).values[:n]))
        rows["taba_stored"] = _scores(z, P)
    if oracle is not None:
        D = oracle["eps"]
        sig = default_sigmas(D, steps)
        for name, guidance in (("ddim_exact", None), ("variance_term_exact", OVG(eta_hf=VARIANCE_ETA_HF, eta_lf=0.0))):
            tr = invert(D, x, sig, Euler(), guidance=guidance)
            rows[name] = _scores(D.to_noise(tr.x, float(sig[0])), P)
    values = np.array([rows.get(c, (np.nan, np.nan)) for c in CONTROLS])
    return xr.Dataset({"leak_control_leak": ("leak_control", values[:, 0]),
                       "leak_control_s_dc": ("leak_control", values[:, 1]),
                       "leak_control_n": ((), int(len(x))), "leak_control_eta_hf": ((), VARIANCE_ETA_HF)},
                      coords={"leak_control": list(CONTROLS)})
