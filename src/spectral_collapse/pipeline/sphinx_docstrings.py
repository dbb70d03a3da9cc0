"""Sphinx extension listed in _config.yml: the API page shows each (plain-text, not reST) docstring as typed."""
from __future__ import annotations

__all__ = ["as_text_block", "setup"]


def as_text_block(lines: list[str]) -> list[str]:
    """``lines`` inside a ``code:: text`` directive ([] for an empty docstring)."""
    if not any(line.strip() for line in lines):
        return []
    return [".. code:: text", "", *(f"   {line}" if line.strip() else "" for line in lines), ""]


def _process(app, what, name, obj, options, lines):
    lines[:] = as_text_block(lines)


def setup(app):
    app.connect("autodoc-process-docstring", _process)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
