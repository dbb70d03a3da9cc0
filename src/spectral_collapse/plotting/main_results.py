"""Charts of the main-results chapter."""
from __future__ import annotations

import altair as alt
import pandas as pd

from ..framework.aggregate import METRIC_NAMES, failed_label
from ..reference.method_names import method_name
from ..tables.main_results import failed_counts
from .charts import interval_rules, wrap_lines
from .grids import image_grid

__all__ = ["paper_bars", "SOURCE_COLORS", "READING", "reading_lines", "translation_panel", "PANEL_METHODS",
           "PANEL_CROPS", "PANEL_ZOOM", "translation_rows"]

# ours mid grey, the paper's light grey: sources, not methods
SOURCE_COLORS = {"ours": "#7A7A7A", "paper": "#CFCFCF"}

# What a higher value of a score means, as the glossary defines the score: "better" only where it is
READING = {
    "s_hf": (True, "texture closer to real images'"),
    "s_dc": (True, "latents closer to white noise"),
    "psnr": (True, "closer to the ground truth pixel by pixel"),
    "s_lf": (False, "more of the input's structure kept, not a better translation (the untranslated input scores "
                    "highest)"),
}


def reading_lines(metrics) -> list[str]:
    """Subtitle lines saying which way each of ``metrics`` reads: one for all where higher is better, one per other."""
    better = [METRIC_NAMES.get(m, m) for m in metrics if m in READING and READING[m][0]]
    lines = [f"{', '.join(better)}: higher is better."] if better else []
    lines += [f"{METRIC_NAMES.get(m, m)}: higher is {READING[m][1]}." for m in metrics if m in READING
              and not READING[m][0]]
    return lines


def paper_bars(cmp: pd.DataFrame, order: list, metrics=("s_hf", "s_lf", "s_dc"), width: int = 170,
               height: int | None = None):
    """Our mean and interval beside the paper's per method, one panel per metric, failures named."""
    long = cmp.melt(id_vars=["method", "metric"], value_vars=["ours_mean", "paper_mean"], var_name="source",
                    value_name="value")
    long["source"] = long["source"].str.replace("_mean", "")
    long = long[long.metric.isin(list(metrics))].dropna(subset=["value"])
    ci = cmp[["method", "metric", "lo", "hi"]] if {"lo", "hi"} <= set(cmp.columns) else cmp[["method", "metric"]]
    long = long.merge(ci.assign(source="ours"), on=["method", "metric", "source"], how="left")
    names = [METRIC_NAMES.get(m, m) for m in metrics]
    long["metric"] = long["metric"].map(lambda m: METRIC_NAMES.get(m, m))
    failed = failed_counts(None, cmp)
    shown = {m: failed_label(method_name(m), f, n) for m, (f, n) in failed.items()}   # "BDIA (17 of 48 failed)"
    lines = ["Ours: mean over test crops with its 95 % interval (black rules); the paper: its reported mean.",
             *(["Failed samples (non-finite or beyond the validity bounds) are left out of our means."] * bool(failed)),
             *reading_lines([m for m in metrics if m in set(cmp["metric"])])]
    long["method"] = long["method"].map(lambda m: shown.get(str(m), m))
    sort = [shown.get(str(m), str(m)) for m in order]
    height = height or 18 * max(1, long["method"].nunique())
    y = alt.Y("method:N", sort=sort, title=None, axis=alt.Axis(labelLimit=0))
    colours = alt.Scale(domain=list(SOURCE_COLORS), range=list(SOURCE_COLORS.values()))
    bars = alt.Chart().mark_bar().encode(
        y=y, yOffset=alt.YOffset("source:N", sort=list(SOURCE_COLORS)),
        x=alt.X("value:Q", title="score"),
        color=alt.Color("source:N", title="scores of", scale=colours, sort=list(SOURCE_COLORS)))
    layers = [bars]
    if "lo" in long:
        layers += interval_rules(alt.Chart(), 5, "isValid(datum.lo) && isValid(datum.hi)", y=y,
                                 yOffset=alt.YOffset("source:N", sort=list(SOURCE_COLORS)),
                                 x=alt.X("lo:Q", title="score"), x2="hi:Q")
    return alt.layer(*layers, data=long).properties(width=width, height=height).facet(
        column=alt.Column("metric:N", title=None, sort=names, header=alt.Header(labelFontSize=12))).properties(
        title=alt.TitleParams("Ours beside the paper", anchor="start",
                              subtitle=[w for line in lines for w in wrap_lines(line, len(names) * (width + 20))]))


PANEL_METHODS = ("ddim", "ovg", "taba", "ovg_taba")
PANEL_CROPS = 4      # the first four test crops of the first seed: the same crops in every translation chapter
PANEL_ZOOM = 6       # nearest-neighbour enlargement, so single pixels and the input's block grid stay visible


def translation_rows(ds, methods, n: int) -> tuple[dict, dict]:
    """An image grid's rows of the first ``n`` crops (input, truth, each method's outputs) and {method: failed}."""
    rows = {"input": ds["source_images"].values[:n], "ground truth": ds["truth_images"].values[:n]}
    failed = {}
    for m in methods:
        if m in ds["method"].values:
            rows[m] = ds["images"].sel({"method": m}).isel(seed=0).values[:n]
            if "failed" in ds:
                failed[m] = ds["failed"].sel({"method": m}).isel(seed=0).values[:n]
    return rows, failed


def translation_panel(ds, methods=PANEL_METHODS, n: int = PANEL_CROPS, zoom: int = PANEL_ZOOM):
    """Input, truth and each method's output on the first ``n`` crops of the first seed, ``zoom`` times larger."""
    n = min(n, ds.sizes["image"])
    rows, failed = translation_rows(ds, methods, n)
    return image_grid(rows, cell=zoom * int(ds.sizes["x"]), failed=failed,
                      titles=[f"crop {int(c)}" for c in ds["crop"].isel(seed=0).values[:n]])
