"""Reproduction scorecard and claims: the paper's numbers beside ours, matched by a join, and a verdict per claim.

Scorecard. Every row of the paper's tables (``reference.paper_tables()``: Tables 1, 3-6, 8-11 in long form) is
left-joined on ``KEYS`` = (table, dataset, scale, backbone, space, method, metric) with the rows we derive from
stored results; a paper row with no counterpart reads "not run". Our rows come from:

- ``main_results/<dataset>-<profile>.nc``: bundled ``ihc-sr`` stands in for BBBC021 x16 (Table 9), ``ihc-edges``
  for Edges2Shoes (Table 11); a real ``bbbc021`` run maps to Table 8 / 9 / 10 by its SR factor and a real
  ``edges2shoes`` run to Table 11. A real dataset replaces its bundled stand-in on the same key.
- ablation results (``backbone_ablation`` -> Table 3 by ``backbone``, ``space_ablation`` -> Table 4 by ``space``,
  ``scale_factor`` -> Table 5 by ``scale``/``factor``), BBBC021 stand-ins only (those tables are BBBC021 x16).
- Table 1 ("% of comparisons where a stochastic method beats a deterministic one") recomputed from the main
  results, and Table 6 ("% of cases where x0-prediction beats eps-prediction") from ``eps_vs_x0`` results.

Aggregation is the paper's: mean over the test images of one seed, then mean and std (ddof 1) over seeds.

Claims. Each quantitative claim of the paper is a small function of an ``Evidence`` (a long frame of per-seed
means, plus Pareto results) that returns a ``Finding``: "holds", "does not hold" or "not testable here", with the
numbers behind it. The same function runs on our evidence and on evidence built from the paper's own tables
(one "seed" = the reported mean), so the claims page also shows where the paper's tables disagree with its text.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from ..reference import paper_tables
from .store import load_results

__all__ = ["KEYS", "METRICS", "LOWER_IS_BETTER", "DETERMINISTIC", "STOCHASTIC", "OVG_LABELS", "Evidence", "Finding",
           "Claim", "CLAIMS", "long_frame", "load_evidence", "paper_evidence", "our_table_rows", "scorecard",
           "percent_improved", "evaluate_claims", "counts", "measure_paper_unet", "paper_scale_estimate", "TIMING_FILE",
           "md_table",
           "scorecard_markdown", "scorecard_fragment", "claims_fragment", "errata_checks", "errata_fragment",
           "collapse_figure", "intro_fragment", "cost_fragment", "reproducing_fragment", "book_fragments"]

KEYS = ["table", "dataset", "scale", "backbone", "space", "method", "metric"]
METRICS = ("psnr", "ms_ssim", "lpips", "fid", "s_hf", "s_lf", "s_dc", "s_g")
LOWER_IS_BETTER = {"lpips", "fid"}
DETERMINISTIC = ("ddim", "null_class", "direct_inversion")   # Table 1's "deterministic" group
STOCHASTIC = ("taba", "renoise")                             # Table 1's "stochastic" group
OVG_LABELS = ("ovg", "ovg_taba", "ovg_edm")
PAPER_SCALES = ("x8", "x16", "x32")
_MAIN_TABLE = {("bbbc021", "x8"): "table8", ("bbbc021", "x16"): "table9", ("bbbc021", "x32"): "table10",
               ("edges2shoes", ""): "table11"}
_STANDIN = {"ihc-sr": "bbbc021", "bbbc021": "bbbc021", "ihc-edges": "edges2shoes", "edges2shoes": "edges2shoes"}
# study -> (short name in the evidence frame, the ablation axis, paper table)
ABLATIONS = {"backbone_ablation": ("backbone", "backbone", "table3"), "space_ablation": ("space", "space", "table4"),
             "scale_factor": ("scale", "scale", "table5")}
_AXIS_ALIASES = {"backbone": ("backbone", "arch", "architecture"), "space": ("space", "data_space"),
                 "scale": ("scale", "factor", "sr_factor"), "parameterization": ("parameterization", "prediction",
                                                                                  "objective", "target")}
EXTRA_STUDIES = ("pareto", "pca_collapse")   # read whole, for the claims that need more than table numbers
_NON_METRIC_DIMS = {"sample", "image", "channel", "y", "x", "noise_image", "model"}


# ------------------------------------------------------------------------------------------ evidence frames

def _find_dim(ds: xr.Dataset, axis: str) -> str | None:
    """The dimension (or coordinate) of ``ds`` that holds ``axis`` under one of its accepted names."""
    for name in _AXIS_ALIASES[axis]:
        if name in ds.dims or name in ds.coords:
            return name
    return None


def long_frame(ds: xr.Dataset, study: str, dataset: str) -> pd.DataFrame:
    """Per-seed means of every known metric in ``ds``: study, dataset, <other dims>, method, seed, metric, value.

    Per-sample variables are averaged over the finite samples of each seed; set-level ones (s_g, fid) are taken
    as they are. Variables without a ``method`` dimension are skipped.
    """
    frames = []
    for m in METRICS:
        if m not in ds or "method" not in ds[m].dims:
            continue
        v = ds[m]
        v = v.mean("sample", skipna=True) if "sample" in v.dims else v
        extra = [d for d in v.dims if d in _NON_METRIC_DIMS]
        if extra:  # a metric on images or models, not a table entry
            continue
        df = v.to_dataframe(name="value").reset_index()
        frames.append(df[[*v.dims, "value"]].assign(metric=m))
    if not frames:
        return pd.DataFrame(columns=["study", "dataset", "method", "seed", "metric", "value"])
    out = pd.concat(frames, ignore_index=True).assign(study=study, dataset=dataset)
    if "seed" not in out:
        out["seed"] = 0
    for axis in _AXIS_ALIASES:
        name = _find_dim(ds, axis)
        if name and name != axis and name in out:
            out = out.rename(columns={name: axis})
    for col in ("method", *(a for a in _AXIS_ALIASES if a in out)):
        out[col] = out[col].astype(str)
    return out


def _factor(ds: xr.Dataset, default: int | None = None) -> int | None:
    """The SR factor a results file was made with (data_meta attr), if recorded."""
    try:
        meta = json.loads(ds.attrs.get("data_meta", "{}"))
    except (TypeError, json.JSONDecodeError):
        meta = {}
    f = meta.get("factor", default)
    return int(f) if f not in (None, "") else None


@dataclass
class Evidence:
    """What claims are judged on: a long frame of per-seed means (+ Pareto results), ours or the paper's."""

    frame: pd.DataFrame
    extra: dict = field(default_factory=dict)      # study ("pareto", "pca_collapse") -> {dataset: xr.Dataset}
    source: str = "ours"                           # "ours" | "paper"
    files: dict = field(default_factory=dict)      # study -> [paths] (ours)

    def select(self, study: str, **eq) -> pd.DataFrame:
        """Rows of one study with column == value for each keyword (columns absent -> no rows)."""
        f = self.frame
        if f.empty or "study" not in f:
            return f
        f = f[f["study"] == study]
        for k, v in eq.items():
            if k not in f:
                return f.iloc[0:0]
            f = f[f[k].isin(v if isinstance(v, (list, tuple, set)) else [v])]
        return f


def load_evidence(root: str | Path = "data/results", profile: str = "quick") -> Evidence:
    """Our evidence: every stored results file of ``profile`` under ``root`` that the scorecard knows how to read."""
    root = Path(root)
    frames, files, extra = [], {}, {}
    studies = {"main_results": "main", **{k: v[0] for k, v in ABLATIONS.items()}, "eps_vs_x0": "x0"}
    for study, short in studies.items():
        for path in sorted((root / study).glob(f"*-{profile}.nc")):
            ds = load_results(path)
            dataset = str(ds.attrs.get("dataset") or path.stem.rsplit("-", 1)[0])
            fr = long_frame(ds, short, dataset)
            if short == "main":
                fr["factor"] = _factor(ds)
            frames.append(fr)
            files.setdefault(study, []).append(str(path))
    for study in EXTRA_STUDIES:
        for path in sorted((root / study).glob(f"*-{profile}.nc")):
            ds = load_results(path)
            extra.setdefault(study, {})[str(ds.attrs.get("dataset") or path.stem.rsplit("-", 1)[0])] = ds
            files.setdefault(study, []).append(str(path))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["study", "dataset", "method", "seed", "metric", "value"])
    return Evidence(frame=frame, extra=extra, source="ours", files=files)


