"""The evidence behind the PCA-collapse claim as a chart: each series' k90 over the subsamples the claims page reads
(their mean and the middle 95 % of the draws), beside the k90 of the whole set that the table gives."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import xarray as xr

from .charts import wrap_lines
from .latents import series_name

__all__ = ["k90_draws_frame", "k90_draws_chart"]


def k90_draws_frame(ds: xr.Dataset) -> pd.DataFrame:
    """Per series: the draws' mean k90, their 2.5 / 97.5 percentiles (lo, hi) and the whole set's k90; empty without
    draws."""
    if "k90_draws" not in ds:
        return pd.DataFrame(columns=["series", "mean", "lo", "hi", "k90"])
    draws = ds["k90_draws"].values.astype(float)
    lo, hi = np.percentile(draws, [2.5, 97.5], axis=1)
    return pd.DataFrame({"series": [series_name(s) for s in ds["series"].values], "mean": draws.mean(1),
                         "lo": lo, "hi": hi, "k90": ds["k90"].values.astype(float)})


def k90_draws_chart(ds: xr.Dataset, width: int = 420):
    """Points: each series' mean k90 over subsamples; rules: the middle 95 % of draws; rings: the whole set's k90. None
    without draws or when a subsample is the whole set."""
    frame = k90_draws_frame(ds)
    m, n = int(ds.attrs.get("k90_subsample", 0) or 0), int(ds["n"].values.min()) if "n" in ds else 0
    if not len(frame) or not m or m >= n:
        return None
    order = list(frame["series"])
    y = alt.Y("series:N", sort=order, title=None)
    span = [float(min(frame["lo"].min(), frame["k90"].min())), float(max(frame["hi"].max(), frame["k90"].max()))]
    pad = max(1.0, 0.06 * (span[1] - span[0]))
    scale = alt.Scale(domain=[span[0] - pad, span[1] + pad], nice=False, zero=False)
    title = "k90 (components for 90 % of the variance)"
    x = alt.X("mean:Q", title=title, scale=scale)
    rules = alt.Chart(frame).mark_rule(strokeWidth=3, color="#333333").encode(
        x=alt.X("lo:Q", scale=scale, title=title), x2="hi:Q", y=y)
    points = alt.Chart(frame).mark_point(filled=True, size=36, color="#333333").encode(
        x=x, y=y)
    rings = alt.Chart(frame).mark_point(filled=False, size=140, shape="circle", color="#b8860b", strokeWidth=2).encode(
        x=alt.X("k90:Q", scale=scale, title=title), y=y)
    draws = ds.sizes.get("draw", 0)
    sub = wrap_lines(f"Points: the mean k90 over {draws} subsamples of {m} of the {n} latents of each series (the "
                     f"draws the claims page reads); rules: the middle 95 % of those draws (hidden under its point "
                     f"where the draws agree within a component); gold rings: the k90 of all {n} latents (the "
                     f"table's), higher because more latents need more components.", width)
    return alt.layer(rules, points, rings).properties(width=width, height=28 * len(frame), title=alt.TitleParams(
        "k90 over subsamples of the latents", subtitle=sub, anchor="start"))
