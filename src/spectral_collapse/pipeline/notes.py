"""The notes shown above a study's results: what the run that computed them warned about.

``run_notes`` lists the run's warnings (attr ``run_warnings``).
"""
from __future__ import annotations

import json

__all__ = ["run_notes", "stored_notes", "json_attr"]

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


def run_notes(attrs: dict) -> str:
    """Markdown listing ``stored_notes`` under ``HEADING``; '' when there are none."""
    notes = stored_notes(attrs)
    return HEADING + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n" if notes else ""
