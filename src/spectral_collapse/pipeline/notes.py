"""The notes shown above a study's results: what the run that computed them warned about, in words.

``run_notes`` turns a run's warnings (the results' ``run_warnings`` attribute) into a Markdown list, putting notes
that older code stored in other words into the words used now and merging the translation loop's per-batch notes on
non-finite samples into one sentence; ``failure_notes`` describes the failed samples of a results table from the
table itself (which method, grid point or arm and seed, how many of how many, each reason counted); ``reasons_text``
names failure reasons in words.
"""
from __future__ import annotations

import json
import re

from ..report.failures import failure_notes, reasons_text
from ..text import step_size, symbol

__all__ = ["run_notes", "failure_notes", "reasons_text"]


# What a run's warnings said before they were put in words (results stored then keep the old text): a study's
# failed samples as positions in the translated batch, the loop's non-finite samples per batch, Null-Class at w = 1.
_OLD_FAILED = re.compile(r"^(?P<label>[^,]+), seed (?P<seed>\d+): test samples \[(?P<idx>[^\]]*)\] failed "
                         r"\((?P<reasons>[^;)]*)(?:; (?P<steps>\d+) steps each way)?\)")
_NEW_FAILED = re.compile(r"^(?P<label>[^:]+): \d+ of \d+ test crops of seed \d+ failed")
_NONFINITE = re.compile(r"^(?P<k>\d+) of (?P<n>\d+) samples (?:of a translation batch )?became non-finite")
_NULL_CLASS_W1 = "null_class at guidance scale w = 1"
_NO_POINT = re.compile(r"^(?P<base>[^:]+): no grid point without failed samples; no operating point chosen")
_PER_STEP = re.compile(r"(\d+) at step (\d+)")
_GRID = re.compile(r"steps 0-(\d+) invert")


def _nonfinite_words(notes: list[str], attrs: dict) -> str:
    """The translation loop's notes on non-finite samples (one per batch) as one sentence: how many of how many per
    batch, and from which inversion or sampling step; at the grid points of an OVG step-size tuning when the batches
    are that tuning's images."""
    parts, spans = [], []
    n_inv = None
    for note in notes:
        m = _NONFINITE.match(note)
        parts.append(f"{m.group('k')} of {m.group('n')}")
        steps = [int(b) for _, b in _PER_STEP.findall(note)]
        g = _GRID.search(note)
        n_inv = int(g.group(1)) + 1 if g else n_inv
        spans.append((min(steps), max(steps)) if steps else None)
    try:
        tuning = json.loads(attrs.get("ovg_tuning") or "null")
    except (TypeError, ValueError):
        tuning = None
    sizes = {int(_NONFINITE.match(n).group("n")) for n in notes}
    if isinstance(tuning, dict) and sizes == {int(tuning.get("n_images") or -1)}:
        where = (f"While OVG's step sizes were tuned ({tuning['n_images']} validation crops per grid point), the "
                 f"translations at {len(notes)} grid point{'s' if len(notes) > 1 else ''} became non-finite")
        choice = tuning.get("choice") or {}
        tail = (f"; the chosen point (eta_hf {step_size(choice['eta_hf'])}, eta_lf {step_size(choice['eta_lf'])}) is free of failed "
                "samples" if choice.get("eta_hf") is not None and choice.get("eta_lf") is not None else "")
    else:
        where = f"{len(notes)} translation batch{'es' if len(notes) > 1 else ''} became non-finite"
        tail = ""

    def phase(span):
        if span is None:
            return ""
        lo, hi = span
        sampling = n_inv is not None and lo >= n_inv
        lo, hi = (lo - n_inv, hi - n_inv) if sampling else (lo, hi)
        steps = f"step {lo}" if lo == hi else f"steps {lo} to {hi}"
        of = f" of {n_inv}" if n_inv else ""
        return f" at {'sampling' if sampling else 'inversion'} {steps}{of}"

    unit = "validation crops" if where.startswith("While OVG's") else "images"
    each = "; ".join(f"{p} {unit}{phase(s)}" for p, s in zip(parts, spans))
    return f"{where}: {each}{tail}."


