"""The cost chapter's charts, from a benchmark run (``benchmarks.tables.load``)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from . import tables


def cost_chart(res: dict) -> alt.LayerChart:
    """Time per inversion step over DDIM's in the run's clock, log scale: medians, quartiles, a dashed line at 1."""
    clock = tables.clock_of(res)
    df = pd.DataFrame([{"method": tables.bench_name(r["label"]), "ratio": r[clock]["median"], "q25": r[clock]["q25"],
                        "q75": r[clock]["q75"]} for r in res["benchmarks"]["inversion"]["rows"]])
    x = alt.X("ratio:Q", scale=alt.Scale(type="log"),
              title=f"time per inversion step / DDIM step ({tables.clock_word(res)}, log scale)")
    y = alt.Y("method:N", sort=list(df["method"]), title=None, axis=alt.Axis(labelLimit=240))
    points = alt.Chart(df).mark_point(filled=False, size=70).encode(x=x, y=y, tooltip=["method", "ratio", "q25", "q75"])
    bars = alt.Chart(df).mark_rule(strokeWidth=2.5).encode(x="q25:Q", x2="q75:Q", y=y)
    one = alt.Chart(pd.DataFrame({"ratio": [1.0]})).mark_rule(strokeDash=[4, 4]).encode(x="ratio:Q")
    return (one + bars + points).properties(width=420, height=22 * len(df),
                                            title=f"Median and quartiles, {tables.device_name(res)}")


def scaling_chart(res: dict) -> alt.HConcatChart:
    """CPU seconds per translation against pixels and batch size, log-log, per method, power law fits dashed."""
    from spectral_collapse.plotting.palette import method_color

    charts = []
    for sweep, title, key in (("resolution", "pixels per image", "pixels"), ("batch", "batch size", "batch")):
        d = pd.DataFrame([{"method": r["method"], "x": r[key], "cpu_s": r["cpu_s"]["median"]}
                          for r in res["benchmarks"]["scaling"][sweep]])
        x = alt.X("x:Q", scale=alt.Scale(type="log", nice=False, padding=12), axis=alt.Axis(values=d["x"].tolist()),
                  title=title)
        y = alt.Y("cpu_s:Q", scale=alt.Scale(type="log"), title="CPU s per translation")
        base = alt.Chart(d).encode(x=x, y=y, color=method_color(d["method"], title=None))
        fit = base.transform_regression("x", "cpu_s", groupby=["method"], method="pow").mark_line(strokeDash=[3, 3])
        charts.append((base.mark_line(point=True) + fit).properties(width=260, height=200, title=sweep))
    return alt.hconcat(*charts)
