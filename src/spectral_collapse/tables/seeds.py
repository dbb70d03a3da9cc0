"""The seed_spread chapter's tables: per run, the spread between runs, claims, outliers and models."""
from __future__ import annotations

import json
import os
import re

import numpy as np
import pandas as pd
import xarray as xr

from ..metrics.intervals import bootstrap_ci
from .ablations import arm_names, format_ablation, trained_models
from ..framework.aggregate import TABLE_METRICS, crop_values
from ..verdicts.seeds import two_level_ci
from ..verdicts.words import UNTESTABLE
from ..claims.paper import chapter_verdicts
from ..claims.evidence import seed_arms

__all__ = ["SPREAD_METRICS", "SET_METRICS", "OUTLIER_FACTOR", "two_level_ci", "seed_arms", "spread_table",
           "per_run_table", "claims_by_seed", "models_table", "model_folders", "outlier_runs", "seed_spread_answers"]

SPREAD_METRICS = tuple(m for m in TABLE_METRICS if m != "s_g")  # per-crop metrics (S_G is one number per set)
SET_METRICS = ("s_g",)          # one number per set of latents (a translation seed's test crops), no value per crop
OUTLIER_FACTOR = 3.0            # a run this many times the typical spread between runs from the others is an outlier


def spread_table(ds: xr.Dataset, metrics=SPREAD_METRICS + SET_METRICS, digits: int = 3) -> pd.DataFrame:
    """Per (method, metric): each run's mean, range, std, median half-width of a run's 95 % interval over crops,
    range / half-width and the ``two_level_ci`` (NaN for set-level S_G)."""
    arms = seed_arms(ds)
    rows = []
    for method in [str(m) for m in ds["method"].values]:
        for metric in metrics:
            if metric not in ds:
                continue
            means, halves, groups = {}, [], []
            for k, sub in arms.items():
                if metric in SET_METRICS:
                    means[k] = float(sub[metric].sel({"method": method}).mean(skipna=True))
                    continue
                groups.append(crop_values(sub, metric, method))
                ci = bootstrap_ci(groups[-1])
                means[k] = ci.mean
                halves.append((ci.hi - ci.lo) / 2)
            vals = np.array(list(means.values()), dtype=np.float64)
            if not np.isfinite(vals).any():
                continue
            half = float(np.nanmedian(halves)) if halves else np.nan
            rng = float(np.nanmax(vals) - np.nanmin(vals))
            lo, hi = two_level_ci(groups)
            rows.append({"method": method, "metric": metric,
                         **{f"seed {k}": round(float(v), digits) for k, v in means.items()},
                         "range": round(rng, digits), "std": round(float(np.nanstd(vals, ddof=1)), digits),
                         "half-width": round(half, digits) if np.isfinite(half) else np.nan,
                         "ratio": round(rng / half, 2) if np.isfinite(half) and half > 0 else np.nan,
                         "pooled": f"[{lo:.{digits}f}, {hi:.{digits}f}]" if np.isfinite([lo, hi]).all() else np.nan})
    return pd.DataFrame(rows)


def per_run_table(ds: xr.Dataset) -> pd.DataFrame:
    """``format_ablation``'s cells with the training seed and the method as leading columns."""
    return format_ablation(ds).rename_axis(index={"train_seed": "training seed"}, columns=None).reset_index()


def claims_by_seed(ds: xr.Dataset) -> pd.DataFrame:
    """One row per claim of the main results: its verdict on each run ("seed k") and whether they agree (``same``)."""
    def words(sub):
        t = chapter_verdicts(sub).set_index("title")
        return pd.Series([v.removesuffix(f" {s}") for v, s in zip(t["verdict"], t["scope"])], index=t.index)

    t = pd.DataFrame({f"seed {k}": words(sub) for k, sub in sorted(seed_arms(ds).items())})
    same = t.apply(lambda r: "—" if set(r) == {UNTESTABLE} else "yes" if r.nunique() == 1 else "no", axis=1)
    return t.assign(same=same).rename_axis("claim").reset_index()


