"""The cost and benchmarks chapters' charts, from the frames of ``benchmarks.tables``."""
from __future__ import annotations

import altair as alt
import pandas as pd


def cost_chart(df: pd.DataFrame, clock: str, device: str) -> alt.LayerChart:
    """Time per inversion step over DDIM's, log scale: each method's median as an open ring (its quartile bar stays
    visible through it), the quartiles as a bar with end ticks, a dashed line at 1 (the DDIM step). ``df``:
    ``tables.ratio_frame``."""
    order = list(df["method"])
    scale = alt.Scale(type="log", domain=[float(df["q25"].min()) * 0.8, float(df["q75"].max()) * 1.25], nice=False)
    y = alt.Y("method:N", sort=order, title=None, axis=alt.Axis(labelLimit=240))
    x = alt.X("ratio:Q", scale=scale, axis=alt.Axis(values=[0.5, 1, 2, 5, 10, 20, 50], format="~g"),
              title=f"time per inversion step / DDIM step ({clock}, log scale)")
    tips = ["method", *(alt.Tooltip(f"{c}:Q", format=".2f") for c in ("ratio", "q25", "q75"))]
    points = alt.Chart(df).mark_point(filled=False, size=70, strokeWidth=1.5).encode(x=x, y=y, tooltip=tips)
    bars = alt.Chart(df).mark_rule(strokeWidth=2.5).encode(x=alt.X("q25:Q", scale=scale), x2="q75:Q", y=y)
    ends = alt.Chart(df).transform_fold(["q25", "q75"], as_=["quartile", "at"]).mark_tick(
        thickness=1.5, size=12).encode(x=alt.X("at:Q", scale=scale), y=y)
    ref = alt.Chart(pd.DataFrame({"ratio": [1.0], "label": ["DDIM step = 1"]}))
    one = ref.mark_rule(strokeDash=[4, 4]).encode(x=alt.X("ratio:Q", scale=scale))
    one_label = ref.mark_text(align="left", dx=4, dy=-6, baseline="bottom").encode(
        x=alt.X("ratio:Q", scale=scale), y=alt.value(0), text="label:N")
    return (one + one_label + bars + ends + points).properties(
        width=420, height=22 * len(df), title=alt.TitleParams(
            f"Median and quartiles over repeats, {device}",
            subtitle="ring: median; bar with end ticks: quartiles (most narrower than the ring)"))


def scaling_chart(df: pd.DataFrame) -> alt.HConcatChart:
    """CPU seconds per translation against pixels per image and against batch size, log-log, per method, with the
    least-squares power law dashed (its exponent is the growth slope). ``df``: ``tables.scaling_frame``."""
    from spectral_collapse.plotting.palette import method_color

    charts = []
    for sweep, title in (("resolution", "pixels per image"), ("batch", "batch size")):
        d = df[df.sweep == sweep]
        xs = sorted(d["x"].unique().tolist())
        base = alt.Chart(d).encode(
            x=alt.X("x:Q", scale=alt.Scale(type="log", domain=[xs[0] / 1.5, xs[-1] * 1.5], nice=False), title=title,
                    axis=alt.Axis(values=xs, format=",d", labelOverlap=True)),
            y=alt.Y("cpu_s:Q", scale=alt.Scale(type="log"), title="CPU s per translation"),
            color=method_color(d["method"], title=None))
        fit = base.transform_regression("x", "cpu_s", groupby=["method"], method="pow").mark_line(strokeDash=[3, 3])
        charts.append((base.mark_line(point=True) + fit).properties(width=260, height=200, title=sweep))
    return alt.hconcat(*charts)
