"""Three-way verdicts of the paper's claims on per-crop evidence: a paired 95 % bootstrap interval over crops against
the metric's minimal effect (``MIN_EFFECT``), a correlation's Fisher-z interval; the paper's tables on the means."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ..framework.realism import spread_band
from ..metrics.intervals import MIN_EFFECT, paired_ci, three_way
from ..reference.method_names import METHOD_NAMES
from ..text import signed
from ..verdicts.effect import REFERENCES, gap_fraction
from ..verdicts.rules import combine, fold
from ..verdicts.words import (FAILS, HOLDS, INCONCLUSIVE, TIE_RULE, UNTESTABLE, VERDICT_ORDER, Finding,
                              correlation_verdict, fisher_interval, fmt_value, label, natural_key)

__all__ = ["HOLDS", "FAILS", "INCONCLUSIVE", "UNTESTABLE", "VERDICT_ORDER", "TIE_RULE", "Finding", "fold", "combine",
           "label", "natural_key", "paired_units", "compare", "versus_or_tie", "leak_beside", "texture_check",
           "real_band", "fisher_interval", "correlation_verdict", "fmt_value", "gap_of"]


def difference(a, b) -> str:
    """The label of a difference a − b, a compound name ("OVG + EDM") in brackets: "taba − (ovg_edm)"."""
    a, b = (f"({x})" if " + " in METHOD_NAMES.get(str(x), "") else str(x) for x in (a, b))
    return f"{a} − {b}"


# ------------------------------------------------------------------------------------------------ comparisons

def paired_units(f: pd.DataFrame, a, b, by: str = "method") -> tuple[np.ndarray, np.ndarray]:
    """The finite values of ``a`` and ``b`` (in column ``by``) on the crops both scored, one per crop (its seeds
    averaged), sorted."""
    f = f.loc[:, f.notna().any() | (f.columns == "value")]
    keys = [c for c in f.columns if c not in (by, "value", "same_as")]
    m = f[f[by] == a].merge(f[f[by] == b], on=keys, suffixes=("_a", "_b"))
    m = m[np.isfinite(m["value_a"].astype(float)) & np.isfinite(m["value_b"].astype(float))]
    if m.empty:
        return np.array([]), np.array([])
    unit = [c for c in keys if c not in ("seed", "sample")]
    g = m.groupby(unit, sort=True, dropna=False)[["value_a", "value_b"]].mean()
    return g["value_a"].to_numpy(float), g["value_b"].to_numpy(float)


def gap_of(metric: str, xa, xb, higher: bool, reference=None):
    """The ``effect.Gap`` the claimed-better side closes on the other's, for a metric with a reference; else None
    (``reference``: the ground truth's mean, for a metric whose reference is "truth")."""
    ref = REFERENCES.get(metric, (None,))[0]
    ref = reference if ref == "truth" else ref
    if ref is None or not len(xa):
        return None
    return gap_fraction(metric, *((xa, xb) if higher else (xb, xa)), ref)


def _named(gap, what: str):
    """``gap`` with the comparison it measures (``Gap.what``); None stays None."""
    return None if gap is None else replace(gap, what=what)


def compare(f: pd.DataFrame, a, b, metric: str, *, by: str = "method", higher: bool = True,
            prefix: str = "", reference=None) -> tuple | None:
    """Paired comparison of ``a`` and ``b`` on ``metric`` over the crops of ``f``, claim a − b > 0 (``higher``) or < 0:
    (verdict, text, gap, (comparison, mean difference, has a gap)); None when the two share no crop."""
    xa, xb = paired_units(f[f["metric"] == metric], a, b, by)
    if not len(xa):
        return None
    ci = paired_ci(xa, xb)
    v = three_way(ci, MIN_EFFECT.get(metric, 0.01), higher_is_claimed=higher)
    gap = _named(gap_of(metric, xa, xb, higher, reference) if by == "method" else None,
                 f"{prefix}{label(metric)} {a if higher else b}")
    closes = "" if gap is None else f"; {a if higher else b} {gap}"
    return v, (f"{prefix}{label(metric)} {difference(a, b)} {signed(ci.mean)} [{signed(ci.lo)}, {signed(ci.hi)}], "
               f"{ci.n} crops{closes} → {v}"), gap, (f"{prefix}{label(metric)} {difference(a, b)}", ci.mean,
                                                      gap is not None)


def versus_or_tie(ev, study: str, eq: dict, a, b, metric: str, *, higher: bool = True, prefix: str = ""):
    """A claimed difference a − b on the rows of ``study`` with ``eq``: paired over crops where held (``compare``),
    else two-way on the means (equal means: ``TIE_RULE``); None when a side is missing."""
    crops = ev.select(study, per_crop=True, **eq)
    if not crops.empty and metric in set(crops["metric"]):
        out = compare(crops, a, b, metric, higher=higher, prefix=prefix,
                      reference=ev.truths.get((study, eq.get("dataset")), {}).get(metric))
        leak = leak_beside(crops, a, b) if metric == "s_dc" and out is not None else ""
        return out if not leak else (out[0], f"{out[1]} ({leak})", *out[2:])
    f = ev.select(study, **eq)
    means = f[f["metric"] == metric].groupby("method")["value"].mean()
    if a not in means or b not in means or not np.isfinite(means[a]) or not np.isfinite(means[b]):
        return None
    text = f"{prefix}{label(metric)} {a} {fmt_value(means[a])} vs {b} {fmt_value(means[b])}"
    if np.isclose(float(means[a]), float(means[b]), rtol=0.0, atol=1e-9):
        return INCONCLUSIVE, f"{text} (tie) → {INCONCLUSIVE}"
    return (bool(means[a] > means[b]) if higher else bool(means[a] < means[b])), text


def leak_beside(crops: pd.DataFrame, a, b) -> str:
    """The support leak of ``a`` and ``b`` on the crops both scored ("support leak ddim 0.46, taba 1.00") or ""."""
    f = crops[crops["metric"] == "support_leak"]
    xa, xb = paired_units(f, a, b) if not f.empty else ([], [])
    if not len(xa):
        return ""
    return f"support leak {a} {fmt_value(float(xa.mean()))}, {b} {fmt_value(float(xb.mean()))}"


def real_band(ds) -> tuple[float, float] | None:
    """Mean ± std of the real crops' own ``delta_log_e_hf`` (the ``ground_truth`` control); None without it."""
    if "control_delta_log_e_hf" not in ds or "ground_truth" not in ds["control"].values.tolist():
        return None
    return spread_band(ds["control_delta_log_e_hf"].sel(control="ground_truth").values)


def texture_check(f: pd.DataFrame, a: str, b: str, prefix: str = "") -> tuple[str, str] | None:
    """Whether ``a``'s signed texture error (``delta_log_e_hf``) moves toward zero from ``b``'s (paired over crops,
    ``verdicts.rules.TEXTURE_RULE``); None without the metric."""
    g = f[f["metric"] == "delta_log_e_hf"]
    if g.empty:
        return None
    xa, xb = paired_units(g.assign(value=g["value"].astype(float).abs()), a, b)
    sa, sb = paired_units(g, a, b)
    if not len(xa):
        return None
    ci = paired_ci(xa, xb)
    v = three_way(ci, MIN_EFFECT["delta_log_e_hf"], higher_is_claimed=False)
    closer = abs(sa.mean()) < abs(sb.mean())
    if (v == HOLDS and not closer) or (v == FAILS and closer):
        v = INCONCLUSIVE
    gap = _named(gap_fraction("delta_log_e_hf", xa, xb, 0.0), f"{prefix}|Δlog E_HF| {a}")
    return v, (f"{prefix}|Δlog E_HF| {difference(a, b)} {signed(ci.mean)} [{signed(ci.lo)}, {signed(ci.hi)}], "
               f"{ci.n} crops (mean Δlog E_HF {a} {signed(sa.mean(), 2)}, {b} {signed(sb.mean(), 2)}); {a} {gap} → "
               f"{v}"), gap
