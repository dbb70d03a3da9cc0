"""Shares of comparisons won (the paper's Tables 1 and 6): what they may count (``countable``), their intervals
(``share_table``), our counterparts of the two tables and the claims they decide (``share_claim``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..reference import paper_tables
from ..text import interval, percent
from .evidence import METRICS
from .verdicts import FAILS, HOLDS, INCONCLUSIVE, UNTESTABLE, Finding, combine

__all__ = ["LOWER_IS_BETTER", "MIN_COMPARISONS", "N_BOOT", "DETERMINISTIC", "STOCHASTIC", "TABLE6_METHODS",
           "countable", "s_g_ties", "share_span", "paired_rows", "share_rows", "share_interval",
           "share_verdict", "share_table", "table1_frames", "x0_frames", "table1_rows", "table6_rows", "share_claim"]

LOWER_IS_BETTER = {"lpips", "fid"}
MIN_COMPARISONS = 3   # a share over fewer distinct comparisons is inconclusive, whatever its value
N_BOOT = 2000         # bootstrap draws of a share's interval
DETERMINISTIC = ("ddim", "null_class", "direct_inversion")   # Table 1's "deterministic" group
STOCHASTIC = ("taba", "renoise")                             # Table 1's "stochastic" group
TABLE6_METHODS = ("ddim", "taba", "ovg")                     # Table 6's rows (our stable OVG form is shown apart)

def share_span(share: float, lo: float, hi: float, digits: int = 1) -> str:
    """A share (a fraction) with its 95 % interval: "62.5 % [50.0, 75.0]"; the share alone when the interval is not
    finite. ``digits``: the decimals of a percentage."""
    head = percent(share, digits)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return head
    return f"{head} {interval(lo, hi, lambda v: f'{100 * v:.{digits}f}')}"


def countable(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The rows that shares and correlations may count: cells without failed samples, and one method of each
    coinciding pair (``same_as``). Returns (rows, {"failed": ..., "coinciding": ...}): the (arm, method, seed)
    cells left out for each reason."""
    keep = pd.Series(True, index=frame.index)
    why = {"failed": 0, "coinciding": 0}
    cell = [c for c in frame.columns if c not in ("metric", "value", "failed", "n", "samples", "same_as")]

    def cells(mask) -> int:   # distinct (arm, method, seed) cells, not metric rows
        return len(frame.loc[mask, cell].drop_duplicates())

    if "failed" in frame:
        bad = frame["failed"].fillna(0) > 0
        why["failed"] = cells(bad)
        keep &= ~bad
    if "same_as" in frame:
        dup = frame["same_as"].fillna("") != ""
        why["coinciding"] = cells(dup & keep)
        keep &= ~dup
    return frame[keep], why


def s_g_ties(a, b, n) -> np.ndarray:
    """Whether S_G values ``a`` and ``b`` lie within the KS test's resolution at ``n`` samples (none below 1)."""
    from ..metrics.latent import ks_resolution

    res = np.vectorize(lambda k: ks_resolution(int(k)) if np.isfinite(k) and k >= 1 else 0.0, otypes=[float])(n)
    return np.abs(a - b) <= res


