"""How the book writes numbers and counts in prose: one formatter for each (imports nothing of the package)."""
from __future__ import annotations

import math
import re

__all__ = ["step_size", "step_sizes", "TIMES", "SYMBOLS", "signed", "number", "plural", "listed", "large",
           "symbol", "percent", "interval", "ranges", "spaced_percents", "times", "factor", "notation",
           "latent_maths", "power", "trend", "duration", "KEPT"]

TIMES = "\u00d7"
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _missing(x) -> bool:
    return x is None or not math.isfinite(float(x))


def signed(x: float | None, digits: int = 3) -> str:
    """``x`` with its sign always written: "+0.190", "-0.280"; "nan" when missing."""
    return "nan" if _missing(x) else f"{float(x):+.{digits}f}"


def number(x: float | None, digits: int = 3) -> str:
    """``x`` with ``digits`` decimals; "nan" when missing."""
    return "nan" if _missing(x) else f"{float(x):.{digits}f}"


def listed(items) -> str:
    """Items in prose, the book's one way of listing: "a", "a and b", "a, b and c"."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def plural(n: int, word: str, words: str | None = None) -> str:
    """"1 grid point", "2 grid points" (``words``: an irregular plural)."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def large(n: float, digits: int = 3) -> str:
    """A count as a reader reads it: "12,400", "2.91 million", "1.42 billion", "1.39 × 10¹⁵"."""
    if _missing(n):
        return "nan"
    n = float(n)
    if abs(n) < 1e6:
        return f"{n:,.0f}"
    if abs(n) < 999.5e9:
        scale, word = (1e9, "billion") if abs(n) >= 999.5e6 else (1e6, "million")
        v = n / scale
        text = f"{v:.{digits}g}" if abs(v) < 10 ** digits - 0.5 else f"{v:.0f}"
        return f"{text} {word}"
    mant, exp = f"{n:.{digits - 1}e}".split("e")
    return f"{mant} × 10{str(int(exp)).translate(_SUPERSCRIPT)}"


# the symbols of the paper's metrics (App. B, Eqs. 32, 37) and OVG's step sizes by results key:
# (letter, subscript, plain text of code and charts, Unicode letter of charts)
SYMBOLS = {"s_hf": ("S", "HF", "S_HF", "S"), "s_lf": ("S", "LF", "S_LF", "S"), "s_dc": ("S", "DC", "S_DC", "S"),
           "s_g": ("S", "G", "S_G", "S"), "eta_hf": (r"\eta", "HF", "eta_HF", "η"),
           "eta_lf": (r"\eta", "LF", "eta_LF", "η"), "e_hf": ("E", "HF", "E_HF", "E"),
           "mu_hf": (r"\mu", "HF", "μ_HF", "μ"), "ks_d": ("D", "KS", "D_KS", "D")}


def symbol(key: str, form: str = "md") -> str:
    """The symbol of ``SYMBOLS[key]`` in ``form``: "md" ("$S_{HF}$"), "html" ("S<sub>HF</sub>") or "chart" ("η_LF")."""
    if key not in SYMBOLS:
        raise ValueError(f"unknown symbol {key!r}; known: {', '.join(SYMBOLS)}")
    letter, sub, _, uni = SYMBOLS[key]
    forms = {"md": f"${letter}_{{{sub}}}$" if len(sub) > 1 else f"${letter}_{sub}$", "html": f"{uni}<sub>{sub}</sub>",
             "chart": f"{uni}_{sub}"}
    if form not in forms:
        raise ValueError(f"unknown form {form!r}; choose one of {', '.join(forms)}")
    return forms[form]


def percent(x: float | None, digits: int = 1) -> str:
    """A fraction as a percentage with a space before the sign, 0.938 -> "93.8 %"; "nan" when missing."""
    return "nan" if _missing(x) else f"{100 * float(x):.{digits}f} %"


def interval(lo: float | None, hi: float | None, fmt=None) -> str:
    """A 95 % interval "[lo, hi]", each bound written by ``fmt`` (default ``number``); "" when one is missing."""
    if _missing(lo) or _missing(hi):
        return ""
    fmt = fmt or number
    return "[" + ", ".join(str(fmt(float(v))) for v in (lo, hi)) + "]"


def times(x: float | None, digits: int = 2) -> str:
    """A ratio as a multiple, with a true multiplication sign: "1.90×"; "nan" when missing."""
    return "nan" if _missing(x) else f"{number(x, digits)}{TIMES}"


def duration(seconds: float | None) -> str:
    """A wall time as the book writes it: "18 s", "2 min 24 s", "17 min", "2 h 25 min"; "nan" when missing."""
    if _missing(seconds):
        return "nan"
    s = int(round(float(seconds)))
    if s >= 3600:
        h, m = divmod(int(round(s / 60)), 60)
        return f"{h} h {m} min" if m else f"{h} h"
    m, s = divmod(s, 60)
    return f"{m} min {s} s" if m and s else f"{m} min" if m else f"{s} s"


