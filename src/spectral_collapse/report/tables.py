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
from ..studies.aggregate import TABLE_METRICS, cell_text, coinciding_methods, per_seed, summary

__all__ = ["TABLE_METRICS", "per_seed", "summary", "format_summary", "paper_comparison", "coincidence_note"]


def format_summary(ds: xr.Dataset, metrics=TABLE_METRICS, digits: int = 3) -> pd.DataFrame:
    """Methods x metrics table of cells (``aggregate.cell_text``: 'mean [95 % interval over test crops]', the failed
    count and n where samples failed), in the dataset's method order."""
    s = summary(ds, metrics)
    failed = s["failed"] if "failed" in s else [0] * len(s)
    n = s["n"] if "n" in s else [None] * len(s)
    lo, hi = (s["lo"], s["hi"]) if "lo" in s else ([None] * len(s), [None] * len(s))
    s["cell"] = [cell_text(m, d, failed=f, n=k, digits=digits, lo=a, hi=b)
                 for m, d, f, k, a, b in zip(s["mean"], s["std"], failed, n, lo, hi)]
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


def coincidence_note(ds: xr.Dataset) -> str:
    """A sentence naming the methods whose translations coincide sample for sample ("" when none): they keep
    their rows in the tables and count once in shares and correlations."""
    same = coinciding_methods(ds)
    if not same:
        return ""
    pairs = ", ".join(f"`{m}` and `{first}`" for m, first in same.items())
    return (f"Identical translations: {pairs} give the same output for every test image (at the settings used they "
            "are the same update), so their rows agree; the claims' shares and correlations count them once.")
