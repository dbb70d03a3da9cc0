"""Charts and image grids of the metric-validation and model-quality chapters."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import xarray as xr

from ..studies.metric_validation import POINT_HEADERS, complements, metric_points
from .charts import metric_heatmap, padded_domain
from .grids import image_grid

__all__ = ["EMPTY_BIN_LOG10", "spectra_chart", "filter_examples", "filtered_s_hf_chart",
           "correlation_heatmap", "loss_chart", "sample_rows"]


# log10 of a bin without power (the guard added before the log); drawn, it would stretch the axis by many decades
EMPTY_BIN_LOG10 = -15.0


def spectra_chart(ds: xr.Dataset) -> alt.LayerChart:
    """Mean log10 radial power spectrum per domain and its dashed fit over the band; empty bins left out."""
    rows, f, band = [], ds["freq"].values, np.atleast_1d(ds.attrs["band"])
    for dom in ds["domain"].values:
        lp = ds["log_power"].sel(domain=dom).mean("channel").values
        a, b = float(ds["slope_channel"].sel(domain=dom).mean()), float(ds["intercept_channel"].sel(domain=dom).mean())
        for fi, v in zip(f[1:], lp[1:]):
            if np.isfinite(v) and v > EMPTY_BIN_LOG10:
                rows.append({"domain": str(dom), "f": float(fi), "log10 power": v, "kind": "spectrum"})
                if band[0] <= fi <= band[1]:
                    rows.append({"domain": str(dom), "f": float(fi), "log10 power": a * np.log10(fi) + b,
                                 "kind": "least-squares fit"})
    frame = pd.DataFrame(rows)
    x = alt.X("f:Q", title="frequency (cycles/pixel, log scale)",
              scale=alt.Scale(type="log", domain=[float(frame["f"].min()), float(frame["f"].max())], nice=False))
    y = alt.Y("log10 power:Q", scale=alt.Scale(domain=padded_domain(frame["log10 power"], pad=0.05), nice=False,
                                               zero=False))
    return alt.Chart(frame).mark_line().encode(
        x=x, y=y, color=alt.Color("domain:N", scale=alt.Scale(range=["#0072B2", "#E69F00"])),
        strokeDash=alt.StrokeDash("kind:N", sort=["spectrum", "least-squares fit"], title=None)).properties(
        width=380, height=240, title="Radial power spectrum of each domain")


def filter_examples(ds: xr.Dataset, cell: int = 56):
    """Held-out images and their filtered versions at the first, middle and last cutoff."""
    ks = list(ds["kappa"].values)
    rows = {"original": ds["held_out_images"].values}
    for filt, name in (("lowpass", "HF removed"), ("highpass", "LF removed")):
        for k in (ks[0], ks[len(ks) // 2], ks[-1]):
            rows[f"{name}, cutoff {k:.2f}"] = ds["examples"].sel(filter=filt, kappa=k).values
    return image_grid(rows, cell=cell)


def filtered_s_hf_chart(ds: xr.Dataset) -> alt.LayerChart:
    """S_HF of the filtered held-out images against the cutoff (mean ± sd); dashed: unfiltered."""
    t = ds["filtered_s_hf"].to_dataframe().reset_index()
    t["filter"] = t["filter"].map({"lowpass": "low-pass (HF removed)", "highpass": "high-pass (LF removed)"})
    stats = t.groupby(["filter", "kappa"])["filtered_s_hf"].agg(["mean", "std"]).reset_index()
    stats["lo"], stats["hi"] = stats["mean"] - stats["std"], stats["mean"] + stats["std"]
    base = float(ds["unfiltered_s_hf"].mean())
    colour = alt.Color("filter:N", title=None, legend=alt.Legend(orient="bottom", direction="horizontal"),
                       scale=alt.Scale(domain=["low-pass (HF removed)", "high-pass (LF removed)"],
                                       range=["#0072B2", "#E69F00"]))
    line = alt.Chart(stats).mark_line(point=True).encode(x=alt.X("kappa:Q", title="cutoff κ (fraction of Nyquist)"),
                                                         y=alt.Y("mean:Q", title="S_HF"), color=colour)
    band = alt.Chart(stats).mark_area(opacity=0.2).encode(x="kappa:Q", y="lo:Q", y2="hi:Q", color=colour)
    rule = alt.Chart(pd.DataFrame({"y": [base]})).mark_rule(strokeDash=[4, 3], color="gray").encode(y="y:Q")
    return (band + line + rule).properties(width=380, height=240, title=alt.TitleParams(
        "S_HF of filtered held-out images", subtitle="Mean ± sd over images; dashed: the unfiltered images.",
        anchor="start"))


def correlation_heatmap(ds: xr.Dataset, method: str = "pearson"):
    """The metrics' correlation matrix on a fixed -1 .. 1 scale, one of each complementary pair."""
    if ds.sizes.get("metric_a", 0) == 0:
        note = ds.attrs.get("correlations") or "no usable metrics (fewer than 3 runs or constant values)"
        return alt.Chart(pd.DataFrame({"text": [f"No correlations: {note}"]})).mark_text(
            align="left", fontSize=12).encode(text="text:N").properties(width=600, height=30)
    corr = ds[method].to_dataframe().reset_index()
    if {"points", "point_method", "metric"} <= set(ds.variables) and ds.sizes.get("point", 0):
        twins = set(complements(metric_points(ds)))
        corr = corr[~corr["metric_a"].isin(twins) & ~corr["metric_b"].isin(twins)]
    name = {"pearson": "Pearson r", "spearman": "Spearman ρ"}.get(method, method)
    header = {c: corr[c].map(lambda m: POINT_HEADERS.get(str(m), str(m))) for c in ("metric_a", "metric_b")}
    corr = corr.assign(**header).rename(columns={method: name, "metric_a": "metric", "metric_b": "against"})
    return metric_heatmap(corr, name, x="metric", y="against", scheme="redblue", fmt=".2f", cell_width=44,
                          cell_height=22, domain=(-1.0, 1.0), axis_titles=False,
                          title=f"{name} between the metrics, one point per distinct method")


