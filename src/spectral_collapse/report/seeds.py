"""Tables and verdict of the seed_spread study: the main results' methods with the main eps and EDM models trained
from three seeds (``studies.models.SEED_REPLICATES``).

Two readings. ```spread_table``: for each method and metric, the mean over test crops under each training run, the
spread of those means between runs (their range and standard deviation), the half-width of one run's 95 % interval
over crops and an interval over runs and crops together (``two_level_ci``: runs resampled, then crops within each): when the spread between runs is as wide as that interval, an interval over crops of one
model understates the uncertainty of the study's numbers. ``claims_by_seed``: every claim of the claims page that
the main results answer, judged on each training run's results alone by the page's rule (``studies.claims``), so a
verdict that changes with the training seed is visible as such.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..studies.aggregate import TABLE_METRICS, crop_values

__all__ = ["SPREAD_METRICS", "seed_arms", "two_level_ci", "spread_table", "claims_by_seed", "agreement",
           "seed_verdict", "models_table", "model_gates", "s_g_note", "main_results_agreement"]

SPREAD_METRICS = tuple(m for m in TABLE_METRICS if m != "s_g")  # per-crop metrics (S_G is one number per set)


def seed_arms(ds: xr.Dataset) -> dict[int, xr.Dataset]:
    """{training seed: that run's results, shaped as main_results' (its attrs name the study main_results)}."""
    if "train_seed" not in ds.dims:
        raise ValueError("these results have no train_seed axis; they are not the seed_spread study's")
    out = {}
    for k in ds["train_seed"].values:
        sub = ds.sel(train_seed=k)
        sub.attrs = dict(ds.attrs, study="main_results")
        out[int(k)] = sub
    return out


def two_level_ci(groups, *, n_boot: int = 4000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of the grand mean of ``groups`` (one array of crop values per training run) under a
    two-level bootstrap: draw the runs with replacement, then each drawn run's crops with replacement, and average
    the drawn runs' means. Its width carries the spread between runs as well as that between crops."""
    groups = [np.asarray(g, dtype=np.float64)[np.isfinite(g)] for g in groups]
    groups = [g for g in groups if len(g)]
    if not groups:
        return np.nan, np.nan
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for b in range(n_boot):
        runs = rng.integers(0, len(groups), len(groups))
        means[b] = np.mean([groups[r][rng.integers(0, len(groups[r]), len(groups[r]))].mean() for r in runs])
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def spread_table(ds: xr.Dataset, metrics=SPREAD_METRICS, digits: int = 3) -> pd.DataFrame:
    """One row per (method, metric): each run's mean over crops, the range and std (ddof 1) of those means, the
    median half-width of a run's 95 % bootstrap interval over crops, their ratio (range / half-width), and the 95 %
    interval of the mean over runs and crops (``two_level_ci``)."""
    from ..metrics.intervals import bootstrap_ci

    arms = seed_arms(ds)
    rows = []
    for method in [str(m) for m in ds["method"].values]:
        for metric in metrics:
            if metric not in ds:
                continue
            means, halves, groups = {}, [], []
            for k, sub in arms.items():
                groups.append(crop_values(sub, metric, method))
                ci = bootstrap_ci(groups[-1])
                means[k] = ci.mean
                halves.append((ci.hi - ci.lo) / 2)
            vals = np.array(list(means.values()), dtype=np.float64)
            if not np.isfinite(vals).any():
                continue
            half = float(np.nanmedian(halves))
            rng = float(np.nanmax(vals) - np.nanmin(vals))
            lo, hi = two_level_ci(groups)
            row = {"method": method, "metric": metric}
            row.update({f"seed {k}": round(float(v), digits) for k, v in means.items()})
            row.update({"range": round(rng, digits), "std": round(float(np.nanstd(vals, ddof=1)), digits),
                        "crop CI half-width": round(half, digits),
                        "range / half-width": round(rng / half, 2) if half > 0 else np.nan,
                        "95 % interval over runs and crops": f"[{lo:.{digits}f}, {hi:.{digits}f}]"})
            rows.append(row)
    return pd.DataFrame(rows)


