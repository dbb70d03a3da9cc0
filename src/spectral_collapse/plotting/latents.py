"""Charts and image grids of the latent-analysis chapters: PCA collapse (Fig. 3), Gaussianity (Fig. 7),
decorrelation (Fig. 8), spectral velocity (Fig. 17) and the validation of the metrics (Figs. 9, 11-12, 14)."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import scipy.stats
import xarray as xr

from .palette import method_color
from .charts import image_grid, metric_bars, metric_heatmap

__all__ = ["chi2_curve", "norm_histogram", "cev_chart", "pca_images", "norm_histograms", "gaussianity_bars",
           "flag_masks", "decorrelation_scatter", "velocity_heatmaps", "sigma_grids", "spectra_chart",
           "filter_examples", "filtered_s_hf_chart", "correlation_heatmap"]


# ------------------------------------------------------------------------------------------ chart data helpers

def chi2_curve(d: int, lo: float, hi: float, n: int = 400) -> pd.DataFrame:
    """Density of u = ||x||^2 / d for x ~ N(0, I_d) (u ~ chi2(d) / d) on a grid over [lo, hi]: columns u, density."""
    u = np.linspace(lo, hi, n)
    return pd.DataFrame({"u": u, "density": d * scipy.stats.chi2.pdf(u * d, d)})


def norm_histogram(norm_ratio, bins: int = 30, range_=None) -> pd.DataFrame:
    """Density histogram of u = ||x_T||^2 / d: columns left, right, center, density (integrates to 1)."""
    v = np.asarray(norm_ratio, dtype=np.float64)
    v = v[np.isfinite(v)]
    dens, edges = np.histogram(v, bins=bins, range=range_, density=True)
    return pd.DataFrame({"left": edges[:-1], "right": edges[1:], "center": (edges[:-1] + edges[1:]) / 2,
                         "density": dens})


# ---------------------------------------------------------------------------------------------- PCA (Fig. 3)

def cev_chart(ds: xr.Dataset) -> alt.Chart:
    """Cumulative explained variance against the number of components, one line per series (Gaussian dashed)."""
    cev = ds["cev"].to_dataframe().reset_index().dropna(subset=["cev"])[["series", "component", "cev"]]
    return alt.Chart(cev).mark_line().encode(
        x=alt.X("component:Q", title="principal component k"),
        y=alt.Y("cev:Q", title="cumulative explained variance"),
        color=alt.Color("series:N", sort=list(map(str, ds["series"].values))),
        strokeDash=alt.condition(alt.datum.series == "gaussian", alt.value([4, 3]), alt.value([1, 0])),
    ).properties(width=420, height=280)


def pca_images(ds: xr.Dataset, cell: int = 56):
    """Inputs and their unit-variance latents x_T (shown as x/3), one row pair per series."""
    rows = {}
    for s in ds["series"].values:
        if s != "gaussian":
            rows[f"{s} input"] = ds["inputs"].sel(series=s).values
        rows[f"{s} x_T"] = ds["latents"].sel(series=s).values / 3
    return image_grid(rows, cell=cell)


# ----------------------------------------------------------------------------------------- Gaussianity (Fig. 7)

def norm_histograms(ds: xr.Dataset, bins: int = 30, columns: int = 4) -> alt.VConcatChart:
    """Per method (and Gaussian noise): histogram of u = ||x_T||^2 / d and the chi2(d)/d density (orange)."""
    d = int(ds.attrs["d"])
    sd = (2 / d) ** 0.5
    panels = []
    for m in [*ds["method"].values, "gaussian"]:
        u = ds["gaussian_norm_ratio"].values if m == "gaussian" else ds["norm_ratio"].sel({"method": m}).values
        u = u[np.isfinite(u)]
        if not len(u):
            continue
        lo, hi = min(u.min(), 1 - 5 * sd), max(u.max(), 1 + 5 * sd)
        fit = alt.Scale(domain=[float(lo), float(hi)], zero=False, nice=False)  # the axis spans the data, not 0
        bars = alt.Chart(norm_histogram(u, bins=int(bins), range_=(lo, hi))).mark_bar(opacity=0.6).encode(
            x=alt.X("left:Q", title="||x_T||²/d", scale=fit), x2="right:Q", y=alt.Y("density:Q", title="density"),
            y2=alt.datum(0))
        line = alt.Chart(chi2_curve(d, lo, hi)).mark_line(color="orange").encode(x=alt.X("u:Q", scale=fit),
                                                                                 y="density:Q")
        panels.append((bars + line).properties(width=200, height=150, title=str(m)))
    return alt.vconcat(*[alt.hconcat(*panels[i:i + columns]) for i in range(0, len(panels), columns)])


def gaussianity_bars(ds: xr.Dataset) -> alt.HConcatChart:
    """S_G and the mean ||x_T||^2 / d per method, side by side."""
    return alt.hconcat(metric_bars(ds, "s_g", over=None, width=260, height=180),
                       metric_bars(ds, "mean_norm_ratio", over=None, width=260, height=180))


# --------------------------------------------------------------------------------------- decorrelation (Fig. 8)

def flag_masks(ds: xr.Dataset, cell: int = 56):
    """Per method: latents x_T (shown as x/3) and their flag masks (white = flagged window)."""
    rows = {}
    for m in ds["method"].values:
        rows[f"{m} x_T"] = ds["latents"].sel({"method": m}).values / 3
        rows[f"{m} flags"] = ds["mask"].sel({"method": m}).values[:, None] * 2.0 - 1   # flagged = white
    return image_grid(rows, cell=cell)


def decorrelation_scatter(ds: xr.Dataset) -> alt.Chart:
    """Set-level S_G against mean S_DC, one point per inversion run (method, steps, seed), with the 95 % interval
    of the mean S_DC over the run's latents as a vertical bar where the results hold it."""
    runs = pd.DataFrame({"method": ds["run_method"].values, "steps": ds["run_steps"].values,
                         "seed": ds["run_seed"].values, "s_g": ds["run_s_g"].values, "s_dc": ds["run_s_dc"].values})
    x = alt.X("s_g:Q", title="S_G (set of latents)", scale=alt.Scale(zero=False))
    points = alt.Chart(runs).mark_point(filled=True, size=70).encode(
        x=x, y=alt.Y("s_dc:Q", title="mean S_DC (95 % interval over latents)", scale=alt.Scale(zero=False)),
        color=method_color(runs["method"]), shape="steps:N", tooltip=["method", "steps", "seed", "s_g", "s_dc"])
    if "run_s_dc_lo" in ds:
        runs = runs.assign(lo=ds["run_s_dc_lo"].values, hi=ds["run_s_dc_hi"].values)
        bars = alt.Chart(runs.dropna(subset=["lo", "hi"])).mark_rule(strokeWidth=1.5).encode(
            x=x, y="lo:Q", y2="hi:Q", color=method_color(runs["method"]))
        return alt.layer(bars, points).properties(width=380, height=260)
    return points.properties(width=380, height=260)


