"""Reproduction scorecard: every row of the paper's tables left-joined on ``KEYS`` with ours (stand-ins for its
datasets, Tables 1 and 6 as shares); ``errata_checks`` compares the paper's tables with each other."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..reference import paper_tables
from ..text import interval, percent
from .evidence import ABLATIONS, MAIN_TABLE, METRICS, Evidence
from ..reference.method_names import method_name
from .shares import SHARE_TABLES, share_table_rows
from .compare import label

__all__ = ["KEYS", "OVG_LABELS", "PAPER_SCALES", "STANDIN", "our_table_rows", "scorecard", "ordering_agreement",
           "counts", "errata_checks", "scale_labels", "method_means", "fmt_metric", "TABLE_TITLES", "METRIC_NAMES",
           "side_by_side", "cell_pair"]

KEYS = ["table", "dataset", "scale", "backbone", "space", "method", "metric"]
OVG_LABELS = ("ovg", "ovg_taba", "ovg_edm")
PAPER_SCALES = ("x8", "x16", "x32")
STANDIN = {"ihc-sr": "bbbc021", "bbbc021": "bbbc021", "ihc-edges": "edges2shoes", "edges2shoes": "edges2shoes"}


# ----------------------------------------------------------------------------------------- table rows

def _agg(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean, std (ddof 1; NaN for a deterministic method) and count over seeds of per-seed means, failures summed."""
    g = frame.groupby(by, dropna=False)["value"]
    out = g.agg(ours_mean="mean", ours_std=lambda s: s.std(ddof=1) if s.count() > 1 and s.nunique() > 1 else np.nan,
                ours_n="count").reset_index()
    if "failed" in frame:
        out["ours_failed"] = frame.groupby(by, dropna=False)["failed"].sum(min_count=1).to_numpy()
    return out


def scale_labels(values) -> dict:
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


def our_table_rows(ev: Evidence) -> pd.DataFrame:
    """Our rows on the paper's ``KEYS``: mean and std over seeds (Tables 1, 6: shares), counts and provenance."""
    out = []
    main = ev.select("main")
    if "factor" not in main:
        main = main.assign(factor=np.nan)
    for (dataset, factor), g in main.groupby(["dataset", "factor"], dropna=False):
        pds = STANDIN.get(dataset)
        if pds is None:
            continue
        factor = None if pd.isna(factor) else factor
        scale = (f"x{int(factor)}" if factor else "") if dataset == "bbbc021" else ("x16" if pds == "bbbc021" else "")
        table = MAIN_TABLE.get((pds, scale))
        if table is None:
            continue
        out.append(_agg(g, ["method", "metric"]).assign(
            table=table, dataset=pds, scale=scale, backbone="unet", space="latent", real=dataset == pds,
            ours_below_gate=", ".join(_weak(ev, "main", dataset, None)),
            ours_from=f"main_results {dataset}" + (f" x{int(factor)}" if factor else "")))
    for study, (short, axis, table) in ABLATIONS.items():
        g = ev.select(short)
        if g.empty or axis not in g:
            continue
        for dataset, gd in g.groupby("dataset"):
            if STANDIN.get(dataset) != "bbbc021":
                continue  # Tables 3–5 are BBBC021 only
            labels = scale_labels(gd[axis].unique()) if axis == "scale" else {v: v.lower() for v in gd[axis].unique()}
            gd = gd[gd[axis].isin(list(labels))].assign(paper_value=lambda d: d[axis].map(labels))
            a = _agg(gd, ["paper_value", axis, "method", "metric"])
            fixed = {"backbone": "unet", "space": "latent", "scale": "x16", axis: a["paper_value"]}
            out.append(a.assign(table=table, dataset="bbbc021", real=dataset == "bbbc021", **fixed,
                                ours_below_gate=[", ".join(_weak(ev, short, dataset, v)) for v in a[axis]],
                                ours_from=[f"{study} {dataset} {axis} {v}" for v in a[axis]]))
    out += share_table_rows(ev)
    cols = [*KEYS, "ours_mean", "ours_std", "ours_lo", "ours_hi", "ours_n", "ours_failed", "ours_from", "real",
            "ours_below_gate"]
    if not out:
        return pd.DataFrame(columns=cols)
    rows = pd.concat(out, ignore_index=True).sort_values("real", ascending=False, kind="stable")  # real data first
    rows = rows.drop_duplicates(KEYS).reindex(columns=cols)
    rows["ours_below_gate"] = rows["ours_below_gate"].fillna("")
    return rows.reset_index(drop=True)


