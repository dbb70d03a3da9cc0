"""A Sphinx extension for the book's API page: the suite's docstrings are written as plain text with a little
Markdown, which reStructuredText would read as markup or errors. Autodoc hands each docstring (after napoleon) to
``prepare``: blank lines around Markdown-style lists, list continuations brought back to their item, displayed
blocks as literal blocks, single-backquoted code as code, and bars, trailing underscores and lone stars as text.

Listed in _config.yml under ``sphinx.extra_extensions``.
"""
from __future__ import annotations

import re

__all__ = ["rst_lists", "list_continuations", "displayed_blocks", "code_spans", "glued_code", "escape_bars",
           "escape_references", "escape_stars", "literal_line", "prepare", "setup"]

_ITEM = re.compile(r"^(\s*)(?:[-*+]|\d+\.)\s+\S")
# an inline literal on one line
_LITERAL = re.compile(r"(``[^`\n]+``)")
# reStructuredText's rule for inline markup: what may stand right before a start-string and right after an end-string
_BEFORE_OK = set(" \t\n-:/'\"<([{")
_AFTER_OK = set(" \t\n-.,:;!?\\/'\")]}>")
# text in backticks, from the left: a role with its argument (":func:`x`"), a link (`x`_, `x <url>`__), else
# single backticks (code, in the docstrings)
_TICKS = re.compile(r"(?P<role>:[\w.+-]+(?::[\w.+-]+)*:`[^`\n]*`)|(?P<link>`[^`\n]+`__?)|`(?P<code>[^`\n]+)`")
# a word that ends in "_" or "__" (a reference to a link target): "s_dc_raw_", "name__"; not one already escaped
_REFERENCE = re.compile(r"(?<![\w\\`])([A-Za-z0-9]+(?:[-_.:+][A-Za-z0-9]+)*)(__?)(?=$|[\s.,:;!?)\]}'\"])")
_PAIRS = {'"': '"', "'": "'", "(": ")", "[": "]", "{": "}", "<": ">"}
_STAR_START = re.compile(r"(?:(?<=^)|(?<=[\s(\[{<'\"/:-]))(\*\*|\*)(?=[^\s*])")


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


def list_continuations(lines: list[str]) -> list[str]:
    """``lines`` with each list item's continuation lines indented past its text brought back to it
    (reStructuredText would read them as a definition)."""
    out, col = [], None                    # col: the text column of the list item the paragraph is in
    for line in lines:
        m = _ITEM.match(line)
        if not line.strip():
            col = None
        elif m:
            col = m.end() - 1
        elif col is not None and _indent(line) > col:
            line = " " * col + line.lstrip()
        out.append(line)
    return out


def displayed_blocks(lines: list[str]) -> list[str]:
    """``lines`` with each displayed block (lines indented past the paragraph before them, after a blank line) made a
    literal block, so it keeps its columns; blocks after "::", a directive or a field, and list items, stay."""
    out: list[str] = []
    para_indent, para_kind = None, ""      # the indent and kind ("text", "literal", "other") of the last paragraph
    in_block = None                        # the indent of the displayed or literal block being read
    for i, line in enumerate(lines):
        if not line.strip():
            out.append(line)
            continue
        ind = _indent(line)
        if in_block is not None and ind >= in_block:
            out.append(line)
            continue
        in_block = None
        prev_blank = i > 0 and not lines[i - 1].strip()
        if prev_blank and para_indent is not None and ind > para_indent and not _ITEM.match(line):
            if para_kind == "text":
                out += ["::", ""]
            if para_kind in ("text", "literal"):
                in_block = ind
                out.append(line)
                continue
        if prev_blank or para_indent is None:
            stripped = line.lstrip()
            m = _ITEM.match(line)
            para_indent = m.end() - 1 if m else ind
            para_kind = "other" if stripped.startswith((":", "..")) else "text"
        if line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
            para_kind = "literal"
        out.append(line)
    return out


def _outside_literals(line: str, fix) -> str:
    """``line`` with ``fix`` applied outside inline literals; as it is when a literal spans lines."""
    if line.count("``") % 2:
        return line
    return "".join(p if i % 2 else fix(p) for i, p in enumerate(_LITERAL.split(line)))


def code_spans(line: str) -> str:
    """``line`` with each Markdown code span (single backquotes) in double ones; roles and links as they are."""
    return _outside_literals(line, lambda p: _TICKS.sub(lambda m: f"``{m['code']}``" if m["code"] else m.group(0), p))


def glued_code(line: str) -> str:
    """``line`` with an escaped space (which reStructuredText drops) between an inline literal and a letter it
    touches (an "x" before it, a plural "s" after it), so the literal reads as code."""
    if line.count("``") % 2:
        return line
    parts = _LITERAL.split(line)
    for i in range(1, len(parts), 2):
        before, after = parts[i - 1], parts[i + 1]
        if before and before[-1] not in _BEFORE_OK and not before.endswith("\\ "):
            parts[i - 1] = before + "\\ "
        if after and after[0] not in _AFTER_OK:
            parts[i + 1] = "\\ " + after
    return "".join(parts)


