"""Shares of comparisons won (the paper's Tables 1 and 6) and what they may count.

A share counts a comparison only between cells that stand for what they claim: a (arm, method, seed) cell with a
failed sample (``studies.validity``) is left out, and of two methods that coincide sample for sample
(``aggregate.coinciding_methods``) only the first is counted. Two S_G values within the KS test's resolution at
their sample count (``metrics.latent.ks_resolution``) cannot be ordered and count as a tie, half a win.

A share over fewer than ``MIN_COMPARISONS`` distinct comparisons is too small a base for a verdict either way: the
claims read it as inconclusive. ``comparison_outcomes`` lists the comparisons a share counts (keys, both means, won /
lost / tie).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..text import interval, percent

__all__ = ["LOWER_IS_BETTER", "MIN_COMPARISONS", "countable", "percent_improved", "comparison_outcomes",
           "wholly_failed", "share_comparisons", "share_span", "paired_rows", "share_rows"]

LOWER_IS_BETTER = {"lpips", "fid"}
MIN_COMPARISONS = 3   # a share over fewer distinct comparisons is inconclusive, whatever its value


def share_span(share: float, lo: float, hi: float, digits: int = 1) -> str:
    """A share (a fraction) with its 95 % interval, as ``text.percent`` and ``text.interval`` write them: "62.5 %
    [50.0, 75.0]"; the share alone when the interval is not finite. ``digits``: the decimals of a percentage."""
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
        return int(len(frame.loc[mask, cell].drop_duplicates())) if mask.any() else 0

    if "failed" in frame:
        bad = frame["failed"].fillna(0) > 0
        why["failed"] = cells(bad)
        keep &= ~bad
    if "same_as" in frame:
        dup = frame["same_as"].fillna("") != ""
        why["coinciding"] = cells(dup & keep)
        keep &= ~dup
    return frame[keep], why


