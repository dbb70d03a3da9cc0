"""One notation across the book: typeset metric symbols, a true × in ratios and factors, reader names for methods
and parameters.

The executed chapters (book/studies/*.ipynb: their Markdown cells, their Markdown, HTML and SVG outputs) and the
generated front pages (book/_generated/*.md) are scanned for
- a plain metric or step-size symbol ("S_HF", "eta_LF") outside code and maths (``text.SYMBOLS``);
- a ratio or factor written with the letter x ("1.9x", "x4") outside code and identifiers ("ihc-sr-x4");
- a raw method label ("ovg_edm", ``framework.method_labels``), metric key ("delta_log_e_hf", ``metrics.METRICS``),
  study parameter ("n_images", ``studies.registry``) or stored setting ("s_hf_unit", ``tables.settings``) outside
  code, and in charts (SVG text) a raw method label, metric key or step-size key ("psnr", "s_hf", "eta_hf",
  "eta_HF") where its reader name belongs (``plotting.labels.chart_label``).
Every list of symbols and keys comes from the code's registries; every executed chapter and every generated page is
held to the notation, each offending place named with its text.
"""
from __future__ import annotations

import functools
import html
import re
from pathlib import Path

import pytest

from spectral_collapse.text import SYMBOLS, TIMES, factor, notation, symbol, times

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


# --- the keys, from the registries ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def method_keys() -> tuple[str, ...]:
    from spectral_collapse.reference.method_names import METHOD_NAMES

    # "copy" is also an English word; the other labels (and controls) are identifiers
    return tuple(k for k, name in METHOD_NAMES.items() if k != name and k != "copy")


@functools.lru_cache(maxsize=None)
def parameter_keys() -> tuple[str, ...]:
    """Identifier-like keys (with an underscore): study parameters, metric keys, stored settings."""
    from spectral_collapse.metrics import METRICS
    from spectral_collapse.studies.registry import STUDIES
    from spectral_collapse.tables.settings import MEANINGS

    studies = STUDIES.values() if isinstance(STUDIES, dict) else STUDIES
    keys = {k for s in studies for k in s.params} | set(METRICS) | set(MEANINGS)
    return tuple(sorted((k for k in keys if "_" in k), key=len, reverse=True))


@functools.lru_cache(maxsize=None)
def chart_keys() -> tuple[str, ...]:
    """The keys a chart must not show raw: metric keys (``metrics.METRICS``) and OVG's step-size keys
    (``OVG_DEFAULTS``) and the other stored metrics a reader names (``plotting.labels.reader_names``:
    "mean_norm_ratio"), each where it has a reader name, and the plain symbols whose chart form differs ("eta_HF" -> "η_HF")."""
    from spectral_collapse.metrics import METRICS
    from spectral_collapse.plotting.labels import chart_names
    from spectral_collapse.plotting.labels import reader_names
    from spectral_collapse.framework.method_labels import OVG_DEFAULTS

    names = chart_names()
    keys = {k for k in (*METRICS, *OVG_DEFAULTS, *reader_names()) if k in names and names[k] != k}
    keys |= {plain for k, (_, _, plain, _) in SYMBOLS.items() if symbol(k, "chart") != plain}
    return tuple(sorted(keys, key=len, reverse=True))


@functools.lru_cache(maxsize=None)
def _word(key: str) -> re.Pattern:
    # a key on its own: not part of a longer identifier, a file name, a path or a checkpoint name ("ihc-sr-x4-edm")
    return re.compile(rf"(?<![\w\-./=]){re.escape(key)}(?![\w\-/(]|\.\w)")


# --- what a reader reads --------------------------------------------------------------------------------------------

