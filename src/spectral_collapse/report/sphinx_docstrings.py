"""A Sphinx extension for the book's API page: the suite's docstrings write lists as Markdown does (a list right
under its lead-in line, a paragraph right after the list), which reStructuredText reads as errors. Before autodoc
hands a docstring to the parser, ``rst_lists`` puts the blank lines reStructuredText needs around each list and
``escape_bars`` keeps |x| and ||x|| as text.
Listed in _config.yml under ``sphinx.extra_extensions``.
"""
from __future__ import annotations

import re

__all__ = ["rst_lists", "escape_bars", "prepare", "setup"]

_ITEM = re.compile(r"^(\s*)(?:[-*+]|\d+\.)\s+\S")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def rst_lists(lines: list[str]) -> list[str]:
    """``lines`` with a blank line before a list (or a nested list) that follows text directly and after a list that
    text follows directly; everything else unchanged."""
    out: list[str] = []
    levels: list[int] = []                 # indents of the lists being read, outermost first
    for line in lines:
        m = _ITEM.match(line)
        prev = out[-1] if out else ""
        if m:
            ind = len(m.group(1))
            pm = _ITEM.match(prev)
            if prev.strip() and not (pm and len(pm.group(1)) == ind):
                out.append("")
            while levels and levels[-1] > ind:
                levels.pop()
            if not levels or levels[-1] < ind:
                levels.append(ind)
        elif line.strip() and levels and _indent(line) <= levels[-1]:
            if prev.strip():
                out.append("")
            while levels and levels[-1] >= _indent(line):
                levels.pop()
        out.append(line)
    return out


def escape_bars(line: str) -> str:
    """``line`` with each "|" outside ``literal`` text escaped: the docstrings write absolute values and norms as
    |x| and ||x||, which reStructuredText would read as substitution references."""
    parts = line.split("``")
    return "``".join(p if i % 2 else p.replace("|", "\\|") for i, p in enumerate(parts))


def prepare(lines: list[str]) -> list[str]:
    """A docstring's lines as the API page parses them: ``rst_lists``, then ``escape_bars`` on every line outside
    a literal block (the indented lines after a line ending in "::", shown as typed)."""
    out, literal_from = [], None           # literal_from: the indent of the "::" line while inside its block
    for line in rst_lists(lines):
        if literal_from is not None and line.strip() and _indent(line) <= literal_from:
            literal_from = None
        out.append(line if literal_from is not None else escape_bars(line))
        if literal_from is None and line.rstrip().endswith("::"):
            literal_from = _indent(line)
    return out


def _process(app, what, name, obj, options, lines):
    lines[:] = prepare(lines)


def setup(app):
    app.connect("autodoc-process-docstring", _process)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
