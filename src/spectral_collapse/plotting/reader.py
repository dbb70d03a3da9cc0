"""What a reader reads: the book's texts and tables in its one notation, keys by their names and symbols."""
from __future__ import annotations

import functools
import math
import re

import pandas as pd

from ..reference.method_names import METHOD_NAMES
from ..train.cache import HASHED_NAME, model_name
from .labels import reader_names
from ..text import KEPT, SYMBOLS, notation, power

__all__ = ["reader_label", "reader_text", "reader_table", "reader_cells", "code_keys", "table_numbers", "p_text",
           "P_DIGITS", "STUDY_NAMES", "study_name", "short_model_names"]

P_DIGITS = 4            # the decimals a p-value is shown with
_EXPONENT = re.compile(r"(?<![\w.\-])(-?)(\d+(?:\.\d+)?)[eE]([-+]?)0*(\d+)(?![\w.])")
_TAGS = re.compile(r"(<code>.*?</code>|<[^<>]+>)", re.S)
# a column of p-values, by its key: "p", "ks_p", "p_value", "p-value"
_P_COLUMN = re.compile(r"(?:^|_)p(?:[_\-]value)?$")

_KEY = r"[a-z]+(?:_[a-z0-9]+)+"
# a Markdown table cell, or an HTML cell's text, that holds one key and nothing else
_KEY_CELL = re.compile(rf"(?<=\|)([ \t]*{_KEY}[ \t]*)(?=\|)")
_KEY_ONLY = re.compile(rf"\s*{_KEY}\s*")


# a study key as prose names the study; a key not listed reads with its underscores as hyphens
STUDY_NAMES = {"eps_vs_x0": "ε-prediction vs x0-prediction", "pca_collapse": "PCA-collapse",
               "ovg_schedule": "OVG-schedule", "backbone_ablation": "backbone ablation",
               "space_ablation": "data-space ablation", "your_model": "your-model"}


def study_name(key: str) -> str:
    """A study key as prose names the study: "flow_collapse" -> "flow-collapse"."""
    return STUDY_NAMES.get(key, key.replace("_", "-"))


@functools.lru_cache(maxsize=None)
def _studies() -> re.Pattern:
    """A study key with an underscore standing alone before a word naming a study ("the flow_collapse study")."""
    from ..studies.registry import STUDIES

    keys = "|".join(map(re.escape, sorted((k for k in STUDIES if "_" in k), key=len, reverse=True)))
    return re.compile(rf"(?<![\w\-./=`])({keys})(?= (?:study|studies|chapter|chapters|results|ablation)\b)")


@functools.lru_cache(maxsize=None)
def _chart_symbols() -> tuple[tuple[re.Pattern, str], ...]:
    """(pattern, plain form) of each symbol whose chart form differs from its plain one ("η_HF" -> "eta_HF")."""
    return tuple((re.compile(rf"(?<![\w$\\]){re.escape(f'{uni}_{sub}')}(?![\w}}])"), plain)
                 for _, sub, plain, uni in SYMBOLS.values() if f"{uni}_{sub}" != plain)


@functools.lru_cache(maxsize=None)
def _keys() -> re.Pattern:
    keys = sorted({*reader_names(), *(k for k in METHOD_NAMES if k != "copy")}, key=len, reverse=True)
    # a key on its own: not part of an identifier, a path, a file name, a checkpoint name or an assignment
    return re.compile(r"(?<![\w\-./=])(" + "|".join(map(re.escape, keys)) + r")(?![\w\-/(]|\.\w)")


@functools.lru_cache(maxsize=None)
def code_keys() -> tuple[str, ...]:
    """The keys with an underscore a user types (study parameters, stored settings) that prose quotes as code."""
    from ..studies.registry import STUDIES
    from ..tables.settings import MEANINGS

    keys = {k for st in STUDIES.values() for k in st.params} | set(MEANINGS)
    return tuple(sorted((k for k in keys if "_" in k and k not in reader_names()), key=len, reverse=True))


@functools.lru_cache(maxsize=None)
def _code() -> re.Pattern:
    return re.compile(r"(?<![\w\-./=`])(" + "|".join(map(re.escape, code_keys())) + r")(?![\w\-/(`]|\.\w)")


def _named(part: str, form: str) -> str:
    """Prose with its keys named, chart symbols in plain form and parameter keys quoted as code."""
    part = _keys().sub(lambda m: reader_label(m.group(1)), part)
    for rx, plain in _chart_symbols():
        part = rx.sub(plain, part)
    part = _studies().sub(lambda m: study_name(m.group(1)), part)
    return _code().sub(lambda m: f"<code>{m.group(1)}</code>" if form == "html" else f"`{m.group(1)}`", part)


