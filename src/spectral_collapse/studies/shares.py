"""Shares of comparisons won (the paper's Tables 1 and 6) and what they may count.

A share counts a comparison only between cells that stand for what they claim: a (arm, method, seed) cell with a
failed sample (``studies.validity``) is left out, and of two methods that coincide sample for sample
(``aggregate.coinciding_methods``) only the first is counted. Two S_G values within the KS test's resolution at
their sample count (``metrics.latent.ks_resolution``) cannot be ordered and count as a tie, half a win.

A share over fewer than ``MIN_COMPARISONS`` distinct comparisons is too small a base for a verdict either way: the
claims read it as inconclusive. ``comparison_outcomes`` lists the comparisons a share counts (keys, both means, won /
lost / tie) so that a page can name them, and ``wholly_failed`` the arms whose every sample failed, whose comparisons
are therefore missing from it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..text import interval, percent, plural

__all__ = ["LOWER_IS_BETTER", "MIN_COMPARISONS", "countable", "percent_improved", "share_notes",
           "comparison_outcomes", "comparison_name", "wholly_failed", "share_comparisons", "failed_arm_names",
           "failed_left_out", "MISSING_NOTE", "NO_SPREAD", "share_span", "paired_rows", "share_rows"]

LOWER_IS_BETTER = {"lpips", "fid"}
MIN_COMPARISONS = 3   # a share over fewer distinct comparisons is inconclusive, whatever its value
# how a share whose bootstrap draws all give the same value is said, in place of a zero-width interval
NO_SPREAD = "no spread"


def share_span(share: float, lo: float, hi: float, n_units: int | None = None, unit: str = "crop",
               digits: int = 1) -> str:
    """A share (a fraction) with its 95 % interval, as ``text.percent`` and ``text.interval`` write them: "62.5 %
    [50.0, 75.0]". When every bootstrap draw gives the same share (a zero-width interval: resampling the units never
    changes a comparison's winner, as with few comparisons whose outcomes are all clear-cut), the interval would only
    repeat the share, so it is said in words instead: "62.5 % (no spread over 96 crops: the bootstrap cannot give an
    interval)". ``digits``: the decimals of a percentage."""
    head = percent(share, digits)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return head
    if np.isclose(lo, hi, rtol=0.0, atol=1e-12):
        over = f" over {n_units} {unit}{'s' * (n_units != 1)}" if n_units else ""
        return f"{head} ({NO_SPREAD}{over}: the bootstrap cannot give an interval)"
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


def share_notes(r) -> list[str]:
    """The ties and left-out cells of one ``percent_improved`` row, in words."""
    return [p for p in (f"{int(r.ties)} S_G ties counted half" if getattr(r, "ties", 0) else "",
                        f"{int(r.failed_out)} cells with failed samples left out" if getattr(r, "failed_out", 0) else "",
                        f"{int(r.coinciding_out)} cells of a coinciding method counted once"
                        if getattr(r, "coinciding_out", 0) else "") if p]


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


def comparison_name(row, pair_on: list[str], by: str, several_datasets: bool = True) -> str:
    """One comparison in words: its setting (dataset when there are several, method, SR factor as "x4") and, when
    the labels are methods, "a vs b"; e.g. "ddim x4" (Table 6) or "ihc-sr taba vs ddim" (Table 1)."""
    parts = []
    for k in pair_on:
        v = str(getattr(row, k) if not isinstance(row, dict) else row[k])
        if k == "dataset" and not several_datasets:
            continue
        parts.append(f"x{v}" if k == "scale" and not v.startswith("x") else v)
    get = (lambda k: row[k]) if isinstance(row, dict) else (lambda k: getattr(row, k))
    if by == "method":
        parts.append(f"{get('better')} vs {get('worse')}")
    return " ".join(parts)


def wholly_failed(frame: pd.DataFrame, labels, by: str, keys: list[str]) -> pd.DataFrame:
    """The (keys, label) arms of ``frame`` (per-seed rows with ``failed`` and ``samples``) whose every sample
    failed, summed over seeds: columns ``keys``, ``by``, ``failed``, ``samples`` (a sample: one test crop translated
    with one seed). Their comparisons cannot enter a share."""
    cols = [*keys, by, "failed", "samples"]
    if frame.empty or "failed" not in frame or "samples" not in frame:
        return pd.DataFrame(columns=cols)
    f = frame[frame[by].isin(list(labels)) & frame["samples"].notna()]
    if f.empty:
        return pd.DataFrame(columns=cols)
    f = f[f["metric"] == f["metric"].iloc[0]]
    g = f.groupby([*keys, by], dropna=False)[["failed", "samples"]].sum().reset_index()
    g = g[(g["samples"] > 0) & (g["failed"] >= g["samples"])]
    return g[cols].astype({"failed": int, "samples": int}).reset_index(drop=True)


