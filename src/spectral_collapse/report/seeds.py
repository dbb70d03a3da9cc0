"""Tables and verdict of the seed_spread study: the main results' methods with the main eps and EDM models trained
from three seeds (``studies.models.SEED_REPLICATES``).

Two readings. ``spread_table``: for each method and metric, the mean over test crops under each training run, the
spread of those means between runs (their range and standard deviation), the half-width of one run's 95 % interval
over crops and an interval over runs and crops together (``two_level_ci``: runs resampled, then crops within each,
defined on the page by ``spread_legend``): when the spread between runs is as wide as that interval, an interval over
crops of one model understates the uncertainty of the study's numbers. S_G, one score per set of latents, has its
rows too, with no interval over crops; ``s_g_spread_text`` sets its spread between runs against the spread between
the translation seeds' sets within a run. ``claims_by_seed``: every claim of the claims page that
the main results answer, judged on each training run's results alone by the page's rule (``studies.claims``), so a
verdict that changes with the training seed is visible as such. ``software_text``: when these results and the main
results were computed with different software, so that comparing a run here with the other chapters' numbers mixes
seed and software. Runs far outside the others: ``report.seed_outliers``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..studies.aggregate import TABLE_METRICS, crop_values
from ..text import percent, step_size, verb
from .seed_models import model_gates, models_table  # noqa: F401  (the chapter's imports name them here)
from .seed_claims import (agreement, claim_set_words, claims_by_seed, claims_intro, claims_shown,  # noqa: F401
                          run_column, seed_arms)

__all__ = ["SPREAD_METRICS", "seed_arms", "two_level_ci", "spread_table", "claims_by_seed", "agreement",
           "seed_verdict", "models_table", "model_gates", "s_g_note", "main_results_agreement", "crops_text",
           "SOFTWARE", "software", "software_text", "SET_METRICS", "POOLED_LEVEL", "POOLED_DRAWS",
           "S_G_FACTOR", "HALF_WIDTH", "pooled_column", "spread_legend", "s_g_spread", "s_g_spread_text", "spread_shown",
           "per_run_table", "claims_shown", "claims_intro", "claim_set_words"]

SPREAD_METRICS = tuple(m for m in TABLE_METRICS if m != "s_g")  # per-crop metrics (S_G is one number per set)
SET_METRICS = ("s_g",)          # one number per set of latents (a translation seed's test crops), no value per crop
POOLED_LEVEL = 0.95             # level of the interval over runs and crops (``two_level_ci``)
POOLED_DRAWS = 4000             # its bootstrap draws
S_G_FACTOR = 3.0                # S_G's runs spanning this many within-run standard deviations: the run decides it


# the spread table's column of one run's interval over crops (the median of its runs' half-widths)
HALF_WIDTH = "half-width of a run's 95 % interval over crops"


def pooled_column(level: float = POOLED_LEVEL) -> str:
    """The spread table's column of the interval over runs and crops, named by its level."""
    return f"{percent(level, 0)} interval over runs and crops"


def two_level_ci(groups, *, n_boot: int = POOLED_DRAWS, level: float = POOLED_LEVEL,
                 seed: int = 0) -> tuple[float, float]:
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


def spread_table(ds: xr.Dataset, metrics=SPREAD_METRICS + SET_METRICS, digits: int = 3) -> pd.DataFrame:
    """One row per (method, metric): each run's mean over crops, the range and std (ddof 1) of those means, the
    median half-width of a run's 95 % bootstrap interval over crops, their ratio (range / half-width), and the 95 %
    interval of the mean over runs and crops (``two_level_ci``). A set-level metric (``SET_METRICS``: S_G, one
    number per translation seed's set) gives each run's mean over its sets, their range and std, and NaN where an
    interval over crops would stand (``s_g_spread`` compares it with the spread within a run instead)."""
    from ..metrics.intervals import bootstrap_ci

    arms = seed_arms(ds)
    rows = []
    for method in [str(m) for m in ds["method"].values]:
        for metric in metrics:
            if metric not in ds:
                continue
            means, halves, groups = {}, [], []
            for k, sub in arms.items():
                if metric in SET_METRICS:
                    sets = np.asarray(sub[metric].sel({"method": method}).values, dtype=np.float64).ravel()
                    means[k] = float(np.nanmean(sets)) if np.isfinite(sets).any() else np.nan
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
            lo, hi = two_level_ci(groups) if groups else (np.nan, np.nan)
            row = {"method": method, "metric": metric}
            row.update({f"seed {k}": round(float(v), digits) for k, v in means.items()})
            row.update({"range": round(rng, digits), "std": round(float(np.nanstd(vals, ddof=1)), digits),
                        HALF_WIDTH: round(half, digits) if np.isfinite(half) else np.nan,
                        "range / half-width": round(rng / half, 2) if np.isfinite(half) and half > 0 else np.nan,
                        pooled_column(): f"[{lo:.{digits}f}, {hi:.{digits}f}]" if np.isfinite([lo, hi]).all()
                        else np.nan})
            rows.append(row)
    return pd.DataFrame(rows)


