"""Per-seed aggregation of a study's results, as the paper's tables do it (pure computation, no text)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .validity import failed_of

__all__ = ["nan_mean", "TABLE_METRICS", "LEAK_METRICS", "per_seed", "summary", "deterministic_methods", "coinciding_methods",
           "cell_text", "spread_text", "crop_values", "METRIC_NAMES", "failed_label"]

TABLE_METRICS = ("psnr", "s_hf", "s_lf", "s_dc", "s_g")
# the tables of studies that keep their latents: the support leak (metrics.latent.support_leak) beside S_DC
LEAK_METRICS = ("psnr", "s_hf", "s_lf", "s_dc", "support_leak", "s_g")


def nan_mean(values) -> float:
    """``np.nanmean`` as a float, NaN without numpy's empty-slice warning when every value is NaN."""
    x = np.asarray(values, dtype=float)
    return float(np.nanmean(x)) if (~np.isnan(x)).any() else np.nan


def per_seed(ds: xr.Dataset, metrics=TABLE_METRICS) -> pd.DataFrame:
    """Long frame (method, seed, metric, value): per-sample metrics averaged over finite samples. An unknown metric
    raises; a known one these results do not hold is skipped (an error when none is left)."""
    from ..metrics import METRICS

    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    held = [str(v) for v in ds.data_vars if "seed" in ds[v].dims and "method" in ds[v].dims]
    unknown = [m for m in metrics if m not in ds and m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; these "
                         f"results hold: {', '.join(held)}")
    if not any(m in ds for m in metrics):
        raise ValueError(f"none of the metrics {', '.join(metrics)} are in these results; they hold: {', '.join(held)}")
    means = {m: ds[m].mean("sample", skipna=True) if "sample" in ds[m].dims else ds[m] for m in metrics if m in ds}
    return pd.concat([v.to_dataframe(name="value").reset_index()[["method", "seed", "value"]].assign(metric=m)
                      for m, v in means.items()], ignore_index=True)


def deterministic_methods(ds: xr.Dataset) -> set[str]:
    """Methods with some finite per-sample value identical across every seed (translated once and shared)."""
    keys = [m for m in ("psnr", "s_hf", "s_lf") if m in ds and "sample" in ds[m].dims]
    if ds.sizes.get("seed", 0) < 2 or not keys:
        return set()
    values = {str(m): [ds[k].sel({"method": m}).values for k in keys] for m in ds["method"].values}
    return {m for m, v in values.items() if any(np.isfinite(a).any() for a in v)
            and all(np.array_equal(a, a[:1].repeat(a.shape[0], 0), equal_nan=True) for a in v)}


def coinciding_methods(ds: xr.Dataset) -> dict[str, str]:
    """{method: the earlier method whose per-sample PSNR, S_HF and S_LF it repeats in every arm and seed} (e.g.
    Null-Class and DirectInversion at guidance scale 1)."""
    keys = [m for m in ("psnr", "s_hf", "s_lf") if m in ds and "method" in ds[m].dims and "sample" in ds[m].dims]
    if not keys or "method" not in ds.dims:
        return {}
    methods = [str(m) for m in ds["method"].values]
    arrays = {m: [ds[k].sel({"method": m}).values for k in keys] for m in methods}
    out: dict[str, str] = {}
    for i, m in enumerate(methods):
        for first in methods[:i]:
            if first not in out and all(np.array_equal(a, b, equal_nan=True) for a, b in zip(arrays[m], arrays[first])):
                out[m] = first
                break
    return out


def crop_values(ds: xr.Dataset, metric: str, method: str) -> np.ndarray:
    """One value per test crop of ``method`` on ``metric``: the mean over the seeds that translated it, failed samples
    left out. Crops are the ``crop`` variable (seed, sample) where held, else the sample index."""
    v = ds[metric].sel({"method": method})
    failed = failed_of(ds)
    if failed is not None and "method" in failed.dims:
        v = v.where(~failed.sel({"method": method}).astype(bool))
    if "sample" not in v.dims:
        return np.array([], dtype=np.float64)
    if "crop" in ds and "seed" in v.dims:
        frame = pd.DataFrame({"crop": ds["crop"].broadcast_like(v).values.ravel(), "value": v.values.ravel()})
        return frame.groupby("crop")["value"].mean().dropna().to_numpy(dtype=np.float64)
    per_crop = v.mean("seed", skipna=True) if "seed" in v.dims else v
    extra = [d for d in per_crop.dims if d != "sample"]
    if extra:
        per_crop = per_crop.mean(extra, skipna=True)
    out = per_crop.values.astype(np.float64)
    return out[np.isfinite(out)]


