"""The checks the paper's claims are decided by (``claims.paper`` lists the claims), each a function of the
scorecard's ``Evidence`` returning a ``verdicts.Finding``; and the reader names of ablation arms ("DiT", "×4")."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np
import pandas as pd

from ..metrics.intervals import MIN_EFFECT, Interval, three_way
from ..text import signed
from ..framework.method_labels import MODEL_WORDS
from .scorecard import OVG_LABELS, PAPER_SCALES, STANDIN, method_means, scale_labels
from .evidence import Evidence, per_object
from .shares import countable
from ..studies.pareto_tuning import best_on_validation
from .compare import (FAILS, HOLDS, INCONCLUSIVE, UNTESTABLE, Finding, combine, compare, correlation_verdict,
                       fisher_interval, label, natural_key, texture_check, versus_or_tie, fmt_value)

__all__ = ["ARM_WORDS", "arm_words", "arm_name", "differences", "correlated", "taba_structure", "ovg_front",
           "ovg_texture_check", "lowest_lpips", "pareto_expands", "scale_psnr", "scale_monotone",
           "pca_fewer", "texture_claim", "distinct_points", "correlation_finding"]

# An arm's value on each ablation axis as every page writes it (the stored results keep the keys)
ARM_WORDS = {
    "factor": lambda v: f"×{v}",
    "parameterization": lambda v: MODEL_WORDS.get(str(v), f"{v}-prediction"),
    "space": lambda v: f"{v} space",
    "backbone": lambda v: {"unet": "U-Net", "dit": "DiT"}.get(str(v).lower(), str(v)),
    "train_seed": lambda v: f"training seed {v}",
}


def arm_words(axis: str, value) -> str:
    """One arm's value on an ablation axis in the reader's words (``ARM_WORDS``); a value of another axis as it is."""
    return ARM_WORDS.get(axis, str)(value)


def arm_name(sel: dict) -> str:
    """An arm named by its axes' values in words: {"parameterization": "eps", "factor": 4} -> "ε-prediction, ×4"."""
    return ", ".join(arm_words(a, v) if a in ARM_WORDS else f"{a} {v}" for a, v in sel.items())


def differences(study: str, pairs, missing: str, axis: str | None = None, more=None) -> Callable[[Evidence], Finding]:
    """The claim that each a − b of ``pairs`` ((a, b, metric, higher)) is > 0 or < 0 on every dataset (and arm of
    ``axis``) of ``study``; ``more(ev, dataset)``: further checks of a dataset."""
    def test(ev: Evidence) -> Finding:
        f = ev.select(study)
        if axis is not None and (f.empty or axis not in f):
            return Finding(UNTESTABLE, f"needs {study} results with a {axis} axis")
        keys = ["dataset", *([axis] if axis else [])]
        settings = f[keys].dropna().drop_duplicates().sort_values(keys).to_numpy() if "dataset" in f else []
        checks = []
        for ds, *arm in settings:
            pre = f"{ds} {arm_words(axis, arm[0])}: " if arm else f"{ds}: "
            eq = {"dataset": ds, **({axis: arm[0]} if arm else {})}
            checks += [versus_or_tie(ev, study, eq, a, b, m, higher=h, prefix=pre) for a, b, m, h in pairs]
            checks += more(ev, ds) if more else []
        return combine(checks, missing)
    return test


def distinct_points(frame: pd.DataFrame, crops: pd.DataFrame, metrics, keys=("dataset", "method")) -> tuple:
    """One point per ``keys``: each metric's mean without failed cells and coinciding methods: (wide frame, counts)."""
    f, why = countable(frame)
    keys = [k for k in keys if k in f or k in crops]
    parts = []
    c = crops[crops["same_as"].fillna("") == ""] if "same_as" in crops else crops
    for m in metrics:
        src = c if not c.empty and m in set(c["metric"]) else f
        if not src.empty and m in set(src["metric"]):
            parts.append(src[src["metric"] == m].groupby(keys)["value"].mean().rename(m))
    why["coinciding"] = len({tuple(k) for src in (frame, crops) if "same_as" in src and not src.empty
                             for k in src.loc[src["same_as"].fillna("") != "", keys].to_numpy()})
    return (pd.concat(parts, axis=1) if parts else pd.DataFrame()), why