def models_table(ds: xr.Dataset) -> pd.DataFrame:
    """``trained_models`` indexed by training seed and model."""
    t = trained_models(ds)
    if t.empty:
        return t
    names = arm_names(ds) if "arms" in ds.attrs else {}
    seeds = {names.get(tag, tag): int(m.group(1)) if (m := re.search(r"(\d+)$", tag)) else tag
             for tag in json.loads(ds.attrs["per_arm"])}   # tags "train_seed<k>"
    t.insert(0, "training seed", t.pop("arm").map(lambda a: seeds.get(a, a)))
    return t.set_index(["training seed", "model"])


def model_folders(ds: xr.Dataset) -> dict[str, str]:
    """{checkpoint name: its folder} of every model behind the results."""
    return {os.path.basename(str(path)): str(path) for a in json.loads(ds.attrs["per_arm"]).values()
            for path in json.loads(a.get("models") or "{}").values()}


def outlier_runs(ds: xr.Dataset, metrics=SPREAD_METRICS, factor: float = OUTLIER_FACTOR) -> pd.DataFrame:
    """(method, metric) pairs whose farthest run (of at least three) lies outside every other run's 95 % interval and
    ``factor`` x the metric's typical spread (median range over methods) from the others' mean."""
    arms = seed_arms(ds)
    cols = ["method", "metric", "training seed", "mean", "other runs", "gap", "typical spread"]
    if len(arms) < 3:
        return pd.DataFrame(columns=cols)
    rows = []
    for metric in [m for m in metrics if m in ds]:
        cis = {str(method): {k: bootstrap_ci(crop_values(sub, metric, str(method))) for k, sub in arms.items()}
               for method in ds["method"].values}
        ranges = [np.ptp([c.mean for c in by.values()]) for by in cis.values()
                  if np.isfinite([c.mean for c in by.values()]).all()]
        typical = float(np.median(ranges)) if ranges else np.nan
        if not np.isfinite(typical) or typical <= 0:
            continue
        for method, by in cis.items():
            means = {k: c.mean for k, c in by.items()}
            if not np.isfinite(list(means.values())).all():
                continue
            gaps = {k: means[k] - np.mean([means[o] for o in means if o != k]) for k in means}
            k = max(gaps, key=lambda j: abs(gaps[j]))
            outside = all(not (by[o].lo <= means[k] <= by[o].hi) for o in by if o != k)
            if outside and abs(gaps[k]) >= factor * typical:
                rows.append({"method": method, "metric": metric, "training seed": k, "mean": means[k],
                             "other runs": [means[o] for o in means if o != k], "gap": gaps[k],
                             "typical spread": typical})
    return pd.DataFrame(rows, columns=cols)


def seed_spread_answers(ds: xr.Dataset, spread: pd.DataFrame | None = None, claims: pd.DataFrame | None = None,
                        outliers: pd.DataFrame | None = None) -> dict[str, str]:
    """The values the seed_spread chapter quotes, by name (``spread``, ``claims``, ``outliers``: if computed)."""
    spread = spread_table(ds) if spread is None else spread
    claims = claims_by_seed(ds) if claims is None else claims
    outliers = outlier_runs(ds) if outliers is None else outliers
    judged = claims[claims["same"] != "—"]
    ratios = spread.dropna(subset=["ratio"])
    top = ratios.sort_values("ratio").iloc[-1] if len(ratios) else None
    return {"n_runs": str(ds.sizes["train_seed"]), "n_claims": str(len(judged)),
            "n_same": str(int((judged["same"] == "yes").sum())),
            "claims_differ": "; ".join(judged.loc[judged["same"] == "no", "claim"]) or "none",
            "n_ratio_1": f"{int((ratios['ratio'] >= 1).sum())} of {len(ratios)}",
            "top_ratio": f"{top['ratio']:.2f}" if top is not None else "n/a",
            "top_ratio_at": f"{top['metric']} of {top['method']}" if top is not None else "n/a",
            "n_outliers": str(len(outliers)), "outlier_factor": f"{OUTLIER_FACTOR:g}"}
