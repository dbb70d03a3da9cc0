"""Charts and image grids of the latent-analysis chapters (Figs. 3, 7, 8 and 17)."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import scipy.stats
import xarray as xr

from ..text import number
from ..reference.method_names import method_name
from .labels import chart_label
from .palette import REFERENCE_COLOR, method_color, method_shape
from .charts import metric_bars, padded_domain, series_lines, wrap_lines
from .grids import image_grid

__all__ = ["chi2_curve", "norm_histogram", "EVEN_SPREAD", "cev_chart", "pca_images", "norm_histograms",
           "gaussianity_bars", "velocity_heatmaps", "sigma_grids", "k90_draws_frame", "k90_draws_chart",
           "flag_masks", "decorrelation_scatter"]


# ------------------------------------------------------------------------------------------ chart data helpers

def chi2_curve(d: int, lo: float, hi: float, n: int = 400) -> pd.DataFrame:
    """Density of u = ||x||^2 / d for x ~ N(0, I_d) (u ~ chi2(d) / d) on a grid over [lo, hi]: columns u, density."""
    u = np.linspace(lo, hi, n)
    return pd.DataFrame({"u": u, "density": d * scipy.stats.chi2.pdf(u * d, d)})


def norm_histogram(norm_ratio, bins: int = 30, range_=None) -> pd.DataFrame:
    """Density histogram of u = ||x_T||^2 / d: columns left, right, density."""
    v = np.asarray(norm_ratio, dtype=np.float64)
    v = v[np.isfinite(v)]
    dens, edges = np.histogram(v, bins=bins, range=range_, density=True)
    return pd.DataFrame({"left": edges[:-1], "right": edges[1:], "density": dens})


# ---------------------------------------------------------------------------------------------- PCA (Fig. 3)

EVEN_SPREAD = "even spread"   # the legend's name of the straight line k/m (variance spread evenly over m components)


def cev_chart(ds: xr.Dataset) -> alt.LayerChart:
    """Cumulative explained variance per component, a line per series, and dotted black an even spread k/m."""
    cev = ds["cev"].to_dataframe().reset_index().dropna(subset=["cev"])[["series", "component", "cev"]]
    cev["series"] = cev["series"].astype(str)
    order = [str(v) for v in ds["series"].values if str(v) in set(cev["series"])]
    cev = cev.set_index("series").loc[order].reset_index()
    m = int(np.isfinite(ds["cev"].sel(series="gaussian").values).sum())   # k/m over the noise's m components
    even = pd.DataFrame({"component": np.arange(0, m + 1), "cev": np.arange(0, m + 1) / m, "reference": EVEN_SPREAD})
    hi = int(max(cev["component"].max(), even["component"].max()))
    x = alt.X("component:Q", title="principal component k", scale=alt.Scale(domain=[0, hi], nice=False, zero=False))
    y = alt.Y("cev:Q", title="cumulative explained variance", scale=alt.Scale(domain=[0, 1]))
    curves = series_lines(cev, x=x, y=y, series="series", title="series")
    line = alt.Chart(even).mark_line(strokeWidth=1.2).encode(
        x=x, y=y, color=alt.Color("reference:N", scale=alt.Scale(domain=[EVEN_SPREAD], range=["black"]),
                                  title="reference"),
        strokeDash=alt.StrokeDash("reference:N", scale=alt.Scale(domain=[EVEN_SPREAD], range=[[2, 3]]),
                                  title="reference"))
    return alt.layer(curves, line).resolve_scale(color="independent", strokeDash="independent").properties(
        width=420, height=280, title="Cumulative explained variance of the latents")


def series_name(label) -> str:
    """A series as the charts' text names it: "Gaussian" for the reference, any other by ``chart_label``."""
    s = str(label)
    return "Gaussian" + s[len("gaussian"):] if s.startswith("gaussian") else chart_label(s)


