"""The book's method colours: one colour per method on every chart, distinct, whatever subset a chart shows."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from spectral_collapse.plotting.palette import METHOD_COLORS, method_colors
from spectral_collapse.studies.controls import CONTROLS
from spectral_collapse.studies.translation import BASELINE_LABELS, PAPER_LABELS, STABLE_OVG_LABEL


def test_every_method_and_control_has_its_own_colour():
    labels = (*PAPER_LABELS, *BASELINE_LABELS, STABLE_OVG_LABEL, *CONTROLS)
    assert set(labels) <= set(METHOD_COLORS)
    colours = [METHOD_COLORS[m] for m in labels]
    assert len(set(colours)) == len(colours)


def test_a_method_keeps_its_colour_in_any_subset_and_other_labels_get_unused_colours():
    a = dict(zip(*method_colors(["taba", "bdia", "ddim"])))
    b = dict(zip(*method_colors(["ddim", "N(0, I)", "taba", "taba"])))
    assert a["taba"] == b["taba"] == METHOD_COLORS["taba"] and a["ddim"] == b["ddim"]
    assert a["taba"] != a["bdia"]
    assert b["N(0, I)"] not in METHOD_COLORS.values() and list(b) == ["ddim", "N(0, I)", "taba"]


def test_the_bar_chart_colours_methods_from_the_palette():
    from spectral_collapse.plotting.charts import metric_bars

    frame = pd.DataFrame({"method": ["taba", "bdia", "ddim"] * 2, "seed": [0] * 3 + [1] * 3,
                          "s_g": np.linspace(0.1, 0.6, 6)})
    spec = json.loads(metric_bars(frame, "s_g", over="seed").to_json())
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"])) == {m: METHOD_COLORS[m] for m in ("taba", "bdia", "ddim")}


def test_norm_histograms_span_the_data_with_bars_from_zero():
    """The ||x_T||^2/d histograms: the x axis spans the data (not 0 to the maximum, which squeezes the bars into
    hairlines) and each bar rises from density 0."""
    import xarray as xr

    from spectral_collapse.plotting.latents import norm_histograms

    rng = np.random.default_rng(0)
    ds = xr.Dataset({"norm_ratio": (("method", "sample"), 1.05 + 0.01 * rng.standard_normal((1, 64))),
                     "gaussian_norm_ratio": ("sample", 1 + 0.02 * rng.standard_normal(64))},
                    coords={"method": ["ddim"]}, attrs={"d": 3072})
    bars = json.loads(norm_histograms(ds).to_json())["vconcat"][0]["hconcat"][0]["layer"][0]
    lo, hi = bars["encoding"]["x"]["scale"]["domain"]
    assert 0.85 < lo < 0.95 and 1.05 < hi < 1.2 and bars["encoding"]["x"]["scale"]["zero"] is False
    assert bars["encoding"]["y2"] == {"datum": 0}


def test_bars_can_carry_the_tables_interval_over_crops():
    """interval="crops": each bar is the mean over all its crops with the bootstrap interval of the tables
    (metrics.intervals.bootstrap_ci), not +-1 std over seeds."""
    from spectral_collapse.metrics.intervals import bootstrap_ci
    from spectral_collapse.plotting.charts import metric_bars

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"method": np.repeat(["ddim", "ovg"], 30), "seed": np.tile(np.repeat([0, 1, 2], 10), 2),
                          "s_hf": np.r_[0.8 + 0.05 * rng.standard_normal(30), 0.9 + 0.05 * rng.standard_normal(30)]})
    frame.loc[3, "s_hf"] = np.nan   # a failed crop drops out
    bars = json.loads(metric_bars(frame, "s_hf", interval="crops").to_json())
    data = pd.DataFrame(bars["datasets"][bars["data"]["name"]]).set_index("method")
    for m in ("ddim", "ovg"):
        ci = bootstrap_ci(frame.loc[frame.method == m, "s_hf"])
        assert np.isclose(data.loc[m, "mean"], ci.mean) and np.isclose(data.loc[m, "lo"], ci.lo)
        assert np.isclose(data.loc[m, "hi"], ci.hi) and data.loc[m, "n"] == ci.n
    assert data.loc["ddim", "n"] == 29