# code, maths, link targets, MyST roles and directives' arguments, HTML tags
_MD_KEEP = re.compile(r"```.*?```|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]+\$|\]\([^)\n]*\)|<[/!A-Za-z][^<>\n]*>", re.S)
_HTML_DROP = re.compile(r"<(code|pre|style|script|kbd|tt)\b[^>]*>.*?</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")
_SVG_TEXT = re.compile(r"<text\b[^>]*>([^<]*(?:<tspan\b[^>]*>[^<]*</tspan>[^<]*)*)</text>", re.S)
_TIMES_AFTER = re.compile(r"(?<![\w.\-])\d+(\.\d+)?x\b(?![\-])|(?<=\d\])x\b(?![\-])")   # "1.9x", "[1.8-2.0]x"
# "x0" names x0-prediction, "x86" and "x64" processors
_TIMES_BEFORE = re.compile(r"(?<![\w.\-/])x(?!(?:86|64)\b)[1-9]\d*\b(?!\.\d)")


_MD_KEY_CELL = re.compile(r"(?<=\|)[ \t]*[a-z]+(?:_[a-z0-9]+)+[ \t]*(?=\|)")


def md_text(source: str) -> str:
    """Markdown as a reader reads it, without code and maths; a table cell that holds only a parameter key (a
    parameters table's first column) counts as code, a method label does not."""
    source = _MD_KEY_CELL.sub(lambda m: m.group(0) if _is_method(m.group(0).strip()) else " ", source)
    return _MD_KEEP.sub(" ", source)


_KEY_CELL = re.compile(r"<t[dh]>\s*[a-z]+(?:_[a-z0-9]+)+\s*</t[dh]>")


def html_text(source: str) -> str:
    """An HTML output's text without code; a table cell that holds only a key (a parameters table's "parameter"
    column, a settings table's "setting" labels: the stored key) counts as code, a metric key in a header does not."""
    def cell(m: re.Match) -> str:   # a method label, or a metric key in a header, is no key to type
        key = m.group(0)[4:-5].strip()
        return m.group(0) if _is_method(key) or m.group(0)[:4] == "<th>" and key in chart_keys() else "<td></td>"

    source = _KEY_CELL.sub(cell, source)
    return html.unescape(_TAG.sub(" ", _HTML_DROP.sub(" ", source)))


def _is_method(key: str) -> bool:
    return key in method_keys()


def offences(text: str, *, charts: bool = False) -> list[str]:
    """Each place in reader text (code and maths already taken out) that breaks the notation, with some context."""
    found = []

    def note(kind, m):
        a, b = max(0, m.start() - 40), min(len(text), m.end() + 40)
        found.append(f"{kind} {m.group(0)!r}: …{' '.join(text[a:b].split())}…")

    for key, (_, _, plain, _) in SYMBOLS.items():
        if not charts:
            for m in re.finditer(rf"(?<![\w\\]){re.escape(plain)}(?![\w}}])", text):
                note("plain symbol", m)
    for rx in (_TIMES_AFTER, _TIMES_BEFORE):
        for m in rx.finditer(text):
            note("x for ×", m)
    for key in method_keys():
        for m in _word(key).finditer(text):
            note("method label", m)
    for key in (chart_keys() if charts else parameter_keys()):
        for m in _word(key).finditer(text):
            note("raw key", m)
    return found


def chapter_places(path: Path) -> list[str]:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    places = []
    for i, cell in enumerate(nb.cells):
        texts = []
        if cell.cell_type == "markdown":
            texts.append(("markdown cell", md_text(cell.source), False))
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/markdown" in data:
                texts.append(("markdown output", md_text(str(data["text/markdown"])), False))
            elif "text/html" in data:
                texts.append(("HTML output", html_text(str(data["text/html"])), False))
            if "image/svg+xml" in data:
                labels = " | ".join(html.unescape(_TAG.sub("", t)) for t in _SVG_TEXT.findall(str(data["image/svg+xml"])))
                texts.append(("chart", labels, True))
        for kind, text, chart in texts:
            places += [f"{path.name} cell {i} ({kind}): {o}" for o in offences(text, charts=chart)]
    return places


def page_places(path: Path) -> list[str]:
    return [f"{path.relative_to(BOOK)}: {o}" for o in offences(md_text(path.read_text(encoding="utf-8")))]


# --- the helpers ----------------------------------------------------------------------------------------------------

