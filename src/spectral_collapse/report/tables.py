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

__all__ = ["TABLE_METRICS", "per_seed", "summary", "format_summary", "paper_comparison", "coincidence_note",
           "control_rows", "copy_beats_every_method"]


HIGHER_IS_BETTER = ("psnr", "s_hf", "s_lf", "s_lf_gt", "s_dc", "s_g")
# The book's translation tables: the paper's metrics with the signed texture error beside S_HF (log E_HF - mu_HF:
# below 0 too smooth, above 0 too noisy; S_HF alone cannot tell the two apart).
DISPLAY_METRICS = ("psnr", "s_hf", "delta_log_e_hf", "s_lf", "s_dc", "s_g")


def control_rows(ds: xr.Dataset, metrics=TABLE_METRICS, digits: int = 3) -> pd.DataFrame:
    """The controls' rows (``copy``, ``ground_truth``: studies.translation.control_scores) in the table's format;
    empty when the results hold none. Latent metrics (S_DC, S_G) have no control: '—'."""
    from ..metrics.intervals import bootstrap_ci

    if "control" not in ds.dims:
        return pd.DataFrame()
    rows = {}
    for c in ds["control"].values.tolist():
        row = {}
        for m in metrics:
            if f"control_{m}" not in ds:
                row[m] = "—"
                continue
            ci = bootstrap_ci(ds[f"control_{m}"].sel(control=c).values)
            row[m] = cell_text(ci.mean, np.nan, lo=ci.lo, hi=ci.hi, digits=digits) if ci.n else "—"
        rows[f"{c.replace('_', ' ')} (control)"] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def copy_beats_every_method(ds: xr.Dataset, metrics=TABLE_METRICS) -> list[str]:
    """Metrics on which the ``copy`` control (the input, untranslated) scores better than every method: such a metric
    rewards doing nothing, and the page says so."""
    if "control" not in ds.dims:
        return []
    s = summary(ds, [m for m in metrics if m in ds])
    out = []
    for m in metrics:
        if f"control_{m}" not in ds or m not in HIGHER_IS_BETTER:
            continue
        copy = float(np.nanmean(ds[f"control_{m}"].sel(control="copy").values))
        best = s.loc[s["metric"] == m, "mean"].max()
        if np.isfinite(copy) and np.isfinite(best) and copy > best:
            out.append(m)
    return out


def format_summary(ds: xr.Dataset, metrics=DISPLAY_METRICS, digits: int = 3, controls: bool = True) -> pd.DataFrame:
    """Methods x metrics table of cells (``aggregate.cell_text``: 'mean [95 % interval over test crops]', the failed
    count and n where samples failed), in the dataset's method order, then the controls' rows (``control_rows``)."""
    metrics = [m for m in metrics if m in ds] or list(metrics)
    s = summary(ds, metrics)
    failed = s["failed"] if "failed" in s else [0] * len(s)
    n = s["n"] if "n" in s else [None] * len(s)
    lo, hi = (s["lo"], s["hi"]) if "lo" in s else ([None] * len(s), [None] * len(s))
    s["cell"] = [cell_text(m, d, failed=f, n=k, digits=digits, lo=a, hi=b)
                 for m, d, f, k, a, b in zip(s["mean"], s["std"], failed, n, lo, hi)]
    t = s.pivot(index="method", columns="metric", values="cell")
    t = t.reindex(index=[m for m in ds["method"].values if m in t.index], columns=[m for m in metrics if m in t.columns])
    extra = control_rows(ds, list(t.columns), digits) if controls else pd.DataFrame()
    return pd.concat([t, extra]) if len(extra) else t


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