def summary(ds: xr.Dataset, metrics=TABLE_METRICS) -> pd.DataFrame:
    """(method, metric) -> mean and std over seeds of the per-seed means, ``n`` (kept), ``failed``, ``deterministic``
    (std NaN) and the bootstrap interval over crops (``lo``, ``hi``, ``crops``)."""
    ps = per_seed(ds, metrics).groupby(["method", "metric"], sort=False)["value"]
    out = ps.agg(mean="mean", std=lambda s: s.std(ddof=1)).reset_index()
    det = deterministic_methods(ds)
    out["deterministic"] = out["method"].isin(det)
    out.loc[out["deterministic"], "std"] = np.nan
    failed = failed_of(ds)
    if failed is not None:
        per_seed_failed = failed.sum("sample")
        total = ds.sizes["sample"] * ds.sizes.get("seed", 1)
        bad = per_seed_failed.sum("seed").to_series() if "seed" in failed.dims else per_seed_failed.to_series()
        # a deterministic method's samples are shared by every seed: count them once
        once = per_seed_failed.isel(seed=0).to_series() if "seed" in failed.dims else bad
        out["failed"] = [int(once[m] if m in det else bad[m]) for m in out["method"]]
        out["n"] = [int((ds.sizes["sample"] if m in det else total) - f) for m, f in zip(out["method"], out["failed"])]
    from ..metrics.intervals import bootstrap_ci

    cis = [bootstrap_ci(crop_values(ds, k, m)) if k in ds and "sample" in ds[k].dims else None
           for m, k in zip(out["method"], out["metric"])]
    out["lo"] = [c.lo if c else np.nan for c in cis]
    out["hi"] = [c.hi if c else np.nan for c in cis]
    out["crops"] = [c.n if c else 0 for c in cis]
    return out


def spread_text(spread: float, digits: int = 3) -> str:
    """Words for a spread too small for ``digits`` decimals, none included: "spread < 0.001"; "" otherwise."""
    unit = 10.0 ** -digits
    return f"spread < {unit:.{digits}f}" if abs(spread) < unit else ""


def cell_text(mean: float, std: float, *, failed: int = 0, n: int | None = None, digits: int = 3,
              lo: float | None = None, hi: float | None = None) -> str:
    """One table cell: "mean [lo, hi]" when given, else "mean ± std" or the mean; "n/a" when no sample is kept,
    "(n = kept, F failed)" when samples failed, a spread the digits cannot show in words (``spread_text``)."""
    if not np.isfinite(mean):
        return f"n/a ({failed} failed)" if failed else "n/a"
    head = f"{mean:.{digits}f}"
    if lo is not None and hi is not None and np.isfinite(lo) and np.isfinite(hi):
        a, b = f"{lo:.{digits}f}", f"{hi:.{digits}f}"
        words = spread_text(hi - lo, digits) if a == b else ""
        text = f"{head} ({words})" if words else f"{head} [{a}, {b}]"
    elif np.isfinite(std):
        sd = f"{std:.{digits}f}"
        words = spread_text(std, digits) if float(sd) == 0 else ""
        text = f"{head} ({words})" if words else f"{head} ± {sd}"
    else:
        text = head
    if failed:
        text += f" (n = {n}, {failed} failed)" if n is not None else f" ({failed} failed)"
    return text


METRIC_NAMES = {"psnr": "PSNR", "s_hf": "S_HF", "delta_log_e_hf": "Δlog E_HF", "s_lf": "S_LF", "s_lf_gt": "S_LF against the ground truth",
                "s_dc": "S_DC", "support_leak": "support leak", "s_g": "S_G", "kid_wav": "KID_wav", "delta_log_e_hf_luma": "Δlog E_Y",
                "delta_log_e_hf_chroma": "Δlog E_CbCr", "delta_log_e_hf_luma_ref": "luma detail (vs real crops)",
                "delta_log_e_hf_chroma_ref": "chroma detail (vs real crops)"}


def failed_label(method: str, failed: int, n: int | None) -> str:
    """A method's row label: the method, and where samples failed how many of how many ("bdia (17 of 48 failed)")."""
    if not failed:
        return str(method)
    return f"{method} ({failed} of {n + failed} failed)" if n is not None else f"{method} ({failed} failed)"
