"""Charts of the OVG-schedule chapter: cost against the share of full OVG's S_HF gain, per schedule, with its interval
over the test crops; which steps each schedule guides."""
from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import xarray as xr

from ..studies.schedule import gain_share_interval
from .charts import padded_domain, point_names, wrap_lines
from .labels import chart_label
from .palette import METHOD_COLORS, SPARE_COLORS

__all__ = ["cost_quality_chart", "guided_steps_chart", "share_intervals"]


def share_intervals(ds: xr.Dataset) -> pd.DataFrame:
    """Per method: the 95 % bootstrap interval over crops of its share of full OVG's S_HF gain (NaN for DDIM and full
    OVG)."""
    rows = []
    for m in map(str, ds["method"].values):
        share, lo, hi, n = gain_share_interval(ds, m)
        ok = bool(np.isfinite(lo) and np.isfinite(hi) and hi > lo)
        rows.append({"method": m, "share_lo": lo if ok else np.nan, "share_hi": hi if ok else np.nan, "crops": n})
    return pd.DataFrame(rows)


def cost_quality_chart(ds: xr.Dataset, width: int = 420, height: int = 320) -> alt.LayerChart:
    """Time ratio against S_HF gain share per method, schedules with their 95 % interval as bars, points named beside
    them, the target corner shaded and dashed lines at shares 0 and 1."""
    t = ds[["time_ratio", "s_hf_gain_share", "backward_passes"]].to_dataframe().reset_index()
    t["method"] = t["method"].astype(str)
    t = t.merge(share_intervals(ds), on="method", how="left")
    t["kind"] = t["method"].where(t["method"].isin(["ddim", "ovg"]), "schedule")
    t["name"] = t["method"].map(chart_label)   # a point named by its method's or its schedule's reader name
    t = t.dropna(subset=["time_ratio", "s_hf_gain_share"])
    lo = float(ds.attrs.get("max_time_ratio", 1.5))
    target = float(ds.attrs.get("target_share", 0.9))
    top = max(1.05, float(np.nanmax(t[["s_hf_gain_share", "share_hi"]].to_numpy(float))) if len(t) else 1.05)
    xdom = padded_domain(t["time_ratio"], [1.0], [lo], pad=0.08)
    goal = pd.DataFrame({"x": [xdom[0]], "x2": [lo], "y": [target], "y2": [top]})
    ydom = padded_domain(t["s_hf_gain_share"], t["share_lo"], t["share_hi"], [0.0, top], pad=0.06)
    x = alt.X("time_ratio:Q", title="wall time / DDIM's", scale=alt.Scale(domain=xdom, nice=False, zero=False))
    y = alt.Y("s_hf_gain_share:Q", title="share of full OVG's S_HF gain",
              scale=alt.Scale(domain=ydom, nice=False, zero=False))
    zone = alt.Chart(goal).mark_rect(opacity=0.12, color="green").encode(
        x=alt.X("x:Q", scale=alt.Scale(domain=xdom, nice=False)), x2="x2",
        y=alt.Y("y:Q", scale=alt.Scale(domain=ydom, nice=False)), y2="y2")
    kinds = ["ddim", "schedule", "ovg"]
    # a schedule in a colour no method has (the first spare one, a teal far from OVG's brown and DDIM's navy)
    colours = alt.Scale(domain=kinds, range=[METHOD_COLORS["ddim"], SPARE_COLORS[0], METHOD_COLORS["ovg"]])
    colour = alt.Color("kind:N", title="guidance", sort=kinds, scale=colours)
    pts = alt.Chart(t).mark_point(filled=True, size=80, opacity=1).encode(x=x, y=y, color=colour)
    bars = t.dropna(subset=["share_lo", "share_hi"])
    layers = [zone, alt.Chart(pd.DataFrame({"y": [0.0, 1.0]})).mark_rule(strokeDash=[4, 3], color="#888888").encode(
        y=alt.Y("y:Q", scale=alt.Scale(domain=ydom, nice=False)))]
    if len(bars):
        layers.append(alt.Chart(bars).mark_rule(strokeWidth=1.5).encode(
            x="time_ratio:Q", y=alt.Y("share_lo:Q", scale=alt.Scale(domain=ydom, nice=False)), y2="share_hi:Q",
            color=colour))
    names = point_names(t, x="time_ratio", y="s_hf_gain_share", text="name")
    n = int(bars["crops"].max()) if len(bars) else 0
    sub = (f"Bars: each schedule's 95 % bootstrap interval over the {n} test crops; DDIM (0) and full OVG (1) are "
           "the ends of the share, with no interval." if len(bars) else "Means only: no interval over the crops.")
    title = alt.TitleParams("Cost against quality", subtitle=wrap_lines(sub, width + 60), anchor="start")
    return alt.layer(*layers, pts, names).properties(width=width, height=height, title=title)


def guided_steps_chart(ds: xr.Dataset) -> alt.Chart:
    """Which inversion steps each method guides (step 0: lowest σ), cells edged in white."""
    steps = int(ds.attrs["steps"])
    sched = json.loads(ds.attrs["schedules"])
    methods = list(map(str, ds["method"].values))
    rows = []
    for m in methods:
        g = set(range(steps)) if m == "ovg" else set() if m == "ddim" else set(sched[m]["guided_steps"])
        rows += [{"method": m, "step": i, "guided": i in g} for i in range(steps)]
    every = 5 if steps > 20 else 1
    return alt.Chart(pd.DataFrame(rows)).mark_rect(stroke="white", strokeWidth=1.5).encode(
        x=alt.X("step:O", title="inversion step (σ rising)",
                axis=alt.Axis(values=list(range(0, steps, every)), labelAngle=0)),
        y=alt.Y("method:N", sort=methods, title=None),
        color=alt.Color("guided:N", title="OVG drift on the step",
                        scale=alt.Scale(domain=[False, True], range=["#eeeeee", "#d62728"]),
                        legend=alt.Legend(labelExpr="datum.value ? 'guided' : 'unguided'")),
    ).properties(width=420, height=24 * ds.sizes["method"], title="Guided steps")
