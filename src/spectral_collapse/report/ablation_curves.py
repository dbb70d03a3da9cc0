"""What the ablation chapters' curves can say (paper Sec. 6.3, Fig. 3, Table 5): how far the PCA curves of an
ablation's inverted latents tell methods apart, and how a score moves over the SR factors, in the paper's Table 5 and
in ours.

An ablation's PCA runs over the few test crops of one seed (``studies.ablations._pca``), so the chapter says how many,
what that bounds (at most n − 1 components carry variance) and which methods' curves stay apart over the seeds
(``pca_note``); a trend over the factors is said from the numbers (``trend_words``), never assumed monotone.
"""
from __future__ import annotations

import re

import json

import numpy as np
import pandas as pd
import xarray as xr

from ..reference import paper_tables
from ..studies.ablations import ablation_summary, paper_key_of
from ..studies.claims_words import arm_name
from ..studies.claims_words import upper_first

__all__ = ["pca_separation", "pca_note", "trend_words", "factor_trend_text"]


# ------------------------------------------------------------------------------------- the PCA curves' reach

def _k90(cev: np.ndarray) -> float:
    """Components for 90 % of the variance of one cumulative curve (NaN for a curve that is all NaN)."""
    cev = np.asarray(cev, dtype=float)
    if not np.isfinite(cev).any():
        return float("nan")
    return float(np.argmax(np.nan_to_num(cev, nan=-1.0) >= 0.9 - 1e-12) + 1)


def _arm_sels(ds: xr.Dataset) -> list[dict]:
    """Every arm as a selection of its axes' values, in the results' order."""
    import itertools

    axes = json.loads(ds.attrs["axes"])
    return [dict(zip(axes, combo)) for combo in itertools.product(*[[v.item() for v in ds[a].values] for a in axes])]


def pca_separation(ds: xr.Dataset) -> pd.DataFrame:
    """Per (arm, method): the PCA curves of the seeds (each a PCA over one seed's inverted latents) summed up as
    ``n`` (latents in the PCA), ``seeds`` (curves), ``k90_lo`` / ``k90_hi`` and ``auc_lo`` / ``auc_hi`` (the range over
    the seeds of k90 and of the curve's mean), with Gaussian noise of the same count and dimension as method
    "N(0, I)" (one draw). A method without a curve (fewer than two finite latents) is left out."""
    rows = []
    for sel in _arm_sels(ds):
        arm = arm_name(sel)
        cev = ds["pca_cev"].sel(sel)
        for m in cev["method"].values:
            curves = [c for c in cev.sel({"method": m}).transpose("seed", "component").values if np.isfinite(c).any()]
            if not curves:
                continue
            k90 = [_k90(c) for c in curves]
            auc = [float(np.nanmean(c)) for c in curves]
            rows.append({"arm": arm, "method": str(m), "n": int(max(np.isfinite(c).sum() for c in curves)),
                         "seeds": len(curves), "k90_lo": min(k90), "k90_hi": max(k90), "auc_lo": min(auc),
                         "auc_hi": max(auc)})
        g = ds["pca_cev_gaussian"].sel({k: v for k, v in sel.items() if k in ds["pca_cev_gaussian"].dims}).values
        if np.isfinite(g).any():
            k, a = _k90(g), float(np.nanmean(g))
            rows.append({"arm": arm, "method": "N(0, I)", "n": int(np.isfinite(g).sum()), "seeds": 1, "k90_lo": k,
                         "k90_hi": k, "auc_lo": a, "auc_hi": a})
    return pd.DataFrame(rows, columns=["arm", "method", "n", "seeds", "k90_lo", "k90_hi", "auc_lo", "auc_hi"])


def _span(lo: float, hi: float, fmt: str) -> str:
    return f"{lo:{fmt}}" if f"{lo:{fmt}}" == f"{hi:{fmt}}" else f"{lo:{fmt}}–{hi:{fmt}}"


def _separates(a: pd.Series, b: pd.Series) -> bool:
    """Two methods' curves separate when the ranges of their means over the seeds do not overlap."""
    return bool(a.auc_hi < b.auc_lo or b.auc_hi < a.auc_lo)


def _own_crops(ds: xr.Dataset) -> bool:
    """Whether each seed inverts its own test crops (no crop in two seeds' sets), as the stored crop indices say."""
    if "crop" not in ds or "seed" not in ds["crop"].dims or ds.sizes["seed"] < 2:
        return False
    c = ds["crop"].transpose("seed", ...).values.reshape(ds.sizes["seed"], -1)
    sets = [set(row[np.isfinite(row)].astype(int).tolist()) if row.dtype.kind == "f" else set(row.tolist())
            for row in c]
    return all(not (sets[i] & sets[j]) for i in range(len(sets)) for j in range(i))


