"""Spectral velocity of inversion (paper App. E.2, Fig. 17)."""
from __future__ import annotations

import math

import numpy as np
import torch
import xarray as xr

from ..inversion import default_sigmas, invert, sample_seeds
from ..inversion.loop import primary
from ..metrics import latent as lat
from .cells import StudyContext
from .latents import Setup
from .spec import CACHE_VERSION, StudySpec

__all__ = ["VELOCITY_LABELS", "SPACES", "run_velocity", "velocity_cell"]

VELOCITY_LABELS = ("ddim", "edm", "ovg", "ovg_edm")              # the four panels of Fig. 17
# the scale applied to a state x at noise level sigma before taking differences
SPACES = {"vp": lambda s: 1.0 / math.sqrt(1.0 + s * s), "sigma": lambda s: 1.0}


def velocity_cell(ctx: StudyContext, D, x: torch.Tensor, ms, *, steps: int, space: str, seed: int) -> xr.Dataset:
    """One method's velocity: ``log_power`` (step, freq), ``sigma_from`` / ``sigma_to`` (step) of inverting ``x``."""
    if space not in SPACES:
        raise ValueError(f"unknown space {space!r}; valid: {', '.join(SPACES)}")
    scale = SPACES[space]

    def compute():
        states, sigmas = [], []

        def cb(i, sigma, sigma_next, x_cur, x_next, _ctx):
            if not states:
                states.append(scale(sigma) * primary(x_cur, ms.method).detach().double().cpu())
            states.append(scale(sigma_next) * primary(x_next, ms.method).detach().double().cpu())
            sigmas.append((sigma, sigma_next))

        invert(D, x, default_sigmas(D, steps), ms.method, guidance=ms.guidance, label=0,
               seeds=sample_seeds(seed, range(len(x))), callback=cb)
        freqs, power = lat.spectral_velocity(states, log=False)        # (T, B, C, K)
        with np.errstate(divide="ignore"):
            logp = np.log10(power.mean((1, 2)))
        return xr.Dataset({"log_power": (("step", "freq"), np.asarray(logp, dtype=np.float64)),
                           "sigma_from": ("step", np.array([float(s[0]) for s in sigmas])),
                           "sigma_to": ("step", np.array([float(s[1]) for s in sigmas]))},
                          coords={"freq": np.asarray(freqs, dtype=np.float64)})

    key = {"cell": "velocity", "version": CACHE_VERSION, "model": D, "inputs": x, "method": ms.describe(),
           "steps": int(steps), "space": space, "seed": int(seed)}
    return ctx.cache.cell(key, compute)


def run_velocity(spec: StudySpec, ctx: StudyContext | None = None, *, models: dict | None = None) -> xr.Dataset:
    """Fig. 17: log10 radial power of z_{i+1} - z_i per inversion step, averaged over channels and samples; z on the
    VP scale x / sqrt(1 + sigma^2) (``space="vp"``) or the raw states (``"sigma"``)."""
    ctx = ctx or StudyContext()
    st = Setup(spec, ctx, models)
    labels = st.labels(VELOCITY_LABELS)
    space, seed = spec["space"], int(spec["seed"])
    x = st.inputs(st.data.test_source[:int(spec["n_samples"])])
    cells = []
    for label in labels:
        ms = st.method(label)
        cells.append(velocity_cell(ctx, st.models(ms.parameterization), x, ms, steps=st.prof.steps, space=space,
                                   seed=seed))
    T = max(c.sizes["step"] for c in cells)

    def pad(a):
        a = np.asarray(a, dtype=np.float64)
        return np.pad(a, [(0, T - len(a))] + [(0, 0)] * (a.ndim - 1), constant_values=np.nan)

    ds = xr.Dataset({v: (("method", "step", *cells[0][v].dims[1:]), np.stack([pad(c[v].values) for c in cells]))
                     for v in ("log_power", "sigma_from", "sigma_to")},
                    coords={"method": labels, "step": np.arange(T), "freq": cells[0]["freq"].values})
    ds.attrs.update(st.attrs(n_samples=len(x), seed=seed, space=space,
                             definition="log10 of the radially averaged power |FFT(z_{i+1} - z_i)|^2 / (H W), "
                                        "averaged over channels and samples before the log"))
    return ds
