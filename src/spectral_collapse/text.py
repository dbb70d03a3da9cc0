"""How the book writes numbers and counts in prose: one formatter for each, shared by every page and chapter.

- ``signed``: a difference or a correlation with its sign, the minus typeset as a true minus sign (U+2212);
- ``minus``: the same typesetting applied to every negative number of a finished text, code spans left as they are;
- ``plural``: "1 thread", "2 threads";
- ``large``: a large count in words or powers of ten ("139 million", "2.9 million", "12,400");
- ``symbol``: a metric or step-size symbol in the book's one notation: typeset for Markdown ("$S_{HF}$", as the
  glossary and the methods page write it), the same letters for HTML tables (S<sub>HF</sub>) and plain text for
  charts, where MathJax does not run ("S_HF", "η_HF");
- ``percent`` and ``interval``: a share as "93.8 %" (a space before the sign, as the book writes "95 %"; a
  displayed text joins the two, ``unbroken``) and a 95 % interval as "[12.5, 25.0]", its unit said once by the value it follows ("12.5 % [12.5, 25.0]");
- ``unbroken``: a finished text with each number and the unit or percent sign after it ("12.3 %", "0.77 s",
  "256 px", "1.6 GB") joined by a no-break space (U+00A0), so a line never ends on the number and starts on its unit;
- ``ranges``: a range of numbers in prose ("Tables 8-11", "Figs. 14-16") with an en dash, "Tables 8–11";
- ``times`` and ``factor``: a ratio or a factor with a true multiplication sign ("1.90×", "×4");
- ``notation``: a finished Markdown text with plain symbols typeset, "1.9x" / "x4" written with × and "<=",
  "->", "+-", "||x_T||^2" as "≤", "→", "±", "‖x_T‖²", and the inverted latent x_T (alone, or its norm "‖x_T‖²/d")
  typeset as the glossary writes it, "eps" as a word as "ε" ("ε-prediction" where it names models, and
  "eps-prediction" as "ε-prediction"), a number that
  reads as zero without a sign ("−0.000" -> "0.000"), a number and its unit joined (``unbroken``); code spans, maths
  and identifiers ("ihc-sr-x4", "x_T_raw",
  "eps_vs_x0") left as they are;
- ``unsigned_zero``: a finished text with each signed zero ("−0.000", "+0.00") written "0.000".

Nothing here imports the rest of the package, so every layer (train, studies, report, pipeline) may use it.
"""
from __future__ import annotations

import math
import re

__all__ = ["step_size", "step_sizes", "MINUS", "TIMES", "NBSP", "unbroken", "SYMBOLS", "signed", "number", "minus",
           "plural", "listed", "large", "symbol", "percent", "interval", "ranges", "unsigned_zero",
           "spaced_percents", "times", "factor", "notation", "latent_maths"]

MINUS = "\u2212"
TIMES = "\u00d7"
NBSP = "\u00a0"   # a no-break space: a number and its unit ("12.3 %", "0.77 s") never part at a line's end

# a hyphen-minus that starts a number: not inside a word or a number ("x8-x16", "Tables 8-11", "1e-5"), not an option
# ("--jobs 1")
_NEGATIVE = re.compile(r"(?<![\w.\-−)\]])-(?=\.?\d)")
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)
# a signed number that reads as zero: "−0.000", "+0.00", "-0" (not "x-0", "1e-0", "0-0", "−0.001", "−0.0004")
_SIGNED_ZERO = re.compile(r"(?<![\w.\-−+])[-−+](0(?:\.0+)?)(?![\d.eE\w])")


def signed(x: float | None, digits: int = 3) -> str:
    """``x`` with its sign always written, the minus a true minus sign: "+0.190", "−0.280"; "nan" when missing."""
    if x is None or not math.isfinite(float(x)):
        return "nan"
    return unsigned_zero(f"{float(x):+.{digits}f}".replace("-", MINUS))


def number(x: float | None, digits: int = 3) -> str:
    """``x`` with ``digits`` decimals, a negative one with a true minus sign; "nan" when missing."""
    if x is None or not math.isfinite(float(x)):
        return "nan"
    return unsigned_zero(f"{float(x):.{digits}f}".replace("-", MINUS))