def trend(values, up: str, down: str, still: str, tol: float = 0.05) -> str:
    """The direction of a series in words: ``up`` / ``down`` when it moves by more than ``tol`` with no step back by
    more than ``tol``; otherwise ``still`` with how far the values stay or move."""
    v = [float(x) for x in values]
    net = v[-1] - v[0]
    if abs(net) > tol and all((b - a) * math.copysign(1, net) >= -tol for a, b in zip(v, v[1:])):
        return up if net > 0 else down
    span = max(v) - min(v)
    how = f"all within {tol:g}" if span <= tol else f"moving by up to {span:.2f} with no trend"
    return f"{still} ({how}: {min(v):.2f} to {max(v):.2f})"


def factor(n) -> str:
    """A super-resolution or scale factor as prose writes it: "×4"."""
    return f"{TIMES}{n}"


# plain forms "S_HF", "S_{HF}" outside maths, "eta_HF"; not inside "s_hf_unit"
_PLAIN = {key: re.compile(rf"(?<![\w$\\]){re.escape(plain)}(?![\w}}])"
                          rf"|(?<![\w$\\]){re.escape(letter.lstrip(chr(92)))}_\{{{sub}\}}")
          for key, (letter, sub, plain, _) in SYMBOLS.items()}
# "1.9x", "2x" (a ratio) and "x4", "x8-x16" (factors) in prose; "ihc-sr-x4", "ddim_x1.15" and "0x1f" stay
_TIMES_AFTER = re.compile(r"((?<![\w.\-])\d+(?:\.\d+)?|(?<=\d)\])x(?![\w\-])")   # "1.9x", "2.81 [2.75-2.90]x"
# "x0" is x0-prediction, "x86" and "x64" processors
_TIMES_BEFORE = re.compile(r"(?<![\w.\-/])x(?!(?:86|64)\b)([1-9]\d*)(?:-x(\d+))?(?!\w|\.\d)")
_TIMES_BETWEEN = re.compile(r"(?<=\d) x (?=\d)")   # "32 x 32"
# what ``notation`` leaves alone: code, maths, link targets, HTML tags (not "a <= b", "n < 10")
KEPT = re.compile(r"(```.*?```|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]+\$|\]\([^)\n]*\)|<[/!A-Za-z][^<>\n]*>)", re.S)


def _prose(text: str, fix, keep=KEPT, kept=str) -> str:
    """``text`` with ``fix`` applied outside the spans ``keep`` matches and ``kept`` inside them."""
    return "".join(kept(p) if i % 2 else fix(p) for i, p in enumerate(keep.split(text)))


# ASCII stand-ins in prose: "a <= b", "a >= b" (also HTML-escaped), "t -> T", "0.5 +- 0.1", "||x_T||^2/d"
_ASCII = ((re.compile(r"(?<= )(?:<=|&lt;=)(?= )"), "≤"), (re.compile(r"(?<= )(?:>=|&gt;=)(?= )"), "≥"),
          (re.compile(r"(?<=[\w)\]] )->(?= [\w(\[$])|(?<=\w)->(?=\w)|(?<=[\w)\]] )-&gt;(?= [\w(\[$])"), "→"),
          (re.compile(r"(?<=[\d)\]])\s*\+(?:-|/-)\s*(?=\.?\d)"), " ± "),
          (re.compile(r"\|\|([A-Za-z]\w*)\|\|(?:\^2|²)"), r"‖\1‖²"))
# the latent in prose: "x_T", "‖x_T‖²", "‖x_T‖²/d"; not in an identifier ("x_T_raw"), a path or a file ("x_T.pt")
_LATENT = re.compile(r"(?<![\w$\\/.\-])(‖)?x_T(?(1)‖(²)?(\s?/\s?d\b)?)(?![\w{}‖]|\.\w)")
# the latent per form: (alone, norm's opening and closing bars, square); no "|" in "md" (Markdown tables)
_LATENT_FORMS = {"md": (r"\mathbf{x}_T", r"\lVert", r"\rVert", "^2"),
                 "html": ("x<sub>T</sub>", "‖", "‖", "²"), "chart": ("x_T", "‖", "‖", "²")}


# "eps" as a word in prose: ε, or ε-prediction where it names models ("the eps arms"); not identifiers or calls
_EPS = re.compile(r"(?<![\w\-./=\"'`$\\])eps(?![\w\-\"'=(`]|\.\w)")
_EPS_HYPHEN = re.compile(r"(?<![\w\-./=\"'`$\\])eps(?=-predict)")
_EPS_KIND = re.compile(r"(?:,? x0)?(?: and (?:EDM|x0|flow|ε-prediction))? (?:models?|arms?|U-Nets?|rows?)\b")