def correlation_finding(w: pd.DataFrame, why: dict, a: str, b: str, sign: int, threshold: float,
                        paper: bool = False) -> Finding:
    """Pearson r of ``a`` and ``b`` over ``w``: ours three-way on the Fisher-z interval, the paper's on a threshold."""
    r = float(np.corrcoef(w[a], w[b])[0, 1])
    groups = sorted(w.groupby(level="dataset"), key=lambda x: natural_key(x[0])) if "dataset" in w.index.names else []
    per = [f"{ds} {signed(np.corrcoef(g[a], g[b])[0, 1], 2)}" for ds, g in groups
           if len(g) > 2 and g[a].nunique() > 1 and g[b].nunique() > 1]
    per = f" ({', '.join(per)})" if per else ""
    if paper:
        return Finding(HOLDS if r * sign >= threshold else FAILS,
                       f"Pearson r = {signed(r, 2)} over {len(w)} points{per}")
    lo, hi = fisher_interval(r, len(w))
    v = correlation_verdict(r, lo, hi, sign, threshold)
    out = f"; coinciding {why.get('coinciding', 0)}, failed cells {why.get('failed', 0)}"
    return Finding(v, f"Pearson r = {signed(r, 2)} [{signed(lo, 2)}, {signed(hi, 2)}] over {len(w)} points{per}"
                      f"{out} → {v}")


def correlated(a: str, b: str, sign: int, threshold: float = 0.5) -> Callable[[Evidence], Finding]:
    """Pearson r of ``a`` and ``b`` over distinct (dataset, method) points (``correlation_finding``)."""
    def test(ev: Evidence) -> Finding:
        w, why = distinct_points(ev.select("main"), ev.select("main", per_crop=True), (a, b))
        lack = [label(m) for m in (a, b) if m not in w]
        if lack:
            return Finding(UNTESTABLE, f"no {', '.join(lack)}")
        short = w[w[[a, b]].isna().any(axis=1)]
        w = w[[a, b]].dropna()
        w = w[w.groupby(level="dataset")[a].transform("count") > 2] if "dataset" in w.index.names else w
        if len(w) < 3 or w[a].nunique() < 2 or w[b].nunique() < 2:
            return Finding(UNTESTABLE, f"< 3 varying points of {a}, {b}")
        found = correlation_finding(w, why, a, b, sign, threshold, paper=ev.source == "paper")
        floor = {m: int((w[m].abs() <= MIN_EFFECT.get(m, 0.01)).sum()) for m in (a, b)}
        flat = [m for m, k in floor.items() if 2 * k >= len(w)]
        if flat and ev.source != "paper":   # FLOOR_RULE: a score that does not vary decides nothing
            m = flat[0]
            return Finding(UNTESTABLE, f"{label(m)} is {fmt_value(0.0)} (at its floor, within its minimal effect) on "
                                       f"{floor[m]} of {len(w)} points: it does not vary here, so r cannot be read "
                                       f"({found.detail.split(' → ')[0]}) → {UNTESTABLE}",
                           f"{label(m)} does not vary: at its floor on {floor[m]} of {len(w)} points")
        if "s_dc" in (a, b) and ev.source != "paper":   # the support leak beside S_DC, where it is stored
            lw, _ = distinct_points(ev.select("main"), ev.select("main", per_crop=True), ("s_dc", "support_leak"))
            lw = lw.dropna() if "support_leak" in lw else lw.iloc[:0]
            if len(lw) >= 3 and lw["s_dc"].nunique() > 1 and lw["support_leak"].nunique() > 1:
                r = signed(np.corrcoef(lw["s_dc"], lw["support_leak"])[0, 1], 2)
                found = replace(found, detail=f"{found.detail}; beside it, Pearson r(S_DC, support leak) = {r} over "
                                              f"{len(lw)} points")
        if short.empty:
            return found
        names = [" ".join(map(str, k if isinstance(k, tuple) else (k,))) for k in short.index]
        return Finding(found.verdict, f"{found.detail}; no point: " + ", ".join(names))
    return test


def _main_by_dataset(ev: Evidence):
    """(dataset, per-method metric means) of the stored main results, one dataset at a time."""
    w = method_means(ev.select("main"))
    for ds in (w.index.get_level_values(0).unique() if not w.empty else []):
        yield ds, w.loc[ds]


