"""Shares of comparisons won (the paper's Tables 1 and 6) and what they may count.

A share counts a comparison only between cells that stand for what they claim: a (arm, method, seed) cell with a
failed sample (``studies.validity``) is left out, and of two methods that coincide sample for sample
(``aggregate.coinciding_methods``) only the first is counted. Two S_G values within the KS test's resolution at
their sample count (``metrics.latent.ks_resolution``) cannot be ordered and count as a tie, half a win. A share over
fewer than ``MIN_COMPARISONS`` distinct comparisons is inconclusive either way.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..text import interval, percent

__all__ = ["LOWER_IS_BETTER", "MIN_COMPARISONS", "countable", "percent_improved", "s_g_ties", "share_span",
           "paired_rows", "share_rows"]

LOWER_IS_BETTER = {"lpips", "fid"}
MIN_COMPARISONS = 3   # a share over fewer distinct comparisons is inconclusive, whatever its value


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


def percent_improved(frame: pd.DataFrame, better, worse, by: str, pair_on: list[str]) -> pd.DataFrame:
    """Per metric, the share of cases (rows matched on ``pair_on``) where a ``better`` label (column ``by``) beats a
    ``worse`` one; lower-is-better metrics count a decrease and S_G ties (``s_g_ties``) half a win. Rows left out by
    ``countable`` are counted in ``failed_out`` and ``coinciding_out``."""
    better = (better,) if isinstance(better, str) else tuple(better)
    worse = (worse,) if isinstance(worse, str) else tuple(worse)
    rows = []
    for metric, f in frame.groupby("metric"):
        kept, why = countable(f[f[by].isin(better + worse)])
        a, b = kept[kept[by].isin(better)], kept[kept[by].isin(worse)]
        m = a.merge(b, on=[*pair_on, "metric"], suffixes=("_a", "_b"))
        m = m[np.isfinite(m["value_a"]) & np.isfinite(m["value_b"])]
        if m.empty:
            continue
        va, vb = m["value_a"].to_numpy(float), m["value_b"].to_numpy(float)
        win = (va < vb) if metric in LOWER_IS_BETTER else (va > vb)
        tie = np.zeros(len(m), bool)
        if metric == "s_g" and "n_a" in m and "n_b" in m:
            tie = s_g_ties(va, vb, np.minimum(m["n_a"].to_numpy(float), m["n_b"].to_numpy(float)))
        score = np.where(tie, 0.5, win.astype(float))
        rows.append({"metric": metric, "improved": float(score.mean()), "cases": len(m), "ties": int(tie.sum()),
                     "failed_out": why["failed"], "coinciding_out": why["coinciding"]})
    return pd.DataFrame(rows, columns=["metric", "improved", "cases", "ties", "failed_out", "coinciding_out"])


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
