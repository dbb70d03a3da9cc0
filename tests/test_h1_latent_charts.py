"""The latent chapters' charts show every value they hold: the norm histograms' x-axis holds every latent with room
at both ends, every S_G bar carries its value (a 0 reads as 0), the PCA chart's x-axis ends with the data and draws
the even-spread line its prose reads against."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr
from test_charts import _walk


def _gauss(d: int = 1024, n: int = 64) -> xr.Dataset:
    """Three methods: one near χ²(d)/d, one far below it, one far above it (as EDM and OVG + EDM lie)."""
    rng = np.random.default_rng(1)
    sd = math.sqrt(2 / d)
    ratio = np.stack([1 + sd * rng.standard_normal(n), 0.6 + 0.05 * rng.random(n), 1.3 + 0.3 * rng.random(n)])
    return xr.Dataset({"norm_ratio": (("method", "latent"), ratio),
                       "gaussian_norm_ratio": (("latent",), 1 + sd * rng.standard_normal(n)),
                       "s_g": (("method",), [0.8, 0.0, 2e-9]), "mean_norm_ratio": (("method",), ratio.mean(1))},
                      coords={"method": ["taba", "edm", "ovg_edm"], "latent": np.arange(n)},
                      attrs={"d": d, "gaussian_s_g": 0.93})


def test_norm_histograms_hold_every_latent_inside_the_axis_with_room_at_both_ends():
    from spectral_collapse.plotting.latents import norm_histograms

    ds = _gauss()
    spec = norm_histograms(ds).to_dict()
    u = np.concatenate([ds["norm_ratio"].values.ravel(), ds["gaussian_norm_ratio"].values])
    domains = {tuple(x["scale"]["domain"]) for x in _walk(spec, "x")
               if isinstance(x, dict) and isinstance(x.get("scale"), dict) and "domain" in x["scale"]}
    assert len(domains) == 1
    lo, hi = domains.pop()
    assert lo < u.min() and hi > u.max()                         # no latent on or beyond an axis end
    bars = [pd.DataFrame(v) for v in spec["datasets"].values() if v and "left" in v[0]]
    assert bars and all(lo < b["left"].min() and b["right"].max() < hi for b in bars)   # bars stand clear of the ends


def test_every_s_g_is_a_point_so_a_zero_reads_as_zero():
    from spectral_collapse.plotting.latents import gaussianity_bars

    spec = gaussianity_bars(_gauss()).to_dict()
    marks = [m if isinstance(m, str) else m.get("type") for m in _walk(spec, "mark")]
    assert "bar" not in marks and "point" in marks
    frames = [pd.DataFrame(v) for v in spec["datasets"].values() if v and "mean" in v[0]]
    s_g = next(f for f in frames if np.isclose(f["mean"].max(), 0.93))
    assert (s_g["mean"].abs() < 5e-4).sum() == 2                 # the two zeros are drawn points


def _pca(components: int = 30, n: int = 30) -> xr.Dataset:
    k = np.arange(1, components + 1)
    m = n - 10                                                   # the curves end (reach 1) before the last component
    even = np.minimum(k / m, 1.0)
    cev = np.stack([1 - (1 - even) ** 3, 1 - (1 - even) ** 1.3])
    cev[:, m:] = np.nan                                          # components beyond the latents' count: no data
    return xr.Dataset({"cev": (("series", "component"), cev)}, coords={"series": ["ddim", "gaussian"], "component": k})


def test_cev_axis_ends_with_the_data_and_draws_the_even_spread_with_a_legend_entry():
    from spectral_collapse.plotting.latents import EVEN_SPREAD, cev_chart

    ds = _pca()
    last = int(ds["component"].values[np.isfinite(ds["cev"].values).any(0)].max())
    spec = cev_chart(ds).to_dict()
    xs = [e["x"] for e in _walk(spec, "encoding") if "x" in e and e["x"].get("field") == "component"]
    assert xs and all(x["scale"]["domain"][1] == last and x["scale"].get("nice") is False for x in xs)
    even = next(pd.DataFrame(v) for v in spec["datasets"].values() if v and "reference" in v[0])
    np.testing.assert_allclose(even["cev"], even["component"] / last)   # k/m over the m components of the noise
    legend = [c["scale"]["domain"] for c in _walk(spec, "color") if isinstance(c, dict) and "scale" in c]
    assert [EVEN_SPREAD] in legend