def pca_images(ds: xr.Dataset, cell: int = 56):
    """Inputs and their unit-variance latents x_T (shown as x/3), one row pair per series."""
    rows = {}
    for s in ds["series"].values:
        if s != "gaussian":
            rows[f"{s} input"] = ds["inputs"].sel(series=s).values
        rows[f"{'Gaussian' if s == 'gaussian' else s} x_T"] = ds["latents"].sel(series=s).values / 3
    return image_grid(rows, cell=cell)


def k90_draws_frame(ds: xr.Dataset) -> pd.DataFrame:
    """Per series: the draws' mean k90, their 2.5 / 97.5 percentiles (lo, hi) and the whole set's k90."""
    if "k90_draws" not in ds:
        return pd.DataFrame(columns=["series", "mean", "lo", "hi", "k90"])
    draws = ds["k90_draws"].values.astype(float)
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=1)
    return pd.DataFrame({"series": [series_name(s) for s in ds["series"].values], "mean": draws.mean(1),
                         "lo": lo, "hi": hi, "k90": ds["k90"].values.astype(float)})


def k90_draws_chart(ds: xr.Dataset, width: int = 420):
    """Each series' mean k90 over subsamples, its middle 95 % and the whole set's; None without subsamples."""
    frame = k90_draws_frame(ds)
    m, n = int(ds.attrs.get("k90_subsample", 0) or 0), int(ds["n"].values.min()) if "n" in ds else 0
    if not len(frame) or not m or m >= n:
        return None
    y = alt.Y("series:N", sort=list(frame["series"]), title=None)
    span = [float(min(frame["lo"].min(), frame["k90"].min())), float(max(frame["hi"].max(), frame["k90"].max()))]
    pad = max(1.0, 0.06 * (span[1] - span[0]))
    scale = alt.Scale(domain=[span[0] - pad, span[1] + pad], nice=False, zero=False)
    title = "k90 (components for 90 % of the variance)"
    x = alt.X("mean:Q", title=title, scale=scale)
    rules = alt.Chart(frame).mark_rule(strokeWidth=3, color="#333333").encode(
        x=alt.X("lo:Q", scale=scale, title=title), x2="hi:Q", y=y)
    points = alt.Chart(frame).mark_point(filled=True, size=36, color="#333333").encode(x=x, y=y)
    rings = alt.Chart(frame).mark_point(filled=False, size=140, shape="circle", color="#b8860b", strokeWidth=2).encode(
        x=alt.X("k90:Q", scale=scale, title=title), y=y)
    draws = ds.sizes.get("draw", 0)
    sub = wrap_lines(f"Points: the mean k90 over {draws} subsamples of {m} of the {n} latents of each series; rules: "
                     f"the middle 95 % of those draws; gold rings: the k90 of all {n} latents (the table's).", width)
    return alt.layer(rules, points, rings).properties(width=width, height=28 * len(frame), title=alt.TitleParams(
        "k90 over subsamples of the latents", subtitle=sub, anchor="start"))


# ----------------------------------------------------------------------------------------- Gaussianity (Fig. 7)