def escape_bars(line: str) -> str:
    """``line`` with each "|" outside ``literal`` text escaped (norms |x|, not substitution references)."""
    parts = line.split("``")
    return "``".join(p if i % 2 else p.replace("|", "\\|") for i, p in enumerate(parts))


def escape_references(line: str) -> str:
    """``line`` with the trailing "_" of a word ("s_dc_raw_") escaped (not a reference to a link target)."""
    return _outside_literals(line, lambda p: _REFERENCE.sub(lambda m: m.group(1) + m.group(2).replace("_", "\\_"), p))


def _end(text: str, run: str, start: int) -> int:
    """Where the emphasis ``run`` opened before ``start`` closes in ``text`` (-1: it does not)."""
    for m in re.finditer(re.escape(run), text[start:]):
        j = start + m.start()
        after = text[j + len(run):j + len(run) + 1]
        if text[j - 1] not in " \t\n*" and (not after or after in _AFTER_OK) and after != "*":
            return j
    return -1


def escape_stars(text: str) -> str:
    """``text`` (a paragraph) with each star or double star that would open emphasis but has no closing one, or
    stands before a comma or bracket (``fn(*, **kw)``), escaped; closed emphasis and other stars as they are."""
    masked = re.sub(r"``[^`]+``", lambda m: "\0" * len(m.group(0)), text)
    out, i = [], 0
    for m in _STAR_START.finditer(masked):
        if m.start() < i:
            continue
        run = m.group(1)
        before = masked[m.start() - 1] if m.start() else ""
        if _PAIRS.get(before, "\1") == masked[m.end()]:
            continue                         # alone in quotes or brackets ('"*"', "(**)"): no markup
        # a star before a comma or a bracket is Python's ("fn(*, a)", "(*)"), never emphasis
        j = -1 if masked[m.end()] in ",;:.)]}" else _end(masked, run, m.end())
        # a closing run that another opening of the same run comes before closes that one ("**kw) ... **bold**")
        if j >= 0 and any(o.group(1) == run for o in _STAR_START.finditer(masked, m.end(), j)):
            j = -1
        if j < 0:
            out += [text[i:m.start()], "\\*" * len(run)]
            i = m.end()
        else:
            out.append(text[i:j + len(run)])
            i = j + len(run)
    return "".join(out) + text[i:]


def literal_line(line: str) -> str:
    """A literal block's line without the double backquotes around code (a literal block shows them as typed)."""
    return re.sub(r"``([^`\n]+)``", r"\1", line)


def _inline(line: str) -> str:
    return escape_bars(escape_references(glued_code(code_spans(line))))


def prepare(lines: list[str]) -> list[str]:
    """A docstring's lines as the API page parses them: the block fixes, then each line's inline fixes, each
    paragraph's ``escape_stars``, and ``literal_line`` inside literal blocks."""
    out: list[str] = []
    para: list[str] = []                   # the lines of the paragraph being read (outside literal blocks)
    literal_from = None                    # the indent of the "::" line while inside its block

    def flush():
        if para:
            out.extend(escape_stars("\n".join(para)).split("\n"))
            para.clear()

    for line in displayed_blocks(list_continuations(rst_lists(lines))):
        if literal_from is not None and line.strip() and _indent(line) <= literal_from:
            literal_from = None
        if literal_from is not None:
            out.append(literal_line(line))
            continue
        if not line.strip() or _ITEM.match(line) or line.lstrip().startswith((":", "..")):
            flush()                          # a paragraph ends at a blank line, a list item or a field
        para.append(_inline(line))
        if not line.strip():
            flush()
        if line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
            flush()
            literal_from = _indent(line)
    flush()
    return out


def _process(app, what, name, obj, options, lines):
    lines[:] = prepare(lines)


def factory_defaults(obj) -> dict[str, str]:
    """{field: its default} for the factory-made fields of dataclass ``obj`` (``<factory>`` in a signature): the
    value when short (``(16, 32)``), else the call (``UNetConfig()``, ``list(...)``)."""
    import dataclasses

    if not (isinstance(obj, type) and dataclasses.is_dataclass(obj)):
        return {}
    out = {}
    for f in dataclasses.fields(obj):
        make = f.default_factory
        if make is dataclasses.MISSING:
            continue
        try:
            value = make()
            text = repr(value)
        except Exception:  # a factory that needs its context: name it instead
            value, text = None, ""
        if not text or len(text) > 40 or text.startswith("<"):
            named = getattr(make, "__name__", "<lambda>")
            text = f"{named}()" if named != "<lambda>" else f"{type(value).__name__}(...)"
        out[f.name] = text
    return out


def _signature(app, what, name, obj, options, signature, return_annotation):
    """A dataclass's signature with each ``<factory>`` default replaced by what it makes (``factory_defaults``)."""
    if not signature or "<factory>" not in signature:
        return None
    for field, text in factory_defaults(obj).items():
        signature = re.sub(rf"(?<![\w.'\"]){re.escape(field)}(\s*:[^=()]*?)?\s*=\s*<factory>",
                           lambda m: m.group(0).replace("<factory>", text), signature)
    return signature, return_annotation


def setup(app):
    app.connect("autodoc-process-docstring", _process)
    app.connect("autodoc-process-signature", _signature)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