def taba_structure(ev: Evidence) -> Finding:
    checks, main = [], ev.select("main")
    for ds in sorted(main["dataset"].unique()) if "dataset" in main else []:
        crops = ev.select("main", per_crop=True, dataset=ds, metric="s_lf")
        f = crops if not crops.empty else ev.select("main", dataset=ds, metric="s_lf")
        means = f.groupby("method")["value"].mean() if not f.empty else pd.Series(dtype=float)
        ovg = [m for m in OVG_LABELS if m in means.index and np.isfinite(means[m])]
        if "taba" not in means.index or not ovg:
            continue
        sweep = ev.extra.get("pareto", {}).get(ds)   # the best variant is picked on validation, judged on test
        best = best_on_validation(sweep, ovg, "s_lf") if sweep is not None else None
        how = "validation S_LF" if best is not None else "mean S_LF"   # the paper's tables, or a run without a sweep
        best = best if best is not None else max(ovg, key=lambda m: means[m])
        checks.append(versus_or_tie(ev, "main", {"dataset": ds}, "taba", best, "s_lf", higher=False,
                                    prefix=f"{ds} (best OVG by {how}: {best}): "))
    return combine(checks, "needs main results with taba and an OVG variant")


def ovg_front(ev: Evidence) -> Finding:
    from ..studies.pareto_choice import pareto_front

    checks = []
    for ds, d in _main_by_dataset(ev):
        if not {"s_hf", "s_lf"} <= set(d.columns) or not any(m in d.index for m in OVG_LABELS):
            continue
        d = d[["s_hf", "s_lf"]].dropna()
        front = pareto_front(d["s_hf"], d["s_lf"])
        on = [m for m, f in zip(d.index, front) if f]
        checks.append((any(m in OVG_LABELS for m in on), f"{ds}: front = {', '.join(on)}"))
    return combine(checks, "needs main results with an OVG variant and S_HF, S_LF")


def ovg_texture_check(ev: Evidence, ds: str) -> list:
    """OVG's signed texture error against DDIM's on a dataset's crops (``texture_check``), as ``differences`` adds it."""
    crops = ev.select("main", per_crop=True, dataset=ds)
    return [texture_check(crops, "ovg", "ddim", prefix=f"{ds}: ") if not crops.empty else None]


def lowest_lpips(ev: Evidence) -> Finding:
    checks = []
    for ds, d in _main_by_dataset(ev):
        if (STANDIN.get(ds.split(" ")[0]) != "edges2shoes" or "lpips" not in d or d["lpips"].dropna().empty
                or "ovg_edm" not in d.index):
            continue
        best = d["lpips"].idxmin()
        checks.append((best == "ovg_edm", f"{ds}: lowest LPIPS {best} {fmt_value(d.loc[best, 'lpips'])}"
                       + ("" if best == "ovg_edm" else f", ovg_edm {fmt_value(d.loc['ovg_edm', 'lpips'])}")))
    return combine(checks, "needs LPIPS (AlexNet weights) on an Edges2Shoes stand-in")


def pareto_expands(ev: Evidence) -> Finding:
    """Some OVG grid point on each sweep's joint S_HF / S_LF front of grid points and baselines (grid points with
    failed samples left out)."""
    from ..studies.pareto import joint_front

    if ev.source == "paper":
        return Finding(UNTESTABLE, "Fig. 6 gives no numbers and the step sizes are not published")
    checks = []
    for ds, res in sorted(ev.extra.get("pareto", {}).items()):
        grid, _, front = joint_front(res)
        by_base = grid[front[:len(grid)]].groupby("base").size()
        bases = ", ".join(f"{k} {b}" for b, k in sorted(by_base.items(), key=lambda x: str(x[0]))) or "none"
        checks.append((by_base.sum() > 0, f"{ds}: OVG points on the joint front: {bases}; baselines: "
                                          f"{int(front[len(grid):].sum())}"))
    return combine(checks, "needs pareto study results")


def _scale_name(value, labels: dict) -> str:
    """A scale as the evidence knows it: the paper's own label, or ours beside the paper's row it stands for."""
    ours = str(value) if str(value).startswith("x") else f"x{int(float(value))}"
    return ours if ours == labels[value] else f"{ours} (for the paper's {labels[value]})"


def scale_psnr(ev: Evidence) -> Finding:
    f = ev.select("scale")
    if f.empty or "scale" not in f:
        return Finding(UNTESTABLE, "needs scale_factor results")
    checks = []
    for ds, g in f.groupby("dataset"):
        labels = scale_labels(g["scale"].unique())
        if not labels:
            continue
        top = max(labels, key=lambda s: PAPER_SCALES.index(labels[s]))
        eq, pre = {"dataset": ds, "scale": top}, f"{ds} {_scale_name(top, labels)}: "
        for m in [m for m in ("taba", "ovg") if m in set(g["method"])]:
            checks += [versus_or_tie(ev, "scale", eq, "ddim", m, "psnr", prefix=pre),
                       versus_or_tie(ev, "scale", eq, "ddim", m, "s_hf", higher=False, prefix=pre)]
    return combine(checks, "needs scale_factor results with ddim, taba / ovg, PSNR and S_HF")