def paired_rows(wide: pd.DataFrame, n_keys: int, by: str, better, worse):
    """Each (better, worse) pair of labels a setting of ``wide`` (rows (*setting, ``by``), one column per unit) holds
    both of: yields (setting key tuple, a, b, values of a, values of b, mask of the units both scored)."""
    for key, sub in wide.groupby(level=list(range(n_keys)), sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        labels = np.asarray(sub.index.get_level_values(by))
        for a, b in [(a, b) for a in better for b in worse if a in labels and b in labels]:
            xa, xb = sub[labels == a].to_numpy(float)[0], sub[labels == b].to_numpy(float)[0]
            ok = np.isfinite(xa) & np.isfinite(xb)
            if ok.any():
                yield key, a, b, xa, xb, ok


def share_rows(frame: pd.DataFrame, crops: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, str, dict]:
    """The rows a share of ``metric`` is computed from, its resampled unit and what it leaves out: per-crop values
    (unit: crop; failed samples are NaN) for a per-sample metric, per-seed values (unit: seed; ``countable``) for a
    set-level one, without the second of two coinciding methods; {"failed": values or cells, "coinciding": (dataset,
    method) points} left out."""
    src, unit = (crops, "crop") if not crops.empty and metric in set(crops["metric"]) else (frame, "seed")
    f = src[src["metric"] == metric] if not src.empty else src
    dup = (f["same_as"].fillna("") != "") if "same_as" in f else pd.Series(False, index=f.index)
    n_dup = len(f.loc[dup, [c for c in ("dataset", "method") if c in f]].drop_duplicates())
    f, why = countable(f[~dup]) if unit == "seed" else (f[~dup], {"failed": int(f.loc[~dup, "value"].isna().sum())})
    return f.loc[:, f.notna().any() | (f.columns == "value")], unit, {"failed": why["failed"], "coinciding": n_dup}


# ------------------------------------------------------------------------------------------- intervals

def share_interval(f: pd.DataFrame, better, worse, by: str, pair_on: list[str], unit: str, *,
                   n_boot: int = N_BOOT, seed: int = 0) -> dict | None:
    """The share of distinct comparisons a ``better`` label (column ``by``) wins against a ``worse`` one, each
    (``pair_on``, better, worse) once on the means over the ``unit``s both scored, S_G ties (``s_g_ties``, column
    ``n``) half a win, with a 95 % interval resampling each dataset's units. {share, lo, hi, cases, ties, units,
    n_units} or None when no comparison can be made. Cost: ``n_boot`` draws per comparison."""
    better = (better,) if isinstance(better, str) else tuple(better)
    worse = (worse,) if isinstance(worse, str) else tuple(worse)
    metric = str(f["metric"].iloc[0]) if len(f) else ""
    f = f[f[by].isin(better + worse) & np.isfinite(f["value"].astype(float))]
    if f.empty:
        return None
    cells = f.groupby([*pair_on, by, unit], dropna=False)
    vals, kept = cells["value"].mean(), (cells["n"].min() if "n" in f else None)
    rng = np.random.default_rng(seed)
    point, draws, ties, n_units = [], [], 0, 0
    for _, g in vals.groupby(level=0, sort=True):  # one dataset: its units are resampled together
        wide = g.unstack(unit)                     # rows (*pair_on, by), one column per unit
        n_units += wide.shape[1]
        w = np.zeros((n_boot + 1, wide.shape[1]))
        w[0] = 1.0                                 # row 0: the observed units
        draw = rng.integers(0, wide.shape[1], (n_boot, wide.shape[1]))
        np.add.at(w, (np.arange(1, n_boot + 1)[:, None], draw), 1)
        for key, a, b, xa, xb, ok in paired_rows(wide, len(pair_on), by, better, worse):
            tot = w[:, ok].sum(1)
            with np.errstate(invalid="ignore", divide="ignore"):
                ma, mb = w[:, ok] @ xa[ok] / tot, w[:, ok] @ xb[ok] / tot
            score = ((ma < mb) if metric in LOWER_IS_BETTER else (ma > mb)).astype(float)
            if metric == "s_g" and kept is not None:
                tie = s_g_ties(ma, mb, min(float(kept.loc[(*key, a)].min()), float(kept.loc[(*key, b)].min())))
                score, ties = np.where(tie, 0.5, score), ties + int(tie[0])
            score[tot == 0] = np.nan
            point.append(score[0])
            draws.append(score[1:])
    if not point:
        return None
    lo, hi = np.nanquantile(np.nanmean(np.vstack(draws), 0), [0.025, 0.975])
    return {"share": float(np.mean(point)), "lo": float(lo), "hi": float(hi), "cases": len(point), "ties": ties,
            "units": unit, "n_units": n_units}


def share_verdict(lo: float, hi: float, want_above: bool) -> str:
    """A share's interval against 50 %: wholly on the paper's side holds, wholly on the other does not hold."""
    on, off = (lo > 0.5, hi < 0.5) if want_above else (hi < 0.5, lo > 0.5)
    return HOLDS if on else FAILS if off else INCONCLUSIVE


def share_table(frame: pd.DataFrame, crops: pd.DataFrame, better, worse, by: str, metrics) -> pd.DataFrame:
    """Per metric, ``share_interval`` of ``better`` against ``worse`` with dataset, method and scale held fixed, on
    the rows of ``share_rows``: metric, share, lo, hi, cases, ties, n_units, unit, failed_out, coinciding_out.
    The claims page and the scorecard both read their shares from here."""
    rows = []
    for m in metrics:
        f, unit, left = share_rows(frame, crops, m)
        pair_on = [c for c in ("dataset", "method", "scale") if c in f and c != by]
        s = share_interval(f, better, worse, by, pair_on, unit) if not f.empty and pair_on else None
        if s is not None:
            rows.append({"metric": m, **{k: s[k] for k in ("share", "lo", "hi", "cases", "ties", "n_units")},
                         "unit": unit, "failed_out": left["failed"], "coinciding_out": left["coinciding"]})
    return pd.DataFrame(rows, columns=["metric", "share", "lo", "hi", "cases", "ties", "n_units", "unit", "failed_out",
                                       "coinciding_out"])


# ------------------------------------------------------------------------------------ Tables 1 and 6

def table1_frames(ev) -> tuple[pd.DataFrame, pd.DataFrame, tuple, tuple, str]:
    """(per-seed frame, per-crop frame, better labels, worse labels, label column) of Table 1's comparisons."""
    return ev.select("main"), ev.select("main", per_crop=True), STOCHASTIC, DETERMINISTIC, "method"


def x0_frames(ev) -> tuple[pd.DataFrame, pd.DataFrame, list, list, str]:
    """The same for Table 6: the ``eps_vs_x0`` rows of Table 6's methods, parameterization labels lower-cased;
    both label lists are empty when one of the arms is missing."""
    def arms(f):
        f = f[f["method"].isin(TABLE6_METHODS)] if "method" in f else f
        return f.assign(parameterization=f["parameterization"].str.lower()) if "parameterization" in f else f

    f, crops = arms(ev.select("x0")), arms(ev.select("x0", per_crop=True))
    labels = f["parameterization"].unique() if "parameterization" in f else []
    xs, eps = [v for v in labels if "x0" in v], [v for v in labels if "eps" in v]
    if not (xs and eps):
        return f.iloc[0:0], crops.iloc[0:0], [], [], "parameterization"
    return f, crops, xs, eps, "parameterization"


def _rows(parts, table: str, keys: dict, source: str) -> pd.DataFrame | None:
    frame, crops, better, worse, by = parts
    if frame.empty and crops.empty:
        return None
    s = share_table(frame, crops, better, worse, by, METRICS)
    if s.empty:
        return None
    return pd.DataFrame({
        "table": table, **keys, "metric": s["metric"], "ours_mean": s["share"], "ours_std": np.nan,
        "ours_lo": s["lo"], "ours_hi": s["hi"], "ours_n": s["cases"], "real": True, "ours_from": source})


def table1_rows(ev) -> pd.DataFrame | None:
    """Our Table 1 rows: one per metric, the share with its interval (``ours_lo``, ``ours_hi``)."""
    return _rows(table1_frames(ev), "table1", dict(dataset="all", scale="", backbone="unet", space="latent",
                                                   method="stochastic_vs_deterministic"),
                 "main_results, every dataset")


def table6_rows(ev) -> pd.DataFrame | None:
    """Our Table 6 rows: one per metric, the share with its interval."""
    return _rows(x0_frames(ev), "table6", dict(dataset="bbbc021", scale="all", backbone="unet", space="latent",
                                               method="x0_vs_eps"), "eps_vs_x0")


def _side(share: float, paper_above: bool, text: str) -> tuple[str, str]:
    """A share on the paper's side of 50 %: holds; on the other side: does not hold; exactly 50 %: inconclusive."""
    v = INCONCLUSIVE if share == 0.5 else HOLDS if (share > 0.5) == paper_above else FAILS
    return v, f"{text} → {v}"


def _paper_share_checks(table: str, frame, better, worse, by, want_above: dict, reported: pd.Series) -> list[tuple]:
    """Per metric, on the paper's tables: Table 1 recomputed from Tables 8–11 against the reported share's side of
    50 %; Table 6 (nothing to recompute it from) the reported share against the side the text puts it on."""
    checks = []
    pct = (share_table(frame, frame.iloc[0:0], better, worse, by, tuple(want_above)).set_index("metric")
           if table == "table1" else None)
    for m, above in want_above.items():
        rep = float(reported.get(m, np.nan))
        head = f"{m}: reported {percent(rep)}" if np.isfinite(rep) else f"{m}: no reported share"
        if pct is None:
            checks.append(_side(rep, above, f"{head}, text {'>' if above else '<'} 50 %") if np.isfinite(rep)
                          else (UNTESTABLE, f"{head} → {UNTESTABLE}"))
        elif m not in pct.index:
            checks.append((UNTESTABLE, f"{head}, not in Tables 8–11 → {UNTESTABLE}"))
        elif not np.isfinite(rep) or rep == 0.5:
            checks.append((UNTESTABLE, f"{head}, recomputed {percent(pct.loc[m, 'share'])} → {UNTESTABLE}"))
        else:
            recomputed = f"recomputed {percent(pct.loc[m, 'share'])} of {int(pct.loc[m, 'cases'])}"
            checks.append(_side(float(pct.loc[m, "share"]), rep > 0.5, f"{head}, {recomputed}"))
    return checks


def share_claim(table: str, frames, want_above: dict):
    """A claim that ``frames(ev)``'s better labels win more (``want_above[metric]``) or fewer than half of their
    comparisons, per metric: our share's interval wholly on the paper's side of 50 % over at least
    ``MIN_COMPARISONS`` comparisons, e.g. "s_hf: 62.5 % [50.0, 75.0] of 12 (ties 1, paper 96.6 %) → holds"."""
    def test(ev) -> Finding:
        frame, crops, better, worse, by = frames(ev)
        reported = paper_tables()
        reported = reported[reported["table"] == table].set_index("metric")["mean"]
        if ev.source == "paper":
            return combine(_paper_share_checks(table, frame, better, worse, by, want_above, reported),
                           "the paper's tables give none of these shares")
        if frame.empty and crops.empty:
            return Finding(UNTESTABLE, "the results these shares are computed from are not stored")
        checks = []
        for s in share_table(frame, crops, better, worse, by, tuple(want_above)).itertuples():
            v = INCONCLUSIVE if s.cases < MIN_COMPARISONS else share_verdict(s.lo, s.hi, want_above[s.metric])
            checks.append((v, f"{s.metric}: {share_span(s.share, s.lo, s.hi)} of {s.cases} (ties {s.ties}, paper "
                              f"{percent(reported.get(s.metric, np.nan))}) → {v}"))
        return combine(checks, "no comparable pairs in the stored results")
    return test