def test_symbols_have_one_form_per_medium():
    assert symbol("s_hf") == "$S_{HF}$" and symbol("s_g") == "$S_G$" and symbol("eta_lf") == r"$\eta_{LF}$"
    assert symbol("s_dc", "html") == "S<sub>DC</sub>" and symbol("eta_hf", "chart") == "η_HF"
    with pytest.raises(ValueError, match="s_hf"):
        symbol("s_xx")
    assert times(1.904) == f"1.90{TIMES}" and times(float("nan")) == "nan" and factor(4) == f"{TIMES}4"


def test_notation_typesets_symbols_and_times_but_leaves_code_maths_and_identifiers():
    text = ("S_HF and S_G rise; OVG costs 1.9x DDIM (2.81 [2.75-2.90]x a step) at x4 (ihc-sr-x4, ddim_x1.15, s_hf_unit, x0 arm), factors x8-x16, "
            "a 32 x 32 crop on x86; `S_HF` and $S_{LF}$ stay, so does [a](page_2x.md).")
    out = notation(text)
    assert out.startswith("$S_{HF}$ and $S_G$ rise") and f"1.9{TIMES} DDIM (2.81 [2.75-2.90]{TIMES} a step) at {TIMES}4" in out
    assert "(ihc-sr-x4, ddim_x1.15, s_hf_unit, x0 arm)" in out and f"{TIMES}8–{TIMES}16" in out and f"32 {TIMES} 32 crop on x86" in out
    assert "`S_HF`" in out and "$S_{LF}$" in out and "(page_2x.md)" in out
    plain = [[o.split("'")[1] for o in offences(md_text(t)) if o.startswith("plain symbol")] for t in (out, text)]
    assert plain[0] == [] and sorted(plain[1]) == ["S_G", "S_HF"]
    assert notation(text, "chart").startswith("S_HF and S_G rise")
    assert notation(out) == out   # idempotent


def test_notation_writes_ascii_stand_ins_as_their_signs_in_prose_only():
    text = ("eta 1e-6 -> S_DC 0.54 (t -> T, t->T), ||x_T||^2/d 0.99 +- 0.01, 0.5+-0.1; a <= b, c >= d, n < 10 and "
            "m > 2; `a -> b`, `x <= y`, $a <= b$, [go](a->b.md), <!-- c -> d -->, --jobs 1, x8-x16, 1e-6")
    out = notation(text)
    assert out.startswith("eta 1e-6 → $S_{DC}$ 0.54 (t → T, t→T), $\\lVert\\mathbf{x}_T\\rVert^2/d$ 0.99 ± 0.01, "
                          "0.5 ± 0.1; a ≤ b, c ≥ d")
    assert "‖x_T‖²/d 0.99 ± 0.01" in notation(text, "chart")      # charts: the signs, in plain text
    assert "n < 10 and m > 2" in out and "`a -> b`, `x <= y`, $a <= b$, [go](a->b.md), <!-- c -> d -->" in out
    assert "--jobs 1" in out and out.endswith("1e-6")
    assert notation("a &lt;= b; p -&gt; q", "html") == "a ≤ b; p → q"      # escaped HTML text reads the same
    assert notation(out) == out


