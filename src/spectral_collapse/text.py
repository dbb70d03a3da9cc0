"""How the book writes numbers and counts in prose: one formatter for each, shared by every page and chapter.

- ``signed``: a difference or a correlation with its sign, the minus typeset as a true minus sign (U+2212);
- ``minus``: the same typesetting applied to every negative number of a finished text, code spans left as they are;
- ``plural`` and ``verb``: "1 thread", "2 threads"; "1 does not", "2 do not";
- ``counted``: a stored text's "1 thread(s)" read as "1 thread" (texts written before ``plural`` was used);
- ``large``: a large count in words or powers of ten ("139 million", "2.9 million", "12,400").

Nothing here imports the rest of the package, so every layer (train, studies, report, pipeline) may use it.
"""
from __future__ import annotations

import math
import re

__all__ = ["MINUS", "signed", "number", "minus", "plural", "verb", "counted", "large"]

MINUS = "\u2212"

# a hyphen-minus that starts a number: not inside a word or a number ("x8-x16", "Tables 8-11", "1e-5"), not an option
# ("--jobs 1")
_NEGATIVE = re.compile(r"(?<![\w.\-−)\]])-(?=\.?\d)")
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)


def signed(x: float | None, digits: int = 3) -> str:
    """``x`` with its sign always written, the minus a true minus sign: "+0.190", "−0.280"; "nan" when missing."""
    if x is None or not math.isfinite(float(x)):
        return "nan"
    return f"{float(x):+.{digits}f}".replace("-", MINUS)


def number(x: float | None, digits: int = 3) -> str:
    """``x`` with ``digits`` decimals, a negative one with a true minus sign; "nan" when missing."""
    if x is None or not math.isfinite(float(x)):
        return "nan"
    return f"{float(x):.{digits}f}".replace("-", MINUS)


def minus(text: str) -> str:
    """``text`` with the hyphen-minus of each negative number ("-0.28", "[-1.5, ...") typeset as a true minus sign;
    ranges ("Figs. 14-16"), hyphenated names ("x8-x16"), exponents ("1e-5") and code (`...`, fenced blocks) keep
    their hyphens."""
    parts = _CODE.split(text)
    return "".join(p if i % 2 else _NEGATIVE.sub(MINUS, p) for i, p in enumerate(parts))


def plural(n: int, word: str, words: str | None = None) -> str:
    """"1 grid point", "2 grid points" (``words``: an irregular plural)."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def verb(n: int, one: str, many: str) -> str:
    """The verb form that agrees with a count of ``n``: ``verb(1, "does", "do")`` is "does"."""
    return one if n == 1 else many


_COUNTED = re.compile(r"\b(\d[\d,]*) ([A-Za-z][\w-]*)\(s\)")


def counted(text: str) -> str:
    """``text`` with every "<n> <word>(s)" written as ``plural`` writes it: "1 thread(s)" -> "1 thread"."""
    return _COUNTED.sub(lambda m: plural(int(m.group(1).replace(",", "")), m.group(2)).replace(
        m.group(1).replace(",", ""), m.group(1), 1), text)


def large(n: float, digits: int = 3) -> str:
    """A count as a reader reads it: "950", "12,400", "2.91 million", "139 million", "1.42 billion"; beyond a
    thousand billion a power of ten, "1.39 × 10¹⁵". ``digits`` significant figures above a million."""
    if n is None or not math.isfinite(float(n)):
        return "nan"
    n = float(n)
    if abs(n) < 1e6:
        return f"{n:,.0f}".replace("-", MINUS)
    if abs(n) < 999.5e9:
        scale, word = (1e9, "billion") if abs(n) >= 999.5e6 else (1e6, "million")
        v = n / scale
        text = f"{v:.{digits}g}" if abs(v) < 10 ** digits - 0.5 else f"{v:.0f}"
        return f"{text} {word}".replace("-", MINUS)
    mant, exp = f"{n:.{digits - 1}e}".split("e")
    return f"{mant} × 10{str(int(exp)).translate(_SUPERSCRIPT)}".replace("-", MINUS)