def unsigned_zero(text: str) -> str:
    """``text`` with each number that reads as zero written without a sign: "−0.000", "-0.00", "+0.000" -> "0.000"
    (a value that rounds to zero has no direction to show); "−0.001", "10⁻⁶", "x-0" and "1e-0" as they are."""
    return _SIGNED_ZERO.sub(r"\1", text)


def minus(text: str) -> str:
    """``text`` with the hyphen-minus of each negative number ("-0.28", "[-1.5, ...") typeset as a true minus sign;
    ranges ("Figs. 14-16"), hyphenated names ("x8-x16"), exponents ("1e-5") and code (`...`, fenced blocks) keep
    their hyphens."""
    parts = _CODE.split(text)
    return "".join(p if i % 2 else _NEGATIVE.sub(MINUS, p) for i, p in enumerate(parts))


def listed(items) -> str:
    """Items in prose, the book's one way of listing: "a", "a and b", "a, b and c"."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def plural(n: int, word: str, words: str | None = None) -> str:
    """"1 grid point", "2 grid points" (``words``: an irregular plural)."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


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


# The symbols of the paper's metrics (App. B) and of OVG's step sizes, by the key the results and the code use:
# (the letter, its subscript, the plain text that code and charts write, the Unicode letter charts show)
SYMBOLS = {
    "s_hf": ("S", "HF", "S_HF", "S"),
    "s_lf": ("S", "LF", "S_LF", "S"),
    "s_dc": ("S", "DC", "S_DC", "S"),
    "s_g": ("S", "G", "S_G", "S"),
    "eta_hf": (r"\eta", "HF", "eta_HF", "η"),
    "eta_lf": (r"\eta", "LF", "eta_LF", "η"),
    # the texture score's parts (Eq. 37): a crop's high-frequency wavelet energy E_HF and the real crops' mean log
    # energy μ_HF; the Kolmogorov–Smirnov statistic D_KS of the latents' norms (Eq. 32)
    "e_hf": ("E", "HF", "E_HF", "E"),
    "mu_hf": (r"\mu", "HF", "μ_HF", "μ"),
    "ks_d": ("D", "KS", "D_KS", "D"),
}
FORMS = ("md", "html", "chart")


def symbol(key: str, form: str = "md") -> str:
    """The symbol of a metric or step size (``SYMBOLS``: "s_hf", "eta_lf", ...) as the book writes it: "md"
    typeset for MathJax ("$S_{HF}$", "$\\eta_{LF}$"; one letter needs no braces: "$S_G$"), "html" for an HTML table
    cell ("S<sub>HF</sub>", "η<sub>LF</sub>"), "chart" as plain text for a chart ("S_HF", "η_LF")."""
    if key not in SYMBOLS:
        raise ValueError(f"unknown symbol {key!r}; known: {', '.join(SYMBOLS)}")
    letter, sub, _, uni = SYMBOLS[key]
    if form == "md":
        return f"${letter}_{{{sub}}}$" if len(sub) > 1 else f"${letter}_{sub}$"
    if form == "html":
        return f"{uni}<sub>{sub}</sub>"
    if form == "chart":
        return f"{uni}_{sub}"
    raise ValueError(f"unknown form {form!r}; choose one of {', '.join(FORMS)}")


def percent(x: float | None, digits: int = 1) -> str:
    """A share (a fraction: 0.938) as a percentage, the sign after a space as the book writes "95 %": "93.8 %"
    (verdicts and stored texts read it so; ``notation`` joins the two with a no-break space where the text is shown);
    "nan" when missing."""
    if x is None or not math.isfinite(float(x)):
        return "nan"
    return f"{100 * float(x):.{digits}f} %".replace("-", MINUS)


def interval(lo: float | None, hi: float | None, fmt=None) -> str:
    """A 95 % interval in the book's one form, "[lo, hi]": its bounds without a unit (the value it follows says the
    unit once: "12.5 % [12.5, 25.0]", "+0.19 [−0.28, +0.58]"), each written by ``fmt`` (a callable on a bound; by
    default ``number`` with 3 decimals), a negative bound with a true minus sign; "" when a bound is missing."""
    if lo is None or hi is None or not (math.isfinite(float(lo)) and math.isfinite(float(hi))):
        return ""
    fmt = fmt or number
    return "[" + ", ".join(unsigned_zero(str(fmt(float(v))).replace("-", MINUS)) for v in (lo, hi)) + "]"