def norm_histograms(ds: xr.Dataset, bins: int = 30, columns: int = 3) -> alt.VConcatChart:
    """Per method and for noise: the histogram of ||x_T||^2 / d beside chi2(d)/d, all on the same bins."""
    d = int(ds.attrs["d"])
    series = {}
    for m in [*ds["method"].values, "gaussian"]:
        u = ds["gaussian_norm_ratio"].values if m == "gaussian" else ds["norm_ratio"].sel({"method": m}).values
        u = u[np.isfinite(u)]
        if len(u):
            series["gaussian (reference)" if m == "gaussian" else str(m)] = u
    data_lo, data_hi = (float(f(np.concatenate(list(series.values())))) for f in (np.min, np.max))
    span = (min(1 - 5 * (2 / d) ** 0.5, data_lo), max(1 + 5 * (2 / d) ** 0.5, data_hi))
    pad = (span[1] - span[0]) / max(int(bins), 1)
    lo, hi = span[0] - pad, span[1] + pad
    fit = alt.Scale(domain=[lo, hi], zero=False, nice=False)  # one x-range, the data's span: the axis leaves out 0
    curve = chi2_curve(d, lo, hi)
    panels = []
    for m, u in series.items():
        hist = norm_histogram(u, bins=int(bins), range_=span)
        # the density axis reaches a tenth above the tallest bar or curve: no bar touches the top frame
        top = float(np.nanmax([hist["density"].max(), curve["density"].max()]))
        dens = alt.Scale(domain=[0.0, 1.1 * top], nice=False) if np.isfinite(top) and top > 0 else alt.Undefined
        bars = alt.Chart(hist).mark_bar(opacity=0.6).encode(
            x=alt.X("left:Q", title="‖x_T‖²/d", scale=fit), x2="right:Q",
            y=alt.Y("density:Q", title="density", scale=dens), y2=alt.datum(0))
        line = alt.Chart(curve).mark_line(color=REFERENCE_COLOR, strokeDash=[4, 2]).encode(
            x=alt.X("u:Q", scale=fit), y=alt.Y("density:Q", scale=dens))
        panels.append((bars + line).properties(width=200, height=150, title=alt.TitleParams(
            series_name(m), subtitle=f"{len(u)} latents, {number(u.min())} to {number(u.max())}")))
    grid = alt.vconcat(*[alt.hconcat(*panels[i:i + columns]) for i in range(0, len(panels), columns)])
    return grid.properties(title=alt.TitleParams("Histograms of ‖x_T‖²/d", anchor="start"))


def gaussianity_bars(ds: xr.Dataset) -> alt.HConcatChart:
    """S_G and the mean ||x_T||^2 / d per method as points with their intervals, the Gaussian reference last."""
    left = metric_bars(ds, "s_g", over=None, width=300, height=180, dots=True, note=False,
                       reference=float(ds.attrs["gaussian_s_g"]))
    note = "Points: the mean over the latents; rules: its 95 % bootstrap interval; dashed line: 1, as for noise."
    title = alt.TitleParams("mean ‖x_T‖²/d", subtitle=wrap_lines(note, 300), anchor="start")
    right = metric_bars(ds, "norm_ratio", over=None, width=300, height=180, reference=ds["gaussian_norm_ratio"].values,
                        title=title, dots=True, note=False, rule=1.0)
    return alt.hconcat(left, right)


# ------------------------------------------------------------------------------------- decorrelation (Fig. 8)

def flag_masks(ds: xr.Dataset, cell: int = 56):
    """Per method: latents x_T (shown as x/3) and their flag masks (white = flagged)."""
    rows = {}
    for m in ds["method"].values:
        rows[f"{m} x_T"] = ds["latents"].sel({"method": m}).values / 3
        rows[f"{m} flags"] = ds["mask"].sel({"method": m}).values[:, None] * 2.0 - 1   # flagged = white
    return image_grid(rows, cell=cell)


def decorrelation_scatter(ds: xr.Dataset) -> alt.LayerChart:
    """Set-level S_G against mean S_DC, one point per distinct run, sized by its step count."""
    runs = pd.DataFrame({"method": ds["run_method"].values.astype(str), "steps": ds["run_steps"].values,
                         "s_g": ds["run_s_g"].values, "s_dc": ds["run_s_dc"].values, "lo": ds["run_s_dc_lo"].values,
                         "hi": ds["run_s_dc_hi"].values}).drop_duplicates()
    labels = list(dict.fromkeys(runs["method"]))
    ydom = padded_domain(runs["s_dc"], runs["lo"], runs["hi"], pad=0.06)
    in_range = "datum.value < 0 || datum.value > 1 ? '' : datum.label"   # S_G lies in [0, 1]: no tick label beyond
    x = alt.X("s_g:Q", title="S_G (set of latents)", axis=alt.Axis(labelExpr=in_range),
              scale=alt.Scale(domain=padded_domain(runs["s_g"], pad=0.08), nice=False, zero=False))
    y = alt.Y("s_dc:Q", title="mean S_DC (95 % interval over latents)",
              scale=alt.Scale(domain=ydom, nice=False, zero=False))
    steps = sorted(runs["steps"].unique().tolist())
    size = alt.Size("steps:O", title="steps", sort=steps,
                    scale=alt.Scale(domain=steps, range=list(np.linspace(35, 130, len(steps)))))
    points = alt.Chart(runs).mark_point(filled=True, opacity=0.85, strokeWidth=0.6, stroke="white").encode(
        x=x, y=y, color=method_color(labels), shape=method_shape(labels), size=size)
    bars = alt.Chart(runs.dropna(subset=["lo", "hi"])).mark_rule(strokeWidth=1.5).encode(
        x=x, y="lo:Q", y2="hi:Q", color=method_color(labels))
    return alt.layer(bars, points).properties(width=520, height=280,
                                              title="S_DC against S_G, one point per inversion run")


