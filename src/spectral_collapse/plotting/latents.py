"""Charts and image grids of the latent-analysis chapters: PCA collapse (Fig. 3), Gaussianity (Fig. 7) and spectral
velocity (Fig. 17)."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import scipy.stats
import xarray as xr

from ..studies.method_labels import method_name
from ..text import number
from .labels import chart_label
from .palette import REFERENCE_COLOR
from .charts import image_grid, metric_bars, series_lines, wrap_lines

__all__ = ["chi2_curve", "norm_histogram", "even_spread", "EVEN_SPREAD", "cev_chart", "pca_images", "norm_histograms",
           "gaussianity_bars", "velocity_heatmaps", "sigma_grids"]


# ------------------------------------------------------------------------------------------ chart data helpers

def chi2_curve(d: int, lo: float, hi: float, n: int = 400) -> pd.DataFrame:
    """Density of u = ||x||^2 / d for x ~ N(0, I_d) (u ~ chi2(d) / d) on a grid over [lo, hi]: columns u, density."""
    u = np.linspace(lo, hi, n)
    return pd.DataFrame({"u": u, "density": d * scipy.stats.chi2.pdf(u * d, d)})


def norm_histogram(norm_ratio, bins: int = 30, range_=None) -> pd.DataFrame:
    """Density histogram of u = ||x_T||^2 / d: columns left, right, center, density."""
    v = np.asarray(norm_ratio, dtype=np.float64)
    v = v[np.isfinite(v)]
    dens, edges = np.histogram(v, bins=bins, range=range_, density=True)
    return pd.DataFrame({"left": edges[:-1], "right": edges[1:], "center": (edges[:-1] + edges[1:]) / 2,
                         "density": dens})


# ---------------------------------------------------------------------------------------------- PCA (Fig. 3)

EVEN_SPREAD = "even spread"   # the legend's name of the straight line k/m (variance spread evenly over m components)


def even_spread(ds: xr.Dataset) -> pd.DataFrame:
    """k/m at k = 0 .. m for the m components of the Gaussian reference's curve (variance spread evenly): columns
    component, cev; empty without a Gaussian series."""
    if "gaussian" not in [str(v) for v in ds["series"].values]:
        return pd.DataFrame({"component": [], "cev": []})
    g = np.asarray(ds["cev"].sel(series="gaussian").values, float)
    m = int(np.isfinite(g).sum())
    k = np.arange(0, m + 1)
    return pd.DataFrame({"component": k, "cev": k / m})


def cev_chart(ds: xr.Dataset) -> alt.LayerChart:
    """Cumulative explained variance against the number of components, one line per series in the book's method look,
    and dotted black the even spread (``even_spread``)."""
    cev = ds["cev"].to_dataframe().reset_index().dropna(subset=["cev"])[["series", "component", "cev"]]
    cev["series"] = cev["series"].astype(str)
    order = [str(v) for v in ds["series"].values if str(v) in set(cev["series"])]
    cev = cev.set_index("series").loc[order].reset_index()
    even = even_spread(ds)
    subtitle = [f"Curves: {', '.join(map(series_name, order))}."]
    if len(even):
        m = int(even["component"].max())
        subtitle += wrap_lines(f"Dotted: variance spread evenly over the {m} components (k/{m} in the first k).", 420)
    lo = 0 if len(even) else int(cev["component"].min())
    hi = int(max(cev["component"].max(), even["component"].max() if len(even) else 0))
    x = alt.X("component:Q", title="principal component k", scale=alt.Scale(domain=[lo, hi], nice=False, zero=False))
    y = alt.Y("cev:Q", title="cumulative explained variance", scale=alt.Scale(domain=[0, 1]))
    curves = series_lines(cev, x=x, y=y, series="series", title="series")
    if len(even):
        key = alt.Scale(domain=[EVEN_SPREAD], range=["black"])
        line = alt.Chart(even.assign(reference=EVEN_SPREAD)).mark_line(strokeWidth=1.2).encode(
            x=x, y=y, color=alt.Color("reference:N", scale=key, title="reference"),
            strokeDash=alt.StrokeDash("reference:N", scale=alt.Scale(domain=[EVEN_SPREAD], range=[[2, 3]]),
                                      title="reference"))
        chart = alt.layer(curves, line).resolve_scale(color="independent", strokeDash="independent")
    else:
        chart = curves
    return chart.properties(width=420, height=280, title=alt.TitleParams(
        "Cumulative explained variance of the latents", subtitle=subtitle, anchor="start"))


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


# ----------------------------------------------------------------------------------------- Gaussianity (Fig. 7)

def norm_histograms(ds: xr.Dataset, bins: int = 30, columns: int = 4) -> alt.VConcatChart:
    """Per method and for Gaussian noise: the histogram of u = ||x_T||^2 / d with the chi2(d)/d density in grey, every
    panel on the same bins (over all latents and chi2(d)/d ± 5 sd) and x-range (a bin wider each side)."""
    d = int(ds.attrs["d"])
    series = {}
    for m in [*ds["method"].values, "gaussian"]:
        u = ds["gaussian_norm_ratio"].values if m == "gaussian" else ds["norm_ratio"].sel({"method": m}).values
        u = u[np.isfinite(u)]
        if len(u):
            series["gaussian (reference)" if m == "gaussian" else str(m)] = u
    if not series:
        return alt.vconcat()
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
    return grid.properties(title=alt.TitleParams("Histograms of ‖x_T‖²/d", anchor="start", subtitle=wrap_lines(
        f"Every panel shares one x-axis, {number(lo, 2)} to {number(hi, 2)}: it holds every latent of every method "
        f"({number(data_lo)} to {number(data_hi)}) and χ²(d)/d ± 5 sd, with a bin to spare at each end.", 820)))


def gaussianity_bars(ds: xr.Dataset) -> alt.HConcatChart:
    """S_G and the mean ||x_T||^2 / d per method as points (a zero S_G shows), each with the Gaussian reference last;
    the norm with its 95 % bootstrap interval over latents and a dashed line at 1 (Gaussian noise's value)."""
    ref_g = ds.attrs.get("gaussian_s_g")
    left = metric_bars(ds, "s_g", over=None, width=300, height=180, dots=True, note=False,
                       reference=None if ref_g is None else float(ref_g))
    per_latent = "norm_ratio" in ds and "latent" in ds["norm_ratio"].dims
    ref_u = ds["gaussian_norm_ratio"].values if "gaussian_norm_ratio" in ds else None
    title = alt.TitleParams("mean ‖x_T‖²/d", subtitle=wrap_lines(ONE_NOTE, 300), anchor="start")
    right = metric_bars(ds, "norm_ratio" if per_latent else "mean_norm_ratio", over=None, width=300, height=180,
                        reference=ref_u if per_latent else None, title=title, dots=True, note=False, rule=1.0)
    return alt.hconcat(left, right)


ONE_NOTE = ("Points: the mean over the latents; rules: its 95 % bootstrap interval (none where the results hold one "
            "number); dashed line: 1, the value of Gaussian noise.")


# ------------------------------------------------------------------------------------------- velocity (Fig. 17)

def velocity_heatmaps(ds: xr.Dataset) -> alt.FacetChart:
    """Step against frequency per method, colour = log10 power of the update: sequential blues for one sign, red-blue
    centred at 0 for both."""
    frame = ds["log_power"].to_dataframe().reset_index()
    frame = frame[(frame["freq"] > 0) & np.isfinite(frame["log_power"])]
    frame["freq"] = frame["freq"].round(2)
    lo, hi = float(frame["log_power"].min()), float(frame["log_power"].max())
    title = ["log10 power", "of the update"] + (["(red: above 0)"] if lo < 0 < hi else [])
    if lo < 0 < hi:
        scale = alt.Scale(scheme="redblue", reverse=True, domainMid=0, domain=[lo, hi])
    else:   # one sign: a sequential scale; the weaker the update, the darker the blue
        scale = alt.Scale(scheme="blues", reverse=lo < 0, domain=[lo, hi])
    steps = ds.sizes["step"]
    ticks = list(range(0, steps, 10 if steps > 20 else max(1, steps // 5)))
    freqs = sorted(frame["freq"].unique(), reverse=True)
    return alt.Chart(frame).mark_rect().encode(
        x=alt.X("step:O", axis=alt.Axis(values=ticks, labelAngle=0), title="inversion step"),
        y=alt.Y("freq:O", sort="descending", title="cycles / pixel",
                axis=alt.Axis(values=freqs[::4], format=".2f")),
        color=alt.Color("log_power:Q", title=title, scale=scale, legend=alt.Legend(format=".1~f")),
    ).properties(width=250, height=170).facet(facet=alt.Facet(
        "method:N", sort=list(map(str, ds["method"].values)), title=None),
        columns=2)


def sigma_grids(ds: xr.Dataset) -> alt.LayerChart:
    """The noise level after each inversion step per method (log axis, ``series_lines``); the subtitle names methods
    that share a grid."""
    sig = ds[["sigma_from", "sigma_to"]].to_dataframe().reset_index().dropna(subset=["sigma_to"])
    sig["method"] = sig["method"].astype(str)
    grids = sig.groupby("method", sort=False)["sigma_to"].agg(lambda s: tuple(np.round(np.log10(s), 3)))
    groups = [list(g.index) for _, g in grids.groupby(grids, sort=False) if len(g) > 1]
    sub = ("Same grid: " + "; ".join(" and ".join(map(method_name, g)) for g in groups)
           + " (their lines lie on each other).") \
        if groups else "Every method has its own grid."
    lo, hi = np.log10(sig["sigma_to"].min()), np.log10(sig["sigma_to"].max())
    decades = [10.0 ** k for k in range(int(np.floor(lo)), int(np.ceil(hi)) + 1)]
    return series_lines(sig, x=alt.X("step:Q", title="inversion step"),
                        y=alt.Y("sigma_to:Q", scale=alt.Scale(type="log"), title="σ after the step",
                                axis=alt.Axis(values=decades, format="~g"))).properties(
        width=320, height=170, title=alt.TitleParams("Noise level σ after each inversion step", subtitle=sub,
                                                     anchor="start"))

