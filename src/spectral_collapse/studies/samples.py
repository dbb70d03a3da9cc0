"""How many samples a claim's verdict rests on, in words, read from the evidence itself.

Every claim names the stored results it reads (``Claim.reads``): study labels of the evidence frame ("main",
"x0", "scale", "backbone", "space") or studies kept whole in ``Evidence.extra`` ("pareto", "pca_collapse"). The
counts come from the stored results (samples per cell, seeds, failed samples), so a profile that translates
fewer test crops says so on the claims page without anyone editing a number. A claim that counts only some of a
study's methods (Table 6's ddim, taba, ovg of the eps-vs-x0 study) is described by those methods alone, and an arm
whose every sample failed is named. A sample is one test crop translated with one seed; the Pareto sweep's crops are
the validation crops it tunes on (its ``tuning_split``), never the test crops.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .claims_words import study_title
from .scorecard import EXTRA_STUDIES, TABLE6_METHODS

__all__ = ["sample_size"]

_CELL_AXES = {"scale": "factors", "backbone": "backbones", "space": "spaces", "parameterization": "parameterizations"}
# The methods a study's claims count, where not all of its methods (the others are run beside them for the chapter).
COUNTED = {"x0": TABLE6_METHODS}
_AXIS_WORDS = {"parameterization": "the {} model", "scale": "factor {}", "backbone": "the {} backbone",
               "space": "{} space"}


def _wholly_failed(g: pd.DataFrame) -> tuple[list[str], int]:
    """The (method, setting) cells of one dataset whose every sample failed (over all seeds), in words, and how many
    samples they hold."""
    axes = [a for a in ("parameterization", "scale", "backbone", "space") if a in g and g[a].nunique() > 0]
    one = g[g["metric"] == g["metric"].iloc[0]]
    cells = one.groupby(["method", *axes], dropna=False)[["failed", "samples"]].sum().reset_index()
    cells = cells[(cells["samples"] > 0) & (cells["failed"] >= cells["samples"])]
    return ([f"{r['method']} with " + ", ".join(_AXIS_WORDS[a].format(r[a]) for a in axes) if axes else
             str(r["method"]) for _, r in cells.iterrows()], int(cells["failed"].sum()))


def _frame_counts(g: pd.DataFrame, counted: tuple | None = None) -> str:
    """One dataset of one frame study: test crops × seeds per method and setting, methods (only ``counted`` ones,
    named, when the claims count only those), settings, failures (arms whose every sample failed named)."""
    if counted and "method" in g:
        g = g[g["method"].isin(counted)]
    seeds = int(g["seed"].nunique()) if "seed" in g else 1
    methods = int(g["method"].nunique()) if "method" in g else 1
    settings = [f"{int(g[a].nunique())} {name}" for a, name in _CELL_AXES.items() if a in g and g[a].nunique() > 1]
    per_sample = g[g["samples"].notna()] if "samples" in g else g.iloc[0:0]
    if per_sample.empty:   # set-level metrics only: one value per (method, seed)
        text = f"{seeds} seed{'s' * (seeds > 1)} per method"
    else:
        text = f"{int(per_sample['samples'].max())} test crops × {seeds} seed{'s' * (seeds > 1)} per method"
    named = (f" the claims count: {', '.join(m for m in counted if m in set(g['method']))};"
             if counted and "method" in g else "")
    text += (f" (the {methods} methods{named}" if named else f" ({methods} methods") + "".join(
        f"{',' * (not named or i > 0)} {s}" for i, s in enumerate(settings)) + ")"
    if "failed" in per_sample and not per_sample.empty:
        one = per_sample[per_sample["metric"] == per_sample["metric"].iloc[0]]
        failed = int(one["failed"].fillna(0).sum())
        if failed:
            whole, n_whole = _wholly_failed(per_sample)
            text += (f", {failed} of {int(one['samples'].sum())} samples failed (a sample: one test crop translated "
                     "with one seed" + (f"; {n_whole} of them make up every sample of {' and of '.join(whole)}"
                                        if whole else "") + ")")
    return text


def _extra_counts(study: str, res) -> str:
    """One dataset of a study kept whole: Pareto grid points and crops, or PCA latents per series."""
    if study == "pareto":
        steps = int(np.prod([res.sizes.get(a, 1) for a in ("eta_hf", "eta_lf")]))
        bases, baselines = res.sizes.get("base", 1), res.sizes.get("method", 0)
        split = res.attrs.get("tuning_split")
        crops = (f"{res.sizes.get('sample', 0)} crops ({split})" if split else
                 f"{res.sizes.get('sample', 0)} validation crops")
        return (f"{crops} at each of {bases * steps} grid points ({bases} base methods × {steps} step-size pairs) "
                f"and each of {baselines} baselines")
    if study == "pca_collapse":
        return f"{res.sizes.get('latent', 0)} latents in each of {res.sizes.get('series', 0)} series"
    return ", ".join(f"{n} {d}" for d, n in res.sizes.items())


def sample_size(ev, reads: tuple[str, ...]) -> str:
    """What the verdict on ``ev`` for a claim reading ``reads`` is computed from, each study named by its chapter's
    title (``claims_words.study_title``, the one source of the studies' reader names); datasets with the same counts
    share one entry ("main results, ihc-edges, ihc-sr: 24 test crops × 3 seeds per method (11 methods)")."""
    if ev.source == "paper":
        return "the paper's reported means (the paper does not publish how many test images each mean is over)"
    parts = []
    for study in reads:
        if study in EXTRA_STUDIES:
            per = {ds: _extra_counts(study, res) for ds, res in sorted(ev.extra.get(study, {}).items())}
        else:
            f = ev.select(study)
            per = ({ds: _frame_counts(g, COUNTED.get(study)) for ds, g in f.groupby("dataset")}
                   if not f.empty and "dataset" in f else {})
        by_text: dict[str, list[str]] = {}
        for ds, text in per.items():
            by_text.setdefault(text, []).append(str(ds))
        for text, datasets in by_text.items():
            parts.append(f"{study_title(study)}, {', '.join(datasets)}: {text}")
    return "; ".join(parts) if parts else "no stored results"
