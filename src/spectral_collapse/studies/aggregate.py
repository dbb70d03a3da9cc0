"""Per-seed aggregation of a study's results, as the paper's tables do it (pure computation, no text).

Note: ``method`` is also a keyword of xarray's ``.sel`` (nearest / pad), so ``ds.sel(method="ddim")`` does NOT
select; always write ``ds.sel({"method": "ddim"})``.

Aggregation follows the paper's tables: a per-sample metric is averaged over the test samples of one seed,
then the mean and std (ddof = 1) are taken over seeds. Non-finite samples (NaN during inversion) are excluded
and counted, never averaged in. The book's tables built on these are in ``spectral_collapse.report.tables``.
"""
from __future__ import annotations

import pandas as pd
import xarray as xr

__all__ = ["TABLE_METRICS", "per_seed", "summary"]

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
