"""The notes shown above a study's results: what the run that computed them warned about.

``run_notes`` lists a run's warnings (the results' ``run_warnings`` attribute, a JSON list of strings written by
the study and the translation loop) as a Markdown list, each once and as stored.
"""
from __future__ import annotations

import json

__all__ = ["run_notes", "stored_notes"]

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
