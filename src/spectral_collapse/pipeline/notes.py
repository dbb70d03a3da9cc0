"""The notes shown above a study's results: what the run that computed them warned about.

``run_notes`` lists a run's warnings (the results' ``run_warnings`` attribute, a JSON list of strings written by
the study and the translation loop) as a Markdown list, each once and as stored; ``failure_lines`` counts failed
samples per method for the main command's notes after a chapter.
"""
from __future__ import annotations

import json
import re

__all__ = ["run_notes", "stored_notes", "failure_lines", "FAILED_LIST"]

HEADING = "**Notes from the run that computed these results:**"


def stored_notes(attrs: dict) -> list[str]:
    """The run's warnings as stored (``attrs["run_warnings"]``), each once, in order; [] when there are none or the
    attribute is not a JSON list."""
    try:
        notes = json.loads(attrs.get("run_warnings") or "[]")
    except (TypeError, ValueError):
        return []
    return list(dict.fromkeys(str(n) for n in notes)) if isinstance(notes, list) else []


def run_notes(attrs: dict, ds=None) -> str:
    """Markdown listing the run's warnings (``stored_notes``) under ``HEADING``, one item each; '' when there are
    none. ``ds`` is accepted for the callers that pass the results and is not read."""
    notes = stored_notes(attrs)
    return HEADING + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n" if notes else ""


FAILED_LIST = re.compile(r"samples \[[\d, ]+\] failed")
_WHY = {"nonfinite": "non-finite values", "latent_norm": "latent norm out of bounds",
        "output_range": "output out of range"}


def failure_lines(ds) -> list[str]:
    """One line per method with failed samples: how many of its samples (test crops x seeds) failed, per reason,
    summed over the rows of ``studies.validity.failure_table``."""
    from ..studies.validity import REASONS, failure_table

    table = failure_table(ds)
    if table.empty or "method" not in table:
        return []
    out = []
    for m, rows in table.groupby("method", sort=False):
        counts = ", ".join(f"{_WHY.get(r, r)} in {int(rows[r].sum())}" for r in REASONS if r and rows[r].sum())
        of = ds["failed"].sel({"method": m}).size
        out.append(f"note: {m}: {int(rows['failed'].sum())} of {of} test crops failed ({counts})")
    return out