def test_reader_text_names_keys_and_methods_but_leaves_code_identifiers_and_keys_to_type():
    from spectral_collapse.plotting.reader import reader_text

    text = ("| parameter | value |\n|---|---|\n| eta_hf | 1e-06 (default) |\n| n_images | 12 |\n| ovg_edm | 0.5 |\n"
            "| from pareto | eta_hf = 1e-06; per_base: ovg (eta_lf = 0.1) |\n\n"
            "Failed: eta_hf 1e-06, eta_lf 0.1 for ovg_edm; s_hf, s_lf_gt and ms_ssim; each grid point (its n_images). "
            "Kept: ihc-sr-x4-edm-quick, s_hf_unit=2, `ovg_edm`, `eta_hf`, [ovg](ovg.md), ihc-sr-x4-ddim_x1.15, $S_{HF}$.")
    out = reader_text(text)
    assert "| eta_hf | 1e-06 (default) |" in out and "| n_images | 12 |" in out       # the keys a user types
    assert "| OVG + EDM | 0.5 |" in out and r"| $\eta_{HF}$ = 1e-06; per_base: OVG ($\eta_{LF}$ = 0.1) |" in out
    assert r"Failed: $\eta_{HF}$ 1e-06, $\eta_{LF}$ 0.1 for OVG + EDM; $S_{HF}$, $S_{LF}$ (truth) and MS-SSIM" in out
    assert "(its `n_images`)" in out
    assert out.endswith("Kept: ihc-sr-x4-edm-quick, `s_hf_unit`=2, `ovg_edm`, `eta_hf`, [OVG](ovg.md), ihc-sr-x4-ddim_x1.15, "
                        "$S_{HF}$.")
    assert offences(md_text(out)) == [] and offences(md_text(text))
    assert reader_text(out) == out
    html_out = reader_text("<td>eta_hf</td><td>eta_hf 1e-06 for ovg, S_DC &lt;= 0.5</td><td>its n_images</td>", "html")
    assert html_out == ("<td>eta_hf</td><td>η<sub>HF</sub> 1e-06 for OVG, S<sub>DC</sub> ≤ 0.5</td>"
                        "<td>its <code>n_images</code></td>")


def test_a_displayed_table_reads_in_the_notation_and_the_table_keeps_its_keys():
    import numpy as np
    import pandas as pd

    from spectral_collapse.plotting.reader import reader_table

    frame = pd.DataFrame({"s_hf": [0.8, np.nan], "note": ["eta_hf 1e-06 diverged", "S_DC 0.5"],
                          "parameter": ["eta_hf", "n_images"], "label": ["ovg_edm", "arm 2"]},
                         index=pd.Index(["ddim", "ovg"], name="method"))
    before = frame.copy()
    out = reader_table(frame, na_rep="—")
    assert offences(html_text(out)) == [], offences(html_text(out))
    assert "<th>S<sub>HF</sub></th>" in out and "<th>DDIM</th>" in out and "<td>OVG + EDM</td>" in out
    assert "<td>η<sub>HF</sub> 10⁻⁶ diverged</td>" in out and "<td>S<sub>DC</sub> 0.5</td>" in out
    assert "<td>eta_hf</td>" in out and "<td>n_images</td>" in out   # the "parameter" column: keys a user types
    pd.testing.assert_frame_equal(frame, before)                      # code reads the table by its keys
    grid = pd.DataFrame(np.ones((2, 2)), index=pd.MultiIndex.from_tuples([(1e-6, 0.1), (1e-5, 0.1)],
                                                                         names=["eta_hf", "eta_lf"]),
                        columns=pd.MultiIndex.from_tuples([("s_dc", "mean"), ("s_g", "mean")]))
    shown = reader_table(grid)
    assert "S<sub>DC</sub>" in shown and "η<sub>LF</sub>" in shown and offences(html_text(shown)) == []
    assert offences(html_text(grid.to_html())), "the scan must see the raw keys of the table as it is"


def test_a_chapter_kernel_shows_markdown_and_tables_in_the_notation():
    pytest.importorskip("IPython")
    import pandas as pd
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import Markdown

    from spectral_collapse.pipeline.notebook import show_missing_as_dash

    shell = InteractiveShell.instance()
    try:
        assert show_missing_as_dash()
        # a code span that names only a method reads by its name too; other code stays as typed
        md = shell.display_formatter.format(Markdown("S_G of ovg_edm: eta_hf 1e-06 -> 1.9x; `ovg_edm`, `eta_hf=1e-6`"))[0]
        assert md["text/markdown"] == r"$S_G$ of OVG + EDM: $\eta_{HF}$ 1e-06 → 1.9×; OVG + EDM, `eta_hf=1e-6`"
        table = pd.DataFrame({"s_g": [0.5]}, index=pd.Index(["ovg"], name="method"))
        shown = shell.display_formatter.format(table)[0]["text/html"]
        assert "S<sub>G</sub>" in shown and "<th>OVG</th>" in shown and offences(html_text(shown)) == []
    finally:
        InteractiveShell.clear_instance()