def claims_by_seed(ds: xr.Dataset) -> pd.DataFrame:
    """One row per claim the main results answer: its verdict on each training run's results (the claims page's
    rule and words), and whether the runs agree."""
    from ..studies.claim_titles import CLAIM_TITLES
    from ..studies.claims import chapter_claims

    verdicts: dict[str, dict[int, str]] = {}
    for k, sub in seed_arms(ds).items():
        for claim, finding in chapter_claims(sub):
            verdicts.setdefault(claim.key, {})[k] = finding.verdict
    rows = []
    for key, by in verdicts.items():
        row = {"claim": CLAIM_TITLES.get(key, key)}
        row.update({f"seed {k}": v for k, v in sorted(by.items())})
        row["same verdict in every run"] = "yes" if len(set(by.values())) == 1 else "no"
        rows.append(row)
    return pd.DataFrame(rows)


def agreement(claims: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(claims judged in some run that keep their verdict in every run, those that do not), from ``claims_by_seed``."""
    runs = [c for c in claims.columns if c.startswith("seed ")]
    judged = claims[~claims[runs].isin(["not testable here"]).all(axis=1)]
    same = judged["same verdict in every run"] == "yes"
    return judged[same], judged[~same]


def seed_verdict(ds: xr.Dataset, *, claims: pd.DataFrame | None = None, spread: pd.DataFrame | None = None) -> str:
    """Markdown: how many claims keep their verdict across the training runs, which do not, and how wide the
    spread between runs is against the interval over crops. ``claims`` / ``spread``: the tables of
    ``claims_by_seed`` / ``spread_table`` when already computed (else computed here)."""
    claims = claims_by_seed(ds) if claims is None else claims
    same, moved = agreement(claims)
    judged = pd.concat([same, moved])
    spread = spread_table(ds) if spread is None else spread
    ratio = spread["range / half-width"].replace([np.inf, -np.inf], np.nan).dropna()
    n_runs = ds.sizes["train_seed"]
    lines = [f"Of the {len(judged)} claims the main results answer (judged on each training run alone), "
             f"{len(same)} get the same verdict from all {n_runs} runs and {len(moved)} do not."]
    if len(moved):
        seeds = [c for c in claims.columns if c.startswith("seed ")]
        lines.append("Verdicts that change with the training seed: " + "; ".join(
            f"{r['claim']} ({', '.join(f'{s}: {r[s]}' for s in seeds)})" for _, r in moved.iterrows()) + ".")
    if len(ratio):
        big = spread[spread["range / half-width"] >= 1]
        lines.append(f"Between runs, a method's mean moves by {ratio.median():.2f} times the half-width of one run's "
                     f"95 % interval over crops (median over {len(ratio)} method-metric pairs; largest "
                     f"{ratio.max():.2f}); in {len(big)} of them the spread between runs is at least as wide as "
                     f"that half-width, so for those an interval over the crops of one model understates how "
                     f"uncertain the number is.")
    return "\n\n".join(lines)


def models_table(ds: xr.Dataset) -> tuple[pd.DataFrame, str]:
    """(the models behind the results, one row per training seed and model, with only the columns that differ
    between them; one sentence with the settings they share), from ``report.ablations.trained_models``."""
    import json

    from .ablations import trained_models

    t = trained_models(ds)
    if t.empty:
        return t, ""
    seeds = {tag: int(a.get("seed", tag.rsplit("seed", 1)[-1])) if str(tag.rsplit("seed", 1)[-1]).isdigit() else tag
             for tag, a in json.loads(ds.attrs["per_arm"]).items()}
    t.insert(0, "training seed", t.pop("arm").map(lambda a: seeds.get(a, a)))
    same = [c for c in t.columns if c not in ("training seed", "model", "checkpoint") and t[c].nunique(dropna=False) == 1]
    words = {"backbone": "backbone", "parameters": "parameters", "shape": "input", "batch": "batch", "lr": "learning rate",
             "space": "space", "steps": "training steps"}
    shared = ", ".join(f"{words.get(c, c)} {t[c].iloc[0]}" for c in same)
    return t.drop(columns=same).set_index(["training seed", "model"]), (f"Shared by every model: {shared}." if shared else "")


def model_gates(ds: xr.Dataset, weights_root=None) -> pd.DataFrame:
    """The quality gate of every model behind the results, read from the report stored with its weights
    (``report.model_quality.stored_gate_table``: quality.json beside the checkpoint and its shipped copy)."""
    import json
    import os

    from .model_quality import stored_gate_table

    folders = {}
    for tag, attrs in json.loads(ds.attrs["per_arm"]).items():
        for par, path in json.loads(attrs.get("models") or "{}").items():
            folders[f"{os.path.basename(str(path))}"] = str(path)
    return stored_gate_table(folders, weights_root)


def s_g_note(ds: xr.Dataset, digits: int = 3) -> str:
    """What the S_G cells of the per-run table are (a set-level score: mean ± standard deviation over the
    translation seeds of one training run), and which methods read zero to ``digits`` decimals in every run and
    seed: there S_G has saturated at 0 (the latents' variance is off by a few per cent), and norm_z orders them."""
    if "s_g" not in ds:
        return ""
    n = ds.sizes.get("seed", 1)
    seeds = ", ".join(str(int(v)) for v in ds["seed"].values) if "seed" in ds.dims else "0"
    text = (f"S_G is one number per set of latents (one translation seed's test crops), so its cells give the mean ± "
            f"standard deviation over the {n} translation seeds ({seeds}) of each training run, not an interval over "
            "crops.")
    dims = [d for d in ds["s_g"].dims if d != "method"]
    top = np.asarray(ds["s_g"].max(dims).transpose("method").values, dtype=float)
    zero = [str(m) for m, v in zip(ds["method"].values, top) if v < 0.5 * 10 ** -digits]
    if zero:
        names = [f"`{m}`" for m in zero]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"
        text += (f" For {listed}, every set of every run scores below "
                 f"{0.5 * 10 ** -digits:g}, shown as {0:.{digits}f} ± {0:.{digits}f}: S_G has saturated at 0, as it "
                 "does once the latents' variance is off by a few per cent; the main-results chapters give norm_z, "
                 "which still orders such sets.")
    return text


def main_results_agreement(ds: xr.Dataset, main: xr.Dataset | None, metrics=SPREAD_METRICS) -> str:
    """Markdown: how far training run 0 of these results (the main results' own models) lies from the stored main
    results, method by method (means over crops), and why they can differ: each study translates with the
    models it loads, and results computed on another device or library build differ in their last digits, which the
    inversions' sensitivity can grow crop by crop. '' when the main results are not given or agree exactly."""
    if main is None or "train_seed" not in ds.dims:
        return ""
    run0 = ds.sel(train_seed=0)
    gaps = []
    for m in metrics:
        if m not in run0 or m not in main:
            continue
        for method in set(map(str, run0["method"].values)) & set(map(str, main["method"].values)):
            a = float(run0[m].sel({"method": method}).mean(skipna=True))
            b = float(main[m].sel({"method": method}).mean(skipna=True))
            if np.isfinite(a) and np.isfinite(b):
                gaps.append((abs(a - b), m, method, a, b))
    if not gaps or max(g[0] for g in gaps) == 0:
        return ""
    worst = max(gaps)
    same = sum(g[0] == 0 for g in gaps)
    versions = lambda d: (_json_or_empty(d.attrs.get("versions")).get("torch") or "unrecorded")  # noqa: E731
    return (f"Training run 0 uses the main results' models, but its translations were computed apart from theirs "
            f"(PyTorch {versions(run0)} here, {versions(main)} there): {same} of the {len(gaps)} method means agree "
            f"exactly, and the largest gap is {worst[1].upper()} of {worst[2]}, {worst[3]:.3f} here against "
            f"{worst[4]:.3f} in the main results: what a different device or library build does to the same "
            f"inversions. Set it beside the spread between training runs below.")


def _json_or_empty(text) -> dict:
    import json

    try:
        return json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