def reader_label(label):
    """A label that is exactly a key by its reader name ("ovg_edm" -> "OVG + EDM"); anything else as it is."""
    if not isinstance(label, str):
        return label
    return METHOD_NAMES.get(label) or reader_names().get(label) or label


def _protected(key: str) -> bool:
    """A key a table cell keeps as typed: a parameter or setting, not a metric or method."""
    return key not in METHOD_NAMES and (key not in reader_names() or key.startswith("eta_"))


def _prose(part: str) -> str:
    def cell(p: str) -> str:
        key = p.strip()
        return p if _protected(key) else p.replace(key, reader_label(key))

    # a table cell holding one key is named (a metric, a method) or kept (a parameter); then the rest of the prose
    pieces = _KEY_CELL.split(part)
    return "".join(cell(p) if i % 2 else _named(p, "md") for i, p in enumerate(pieces))


def reader_text(text: str, form: str = "md") -> str:
    """``text`` (Markdown, or HTML) in the book's notation; code, maths, tags and identifiers kept. Idempotent."""
    parts = KEPT.split(str(text))
    if form == "html":   # an HTML cell whose whole text is one parameter key: the key to type
        parts = [p if i % 2 or (_KEY_ONLY.fullmatch(p) and _protected(p.strip())) else _named(p, "html")
                 for i, p in enumerate(parts)]
    else:
        parts = [p if i % 2 else _prose(p) for i, p in enumerate(parts)]
    return notation("".join(parts), form)


def table_numbers(text: str) -> str:
    """A table's text with its exponents as powers of ten ("1e-07" -> "10⁻⁷"); tags and names kept. Idempotent."""
    def tens(m: re.Match) -> str:
        neg, mant, sign, exp = m.groups()
        return neg + power(mant, int(sign + exp))

    return "".join(p if i % 2 else _EXPONENT.sub(tens, p) for i, p in enumerate(_TAGS.split(str(text))))


def p_text(p, digits: int = P_DIGITS):
    """A p-value at ``digits`` decimals, "< 0.0001" below what they show; a missing value as it is."""
    x = float(p)
    if not math.isfinite(x):
        return p
    floor = 10.0 ** -digits
    return f"< {floor:.{digits}f}" if x < floor else f"{x:.{digits}f}"


def reader_table(frame, **to_html) -> str:
    """A DataFrame as HTML in the book's notation, a "parameter" column kept, p-values by ``p_text``; the frame is
    not changed."""
    out = _mapped(frame, reader_label, keep="parameter")
    for j, c in enumerate(frame.columns):
        label = c[-1] if isinstance(c, tuple) else c
        p_column = isinstance(label, str) and _P_COLUMN.search(label.strip().lower())
        if p_column and pd.api.types.is_numeric_dtype(frame[c].dtype):
            out.isetitem(j, frame.iloc[:, j].map(p_text).to_numpy(dtype=object))
    return table_numbers(reader_text(out.to_html(**to_html), "html"))


def reader_cells(nb) -> int:
    """An executed chapter's Markdown cells through ``reader_text``, in place; returns the cells changed."""
    n = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text = reader_text(cell.source)
            n += text != cell.source
            cell.source = text
    return n


def _mapped(frame, f, keep=None):
    """A copy of ``frame`` with ``f`` on each cell of its text columns (but ``keep``), each label and each name."""
    out = frame.copy()
    for j, c in enumerate(frame.columns):
        if c != keep and (frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype)):
            out.iloc[:, j] = frame.iloc[:, j].map(f)
    out.index, out.columns = _relabel(frame.index, f), _relabel(frame.columns, f)
    return out


def _relabel(ix: pd.Index, f) -> pd.Index:
    """``ix`` with ``f`` on each label (of each level) and each name; ``ix`` itself where none changes."""
    if not len(ix):
        return ix
    if isinstance(ix, pd.MultiIndex):
        out = pd.MultiIndex.from_tuples([tuple(map(f, t)) for t in ix], names=[f(n) for n in ix.names])
    else:
        out = pd.Index([f(v) for v in ix], name=f(ix.name))
    return ix if list(out) == list(ix) and list(out.names) == list(ix.names) else out


def short_model_names(frame):
    """A copy of the table with every checkpoint folder (ending in the cache's content hash) by its model name."""
    def short(v):
        return model_name(v) if isinstance(v, str) and HASHED_NAME.match(v.rstrip("/").rsplit("/", 1)[-1]) else v

    return _mapped(frame, short)