def _s_g_tie(a: np.ndarray, b: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Whether two S_G values lie within the KS test's resolution at n samples (``metrics.latent.ks_resolution``)."""
    from ..metrics.latent import ks_resolution

    res = np.array([ks_resolution(int(k)) if np.isfinite(k) and k >= 1 else 0.0 for k in n])
    return np.abs(a - b) <= res


def percent_improved(frame: pd.DataFrame, better: str, worse: str, by: str, pair_on: list[str]) -> pd.DataFrame:
    """Per metric, the share of paired cases where a ``better``-group value beats a ``worse``-group value.

    ``by`` is the column holding the group labels (e.g. "method" or "parameterization"); ``better`` / ``worse`` are
    group labels or tuples of them (every pair of one from each is a comparison); ``pair_on`` are the columns
    that must match within a comparison (e.g. dataset and seed). Lower-is-better metrics count a decrease.
    Cells with failed samples and the second of two coinciding methods are left out (``countable``; counted in
    ``failed_out`` and ``coinciding_out``: per-seed cells). S_G values within the KS test's resolution at the cell's sample count are ties (``ties``), and
    a tie counts half a win: two saturated scores (1e-16 against 0) cannot be ordered.
    """
    better = (better,) if isinstance(better, str) else tuple(better)
    worse = (worse,) if isinstance(worse, str) else tuple(worse)
    rows = []
    for metric, f in frame.groupby("metric"):
        f = f[f[by].isin(better + worse)]
        kept, why = countable(f)
        a = kept[kept[by].isin(better)]
        b = kept[kept[by].isin(worse)]
        m = a.merge(b, on=[*pair_on, "metric"], suffixes=("_a", "_b"))
        m = m[np.isfinite(m["value_a"]) & np.isfinite(m["value_b"])]
        if m.empty:
            continue
        va, vb = m["value_a"].to_numpy(float), m["value_b"].to_numpy(float)
        win = (va < vb) if metric in LOWER_IS_BETTER else (va > vb)
        tie = np.zeros(len(m), bool)
        if metric == "s_g" and "n_a" in m and "n_b" in m:
            tie = _s_g_tie(va, vb, np.minimum(m["n_a"].to_numpy(float), m["n_b"].to_numpy(float)))
        score = np.where(tie, 0.5, win.astype(float))
        rows.append({"metric": metric, "improved": float(score.mean()), "cases": int(len(m)), "ties": int(tie.sum()),
                     "failed_out": why["failed"], "coinciding_out": why["coinciding"]})
    return pd.DataFrame(rows, columns=["metric", "improved", "cases", "ties", "failed_out", "coinciding_out"])


def comparison_outcomes(f: pd.DataFrame, better, worse, by: str, pair_on: list[str], unit: str) -> pd.DataFrame:
    """Every distinct comparison a share counts (``verdicts.share_interval``'s point estimate), one row each: the
    ``pair_on`` keys, the two labels (``better``, ``worse``), their means over the units both scored
    (``value_better``, ``value_worse``), ``units``, ``outcome`` ("won", "lost" or "tie", from the ``better`` side)
    and ``resolution`` (for S_G: the KS resolution at the smaller kept-sample count, within which two values tie;
    NaN for other metrics). ``f``: the rows of one metric, with ``unit`` and, for S_G ties, ``n``."""
    from ..metrics.latent import ks_resolution

    better = (better,) if isinstance(better, str) else tuple(better)
    worse = (worse,) if isinstance(worse, str) else tuple(worse)
    cols = [*pair_on, "better", "worse", "value_better", "value_worse", "units", "outcome", "resolution"]
    if f.empty:
        return pd.DataFrame(columns=cols)
    metric = str(f["metric"].iloc[0])
    f = f[f[by].isin(better + worse) & np.isfinite(f["value"].astype(float))]
    cells = f.groupby([*pair_on, by, unit], dropna=False)
    vals, kept = cells["value"].mean(), (cells["n"].min() if "n" in f else None)
    rows = []
    for key, a, b, xa, xb, ok in paired_rows(vals.unstack(unit), len(pair_on), by, better, worse):
        ma, mb = float(xa[ok].mean()), float(xb[ok].mean())
        res = np.nan
        if metric == "s_g" and kept is not None:
            n = min(float(kept.loc[(*key, a)].min()), float(kept.loc[(*key, b)].min()))
            res = ks_resolution(int(n)) if np.isfinite(n) and n >= 1 else 0.0
        win = (ma < mb) if metric in LOWER_IS_BETTER else (ma > mb)
        outcome = "tie" if np.isfinite(res) and abs(ma - mb) <= res else "won" if win else "lost"
        rows.append({**dict(zip(pair_on, key)), "better": a, "worse": b, "value_better": ma, "value_worse": mb,
                     "units": int(ok.sum()), "outcome": outcome, "resolution": res})
    return pd.DataFrame(rows, columns=cols)


def share_comparisons(frame: pd.DataFrame, crops: pd.DataFrame, better, worse, by: str, metric: str):
    """The comparisons a share of ``metric`` counts, from the same rows ``verdicts.share_table`` reads: (outcomes as
    ``comparison_outcomes``, the columns a comparison holds fixed, the resampled unit)."""
    f, unit, _ = share_rows(frame, crops, metric)
    pair_on = [c for c in ("dataset", "method", "scale") if c in f and c != by]
    return comparison_outcomes(f, better, worse, by, pair_on, unit), pair_on, unit


def paired_rows(wide: pd.DataFrame, n_keys: int, by: str, better, worse):
    """Each (better, worse) pair of labels that a setting of ``wide`` holds both of, with their values over the
    units both scored: yields (setting key tuple, a, b, values of a, values of b, mask of the units both have).
    ``wide``: rows (*setting, ``by``), one column per unit; ``n_keys``: the number of setting levels."""
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
    (unit: crop; failed samples are NaN and drop out) for a per-sample metric, per-seed values (unit: seed; cells
    with failed samples left out) for a set-level one; the second of two coinciding methods either way. The counts
    left out: {"failed": failed crop values or cells, "coinciding": (dataset, method) points}."""
    src, unit = (crops, "crop") if not crops.empty and metric in set(crops["metric"]) else (frame, "seed")
    f = src[src["metric"] == metric] if not src.empty else src
    dup = (f["same_as"].fillna("") != "") if "same_as" in f else pd.Series(False, index=f.index)
    n_dup = len(f.loc[dup, [c for c in ("dataset", "method") if c in f]].drop_duplicates()) if dup.any() else 0
    f, why = countable(f[~dup]) if unit == "seed" else (f[~dup], {"failed": int(f.loc[~dup, "value"].isna().sum())})
    return f.loc[:, f.notna().any() | (f.columns == "value")], unit, {"failed": why.get("failed", 0),
                                                                      "coinciding": n_dup}
