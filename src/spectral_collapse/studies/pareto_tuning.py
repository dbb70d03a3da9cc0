"""Tuning against testing: how each chosen OVG point and each baseline scores on the Pareto sweep's validation crops
and on the main results' test crops, and which OVG variant validation alone would pick."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from ..framework.validity import failed_of

__all__ = ["GAP_METRICS", "validation_scores", "scores_on_test", "validation_test_gap", "best_on_validation"]

GAP_METRICS = ("kid_wav", "delta_log_e_hf_luma", "delta_log_e_hf_chroma", "s_lf", "s_hf", "delta_log_e_hf")
SET_SCORES = ("kid_wav",)   # one number per set of crops: the gap has no interval over crops


def validation_scores(pareto: xr.Dataset, label: str, metric: str) -> np.ndarray:
    """Per-crop scores of ``label`` on the sweep's validation crops (an OVG variant at its chosen point, or a
    baseline), failed ones left out (empty if absent)."""
    if "base" in pareto.dims and label in pareto["base"].values and metric in pareto:
        chosen = pareto["chosen"].sel(base=label)
        if not bool(chosen.any()):
            return np.array([])
        at = chosen.where(chosen, drop=True)
        sel = {"base": label, "eta_hf": at["eta_hf"].values[0], "eta_lf": at["eta_lf"].values[0]}
        return _kept(pareto[metric].sel(sel), failed_of(pareto).sel(sel), metric)
    if "method" in pareto.dims and label in pareto["method"].values and f"baseline_{metric}" in pareto:
        at = {"method": label}
        return _kept(pareto[f"baseline_{metric}"].sel(at), failed_of(pareto, "baseline_").sel(at), metric)
    return np.array([])


def scores_on_test(main: xr.Dataset, label: str, metric: str) -> np.ndarray:
    """Per-crop scores of ``label`` on the main results' test crops (every seed), failed crops left out."""
    if label not in main["method"].values or metric not in main:
        return np.array([])
    failed, at = failed_of(main), {"method": label}
    return _kept(main[metric].sel(at), None if failed is None else failed.sel(at), metric)


def _kept(values: xr.DataArray, failed: xr.DataArray | None, metric: str) -> np.ndarray:
    """The finite ``values`` of samples not ``failed``, flattened; a set score (``SET_SCORES``) has no failed mask."""
    v = np.asarray(values.values, float).ravel()
    bad = np.zeros_like(v, bool) if failed is None or metric in SET_SCORES else np.asarray(failed.values, bool).ravel()
    return v[~bad & np.isfinite(v)]


def validation_test_gap(pareto: xr.Dataset, main: xr.Dataset, metrics=GAP_METRICS, seed: int = 0) -> pd.DataFrame:
    """One row per (label, metric): validation and test means and the gap test − validation with its 95 % bootstrap
    interval; a variant whose main results ran other step sizes is left out."""
    choices = json.loads(pareto.attrs.get("choices", "{}"))
    ran = json.loads(main.attrs.get("ovg", "{}") or "{}").get("per_base", {})
    bases = [str(b) for b in pareto["base"].values] if "base" in pareto.dims else []
    baselines = [str(m) for m in pareto["method"].values] if "method" in pareto.dims else []
    rows = []
    for label in [*bases, *baselines]:
        c = choices.get(label) if label in bases else None
        if label in bases and (c is None or any(ran.get(label, {}).get(k) != c[k] for k in ("eta_hf", "eta_lf"))):
            continue
        step = f"eta_HF {c['eta_hf']:.0e}, eta_LF {c['eta_lf']:.0e}" if c else ""
        for metric in metrics:
            val, test = validation_scores(pareto, label, metric), scores_on_test(main, label, metric)
            if not len(val) or not len(test):
                continue
            gap, lo, hi = float(test.mean() - val.mean()), np.nan, np.nan
            if metric not in SET_SCORES and len(test) > 1 and len(val) > 1:   # 95 % bootstrap, the sets apart
                res = stats.bootstrap((test, val), lambda a, b, axis=-1: a.mean(axis) - b.mean(axis),
                                      n_resamples=2000, method="percentile", random_state=seed, vectorized=True)
                lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
            rows.append({"method": label, "metric": metric, "step sizes": step, "validation": float(val.mean()),
                         "test": float(test.mean()), "gap": gap, "gap_lo": lo, "gap_hi": hi,
                         "n_val": len(val), "n_test": len(test)})
    return pd.DataFrame(rows)


def best_on_validation(pareto: xr.Dataset, labels, metric: str, higher: bool = True) -> str | None:
    """Of ``labels``, the OVG variant with the best mean validation ``metric`` at its chosen point, or None."""
    means = {m: float(v.mean()) for m in labels if len(v := validation_scores(pareto, m, metric))}
    return (max if higher else min)(means, key=means.get) if means else None
