"""Three-way verdicts of the paper's claims on per-crop evidence: a paired 95 % bootstrap interval over crops against
the metric's minimal effect (``MIN_EFFECT``), a correlation's Fisher-z interval; the paper's tables on the means."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..metrics.intervals import MIN_EFFECT, paired_ci, three_way
from ..reference.method_names import METHOD_NAMES
from ..text import signed

__all__ = ["HOLDS", "FAILS", "INCONCLUSIVE", "UNTESTABLE", "VERDICT_ORDER", "TIE_RULE", "Finding", "fold", "combine",
           "label", "paired_units", "compare", "versus_or_tie", "texture_check", "real_band", "overshoots",
           "fisher_interval", "correlation_verdict", "fmt_value"]

HOLDS, FAILS, INCONCLUSIVE, UNTESTABLE = "holds", "does not hold", "inconclusive", "not testable here"
VERDICT_ORDER = (HOLDS, FAILS, INCONCLUSIVE, UNTESTABLE)
# How two equal reported means read (appended to the rules that decide on means).
TIE_RULE = "two equal means are a tie: inconclusive"
_LABELS = {"psnr": "PSNR", "ms_ssim": "MS-SSIM", "lpips": "LPIPS", "delta_log_e_hf": "Δlog E_HF"}


@dataclass(frozen=True)
class Finding:
    verdict: str
    detail: str
    caveat: str = ""    # what limits the verdict's reach, in words (a model below the quality gate); "" for none


def fold(verdicts) -> str:
    """All hold -> holds; any does not hold -> does not hold; else inconclusive."""
    vs = list(verdicts)
    return HOLDS if all(v == HOLDS for v in vs) else FAILS if FAILS in vs else INCONCLUSIVE


def combine(checks: list[tuple], missing: str) -> Finding:
    """One finding from (verdict or bool, text) checks, None ones left out; "not testable here" checks are listed
    after the others, which alone decide (none left: not testable here, their texts or ``missing``). Several checks:
    the detail counts how many hold, each ends with its verdict, settings in numeric order."""
    checks = [c for c in checks if c is not None]
    untested = [t for v, t in checks if v == UNTESTABLE]
    checks = [(v, t) for v, t in checks if v != UNTESTABLE]
    vs = [v if isinstance(v, str) else (HOLDS if v else FAILS) for v, _ in checks]
    if not checks:
        return Finding(UNTESTABLE, "; ".join(untested) or missing)
    if untested:
        n_inc = vs.count(INCONCLUSIVE)
        head = (f"{vs.count(HOLDS)} of {len(vs)} testable hold" + (f", {n_inc} inconclusive" if n_inc else "")
                + f" ({len(untested)} not testable here): ")
        return Finding(fold(vs), head + "; ".join(t for _, t in checks) + "; " + "; ".join(untested))
    settings = [str(t).split(": ")[0] for _, t in checks]
    if settings == sorted(settings):  # settings in string order (a groupby's): put their numbers in numeric order
        order = sorted(range(len(checks)), key=lambda i: natural_key(settings[i]))
        checks, vs = [checks[i] for i in order], [vs[i] for i in order]
    if len(vs) > 1:   # each of several comparisons says what it reads
        checks = [(v, t if " → " in str(t) else f"{t} → {w}") for (v, t), w in zip(checks, vs)]
    n_inc, n_fail = vs.count(INCONCLUSIVE), vs.count(FAILS)
    fails = FAILS if n_fail == 1 else "do not hold"   # "1 does not hold", "2 do not hold"
    head = (f"{vs.count(HOLDS)} of {len(vs)} hold" + (f", {n_fail} {fails}" if n_fail else "")
            + (f", {n_inc} inconclusive" if n_inc else "") + ": " if len(vs) > 1 else "")
    return Finding(fold(vs), head + "; ".join(t for _, t in checks))


def difference(a, b) -> str:
    """The label of a difference a − b, a compound name ("OVG + EDM") in brackets: "taba − (ovg_edm)"."""
    a, b = (f"({x})" if " + " in METHOD_NAMES.get(str(x), "") else str(x) for x in (a, b))
    return f"{a} − {b}"


def natural_key(text: str) -> tuple:
    """``text`` as a sort key with its numbers read as numbers: "bbbc021 ×8" before "bbbc021 ×16"."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(text)) if t)


def label(metric: str) -> str:
    return _LABELS.get(metric, metric.upper())


# ------------------------------------------------------------------------------------------------ comparisons

def paired_units(f: pd.DataFrame, a, b, by: str = "method") -> tuple[np.ndarray, np.ndarray]:
    """The values of ``a`` and ``b`` (labels in column ``by``) on the crops both scored, one entry per crop, sorted:
    rows of ``f`` (one metric) pair on every other column but ``value`` and ``same_as``, pairs with a non-finite side
    dropped and the pairs of one crop (over the seeds that share it) averaged."""
    f = f.loc[:, f.notna().any() | (f.columns == "value")]
    keys = [c for c in f.columns if c not in (by, "value", "same_as")]
    m = f[f[by] == a].merge(f[f[by] == b], on=keys, suffixes=("_a", "_b"))
    m = m[np.isfinite(m["value_a"].astype(float)) & np.isfinite(m["value_b"].astype(float))]
    if m.empty:
        return np.array([]), np.array([])
    unit = [c for c in keys if c not in ("seed", "sample")]
    g = m.groupby(unit, sort=True, dropna=False)[["value_a", "value_b"]].mean()
    return g["value_a"].to_numpy(float), g["value_b"].to_numpy(float)


