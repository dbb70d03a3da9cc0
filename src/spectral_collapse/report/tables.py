"""Tables for the book, computed from stored results (never typed by hand).

Aggregation (``per_seed``, ``summary``: mean over the test samples of one seed, then mean and std with ddof = 1
over seeds, non-finite samples excluded and counted) is in ``spectral_collapse.studies.aggregate`` and re-exported
here. Comparison with the paper is a join on (method, metric).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..reference import paper_counterpart, paper_rows
from ..studies.aggregate import TABLE_METRICS, per_seed, summary

__all__ = ["TABLE_METRICS", "per_seed", "summary", "format_summary", "paper_comparison"]


def format_summary(ds: xr.Dataset, metrics=TABLE_METRICS, digits: int = 3) -> pd.DataFrame:
    """Methods x metrics table of 'mean ± std' strings, in the dataset's method order."""
    s = summary(ds, metrics)
    s["cell"] = [f"{m:.{digits}f} ± {d:.{digits}f}" if np.isfinite(m) else "n/a" for m, d in zip(s["mean"], s["std"])]
    t = s.pivot(index="method", columns="metric", values="cell")
    return t.reindex(index=[m for m in ds["method"].values if m in t.index], columns=[m for m in metrics if m in t.columns])


def paper_comparison(ds: xr.Dataset, dataset: str | None = None, metrics=TABLE_METRICS, scale: str | None = None) -> pd.DataFrame:
    """Our (mean, std) beside the paper's for each (method, metric), by an inner join on those keys."""
    dataset = dataset or ds.attrs.get("dataset", "")
    ours = summary(ds, metrics).rename(columns={"mean": "ours_mean", "std": "ours_std"})
    paper = paper_rows(dataset, scale=scale).rename(columns={"mean": "paper_mean", "std": "paper_std"})
    merged = ours.merge(paper[["method", "metric", "paper_mean", "paper_std", "table"]], on=["method", "metric"], how="left")
    pds, sc = paper_counterpart(dataset, scale)
    merged["paper_setting"] = f"{pds} {sc}".strip() or "none"
    return merged
