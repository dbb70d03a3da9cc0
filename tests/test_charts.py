"""The book's charts: what they draw, read back from their Vega-Lite specs and their offline SVG rendering.

Each test builds its data here and computes what the chart must show independently of the plotting code."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import vl_convert as vlc
import xarray as xr
from test_pareto import synthetic_sweep

from spectral_collapse.plotting import charts as C
from spectral_collapse.plotting import grids as G
from spectral_collapse import text as TX
from spectral_collapse.plotting import latents as L
from spectral_collapse.plotting import metric_charts as MC
from spectral_collapse.plotting.ablations import factor_chart, improvement_intervals, pca_chart
from spectral_collapse.plotting.main_results import paper_bars
from spectral_collapse.plotting.pareto import grid_heatmaps, pareto_chart, pareto_figure
from spectral_collapse.plotting.pareto import guided_steps_chart


def _svg(chart) -> str:
    return vlc.vegalite_to_svg(chart.to_dict())


def _legends(svg: str) -> int:
    return svg.count('aria-roledescription="legend"')


def _datasets(chart) -> list[pd.DataFrame]:
    spec = json.loads(chart.to_json())
    return [pd.DataFrame(v) for v in spec.get("datasets", {}).values()]


def _walk(spec, key):
    """Every value of ``key`` anywhere in a (nested) spec."""
    if isinstance(spec, dict):
        for k, v in spec.items():
            if k == key:
                yield v
            yield from _walk(v, key)
    elif isinstance(spec, list):
        for v in spec:
            yield from _walk(v, key)


# ------------------------------------------------------------------------------------------------ text and fonts

def test_charts_are_laid_out_with_the_font_a_browser_draws_them_in():
    """vl-convert measures text with the chart's font and the reader's browser draws the SVG's text itself: the
    charts name DejaVu Sans (the widest common sans-serif, a Linux browser's default) so titles, legends and tick
    labels measured for it fit wherever they are drawn."""
    import altair as alt

    chart = alt.Chart(pd.DataFrame({"m": ["direct_inversion"], "v": [1.0]})).mark_bar().encode(x="m:N", y="v:Q",
                                                                                             color="m:N")
    spec = chart.to_dict()
    assert spec["config"]["font"].startswith("DejaVu Sans")
    svg = vlc.vegalite_to_svg(spec)
    width = float(re.search(r'<svg[^>]*width="([\d.]+)"', svg).group(1))
    from PIL import ImageFont

    font = ImageFont.truetype("DejaVuSans.ttf", 10)   # the legend's label size
    assert width >= font.getlength("direct_inversion") + 30   # the whole label fits inside the image


def test_plural_and_wrapped_subtitles():
    assert TX.plural(1, "grid point") == "1 grid point" and TX.plural(2, "grid point") == "2 grid points"
    lines = C.wrap_lines("word " * 60, 300, 11)
    assert len(lines) > 1 and all(len(x) * 0.6 * 11 <= 300 for x in lines)


def test_image_grid_labels_draw_greek_letters():
    """The image grids' labels are drawn with a font that has Greek glyphs (Pillow's bundled one draws a kappa as
    the same empty box as an unassigned code point), and the filter examples label their cutoff in Latin."""
    from PIL import Image, ImageDraw

    font = G.grid_font(12)

    def ink(text):
        im = Image.new("L", (40, 20), 0)
        ImageDraw.Draw(im).text((2, 2), text, fill=255, font=font)
        return im.tobytes()

    assert ink("κ") != ink("\ue000")
    ds = xr.Dataset({"held_out_images": (("image", "channel", "y", "x"), np.zeros((2, 3, 8, 8))),
                     "examples": (("filter", "kappa", "image", "channel", "y", "x"), np.zeros((2, 3, 2, 3, 8, 8)))},
                    coords={"filter": ["lowpass", "highpass"], "kappa": [0.1, 0.4, 0.8]})
    grid = G.compose_grid({"a": np.zeros((1, 3, 8, 8))})   # renders with that font
    assert grid.size[0] > 8
    assert MC.filter_examples(ds).data[:4] == b"\x89PNG"


# ----------------------------------------------------------------------------------------------------- heatmaps

def _relative_luminance(hex_colour: str) -> float:
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(lin @ [0.2126, 0.7152, 0.0722])


def test_heatmap_numbers_are_black_on_pale_cells_and_white_on_dark_ones():
    """On a diverging scale both ends are dark and the middle pale: the text colour follows each cell's
    luminance, not which half of the range its value is in."""
    frame = pd.DataFrame({"a": ["x", "y", "z"], "b": ["r"] * 3, "r": [-1.0, 0.0, 1.0]})
    chart = C.metric_heatmap(frame, "r", x="a", y="b", scheme="redblue", domain=(-1, 1))
    data = _datasets(chart)[0].set_index("a")
    # d3's RdBu ends and middle: dark red, near white, dark blue
    expect = {"x": "#67001f", "y": "#f7f7f7", "z": "#053061"}
    for k, colour in expect.items():
        want = "white" if _relative_luminance(colour) < 0.179 else "black"
        assert data.loc[k, "text_colour"] == want
    assert list(data["text_colour"]) == ["white", "black", "white"]
    assert json.loads(chart.to_json())["layer"][0]["encoding"]["color"]["scale"]["domain"] == [-1, 1]


def test_correlation_heatmap_has_a_fixed_diverging_scale():
    ds = xr.Dataset({"pearson": (("metric_a", "metric_b"), np.array([[1.0, -0.04], [-0.04, 1.0]]))},
                    coords={"metric_a": ["s_hf", "s_dc"], "metric_b": ["s_hf", "s_dc"]})
    chart = MC.correlation_heatmap(ds)
    assert list(_walk(chart.to_dict(), "domain"))[0] == [-1.0, 1.0]
    data = _datasets(chart)[0]
    assert set(data.loc[data["Pearson r"].abs() < 0.1, "text_colour"]) == {"black"}


# ---------------------------------------------------------------------------------------------- line charts

def _ablation_pca() -> xr.Dataset:
    k = np.arange(1, 9)
    lin = k / 8.0
    curved = 1 - (1 - lin) ** 2
    cev = np.stack([curved, lin, curved * 0.98 + 0.02 * lin])          # ddim, taba (= gaussian), ovg
    cev = np.broadcast_to(cev, (2, 3, 8)).copy()[:, :, None, :]        # factor, method, seed, component
    cev[1, 2] = np.nan                                                 # ovg failed at factor 4
    return xr.Dataset({"pca_cev": (("factor", "method", "seed", "component"), cev),
                       "pca_cev_gaussian": (("factor", "component"), np.broadcast_to(lin, (2, 8)).copy())},
                      coords={"factor": [2, 4], "method": ["ddim", "taba", "ovg"], "seed": [0], "component": k},
                      attrs={"axes": json.dumps(["factor"]), "n_test": 8})


def test_pca_chart_has_one_legend_naming_exactly_the_curves_drawn():
    ds = _ablation_pca()
    chart = pca_chart(ds)
    svg = _svg(chart)
    assert _legends(svg) == 1
    spec = chart.to_dict()
    colour = [c for c in _walk(spec, "color") if isinstance(c, dict) and "scale" in c][0]
    dash = [c for c in _walk(spec, "strokeDash") if isinstance(c, dict) and "scale" in c][0]
    assert colour["scale"]["domain"] == dash["scale"]["domain"] == ["ddim", "taba", "ovg", "N(0, I)"]
    assert colour["title"] == dash["title"]
    text = " ".join(_walk(spec, "subtitle").__next__())
    assert "×2" in svg and "×4" in svg                # arms named in words (report.ablations.arm_name)
    # a method with no curve anywhere is neither in the legend nor in the list of curves
    ds2 = ds.assign(pca_cev=ds["pca_cev"].where(ds["method"] != "ovg"))
    spec2 = pca_chart(ds2).to_dict()
    colour2 = [c for c in _walk(spec2, "color") if isinstance(c, dict) and "scale" in c][0]
    assert "ovg" not in colour2["scale"]["domain"]
    sub2 = " ".join(next(_walk(spec2, "subtitle")))
    assert "No curve for OVG" in sub2 and "Curves: DDIM, TABA, N(0, I)" in sub2   # methods by their reader names


def test_overlapping_lines_stay_visible():
    """Each method's line has its own dash, so a series under another still shows; the noise-level chart has a title
    and names the methods sharing a grid."""
    sig = np.array([np.geomspace(0.03, 13, 5), np.geomspace(0.002, 80, 5)])
    ds = xr.Dataset({"sigma_to": (("method", "step"), np.r_[sig, sig]),
                     "sigma_from": (("method", "step"), np.r_[sig, sig] / 2)},
                    coords={"method": ["ddim", "edm", "ovg", "ovg_edm"], "step": range(5)})
    spec = L.sigma_grids(ds).to_dict()
    assert spec["title"]["text"].startswith("Noise level")
    assert "DDIM and OVG" in spec["title"]["subtitle"] and "EDM and OVG + EDM" in spec["title"]["subtitle"]
    dashes = spec["layer"][0]["encoding"]["strokeDash"]["scale"]["range"]
    assert dashes[0] != dashes[2] and dashes[1] != dashes[3]    # ddim vs ovg, edm vs ovg_edm


def test_spectrum_axis_fits_the_measured_bins():
    f = np.linspace(0, 0.7, 12)
    lp = np.stack([-2 * np.log10(np.maximum(f, 0.03)), -2 * np.log10(np.maximum(f, 0.03))])
    lp[1, -2:] = -20.0                       # no power above the source's own Nyquist
    ds = xr.Dataset({"log_power": (("domain", "channel", "freq"), lp[:, None, :]),
                     "slope_channel": (("domain", "channel"), np.full((2, 1), -2.0)),
                     "intercept_channel": (("domain", "channel"), np.zeros((2, 1)))},
                    coords={"domain": ["target", "source"], "freq": f}, attrs={"band": [0.05, 0.4]})
    spec = MC.spectra_chart(ds).to_dict()
    y = next(v["encoding"]["y"] for v in spec.get("layer", [spec]) if "scale" in v.get("encoding", {}).get("y", {}))
    lo, hi = y["scale"]["domain"]
    shown = lp[:, 1:][lp[:, 1:] > -15]
    assert lo < shown.min() and lo > shown.min() - 0.1 * np.ptp(shown) and hi > shown.max()
    source = [r for r in spec["datasets"][spec["data"]["name"]] if r["domain"] == "source" and r["kind"] == "spectrum"]
    assert len(source) == len(f) - 3                       # the zero frequency and the two empty bins left out


def _velocity(values) -> xr.Dataset:
    v = np.asarray(values, dtype=float).reshape(1, 2, 3)
    return xr.Dataset({"log_power": (("method", "step", "freq"), v)},
                      coords={"method": ["ddim"], "step": range(2), "freq": [0.0, 0.2, 0.4]})


def test_velocity_colour_scale_fits_the_data():
    """All values negative: a sequential scale over the data's range (no unused red half); both signs: a diverging
    scale centred at 0."""
    neg = L.velocity_heatmaps(_velocity([-9, -5, -3, -8, -4, -2])).to_dict()
    scale = neg["spec"]["encoding"]["color"]["scale"]
    assert scale["domain"] == [-5.0, -2.0] and "domainMid" not in scale and scale["scheme"] != "redblue"
    both = L.velocity_heatmaps(_velocity([-9, -5, 0.5, -8, -4, -2])).to_dict()["spec"]["encoding"]["color"]["scale"]
    assert both["domain"] == [-5.0, 0.5] and both["domainMid"] == 0


def test_frequency_and_step_labels_are_thinned():
    ds = xr.Dataset({"log_power": (("method", "step", "freq"), -np.ones((1, 50, 25)))},
                    coords={"method": ["ddim"], "step": range(50), "freq": np.linspace(0, 0.7, 25)})
    enc = L.velocity_heatmaps(ds).to_dict()["spec"]["encoding"]
    assert len(enc["y"]["axis"]["values"]) <= 8 and len(enc["x"]["axis"]["values"]) <= 10
    sched = xr.Dataset(coords={"method": ["ddim", "ovg", "high"]},
                       attrs={"steps": 50, "schedules": json.dumps({"high": {"guided_steps": list(range(34, 50))}})})
    x = guided_steps_chart(sched).to_dict()["encoding"]["x"]
    assert len(x["axis"]["values"]) <= 10 and x["axis"]["labelAngle"] == 0


# ------------------------------------------------------------------------------------------------- scatters

def test_pareto_chart_title_is_short_and_the_subtitle_says_what_is_left_out():
    ds = synthetic_sweep([(0.3, 0.3), (0.2, 0.4), (0.4, 0.2), (0.1, 0.1)], {"ddim": (0.25, 0.35), "edm": (0.26, 0.34)})
    ds["finite"][0, 1, 1, 0] = False          # one of three samples of one grid point failed: a partial mean
    spec = pareto_chart(ds, width=420).to_dict()
    title = spec["title"]
    assert len(title["text"]) * 0.6 * 14 <= 420 and "grid point" not in title["text"]
    sub = " ".join(title["subtitle"])
    assert all(len(x) * 0.6 * 11 <= 420 + 60 for x in title["subtitle"])
    assert "Not drawn: 1 point with failed samples." in sub
    assert "3 crops" in sub
    # the two close baselines are named beside their own diamonds, off the markers
    names = [layer for layer in spec["layer"] if layer.get("mark", {}).get("type") == "text"]
    assert names
    svg = _svg(pareto_chart(ds))
    assert ">DDIM<" in svg and ">EDM<" in svg   # by their reader names
    # points at the edges of the data are inside the axes, with room to spare
    xdom = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    ydom = spec["layer"][0]["encoding"]["y"]["scale"]["domain"]
    drawn = [0.3, 0.2, 0.4, 0.25, 0.26]        # the partly failed point (0.1, 0.1) is not drawn
    assert xdom[0] < min(drawn) and xdom[1] > max(drawn) and ydom[0] < 0.2 and ydom[1] > 0.4


def test_pareto_heatmap_says_how_many_samples_of_a_cell_failed():
    ds = synthetic_sweep([(0.3, 0.3), (0.2, 0.4), (0.4, 0.2), (0.1, 0.1)], {"ddim": (0.5, 0.9)})
    ds["finite"][0, 0, 1, :1] = False          # one of three samples failed: the cell keeps the mean of the rest
    ds["finite"][0, 1, 0, :2] = False          # two of three: most failed, no mean shown
    ds["finite"][0, 1, 1] = False              # every sample failed
    ds["s_hf"][0, 1, 1] = np.nan
    ds["s_lf"][0, 1, 1] = np.nan
    svg = _svg(grid_heatmaps(ds))
    assert svg.count(">failed<") == 2 + 2         # every sample failed, and the second line of "2 of 3 / failed"
    assert svg.count(">1 failed<") == 2          # the partly failed cell says how many, in each metric's panel
    assert svg.count(">2 of 3<") == 2            # the mostly failed cell says how many, and shows no mean


def test_fig6_stacks_its_panels_to_fit_the_page_column():
    ds = synthetic_sweep([(0.3, 0.3), (0.2, 0.4), (0.4, 0.2), (0.1, 0.1)], {"ddim": (0.5, 0.9)})
    spec = pareto_figure([ds, ds.assign_attrs(dataset="ihc-edges")]).to_dict()
    assert "vconcat" in spec and spec["config"]["axis"]["labelFontSize"] >= 13
    svg = vlc.vegalite_to_svg(spec)
    assert float(re.search(r'<svg[^>]*width="([\d.]+)"', svg).group(1)) <= 720


def test_correlation_figure_and_decorrelation_scatter_draw_points_at_the_edges_whole():
    from spectral_collapse.plotting.figures import correlation_figure

    pts = pd.DataFrame({"dataset": ["a", "a", "b"], "method": ["ddim", "taba", "taba"], "s_hf": [0.75, 0.95, 0.9],
                        "s_lf": [0.1, 0.9, 0.5], "s_dc": [0.2, 1.0, 0.99]})
    spec = correlation_figure(pts).to_dict()
    for panel, metric in zip(spec["hconcat"], ("s_hf", "s_lf")):
        enc = panel["layer"][0]["encoding"]
        span = 1.0 - 0.2
        assert enc["x"]["scale"]["domain"][1] > 1.0 + 0.04 * span and enc["x"]["scale"]["domain"][0] < 0.2 - 0.04 * span
        lo, hi = enc["y"]["scale"]["domain"]
        span = np.ptp(pts[metric])
        assert lo < pts[metric].min() - 0.04 * span and hi > pts[metric].max() + 0.04 * span
    assert _legends(vlc.vegalite_to_svg(spec)) == 1
    runs = xr.Dataset({"run_method": ("run", ["ddim", "ddim", "taba"]), "run_steps": ("run", [10, 10, 50]),
                       "run_seed": ("run", [0, 1, 0]), "run_s_g": ("run", [0.0, 0.0, 0.6]),
                       "run_s_dc": ("run", [0.5, 0.5, 0.993]), "run_s_dc_lo": ("run", [0.45, 0.45, 0.99]),
                       "run_s_dc_hi": ("run", [0.55, 0.55, 0.996])})
    from spectral_collapse.plotting.latents import decorrelation_scatter

    sc = decorrelation_scatter(runs).to_dict()
    points = [layer for layer in sc["layer"] if layer["mark"]["type"] == "point"]
    x, y = points[0]["encoding"]["x"]["scale"]["domain"], points[0]["encoding"]["y"]["scale"]["domain"]
    assert x[0] < 0.0 and x[1] > 0.6 and y[1] > 0.996 and y[0] < 0.45
    data = pd.concat([pd.DataFrame(sc["datasets"][p["data"]["name"]]) for p in points])
    assert len(data) == 2 and (data["method"] == "ddim").sum() == 1   # identical runs once


# ---------------------------------------------------------------------------------------- bars with intervals

def _main_like(seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.5, 1.0, (2, 3, 8))
    return xr.Dataset({"s_hf": (("method", "seed", "sample"), v), "s_dc": (("method", "seed", "sample"), v ** 2)},
                      coords={"method": ["ddim", "ovg"], "seed": [0, 1, 2], "sample": range(8)})


def test_paper_bars_carry_the_tables_interval_on_our_bars():
    from spectral_collapse.metrics.intervals import bootstrap_ci
    from spectral_collapse.framework.aggregate import crop_values

    ds = _main_like()
    cmp = pd.DataFrame({"method": ["ddim", "ovg"], "metric": ["s_hf", "s_hf"], "ours_mean": [0.7, 0.8],
                        "paper_mean": [0.6, np.nan]})
    for m in ("ddim", "ovg"):
        ci = bootstrap_ci(crop_values(ds, "s_hf", m))
        cmp.loc[cmp.method == m, ["lo", "hi"]] = [ci.lo, ci.hi]
    spec = json.loads(paper_bars(cmp, order=["ddim", "ovg"]).to_json())
    data = pd.DataFrame(next(iter(spec["datasets"].values())))
    ours = data[data["source"] == "ours"].set_index("method")
    for m in ("ddim", "ovg"):
        ci = bootstrap_ci(crop_values(ds, "s_hf", m))
        assert np.isclose(ours.loc[m, "lo"], ci.lo) and np.isclose(ours.loc[m, "hi"], ci.hi)
    assert data.loc[data["source"] == "paper", "lo"].isna().all()
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
             for layer in spec["spec"]["layer"]]
    assert marks == ["bar", "errorbar", "errorbar"]   # the interval: a black rule over a wider white one


def test_metric_bars_over_crops_show_the_tables_numbers():
    """A study's bars with interval="crops" are the tables' cells: mean of the per-seed means, interval of the
    per-crop values (crop_values), and no legend repeating the x axis."""
    from spectral_collapse.metrics.intervals import bootstrap_ci
    from spectral_collapse.framework.aggregate import crop_values

    ds = _main_like(1)
    spec = json.loads(C.metric_bars(ds, "s_hf", interval="crops").to_json())
    data = pd.DataFrame(spec["datasets"][spec["data"]["name"]]).set_index("method")
    for m in ("ddim", "ovg"):
        ci = bootstrap_ci(crop_values(ds, "s_hf", m))
        mean = float(ds["s_hf"].sel({"method": m}).mean("sample").mean("seed"))
        assert np.isclose(data.loc[m, "lo"], ci.lo) and np.isclose(data.loc[m, "hi"], ci.hi)
        assert np.isclose(data.loc[m, "mean"], mean)
    assert spec["layer"][0]["encoding"]["color"]["legend"] is None


def _ablation(seed: int = 2) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    dims = ("parameterization", "factor", "method", "seed", "sample")
    v = rng.uniform(0.3, 0.9, (2, 2, 2, 2, 6))
    s_g = rng.uniform(0, 1, (2, 2, 2, 2))
    return xr.Dataset({"s_hf": (dims, v), "psnr": (dims, 20 + 5 * v), "s_g": (dims[:4], s_g)},
                      coords={"parameterization": ["eps", "x0"], "factor": [2, 4], "method": ["ddim", "taba"],
                              "seed": [0, 1], "sample": range(6)},
                      attrs={"axes": json.dumps(["parameterization", "factor"]), "dataset": "ihc-sr"})


def test_eps_vs_x0_differences_carry_their_paired_interval():
    from spectral_collapse.metrics.intervals import bootstrap_ci

    ds = _ablation()
    got = improvement_intervals(ds, ["s_hf", "s_g"]).set_index(["metric", "method", "factor"])
    for m in ("ddim", "taba"):
        for f in (2, 4):
            per_crop = ds["s_hf"].sel({"method": m, "factor": f}).mean("seed")
            ci = bootstrap_ci((per_crop.sel(parameterization="x0") - per_crop.sel(parameterization="eps")).values)
            row = got.loc[("s_hf", m, f)]
            assert np.isclose(row["delta"], ci.mean) and np.isclose(row["lo"], ci.lo) and np.isclose(row["hi"], ci.hi)
            d = (ds["s_g"].sel({"method": m, "factor": f, "parameterization": "x0"})
                 - ds["s_g"].sel({"method": m, "factor": f, "parameterization": "eps"})).values
            row = got.loc[("s_g", m, f)]
            assert row["unit"] == "seeds" and np.isclose(row["hi"] - row["delta"], d.std(ddof=1))


def test_factor_chart_draws_the_tables_intervals():
    from spectral_collapse.metrics.intervals import bootstrap_ci
    from spectral_collapse.framework.aggregate import crop_values

    ds = _ablation(3).sel(parameterization="eps", drop=True).assign_attrs(axes=json.dumps(["factor"]))
    spec = json.loads(factor_chart(ds, metrics=("s_hf",)).to_json())
    data = pd.DataFrame(next(iter(spec["datasets"].values()))).set_index(["method", "factor"])
    for m in ("ddim", "taba"):
        for f in (2, 4):
            ci = bootstrap_ci(crop_values(ds.sel(factor=f), "s_hf", m))
            assert np.isclose(data.loc[(m, f), "lo"], ci.lo) and np.isclose(data.loc[(m, f), "hi"], ci.hi)
    marks = [layer["mark"]["type"] for layer in spec["spec"]["layer"]]
    assert "rule" in marks


@pytest.mark.parametrize("n", [4, 12])
def test_padded_domain_leaves_room_at_both_ends(n):
    v = np.linspace(0.2, 1.0, n)
    lo, hi = C.padded_domain(v, pad=0.05)
    assert lo < 0.2 and hi > 1.0 and np.isclose(hi - 1.0, 0.2 - lo)


def test_norm_histograms_share_one_x_range_and_draw_the_reference_in_grey():
    """Every panel spans the same x-range, which holds every bar; the chi2 density is the reference's grey, not a
    method's colour, and the Gaussian panel is titled as the tables name it."""
    from spectral_collapse.plotting.palette import METHOD_COLORS, REFERENCE_COLOR

    rng = np.random.default_rng(0)
    norm = np.stack([1 + 0.01 * rng.standard_normal(20), 3 + 0.5 * rng.standard_normal(20)])
    ds = xr.Dataset({"norm_ratio": (("method", "sample"), norm),
                     "gaussian_norm_ratio": (("sample",), 1 + 0.01 * rng.standard_normal(20))},
                    coords={"method": ["ddim", "ovg"]}, attrs={"d": 4096})
    spec = L.norm_histograms(ds).to_dict()
    domains = {tuple(x["scale"]["domain"]) for x in _walk(spec, "x")
               if isinstance(x, dict) and isinstance(x.get("scale"), dict) and "domain" in x["scale"]}
    assert len(domains) == 1
    lo, hi = domains.pop()
    assert lo <= norm.min() and hi >= norm.max()
    colours = [m.get("color") for m in _walk(spec, "mark") if isinstance(m, dict) and m.get("type") == "line"]
    assert colours and set(colours) == {REFERENCE_COLOR} and REFERENCE_COLOR not in METHOD_COLORS.values()
    titles = [t.get("text") if isinstance(t, dict) else t for t in _walk(spec, "title")]
    assert "Gaussian (reference)" in titles


def test_image_grid_rows_and_the_schedule_legend_read_in_reader_names():
    from spectral_collapse.plotting.labels import chart_label

    img = np.zeros((1, 3, 8, 8))
    raw, named = (G.compose_grid({k: img}, cell=16) for k in ("ovg_edm x_T", chart_label("ovg_edm x_T")))
    assert raw.size == named.size and np.array_equal(np.asarray(raw), np.asarray(named))
    steps = xr.Dataset(coords={"method": ["ddim", "ovg"]}, attrs={"steps": 3, "schedules": "{}"})
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", _svg(guided_steps_chart(steps)))
    assert {"guided", "unguided"} <= set(texts) and not {"true", "false"} & set(texts)
