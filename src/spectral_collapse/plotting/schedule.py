"""Charts of the OVG-schedule chapter: cost against the share of full OVG's S_HF gain, per schedule."""
from __future__ import annotations

import altair as alt
import pandas as pd
import xarray as xr

__all__ = ["cost_quality_chart", "guided_steps_chart"]


def _kind(m: str) -> str:
    return m if m in ("ddim", "ovg") else "schedule"


def cost_quality_chart(ds: xr.Dataset) -> alt.LayerChart:
    """Time ratio (x DDIM) against the S_HF gain share, DDIM (0) and full OVG (1) as the two ends, points labelled;
    the shaded corner is the target (time <= max ratio, share >= target)."""
    t = ds[["time_ratio", "s_hf_gain_share", "backward_passes"]].to_dataframe().reset_index()
    t["method"] = t["method"].astype(str)
    t["kind"] = t["method"].map(_kind)
    t = t.dropna(subset=["time_ratio", "s_hf_gain_share"])
    lo = float(ds.attrs.get("max_time_ratio", 1.5))
    goal = pd.DataFrame({"x": [0.0], "x2": [lo], "y": [float(ds.attrs.get("target_share", 0.9))],
                         "y2": [max(1.05, float(t["s_hf_gain_share"].max()) if len(t) else 1.05)]})
    zone = alt.Chart(goal).mark_rect(opacity=0.12, color="green").encode(x="x:Q", x2="x2", y="y:Q", y2="y2")
    base = alt.Chart(t).encode(
        x=alt.X("time_ratio:Q", title="wall time / DDIM's", scale=alt.Scale(zero=True)),
        y=alt.Y("s_hf_gain_share:Q", title="share of full OVG's S_HF gain"))
    pts = base.mark_point(filled=True, size=80).encode(
        color=alt.Color("kind:N", title="", sort=["ddim", "schedule", "ovg"]),
        tooltip=["method", alt.Tooltip("time_ratio:Q", format=".2f"), alt.Tooltip("s_hf_gain_share:Q", format=".2f"),
                 "backward_passes"])
    labels = base.mark_text(align="left", dx=7, dy=-6).encode(text="method:N")
    return (zone + pts + labels).properties(width=420, height=280, title="cost against quality")


def guided_steps_chart(ds: xr.Dataset) -> alt.Chart:
    """Which inversion steps each method guides (step 0: lowest sigma)."""
    import json

    steps = int(ds.attrs["steps"])
    sched = json.loads(ds.attrs["schedules"])
    rows = []
    for m in map(str, ds["method"].values):
        g = set(range(steps)) if m == "ovg" else set() if m == "ddim" else set(sched[m]["guided_steps"])
        rows += [{"method": m, "step": i, "guided": i in g} for i in range(steps)]
    return alt.Chart(pd.DataFrame(rows)).mark_rect().encode(
        x=alt.X("step:O", title="inversion step (sigma rising)"),
        y=alt.Y("method:N", sort=list(map(str, ds["method"].values))),
        color=alt.Color("guided:N", scale=alt.Scale(domain=[False, True], range=["#eeeeee", "#d62728"])),
    ).properties(width=420, height=18 * ds.sizes["method"], title="guided steps")