def _weak(ev: Evidence, short: str, dataset: str, arm) -> list[str]:
    """The models below the quality gate behind a (study, dataset) arm's rows (every arm's when not split by arm)."""
    names, arms = ev.weak.get((short, dataset), ([], None))
    return list(names if arms is None or arm is None else arms[1].get(str(arm), []))


def scorecard(ev: Evidence, paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every paper row with ours beside it (left join on KEYS); ``status`` is "compared" or "not run"."""
    paper = paper_tables() if paper is None else paper
    ours = our_table_rows(ev)
    card = paper.rename(columns={"mean": "paper_mean", "std": "paper_std"}).merge(
        ours, on=KEYS, how="left", validate="one_to_one")
    return card.assign(status=np.where(card["ours_mean"].notna(), "compared", "not run"))


def counts(card: pd.DataFrame) -> pd.DataFrame:
    """Per table: paper numbers, how many have a counterpart of ours, and where ours come from."""
    g = card.groupby("table", sort=False)
    out = pd.DataFrame({"paper numbers": g.size(), "compared": g["ours_mean"].count()})
    out["from"] = g["ours_from"].agg(lambda s: "; ".join(sorted(set(s.dropna()))) or "not run")
    order = sorted(out.index, key=lambda t: int(re.sub(r"\D", "", t) or 0))
    return out.reindex(order)


# ------------------------------------------------------------------------------------------ number formatting

def method_means(f: pd.DataFrame, by=("dataset", "method")) -> pd.DataFrame:
    """Mean over seeds, wide by metric: index ``by``, one column per metric."""
    if f.empty:
        return pd.DataFrame()
    return f.groupby([*by, "metric"])["value"].mean().unstack("metric")


def fmt_metric(v: float, metric: str, share: bool = False) -> str:
    """A metric value as the tables print it: PSNR / FID 2 decimals, others 3, shares in %; "" if missing."""
    if v is None or not np.isfinite(v):
        return ""
    if share:
        return percent(v)
    return f"{v:.2f}" if metric in ("psnr", "fid") else f"{v:.3f}"


# -------------------------------------------------------------------------------- the tables the scorecard page shows

TABLE_TITLES = {  # in the order the scorecard shows them: Table 2's two halves first
    "table9": "Table 9: BBBC021 x16 (Table 2, right)", "table11": "Table 11: Edges2Shoes (Table 2, left)",
    "table8": "Table 8: BBBC021 x8", "table10": "Table 10: BBBC021 x32",
    "table1": "Table 1: stochastic vs deterministic inversion (share of comparisons improved)",
    "table3": "Table 3: backbone (BBBC021 x16)", "table4": "Table 4: data space (BBBC021 x16)",
    "table5": "Table 5: SR factor (BBBC021)", "table6": "Table 6: x0- vs ε-prediction (share of cases improved)"}
METRIC_NAMES = {m: label(m) for m in METRICS}
ROWS = {"stochastic_vs_deterministic": "stochastic vs deterministic", "x0_vs_eps": "x0 vs ε"}
TABLE_AXES = {table: axis for _, axis, table in ABLATIONS.values()}


def _pm(mean, std, metric: str, share: bool) -> str:
    v = fmt_metric(mean, metric, share)
    ok = std is not None and np.isfinite(std) and std > 0
    return f"{v} ± {fmt_metric(std, metric, share)}" if v and ok else v


def cell_pair(r, share: bool) -> tuple[str, str]:
    """(paper, ours) of one scorecard row; "not run" without a counterpart."""
    paper = _pm(r.paper_mean, getattr(r, "paper_std", np.nan), r.metric, share) or "—"
    o = float(r.ours_mean)
    if not np.isfinite(o):
        return paper, "not run"
    lo, hi = float(getattr(r, "ours_lo", np.nan)), float(getattr(r, "ours_hi", np.nan))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return paper, _pm(o, float(r.ours_std), r.metric, share)
    if np.isclose(lo, hi, rtol=0.0, atol=1e-12):
        return paper, f"{fmt_metric(o, r.metric, share)} (no spread)"
    bounds = interval(lo, hi, lambda v: fmt_metric(v, r.metric, share).removesuffix(" %"))
    return paper, f"{fmt_metric(o, r.metric, share)} {bounds}"


def side_by_side(card: pd.DataFrame, table: str) -> pd.DataFrame:
    """One paper table of ``card``: rows (ablation value,) method, "paper" / "ours"; a column per metric."""
    t = card[card["table"] == table]
    idx = ([TABLE_AXES[table]] if table in TABLE_AXES else []) + ["method"]
    share = table in SHARE_TABLES
    rows: dict[tuple, dict[str, str]] = {}
    for r in t.itertuples():
        key = (*[str(getattr(r, k)) for k in idx[:-1]], ROWS.get(r.method, method_name(r.method)))
        paper, ours = cell_pair(r, share)
        rows.setdefault((*key, "paper"), {})[r.metric] = paper
        rows.setdefault((*key, "ours"), {})[r.metric] = ours
    present = [m for m in METRICS if m in set(t["metric"])]
    out = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=present).fillna("")
    out.index = pd.MultiIndex.from_tuples(out.index, names=[*idx, ""])
    return out.rename(columns=METRIC_NAMES)


# ------------------------------------------------------------------------------------------------- errata

def errata_checks(paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """The paper's internal inconsistencies that its own tables show, each checked by code (max |difference|)."""
    p = paper_tables() if paper is None else paper

    def rows(table, method, **kw) -> pd.Series:
        q = p[(p["table"] == table) & (p["method"] == method)]
        for k, v in kw.items():
            q = q[q[k] == v]
        return q.set_index("metric")["mean"]

    def diff(a, b) -> tuple[int, str]:
        """How many metrics were compared, and 'max |a - b| over the metrics but FID (|FID difference|)'."""
        j = pd.concat([a, b], axis=1, join="inner").dropna()
        d = (j.iloc[:, 0] - j.iloc[:, 1]).abs()
        rest = d[d.index != "fid"]
        text = fmt_metric(float(rest.max()), "psnr") if len(rest) else "n/a"
        return len(j), text + (f" ({fmt_metric(float(d['fid']), 'fid')})" if "fid" in d.index else "")

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
        ("Table 10 EDM vs DDIM", rows("table10", "edm"), rows("table10", "ddim")),  # the book's method names
        ("Table 10 OVG + EDM vs OVG", rows("table10", "ovg_edm"), rows("table10", "ovg")),
        ("Table 4 pixel TABA vs pixel OVG", rows("table4", "taba", space="pixel"),
         rows("table4", "ovg", space="pixel")),
    ]
    checks += [(f"{t.replace('table', 'Table ')} Null-Class vs DirectInversion", rows(t, "null_class"),
                rows(t, "direct_inversion")) for t in ("table8", "table9", "table10", "table11")]
    return pd.DataFrame([(name, *diff(a, b)) for name, a, b in checks],
                        columns=["comparison", "metrics compared", "max |difference| but FID (FID)"])


