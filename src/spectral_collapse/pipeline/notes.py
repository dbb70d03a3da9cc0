"""The notes shown above a study's results: what the run that computed them warned about.

``run_notes`` lists the run's warnings (attr ``run_warnings``); ``failure_lines`` counts failed samples per method.
"""
from __future__ import annotations

import json
import re

__all__ = ["run_notes", "stored_notes", "failure_lines", "json_attr", "FAILED_LIST"]

HEADING = "**Notes from the run that computed these results:**"


def json_attr(attrs, key: str, default=None):
    """``attrs[key]`` parsed as JSON; ``default`` when it is missing, empty, null or not JSON."""
    try:
        value = json.loads(attrs.get(key) or "null")
    except (TypeError, ValueError):
        return default
    return default if value is None else value


def stored_notes(attrs: dict) -> list[str]:
    """The run's warnings (``attrs["run_warnings"]``, a JSON list), each once, in order; [] otherwise."""
    notes = json_attr(attrs, "run_warnings", [])
    return list(dict.fromkeys(str(n) for n in notes)) if isinstance(notes, list) else []


def run_notes(attrs: dict, ds=None) -> str:
    """Markdown listing ``stored_notes`` under ``HEADING``; '' when there are none (``ds`` is not read)."""
    notes = stored_notes(attrs)
    return HEADING + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n" if notes else ""


FAILED_LIST = re.compile(r"samples \[[\d, ]+\] failed")
_WHY = {"nonfinite": "non-finite values", "latent_norm": "latent norm out of bounds",
        "output_range": "output out of range"}


def failure_lines(ds) -> list[str]:
    """One line per method with failed samples: how many failed, per reason (``studies.validity.failure_table``)."""
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
