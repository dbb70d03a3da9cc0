"""Shares of comparisons won (the paper's Tables 1 and 6) and what they may count.

A share counts a comparison only between cells that stand for what they claim: a (arm, method, seed) cell with a
failed sample (``studies.validity``) is left out, and of two methods that coincide sample for sample
(``aggregate.coinciding_methods``) only the first is counted. Two S_G values within the KS test's resolution at
their sample count (``metrics.latent.ks_resolution``) cannot be ordered and count as a tie, half a win.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["LOWER_IS_BETTER", "countable", "left_out", "percent_improved", "share_notes"]

LOWER_IS_BETTER = {"lpips", "fid"}


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


def left_out(why: dict) -> str:
    """What ``countable`` left out of a share or correlation, in words ("" when nothing)."""
    parts = [f"{why['failed']} with failed samples" if why.get("failed") else "",
             f"{why['coinciding']} of a method coinciding with another" if why.get("coinciding") else ""]
    parts = [p for p in parts if p]
    return f"; left out: {', '.join(parts)} ((dataset, method, seed) points)" if parts else ""


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


def share_notes(r) -> list[str]:
    """The ties and left-out cells of one ``percent_improved`` row, in words."""
    return [p for p in (f"{int(r.ties)} S_G ties counted half" if getattr(r, "ties", 0) else "",
                        f"{int(r.failed_out)} cells with failed samples left out" if getattr(r, "failed_out", 0) else "",
                        f"{int(r.coinciding_out)} cells of a coinciding method counted once"
                        if getattr(r, "coinciding_out", 0) else "") if p]