def times(x: float | None, digits: int = 2) -> str:
    """A ratio as a multiple, with a true multiplication sign: "1.90×"; "nan" when missing."""
    return "nan" if x is None or not math.isfinite(float(x)) else f"{number(x, digits)}{TIMES}"


def factor(n) -> str:
    """A super-resolution or scale factor as prose writes it: "×4"."""
    return f"{TIMES}{n}"


# plain forms written by code and older texts: "S_HF", "S_{HF}" outside maths, "eta_HF"; word boundaries keep
# "s_hf_unit" and "ovg_edm" out
_PLAIN = {key: re.compile(rf"(?<![\w$\\]){re.escape(plain)}(?![\w}}])|(?<![\w$\\]){re.escape(letter.lstrip(chr(92)))}_\{{{sub}\}}")
          for key, (letter, sub, plain, _) in SYMBOLS.items()}
# "1.9x", "2x" (a ratio) and "x4", "x8-x16" (factors) in prose; "ihc-sr-x4", "ddim_x1.15" and "0x1f" stay
_TIMES_AFTER = re.compile(r"((?<![\w.\-])\d+(?:\.\d+)?|(?<=\d)\])x(?![\w\-])")   # "1.9x", "2.81 [2.75-2.90]x"
# "x0" is x0-prediction, "x86" and "x64" processors
_TIMES_BEFORE = re.compile(r"(?<![\w.\-/])x(?!(?:86|64)\b)([1-9]\d*)(?:-x(\d+))?(?!\w|\.\d)")
_TIMES_BETWEEN = re.compile(r"(?<=\d) x (?=\d)")   # "32 x 32"
# a unit or a percent sign a space after a number: "12.3 %", "0.77 s", "256 px", "1.6 GB", "48.4 min", "0.1 dB"
# (not a word that starts like one: "2 sizes", "3 hours" keep their space, which may break)
_UNIT = re.compile(r"(?<=\d) (%|px|dB|[kKMGT]i?B|ms|µs|s|min|h)(?![\w%])")
# what ``notation`` leaves alone: code, maths, roles and link targets, HTML tags
# (an HTML tag starts with a letter, "/" or "!": "a <= b" and "n < 10" are prose)
_KEEP = re.compile(r"(```.*?```|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]+\$|\]\([^)\n]*\)|<[/!A-Za-z][^<>\n]*>)", re.S)
# ASCII stand-ins in prose: "a <= b", "a >= b" (also HTML-escaped), "t -> T", "0.5 +- 0.1", "||x_T||^2/d"
_ASCII = ((re.compile(r"(?<= )(?:<=|&lt;=)(?= )"), "≤"), (re.compile(r"(?<= )(?:>=|&gt;=)(?= )"), "≥"),
          (re.compile(r"(?<=[\w)\]] )->(?= [\w(\[$])|(?<=\w)->(?=\w)|(?<=[\w)\]] )-&gt;(?= [\w(\[$])"), "→"),
          (re.compile(r"(?<=[\d)\]])\s*\+(?:-|/-)\s*(?=\.?\d)"), " ± "),
          (re.compile(r"\|\|([A-Za-z]\w*)\|\|(?:\^2|²)"), r"‖\1‖²"))
# the inverted latent x_T in prose, alone or in its squared norm (per dimension): "x_T", "‖x_T‖²", "‖x_T‖²/d"; not
# inside an identifier ("x_T_raw", "max_T"), a path or a file name ("x_T.pt")
_LATENT = re.compile(r"(?<![\w$\\/.\-])(‖)?x_T(?(1)‖(²)?(\s?/\s?d\b)?)(?![\w{}‖]|\.\w)")
# the latent as each form writes it (alone; its norm's opening and closing bars; the square): MathJax in the
# glossary's and the methods page's letters (\lVert, never "|": the texts go into Markdown tables), subscripts for
# HTML, plain text for charts
_LATENT_FORMS = {"md": (r"\mathbf{x}_T", r"\lVert", r"\rVert", "^2"),
                 "html": ("x<sub>T</sub>", "‖", "‖", "²"), "chart": ("x_T", "‖", "‖", "²")}


