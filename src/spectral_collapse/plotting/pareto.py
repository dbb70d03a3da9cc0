"""Charts of the Pareto sweep: S_LF against S_HF with fronts and choices (Fig. 6), and the grid as heatmaps."""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..studies.pareto import baseline_summary, grid_summary
from .palette import method_color

__all__ = ["pareto_chart", "grid_heatmaps"]


def pareto_chart(ds: xr.Dataset, width: int = 420, height: int = 320):
    """Fig. 6: S_LF against S_HF for every grid point (by base) and baseline, fronts as lines, choices ringed."""
    import altair as alt

    grid = grid_summary(ds)
    grid = grid.assign(label=grid["base"], kind="OVG grid point",
                       point=[f"eta_HF={h:.3g}, eta_LF={lo:.3g}" for h, lo in zip(grid["eta_hf"], grid["eta_lf"])])
    base = baseline_summary(ds).assign(kind="baseline")
    base = base.assign(label=base["method"], point=base["method"])
    pts = pd.concat([grid, base], ignore_index=True)
    pts = pts[np.isfinite(pts["s_hf"]) & np.isfinite(pts["s_lf"])]
    n_failed = int((pts["failed"].fillna(0) > 0).sum()) if "failed" in pts else 0
    pts = pts[pts["failed"].fillna(0) == 0] if "failed" in pts else pts   # a mean over survivors is not plotted
    pad = lambda v: [float(v.min() - 0.05 * (np.ptp(v) or 0.1)), float(v.max() + 0.05 * (np.ptp(v) or 0.1))]
    enc = dict(x=alt.X("s_hf:Q", title="S_HF (texture, higher is better)", scale=alt.Scale(domain=pad(pts["s_hf"]))),
               y=alt.Y("s_lf:Q", title="S_LF (structure, higher is better)", scale=alt.Scale(domain=pad(pts["s_lf"]))),
               tooltip=["label", "point", alt.Tooltip("s_hf:Q", format=".3f"), alt.Tooltip("s_lf:Q", format=".3f")])
    pts = pts.astype(object).where(pts.notna(), None)   # a missing value is JSON null in the chart's data, not NaN
    pts[["s_hf", "s_lf"]] = pts[["s_hf", "s_lf"]].astype(float)
    g = pts[pts["kind"] == "OVG grid point"]
    cloud = alt.Chart(g).mark_point(filled=True, size=60, opacity=0.7).encode(
        color=method_color(g["label"], field="label", title="OVG base"), **enc)
    front = alt.Chart(g[g["on_front"].astype(bool)].sort_values("s_hf")).mark_line(strokeDash=[4, 3]).encode(
        color=method_color(g["label"], field="label", title="OVG base"), detail="label:N", order="s_hf:Q", x="s_hf:Q",
        y="s_lf:Q")
    chosen = alt.Chart(g[g["chosen"].astype(bool)]).mark_point(size=260, shape="circle", color="black",
                                                               strokeWidth=2).encode(**enc)
    layers = [cloud, front, chosen]
    b = pts[pts["kind"] == "baseline"]
    if len(b):
        layers.append(alt.Chart(b).mark_point(shape="diamond", size=110, filled=True, color="#444").encode(**enc))
        # labels alternate above and below their points (in S_HF order) so that close baselines do not overprint
        b = b.sort_values("s_hf").assign(dy=[-9 if i % 2 else 11 for i in range(len(b))])
        for dy, part in b.groupby("dy"):   # a white halo under each label keeps it legible over rings and points
            for halo in (dict(stroke="white", strokeWidth=3), {}):
                layers.append(alt.Chart(part).mark_text(dx=7, dy=int(dy), align="left", fontSize=11, **halo)
                              .encode(text="label:N", **enc))
    note = f"; {n_failed} grid points with failed samples not shown" if n_failed else ""
    return alt.layer(*layers).properties(width=width, height=height,
                                         title=f"{ds.attrs.get('dataset', '')}: S_LF against S_HF (ringed: chosen{note})")


def grid_heatmaps(ds: xr.Dataset, metrics=("s_hf", "s_lf"), cell: int = 46):
    """Mean of each metric over the (eta_HF, eta_LF) grid, one panel per (metric, base)."""
    import altair as alt

    grid = grid_summary(ds)
    long = grid.melt(id_vars=["base", "eta_hf", "eta_lf"], value_vars=list(metrics), var_name="metric")
    long["eta_HF"] = long["eta_hf"].map(lambda v: f"{v:.3g}")
    long["eta_LF"] = long["eta_lf"].map(lambda v: f"{v:.3g}")
    order_hf = [f"{v:.3g}" for v in sorted(grid["eta_hf"].unique())]
    order_lf = [f"{v:.3g}" for v in sorted(grid["eta_lf"].unique(), reverse=True)]
    n_hf, n_lf = len(order_hf), len(order_lf)
    long["failed"] = ~np.isfinite(long["value"].astype(float))
    long["value"] = long["value"].astype(float).where(~long["failed"], 0.0)  # not drawn: failed cells are filtered
    panels = []
    for m in metrics:
        d = long[long["metric"] == m]
        base = alt.Chart(d).encode(x=alt.X("eta_HF:O", sort=order_hf, title="eta_HF"),
                                   y=alt.Y("eta_LF:O", sort=order_lf, title="eta_LF"))
        ok, bad = alt.datum.failed == False, alt.datum.failed == True  # noqa: E712 (Vega expressions)
        heat = base.mark_rect().encode(color=alt.Color("value:Q", title=m, scale=alt.Scale(scheme="viridis"))
                                       ).transform_filter(ok)
        vals = d.loc[~d["failed"], "value"]
        mid = float((vals.min() + vals.max()) / 2) if len(vals) else 0.0
        text = base.mark_text(fontSize=10).encode(  # dark text on the bright end of viridis, white on the dark end
            text=alt.Text("value:Q", format=".3f"),
            color=alt.condition(alt.datum.value > mid, alt.value("black"), alt.value("white"))).transform_filter(ok)
        # a grid point whose samples failed: a grey cell that says so (no score to colour it by)
        failed = base.mark_rect(color="#d9d9d9").transform_filter(bad)
        failed_text = base.mark_text(fontSize=9, color="black", text="failed").transform_filter(bad)
        panels.append((heat + text + failed + failed_text).properties(width=cell * n_hf, height=cell * n_lf)
                      .facet(column=alt.Column("base:N", title=m)))
    return alt.vconcat(*panels)
