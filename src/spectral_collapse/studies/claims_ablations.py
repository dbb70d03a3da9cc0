"""Claims of the ablations (collapse along an ablation axis, the scale factor's PSNR and monotone trend) and of the
PCA study, as functions of the scorecard's ``Evidence``; ``studies.claims`` lists them with the others."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics.intervals import MIN_EFFECT, Interval, three_way
from .scorecard import PAPER_SCALES, Evidence, fmt_value, scale_labels
from .verdicts import UNTESTABLE, Finding, combine, compare, versus


def _ablation_collapse(short: str, axis: str, values: tuple[str, ...] | None, fixed_ref: tuple[str, ...]):
    def test(ev: Evidence) -> Finding:
        f = ev.select(short)
        if f.empty or axis not in f:
            return Finding(UNTESTABLE, f"needs {short} results with a {axis} axis")
        checks = []
        for (ds, v), g in f.groupby(["dataset", axis]):
            if values and str(v).lower() not in values:
                continue
            checks += [versus(ev, short, {"dataset": ds, axis: v}, "ddim", r, m, higher=False, prefix=f"{ds} {v}: ")
                       for r in fixed_ref for m in ("s_hf", "s_dc")]
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


def _claim_scale_psnr(ev: Evidence) -> Finding:
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
            checks += [versus(ev, "scale", eq, "ddim", m, "psnr", prefix=pre),
                       versus(ev, "scale", eq, "ddim", m, "s_hf", higher=False, prefix=pre)]
    return combine(checks, "needs scale_factor results with ddim, taba / ovg, PSNR and S_HF")


def _claim_scale_monotone(ev: Evidence) -> Finding:
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
        ok = all(a > b for a, b in zip(vals, vals[1:]))
        sep = " > " if ok else ", "
        checks.append((ok, f"{ds}: S_DC of ddim "
                           + sep.join(f"{_scale_name(s, labels, ev.source)} {fmt_value(v)}"
                                      for s, v in zip(order, vals))))
    return combine(checks, "needs scale_factor results at two or more factors")


def _k90_checks(ds: str, res, names: list[str]) -> list[tuple[str, str]]:
    """Each DDIM series' k90 against Gaussian noise's, and each against the next sparser one's, as paired
    differences over the study's subsamples (``studies.latents.k90_draws``: the 95 % interval of the draws'
    differences, read with ``three_way`` and a minimal effect of one component)."""
    draws = res["k90_draws"]
    m = int(res.attrs.get("k90_subsample", 0))

    def check(a: str, b: str) -> tuple[str, str]:
        d = (draws.sel(series=a).values - draws.sel(series=b).values).astype(np.float64)
        ci = Interval(float(d.mean()), *map(float, np.quantile(d, [0.025, 0.975])), len(d))
        v = three_way(ci, MIN_EFFECT["k90"], higher_is_claimed=False)
        return v, (f"{ds}: k90 {a} − {b} {ci.mean:+.1f} [{ci.lo:+.1f}, {ci.hi:+.1f}] ({len(d)} subsamples of {m} "
                   f"latents) → {v}")

    return [check(n, "gaussian") for n in names] + [check(b, a) for a, b in zip(names, names[1:])]


def _claim_pca(ev: Evidence) -> Finding:
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
            checks += _k90_checks(ds, res, names)
            continue
        fewer = all(k < gauss for k in ks)
        sparser = all(a >= b for a, b in zip(ks, ks[1:])) and len(ks) > 1 and ks[0] > ks[-1]
        ok = fewer and (sparser or len(ks) == 1)
        checks.append((ok, f"{ds}: components for 90 % of the variance: gaussian {int(gauss)}, "
                           + ", ".join(f"{n} {k}" for n, k in zip(names, ks))))
    return combine(checks, "needs pca_collapse results")


# How comparisons, shares and correlations are decided (``studies.verdicts``), appended to each claim's rule.