# "eps" as a word in prose: the noise ε ("x0 minus eps"), or the model kind ε-prediction where it names models, arms or
# U-Nets ("the main eps and EDM models", "the eps arms"); identifiers ("ihc-sr-x4-eps-quick", "eps_vs_x0",
# parameterization="eps", eps=1e-5), calls ("eps(z)") and code spans as they are
_EPS = re.compile(r"(?<![\w\-./=\"'`$\\])eps(?![\w\-\"'=(`]|\.\w)")
# "eps-prediction", "eps-predicting" in prose: the model kind as the glossary names it, "ε-prediction"
_EPS_HYPHEN = re.compile(r"(?<![\w\-./=\"'`$\\])eps(?=-predict)")
_EPS_KIND = re.compile(r"(?:,? x0)?(?: and (?:EDM|x0|flow|ε-prediction))? (?:models?|arms?|U-Nets?|rows?)\b"
                       r"| and \{term\}$")   # "eps and {term}`EDM <EDM>` models": the role's target is the next part


def _eps(m: re.Match) -> str:
    return "ε-prediction" if _EPS_KIND.match(m.string, m.end()) else "ε"


def _latent(m: re.Match, form: str) -> str:
    x, left, right, square = _LATENT_FORMS[form]
    if m.group(1):
        per_d = m.group(3) or ""
        x = left + x + right + (square if m.group(2) else "") + (per_d.replace(" ", "") if form == "md" else per_d)
    return f"${x}$" if form == "md" else x


# the latent inside maths written another way than the book's one form: "$x_T$", "$\\|x_T\\|^2$", "\\lVert x_T \\rVert_2^2 / d"
_MATH_NORM = re.compile(r"(?:\\\||\\lVert|\|)\s*(?:x_T|\\mathbf\{x\}_T)\s*(?:\\\||\\rVert|\|)(?:_2)?(\^2)?(?:\s*/\s*d\b)?")
_MATH_X = re.compile(r"(?<![\\\w{])x_T(?![\w{])")


def _norm_maths(m: re.Match) -> str:
    return r"\lVert\mathbf{x}_T\rVert" + (m.group(1) or "") + ("/d" if m.group(0).rstrip().endswith("d") else "")


def latent_maths(maths: str) -> str:
    """A maths span (``$...$``) with the inverted latent in the glossary's one form: a bold x ("$x_T$" ->
    "$\\mathbf{x}_T$"), its norm with \\lVert and \\rVert, no subscript 2 and "/d" unspaced
    ("$\\|x_T\\|_2^2 / d$" -> "$\\lVert\\mathbf{x}_T\\rVert^2/d$"); other maths as it is."""
    return _MATH_X.sub(r"\\mathbf{x}_T", _MATH_NORM.sub(_norm_maths, maths))


