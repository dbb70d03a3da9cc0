"""How many samples a claim's verdict rests on, in words, read from the evidence itself.

Every claim names the stored results it reads (``Claim.reads``): study labels of the evidence frame ("main",
"x0", "scale", "backbone", "space") or studies kept whole in ``Evidence.extra`` ("pareto", "pca_collapse"). The
counts come from the stored results (samples per cell, seeds, failed samples), so a profile that translates
fewer test crops says so on the claims page without anyone editing a number.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .scorecard import EXTRA_STUDIES

__all__ = ["STUDY_NAMES", "sample_size"]

# The evidence's study labels as a reader knows the chapters.
STUDY_NAMES = {"main": "main results", "x0": "eps vs x0", "scale": "scale factor", "backbone": "backbone ablation",
               "space": "space ablation", "pareto": "Pareto sweep", "pca_collapse": "PCA"}

_CELL_AXES = {"scale": "factors", "backbone": "backbones", "space": "spaces", "parameterization": "parameterizations"}


def _frame_counts(g: pd.DataFrame) -> str:
    """One dataset of one frame study: test crops × seeds per method and setting, methods, settings, failures."""
    seeds = int(g["seed"].nunique()) if "seed" in g else 1
    methods = int(g["method"].nunique()) if "method" in g else 1
    settings = [f"{int(g[a].nunique())} {name}" for a, name in _CELL_AXES.items() if a in g and g[a].nunique() > 1]
    per_sample = g[g["samples"].notna()] if "samples" in g else g.iloc[0:0]
    if per_sample.empty:   # set-level metrics only: one value per (method, seed)
        text = f"{seeds} seed{'s' * (seeds > 1)} per method"
    else:
        text = f"{int(per_sample['samples'].max())} test crops × {seeds} seed{'s' * (seeds > 1)} per method"
    text += f" ({methods} methods" + "".join(f", {s}" for s in settings) + ")"
    if "failed" in per_sample and not per_sample.empty:
        one = per_sample[per_sample["metric"] == per_sample["metric"].iloc[0]]
        failed = int(one["failed"].fillna(0).sum())
        if failed:
            text += f", {failed} of {int(one['samples'].sum())} samples failed"
    return text


def _extra_counts(study: str, res) -> str:
    """One dataset of a study kept whole: Pareto grid points and crops, or PCA latents per series."""
    if study == "pareto":
        steps = int(np.prod([res.sizes.get(a, 1) for a in ("eta_hf", "eta_lf")]))
        bases, baselines = res.sizes.get("base", 1), res.sizes.get("method", 0)
        return (f"{res.sizes.get('sample', 0)} test crops at each of {bases * steps} grid points ({bases} base "
                f"methods × {steps} step-size pairs) and each of {baselines} baselines")
    if study == "pca_collapse":
        return f"{res.sizes.get('latent', 0)} latents in each of {res.sizes.get('series', 0)} series"
    return ", ".join(f"{n} {d}" for d, n in res.sizes.items())


def sample_size(ev, reads: tuple[str, ...]) -> str:
    """What the verdict on ``ev`` for a claim reading ``reads`` is computed from; datasets with the same counts
    share one entry ("ihc-edges, ihc-sr: 24 test crops × 3 seeds per method (11 methods)")."""
    if ev.source == "paper":
        return "the paper's reported means (the paper does not publish how many test images each mean is over)"
    parts = []
    for study in reads:
        if study in EXTRA_STUDIES:
            per = {ds: _extra_counts(study, res) for ds, res in sorted(ev.extra.get(study, {}).items())}
        else:
            f = ev.select(study)
            per = {ds: _frame_counts(g) for ds, g in f.groupby("dataset")} if not f.empty and "dataset" in f else {}
        by_text: dict[str, list[str]] = {}
        for ds, text in per.items():
            by_text.setdefault(text, []).append(str(ds))
        for text, datasets in by_text.items():
            parts.append(f"{STUDY_NAMES.get(study, study)}, {', '.join(datasets)}: {text}")
    return "; ".join(parts) if parts else "no stored results"
