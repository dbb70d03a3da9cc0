"""The inverted latent x_T reads in the book's notation wherever prose, tables and charts name it: MathJax in
Markdown (the glossary's and the methods page's letters, \\mathbf{x}_T), subscripts in HTML tables, plain text in
charts; code, maths, link targets and identifiers that hold "x_T" as they are."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from spectral_collapse.plotting.reader import reader_table, reader_text
from spectral_collapse.text import notation

PROSE = ("If x_T ~ N(0, I) then ‖x_T‖² ~ χ²(d); the mean ||x_T||^2 / d and ‖x_T‖²/d per method, latents x_T "
         "(shown as x/3). Kept: `x_T`, `‖x_T‖²/d`, $x_T$, [x_T](x_T.md), x_T_raw, mean_norm_ratio, max_T, "
         "runs/x_T.pt, <span title=\"x_T\">.")
KEPT = ("`x_T`", "`‖x_T‖²/d`", "(x_T.md)", "x_T_raw", "mean_norm_ratio", "max_T", "runs/x_T.pt",
        "title=\"x_T\"")
_PROSE_ONLY = re.compile(r"`[^`]*`|\$[^$]*\$|\]\([^)]*\)|<[^>]*>")


def _bare(text: str) -> list[str]:
    """The plain "x_T" left in ``text``'s prose (outside code, maths, link targets and tags), identifiers aside."""
    return re.findall(r"(?<![\w/])x_T(?![\w.])", _PROSE_ONLY.sub(" ", text))


@pytest.mark.parametrize("form", ["md", "html"])
def test_prose_typesets_the_latent_and_keeps_code_and_identifiers(form):
    out = notation(PROSE, form)
    assert _bare(out) == [] and _bare(PROSE), out
    for kept in KEPT:
        assert kept in out, (kept, out)
    assert notation(out, form) == out                                    # idempotent
    # maths keeps its letters, but the latent in it takes the glossary's bold form in Markdown ("$x_T$")
    assert (r"$\mathbf{x}_T$, [" if form == "md" else "$x_T$, [") in out
    if form == "md":
        assert r"If $\mathbf{x}_T$ ~ N(0, I) then $\lVert\mathbf{x}_T\rVert^2$ ~ χ²(d)" in out
        assert out.count(r"$\lVert\mathbf{x}_T\rVert^2/d$") == 2       # "||x_T||^2 / d" and "‖x_T‖²/d" alike
        assert "|" not in _PROSE_ONLY.sub(" ", out).replace("||", "")  # no bars: the texts go into Markdown tables
    else:
        assert "If x<sub>T</sub> ~ N(0, I) then ‖x<sub>T</sub>‖² ~ χ²(d)" in out
        assert "the mean ‖x<sub>T</sub>‖² / d and ‖x<sub>T</sub>‖²/d per method" in out


def test_charts_keep_the_plain_latent():
    out = notation(PROSE, "chart")
    assert "If x_T ~ N(0, I) then ‖x_T‖² ~ χ²(d)" in out and "‖x_T‖²/d per method" in out
    assert "$" not in out.replace("$x_T$", "") and "<sub>" not in out


def test_reader_text_and_tables_name_the_norm_ratio_in_the_notation():
    md = reader_text("| method | mean_norm_ratio |\n|---|---|\n| ddim | 0.7 |\n\nlatents x_T, `x_T`")
    assert r"| method | $\lVert\mathbf{x}_T\rVert^2/d$ |" in md and md.endswith(r"latents $\mathbf{x}_T$, `x_T`")
    assert md.splitlines()[0].count("|") == 3                           # the table keeps its columns
    assert reader_text(md) == md
    html = reader_table(pd.DataFrame({"mean_norm_ratio": [1.0], "note": ["x_T scaled"]}))
    assert "<th>‖x<sub>T</sub>‖²/d</th>" in html and "<td>x<sub>T</sub> scaled</td>" in html