def notation(text: str, form: str = "md") -> str:
    """A finished text in the book's one notation: each plain metric or step-size symbol ("S_HF", "eta_LF") as
    ``symbol`` writes it in ``form``, each "1.9x" as "1.9×", each factor "x4" as "×4" (a range "x8-x16" as
    "×8–×16") and each "32 x 32" as "32 × 32", and the ASCII stand-ins "<=", ">=",
    "->", "+-" and "||x_T||^2" as "≤", "≥", "→", "±" and "‖x_T‖²", and the latent "x_T" (alone or in its norm
    "‖x_T‖²/d") as MathJax for "md" (``$\\mathbf{x}_T$``, ``$\\lVert\\mathbf{x}_T\\rVert^2/d$``: no "|", the texts go
    into Markdown tables), ``x<sub>T</sub>`` for "html" and "x_T" for "chart", the word "eps" as "ε" (as
    "ε-prediction" where it names models, arms, U-Nets or rows: "the eps and EDM models"), and a number that reads as
    zero without a sign ("−0.000" -> "0.000"); code spans, fenced code,
    maths, link targets and HTML tags unchanged, and so are identifiers that hold such text ("ihc-sr-x4",
    "s_hf_unit")."""
    def fix(part: str) -> str:
        for key, rx in _PLAIN.items():
            part = rx.sub(lambda m, k=key: symbol(k, form), part)
        part = _TIMES_AFTER.sub(lambda m: m.group(1) + TIMES, part)
        part = _TIMES_BEFORE.sub(lambda m: TIMES + m.group(1) + (f"–{TIMES}{m.group(2)}" if m.group(2) else ""), part)
        for rx, to in _ASCII:
            part = rx.sub(to, part)
        part = _LATENT.sub(lambda m: _latent(m, form), part)
        part = unsigned_zero(_EPS.sub(_eps, _EPS_HYPHEN.sub("ε", part)))
        return _UNIT.sub(NBSP + r"\1", _TIMES_BETWEEN.sub(f" {TIMES} ", part))

    def kept(part: str) -> str:
        return latent_maths(part) if form == "md" and part.startswith("$") else part

    return "".join(kept(p) if i % 2 else fix(p) for i, p in enumerate(_KEEP.split(text)))


# "8-11", "14-16": two whole numbers joined by a hyphen, neither part of a word, a decimal, a date or a path
_RANGE = re.compile(r"(?<![\w.\-\u2212/:])(\d+)-(\d+)(?![\w.\-/:])")


def ranges(text: str) -> str:
    """A finished text with each range of whole numbers in prose ("Tables 8-11", "Figs. 14-16", "seeds 0-2") written
    with an en dash ("Tables 8–11"); code, maths, link targets and HTML tags, decimals, exponents ("1e-5"), dates
    and hyphenated names ("x8-x16", "ihc-sr-x4") as they are."""
    return "".join(p if i % 2 else _RANGE.sub(r"\1–\2", p) for i, p in enumerate(_KEEP.split(text)))


_GLUED_PERCENT = re.compile(r"(?<=\d)%(?![\w|])")


def unbroken(text: str) -> str:
    """A finished text with each number and its unit or percent sign joined by a no-break space ("12.3 %" ->
    "12.3\u00a0%", "0.77 s", "256 px", "1.6 GB", "48.4 min"): a line never ends on the value and starts on its unit.
    Code, maths, link targets and HTML tags as they are. Idempotent."""
    return "".join(p if i % 2 else _UNIT.sub(NBSP + r"\1", p) for i, p in enumerate(_KEEP.split(text)))


def spaced_percents(text: str) -> str:
    """A finished text with each percent written as ``percent`` writes it, a no-break space before the sign
    ("2.2%" and "2.2 %" -> "2.2\u00a0%"); code, maths, link targets and HTML tags as they are."""
    return unbroken("".join(p if i % 2 else _GLUED_PERCENT.sub(NBSP + "%", p) for i, p in enumerate(_KEEP.split(text))))


def step_size(x) -> str:
    """An OVG step size (η_HF, η_LF) as every table, text and chart of the book writes it: a power of ten as
    "10⁻⁶", any other value in its decade as "2.5 × 10⁻⁶" (the × between non-breaking spaces, so it never wraps), a
    value between 1 and 10 as itself ("1", "3"), 0 as "0"; the same form ``plotting.reader.table_numbers`` gives a
    table's "1e-06". Anything that is no number, as it is."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(v):
        return str(x)
    if v == 0:
        return "0"
    mant, exp = f"{abs(v):.2e}".split("e")
    mant, exp = mant.rstrip("0").rstrip("."), int(exp)
    sign = "\u2212" if v < 0 else ""
    if exp == 0:
        return sign + mant
    ten = "10" + str(exp).translate(_SUPERSCRIPT)
    return sign + (ten if mant == "1" else f"{mant}\u00a0×\u00a0{ten}")


def step_sizes(values, sep: str = ", ") -> str:
    """Several step sizes, each as ``step_size`` writes it, joined by ``sep``: "10⁻⁷, 10⁻⁶, 10⁻⁵"."""
    return sep.join(step_size(v) for v in values)
