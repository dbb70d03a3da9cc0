"""Charts of the main-results chapter."""
from __future__ import annotations

import pandas as pd

__all__ = ["paper_bars", "SOURCE_COLORS"]

# ours mid grey (the black interval stays visible on it), the paper's light grey: sources, not methods
SOURCE_COLORS = {"ours": "#7A7A7A", "paper": "#CFCFCF"}


def paper_bars(cmp: pd.DataFrame, order: list, metrics=("s_hf", "s_lf", "s_dc"), width: int = 200, height: int = 200):
    """Our mean beside the paper's for each (method, metric) of ``report.tables.paper_comparison``, one panel per
    metric. Our bars carry the tables' 95 % interval over test crops (``lo``, ``hi`` of ``paper_comparison``, which
    reads them from ``studies.aggregate.summary``); the paper's bars are its reported means."""
    import altair as alt

    long = cmp.melt(id_vars=["method", "metric"], value_vars=["ours_mean", "paper_mean"], var_name="source",
                    value_name="value")
    long["source"] = long["source"].str.replace("_mean", "")
    long = long[long.metric.isin(list(metrics))].dropna(subset=["value"])
    ci = cmp[["method", "metric", "lo", "hi"]] if {"lo", "hi"} <= set(cmp.columns) else cmp[["method", "metric"]]
    long = long.merge(ci.assign(source="ours"), on=["method", "metric", "source"], how="left")
    sort = [str(m) for m in order]
    x = alt.X("method:N", sort=sort, title=None, axis=alt.Axis(labelAngle=-45, labelAlign="right"))
    colours = alt.Scale(domain=list(SOURCE_COLORS), range=list(SOURCE_COLORS.values()))
    bars = alt.Chart().mark_bar().encode(
        x=x, xOffset=alt.XOffset("source:N", sort=list(SOURCE_COLORS)),
        y=alt.Y("value:Q", title="score (higher is better)"),
        color=alt.Color("source:N", title=None, scale=colours, sort=list(SOURCE_COLORS)),
        tooltip=["method", "metric", "source", alt.Tooltip("value:Q", format=".3f"),
                 alt.Tooltip("lo:Q", format=".3f", title="95 % interval from"),
                 alt.Tooltip("hi:Q", format=".3f", title="95 % interval to")])
    layers = [bars]
    if "lo" in long:
        layers.append(alt.Chart().mark_errorbar(ticks={"size": 5}, color="black", thickness=1.2).encode(
            x=x, xOffset=alt.XOffset("source:N", sort=list(SOURCE_COLORS)),
            y=alt.Y("lo:Q", title="score (higher is better)"), y2="hi:Q").transform_filter(
            "isValid(datum.lo) && isValid(datum.hi)"))
    long = long.astype(object).where(long.notna(), None)   # a missing interval is JSON null, not NaN
    return alt.layer(*layers, data=long).properties(width=width, height=height).facet(
        column=alt.Column("metric:N", title=None, sort=list(metrics))).properties(
        title=alt.TitleParams("Ours beside the paper", subtitle=[
            "Ours: mean over test crops with its 95 % interval (black bars); the paper: its reported mean."],
            anchor="start"))
