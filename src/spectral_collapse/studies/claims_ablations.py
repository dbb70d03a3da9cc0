"""Claims of the ablations (collapse along an ablation axis, the scale factor's PSNR and monotone trend) and of the
PCA study, as functions of the scorecard's ``Evidence``; ``studies.claims`` lists them with the others.

Two rules shared with ``studies.claims`` live here: ``versus_or_tie`` (two equal reported means are a tie, read as
inconclusive) and ``combine_testable`` (checks that cannot be made are listed as "not testable here" and the claim is
judged on the others).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics.intervals import MIN_EFFECT, Interval, three_way
from .claims_words import arm_words
from .scorecard import PAPER_SCALES, Evidence, fmt_value, scale_labels
from .verdicts import (FAILS, HOLDS, INCONCLUSIVE, UNTESTABLE, Finding, combine, compare, compare_means, fold,
                       signed)

__all__ = ["TIE_RULE", "versus_or_tie", "combine_testable"]

# How two equal reported means read (appended to the rules that decide on means).
TIE_RULE = "two equal means are a tie: inconclusive"


def versus_or_tie(ev, study: str, eq: dict, a, b, metric: str, *, by: str = "method", higher: bool = True,
                  prefix: str = ""):
    """A claimed difference a - b (> 0 when ``higher``) on the rows of ``study`` with ``eq``: paired over crops where
    the evidence holds them (``verdicts.compare``), else on the means (``verdicts.compare_means``, ``TIE_RULE``).
    None when a side is missing."""
    crops = ev.select(study, per_crop=True, **eq)
    if not crops.empty and metric in set(crops["metric"]):
        return compare(crops, a, b, metric, by=by, higher=higher, prefix=prefix)
    return compare_means(ev.select(study, **eq), a, b, metric, by=by, higher=higher, prefix=prefix)


def combine_testable(checks: list, missing: str) -> Finding:
    """``verdicts.combine`` over the checks that could be made, the "not testable here" ones listed after them;
    nothing testable: not testable here (their texts, else ``missing``)."""
    checks = [c for c in checks if c is not None]
    untested = [t for v, t in checks if v == UNTESTABLE]
    judged = [(v, t) for v, t in checks if v != UNTESTABLE]
    if not judged:
        return Finding(UNTESTABLE, "; ".join(untested) or missing)
    if not untested:
        return combine(judged, missing)
    vs = [v if isinstance(v, str) else (HOLDS if v else FAILS) for v, _ in judged]
    n_inc = vs.count(INCONCLUSIVE)
    head = (f"{vs.count(HOLDS)} of {len(vs)} testable hold" + (f", {n_inc} inconclusive" if n_inc else "")
            + f" ({len(untested)} not testable here): ")
    return Finding(fold(vs), head + "; ".join(t for _, t in judged) + "; " + "; ".join(untested))


def ablation_collapse(short: str, axis: str, fixed_ref: tuple[str, ...]):
    """The claim that DDIM's S_HF and S_DC are below each of ``fixed_ref``'s in every arm of ``axis``."""
    def test(ev: Evidence) -> Finding:
        f = ev.select(short)
        if f.empty or axis not in f:
            return Finding(UNTESTABLE, f"needs {short} results with a {axis} axis")
        checks = [versus_or_tie(ev, short, {"dataset": ds, axis: v}, "ddim", r, m, higher=False,
                                prefix=f"{ds} {arm_words(axis, v)}: ")
                  for (ds, v), _ in f.groupby(["dataset", axis]) for r in fixed_ref for m in ("s_hf", "s_dc")]
        return combine(checks, f"needs {short} results with ddim and {'/'.join(fixed_ref)}")
    return test


def _scale_name(value, labels: dict, source: str) -> str:
    """A scale as the evidence knows it: the paper's own label, or ours beside the paper's row it stands for."""
    if source == "paper":
        return str(labels[value])
    ours = str(value) if str(value).startswith("x") else f"x{int(float(value))}"
    return ours if ours == labels[value] else f"{ours} (for the paper's {labels[value]})"


def _scale_labels(ev: Evidence, g: pd.DataFrame) -> dict:
    return scale_labels(g["scale"].unique()) if ev.source == "ours" else {s: s for s in g["scale"].unique()}


def claim_scale_psnr(ev: Evidence) -> Finding:
    f = ev.select("scale")
    if f.empty or "scale" not in f:
        return Finding(UNTESTABLE, "needs scale_factor results")
    checks = []
    for ds, g in f.groupby("dataset"):
        labels = _scale_labels(ev, g)
        if not labels:
            continue
        top = max(labels, key=lambda s: PAPER_SCALES.index(labels[s]))
        eq, pre = {"dataset": ds, "scale": top}, f"{ds} {_scale_name(top, labels, ev.source)}: "
        for m in [m for m in ("taba", "ovg") if m in set(g["method"])]:
            checks += [versus_or_tie(ev, "scale", eq, "ddim", m, "psnr", prefix=pre),
                       versus_or_tie(ev, "scale", eq, "ddim", m, "s_hf", higher=False, prefix=pre)]
    return combine(checks, "needs scale_factor results with ddim, taba / ovg, PSNR and S_HF")


def claim_scale_monotone(ev: Evidence) -> Finding:
    f = ev.select("scale", method="ddim", metric="s_dc")
    if f.empty or "scale" not in f:
        return Finding(UNTESTABLE, "needs scale_factor results with ddim and S_DC")
    checks = []
    for ds, g in f.groupby("dataset"):
        labels = _scale_labels(ev, g)
        if len(labels) < 2:
            continue
        order = sorted(labels, key=lambda s: PAPER_SCALES.index(labels[s]))
        crops = ev.select("scale", per_crop=True, dataset=ds, method="ddim", metric="s_dc")
        if not crops.empty and "scale" in crops:  # each step paired on the crops (seed, sample) of both factors
            named = crops.assign(scale=crops["scale"].map(lambda s: _scale_name(s, labels, ev.source) if s in labels
                                                          else s))
            checks += [compare(named, *(_scale_name(s, labels, ev.source) for s in step), "s_dc", by="scale",
                               prefix=f"{ds}: ddim ") for step in zip(order, order[1:])]
            continue
        vals = [g[g["scale"] == s]["value"].mean() for s in order]
        steps = list(zip(vals, vals[1:]))
        ok = all(a > b for a, b in steps)
        tied = not ok and not any(a < b for a, b in steps)   # no step the other way, but equal means somewhere
        sep = " > " if ok else ", "
        text = f"{ds}: S_DC of ddim " + sep.join(f"{_scale_name(s, labels, ev.source)} {fmt_value(v)}"
                                                for s, v in zip(order, vals))
        checks.append((INCONCLUSIVE, f"{text} (tie at a step) → {INCONCLUSIVE}") if tied
                      else (ok, text))
    return combine(checks, "needs scale_factor results at two or more factors")


def _k90_checks(ds: str, res, names: list[str]) -> list[tuple[str, str]]:
    """Each DDIM series' k90 against Gaussian noise's and against the next sparser one's: the 95 % interval of the
    differences over the study's subsamples (``studies.latents.k90_draws``), minimal effect one component."""
    draws = res["k90_draws"]
    m = int(res.attrs.get("k90_subsample", 0))

    def check(a: str, b: str) -> tuple[str, str]:
        d = (draws.sel(series=a).values - draws.sel(series=b).values).astype(np.float64)
        ci = Interval(float(d.mean()), *map(float, np.quantile(d, [0.025, 0.975])), len(d))
        v = three_way(ci, MIN_EFFECT["k90"], higher_is_claimed=False)
        return v, (f"{ds}: k90 {a} − {b} {signed(ci.mean, 1)} [{signed(ci.lo, 1)}, {signed(ci.hi, 1)}] ({len(d)} "
                   f"subsamples of {m} latents) → {v}")

    return [check(n, "gaussian") for n in names] + [check(b, a) for a, b in zip(names, names[1:])]