def ordering_agreement(card: pd.DataFrame) -> pd.DataFrame:
    """Per metric: pairs, agree, share, ties of the method pairs both the paper and we order (no ties)."""
    c = card[card["ours_mean"].notna() & card["paper_mean"].notna() & ~card["table"].isin(list(SHARE_TABLES))]
    rows = []
    for metric, g in c.groupby("metric"):
        pairs = agree = ties = 0
        for _, cell in g.groupby([k for k in KEYS if k not in ("method", "metric")], dropna=False):
            v = cell[["paper_mean", "ours_mean"]].to_numpy(float)
            i, j = np.triu_indices(len(v), 1)
            dp, do = np.sign(v[i, 0] - v[j, 0]), np.sign(v[i, 1] - v[j, 1])
            tie = (dp == 0) | (do == 0)
            ties, pairs, agree = ties + int(tie.sum()), pairs + int((~tie).sum()), agree + int((dp == do)[~tie].sum())
        rows.append({"metric": metric, "pairs": pairs, "agree": agree, "share": agree / pairs if pairs else np.nan,
                     "ties": ties})
    order = {m: i for i, m in enumerate(METRICS)}
    out = pd.DataFrame(rows, columns=["metric", "pairs", "agree", "share", "ties"])
    return out.sort_values("metric", key=lambda s: s.map(order)).reset_index(drop=True)
