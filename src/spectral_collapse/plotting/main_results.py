"""Charts of the main-results chapter."""
from __future__ import annotations

import pandas as pd

__all__ = ["paper_bars"]


def paper_bars(cmp: pd.DataFrame, order: list, metrics=("s_hf", "s_lf", "s_dc"), width: int = 230, height: int = 200):
    """Our mean beside the paper's for each (method, metric) of ``report.tables.paper_comparison``, one panel per
    metric."""
    import altair as alt

    long = cmp.melt(id_vars=["method", "metric"], value_vars=["ours_mean", "paper_mean"], var_name="source",
                    value_name="value")
    long["source"] = long["source"].str.replace("_mean", "")
    long = long[long.metric.isin(list(metrics))].dropna(subset=["value"])
    return alt.Chart(long).mark_bar().encode(
        x=alt.X("method:N", sort=[str(m) for m in order], title=None), xOffset="source:N",
        y=alt.Y("value:Q", title="score (higher is better)"), color=alt.Color("source:N", title=""),
        tooltip=["method", "metric", "source", alt.Tooltip("value:Q", format=".3f")],
    ).properties(width=width, height=height).facet(column=alt.Column("metric:N", title=None))