def _eps(m: re.Match) -> str:
    return "ε-prediction" if _EPS_KIND.match(m.string, m.end()) else "ε"


def _latent(m: re.Match, form: str) -> str:
    x, left, right, square = _LATENT_FORMS[form]
    if m.group(1):
        per_d = m.group(3) or ""
        x = left + x + right + (square if m.group(2) else "") + (per_d.replace(" ", "") if form == "md" else per_d)
    return f"${x}$" if form == "md" else x


# the latent in maths in another form: "$x_T$", "$\\|x_T\\|^2$", "\\lVert x_T \\rVert_2^2 / d"
_MATH_NORM = re.compile(r"(?:\\\||\\lVert|\|)\s*(?:x_T|\\mathbf\{x\}_T)\s*(?:\\\||\\rVert|\|)"
                        r"(?:_2)?(\^2)?(?:\s*/\s*d\b)?")
_MATH_X = re.compile(r"(?<![\\\w{])x_T(?![\w{])")


def _norm_maths(m: re.Match) -> str:
    return r"\lVert\mathbf{x}_T\rVert" + (m.group(1) or "") + ("/d" if m.group(0).rstrip().endswith("d") else "")


def latent_maths(maths: str) -> str:
    """A maths span's latent in the glossary's form: "$\\|x_T\\|_2^2 / d$" -> "$\\lVert\\mathbf{x}_T\\rVert^2/d$"."""
    return _MATH_X.sub(r"\\mathbf{x}_T", _MATH_NORM.sub(_norm_maths, maths))


def notation(text: str, form: str = "md") -> str:
    """A finished text in the book's notation for ``form``: symbols, ×, ≤, ≥, →, ±, the latent typeset and "eps" as
    "ε"; code, maths, links, HTML tags and identifiers as they are."""
    def fix(part: str) -> str:
        for key, rx in _PLAIN.items():
            part = rx.sub(lambda m, k=key: symbol(k, form), part)
        part = _TIMES_AFTER.sub(lambda m: m.group(1) + TIMES, part)
        part = _TIMES_BEFORE.sub(lambda m: TIMES + m.group(1) + (f"–{TIMES}{m.group(2)}" if m.group(2) else ""), part)
        for rx, to in _ASCII:
            part = rx.sub(to, part)
        part = _LATENT.sub(lambda m: _latent(m, form), part)
        part = _EPS.sub(_eps, _EPS_HYPHEN.sub("ε", part))
        return _TIMES_BETWEEN.sub(f" {TIMES} ", part)

    def kept(part: str) -> str:
        return latent_maths(part) if form == "md" and part.startswith("$") else part

    return _prose(text, fix, kept=kept)


# "8-11", "14-16": two whole numbers joined by a hyphen, neither part of a word, a decimal, a date or a path
_RANGE = re.compile(r"(?<![\w.\-\u2212/:])(\d+)-(\d+)(?![\w.\-/:])")


def ranges(text: str) -> str:
    """A finished text with each range of whole numbers in prose with an en dash ("Tables 8-11" -> "Tables 8–11")."""
    return _prose(text, lambda p: _RANGE.sub(r"\1–\2", p))


_GLUED_PERCENT = re.compile(r"(?<=\d)%(?![\w|])")


def spaced_percents(text: str) -> str:
    """A finished text with a space before each percent sign ("2.2%" -> "2.2 %"); code and maths as they are."""
    return _prose(text, lambda p: _GLUED_PERCENT.sub(" %", p))


def step_size(x) -> str:
    """An OVG step size: "10⁻⁶", "2.5 × 10⁻⁶", "3", "0"; anything not a number as it is."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(v) or v == 0:
        return str(x) if v else "0"
    mant, exp = f"{abs(v):.2e}".split("e")
    mant, exp = mant.rstrip("0").rstrip("."), int(exp)
    return ("-" if v < 0 else "") + (mant if exp == 0 else power(mant, exp))


def power(mant: str, exp: int) -> str:
    """``mant`` × 10^``exp`` as the book writes it: "2.5 × 10⁻⁶", "10⁻⁶" for a mantissa of 1."""
    ten = "10" + str(exp).translate(_SUPERSCRIPT)
    return ten if float(mant) == 1 else f"{mant} × {ten}"


def step_sizes(values, sep: str = ", ") -> str:
    """Several step sizes, each as ``step_size`` writes it, joined by ``sep``: "10⁻⁷, 10⁻⁶, 10⁻⁵"."""
    return sep.join(step_size(v) for v in values)
