"""The PCA chapter's numbers against the Gaussian reference: a fresh set of noise lies within the draw-to-draw
scatter of noise's curve, a set with structure lies above it, and the noise's own curve is read against an exactly
even spread (k/m, mean 0.5 + 1/(2m))."""
from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from spectral_collapse.metrics.latent import pca_explained_variance


def _ds(copy: bool = False) -> xr.Dataset:
    n, shape = 64, (3, 16, 16)
    g = torch.randn((n, *shape), generator=torch.Generator().manual_seed(777))
    other = 0.5 * g if copy else torch.randn((n, *shape), generator=torch.Generator().manual_seed(99))
    sets = {"taba": other, "gaussian": g}
    cev = np.stack([pca_explained_variance(z) for z in sets.values()])
    return xr.Dataset({"cev": (("series", "component"), cev),
                       "n": ("series", np.array([n, n])),
                       "latents": (("series", "image", "channel", "y", "x"),
                                   np.stack([z[:4].numpy() for z in sets.values()]))},
                      coords={"series": list(sets), "component": np.arange(1, n + 1)})


def test_fresh_noise_lies_within_the_scatter_of_noise_draws():
    from spectral_collapse.tables.latents import against_noise, noise_scatter

    ds = _ds()
    scatter = noise_scatter(ds)
    assert 0 < scatter < 0.1
    assert against_noise(ds).loc["taba", "max_abs"] < 3 * scatter


def test_a_low_rank_set_lies_above_the_noise_at_every_component():
    from spectral_collapse.tables.latents import against_noise

    ds = _ds()
    low = torch.randn((64, 4), generator=torch.Generator().manual_seed(5)) @ torch.randn((4, 3 * 16 * 16))
    cev = ds["cev"].values.copy()
    cev[0] = pca_explained_variance(low.reshape(64, 3, 16, 16))
    row = against_noise(ds.assign(cev=(("series", "component"), cev))).loc["taba"]
    assert row["above"] == row["of"] > 0 and row["max_above"] > 0.5


def test_the_noise_curve_is_read_against_an_even_spread():
    from spectral_collapse.tables.latents import noise_curve, uniform_auc

    got = noise_curve(_ds())
    m = got["m"]
    assert m == 64 and got["k90_even"] == 58 and got["auc_even"] == uniform_auc(64) == 0.5 + 1 / 128
    even = np.arange(1, m + 1) / m
    g = _ds()["cev"].sel(series="gaussian").values
    assert got["gap"] == max(g - even) > 0 and got["k90"] <= got["k90_even"]