def _pca_chapter(ds: xr.Dataset, results_root) -> str:
    """The PCA-collapse chapter of the same dataset and profile, linked and with its latents and series when its
    results are stored; else named in words."""
    from ..studies.store import load_results, results_path

    dataset, profile = str(ds.attrs.get("dataset", "")), str(ds.attrs.get("profile", ""))
    path = results_path("pca_collapse", dataset, profile, results_root)
    if not path.exists():
        return "the PCA-collapse chapter runs the same PCA on more latents"
    pc = load_results(path)
    series = ["Gaussian noise" if str(v) == "gaussian" else str(v) for v in pc["series"].values]
    return (f"the {{doc}}`PCA-collapse chapter </studies/pca_collapse-{dataset}>` runs the same PCA on "
            f"{int(pc['n'].values.min())} latents per series ({', '.join(series)})")


def pca_note(ds: xr.Dataset, results_root="data/results") -> str:
    """Markdown under the chapter's PCA chart: how many latents each curve is over (so at most n − 1 components carry
    variance, the PCA centring them), k90 and the curve's mean per arm and method as ranges over the seeds, which
    methods' curves separate (their ranges do not overlap, ``pca_separation``) and which do not, and where a PCA on
    more latents is (``_pca_chapter``). With one seed only, it says that the curves' spread is unknown."""
    t = pca_separation(ds)
    if t.empty:
        return ""
    inv = t[t["method"] != "N(0, I)"]
    ns, seeds = sorted(set(inv["n"])), int(inv["seeds"].max())
    d = sorted({int(v) for v in np.ravel(ds["latent_dim"].values)}) if "latent_dim" in ds else []
    n_txt = f"n = {ns[0]}" if len(ns) == 1 else f"n = {ns[0]} to {ns[-1]}"
    d_txt = (f", of dimension d = {' or '.join(map(str, d))}" + (" by arm" if len(d) > 1 else "")) if d else ""
    head = (f"Each PCA curve is computed over {n_txt} inverted latents{d_txt}; the chart draws the first seed's. "
            f"The PCA centres the latents, so at most n − 1 = {ns[-1] - 1} components carry variance, and k90 (the "
            f"components for 90 % of the variance) lies between 1 and {ns[-1] - 1} whatever the method. ")
    if seeds < 2:
        return (head + f"With one seed the curves' spread is unknown, so these curves cannot tell methods apart; "
                + _pca_chapter(ds, results_root) + ".")
    crops = "each a PCA of its own test crops" if _own_crops(ds) else "each a PCA of the same test crops"
    lines = []
    for arm, g in t.groupby("arm", sort=False):
        parts = [f"{r.method} k90 {_span(r.k90_lo, r.k90_hi, '.0f')}, mean {_span(r.auc_lo, r.auc_hi, '.3f')}"
                 for r in g.itertuples()]
        rows = [r for _, r in g[g["method"] != "N(0, I)"].iterrows()]
        apart, close = [], []
        for i, a in enumerate(rows):
            for b in rows[:i]:
                (apart if _separates(a, b) else close).append(f"{b.method} vs {a.method}")
        said = ([f"separate: {', '.join(apart)}"] if apart else []) + ([f"do not separate: {', '.join(close)}"]
                                                                     if close else [])
        gone = [str(m) for m in ds["method"].values if str(m) not in set(g["method"])]
        if gone:
            said.append(f"no curve for {', '.join(gone)} (fewer than two finite inverted latents)")
        lines.append(f"- {arm}: {'; '.join(parts)}. " + ". ".join(upper_first(x) for x in said) + ".")
    same = [str(arm) for arm, g in t.groupby("arm", sort=False)
            if {"ddim", "ovg"} <= set(g["method"]) and not _separates(*(g[g["method"] == m].iloc[0]
                                                                         for m in ("ddim", "ovg")))]
    if same:
        where = "every arm" if len(same) == t["arm"].nunique() else ", ".join(same)
        lines.append(f"\nIn {where}, DDIM's and OVG's curves do not separate: OVG's latents spread their variance "
                     "over the principal components as DDIM's do. What OVG changes shows in the tables' S_HF and "
                     "S_DC, not in this PCA, so the recovery under OVG that the paper reports is read from those "
                     "scores, not from these curves.")
    return (head + f"Over the {seeds} seeds, {crops}, k90 and the curve's mean (a range where the seeds differ; "
            f"Gaussian noise one draw), and whether two methods' curves separate (their ranges over the seeds do not "
            f"overlap):\n\n" + "\n".join(lines) + f"\n\nWith {n_txt} latents a curve tells methods apart only where "
            f"these ranges part; {_pca_chapter(ds, results_root)}.")


# ------------------------------------------------------------------------------------ trends over the factors

