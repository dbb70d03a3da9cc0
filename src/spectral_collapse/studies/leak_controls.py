"""Controls of the support leak (``metrics.latent.support_leak``), stored by the metric-validation study: white
noise must score 1, the input 0 and TABA near 1; and S_DC's failure case, OVG's variance term alone on the exact
model, which raises S_DC while the latent stays in the input's support (leak 0). Costs: one float64 DDIM inversion
and one with the variance term of the validation chapter's crops on the exact model (about a minute on a CPU, after
its eigendecomposition, kept on disk)."""
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
    """``leak_control_leak`` and ``leak_control_s_dc`` per control of ``CONTROLS`` on ``n`` test inputs: white noise
    (seeded), the inputs themselves, TABA's stored latents (``main``: the main results), DDIM and OVG's variance
    term alone (eta_HF ``VARIANCE_ETA_HF``, eta_LF 0) inverted with the exact model ``oracle`` ({"eps": ...}) in
    float64. Empty where the task's support is not known; a control without its input is NaN."""
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
