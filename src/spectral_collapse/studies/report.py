"""Tables and verdicts for the book, computed from stored results (never typed by hand).

Note: ``method`` is also a keyword of xarray's ``.sel`` (nearest / pad), so ``ds.sel(method="ddim")`` does NOT
select; always write ``ds.sel({"method": "ddim"})``.

Aggregation follows the paper's tables: a per-sample metric is averaged over the test samples of one seed,
then the mean and std (ddof = 1) are taken over seeds. Non-finite samples (NaN during inversion) are excluded
and counted, never averaged in. Comparison with the paper is a join on (method, metric).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..reference import paper_counterpart, paper_rows

__all__ = ["TABLE_METRICS", "per_seed", "summary", "format_summary", "paper_comparison", "collapse_verdict"]

TABLE_METRICS = ("psnr", "s_hf", "s_lf", "s_dc", "s_g")


def per_seed(ds: xr.Dataset, metrics=TABLE_METRICS) -> pd.DataFrame:
    """Long frame (method, seed, metric, value): per-sample metrics averaged over finite samples.

    A metric name that is neither a variable of ``ds`` nor a known metric (metrics.METRICS) raises, listing the
    valid ones; a known metric these results do not hold is skipped (an error when none is left).
    """
    from ..metrics import METRICS

    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    held = [str(v) for v in ds.data_vars if "seed" in ds[v].dims and "method" in ds[v].dims]
    unknown = [m for m in metrics if m not in ds and m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(map(repr, unknown))}; these results hold: {', '.join(held)}")
    if not any(m in ds for m in metrics):
        raise ValueError(f"none of the metrics {', '.join(metrics)} are in these results; they hold: {', '.join(held)}")
    rows = []
    for m in metrics:
        if m not in ds:
            continue
        v = ds[m]
        v = v.mean("sample", skipna=True) if "sample" in v.dims else v
        rows.append(v.to_dataframe(name="value").reset_index()[["method", "seed", "value"]].assign(metric=m))
    return pd.concat(rows, ignore_index=True)


def summary(ds: xr.Dataset, metrics=TABLE_METRICS) -> pd.DataFrame:
    """(method, metric) -> mean and std over seeds, plus the number of non-finite samples."""
    ps = per_seed(ds, metrics)
    out = ps.groupby(["method", "metric"], sort=False)["value"].agg(mean="mean", std=lambda s: s.std(ddof=1)).reset_index()
    if "finite" in ds:
        bad = (~ds["finite"]).sum(["seed", "sample"]).to_series()
        out["nonfinite"] = out["method"].map(bad).fillna(0).astype(int)
    return out


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


def _mean(ds, method, metric):
    v = ds[metric].sel({"method": method})
    return float(v.mean(skipna=True))


def collapse_verdict(ds: xr.Dataset) -> str:
    """One paragraph: does standard DDIM inversion show spectral collapse here (S_DC, S_HF below TABA / EDM)?"""
    methods = list(ds["method"].values)
    if "ddim" not in methods:
        return "DDIM was not run, so no verdict on spectral collapse."
    refs = [m for m in ("taba", "edm") if m in methods]
    parts, holds = [], []
    for metric in ("s_dc", "s_hf"):
        d = _mean(ds, "ddim", metric)
        cmp = {r: _mean(ds, r, metric) for r in refs}
        lower = all(d < v for v in cmp.values())
        holds.append(lower)
        parts.append(f"{metric.upper()} of DDIM is {d:.3f} against " + ", ".join(f"{r.upper()} {v:.3f}" for r, v in cmp.items())
                     + (" (lower: consistent with collapse)" if lower else " (not lower than all of them)"))
    g = ", ".join(f"{m} {float(ds['s_g'].sel({'method': m}).mean()):.3f}" for m in methods if "s_g" in ds)
    verdict = "shows" if all(holds) else ("partly shows" if any(holds) else "does not show")
    return (f"On this data, standard DDIM inversion {verdict} spectral collapse: " + "; ".join(parts)
            + f". S_G per method: {g}.")