# ------------------------------------------------------------------------------------------- velocity (Fig. 17)

def velocity_heatmaps(ds: xr.Dataset) -> alt.FacetChart:
    """Step against frequency per method, colour = log10 power of the update (blue: vanishing updates)."""
    frame = ds["log_power"].to_dataframe().reset_index()
    frame = frame[(frame["freq"] > 0) & np.isfinite(frame["log_power"])]
    frame["freq"] = frame["freq"].round(3)
    lim = float(np.abs(frame["log_power"]).max())
    ticks = list(range(0, ds.sizes["step"], max(1, ds.sizes["step"] // 10)))
    return alt.Chart(frame).mark_rect().encode(
        x=alt.X("step:O", axis=alt.Axis(values=ticks)),
        y=alt.Y("freq:O", sort="descending", title="cycles / pixel"),
        color=alt.Color("log_power:Q", title="log10 power",
                        scale=alt.Scale(scheme="redblue", reverse=True, domainMid=0, domain=[-lim, lim])),
        tooltip=["method", "step", "freq", alt.Tooltip("log_power:Q", format=".2f")],
    ).properties(width=260, height=180).facet(facet=alt.Facet("method:N", sort=list(map(str, ds["method"].values))),
                                              columns=2)


def sigma_grids(ds: xr.Dataset) -> alt.Chart:
    """The noise level after each inversion step, per method (log scale)."""
    sig = ds[["sigma_from", "sigma_to"]].to_dataframe().reset_index().dropna(subset=["sigma_to"])
    return alt.Chart(sig).mark_line().encode(
        x="step:Q", y=alt.Y("sigma_to:Q", scale=alt.Scale(type="log"), title="σ after step"),
        color=method_color(sig["method"]),
    ).properties(width=320, height=160, title="noise levels of each grid")


# ------------------------------------------------------------------------------ metric validation (Figs. 9-14)

def spectra_chart(ds: xr.Dataset) -> alt.Chart:
    """Mean log10 radial power spectrum per domain, and (dashed) its least-squares line over the fitting band."""
    rows, f, band = [], ds["freq"].values, np.atleast_1d(ds.attrs["band"])
    for dom in ds["domain"].values:
        lp = ds["log_power"].sel(domain=dom).mean("channel").values
        a, b = float(ds["slope_channel"].sel(domain=dom).mean()), float(ds["intercept_channel"].sel(domain=dom).mean())
        for fi, v in zip(f[1:], lp[1:]):
            rows.append({"domain": str(dom), "log10 f": np.log10(fi), "log10 power": v, "kind": "spectrum"})
            if band[0] <= fi <= band[1]:
                rows.append({"domain": str(dom), "log10 f": np.log10(fi), "log10 power": a * np.log10(fi) + b,
                             "kind": "fit"})
    return alt.Chart(pd.DataFrame(rows)).mark_line().encode(
        x="log10 f:Q", y="log10 power:Q", color="domain:N",
        strokeDash=alt.StrokeDash("kind:N", sort=["spectrum", "fit"])).properties(width=380, height=240)


def filter_examples(ds: xr.Dataset, cell: int = 56):
    """Held-out images and their filtered versions at the first, middle and last cutoff."""
    ks = list(ds["kappa"].values)
    rows = {"original": ds["held_out_images"].values}
    for filt, name in (("lowpass", "HF removed"), ("highpass", "LF removed")):
        for k in (ks[0], ks[len(ks) // 2], ks[-1]):
            rows[f"{name} κ={k:.2f}"] = ds["examples"].sel(filter=filt, kappa=k).values
    return image_grid(rows, cell=cell)


def filtered_s_hf_chart(ds: xr.Dataset) -> alt.LayerChart:
    """S_HF of the filtered held-out images against the cutoff (mean ± std), dashed: unfiltered images."""
    t = ds["filtered_s_hf"].to_dataframe().reset_index()
    t["filter"] = t["filter"].map({"lowpass": "low-pass (HF removed)", "highpass": "high-pass (LF removed)"})
    stats = t.groupby(["filter", "kappa"])["filtered_s_hf"].agg(["mean", "std"]).reset_index()
    stats["lo"], stats["hi"] = stats["mean"] - stats["std"], stats["mean"] + stats["std"]
    base = float(ds["unfiltered_s_hf"].mean())
    line = alt.Chart(stats).mark_line(point=True).encode(x=alt.X("kappa:Q", title="cutoff κ (fraction of Nyquist)"),
                                                         y=alt.Y("mean:Q", title="S_HF"), color="filter:N")
    band = alt.Chart(stats).mark_area(opacity=0.2).encode(x="kappa:Q", y="lo:Q", y2="hi:Q", color="filter:N")
    rule = alt.Chart(pd.DataFrame({"y": [base]})).mark_rule(strokeDash=[4, 3], color="gray").encode(y="y:Q")
    return (band + line + rule).properties(width=380, height=240, title="S_HF (dashed: unfiltered held-out images)")


def correlation_heatmap(ds: xr.Dataset, method: str = "pearson"):
    """Correlation matrix of the metrics over the main-results runs; a one-line note when there is none."""
    if ds.sizes.get("metric_a", 0) == 0:
        note = ds.attrs.get("correlations") or "no usable metrics (fewer than 3 runs or constant values)"
        return alt.Chart(pd.DataFrame({"text": [f"No correlations: {note}"]})).mark_text(
            align="left", fontSize=12).encode(text="text:N").properties(width=600, height=30)
    corr = ds[method].to_dataframe().reset_index()
    return metric_heatmap(corr, method, x="metric_a", y="metric_b", scheme="redblue", fmt=".2f", cell_width=44,
                          cell_height=22)