def spread_shown(spread: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """The spread table as the page shows it: numbers to ``digits`` decimals (the ratio to 2), a cell with no value
    (S_G's interval over crops) as "—", each run's column named by its training seed ("training seed 1")."""
    out = spread.astype(object).copy()
    for col in spread.columns:
        if pd.api.types.is_numeric_dtype(spread[col]):
            d = 2 if col == "range / half-width" else digits
            out[col] = [f"{v:.{d}f}" if pd.notna(v) else "—" for v in spread[col]]
        else:
            out[col] = [v if isinstance(v, str) or pd.notna(v) else "—" for v in spread[col]]
    return out.rename(columns=run_column)


def spread_legend(ds: xr.Dataset, level: float = POOLED_LEVEL, n_boot: int = POOLED_DRAWS) -> str:
    """Markdown: what the spread table's columns are, from the results: how many training runs and test crops the
    interval over runs and crops rests on, at which level, and how it is drawn; and why S_G's rows have no interval."""
    n_runs = ds.sizes.get("train_seed", 1)
    crops = {k: len(crop_values(sub, SPREAD_METRICS[0], str(ds["method"].values[0]))) for k, sub in seed_arms(ds).items()}
    n_crops = sorted(set(crops.values()))
    crop_words = (f"{n_crops[0]} test crops" if len(n_crops) == 1 else
                  f"{min(n_crops)} to {max(n_crops)} test crops")
    n_sets = ds.sizes.get("seed", 1)
    pct = f"{level * 100:g} %"
    text = (f"For each method and metric: the mean under each of the {n_runs} training runs, the range and standard "
            f"deviation of those {n_runs} means, the median half-width of one run's {pct} interval over crops, and "
            f"the range over that half-width. The last column, *{pooled_column(level)}*, is a {pct} percentile "
            f"interval of the mean over all {n_runs} runs and their {crop_words} each (a crop's value being its mean "
            f"over the translation seeds that translated it): each of {n_boot:,} bootstrap draws picks {n_runs} runs "
            "with replacement, then each picked run's crops with replacement, and averages the picked runs' means. It "
            f"widens as the runs disagree, and with only {n_runs} runs to resample it can leave out the most extreme "
            "run's own mean.")
    if any(m in ds for m in SET_METRICS):
        text += (f" S_G is one score per set of latents ({n_sets} sets per run, one per translation seed), so its rows "
                 "give each run's mean over its sets, with no interval over crops, no ratio and no pooled interval "
                 "(—); the sentence under the table sets its spread between runs against that between the sets of "
                 "one run.")
    return (text + " A ratio near or above 1 means that retraining the model moves the number as much as the "
            "interval over crops allows: read such numbers in the other chapters with that spread in mind.")


def s_g_spread(ds: xr.Dataset, digits: int = 3) -> pd.DataFrame:
    """Per method whose S_G has not saturated at 0 in every set: the range of the runs' mean S_G, the standard
    deviation between the sets of one run (ddof 1, median over runs), and their ratio; sorted by that ratio."""
    if "s_g" not in ds or "train_seed" not in ds["s_g"].dims:
        return pd.DataFrame(columns=["method", "range", "within-run std", "ratio"])
    rows = []
    for method in map(str, ds["method"].values):
        v = ds["s_g"].sel({"method": method})
        if not np.isfinite(v.values).any() or float(v.max()) < 0.5 * 10 ** -digits:
            continue
        means = v.mean([d for d in v.dims if d != "train_seed"], skipna=True).values
        other = [d for d in v.dims if d != "train_seed"]
        within = (float(np.nanmedian(v.std(other, ddof=1, skipna=True).values)) if other and
                  all(v.sizes[d] > 1 for d in other) else np.nan)
        rng = float(np.nanmax(means) - np.nanmin(means))
        rows.append({"method": method, "range": rng, "within-run std": within,
                     "ratio": rng / within if np.isfinite(within) and within > 0 else np.nan})
    out = pd.DataFrame(rows, columns=["method", "range", "within-run std", "ratio"])
    return out.sort_values("ratio", ascending=False, na_position="last").reset_index(drop=True)


def s_g_spread_text(ds: xr.Dataset, digits: int = 3) -> str:
    """Markdown: S_G's spread between training runs against that between the sets of one run, method by method
    (``s_g_spread``), the largest named first; '' when S_G is not stored or has saturated for every method."""
    t = s_g_spread(ds, digits)
    if t.empty:
        return ""
    items = [f"`{r.method}` {r.range:.{digits}f} against {r[2]:.{digits}f}"
             + (f" ({r.ratio:.1f} times)" if np.isfinite(r.ratio) else "") for r in t.itertuples(index=False)]
    text = ("S_G, one score per set: the range of the runs' means against the standard deviation between the sets of "
            "one run (the translation seeds; median over runs), for each method whose S_G has not saturated at 0: "
            + "; ".join(items) + ".")
    strong = [r.method for r in t.itertuples(index=False) if np.isfinite(r.ratio) and r.ratio >= S_G_FACTOR]
    if strong:
        named = [f"`{m}`" for m in strong]
        named = named[0] if len(named) == 1 else ", ".join(named[:-1]) + f" and {named[-1]}"
        text += (f" For {named}, the runs' means span at least {S_G_FACTOR:g} times "
                 "that standard deviation: which training run made the model decides its S_G more than which set "
                 "it translated.")
    elif t["ratio"].notna().any() and (t["ratio"] < 1).all():
        text += " For every method the runs' means span less than that standard deviation."
    return text


def per_run_table(ds: xr.Dataset) -> pd.DataFrame:
    """The per-run table as the page shows it: ``report.ablations.format_ablation`` (a cell per method, training run
    and metric) with the training seed and the method as columns named in words (the key ``train_seed`` is what the
    results store, not what a reader reads) and the metrics in one header row."""
    from .ablations import format_ablation

    t = format_ablation(ds)
    t.columns.name = None
    return t.rename_axis(index={"train_seed": "training seed"}).reset_index()


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
    # which claims these are is said once, above the claims table (``claims_intro``); the verdict only counts them
    lines = [f"Of the {len(judged)} testable claims of the table above, {len(same)} "
             f"{verb(len(same), 'gets', 'get')} the same verdict from all {n_runs} runs and {len(moved)} "
             f"{verb(len(moved), 'does', 'do')} not."]
    if len(moved):
        seeds = [c for c in claims.columns if c.startswith("seed ")]
        lines.append("Verdicts that change with the training seed: " + "; ".join(
            f"{r['claim']} ({', '.join(f'{run_column(s)}: {r[s]}' for s in seeds)})" for _, r in moved.iterrows())
            + ".")
    if len(ratio):
        big = spread[spread["range / half-width"] >= 1]
        lines.append(f"Between runs, a method's mean moves by {ratio.median():.2f} times the half-width of one run's "
                     f"95 % interval over crops (median over {len(ratio)} method-metric pairs; largest "
                     f"{ratio.max():.2f}); in {len(big)} of them the spread between runs is at least as wide as "
                     f"that half-width, so for those an interval over the crops of one model understates how "
                     f"uncertain the number is.")
    sg = s_g_spread(ds)
    if len(sg) and np.isfinite(sg["ratio"].iloc[0]):
        top = sg.iloc[0]
        v = ds["s_g"].sel({"method": top["method"]})
        means = v.mean([d for d in v.dims if d != "train_seed"], skipna=True)
        runs, vals = [int(k) for k in means["train_seed"].values], np.asarray(means.values, dtype=np.float64)
        lo, hi = runs[int(np.nanargmin(vals))], runs[int(np.nanargmax(vals))]
        zero = (" (the other chapters use training seed 0's models: its S_G here is the "
                + ("highest" if hi == 0 else "lowest" if lo == 0 else "in between") + " of the runs')"
                if 0 in runs else "")
        lines.append(f"S_G, which has no interval over crops, moves most between runs for `{top['method']}`: from "
                     f"{np.nanmin(vals):.3f} (training seed {lo}) to {np.nanmax(vals):.3f} (training seed {hi}), a "
                     f"range {top['ratio']:.1f} times the standard deviation between the sets of one run{zero}.")
    return "\n\n".join(lines)


def s_g_note(ds: xr.Dataset, digits: int = 3) -> str:
    """What the S_G cells of the per-run table are (a set-level score: mean ± standard deviation over the
    translation seeds of one training run), and which methods read zero to ``digits`` decimals in every run and
    seed: there S_G has saturated at 0 (the latents' variance is off by a few per cent), and norm_z orders them. The
    cells of those methods are quoted as the table shows them (``aggregate.cell_text``: "0.000 (spread < 0.001)")."""
    from .ablations import format_ablation

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
        table = format_ablation(ds, metrics=("s_g",), digits=digits)
        methods = table.index.get_level_values("method")
        cells = list(dict.fromkeys(str(c) for c in table.loc[methods.isin(zero), "s_g"]))
        shown = " or ".join(f"“{c}”" for c in cells)
        text += (f" For {listed}, every set of every run scores below {0.5 * 10 ** -digits:g}, so "
                 f"{'its' if len(zero) == 1 else 'their'} cells read {shown}: S_G has saturated at 0, as it does "
                 "once the latents' variance is off by a few per cent; the main-results chapters give each method's ‖x_T‖²/d (the "
                 "squared norm of its latents over their dimension, 1 for Gaussian noise) beside S_G, which still "
                 "orders such sets.")
    return text


SOFTWARE = {"torch": "PyTorch", "python": "Python"}   # packages whose versions a comparison of two results names


def software(ds: xr.Dataset) -> dict[str, str]:
    """{reader's name: version} of the ``SOFTWARE`` packages, as the results' attrs record them ("unrecorded")."""
    recorded = _json_or_empty(ds.attrs.get("versions"))
    return {name: str(recorded.get(key) or "unrecorded") for key, name in SOFTWARE.items()}


def software_text(ds: xr.Dataset, main: xr.Dataset | None, brief: bool = False) -> str:
    """Markdown: when these results and the main results (whose numbers the other chapters show for training run 0's
    models) were computed with different ``SOFTWARE``, both versions and that comparing a training run here with
    those numbers mixes the training seed with the software; '' when the versions agree or ``main`` is None.
    ``brief``: one sentence for the verdict."""
    if main is None or software(ds) == software(main):
        return ""
    here, there = (" and ".join(f"{n} {v}" for n, v in software(d).items()) for d in (ds, main))
    if brief:
        return (f"These runs were computed with {here}, the main results of the other chapters with {there}: set "
                "against those numbers, a training run's differ by seed and by software at once.")
    return (f"These results were computed with {here}, the main results with {there} (the versions each records). "
            "The other chapters show the main results, so a training run here differs from their numbers by the "
            "training seed and by the software at once. To see the effect of the seed alone, compare the training "
            "runs with one another, as the tables below do.")


_SHOWN = 3   # the decimals ``main_results_agreement`` prints a mean with, and compares two means at


def main_results_agreement(ds: xr.Dataset, main: xr.Dataset | None, metrics=SPREAD_METRICS) -> str:
    """Markdown: how far training run 0 of these results (the main results' own models) lies from the stored main
    results, method by method (means over crops), with the software each was computed with (``software_text``
    when it differs). '' when the main results are not given, or agree exactly and were computed with the same
    software."""
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
    mixed = software_text(ds, main)
    if not gaps or max(g[0] for g in gaps) == 0:
        return (mixed + " Run 0's method means equal the main results' nonetheless.") if mixed and gaps else mixed
    worst = max(gaps)
    same = sum(f"{g[3]:.{_SHOWN}f}" == f"{g[4]:.{_SHOWN}f}" for g in gaps)   # equal as the sentence prints them
    cause = ("what the other software does to the same models' inversions" if mixed else
             "with the same software (" + " and ".join(f"{n} {v}" for n, v in software(ds).items()) + "), what "
             "another device or another order of floating-point work does to the same inversions")
    return ((mixed + " " if mixed else "") +
            f"Training run 0 uses the main results' models, but its translations were computed apart from theirs: "
            f"of the {len(gaps)} means over crops (one per method and metric), {same} "
            f"{verb(same, 'is', 'are')} the same in both to {_SHOWN} decimals, and the largest gap is "
            f"{worst[1].upper()} of {worst[2]}, {worst[3]:.{_SHOWN}f} here against {worst[4]:.{_SHOWN}f} in the main "
            f"results: {cause}. Set it beside "
            f"the spread between training runs below.")


def _crop_span(idx) -> str:
    """Crop numbers in words, numbered from 1 as every chapter numbers crops (stored index 47 is crop 48): "crops
    49–60" for a run, else listed."""
    idx = sorted(int(i) + 1 for i in idx)
    if len(idx) > 2 and idx == list(range(idx[0], idx[-1] + 1)):
        return f"crops {idx[0]}–{idx[-1]}"
    return "crop" + ("s " if len(idx) != 1 else " ") + ", ".join(map(str, idx))


def crops_text(ds: xr.Dataset, pareto: xr.Dataset | None = None) -> str:
    """Markdown: which crops the numbers rest on, from the results: the test crops the tables score (how many per
    translation seed, and in all), and the validation crops OVG's step sizes were tuned on: how many of the
    profile's held-out validation crops the Pareto sweep ``pareto`` used (its ``n_images`` per grid point) and that
    no table scores them. Without the sweep's results, where the step sizes came from as the results record it."""
    import json

    parts = []
    if "crop" in ds:
        crop = ds["crop"].isel({d: 0 for d in ds["crop"].dims if d not in ("seed", "sample")})
        per_seed = {int(s): sorted(set(int(c) for c in crop.sel(seed=s).values.ravel())) for s in ds["seed"].values}
        every = sorted(set().union(*per_seed.values()))
        same = len({tuple(v) for v in per_seed.values()}) == 1
        n = len(per_seed)
        parts.append(f"The tables score {len(every)} test crops ({_crop_span(every)} of the paired split, numbered from 1): "
                     + (f"each of the {n} translation seeds translates the same {len(every)}"
                        if same else f"each of the {n} translation seeds translates its own "
                                     f"{len(next(iter(per_seed.values())))}, and a crop's value is its mean over the "
                                     f"seeds that translated it") + ".")
    used = _json_or_empty(ds.attrs.get("ovg"))
    source = str(used.get("source", ""))
    tuned = pareto is not None and "tuning_crops" in pareto.attrs and source.startswith("Pareto sweep")
    if tuned:  # the sweep stored here must be the one whose choice the run took
        choice = _json_or_empty(pareto.attrs.get("choices")).get(pareto.attrs.get("primary", "ovg")) or {}
        tuned = all(np.isclose(float(choice.get(k, np.nan)), float(used[k])) for k in ("eta_hf", "eta_lf"))
    if tuned:
        idx = json.loads(pareto.attrs["tuning_crops"])
        profile = _json_or_empty(ds.attrs.get("profile_values"))
        n_val = profile.get("n_val")
        held = (f": {len(idx)} of the {n_val} validation crops the {ds.attrs.get('profile', '')} profile holds out of "
                f"every table, as the Pareto sweep translates {len(idx)} crops at each grid point"
                if n_val and int(n_val) > len(idx) else ", the validation crops the profile holds out of every table")
        parts.append(f"OVG's step sizes (eta_hf {step_size(used['eta_hf'])}, eta_lf {step_size(used['eta_lf'])}; each OVG "
                     f"variant at its own choice, listed in the settings) are the Pareto chapter's choice for "
                     f"{ds.attrs.get('dataset')}, tuned on validation {_crop_span(idx)}{held}. The step sizes are "
                     "thus not chosen on the crops they are judged on; every training run uses the same ones, tuned with the "
                     "seed-0 models.")
    elif used:
        parts.append(f"OVG's step sizes: eta_hf {step_size(used['eta_hf'])}, eta_lf {step_size(used['eta_lf'])} "
                     f"({source}).")
    return " ".join(parts)


def _json_or_empty(text) -> dict:
    import json

    try:
        return json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}
