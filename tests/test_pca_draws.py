"""The PCA-collapse chapter charts the evidence its claim reads: each series' k90 over the stored subsamples (their
mean and middle 95 %), beside the k90 of the whole set, and says which is which; a run without subsamples, or whose
subsample is the whole set, draws no such chart."""
from __future__ import annotations

import numpy as np
import xarray as xr

from spectral_collapse.plotting.latents import k90_draws_chart, k90_draws_frame


def _ds(m: int = 96, n: int = 128) -> xr.Dataset:
    rng = np.random.default_rng(0)
    draws = np.stack([rng.integers(60, 70, 200), rng.integers(80, 86, 200)])
    return xr.Dataset({"k90_draws": (("series", "draw"), draws), "k90": ("series", [86, 110]),
                       "n": ("series", [n, n])}, coords={"series": ["ddim", "gaussian"]},
                      attrs={"k90_subsample": m})


def test_the_frame_gives_each_series_its_own_draws_mean_and_middle_95_percent():
    ds = _ds()
    f = k90_draws_frame(ds)
    draws = ds["k90_draws"].values.astype(float)
    for i, row in f.iterrows():
        sorted_draws = np.sort(draws[i])
        # the 2.5 / 97.5 percentiles lie between the 5th smallest and 5th largest of 200 draws
        assert sorted_draws[4] <= row["lo"] <= sorted_draws[5] and sorted_draws[-6] <= row["hi"] <= sorted_draws[-5]
        assert row["lo"] <= row["mean"] <= row["hi"] and row["mean"] == draws[i].mean()
    assert list(f["k90"]) == [86, 110] and list(f["series"]) == ["DDIM", "Gaussian"]


def test_the_chart_names_its_counts_and_is_left_out_without_subsamples():
    spec = k90_draws_chart(_ds()).to_dict()
    sub = " ".join(spec["title"]["subtitle"])
    assert "200 subsamples of 96 of the 128 latents" in sub and "all 128 latents" in sub
    assert k90_draws_chart(_ds(m=128)) is None
    assert k90_draws_chart(_ds().drop_vars("k90_draws")) is None
