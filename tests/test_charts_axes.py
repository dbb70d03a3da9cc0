"""Bars carry the intervals and the Gaussian reference the data hold; log axes and colour legends read cleanly."""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from spectral_collapse.plotting.labels import reader_spec


def _frames(spec):
    return [pd.DataFrame(v) for v in spec.get("datasets", {}).values()]


def _latent_ds(rng) -> xr.Dataset:
    methods = ["ddim", "taba", "ovg"]
    nr = rng.normal(1.0, 0.1, (3, 64))
    return xr.Dataset({"s_dc": (("method", "latent"), rng.uniform(0.3, 1.0, (3, 64))),
                       "norm_ratio": (("method", "latent"), nr), "mean_norm_ratio": ("method", nr.mean(1)),
                       "s_g": ("method", [0.0, 0.6, 0.7]), "gaussian_norm_ratio": ("latent", rng.normal(1, 0.1, 64))},
                      coords={"method": methods}, attrs={"gaussian_s_g": 0.93})


def test_bars_of_a_per_latent_metric_carry_the_interval_over_the_latents():
    from spectral_collapse.metrics.intervals import bootstrap_ci
    from spectral_collapse.plotting.charts import metric_bars

    ds = _latent_ds(np.random.default_rng(1))
    stats = next(f for f in _frames(metric_bars(ds, "s_dc", over=None).to_dict()) if "lo" in f)
    for i, m in enumerate(map(str, ds["method"].values)):
        c = bootstrap_ci(ds["s_dc"].values[i])
        row = stats[stats["method"] == m].iloc[0]
        assert np.isclose(row["lo"], c.lo) and np.isclose(row["hi"], c.hi) and row["lo"] < row["mean"] < row["hi"]


def test_gaussianity_bars_draw_the_gaussian_reference_and_intervals_where_held():
    from spectral_collapse.plotting.latents import gaussianity_bars
    from spectral_collapse.plotting.palette import REFERENCE_COLOR

    ds = _latent_ds(np.random.default_rng(2))
    spec = gaussianity_bars(ds).to_dict()
    frames = [f for f in _frames(spec) if "mean" in f]
    assert len(frames) == 2
    for f in frames:
        ref = f[f["method"] == "gaussian (reference)"]
        assert len(ref) == 1
    s_g = next(f for f in frames if np.isclose(f["mean"].max(), 0.93))
    assert np.isclose(s_g.loc[s_g["method"] == "gaussian (reference)", "mean"].iloc[0], 0.93)
    u = next(f for f in frames if f is not s_g)
    assert u[["lo", "hi"]].notna().all().all()   # every bar of the per-latent norm has its interval
    assert REFERENCE_COLOR in str(spec) and "Gaussian (reference)" in str(reader_spec(spec))


def test_velocity_legend_says_what_the_colour_is_and_spans_the_data():
    from spectral_collapse.plotting.latents import velocity_heatmaps

    rng = np.random.default_rng(3)
    lp = rng.uniform(-9, -1, (2, 10, 6))
    lp[1, 0, :2] = 0.8   # a few updates of power above 1: red
    ds = xr.Dataset({"log_power": (("method", "step", "freq"), lp)},
                    coords={"method": ["ddim", "ovg"], "step": np.arange(10), "freq": np.linspace(0, 0.7, 6)})
    color = velocity_heatmaps(ds).to_dict()["spec"]["encoding"]["color"]
    title = " ".join(color["title"]) if isinstance(color["title"], list) else color["title"]
    assert "power" in title and "update" in title
    assert color["scale"]["domain"] == [float(lp[:, :, 1:].min()), float(lp[:, :, 1:].max())]
