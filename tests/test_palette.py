"""The book's method colours: one colour per method on every chart, distinct, whatever subset a chart shows."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from spectral_collapse.plotting.palette import METHOD_COLORS, REFERENCE_LABELS, method_style
CONTROLS = ("copy", "ground_truth")   # the controls charts draw (the others appear in tables)
from spectral_collapse.framework.method_labels import BASELINE_LABELS, PAPER_LABELS
from spectral_collapse.reference.method_names import STABLE_OVG_LABEL


def test_every_method_and_control_has_its_own_colour():
    labels = (*PAPER_LABELS, *BASELINE_LABELS, STABLE_OVG_LABEL, *CONTROLS)
    assert set(labels) <= set(METHOD_COLORS)
    colours = [METHOD_COLORS[m] for m in labels]
    assert len(set(colours)) == len(colours)


# Machado, Oliveira and Fernandes (2009), severity 1, applied to linear RGB
_CVD = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
}
# the colour distances the book's palette keeps (CIEDE2000): every pair at least MIN_ANY apart; a pair closer than
# CLOSE for normal vision, or closer than MIN_ANY under simulated protanopia or deuteranopia, differs in both point
# shape and line dash as well
MIN_ANY, CLOSE, CLOSE_CVD = 18.0, 30.0, 18.0


def _lab(hex_colours, cvd=None):
    from skimage.color import rgb2lab

    rgb = np.array([[int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)] for h in hex_colours])
    if cvd is not None:
        lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        lin = np.clip(lin @ _CVD[cvd].T, 0, 1)
        rgb = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)
    return rgb2lab(rgb[None])[0]


def _distances(hex_colours, cvd=None):
    from skimage.color import deltaE_ciede2000

    lab = _lab(hex_colours, cvd)
    n = len(lab)
    return deltaE_ciede2000(lab[:, None].repeat(n, 1), lab[None].repeat(n, 0))


def test_methods_that_share_a_chart_look_different_also_to_colour_blind_readers():
    """Every method, control and the Gaussian reference: colours at least MIN_ANY apart (CIEDE2000); where two are
    closer than CLOSE (or CLOSE_CVD under simulated protanopia / deuteranopia) their point shapes and line dashes
    differ too, so no two look alike in a scatter or a line chart."""
    labels = (*PAPER_LABELS, *BASELINE_LABELS, STABLE_OVG_LABEL, *CONTROLS, REFERENCE_LABELS[0])
    styles = [method_style(m) for m in labels]
    assert None not in styles
    colours = [s[0] for s in styles]
    normal = _distances(colours)
    cvd = np.minimum(_distances(colours, "protanopia"), _distances(colours, "deuteranopia"))
    alike = []
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            assert normal[i, j] >= MIN_ANY, (labels[i], labels[j], normal[i, j])
            if normal[i, j] < CLOSE or cvd[i, j] < CLOSE_CVD:
                same_shape, same_dash = styles[i][1] == styles[j][1], styles[i][2] == styles[j][2]
                if same_shape or same_dash:
                    alike.append((labels[i], labels[j], round(normal[i, j], 1), round(cvd[i, j], 1)))
    assert not alike
    # the pairs readers found alike are far apart now (or told apart by shape and dash)
    for a, b in (("taba", "ovg"), ("edm", "edict"), ("bdia", "ovg_taba"), ("ddim", "ovg_edm"), ("renoise", "taba")):
        i, j = labels.index(a), labels.index(b)
        assert normal[i, j] >= CLOSE or (styles[i][1] != styles[j][1] and styles[i][2] != styles[j][2])
    ddim, ovg = labels.index("ddim"), labels.index("ovg")     # the introduction's pair: far apart in colour alone
    assert normal[ddim, ovg] >= 40 and cvd[ddim, ovg] >= 30


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