def compare(f: pd.DataFrame, a, b, metric: str, *, by: str = "method", higher: bool = True,
            prefix: str = "") -> tuple[str, str] | None:
    """Paired comparison of ``a`` against ``b`` on ``metric`` over the crops of ``f``, the claim a - b > 0
    (``higher``) or < 0 by more than ``MIN_EFFECT[metric]`` (else 0.01): (verdict, "<prefix>S_HF ovg − ddim +0.005
    [−0.018, +0.031], 48 crops → inconclusive"); None when the two share no crop."""
    xa, xb = paired_units(f[f["metric"] == metric], a, b, by)
    if not len(xa):
        return None
    ci = paired_ci(xa, xb)
    v = three_way(ci, MIN_EFFECT.get(metric, 0.01), higher_is_claimed=higher)
    return v, (f"{prefix}{label(metric)} {difference(a, b)} {signed(ci.mean)} [{signed(ci.lo)}, {signed(ci.hi)}], "
               f"{ci.n} crops → {v}")


def versus_or_tie(ev, study: str, eq: dict, a, b, metric: str, *, by: str = "method", higher: bool = True,
                  prefix: str = ""):
    """A claimed difference a - b (> 0 when ``higher``) on the rows of ``study`` with ``eq``: paired over crops where
    the evidence holds them (``compare``), else two-way on the reported means (two equal means: ``TIE_RULE``).
    None when a side is missing."""
    crops = ev.select(study, per_crop=True, **eq)
    if not crops.empty and metric in set(crops["metric"]):
        return compare(crops, a, b, metric, by=by, higher=higher, prefix=prefix)
    f = ev.select(study, **eq)
    means = f[f["metric"] == metric].groupby(by)["value"].mean()
    if a not in means or b not in means or not np.isfinite(means[a]) or not np.isfinite(means[b]):
        return None
    text = f"{prefix}{label(metric)} {a} {fmt_value(means[a])} vs {b} {fmt_value(means[b])}"
    if np.isclose(float(means[a]), float(means[b]), rtol=0.0, atol=1e-9):
        return INCONCLUSIVE, f"{text} (tie) → {INCONCLUSIVE}"
    return (bool(means[a] > means[b]) if higher else bool(means[a] < means[b])), text


def real_band(ds) -> tuple[float, float] | None:
    """The band of "right" for the signed texture error: mean ± std of the real crops' own per-crop
    ``delta_log_e_hf`` (the ``ground_truth`` control of a translation result); None without that control."""
    if "control_delta_log_e_hf" not in ds or "ground_truth" not in ds["control"].values.tolist():
        return None
    v = np.asarray(ds["control_delta_log_e_hf"].sel(control="ground_truth").values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return None
    return float(v.mean() - v.std(ddof=1)), float(v.mean() + v.std(ddof=1))


def overshoots(a: float, b: float, band: tuple[float, float]) -> bool:
    """Whether a mean error ``a`` that started from ``b`` ends beyond the band on its other side; never when ``b``
    is inside the band."""
    lo, hi = band
    return (b < lo and a > hi) or (b > hi and a < lo)


def texture_check(f: pd.DataFrame, a: str, b: str, prefix: str = "",
                  band: tuple[float, float] | None = None) -> tuple[str, str] | None:
    """Whether ``a``'s signed texture error (``delta_log_e_hf``) moves toward zero from ``b``'s: holds when |mean(a)| <
    |mean(b)| and the paired interval of |error(a)| - |error(b)| lies below 0 beyond ``MIN_EFFECT``; does not hold in
    the reverse case or when ``a`` ``overshoots`` the ``band``; None without the metric."""
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
    where = "" if band is None else f"; real crops' band [{signed(band[0], 2)}, {signed(band[1], 2)}]"
    over = band is not None and overshoots(float(sa.mean()), float(sb.mean()), band)
    if over:
        v = FAILS
    return v, (f"{prefix}|Δlog E_HF| {difference(a, b)} {signed(ci.mean)} [{signed(ci.lo)}, {signed(ci.hi)}], "
               f"{ci.n} crops (mean Δlog E_HF {a} {signed(sa.mean(), 2)}, {b} {signed(sb.mean(), 2)}{where})"
               + ("; overshoots the band" if over else "") + f" → {v}")


# ------------------------------------------------------------------------------------------------ correlations

def fisher_interval(r: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """The Fisher-z interval of a Pearson r over n independent points ([-1, 1] when n <= 3)."""
    from scipy.stats import norm

    if n <= 3 or not np.isfinite(r):
        return -1.0, 1.0
    z = np.arctanh(np.clip(r, -1 + 1e-12, 1 - 1e-12))
    half = norm.ppf(0.5 + level / 2) / np.sqrt(n - 3)
    return float(np.tanh(z - half)), float(np.tanh(z + half))


def correlation_verdict(r: float, lo: float, hi: float, sign: int, threshold: float) -> str:
    """holds: r beyond ``threshold`` in the claimed direction (``sign`` +1 / -1) and the interval excludes 0; does
    not hold: the whole interval on the wrong side of the threshold; else inconclusive."""
    r, lo, hi = (r, lo, hi) if sign > 0 else (-r, -hi, -lo)
    on, off = r >= threshold and lo > 0, hi < threshold
    return HOLDS if on else FAILS if off else INCONCLUSIVE


def fmt_value(x: float) -> str:
    """Three decimals, or "nan"."""
    return "nan" if x is None or not np.isfinite(x) else f"{x:.3f}"