def _one_level(ds: str, name: str, check: tuple[str, str]) -> tuple[str, str]:
    """A dataset with one sparsity level ``name``: not testable ("sparser" needs two), its k90 against Gaussian
    noise's kept in the numbers."""
    v, text = check
    text = text[len(f"{ds}: "):] if text.startswith(f"{ds}: ") else text
    said = v if isinstance(v, str) else (HOLDS if v else FAILS)
    return UNTESTABLE, f"{ds}: one sparsity level ({name}): {text.rsplit(' → ', 1)[0]} → {said}"


def claim_pca(ev: Evidence) -> Finding:
    if ev.source == "paper":
        return Finding(UNTESTABLE, "Fig. 3 is a plot without tabulated numbers")
    checks = []
    for ds, res in sorted(ev.extra.get("pca_collapse", {}).items()):
        if "k90" not in res or "gaussian" not in res["series"].values:
            continue
        k90 = res["k90"].to_series()
        gauss = float(k90["gaussian"])
        inv = res.sel(series=[s for s in res["series"].values if s != "gaussian" and
                              str(res["method"].sel(series=s).values) == "ddim"])
        if inv.sizes.get("series", 0) == 0:
            continue
        order = np.argsort(inv["factor"].values)
        ks = [int(inv["k90"].values[i]) for i in order]
        names = [str(inv["series"].values[i]) for i in order]
        if "k90_draws" in res:  # subsampled k90s: three-way verdicts on paired differences
            found = _k90_checks(ds, res, names)
            checks += found if len(names) > 1 else [_one_level(ds, names[0], found[0])]
            continue
        text = (f"{ds}: components for 90 % of the variance: gaussian {int(gauss)}, "
                + ", ".join(f"{n} {k}" for n, k in zip(names, ks)))
        if len(ks) == 1:
            checks.append(_one_level(ds, names[0], (ks[0] < gauss, text)))
            continue
        fewer = all(k < gauss for k in ks)
        sparser = all(a >= b for a, b in zip(ks, ks[1:])) and ks[0] > ks[-1]
        checks.append((fewer and sparser, text))
    return combine_testable(checks, "needs pca_collapse results")