def loss_chart(ds: xr.Dataset, key: str, width: int = 300, height: int = 180):
    """Training loss (every 50 steps) and held-out loss (mean over noise bands) against the training step."""
    m = ds.sel(model=key)
    tr = pd.DataFrame({"step": m["train_step"].values, "loss": m["train_loss"].values, "curve": "training"})
    he = pd.DataFrame({"step": m["heldout_step"].values, "loss": m["heldout_loss"].sel(band=0).values,
                       "curve": "held-out (EMA)"})
    frame = pd.concat([tr, he]).dropna()
    if frame.empty:
        return None
    # the model is named by the section heading above the chart, as typed (a title would begin it with a capital)
    return alt.Chart(frame, title="Training and held-out loss").mark_line(point=False).encode(
        x=alt.X("step:Q", title="training step"),
        y=alt.Y("loss:Q", title="loss (log scale)", scale=alt.Scale(type="log"), axis=alt.Axis(format="~g")),
        color=alt.Color("curve:N", title="loss of", scale=alt.Scale(range=["#0072B2", "#E69F00"]),
                        legend=alt.Legend(orient="bottom", labelLimit=0))
    ).properties(width=width, height=height)


def sample_rows(ds: xr.Dataset, key: str) -> dict:
    """Image-grid rows per label: ``start_rows`` where stored, else samples from noise beside real crops."""
    from ..tables.gate_answers import start_rows

    vae = "vae" in key
    both = {} if vae else start_rows(ds, key)
    if both:
        return both
    m = ds.sel(model=key)
    out = {}
    for lab in (0, 1):
        name = "source" if lab == 0 else "target"
        out[f"{'reconstructed' if vae else 'pure noise'}, {name}"] = m["samples"].sel(label=lab).values
        out[f"{'held-out' if vae else 'real'}, {name}"] = m["real"].sel(label=lab).values
    return out