def share_comparisons(frame: pd.DataFrame, crops: pd.DataFrame, better, worse, by: str, metric: str):
    """The comparisons a share of ``metric`` counts, from the same rows ``verdicts.share_table`` reads: (outcomes as
    ``comparison_outcomes``, the columns a comparison holds fixed, the resampled unit, what was left out in words)."""
    f, unit, left = share_rows(frame, crops, metric)
    pair_on = [c for c in ("dataset", "method", "scale") if c in f and c != by]
    return comparison_outcomes(f, better, worse, by, pair_on, unit), pair_on, unit, left


def _labels(better, worse) -> list:
    return [*((better,) if isinstance(better, str) else better), *((worse,) if isinstance(worse, str) else worse)]


def failed_arm_names(frame: pd.DataFrame, better, worse, by: str) -> list[str]:
    """The arms of a share whose every sample failed, so that their comparison is missing from it, in words: "ovg x4,
    which diverged on every crop with the x0 model (48 of its 48 samples failed)" (a sample: one test crop translated
    with one seed)."""
    pair_on = [c for c in ("dataset", "method", "scale") if c in frame and c != by]
    whole = wholly_failed(frame, _labels(better, worse), by, pair_on)
    several = "dataset" in frame and frame["dataset"].nunique() > 1
    out = []
    for r in whole.itertuples():
        row = {k: getattr(r, k) for k in pair_on}
        name = comparison_name({**row, "better": "", "worse": ""}, pair_on, "", several)
        if by == "method":
            name = f"{name} {getattr(r, by)}".strip()
        model = f" with the {getattr(r, by)} model" if by != "method" else ""
        out.append(f"{name}, which diverged on every crop{model} ({r.failed} of its {r.samples} samples failed)")
    return out


def failed_left_out(frame: pd.DataFrame, crops: pd.DataFrame, metric: str, unit: str, better, worse, by: str,
                    pair_on: list[str]) -> str:
    """The failed samples (for a set-level metric: the (method, seed) cells with failed samples) of the compared
    labels left out of the comparisons a share still counts, in words ("" when none). Arms whose every sample failed
    are not counted here: ``failed_arm_names`` names them."""
    labels = _labels(better, worse)
    keys = [c for c in pair_on if c in frame]
    whole = wholly_failed(frame, labels, by, keys)
    gone = set(map(tuple, whole[[*keys, by]].astype(str).to_numpy())) if len(whole) else set()

    def alive(f):
        if f.empty or not gone:
            return f
        return f[~f[[*keys, by]].astype(str).apply(tuple, axis=1).isin(gone)]

    if unit == "crop":
        c = crops[(crops["metric"] == metric) & crops[by].isin(labels)] if not crops.empty else crops
        c = alive(c[c["same_as"].fillna("") == ""] if "same_as" in c else c)
        n = int(c["value"].isna().sum()) if not c.empty else 0
        return f"{n} failed sample{'s' * (n != 1)} left out of these comparisons" if n else ""
    f = frame[(frame["metric"] == metric) & frame[by].isin(labels)] if not frame.empty else frame
    f = alive(f)
    n = int((f["failed"].fillna(0) > 0).sum()) if "failed" in f and not f.empty else 0
    return f"{n} (method, seed) cell{'s' * (n != 1)} with failed samples left out" if n else ""


MISSING_NOTE = "each share counts only the remaining comparisons (a sample: one test crop translated with one seed)"


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


def share_rows(frame: pd.DataFrame, crops: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, str, list[str]]:
    """The rows a share of ``metric`` is computed from, its resampled unit and what it leaves out, in words: per-crop
    values (unit: crop; failed samples are NaN and drop out) for a per-sample metric, per-seed values (unit: seed;
    cells with failed samples left out) for a set-level one; the second of two coinciding methods either way."""
    src, unit = (crops, "crop") if not crops.empty and metric in set(crops["metric"]) else (frame, "seed")
    f = src[src["metric"] == metric] if not src.empty else src
    dup = (f["same_as"].fillna("") != "") if "same_as" in f else pd.Series(False, index=f.index)
    n_dup = len(f.loc[dup, [c for c in ("dataset", "method") if c in f]].drop_duplicates()) if dup.any() else 0
    f, why = countable(f[~dup]) if unit == "seed" else (f[~dup], {"failed": int(f.loc[~dup, "value"].isna().sum())})
    notes = [f"{plural(n_dup, '(dataset, method) point')} coinciding with another method counted once"
             if n_dup else "",
             f"{why['failed']} {'failed crop values' if unit == 'crop' else 'cells with failed samples'} left out"
             if why.get("failed") else ""]
    return f.loc[:, f.notna().any() | (f.columns == "value")], unit, [n for n in notes if n]