def test_an_executed_chapters_own_prose_reads_in_the_notation():
    import nbformat

    from spectral_collapse.plotting.reader import reader_cells

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("OVG (S_HF 0.96, S_DC < 0.89) at x16; `ovg`"),
                nbformat.v4.new_code_cell("x = 'S_HF'")]
    assert reader_cells(nb) == 1
    assert nb.cells[0].source == "OVG ($S_{HF}$ 0.96, $S_{DC}$ < 0.89) at ×16; `ovg`"
    assert nb.cells[1].source == "x = 'S_HF'"
    assert reader_cells(nb) == 0


def test_the_scanner_finds_each_kind_of_offence_and_passes_the_fixed_text():
    bad = "OVG + EDM (ovg_edm) scores S_HF 0.8 at 2.5x the cost; eta_hf 1e-06, n_images 12."
    assert offences("a step [2.1-2.3]x DDIM's")
    kinds = {o.split(" '")[0] for o in offences(md_text(bad))}
    assert kinds == {"method label", "plain symbol", "x for ×", "raw key"}
    good = "OVG + EDM scores $S_{HF}$ 0.8 at 2.5× the cost; `eta_hf` 1e-06 on ihc-sr-x4-edm-quick."
    assert offences(md_text(good)) == []
    assert offences(html_text("<td>S<sub>HF</sub></td><td><code>ovg_edm</code></td>")) == []
    assert offences("DDIM | ovg_edm | 0.5", charts=True)


def test_method_names_cover_every_label_and_read_in_legends():
    import altair as alt
    import pandas as pd

    from spectral_collapse.plotting.palette import METHOD_COLORS, method_color, method_dash, method_shape
    from spectral_collapse.framework.method_labels import BASELINE_LABELS, PAPER_LABELS
    from spectral_collapse.reference.method_names import METHOD_NAMES, STABLE_OVG_LABEL, method_name

    assert set(PAPER_LABELS) | set(BASELINE_LABELS) | {STABLE_OVG_LABEL} | set(METHOD_COLORS) <= set(METHOD_NAMES)
    assert method_name("ovg_edm") == "OVG + EDM" and method_name("arm 2") == "arm 2"
    df = pd.DataFrame({"method": ["ddim", "ovg_edm", "arm 2"], "v": [1.0, 2.0, 3.0]})
    chart = alt.Chart(df).mark_point().encode(x="v:Q", y="method:N", color=method_color(df["method"]),
                                              shape=method_shape(df["method"]), strokeDash=method_dash(df["method"]))
    vl_convert = pytest.importorskip("vl_convert")
    from spectral_collapse.plotting.labels import reader_spec

    svg = vl_convert.vegalite_to_svg(reader_spec(chart.to_dict()))   # as the book's renderer draws it
    labels = [html.unescape(t) for t in _SVG_TEXT.findall(svg)]
    assert {"DDIM", "OVG + EDM", "arm 2"} <= set(labels) and not {"ddim", "ovg_edm"} & set(labels)
    off = alt.Chart(df).mark_point().encode(x="v:Q", color=method_color(df["method"], legend=None))
    assert off.to_dict()["encoding"]["color"]["legend"] is None


def test_a_displayed_settings_table_shows_the_stored_keys_and_values_in_the_notation():
    import xarray as xr

    from spectral_collapse.pipeline.notebook import one_header_row
    from spectral_collapse.plotting.reader import reader_table
    from spectral_collapse.tables.settings import settings_table

    ds = xr.Dataset(attrs={"n_images": 12, "s_hf_unit": "uint8", "ovg": '{"eta_hf": 1e-06, "eta_lf": 0.01}'})
    shown = reader_table(one_header_row(settings_table(ds, ("n_images", "s_hf_unit", "ovg"))))
    assert "<th>s_hf_unit</th>" in shown and "η<sub>HF</sub>" in shown   # the key as stored, the symbol typeset
    assert offences(html_text(shown)) == [], offences(html_text(shown))


# --- the book -------------------------------------------------------------------------------------------------------

