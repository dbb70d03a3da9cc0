"""The PCA chapter explains a series lying on the Gaussian reference's curve: fresh draws of noise of the same count
and size lie as close, and the series' latents are not the reference's draws (their correlation with them)."""
from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from spectral_collapse.metrics.latent import pca_explained_variance


def _ds(copy: bool) -> xr.Dataset:
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


def test_a_series_on_the_noise_curve_is_explained_by_noise_draws_and_its_correlation():
    from spectral_collapse.report.latent_pca import pca_reading, reference_correlation

    text = pca_reading(_ds(copy=False))
    assert "TABA on it" in text
    assert "fresh draws of Gaussian noise of the same count and size" in text
    r = reference_correlation(_ds(copy=False), "taba")
    assert r < 5 / np.sqrt(3 * 16 * 16)
    assert f"TABA {r:.3f}" in text and "16 |correlations|" in text


def test_a_scaled_copy_of_the_reference_shows_a_correlation_of_one():
    from spectral_collapse.report.latent_pca import pca_reading, reference_correlation

    ds = _ds(copy=True)
    assert reference_correlation(ds, "taba") > 0.999
    assert "TABA 1.000" in pca_reading(ds)
