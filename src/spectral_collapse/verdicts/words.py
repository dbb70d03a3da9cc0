"""Verdict words and how several comparisons fold into one finding (counts in words with correct plurals)."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["HOLDS", "FAILS", "INCONCLUSIVE", "UNTESTABLE", "UNGATED", "DEPENDS", "MEANS_ONLY", "VERDICT_ORDER",
           "TIE_RULE", "Finding", "base_verdict", "count_words", "tally", "tally_words", "natural_key", "label",
           "fmt_value", "fisher_interval", "pearson_interval", "correlation_verdict"]

HOLDS, FAILS, INCONCLUSIVE, UNTESTABLE = "holds", "does not hold", "inconclusive", "not testable here"
UNGATED = "not testable on gated models"      # every comparison rests on a model below the quality gate
DEPENDS = "depends on the training seed"      # the training seeds give different verdicts
MEANS_ONLY = "(means only)"                   # appended to a verdict decided on means, without an interval
VERDICT_ORDER = (HOLDS, FAILS, INCONCLUSIVE, DEPENDS, UNGATED, UNTESTABLE)
# How two equal reported means read (appended to the rules that decide on means).
TIE_RULE = "two equal means are a tie: inconclusive"
_LABELS = {"psnr": "PSNR", "ms_ssim": "MS-SSIM", "lpips": "LPIPS", "delta_log_e_hf": "Δlog E_HF"}
# the plural of the verdicts that are verbs ("1 holds", "2 hold"); the others take "is" / "are"
_PLURAL = {HOLDS: "hold", FAILS: "do not hold", DEPENDS: "depend on the training seed"}


@dataclass(frozen=True)
class Finding:
    verdict: str
    detail: str
    caveat: str = ""    # what limits the verdict's reach, in words (a model below the quality gate); "" for none
    effect: str = ""    # the effect word of the fractions of the gap closed (``effect.claim_effect``); "" for none
    gaps: tuple = ()    # the ``effect.Gap`` of each comparison with a reference
    runs: str = ""      # each training run's own numbers, one line per run, where comparisons were pooled over runs
    diffs: tuple = ()   # (comparison, mean difference, has a gap) of each paired comparison, to pool over runs


def base_verdict(verdict: str) -> str:
    """The verdict word of ``VERDICT_ORDER`` a verdict starts with ("holds (means only)" -> "holds")."""
    return next((w for w in VERDICT_ORDER if str(verdict).startswith(w)), str(verdict))


def count_words(n: int, verdict: str) -> str:
    """A count with the verdict's verb in agreement: "1 holds", "2 hold", "1 is not testable here"."""
    if verdict in _PLURAL:
        return f"{n} {verdict if n == 1 else _PLURAL[verdict]}"
    return f"{n} {'is' if n == 1 else 'are'} {verdict}" if verdict in VERDICT_ORDER else f"{n} {verdict}"


def tally(verdicts) -> dict[str, int]:
    """How many of ``verdicts`` give each word of ``VERDICT_ORDER`` (by ``base_verdict``), every word listed."""
    words = [base_verdict(v) for v in verdicts]
    return {w: words.count(w) for w in VERDICT_ORDER}


def tally_words(verdicts) -> str:
    """The tally in words, zeros left out: "12 hold, 1 does not hold and 1 is not testable here"."""
    parts = [count_words(n, w) for w, n in tally(verdicts).items() if n]
    return " and ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 1 else "".join(parts)


def natural_key(text: str) -> tuple:
    """``text`` as a sort key with its numbers read as numbers: "bbbc021 ×8" before "bbbc021 ×16"."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(text)) if t)


def label(metric: str) -> str:
    return _LABELS.get(metric, metric.upper())


def fmt_value(x: float) -> str:
    """Three decimals, or "nan"."""
    return "nan" if x is None or not np.isfinite(x) else f"{x:.3f}"


def fisher_interval(r: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """The Fisher-z interval of a Pearson r over n independent points ([-1, 1] when n <= 3)."""
    from scipy.stats import norm

    if n <= 3 or not np.isfinite(r):
        return -1.0, 1.0
    z = np.arctanh(np.clip(r, -1 + 1e-12, 1 - 1e-12))
    half = norm.ppf(0.5 + level / 2) / np.sqrt(n - 3)
    return float(np.tanh(z - half)), float(np.tanh(z + half))


def correlation_verdict(r: float, lo: float, hi: float, sign: int, threshold: float) -> str:
    """holds: the whole interval beyond ``threshold`` (and 0) in the direction ``sign``; does not hold: wholly short of
    it; else inconclusive (``r`` is not read)."""
    lo, hi = (lo, hi) if sign > 0 else (-hi, -lo)
    return HOLDS if lo >= threshold and lo > 0 else FAILS if hi < threshold else INCONCLUSIVE


def pearson_interval(a, b) -> tuple[float, float, float, int]:
    """(r, lo, hi, n): Pearson r of paired values with its 95 % Fisher-z interval; NaN below 3 pairs or constant."""
    ok = len(a) > 2 and np.std(a) > 0 and np.std(b) > 0
    r = float(np.corrcoef(a, b)[0, 1]) if ok else np.nan
    return (r, *fisher_interval(r, len(a)), len(a))
