"""The published per-step costs of each inversion method (its authors' paper and code) as ranges, and whether a
benchmark run's counted network calls, evaluations and backward passes agree with them.

A count agrees when it lies in the published range widened by ``TOLERANCE`` on each side: the counts are exact
numbers of calls averaged over the run's steps, so anything beyond rounding is a disagreement.
"""
from __future__ import annotations

__all__ = ["TOLERANCE", "PUBLISHED", "agreement"]

TOLERANCE = 0.01

# label -> (the authors' words, {count key: (low, high) as functions of the number of steps N})
PUBLISHED = {
    "ovg": ("one forward with graph plus two vector-Jacobian products",
            {"calls_per_step": (1, 1), "backward_per_step": (2, 2)}),
    "null_class": ("up to 1 + 10 + 2 forwards (×2 NFE under guidance) and up to 10 backward passes",
                   {"calls_per_step": (3, 13), "backward_per_step": (0, 10)}),
    "renoise": ("R + 1 forwards plus one reference forward; R = 1 here",
                {"calls_per_step": (3, 3), "backward_per_step": (0, 0)}),
    "renoise_r9": ("R + 1 forwards plus one reference forward; R = 9, 5 on the first steps",
                   {"calls_per_step": (5 + 2, 9 + 2), "backward_per_step": (0, 0)}),
    "edict": ("2 forwards", {"calls_per_step": (2, 2), "backward_per_step": (0, 0)}),
    "bdia": ("1 forward", {"calls_per_step": (1, 1), "backward_per_step": (0, 0)}),
    "heun": ("2 forwards, 1 on the step from σ = 0",
             {"calls_per_step": (lambda n: (2 * n - 1) / n, 2), "backward_per_step": (0, 0)}),
    "direct_inversion": ("1 forward of the DDIM inversion it follows plus one guided (2 NFE) forward",
                         {"calls_per_step": (2, 2), "nfe_per_step": (3, 3), "backward_per_step": (0, 0)}),
}

_WORDS = {"calls_per_step": "calls", "nfe_per_step": "NFE", "backward_per_step": "backward calls"}


def agreement(row: dict, steps: int) -> tuple[bool, list[str]] | None:
    """(whether every published count of a benchmark row agrees within ``TOLERANCE``, the counts that do not,
    in words); None for a label without published counts."""
    label = row["label"]
    if label not in PUBLISHED:
        return None
    off = []
    for key, spec in PUBLISHED[label][1].items():
        lo, hi = (float(v(steps) if callable(v) else v) for v in spec)
        v = row.get(key)
        if v is None or not lo - TOLERANCE <= float(v) <= hi + TOLERANCE:
            want = f"{lo:g}" if lo == hi else f"{lo:g} to {hi:g}"
            off.append(f"{_WORDS[key]} {'not counted' if v is None else f'{float(v):.2f}'} against {want}")
    return not off, off
