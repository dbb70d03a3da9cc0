"""Charts and image grids of the latent-analysis chapters: PCA collapse (Fig. 3, with the k90 over subsamples that the
claims page reads), Gaussianity (Fig. 7), decorrelation (Fig. 8: S_DC against S_G per inversion run) and spectral
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
from .palette import REFERENCE_COLOR, method_color, method_shape
from .charts import image_grid, metric_bars, padded_domain, series_lines, wrap_lines

__all__ = ["chi2_curve", "norm_histogram", "even_spread", "EVEN_SPREAD", "cev_chart", "pca_images", "norm_histograms",
           "gaussianity_bars", "velocity_heatmaps", "sigma_grids", "k90_draws_frame", "k90_draws_chart",
           "flag_masks", "slot_offsets", "decorrelation_scatter"]


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


def k90_draws_frame(ds: xr.Dataset) -> pd.DataFrame:
    """Per series: the draws' mean k90, their 2.5 / 97.5 percentiles (lo, hi) and the whole set's k90; empty without
    draws."""
    if "k90_draws" not in ds:
        return pd.DataFrame(columns=["series", "mean", "lo", "hi", "k90"])
    draws = ds["k90_draws"].values.astype(float)
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=1)
    return pd.DataFrame({"series": [series_name(s) for s in ds["series"].values], "mean": draws.mean(1),
                         "lo": lo, "hi": hi, "k90": ds["k90"].values.astype(float)})


def k90_draws_chart(ds: xr.Dataset, width: int = 420):
    """Points: each series' mean k90 over subsamples; rules: the middle 95 % of draws; rings: the whole set's k90. None
    without draws or when a subsample is the whole set."""
    frame = k90_draws_frame(ds)
    m, n = int(ds.attrs.get("k90_subsample", 0) or 0), int(ds["n"].values.min()) if "n" in ds else 0
    if not len(frame) or not m or m >= n:
        return None
    order = list(frame["series"])
    y = alt.Y("series:N", sort=order, title=None)
    span = [float(min(frame["lo"].min(), frame["k90"].min())), float(max(frame["hi"].max(), frame["k90"].max()))]
    pad = max(1.0, 0.06 * (span[1] - span[0]))
    scale = alt.Scale(domain=[span[0] - pad, span[1] + pad], nice=False, zero=False)
    title = "k90 (components for 90 % of the variance)"
    x = alt.X("mean:Q", title=title, scale=scale)
    rules = alt.Chart(frame).mark_rule(strokeWidth=3, color="#333333").encode(
        x=alt.X("lo:Q", scale=scale, title=title), x2="hi:Q", y=y)
    points = alt.Chart(frame).mark_point(filled=True, size=36, color="#333333").encode(
        x=x, y=y)
    rings = alt.Chart(frame).mark_point(filled=False, size=140, shape="circle", color="#b8860b", strokeWidth=2).encode(
        x=alt.X("k90:Q", scale=scale, title=title), y=y)
    draws = ds.sizes.get("draw", 0)
    sub = wrap_lines(f"Points: the mean k90 over {draws} subsamples of {m} of the {n} latents of each series (the "
                     f"draws the claims page reads); rules: the middle 95 % of those draws (hidden under its point "
                     f"where the draws agree within a component); gold rings: the k90 of all {n} latents (the "
                     f"table's), higher because more latents need more components.", width)
    return alt.layer(rules, points, rings).properties(width=width, height=28 * len(frame), title=alt.TitleParams(
        "k90 over subsamples of the latents", subtitle=sub, anchor="start"))


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


# ------------------------------------------------------------------------------------- decorrelation (Fig. 8)

def flag_masks(ds: xr.Dataset, cell: int = 56):
    """Per method: latents x_T (shown as x/3) and their flag masks (white = flagged)."""
    rows = {}
    for m in ds["method"].values:
        rows[f"{m} x_T"] = ds["latents"].sel({"method": m}).values / 3
        rows[f"{m} flags"] = ds["mask"].sel({"method": m}).values[:, None] * 2.0 - 1   # flagged = white
    return image_grid(rows, cell=cell)


def slot_offsets(slots, values, step_px: float, cap_px: float, jitter_px: float = 3.0) -> list[tuple[float, float]]:
    """(x, y) pixel offsets of the runs' slots (0, 1, ... among the runs at one S_G): sideways in ``step_px`` steps
    within ``cap_px`` (inward at S_G 0 or 1), further slots in rows ``jitter_px`` up or down."""
    per_row = max(1, int(cap_px // step_px) + 1)   # sideways places within the cap: 0, 1, ... steps from the value
    out = []
    for k, v in zip(slots, values):
        side, row = k % per_row, k // per_row
        if v <= 0 or v >= 1:
            dx = step_px * side * (1 if v <= 0 else -1)
        else:   # 0, +1, -1, +2, ... steps, the farthest inside the cap
            dx = step_px * ((side + 1) // 2) * (1 if side % 2 else -1)
            dx = float(np.clip(dx, -cap_px, cap_px))
        dy = jitter_px * ((row + 1) // 2) * (-1 if row % 2 else 1)
        out.append((float(dx), float(dy)))
    return out


def decorrelation_scatter(ds: xr.Dataset, step_px: float = 3.5, cap: float = 0.02) -> alt.LayerChart:
    """Set-level S_G against mean S_DC, one point per distinct run with its 95 % interval over latents where stored;
    runs at one S_G set up to ``cap`` of the axis width apart (``slot_offsets``), values unchanged."""
    runs = pd.DataFrame({"method": ds["run_method"].values, "steps": ds["run_steps"].values,
                         "seed": ds["run_seed"].values, "s_g": ds["run_s_g"].values, "s_dc": ds["run_s_dc"].values})
    has_ci = "run_s_dc_lo" in ds
    if has_ci:
        runs = runs.assign(lo=ds["run_s_dc_lo"].values, hi=ds["run_s_dc_hi"].values)
    runs["method"] = runs["method"].astype(str)
    keys = ["method", "steps", "s_g", "s_dc"] + (["lo", "hi"] if has_ci else [])
    runs = (runs.assign(seeds=runs["seed"].astype(str)).groupby(keys, sort=False, dropna=False)
            .agg(seeds=("seeds", ", ".join), runs=("seed", "size")).reset_index())
    labels = list(dict.fromkeys(runs["method"]))
    xdom = padded_domain(runs["s_g"], pad=0.08, lo=0.0, hi=1.0)
    ydom = padded_domain(runs["s_dc"], *(([runs["lo"], runs["hi"]]) if has_ci else []), pad=0.06, hi=1.0)
    # as wide as the text column allows: the runs at S_G = 0 sit side by side within a few pixels
    width, height = 520, 280
    # one slot per (method, step count) among the runs at one S_G: one method's runs at several step counts too
    slots = runs.assign(at=runs["s_g"].round(9), slot=runs["method"] + " · " + runs["steps"].astype(str))
    slots = slots.groupby("at", sort=False)["slot"].transform(lambda v: pd.factorize(v)[0])
    moved = slot_offsets(slots, runs["s_g"].round(9), step_px, cap * width)
    runs["px"], runs["py"] = [dx for dx, _ in moved], [dy for _, dy in moved]
    jittered = any(dy for _, dy in moved)
    in_range = "datum.value < 0 || datum.value > 1 ? '' : datum.label"   # S_G lies in [0, 1]: no tick label beyond
    x = alt.X("s_g:Q", title="S_G (set of latents)", scale=alt.Scale(domain=xdom, nice=False, zero=False),
              axis=alt.Axis(labelExpr=in_range))
    y = alt.Y("s_dc:Q", title="mean S_DC (95 % interval over latents)",
              scale=alt.Scale(domain=ydom, nice=False, zero=False))
    steps = sorted(runs["steps"].unique().tolist())
    size = alt.Size("steps:O", title="steps", sort=steps,
                    scale=alt.Scale(domain=steps, range=list(np.linspace(35, 130, len(steps)))))
    groups = [(m, (dx, dy), g) for (m, dx, dy), g in runs.groupby(["method", "px", "py"], sort=False)]
    points = [alt.Chart(g).mark_point(filled=True, opacity=0.85, strokeWidth=0.6, stroke="white", xOffset=px[0],
                                      yOffset=px[1]).encode(
        x=x, y=y, color=method_color(labels), shape=method_shape(labels), size=size)
        for m, px, g in groups]
    title = alt.TitleParams("S_DC against S_G, one point per inversion run", anchor="start", subtitle=wrap_lines(
        "Identical runs of a deterministic method (one per seed) are drawn once. Runs (of different methods or "
        "step counts) at the same S_G are drawn side by side for legibility, "
        f"at most {cap * 100:.0f} % of the axis width from their value" + (" and, where more of them tie, a few pixels "
        "above or below it" if jittered else "") + "; at S_G = 0 they are drawn to the right of 0, and their value "
        "is still 0 (S_G is never below 0).", width))
    if has_ci:
        bars = [alt.Chart(g.dropna(subset=["lo", "hi"])).mark_rule(strokeWidth=1.5, xOffset=px[0], yOffset=px[1])
                .encode(x=x, y="lo:Q", y2="hi:Q", color=method_color(labels)) for m, px, g in groups
                if g[["lo", "hi"]].notna().all(axis=1).any()]
        return alt.layer(*bars, *points).properties(width=width, height=height, title=title)
    return alt.layer(*points).properties(width=width, height=height, title=title)


# ------------------------------------------------------------------------------------------- velocity (Fig. 17)

def velocity_heatmaps(ds: xr.Dataset) -> alt.FacetChart:
    """Step against frequency per method, colour = log10 power of the update: sequential blues for one sign, red-blue
    centred at 0 for both; five legend labels from end to end."""
    frame = ds["log_power"].to_dataframe().reset_index()
    frame = frame[(frame["freq"] > 0) & np.isfinite(frame["log_power"])]
    frame["freq"] = frame["freq"].round(2)
    lo, hi = float(frame["log_power"].min()), float(frame["log_power"].max())
    # five legend labels from end to end (rounded inward), so a thin band of red reads as values up to the top label
    ends = (np.ceil(lo * 10) / 10, np.floor(hi * 10) / 10)
    values = sorted({round(float(v), 1) for v in np.linspace(*ends, 5)}) if ends[0] < ends[1] else [lo, hi]
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
        color=alt.Color("log_power:Q", title=title, scale=scale, legend=alt.Legend(
            values=values, format=f"{'+' if lo < 0 < hi else ''}.1~f", gradientLength=300,
            labelOverlap=False, labelExpr="datum.value === 0 ? '0' : datum.label")),
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