def trend_words(points) -> str:
    """How a sequence of (label, value) moves, in words: "falls at every step", "rises at every step", "falls or
    stays level", "rises or stays level", "stays level", or "is not monotone (lowest at <label>, highest at
    <label>)"; "one value only" for fewer than two."""
    points = [(str(k), float(v)) for k, v in points if v == v]
    if len(points) < 2:
        return "one value only"
    d = np.diff([v for _, v in points])
    if (d == 0).all():
        return "stays level"
    if (d < 0).all():
        return "falls at every step"
    if (d > 0).all():
        return "rises at every step"
    if (d <= 0).all():
        return "falls or stays level"
    if (d >= 0).all():
        return "rises or stays level"
    lo = min(points, key=lambda p: p[1])[0]
    hi = max(points, key=lambda p: p[1])[0]
    return f"is not monotone (lowest at {lo}, highest at {hi})"


def _series(points, digits: int) -> str:
    return ", ".join(f"{v:.{digits}f} ({k})" for k, v in points)


def factor_trend_text(ds: xr.Dataset, metrics=("s_hf", "s_dc"), method: str = "ddim") -> str:
    """Markdown: how ``method``'s scores move from the least to the most sparse input, in the paper's Table 5
    (BBBC021, its numbers as printed) and in ours (means over crops), each said by ``trend_words``, and whether
    Table 5 itself shows collapse deepening (every score given falling at every step); '' without factors or without
    the method's paper rows."""
    from .tables import METRIC_NAMES

    if "factor" not in ds.dims or method not in set(map(str, ds["method"].values)):
        return ""
    key = paper_key_of(ds)
    paper = paper_tables()
    paper = paper[(paper.table == "table5") & (paper.dataset == "bbbc021") & (paper.method == method)]
    ours = ablation_summary(ds, list(metrics))
    ours = ours[ours["method"] == method]
    order = sorted(paper["scale"].unique(), key=lambda v: int(str(v).lstrip("x")))
    said_paper, said_ours, deepens = [], [], []
    for m in metrics:
        name = METRIC_NAMES.get(m, m)
        p = [(sc, float(paper[(paper.scale == sc) & (paper.metric == m)]["mean"].iloc[0])) for sc in order
             if len(paper[(paper.scale == sc) & (paper.metric == m)])]
        o = [(f"x{int(f)}", float(ours[(ours["factor"] == f) & (ours["metric"] == m)]["mean"].iloc[0]))
             for f in sorted(key["factor"]) if len(ours[(ours["factor"] == f) & (ours["metric"] == m)])]
        if len(p) >= 2:
            said_paper.append(f"{name} {_series(p, 2)} {trend_words(p)}")
            deepens.append(trend_words(p) == "falls at every step")
        if len(o) >= 2:
            said_ours.append(f"{name} {_series(o, 3)} {trend_words(o)}")
    if not said_paper and not said_ours:
        return ""
    out = []
    if said_paper:
        out.append(f"In the paper's Table 5 ({method.upper()} rows, BBBC021, from the least to the most sparse input): "
                   + "; ".join(said_paper) + ". "
                   + ("So Table 5 shows collapse deepening at every step." if all(deepens) else
                      "So Table 5 does not show collapse deepening at every step as the input gets sparser; that "
                      "trend is the paper's Sec. 4 and Fig. 3."))
    if said_ours:
        pairs = ", ".join(f"our x{int(f)} for its {v}" for f, v in zip(key["factor"], key["paper_value"]) if v)
        out.append(f"Ours, the same way ({method.upper()}, means over crops; {pairs}): " + "; ".join(said_ours) + ".")
    judged = verdict_metrics(metrics)
    if judged and set(judged) != set(metrics):
        named = " and ".join(METRIC_NAMES.get(m, m) for m in judged)
        rest = " and ".join(METRIC_NAMES.get(m, m) for m in metrics if m not in judged)
        out.append(f"The verdict below on collapse growing with sparsity judges {named} alone (the claims page's "
                   f"test of that claim); {rest} {'is' if len(metrics) - len(judged) == 1 else 'are'} not part of "
                   f"it, and the trend {'it shows' if len(metrics) - len(judged) == 1 else 'they show'} above does "
                   "not enter that verdict.")
    return " ".join(out)


def verdict_metrics(metrics, claim: str = "scale_monotone") -> list[str]:
    """Which of ``metrics`` the claims page's test of ``claim`` (its ``rule`` text, ``studies.claims.CLAIMS``)
    reads, by their symbols there ("S_DC of ddim decreasing …" -> ["s_dc"]); [] without that claim."""
    from ..studies.claims import CLAIMS
    from .tables import METRIC_NAMES

    found = next((c for c in CLAIMS if c.key == claim), None)
    if found is None:
        return []
    test = str(found.rule)
    return [m for m in metrics if re.search(rf"(?<![\w]){re.escape(METRIC_NAMES.get(m, m))}(?![\w])", test)
            or re.search(rf"(?<![\w]){re.escape(m)}(?![\w])", test)]