def _no_point_words(base: str, attrs: dict) -> str:
    """An OVG step-size sweep that chose nothing (every grid point had failed samples), in words: which variant, and
    what ran instead: the step sizes the results record (``ovg``), or, for the sweep's own results, what the studies
    that read it take (the primary variant's choice, else the suite's defaults)."""
    from ..studies.method_labels import OVG_DEFAULTS

    def eta(d) -> str:
        return f"{symbol('eta_hf')} {step_size(d['eta_hf'])}, {symbol('eta_lf')} {step_size(d['eta_lf'])}"

    try:
        used = json.loads(attrs.get("ovg") or "null")
        choices = json.loads(attrs.get("choices") or "null")
    except (TypeError, ValueError):
        used, choices = None, None
    # a short calibration on a user's images (studies.calibrate) is named as its source names it, with its images
    calibrated = isinstance(used, dict) and "short calibration" in str(used.get("source", ""))
    who, on = (("the short calibration", "its validation images") if calibrated else
               ("the sweep", "the sweep's validation crops"))
    head = f"Every step size {who} tried for {base} had failed samples on {on}, so {who} chose no step sizes for it"
    if isinstance(used, dict) and used.get("eta_hf") is not None:
        own = (used.get("per_base") or {}).get(base) or used
        kind = "the suite's default step sizes" if str(used.get("source", "")).startswith("defaults") else "step sizes"
        return f"{head}; this run used {kind} instead ({eta(own)})."
    if isinstance(choices, dict):
        primary = attrs.get("primary", "ovg")
        if base != primary and choices.get(primary):
            return (f"{head}; the studies that read this sweep run {base} at {primary}'s choice "
                    f"({eta(choices[primary])}).")
        return f"{head}; the studies that read this sweep use the suite's default step sizes ({eta(OVG_DEFAULTS)})."
    return head + "."


def _reworded(note: str) -> str:
    """A stored note in the words the suite uses now (notes written by older code named positions in a batch and
    internal fields)."""
    if note.startswith(_NULL_CLASS_W1):
        from ..inversion.methods.null_class import W1_NOTE

        return W1_NOTE
    m = _OLD_FAILED.match(note)
    if m:
        reasons = [r for r in m.group("reasons").split(",") if r.strip()]
        steps = f", {m.group('steps')} steps each way" if m.group("steps") else ""
        return (f"{m.group('label')}: {len(reasons)} test sample{'s' if len(reasons) != 1 else ''} failed "
                f"({reasons_text(reasons)}{steps}); they are left out of the means")
    from ..report.settings_words import option_words, plain_source

    return option_words(plain_source(note))   # the data loader's options quoted with their values, in words


def run_notes(attrs: dict, ds=None) -> str:
    """Markdown listing what the run that computed a result warned about (one line each), in words, '' when nothing.

    With the results ``ds``, failed samples are described from the results themselves (``failure_notes``: which
    method, grid point or arm and seed, how many of how many, the reasons counted), in place of the run's notes on
    them; the translation loop's per-batch notes on non-finite samples become one sentence."""
    try:
        notes = json.loads(attrs.get("run_warnings") or "[]")
    except (TypeError, ValueError):
        notes = []
    from_data = failure_notes(ds)
    table = ds is not None and {"failed", "failure"} <= set(ds.variables)
    covered = table and bool((ds["failure"].values.astype(str) == "nonfinite").any())
    lines, nonfinite = [], []
    for n in notes:
        if table and (_OLD_FAILED.match(n) or _NEW_FAILED.match(n)):
            continue  # described from the results below
        if _NONFINITE.match(n):
            if not covered:
                nonfinite.append(n)
            continue
        point = _NO_POINT.match(n)
        text = _no_point_words(point.group("base"), attrs) if point else _reworded(n)
        if text not in lines:
            lines.append(text)
    if nonfinite:
        lines.append(_nonfinite_words(nonfinite, attrs))
    lines += from_data
    if not lines:
        return ""
    return "**Notes from the run that computed these results:**\n\n" + "\n".join(f"- {n}" for n in lines) + "\n"
