"""Charts of the OVG-schedule chapter: cost against the share of full OVG's S_HF gain, per schedule."""
from __future__ import annotations

import altair as alt
import pandas as pd
import xarray as xr

from .labels import chart_label

__all__ = ["cost_quality_chart", "guided_steps_chart"]


def _kind(m: str) -> str:
    return m if m in ("ddim", "ovg") else "schedule"


def cost_quality_chart(ds: xr.Dataset, width: int = 420, height: int = 280) -> alt.LayerChart:
    """Time ratio (x DDIM) against the S_HF gain share, DDIM (0) and full OVG (1) as the two ends, each point named
    where its name overlaps no other point or name (``charts.label_layers``: a thin line joins a name set further
    out); the shaded corner is the target (time <= max ratio, share >= target); dashed lines mark DDIM's share (0)
    and full OVG's (1): a schedule above 1 overshoots full OVG, one below 0 works against the gain. The time axis
    spans the points, DDIM's 1 and the time budget, not 0: every ratio lies near 1, and an axis from 0 would leave
    most of it empty."""
    from .charts import label_layers, padded_domain
    from .palette import METHOD_COLORS, label_expr

    t = ds[["time_ratio", "s_hf_gain_share", "backward_passes"]].to_dataframe().reset_index()
    t["method"] = t["method"].astype(str)
    t["kind"] = t["method"].map(_kind)
    t["name"] = t["method"].map(chart_label)   # a point named by its method's or its schedule's reader name
    t = t.dropna(subset=["time_ratio", "s_hf_gain_share"])
    lo = float(ds.attrs.get("max_time_ratio", 1.5))
    target = float(ds.attrs.get("target_share", 0.9))
    top = max(1.05, float(t["s_hf_gain_share"].max()) if len(t) else 1.05)
    xdom = padded_domain(t["time_ratio"], [1.0], [lo], pad=0.08)
    goal = pd.DataFrame({"x": [xdom[0]], "x2": [lo], "y": [target], "y2": [top]})
    ydom = padded_domain(t["s_hf_gain_share"], [0.0, top], pad=0.06)
    x = alt.X("time_ratio:Q", title="wall time / DDIM's", scale=alt.Scale(domain=xdom, nice=False, zero=False))
    y = alt.Y("s_hf_gain_share:Q", title="share of full OVG's S_HF gain",
              scale=alt.Scale(domain=ydom, nice=False, zero=False))
    zone = alt.Chart(goal).mark_rect(opacity=0.12, color="green").encode(
        x=alt.X("x:Q", scale=alt.Scale(domain=xdom, nice=False)), x2="x2",
        y=alt.Y("y:Q", scale=alt.Scale(domain=ydom, nice=False)), y2="y2")
    kinds = ["ddim", "schedule", "ovg"]
    colours = alt.Scale(domain=kinds, range=[METHOD_COLORS["ddim"], "#997700", METHOD_COLORS["ovg"]])
    pts = alt.Chart(t).mark_point(filled=True, size=80).encode(
        x=x, y=y, color=alt.Color("kind:N", title="", sort=kinds, scale=colours,
                                  legend=alt.Legend(labelExpr=label_expr(kinds))),
        tooltip=["method", alt.Tooltip("time_ratio:Q", format=".2f"), alt.Tooltip("s_hf_gain_share:Q", format=".2f"),
                 "backward_passes"])
    names = label_layers(t, x="time_ratio", y="s_hf_gain_share", label="name", xdom=xdom, ydom=ydom, width=width,
                         height=height, r=6.0)
    ends = alt.Chart(pd.DataFrame({"y": [0.0, 1.0]})).mark_rule(strokeDash=[4, 3], color="#888888").encode(
        y=alt.Y("y:Q", scale=alt.Scale(domain=ydom, nice=False)))
    return alt.layer(zone, ends, pts, *names).properties(width=width, height=height, title="cost against quality")


def guided_steps_chart(ds: xr.Dataset) -> alt.Chart:
    """Which inversion steps each method guides (step 0: lowest sigma); every fifth step labelled."""
    import json

    steps = int(ds.attrs["steps"])
    sched = json.loads(ds.attrs["schedules"])
    rows = []
    for m in map(str, ds["method"].values):
        g = set(range(steps)) if m == "ovg" else set() if m == "ddim" else set(sched[m]["guided_steps"])
        rows += [{"method": m, "step": i, "guided": i in g} for i in range(steps)]
    every = 5 if steps > 20 else 1
    return alt.Chart(pd.DataFrame(rows)).mark_rect().encode(
        x=alt.X("step:O", title="inversion step (σ rising)",
                axis=alt.Axis(values=list(range(0, steps, every)), labelAngle=0)),
        y=alt.Y("method:N", sort=list(map(str, ds["method"].values)), title=None,
                axis=alt.Axis(labelExpr=_names_expr(ds["method"].values))),
        color=alt.Color("guided:N", title="OVG drift on the step",
                        scale=alt.Scale(domain=[False, True], range=["#eeeeee", "#d62728"]),
                        legend=alt.Legend(labelExpr="datum.value ? 'guided' : 'unguided'")),
    ).properties(width=420, height=18 * ds.sizes["method"], title="Guided steps")


def _names_expr(labels) -> str:
    """A Vega label expression writing each method or schedule key by its chart name (``plotting.labels``)."""
    from .palette import _js

    expr = "datum.label"
    for key in map(str, labels):
        if chart_label(key) != key:
            expr = f"datum.label === {_js(key)} ? {_js(chart_label(key))} : {expr}"
    return expr
