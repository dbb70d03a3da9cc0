"""Offline rendering of Altair charts in notebooks and in the Jupyter Book.

Altair's default renderer emits HTML that loads vega, vega-lite and vega-embed from a CDN, so the book
shows "Error loading script" without a network. :func:`setup_altair` therefore defaults to the "svg"
renderer: vl-convert draws the chart inside the kernel and the notebook stores ``image/svg+xml``, which
Jupyter Book 1 turns into a plain image (no JavaScript, no network).

For interactive charts (tooltips, zoom) use ``setup_altair("interactive")``: the default HTML output is
kept, and :func:`write_vega_bundle` writes ``book/_static/vega-offline.js``, one copy of the three
libraries that every book page loads. Altair's "universal" template skips fetching a library when the
global ``VEGA_DEBUG`` already records the version it asks for, so the bundle presets those versions and
defines ``vegaEmbed``. The bundle runs inside a function so its top-level ``const`` names cannot clash with
Sphinx's (``const _`` in doctools.js). Never use the "inline" template (it clashes the same way) or the
"mimetype" renderer (papermill rejects altair 6's MIME type) in book notebooks.

An SVG chart keeps its text as text, and vl-convert lays it out (titles, legends, tick labels) with the widths of
the font it measures, while the reader's browser draws it with its own sans-serif. Where that font is wider
(DejaVu Sans, the usual Linux sans-serif) titles and legend labels ran past the image's edge and tick labels
overprinted. Importing this package therefore enables the ``spectral_collapse`` theme (:data:`THEME`): charts
name DejaVu Sans first, so vl-convert measures the widest common sans-serif (a browser without it falls back to
a narrower one, which still fits), with a little padding round the chart. An axis that lists methods reads their
reader names ("OVG + EDM", not ``ovg_edm``; ``studies.method_labels.METHOD_NAMES``), as the method legends of
``plotting.palette`` do; an axis that sets its own ``labelExpr`` keeps it.
"""
from __future__ import annotations

import os
from pathlib import Path

import altair as alt

__all__ = ["setup_altair", "vega_versions", "write_vega_bundle", "MODES", "THEME", "FONT"]

MODES = ("svg", "png", "interactive")
THEME = "spectral_collapse"
FONT = "DejaVu Sans, Verdana, sans-serif"


@alt.theme.register(THEME, enable=True)
def _book_theme() -> alt.theme.ThemeConfig:
    """The book's chart defaults: Altair's view size, the font the layout is measured with, some padding, and
    methods named on an axis by their reader names."""
    from .labels import chart_label_expr

    return {"padding": 10, "config": {"font": FONT, "view": {"continuousWidth": 300, "continuousHeight": 300},
                                      "legend": {"labelLimit": 260}, "axis": {"labelExpr": chart_label_expr()},
                                      "header": {"labelExpr": chart_label_expr(key="datum.value")}}}


def _reading(renderer):
    """``renderer`` drawing the chart with its titles in reader form (``labels.reader_spec``)."""
    def draw(spec: dict, **metadata):
        from .labels import reader_spec

        return renderer(reader_spec(spec), **metadata)

    draw.__wrapped__ = renderer
    return draw


# the book's "svg" and "png" renderers: Altair's, with every title read by its reader name
for _name in ("svg", "png"):
    _own = alt.renderers._plugins[_name]
    if not hasattr(_own, "__wrapped__"):
        alt.renderers.register(_name, _reading(_own))


def setup_altair(mode: str = "svg", *, scale_factor: float = 2.0) -> str:
    """Enable an offline-safe Altair renderer: "svg" (default), "png" (``scale_factor``) or "interactive"."""
    if mode not in MODES:
        raise ValueError(f"unknown altair mode {mode!r}; choose one of {', '.join(MODES)}")
    alt.theme.enable(THEME)
    if mode in ("svg", "png"):
        try:
            import vl_convert  # noqa: F401
        except ImportError as err:
            raise ImportError(f"altair mode {mode!r} needs vl-convert-python; pip install vl-convert-python") from err
    if mode == "svg":
        alt.renderers.enable("svg")
    elif mode == "png":
        alt.renderers.enable("png", scale_factor=scale_factor)
    else:
        alt.renderers.enable("default")
    return mode


def vega_versions() -> dict[str, str]:
    """The vega / vega-lite / vega-embed versions that altair's HTML output asks for (``VEGA_DEBUG`` keys)."""
    return {"vega_version": alt.VEGA_VERSION, "vegalite_version": alt.VEGALITE_VERSION,
            "vegaembed_version": alt.VEGAEMBED_VERSION}


def write_vega_bundle(path: str | os.PathLike) -> Path:
    """Write the offline vega + vega-lite + vega-embed bundle (built by vl-convert, no network) to ``path``."""
    import json

    import vl_convert as vlc
    from altair.utils._importers import vl_version_for_vl_convert

    bundle = vlc.javascript_bundle(vl_version=vl_version_for_vl_convert())
    preset = json.dumps(vega_versions(), sort_keys=True)
    text = (
        "/* vega, vega-lite and vega-embed for offline Altair charts; generated by scripts/make_book_assets.py */\n"
        f"var VEGA_DEBUG = Object.assign((typeof VEGA_DEBUG == 'undefined') ? {{}} : VEGA_DEBUG, {preset});\n"
        "(function () {\n" + bundle + "\n})();\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