# ------------------------------------------------------------------------------------------- velocity (Fig. 17)

def velocity_heatmaps(ds: xr.Dataset) -> alt.FacetChart:
    """Step against frequency per method, coloured by the update's log10 power (blues, or red-blue for both signs)."""
    frame = ds["log_power"].to_dataframe().reset_index()
    frame = frame[(frame["freq"] > 0) & np.isfinite(frame["log_power"])]
    frame["freq"] = frame["freq"].round(2)
    lo, hi = float(frame["log_power"].min()), float(frame["log_power"].max())
    if lo < 0 < hi:
        scale = alt.Scale(scheme="redblue", reverse=True, domainMid=0, domain=[lo, hi])
    else:   # one sign: a sequential scale; the weaker the update, the darker the blue
        scale = alt.Scale(scheme="blues", reverse=lo < 0, domain=[lo, hi])
    steps = ds.sizes["step"]
    ticks = list(range(0, steps, 10 if steps > 20 else max(1, steps // 5)))
    freqs = sorted(frame["freq"].unique(), reverse=True)
    return alt.Chart(frame).mark_rect().encode(
        x=alt.X("step:O", axis=alt.Axis(values=ticks, labelAngle=0), title="inversion step"),
        y=alt.Y("freq:O", sort="descending", title="cycles / pixel", axis=alt.Axis(values=freqs[::4])),
        color=alt.Color("log_power:Q", title=["log10 power", "of the update"], scale=scale),
    ).properties(width=250, height=170).facet(facet=alt.Facet(
        "method:N", sort=list(map(str, ds["method"].values)), title=None), columns=2)


def sigma_grids(ds: xr.Dataset) -> alt.LayerChart:
    """The noise level after each inversion step per method (log axis); the subtitle names methods sharing a grid."""
    sig = ds[["sigma_from", "sigma_to"]].to_dataframe().reset_index().dropna(subset=["sigma_to"])
    sig["method"] = sig["method"].astype(str)
    grids = sig.groupby("method", sort=False)["sigma_to"].agg(lambda s: tuple(np.round(np.log10(s), 3)))
    groups = [list(g.index) for _, g in grids.groupby(grids, sort=False) if len(g) > 1]
    sub = ("Same grid: " + "; ".join(" and ".join(map(method_name, g)) for g in groups)
           + " (their lines lie on each other).") if groups else "Every method has its own grid."
    lo, hi = np.log10(sig["sigma_to"].min()), np.log10(sig["sigma_to"].max())
    decades = [10.0 ** k for k in range(int(np.floor(lo)), int(np.ceil(hi)) + 1)]
    return series_lines(sig, x=alt.X("step:Q", title="inversion step"),
                        y=alt.Y("sigma_to:Q", scale=alt.Scale(type="log"), title="σ after the step",
                                axis=alt.Axis(values=decades, format="~g"))).properties(
        width=320, height=170, title=alt.TitleParams("Noise level σ after each inversion step", subtitle=sub,
                                                     anchor="start"))