def scale_monotone(ev: Evidence) -> Finding:
    f = ev.select("scale", method="ddim", metric="s_dc")
    if f.empty or "scale" not in f:
        return Finding(UNTESTABLE, "needs scale_factor results with ddim and S_DC")
    checks = []
    for ds, g in f.groupby("dataset"):
        labels = scale_labels(g["scale"].unique())
        if len(labels) < 2:
            continue
        order = sorted(labels, key=lambda s: PAPER_SCALES.index(labels[s]))
        crops = ev.select("scale", per_crop=True, dataset=ds, method="ddim", metric="s_dc")
        if not crops.empty and "scale" in crops:  # each step paired on the crops (seed, sample) of both factors
            named = crops.assign(scale=crops["scale"].map(lambda s: _scale_name(s, labels) if s in labels else s))
            checks += [compare(named, *(_scale_name(s, labels) for s in step), "s_dc", by="scale",
                               prefix=f"{ds}: ddim ") for step in zip(order, order[1:])]
            continue
        vals = [g[g["scale"] == s]["value"].mean() for s in order]
        steps = list(zip(vals, vals[1:]))
        ok = all(a > b for a, b in steps)
        tied = not ok and not any(a < b for a, b in steps)   # no step the other way, but equal means somewhere
        sep = " > " if ok else ", "
        text = f"{ds}: S_DC of ddim " + sep.join(f"{_scale_name(s, labels)} {fmt_value(v)}"
                                                for s, v in zip(order, vals))
        checks.append((INCONCLUSIVE, f"{text} (tie at a step) → {INCONCLUSIVE}") if tied else (ok, text))
    return combine(checks, "needs scale_factor results at two or more factors")


def _k90_check(ds: str, res, a: str, b: str) -> tuple[str, str]:
    """Series ``a``'s k90 against ``b``'s: the 95 % interval of the differences over the study's subsamples."""
    d = (res["k90_draws"].sel(series=a).values - res["k90_draws"].sel(series=b).values).astype(np.float64)
    ci = Interval(float(d.mean()), *map(float, np.quantile(d, [0.025, 0.975])), len(d))
    v = three_way(ci, MIN_EFFECT["k90"], higher_is_claimed=False)
    return v, (f"{ds}: k90 {a} − {b} {signed(ci.mean, 1)} [{signed(ci.lo, 1)}, {signed(ci.hi, 1)}] ({len(d)} "
               f"subsamples of {int(res.attrs.get('k90_subsample', 0))} latents) → {v}")


def pca_fewer(ev: Evidence) -> Finding:
    if ev.source == "paper":
        return Finding(UNTESTABLE, "Fig. 3 is a plot without tabulated numbers")
    checks = []
    for ds, res in sorted(ev.extra.get("pca_collapse", {}).items()):
        if "k90_draws" not in res or "gaussian" not in res["series"].values:
            continue
        inv = res.sel(series=[s for s in res["series"].values if s != "gaussian" and
                              str(res["method"].sel(series=s).values) == "ddim"])
        if inv.sizes.get("series", 0) == 0:
            continue
        names = [str(inv["series"].values[i]) for i in np.argsort(inv["factor"].values)]
        found = [_k90_check(ds, res, n, "gaussian") for n in names]   # against noise's, then the next sparser's
        found += [_k90_check(ds, res, b, a) for a, b in zip(names, names[1:])]
        if len(names) == 1:  # not testable ("sparser" needs two levels); the k90 against noise's kept in the numbers
            found = [(UNTESTABLE, f"{ds}: one sparsity level ({names[0]}): {found[0][1][len(ds) + 2:]}")]
        checks += found
    return combine(checks, "needs pca_collapse results")


def texture_claim(a: str, b: str) -> Callable[[Evidence], Finding]:
    def test(ev: Evidence) -> Finding:
        from ..framework.realism import KID_PRECISION, texture_verdict

        checks = []
        for ds_name, ds in sorted(ev.extra.get("main", {}).items()):
            got = per_object(ds, ("texture", a, b), lambda: texture_verdict(ds, a, b))
            if got is not None:
                checks.append((got[0], f"{ds_name}: {got[1]}",
                               tuple(replace(g, what=f"{ds_name}: {g.what}") for g in got[2])))
        found = combine(checks, f"needs main results with {a}, {b} and the realism scores")
        moved = [f"{t.split(':')[0]}: {part.split(' → ')[0]}" for _, t, _ in checks for part in t.split("; ")
                 if KID_PRECISION in part]   # each said beside the verdict, in its caveat
        return replace(found, caveat="; ".join(moved)) if moved else found
    return test