def _notebooks() -> list[Path]:
    """The executed chapters (not the study pages written from them, nor the hidden copies a running execution
    writes beside them)."""
    from spectral_collapse.pipeline.study_pages import chapter_paths

    return chapter_paths(BOOK / "studies")


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_chapter_uses_one_notation(path):
    """Markdown, tables (symbols typeset as S<sub>HF</sub>), charts and the chapter's own prose."""
    places = chapter_places(path)
    assert not places, "\n".join(places)


@pytest.mark.parametrize("path", sorted(BOOK.glob("*.md")),
                         ids=lambda p: str(p.relative_to(BOOK)))
def test_written_page_uses_one_notation(path):
    """The pages written by hand (front pages, the methods page) in the same notation."""
    places = page_places(path)
    assert not places, "\n".join(places)


@pytest.mark.parametrize("path", sorted((BOOK / "_generated").glob("*.md")), ids=lambda p: p.name)
def test_generated_page_uses_one_notation(path):
    """Every front page passes through plotting.reader.reader_text before pipeline.fragments writes it."""
    places = page_places(path)
    assert not places, "\n".join(places)


def test_chart_text_reads_in_reader_names():
    from spectral_collapse.plotting.labels import chart_label, chart_title, reader_spec
    from spectral_collapse.framework.method_labels import VARIANT_NAMES
    from spectral_collapse.reference.method_names import METHOD_NAMES

    assert chart_label("s_hf") == symbol("s_hf", "chart") and chart_label("eta_hf") == symbol("eta_hf", "chart")
    assert chart_label("eta_HF") == symbol("eta_hf", "chart") and chart_label("sigma") == "σ"
    assert chart_label("ovg_edm x_T") == f"{METHOD_NAMES['ovg_edm']} x_T"
    assert chart_label("ovg_batched") == VARIANT_NAMES["ovg_batched"]        # as the benchmark tables name it
    assert chart_label("(s_g: ± one std)") == "(S_G: ± one std)"
    assert chart_label(["a psnr title", None, 3]) == ["a PSNR title", None, 3]
    assert chart_label("s_hf_unit") == "s_hf_unit" and chart_label("ihc-sr-x4-edm") == "ihc-sr-x4-edm"
    assert chart_title("resolution") == "Resolution" and chart_title("x0 ddim").startswith("x0 ")
    for key in ("psnr", "mean_norm_ratio", "delta_log_e_hf", "s_dc", "direct_inversion", "eta_lf"):
        assert offences(key, charts=True) and offences(chart_label(key), charts=True) == []
    spec = {"title": {"text": "batch", "subtitle": ["direct_inversion lies under null_class"]},
            "datasets": {"d": [{"m": "ovg_edm", "k": "s_hf"}]},
            "encoding": {"x": {"field": "psnr", "type": "quantitative"}, "y": {"field": "m", "type": "nominal"},
                         "color": {"field": "k", "type": "nominal"}}}
    out = reader_spec(spec)
    assert out["title"]["text"] == "Batch" and out["datasets"] == spec["datasets"]
    assert out["title"]["subtitle"] == [f"{METHOD_NAMES['direct_inversion']} lies under {METHOD_NAMES['null_class']}"]
    assert out["encoding"]["x"]["title"] == "PSNR (dB)" and "ovg_edm" in out["config"]["axis"]["labelExpr"]
    assert "S_HF" in out["encoding"]["color"]["legend"]["labelExpr"] and "title" not in spec["encoding"]["x"]
    vl_convert = pytest.importorskip("vl_convert")
    full = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "data": {"name": "d"}, "mark": "point",
            **{k: v for k, v in spec.items()}}
    raw = " | ".join(html.unescape(t) for t in _SVG_TEXT.findall(vl_convert.vegalite_to_svg(full)))
    shown = " | ".join(html.unescape(t) for t in _SVG_TEXT.findall(vl_convert.vegalite_to_svg(reader_spec(full))))
    assert offences(raw, charts=True), "the scan must see the raw keys of the chart as it is"
    assert offences(shown, charts=True) == [], shown