def paper_evidence(paper: pd.DataFrame | None = None) -> Evidence:
    """The paper's Tables 3-5 and 8-11 as evidence (one "seed" holding the reported mean)."""
    p = paper_tables() if paper is None else paper
    rows = []
    main = p[p["table"].isin(list(_MAIN_TABLE.values()))]
    rows.append(main.assign(study="main", dataset=np.where(main["scale"] != "", main["dataset"] + " " + main["scale"],
                                                          main["dataset"])))
    for _, (short, axis, table) in ABLATIONS.items():
        t = p[p["table"] == table]
        rows.append(t.assign(study=short, dataset="bbbc021"))
    f = pd.concat(rows, ignore_index=True).rename(columns={"mean": "value"})
    f["seed"] = 0
    return Evidence(frame=f[["study", "dataset", "scale", "backbone", "space", "method", "seed", "metric", "value"]],
                    source="paper")


# ----------------------------------------------------------------------------------------- table rows

def _agg(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean and std (ddof 1) over seeds of per-seed means, with the number of seeds."""
    g = frame.groupby(by, dropna=False)["value"]
    return g.agg(ours_mean="mean", ours_std=lambda s: s.std(ddof=1) if s.count() > 1 else np.nan,
                 ours_n="count").reset_index()


def _scale_labels(values) -> dict:
    """Our SR-factor coordinate values -> the paper's x8 / x16 / x32 (by name, else by rank when there are 3)."""
    vals = [str(v) for v in values]
    if all(v in PAPER_SCALES for v in vals):
        return {v: v for v in vals}
    named = {v: f"x{int(float(v))}" for v in vals
             if re.fullmatch(r"\d+(\.0)?", v) and f"x{int(float(v))}" in PAPER_SCALES}
    if len(named) == len(vals):
        return named
    nums = sorted(vals, key=lambda v: float(re.sub(r"[^0-9.]", "", v) or "nan"))
    return dict(zip(nums, PAPER_SCALES)) if len(nums) == 3 else {}


def percent_improved(frame: pd.DataFrame, better: str, worse: str, by: str, pair_on: list[str]) -> pd.DataFrame:
    """Per metric, the fraction of paired cases where a ``better``-group value beats a ``worse``-group value.

    ``by`` is the column holding the group labels (e.g. "method" or "parameterization"); ``better`` / ``worse`` are
    group labels or tuples of them (every pair of one from each is a comparison); ``pair_on`` are the columns
    that must match within a comparison (e.g. dataset and seed). Lower-is-better metrics count a decrease.
    """
    better = (better,) if isinstance(better, str) else tuple(better)
    worse = (worse,) if isinstance(worse, str) else tuple(worse)
    rows = []
    for metric, f in frame.groupby("metric"):
        a = f[f[by].isin(better)]
        b = f[f[by].isin(worse)]
        m = a.merge(b, on=[*pair_on, "metric"], suffixes=("_a", "_b"))
        m = m[np.isfinite(m["value_a"]) & np.isfinite(m["value_b"])]
        if m.empty:
            continue
        win = m["value_a"] < m["value_b"] if metric in LOWER_IS_BETTER else m["value_a"] > m["value_b"]
        rows.append({"metric": metric, "improved": float(win.mean()), "cases": int(len(m))})
    return pd.DataFrame(rows, columns=["metric", "improved", "cases"])


def our_table_rows(ev: Evidence) -> pd.DataFrame:
    """Our rows on the paper's ``KEYS``: ours_mean, ours_std, ours_n (seeds; Tables 1, 6: comparisons), ours_from."""
    f = ev.frame
    out = []
    main = ev.select("main")
    if "factor" not in main:
        main = main.assign(factor=np.nan)
    for (dataset, factor), g in main.groupby(["dataset", "factor"], dropna=False):
        pds = _STANDIN.get(dataset)
        if pds is None:
            continue
        factor = None if pd.isna(factor) else factor
        if dataset == "bbbc021":
            scale = f"x{int(factor)}" if factor else ""
        else:
            scale = "x16" if pds == "bbbc021" else ""
        table = _MAIN_TABLE.get((pds, scale))
        if table is None:
            continue
        a = _agg(g, ["method", "metric"]).assign(table=table, dataset=pds, scale=scale, backbone="unet",
                                                 space="latent", real=dataset == pds)
        note = "" if dataset == pds else " (bundled stand-in)"
        a["ours_from"] = f"main_results {dataset}" + (f" x{int(factor)}" if factor else "") + note
        out.append(a)
    for study, (short, axis, table) in ABLATIONS.items():
        g = ev.select(short)
        if g.empty or axis not in g:
            continue
        for dataset, gd in g.groupby("dataset"):
            if _STANDIN.get(dataset) != "bbbc021":
                continue  # Tables 3-5 are BBBC021 only
            labels = _scale_labels(gd[axis].unique()) if axis == "scale" else {v: v.lower() for v in gd[axis].unique()}
            gd = gd[gd[axis].isin(list(labels))].assign(paper_value=lambda d: d[axis].map(labels))
            a = _agg(gd, ["paper_value", axis, "method", "metric"])
            fixed = {"backbone": "unet", "space": "latent", "scale": "x16", axis: a["paper_value"]}
            out.append(a.assign(table=table, dataset="bbbc021", real=dataset == "bbbc021",
                                ours_from=[f"{study} {dataset} factor {v} as {k}" if axis == "scale" else
                                           f"{study} {dataset} {axis} {v}" for v, k in zip(a[axis], a["paper_value"])],
                                **fixed))
    t1 = _table1_rows(ev)
    if t1 is not None:
        out.append(t1)
    t6 = _table6_rows(ev)
    if t6 is not None:
        out.append(t6)
    if not out:
        return pd.DataFrame(columns=[*KEYS, "ours_mean", "ours_std", "ours_n", "ours_from"])
    rows = pd.concat(out, ignore_index=True)
    rows = rows.sort_values("real", ascending=False, kind="stable").drop_duplicates(KEYS)  # real data first
    return rows[[*KEYS, "ours_mean", "ours_std", "ours_n", "ours_from"]].reset_index(drop=True)


def _table1_rows(ev: Evidence) -> pd.DataFrame | None:
    main = ev.select("main")
    if main.empty:
        return None
    pct = percent_improved(main, STOCHASTIC, DETERMINISTIC, "method", ["dataset", "seed"])
    if pct.empty:
        return None
    return pct.rename(columns={"improved": "ours_mean", "cases": "ours_n"}).assign(
        table="table1", dataset="all", scale="", backbone="unet", space="latent", method="stochastic_vs_deterministic",
        ours_std=np.nan, real=True, ours_from="main_results, all datasets and seeds (share of comparisons)")


def _table6_rows(ev: Evidence) -> pd.DataFrame | None:
    x0 = ev.select("x0")
    if x0.empty or "parameterization" not in x0:
        return None
    x0 = x0.assign(parameterization=x0["parameterization"].str.lower())
    eps = [v for v in x0["parameterization"].unique() if "eps" in v]
    xs = [v for v in x0["parameterization"].unique() if "x0" in v]
    if not eps or not xs:
        return None
    pair_on = [c for c in ("dataset", "method", "scale", "seed") if c in x0]
    pct = percent_improved(x0, xs, eps, "parameterization", pair_on)
    if pct.empty:
        return None
    return pct.rename(columns={"improved": "ours_mean", "cases": "ours_n"}).assign(
        table="table6", dataset="bbbc021", scale="all", backbone="unet", space="latent", method="x0_vs_eps",
        ours_std=np.nan, real=True, ours_from="eps_vs_x0, all methods, factors and seeds (share of cases)")


def scorecard(ev: Evidence | None = None, paper: pd.DataFrame | None = None, **load_kw) -> pd.DataFrame:
    """Every paper row with ours beside it (left join on KEYS); ``status`` is "compared" or "not run"."""
    ev = ev if ev is not None else load_evidence(**load_kw)
    paper = paper_tables() if paper is None else paper
    ours = our_table_rows(ev)
    card = paper.rename(columns={"mean": "paper_mean", "std": "paper_std"}).merge(
        ours, on=KEYS, how="left", validate="one_to_one")
    card["status"] = np.where(card["ours_mean"].notna(), "compared", "not run")
    return card


def counts(card: pd.DataFrame) -> pd.DataFrame:
    """Per table: paper numbers, how many have a counterpart of ours, and where ours come from."""
    g = card.groupby("table", sort=False)
    out = pd.DataFrame({"paper numbers": g.size(), "compared": g["ours_mean"].count()})
    out["from"] = g["ours_from"].agg(lambda s: "; ".join(sorted(set(s.dropna()))) or "not run")
    order = sorted(out.index, key=lambda t: int(re.sub(r"\D", "", t) or 0))
    return out.reindex(order)


# -------------------------------------------------------------------------------------------------- claims

HOLDS, FAILS, UNTESTABLE = "holds", "does not hold", "not testable here"


@dataclass(frozen=True)
class Finding:
    verdict: str
    detail: str


@dataclass(frozen=True)
class Claim:
    key: str
    where: str                         # section / table / figure of the paper
    statement: str                     # the claim, in our words
    rule: str                          # how we decide
    test: Callable[[Evidence], Finding]


def _means(f: pd.DataFrame, by=("dataset", "method")) -> pd.DataFrame:
    """Mean over seeds, wide by metric: index ``by``, one column per metric."""
    if f.empty:
        return pd.DataFrame()
    return f.groupby([*by, "metric"])["value"].mean().unstack("metric")


def _fmt(x: float) -> str:
    return "nan" if x is None or not np.isfinite(x) else f"{x:.3f}"


def _all(checks: list[tuple[bool, str]], missing: str) -> Finding:
    """Holds when every check holds; the detail says how many did when there are several."""
    if not checks:
        return Finding(UNTESTABLE, missing)
    n_ok = sum(ok for ok, _ in checks)
    head = f"{n_ok} of {len(checks)} hold: " if len(checks) > 1 else ""
    return Finding(HOLDS if n_ok == len(checks) else FAILS, head + "; ".join(t for _, t in checks))


def _below(metric: str, low: str, highs: tuple[str, ...]) -> Callable[[Evidence], Finding]:
    def test(ev: Evidence) -> Finding:
        checks = []
        for ds, d in _main_by_dataset(ev):
            have = [h for h in highs if h in d.index]
            if low not in d.index or not have or metric not in d:
                continue
            ok = all(d.loc[low, metric] < d.loc[h, metric] for h in have)
            checks.append((ok, f"{ds}: {low} {_fmt(d.loc[low, metric])} vs "
                               + ", ".join(f"{h} {_fmt(d.loc[h, metric])}" for h in have)))
        return _all(checks, f"needs main results with {low} and one of {', '.join(highs)} ({metric})")
    return test


def _pct_claim(ev: Evidence, table: str, better, worse, by: str, frame: pd.DataFrame, metrics,
               want_above: dict) -> Finding:
    """Compare our share of improved cases with the paper's per metric: same side of 50 %."""
    reported = paper_tables()
    reported = reported[reported["table"] == table].set_index("metric")["mean"]
    if ev.source == "paper":
        if table == "table1":  # recompute Table 1 from the paper's own Tables 8-11 means
            pct = percent_improved(frame, better, worse, by, ["dataset", "seed"]).set_index("metric")
            parts = [f"{m}: reported {reported.get(m, np.nan):.1%}, recomputed from Tables 8-11 "
                     + (f"{pct.loc[m, 'improved']:.1%} of {pct.loc[m, 'cases']}" if m in pct.index else "n/a")
                     for m in metrics]
            ok = all(m in pct.index and (pct.loc[m, "improved"] > 0.5) == (reported.get(m, np.nan) > 0.5)
                     for m in metrics if m in reported)
            return Finding(HOLDS if ok else FAILS, "; ".join(parts))
        parts = [f"{m}: reported {reported[m]:.1%}" for m in metrics if m in reported]
        ok = all((reported[m] > 0.5) == want_above[m] for m in metrics if m in reported and m in want_above)
        return Finding(HOLDS if ok else FAILS, "; ".join(parts))
    if frame.empty:
        return Finding(UNTESTABLE, "the results these shares are computed from are not stored")
    pair_on = [c for c in ("dataset", "method", "scale", "seed") if c in frame and c != by]
    pct = percent_improved(frame, better, worse, by, pair_on).set_index("metric")
    checks = []
    for m in metrics:
        if m not in pct.index:
            continue
        want = want_above.get(m, reported.get(m, np.nan) > 0.5)
        ok = (pct.loc[m, "improved"] > 0.5) == want
        checks.append((ok, f"{m}: {pct.loc[m, 'improved']:.1%} of {int(pct.loc[m, 'cases'])} (paper "
                           f"{reported.get(m, np.nan):.1%})"))
    return _all(checks, "no comparable pairs in the stored results")


def _claim_table1(ev: Evidence) -> Finding:
    metrics = ("s_hf", "s_lf", "s_dc", "s_g")
    want = {m: True for m in ("s_hf", "s_dc", "s_g")} | {"s_lf": False}
    return _pct_claim(ev, "table1", STOCHASTIC, DETERMINISTIC, "method", ev.select("main"), metrics, want)


def _x0_vs_eps(ev: Evidence, metrics, want) -> Finding:
    """Table 6's share of (method, factor, seed) cases in which the x0 arm beats the eps arm on ``metrics``."""
    f = ev.select("x0")
    if "parameterization" in f:
        f = f.assign(parameterization=f["parameterization"].str.lower())
        xs = [v for v in f["parameterization"].unique() if "x0" in v]
        eps = [v for v in f["parameterization"].unique() if "eps" in v]
    else:
        xs, eps = [], []
    return _pct_claim(ev, "table6", xs, eps, "parameterization", f if xs and eps else f.iloc[0:0], metrics, want)


def _claim_x0_cure(ev: Evidence) -> Finding:
    return _x0_vs_eps(ev, ("s_hf", "s_dc"), {"s_hf": True, "s_dc": True})


def _claim_x0_structure(ev: Evidence) -> Finding:
    return _x0_vs_eps(ev, ("psnr", "ms_ssim", "s_lf"), {"psnr": False, "ms_ssim": False, "s_lf": False})


def _corr(a: str, b: str, sign: int, threshold: float = 0.5) -> Callable[[Evidence], Finding]:
    def test(ev: Evidence) -> Finding:
        f = ev.select("main")
        keys = [c for c in ("dataset", "method", "seed") if c in f]
        w = f.groupby([*keys, "metric"])["value"].mean().unstack("metric") if not f.empty else pd.DataFrame()
        if a not in w or b not in w:
            return Finding(UNTESTABLE, f"{a} or {b} not in the {'tables' if ev.source == 'paper' else 'results'}")
        w = w[[a, b]].dropna()
        w = w[w.groupby(level="dataset")[a].transform("count") > 2] if "dataset" in keys else w
        if len(w) < 3 or w[a].nunique() < 2 or w[b].nunique() < 2:
            return Finding(UNTESTABLE, f"fewer than 3 varying points for {a} and {b}")
        r = float(np.corrcoef(w[a], w[b])[0, 1])
        per = []
        if "dataset" in keys:
            for ds, g in w.groupby(level="dataset"):
                if len(g) > 2 and g[a].nunique() > 1 and g[b].nunique() > 1:
                    per.append(f"{ds} {np.corrcoef(g[a], g[b])[0, 1]:+.2f}")
        ok = r * sign >= threshold if sign else abs(r) >= threshold
        return Finding(HOLDS if ok else FAILS, f"Pearson r = {r:+.2f} over {len(w)} (dataset, method"
                       + (", seed" if ev.source == "ours" else "") + ") points" + (f" (per dataset: {', '.join(per)})"
                                                                                  if per else ""))
    return test


def _main_by_dataset(ev: Evidence):
    """(dataset, per-method metric means) of the stored main results, one dataset at a time."""
    w = _means(ev.select("main"))
    for ds in (w.index.get_level_values(0).unique() if not w.empty else []):
        yield ds, w.loc[ds]


def _claim_edm_tradeoff(ev: Evidence) -> Finding:
    checks = []
    for ds, d in _main_by_dataset(ev):
        if not {"edm", "ddim"} <= set(d.index) or not {"s_hf", "s_lf"} <= set(d.columns):
            continue
        ok = d.loc["edm", "s_hf"] > d.loc["ddim", "s_hf"] and d.loc["edm", "s_lf"] < d.loc["ddim", "s_lf"]
        checks.append((ok, f"{ds}: S_HF edm {_fmt(d.loc['edm', 's_hf'])} vs ddim {_fmt(d.loc['ddim', 's_hf'])}, "
                           f"S_LF edm {_fmt(d.loc['edm', 's_lf'])} vs ddim {_fmt(d.loc['ddim', 's_lf'])}"))
    return _all(checks, "needs main results with edm and ddim")


def _claim_taba_structure(ev: Evidence) -> Finding:
    checks = []
    for ds, d in _main_by_dataset(ev):
        ovg = [m for m in OVG_LABELS if m in d.index]
        if "taba" not in d.index or not ovg or "s_lf" not in d:
            continue
        best = max(ovg, key=lambda m: d.loc[m, "s_lf"])
        ok = d.loc["taba", "s_lf"] < d.loc[best, "s_lf"]
        checks.append((ok, f"{ds}: S_LF taba {_fmt(d.loc['taba', 's_lf'])} vs best OVG ({best}) "
                           f"{_fmt(d.loc[best, 's_lf'])}"))
    return _all(checks, "needs main results with taba and an OVG variant")


def _claim_ovg_front(ev: Evidence) -> Finding:
    from .pareto import pareto_front

    checks = []
    for ds, d in _main_by_dataset(ev):
        if not {"s_hf", "s_lf"} <= set(d.columns) or not any(m in d.index for m in OVG_LABELS):
            continue
        d = d[["s_hf", "s_lf"]].dropna()
        front = pareto_front(d["s_hf"], d["s_lf"])
        on = [m for m, f in zip(d.index, front) if f]
        checks.append((any(m in OVG_LABELS for m in on), f"{ds}: front = {', '.join(on)}"))
    return _all(checks, "needs main results with an OVG variant and S_HF, S_LF")


def _claim_ovg_vs_ddim(ev: Evidence) -> Finding:
    checks = []
    for ds, d in _main_by_dataset(ev):
        if not {"ovg", "ddim"} <= set(d.index):
            continue
        ms = [m for m in ("s_hf", "s_dc") if m in d]
        ok = all(d.loc["ovg", m] > d.loc["ddim", m] for m in ms)
        checks.append((ok, f"{ds}: " + ", ".join(f"{m.upper()} ovg {_fmt(d.loc['ovg', m])} vs ddim "
                                                 f"{_fmt(d.loc['ddim', m])}" for m in ms)))
    return _all(checks, "needs main results with ovg and ddim")


def _claim_lpips(ev: Evidence) -> Finding:
    checks = []
    for ds, d in _main_by_dataset(ev):
        if _STANDIN.get(ds.split(" ")[0]) != "edges2shoes":
            continue
        if "lpips" not in d or d["lpips"].dropna().empty or "ovg_edm" not in d.index:
            continue
        best = d["lpips"].idxmin()
        checks.append((best == "ovg_edm", f"{ds}: lowest LPIPS {best} {_fmt(d.loc[best, 'lpips'])}"
                       + ("" if best == "ovg_edm" else f", ovg_edm {_fmt(d.loc['ovg_edm', 'lpips'])}")))
    return _all(checks, "needs LPIPS of the main results on an Edges2Shoes stand-in (LPIPS weights offline "
                        "are needed)")


def _claim_pareto(ev: Evidence) -> Finding:
    from .pareto import frontier_verdict

    if ev.source == "paper":
        return Finding(UNTESTABLE, "Fig. 6 gives no numbers and the step sizes are not published")
    checks = []
    for ds, res in sorted(ev.extra.get("pareto", {}).items()):
        v = frontier_verdict(res)
        checks.append((v["holds"], f"{ds}: {v['front_ovg']} OVG point(s) and {v['front_baselines']} baseline(s) "
                                   "on the joint front"))
    return _all(checks, "needs pareto study results")


def _ablation_collapse(short: str, axis: str, values: tuple[str, ...] | None, fixed_ref: tuple[str, ...]):
    def test(ev: Evidence) -> Finding:
        f = ev.select(short)
        if f.empty or axis not in f:
            return Finding(UNTESTABLE, f"needs {short} results with a {axis} axis")
        checks = []
        for (ds, v), g in f.groupby(["dataset", axis]):
            if values and str(v).lower() not in values:
                continue
            d = _means(g, by=("method",))
            refs = [r for r in fixed_ref if r in d.index]
            if "ddim" not in d.index or not refs:
                continue
            ms = [m for m in ("s_hf", "s_dc") if m in d]
            ok = all(d.loc["ddim", m] < d.loc[r, m] for m in ms for r in refs)
            checks.append((ok, f"{ds} {v}: " + ", ".join(f"{m.upper()} ddim {_fmt(d.loc['ddim', m])} vs "
                                                         + "/".join(f"{r} {_fmt(d.loc[r, m])}" for r in refs)
                                                         for m in ms)))
        return _all(checks, f"needs {short} results with ddim and {'/'.join(fixed_ref)}")
    return test


def _claim_scale_psnr(ev: Evidence) -> Finding:
    f = ev.select("scale")
    if f.empty or "scale" not in f:
        return Finding(UNTESTABLE, "needs scale_factor results")
    checks = []
    for ds, g in f.groupby("dataset"):
        labels = _scale_labels(g["scale"].unique()) if ev.source == "ours" else {s: s for s in g["scale"].unique()}
        if not labels:
            continue
        top = max(labels, key=lambda s: PAPER_SCALES.index(labels[s]))
        d = _means(g[g["scale"] == top], by=("method",))
        others = [m for m in ("taba", "ovg") if m in d.index]
        if "ddim" not in d.index or not others or not {"psnr", "s_hf"} <= set(d.columns):
            continue
        ok = all(d.loc["ddim", "psnr"] >= d.loc[m, "psnr"] and d.loc["ddim", "s_hf"] < d.loc[m, "s_hf"] for m in others)
        checks.append((ok, f"{ds} {top}: PSNR ddim {_fmt(d.loc['ddim', 'psnr'])} vs "
                           + ", ".join(f"{m} {_fmt(d.loc[m, 'psnr'])}" for m in others)
                           + "; S_HF ddim " + _fmt(d.loc["ddim", "s_hf"]) + " vs "
                           + ", ".join(f"{m} {_fmt(d.loc[m, 's_hf'])}" for m in others)))
    return _all(checks, "needs scale_factor results with ddim, taba / ovg, PSNR and S_HF")


def _claim_scale_monotone(ev: Evidence) -> Finding:
    f = ev.select("scale", method="ddim", metric="s_dc")
    if f.empty or "scale" not in f:
        return Finding(UNTESTABLE, "needs scale_factor results with ddim and S_DC")
    checks = []
    for ds, g in f.groupby("dataset"):
        labels = _scale_labels(g["scale"].unique()) if ev.source == "ours" else {s: s for s in g["scale"].unique()}
        if len(labels) < 2:
            continue
        order = sorted(labels, key=lambda s: PAPER_SCALES.index(labels[s]))
        vals = [g[g["scale"] == s]["value"].mean() for s in order]
        ok = all(a > b for a, b in zip(vals, vals[1:]))
        sep = " > " if ok else ", "
        checks.append((ok, f"{ds}: S_DC of ddim " + sep.join(f"{labels[s]} {_fmt(v)}" for s, v in zip(order, vals))))
    return _all(checks, "needs scale_factor results at two or more factors")


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
        fewer = all(k < gauss for k in ks)
        sparser = all(a >= b for a, b in zip(ks, ks[1:])) and len(ks) > 1 and ks[0] > ks[-1]
        ok = fewer and (sparser or len(ks) == 1)
        checks.append((ok, f"{ds}: components for 90 % of the variance: gaussian {int(gauss)}, "
                           + ", ".join(f"{n} {k}" for n, k in zip(names, ks))))
    return _all(checks, "needs pca_collapse results")


CLAIMS: list[Claim] = [
    Claim("collapse_sdc", "Sec. 4, Sec. 6.2, Table 2",
          "Standard deterministic inversion leaves spatially correlated latents: its decorrelation score S_DC is "
          "below that of TABA and EDM.", "S_DC(ddim) < S_DC(taba) and < S_DC(edm) on every dataset",
          _below("s_dc", "ddim", ("taba", "edm"))),
    Claim("collapse_shf", "Sec. 4, Sec. 6.2, Table 2",
          "Those correlated latents give outputs short of high frequencies: S_HF of standard inversion is below "
          "TABA's and EDM's.", "S_HF(ddim) < S_HF(taba) and < S_HF(edm) on every dataset",
          _below("s_hf", "ddim", ("taba", "edm"))),
    Claim("table1", "Table 1",
          "Stochastic inversions (TABA, ReNoise) beat deterministic ones (standard, Null-Class, DirectInversion) on "
          "S_DC, S_HF and S_G in most comparisons, and lose on S_LF in most.",
          "share of (dataset, seed, deterministic, stochastic) comparisons won by the stochastic method on the "
          "same side of 50 % as the paper's share, for every metric", _claim_table1),
    Claim("pca_collapse", "Sec. 4, Fig. 3",
          "Inverted latents concentrate their variance in fewer principal components than Gaussian noise, and more "
          "so as the input gets sparser.", "k90 (components for 90 % of the variance) of every DDIM series below "
          "Gaussian noise's, and non-increasing (overall decreasing) as the SR factor grows", _claim_pca),
    Claim("corr_hf_dc", "Sec. 4, Fig. 4a, Fig. 14, Fig. 15",
          "S_HF and S_DC are strongly and positively correlated across methods.",
          "Pearson r(S_HF, S_DC) >= 0.5 over per-seed means of every method and dataset", _corr("s_hf", "s_dc", +1)),
    Claim("corr_dc_g", "Sec. 4, Fig. 8, Fig. 14",
          "The decorrelation score S_DC and the Gaussianity score S_G are strongly and positively correlated.",
          "Pearson r(S_DC, S_G) >= 0.5 over per-seed means of every method and dataset", _corr("s_dc", "s_g", +1)),
    Claim("tradeoff_lf_dc", "Sec. 4, Fig. 4b, Fig. 16",
          "Restoring Gaussian, decorrelated latents costs structure: S_LF falls as S_DC rises.",
          "Pearson r(S_LF, S_DC) <= -0.5 over per-seed means of every method and dataset", _corr("s_lf", "s_dc", -1)),
    Claim("edm_tradeoff", "Sec. 4 (parameterisation trade-off)",
          "x0-prediction (EDM) restores high-frequency texture but drifts structurally: higher S_HF and lower S_LF "
          "than eps-prediction (standard DDIM).", "S_HF(edm) > S_HF(ddim) and S_LF(edm) < S_LF(ddim) on every dataset",
          _claim_edm_tradeoff),
    Claim("ovg_vs_ddim", "Sec. 5, Sec. 6.2",
          "OVG removes the collapse of standard inversion: higher S_HF and S_DC than DDIM.",
          "S_HF(ovg) > S_HF(ddim) and S_DC(ovg) > S_DC(ddim) on every dataset", _claim_ovg_vs_ddim),
    Claim("taba_structure", "Sec. 6.2",
          "TABA pays for its texture with structure: its S_LF is below that of the best OVG configuration.",
          "S_LF(taba) < max S_LF over ovg, ovg_taba, ovg_edm on every dataset", _claim_taba_structure),
    Claim("ovg_front", "Sec. 6.2 (state-of-the-art trade-off)",
          "OVG gives the best realism / fidelity trade-off: an OVG variant lies on the S_HF / S_LF Pareto front of "
          "all methods.", "some OVG label is non-dominated among the method means on every dataset", _claim_ovg_front),
    Claim("ovg_edm_lpips", "Sec. 6.2",
          "On Edges2Shoes, OVG + EDM has the best perceptual quality (lowest LPIPS).",
          "argmin LPIPS over methods is ovg_edm on the Edges2Shoes stand-in", _claim_lpips),
    Claim("pareto_expands", "Sec. 5.2, Fig. 6",
          "Sweeping (eta_HF, eta_LF) expands the Pareto frontier beyond the baselines'.",
          "some OVG grid point lies on the joint S_HF / S_LF front of grid points and baselines, on every dataset "
          "swept", _claim_pareto),
    Claim("backbone", "Sec. 6.3, Table 3",
          "Collapse is not a convolutional artefact: with both U-Net and DiT, standard inversion has lower S_HF and "
          "S_DC than OVG.", "S_HF and S_DC of ddim below ovg for each backbone",
          _ablation_collapse("backbone", "backbone", None, ("ovg",))),
    Claim("space", "Sec. 6.3, Table 4",
          "Collapse is not a VAE artefact: in pixel space too, standard inversion has lower S_HF and S_DC than "
          "TABA / OVG.", "S_HF and S_DC of ddim below taba and ovg in pixel space",
          _ablation_collapse("space", "space", ("pixel",), ("taba", "ovg"))),
    Claim("scale_x32", "Sec. 6.3, Table 5",
          "At the sparsest input (x32) standard inversion keeps the highest PSNR but the lowest S_HF; TABA and OVG "
          "keep texture.", "at the largest factor: PSNR(ddim) >= PSNR(taba), PSNR(ovg) and S_HF(ddim) below both",
          _claim_scale_psnr),
    Claim("scale_monotone", "Sec. 4, Fig. 3",
          "Collapse intensifies as the input becomes sparser (x8 -> x16 -> x32).",
          "S_DC of ddim strictly decreasing with the SR factor", _claim_scale_monotone),
    Claim("x0_cure", "Sec. 6.3, Table 6",
          "Switching to x0-prediction improves S_HF and S_DC in most cases.",
          "share of (method, factor, seed) cases where x0 beats eps > 50 % for S_HF and S_DC", _claim_x0_cure),
    Claim("x0_structure", "Sec. 6.3 text",
          "...but structural fidelity and reconstruction (S_LF, PSNR, MS-SSIM) improve in only a minority of cases.",
          "share of cases where x0 beats eps < 50 % for S_LF, PSNR and MS-SSIM", _claim_x0_structure),
]


def evaluate_claims(ours: Evidence | None = None, paper: Evidence | None = None, claims=CLAIMS,
                    **load_kw) -> pd.DataFrame:
    """One row per claim: where, statement, rule, our verdict and numbers, and the verdict on the paper's tables."""
    ours = ours if ours is not None else load_evidence(**load_kw)
    paper = paper if paper is not None else paper_evidence()
    rows = []
    for c in claims:
        o, p = c.test(ours), c.test(paper)
        rows.append({"claim": c.key, "where": c.where, "statement": c.statement, "rule": c.rule,
                     "verdict": o.verdict, "our numbers": o.detail, "paper's tables": p.verdict,
                     "paper numbers": p.detail})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------- reproducing at paper scale

TIMING_FILE = Path("reproducing") / "paper-unet-cpu.json"   # under the results root
# Translations per table cell in the paper profile: n_test images x seeds; the six paper labels per dataset.
PAPER_LABEL_PASSES = {"ddim": (50, 50, 0), "taba": (48, 50, 0), "edm": (50, 50, 0),      # (inversion forwards,
                      "ovg": (50, 50, 50), "ovg_taba": (48, 50, 48), "ovg_edm": (50, 50, 50)}  # sampling, OVG steps)


def measure_paper_unet(batch: int = 2, repeats: int = 2, threads: int = 1, root: str | Path = "data/results",
                       save: bool = True) -> dict:
    """Time the paper profile's U-Net (random weights) on this machine's CPU: forward, and forward + backward.

    Returns (and writes to ``<root>/reproducing/paper-unet-cpu.json``) seconds per image (CPU time of one thread,
    the steadier figure on a shared machine, and wall time), the parameter count and the forward FLOPs per image
    counted by ``torch.utils.flop_counter``. This is what the reproducing chapter's estimates are built on.
    """
    import datetime as dt
    import os
    import platform
    import time

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from .profiles import get_profile

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        prof = get_profile("paper")
        spec = prof.model_spec("eps")
        D = spec.build().eval()
        c, side = prof.diffused_shape()
        x = torch.randn(batch, c, side, side)
        sigma = torch.full((batch,), 1.0)
        label = torch.zeros(batch, dtype=torch.long)

        def fwd():
            with torch.no_grad():
                D(x, sigma, label)

        def fwd_bwd():
            xx = x.clone().requires_grad_(True)
            D(xx, sigma, label).eps.square().mean().backward()

        fwd()  # warm-up
        times = {}
        for name, fn in (("forward", fwd), ("forward_backward", fwd_bwd)):
            cpu, wall = [], []
            for _ in range(repeats):
                w0, c0 = time.perf_counter(), time.process_time()
                fn()
                wall.append(time.perf_counter() - w0)
                cpu.append(time.process_time() - c0)
            times[name] = {"cpu_s_per_image": float(np.median(cpu)) / batch,
                           "wall_s_per_image": float(np.median(wall)) / batch}
        with FlopCounterMode(display=False) as fc, torch.no_grad():
            D(x[:1], sigma[:1], label[:1])
        out = {"profile": "paper", "shape": [c, side, side], "batch": batch, "repeats": repeats, "threads": threads,
               "parameters": int(sum(p.numel() for p in D.parameters())), "forward_flops": int(fc.get_total_flops()),
               **times, "machine": {"cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
                                    "torch": torch.__version__, "load_average": list(os.getloadavg())},
               "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    finally:
        torch.set_num_threads(old)
    if save:
        path = Path(root) / TIMING_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(out, indent=1))
    return out


def paper_scale_estimate(timing: dict, *, gpu_tflops: float = 50.0, ovg_step_ratio: float | None = None,
                         datasets: int = 2, models_per_dataset: int = 2) -> pd.DataFrame:
    """Estimated compute of the paper profile's main results (Table 2: BBBC021 x16 and Edges2Shoes) from a timing.

    Training: steps x batch images of forward + backward per model (``models_per_dataset`` = eps and EDM).
    Translation: per image the network passes of each paper label (PAPER_LABEL_PASSES), an OVG step costing
    ``ovg_step_ratio`` forwards (None: one forward plus two vector-Jacobian products each costing a backward pass,
    2 fb / f - 1 with f the forward and fb the forward + backward time; the benchmark chapter measures the real
    ratio, pass it when known), times n_test images x seeds. CPU hours use the measured one-thread
    CPU time; GPU hours divide FLOPs (forward FLOPs x passes; backward counted as 2 forwards) by an *assumed*
    sustained ``gpu_tflops``. Both are estimates, not measurements of a full run.
    """
    from .profiles import get_profile

    prof = get_profile("paper")
    f_cpu = timing["forward"]["cpu_s_per_image"]
    fb_cpu = timing["forward_backward"]["cpu_s_per_image"]
    flops = float(timing["forward_flops"])
    ratio = ovg_step_ratio if ovg_step_ratio is not None else 2 * fb_cpu / f_cpu - 1.0
    rows = []
    cfg = prof.train_eps
    n_train = datasets * models_per_dataset
    rows.append({"work": f"training, {n_train} models ({cfg.steps} steps x batch {cfg.batch_size})",
                 "forward_equivalents": n_train * cfg.steps * cfg.batch_size * fb_cpu / f_cpu,
                 "cpu_hours": n_train * cfg.steps * cfg.batch_size * fb_cpu / 3600,
                 "gpu_hours": n_train * cfg.steps * cfg.batch_size * 3 * flops / (gpu_tflops * 1e12) / 3600})
    per_image = sum(inv + smp + ovg * (ratio - 1) for inv, smp, ovg in PAPER_LABEL_PASSES.values())
    n_trans = datasets * prof.n_test * len(prof.seeds)
    rows.append({"work": f"translations: {len(PAPER_LABEL_PASSES)} methods x {prof.n_test} images x "
                         f"{len(prof.seeds)} seeds x {datasets} datasets, {prof.steps} + {prof.steps} steps",
                 "forward_equivalents": n_trans * per_image, "cpu_hours": n_trans * per_image * f_cpu / 3600,
                 "gpu_hours": n_trans * per_image * flops / (gpu_tflops * 1e12) / 3600})
    frame = pd.DataFrame(rows)
    total = frame[["forward_equivalents", "cpu_hours", "gpu_hours"]].sum()
    return pd.concat([frame, pd.DataFrame([{"work": "total", **total}])], ignore_index=True)


# ------------------------------------------------------------------------------------------------ book pages
# The book's pages hold the prose; the numbers come from these fragments, written into book/_generated/ by
# scripts/make_toc.py from the stored results (``book_fragments``) and pulled in with MyST's {include}.

GENERATED = "_generated"
TABLE_TITLES = {  # in the order the scorecard shows them: Table 2's two halves first
    "table9": "Table 9: BBBC021 x16 (Table 2, right)", "table11": "Table 11: Edges2Shoes (Table 2, left)",
    "table8": "Table 8: BBBC021 x8", "table10": "Table 10: BBBC021 x32",
    "table1": "Table 1: stochastic vs deterministic inversion (share of comparisons improved)",
    "table3": "Table 3: backbone (BBBC021 x16)", "table4": "Table 4: data space (BBBC021 x16)",
    "table5": "Table 5: SR factor (BBBC021)", "table6": "Table 6: x0 vs eps prediction (share of cases improved)"}


def md_table(frame: pd.DataFrame, index: bool = False) -> str:
    """A GitHub / MyST pipe table of ``frame`` (cells as text, '|' escaped)."""
    f = frame.reset_index() if index else frame
    esc = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(esc(c) for c in f.columns) + " |", "|" + "---|" * len(f.columns)]
    lines += ["| " + " | ".join(esc(v) for v in row) + " |" for row in f.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _num(v: float, metric: str, share: bool = False) -> str:
    if v is None or not np.isfinite(v):
        return ""
    if share:
        return f"{100 * v:.1f}%"
    return f"{v:.2f}" if metric in ("psnr", "fid") else f"{v:.3f}"


def scorecard_markdown(card: pd.DataFrame) -> str:
    """One pipe table per paper table: rows = methods (and the ablation axis), cells 'paper / ours' per metric."""
    out = []
    order = {t: i for i, t in enumerate(TABLE_TITLES)}
    for table, t in sorted(card.groupby("table", sort=False), key=lambda kv: order.get(kv[0], len(order))):
        share = table in ("table1", "table6")
        axis = {"table3": "backbone", "table4": "space", "table5": "scale"}.get(table)
        idx = ([axis] if axis else []) + ["method"]
        t = t.assign(cell=[f"{_num(p, m, share)} / " + (_num(o, m, share) if np.isfinite(o) else "not run")
                           for p, o, m in zip(t["paper_mean"], t["ours_mean"].astype(float), t["metric"])])
        wide = t.pivot_table(index=idx, columns="metric", values="cell", aggfunc="first", sort=False)
        wide = wide[[m for m in METRICS if m in wide.columns]]
        src = sorted(set(t["ours_from"].dropna()))
        out.append(f"## {TABLE_TITLES.get(table, table)}\n\nEach cell: paper / ours. Ours from: "
                   f"{'; '.join(src) if src else 'not run'}.\n\n" + md_table(wide, index=True))
    return "\n".join(out)


def scorecard_fragment(ev: Evidence, profile: str) -> str:
    """The scorecard page's generated part: coverage per table, then every table side by side."""
    card = scorecard(ev)
    cov = counts(card).reset_index().rename(columns={"table": "paper table"})
    n, k = len(card), int(card["ours_mean"].notna().sum())
    head = (f"Profile `{profile}`: {k} of the paper's {n} numbers have a counterpart in our stored results "
            f"(files: {', '.join(sorted(p for ps in ev.files.values() for p in ps)) or 'none yet'}).\n\n")
    return head + md_table(cov) + "\n" + scorecard_markdown(card)


def claims_fragment(ev: Evidence, paper: Evidence | None = None) -> str:
    """The claims page's generated part: a summary table and one section per claim."""
    c = evaluate_claims(ev, paper)
    tally = c["verdict"].value_counts()
    lines = ["Verdicts on our results: " + ", ".join(f"{tally.get(v, 0)} {v}" for v in (HOLDS, FAILS, UNTESTABLE))
             + f" (of {len(c)} claims).\n",
             md_table(c[["claim", "where", "verdict", "paper's tables"]].rename(
                 columns={"verdict": "ours", "paper's tables": "on the paper's own tables"}))]
    c = c.rename(columns={"our numbers": "ours_detail", "paper's tables": "paper_verdict",
                          "paper numbers": "paper_detail"})
    for _, r in c.iterrows():
        lines.append(f"\n## {r['claim']}: {r['where']}\n\n{r['statement']}\n\n- **Our verdict: {r['verdict']}.** "
                     f"{r['ours_detail']}\n- Rule: {r['rule']}.\n"
                     f"- On the paper's own tables: **{r['paper_verdict']}**. "
                     f"{r['paper_detail']}\n")
    return "\n".join(lines)


def errata_checks(paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """The paper's internal inconsistencies that its own tables show, each checked by code (max |difference|)."""
    p = paper_tables() if paper is None else paper
    def rows(table, method, **kw) -> pd.Series:
        q = p[(p["table"] == table) & (p["method"] == method)]
        for k, v in kw.items():
            q = q[q[k] == v]
        return q.set_index("metric")["mean"]

    def diff(a, b) -> tuple[str, int]:
        """'max |a - b| over the metrics but FID (|FID difference|)', and how many metrics were compared."""
        j = pd.concat([a, b], axis=1, join="inner").dropna()
        d = (j.iloc[:, 0] - j.iloc[:, 1]).abs()
        rest = d[d.index != "fid"]
        text = _num(float(rest.max()), "psnr") if len(rest) else "n/a"
        return text + (f" ({_num(float(d['fid']), 'fid')})" if "fid" in d.index else ""), len(j)

    checks = [
        ("Table 5 x16 TABA row vs Table 4 pixel-space TABA row", rows("table5", "taba", scale="x16"),
         rows("table4", "taba", space="pixel")),
        ("Table 5 x16 TABA row vs Table 9 TABA row (the same setting)", rows("table5", "taba", scale="x16"),
         rows("table9", "taba")),
        ("Table 3 U-Net \"OGV\" row vs Table 9 OVG + TABA", rows("table3", "ovg", backbone="unet"),
         rows("table9", "ovg_taba")),
        ("Table 3 U-Net \"OGV\" row vs Table 9 plain OVG", rows("table3", "ovg", backbone="unet"),
         rows("table9", "ovg")),
        ("Table 5 x8 \"OGV\" row vs Table 8 OVG + TABA", rows("table5", "ovg", scale="x8"), rows("table8", "ovg_taba")),
        ("Table 5 x32 \"OGV\" row vs Table 10 OVG + EDM", rows("table5", "ovg", scale="x32"),
         rows("table10", "ovg_edm")),
        ("Table 10 EDM vs Standard", rows("table10", "edm"), rows("table10", "ddim")),
        ("Table 10 OVG + EDM vs OVG", rows("table10", "ovg_edm"), rows("table10", "ovg")),
        ("Table 4 pixel TABA vs pixel OVG", rows("table4", "taba", space="pixel"),
         rows("table4", "ovg", space="pixel")),
    ]
    checks += [(f"{t.replace('table', 'Table ')}: Null Class vs Direct", rows(t, "null_class"),
                rows(t, "direct_inversion")) for t in ("table8", "table9", "table10", "table11")]
    out = []
    for name, a, b in checks:
        d, n = diff(a, b)
        out.append({"comparison": name, "metrics compared": n, "max |difference| but FID (FID)": d})
    return pd.DataFrame(out)


def errata_fragment(paper: pd.DataFrame | None = None) -> str:
    """The errata page's generated part: the table checks, and Table 1 recomputed from the paper's Tables 8-11."""
    p = paper_tables() if paper is None else paper
    t1 = evaluate_claims(Evidence(frame=pd.DataFrame(columns=["study"])), paper_evidence(p),
                         claims=[c for c in CLAIMS if c.key in ("table1", "x0_structure")])
    return (md_table(errata_checks(p)) + "\n"
            + "\n".join(f"- {r['where']} on the paper's own numbers: {r['paper numbers']}"
                        for _, r in t1.iterrows()) + "\n")


def _latent_view(z: np.ndarray) -> np.ndarray:
    """Latents for display: x / 3 (so N(0, I) fills the range), first channel when C is not 1 or 3."""
    z = np.asarray(z, dtype=np.float64) / 3.0
    return z if z.shape[1] in (1, 3) else z[:, :1]


def collapse_figure(ds: xr.Dataset, n: int = 4, ovg: str | None = None) -> tuple[bytes, str]:
    """The introduction's figure (PNG bytes) and caption from a main-results dataset: spectral collapse at a glance.

    Left: the input, DDIM's and OVG's translations, the ground truth, and their inverted latents beside Gaussian
    noise. Right: radially averaged power spectrum of the latents (white noise is flat at 1).
    """
    import io

    import altair as alt
    import vl_convert as vlc
    from PIL import Image

    from ..metrics.latent import radial_power_spectrum
    from ..plotting.charts import compose_grid

    methods = list(map(str, ds["method"].values))
    ovg = ovg or next((m for m in ("ovg", "ovg_taba", "ovg_edm") if m in methods), None)
    shown = [m for m in ("ddim", ovg) if m in methods]
    k = min(n, ds.sizes["image"])
    lat = {m: ds["latents"].sel({"method": m}).isel(seed=0).values for m in shown}
    gauss = np.random.default_rng(0).standard_normal(next(iter(lat.values())).shape)
    rows = {"input": ds["source_images"].values[:k]}
    rows.update({f"{m} output": ds["images"].sel({"method": m}).isel(seed=0).values[:k] for m in shown})
    rows["ground truth"] = ds["truth_images"].values[:k]
    rows.update({f"{m} latent": _latent_view(lat[m][:k]) for m in shown})
    rows["N(0, I) noise"] = _latent_view(gauss[:k])
    grid = compose_grid(rows, cell=72)
    spectra = []
    for name, z in [*lat.items(), ("N(0, I)", gauss)]:
        f, pw = radial_power_spectrum(z)
        spectra.append(pd.DataFrame({"frequency": f, "power": pw.reshape(-1, len(f)).mean(0), "latent": name}))
    sp = pd.concat(spectra)
    sp = sp[sp["frequency"] > 0]
    chart = alt.Chart(sp).mark_line(point=True).encode(
        x=alt.X("frequency:Q", title="frequency (cycles / pixel)"),
        y=alt.Y("power:Q", scale=alt.Scale(type="log"), title="radial power of x_T"),
        color=alt.Color("latent:N", title=None)).properties(width=300, height=grid.height - 80,
                                                             title="Latent spectrum (flat = white noise)")
    png = Image.open(io.BytesIO(vlc.vegalite_to_png(chart.to_dict(), scale=1.0))).convert("RGB")
    fig = Image.new("RGB", (grid.width + png.width + 16, max(grid.height, png.height)), (255, 255, 255))
    fig.paste(grid, (0, 0))
    fig.paste(png, (grid.width + 16, 0))
    buf = io.BytesIO()
    fig.save(buf, format="PNG")
    w = _means(long_frame(ds, "main", str(ds.attrs.get("dataset", ""))), by=("method",))

    def v(m, metric):
        return _fmt(float(w.loc[m, metric])) if m in w.index and metric in w else "n/a"
    caption = (f"{ds.attrs.get('dataset', '')}, profile {ds.attrs.get('profile', '')}: translations and inverted "
               f"latents "
               f"of the first {k} test images (seed 0). Mean over seeds: S_HF (texture) " + ", ".join(
                   f"{m} {v(m, 's_hf')}" for m in shown) + "; S_DC (1 = as decorrelated as white noise) " + ", ".join(
                   f"{m} {v(m, 's_dc')}" for m in shown) + "; S_LF (structure) " + ", ".join(
                   f"{m} {v(m, 's_lf')}" for m in shown) + ".")
    return buf.getvalue(), caption


def intro_fragment(root: str | Path, profile: str, dataset: str = "ihc-sr") -> tuple[str, bytes | None]:
    """The introduction's figure block (markdown) and PNG, or a note when the main results are not stored yet."""
    from .store import results_path

    path = results_path("main_results", dataset, profile, root)
    if not path.exists():
        return (f"```{{note}}\nThe figure of this page is drawn from the stored main results ({path}), which do not "
                f"exist yet: `make book` (or `python -m spectral_collapse.cli studies --profile {profile}`) runs the "
                f"studies, and `python scripts/make_toc.py` redraws it.\n```\n", None)
    png, caption = collapse_figure(load_results(path))
    return (f"```{{figure}} {GENERATED}/intro-collapse.png\n:name: fig-collapse\n:width: 100%\n\n{caption}\n```\n", png)


# benchmark label -> the method chapter it belongs to
_COST_LABELS = {"ddim": ["ddim"], "edm": ["edm", "heun"], "taba": ["taba"], "ovg": ["ovg", "ovg_naive"],
                "null_class": ["null_class"], "direct_inversion": ["direct_inversion"], "renoise": ["renoise"],
                "edict": ["edict"], "bdia": ["bdia"]}


def cost_fragment(method: str, bench: dict | None) -> str:
    """A method chapter's cost paragraph from benchmarks/results/latest.json (None: point to the cost chapter)."""
    rows = {r["label"]: r for r in ((bench or {}).get("benchmarks", {}).get("inversion", {}) or {}).get("rows", [])}
    have = [lab for lab in _COST_LABELS.get(method, [method]) if lab in rows]
    if not have:
        return ("No measured cost is stored yet for this method: see the cost chapter (`python -m benchmarks` writes "
                "benchmarks/results/latest.json).\n")
    inv = bench["benchmarks"]["inversion"]
    parts = []
    for lab in have:
        r = rows[lab]
        rc = r.get("ratio_cpu", {}) or {}
        mem = r.get("mem_ratio")
        parts.append(f"`{lab}`: {r.get('calls_per_step', float('nan')):.1f} network calls and "
                     f"{r.get('backward_per_step', float('nan')):.1f} backward passes per inversion step, "
                     f"{rc.get('median', float('nan')):.2f}x the CPU time of a DDIM step"
                     + (f" (quartiles {rc['q25']:.2f}-{rc['q75']:.2f})" if "q25" in rc and rc.get("n", 1) > 1 else "")
                     + (f", {mem:.2f}x its peak memory" if isinstance(mem, (int, float)) and np.isfinite(mem) else ""))
    return (f"Measured ({bench.get('date', '?')}, profile `{inv.get('profile')}`, batch {inv.get('batch')}, "
            f"{inv.get('parameters', 0) / 1e6:.2f} M-parameter U-Net; see the cost chapter): "
            + "; ".join(parts) + ".\n")


def reproducing_fragment(root: str | Path, bench: dict | None = None) -> str:
    """The reproducing page's estimate: measured paper-U-Net timing -> compute of the paper's main results."""
    path = Path(root) / TIMING_FILE
    if not path.exists():
        return ("```{note}\nNo timing of the paper U-Net is stored yet. Measure it (a minute on one CPU core) with\n"
                "`python -c \"from spectral_collapse.studies.scorecard import measure_paper_unet; "
                "measure_paper_unet()\"`"
                "\nand rebuild the pages with `python scripts/make_toc.py`.\n```\n")
    t = json.loads(path.read_text())
    ratio = None
    rows = {r["label"]: r for r in ((bench or {}).get("benchmarks", {}).get("inversion", {}) or {}).get("rows", [])}
    if "ovg" in rows and (rows["ovg"].get("ratio_cpu") or {}).get("median"):
        ratio = float(rows["ovg"]["ratio_cpu"]["median"])
    est = paper_scale_estimate(t, ovg_step_ratio=ratio)
    est = est.assign(forward_equivalents=[f"{v:.3g}" for v in est["forward_equivalents"]],
                     cpu_hours=[f"{v:,.0f}" for v in est["cpu_hours"]],
                     gpu_hours=[f"{v:,.1f}" for v in est["gpu_hours"]])
    head = (f"**Estimate, not a measurement.** Measured on {t['machine']['cpu']} ({t['machine']['cpu_count']} cores, "
            f"{t['threads']} torch thread, torch {t['machine']['torch']}, {t['created']}): the paper U-Net "
            f"({t['parameters'] / 1e6:.0f} M parameters, input {'x'.join(map(str, t['shape']))}) takes "
            f"{t['forward']['cpu_s_per_image']:.3f} CPU-s per image for a forward pass and "
            f"{t['forward_backward']['cpu_s_per_image']:.3f} CPU-s for forward + backward; one forward is "
            f"{t['forward_flops'] / 1e9:.1f} GFLOP. An OVG inversion step is counted as "
            + (f"{ratio:.2f} forwards (measured in the cost chapter)" if ratio else
               "one forward plus two vector-Jacobian products at backward cost")
            + ". GPU hours assume a sustained 50 TFLOP/s (a third of an A100's dense TF32 peak) and count a backward "
            "pass as two forwards; VAE encoding and decoding, data loading and evaluation metrics are left out.\n\n")
    return head + md_table(est.rename(columns={"forward_equivalents": "forward passes (equivalent)",
                                               "cpu_hours": "CPU hours (1 thread)",
                                               "gpu_hours": "GPU hours (assumed)"}))


def book_fragments(results_root: str | Path = "data/results", profile: str = "quick",
                   benchmarks: str | Path | None = "benchmarks/results/latest.json") -> dict[str, str | bytes]:
    """Every generated fragment of the book's pages: {file name under book/_generated: text or PNG bytes}."""
    ev = load_evidence(results_root, profile)
    bench_path = Path(benchmarks) if benchmarks else None
    bench = json.loads(bench_path.read_text()) if bench_path and bench_path.exists() else None
    intro_md, png = intro_fragment(results_root, profile)
    out: dict[str, str | bytes] = {"intro-figure.md": intro_md, "scorecard.md": scorecard_fragment(ev, profile),
                                   "claims.md": claims_fragment(ev), "errata.md": errata_fragment(),
                                   "reproducing.md": reproducing_fragment(results_root, bench)}
    if png is not None:
        out["intro-collapse.png"] = png
    for method in _COST_LABELS:
        out[f"cost-{method}.md"] = cost_fragment(method, bench)
    return out
