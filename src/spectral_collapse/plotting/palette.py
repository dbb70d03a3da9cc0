"""The book's look of each method on every chart: a colour, a point shape and a line dash per method (``METHOD_COLORS``,
``METHOD_SHAPES``, ``METHOD_DASHES``), one shape and dash family per group (paper, OVG, baselines, controls, Gaussian
reference). Colours lie at least 25 apart in CIEDE2000 with a 3:1 contrast on white; a label that is not a method gets a
spare colour. The book's renderer (``labels.reader_spec``) names the methods in legends and on axes."""
from __future__ import annotations

from typing import Iterable

import altair as alt

__all__ = ["METHOD_COLORS", "METHOD_FAMILY", "FAMILY_SHAPES", "FAMILY_DASHES", "METHOD_DASHES", "REFERENCE_COLOR",
           "REFERENCE_LABELS", "method_style", "method_styles", "method_color", "method_shape",
           "method_dash", "chart_name", "SPARE_COLORS"]

METHOD_COLORS = {
    # the paper's methods without OVG
    "ddim": "#0D0059", "taba": "#145259", "edm": "#4191FF",
    # OVG and its variants
    "ovg": "#704C03", "ovg_taba": "#F75C77", "ovg_edm": "#293EFF", "ovg_stable": "#9D9200",
    # the other baselines
    "null_class": "#034B05", "direct_inversion": "#900060", "renoise": "#03A85E", "edict": "#D860FC",
    "bdia": "#DB6510",
    # the controls charts draw: the untranslated input and the ground truth
    "copy": "#98030F", "ground_truth": "#000000",
}
METHOD_FAMILY = {
    "ddim": "paper", "taba": "paper", "edm": "paper",
    "ovg": "ovg", "ovg_taba": "ovg", "ovg_edm": "ovg", "ovg_stable": "ovg",
    "null_class": "baseline", "direct_inversion": "baseline", "renoise": "baseline", "edict": "baseline",
    "bdia": "baseline",
    "copy": "control", "ground_truth": "control",
}
FAMILY_SHAPES = {"paper": "circle", "ovg": "triangle-up", "baseline": "square", "control": "diamond",
                 "reference": "cross", "other": "circle"}
# a shape of its own for a method whose colour lies close to a family member's (for colour-blind readers)
METHOD_SHAPES = {"taba": "triangle-down", "edm": "triangle-left", "ovg_edm": "triangle-right", "edict": "wedge",
                 "renoise": "arrow", "ovg_stable": "diamond"}
FAMILY_DASHES = {"paper": [1, 0], "ovg": [6, 3], "baseline": [2, 2], "control": [8, 3, 2, 3],
                 "reference": [12, 4], "other": [1, 0]}
# each method's own dash: a family's first member draws the family's dash, the others a variant of it
METHOD_DASHES = {
    "ddim": [1, 0], "taba": [10, 3], "edm": [10, 3, 2, 3],
    "ovg": [6, 3], "ovg_taba": [6, 2, 1, 2], "ovg_edm": [6, 2, 1, 2, 1, 2], "ovg_stable": [3, 4],
    "null_class": [2, 2], "direct_inversion": [1, 4], "renoise": [4, 2, 1, 2], "edict": [2, 2, 6, 2],
    "bdia": [5, 5],
    "copy": [8, 3, 2, 3], "ground_truth": [14, 3, 2, 3, 2, 3],
}
# the Gaussian reference (white noise, N(0, I)) under the names the charts give it
REFERENCE_COLOR = "#888888"
REFERENCE_LABELS = ("gaussian", "N(0, I)", "gaussian (reference)", "N(0, I) noise")
# labels that are not methods: colours CIEDE2000 > 17 from every method's and each other, 3:1 contrast on white
SPARE_COLORS = ("#179BA9", "#35001A", "#667846", "#4F4D65", "#986F8B", "#3D1C07", "#45453A")
_SPARE_SHAPES = ("circle", "square", "triangle-up", "diamond", "triangle-down", "cross", "wedge")


def method_style(label) -> tuple[str, str, list[int]] | None:
    """(colour, point shape, line dash) of a method, a control or the Gaussian reference; None for another label."""
    s = str(label)
    if s in REFERENCE_LABELS:
        return REFERENCE_COLOR, FAMILY_SHAPES["reference"], FAMILY_DASHES["reference"]
    if s in METHOD_COLORS:
        return METHOD_COLORS[s], METHOD_SHAPES.get(s, FAMILY_SHAPES[METHOD_FAMILY[s]]), METHOD_DASHES[s]
    return None


def method_styles(labels: Iterable) -> dict[str, tuple[str, str, list[int]]]:
    """{label: (colour, shape, dash)} in first-seen order; a label that is not a method gets the next spare colour and
    shape, solid."""
    out, spare = {}, 0
    for v in dict.fromkeys(str(v) for v in labels):
        style = method_style(v)
        if style is None:
            style = (SPARE_COLORS[spare % len(SPARE_COLORS)], _SPARE_SHAPES[spare % len(_SPARE_SHAPES)],
                     FAMILY_DASHES["other"])
            spare += 1
        out[v] = style
    return out


def _scale(labels, i: int):
    """The scale of channel ``i`` (0 colour, 1 shape, 2 dash) over the labels' own values."""
    raw = list(dict.fromkeys(v.item() if hasattr(v, "item") else v for v in labels))
    styles = method_styles(raw)
    return alt.Scale(domain=raw, range=[styles[str(v)][i] for v in raw])


def chart_name(label) -> str:
    """A series label as a chart writes it: "ovg_edm" -> "OVG + EDM", "ddim x2" -> "DDIM ×2", "gaussian" ->
    "Gaussian"."""
    from ..studies.method_labels import name_methods
    from ..text import notation

    text = str(label)
    if text in REFERENCE_LABELS and text.startswith("gaussian"):   # the reference's key, named as a word
        text = "G" + text[1:]
    return notation(name_methods(text), "chart")


def method_color(labels: Iterable, field: str = "method", title: str | None = "method", **kw):
    """An ``alt.Color`` of ``field`` in the book's method colours; give ``method_shape`` / ``method_dash`` the same
    labels and title for one legend."""
    return alt.Color(f"{field}:N", title=title, scale=_scale(labels, 0), **kw)


def method_shape(labels: Iterable, field: str = "method", title: str | None = "method", **kw):
    """An ``alt.Shape`` of ``field`` in each method's shape."""
    return alt.Shape(f"{field}:N", title=title, scale=_scale(labels, 1), **kw)


def method_dash(labels: Iterable, field: str = "method", title: str | None = "method", **kw):
    """An ``alt.StrokeDash`` of ``field`` in each method's dash."""
    return alt.StrokeDash(f"{field}:N", title=title, scale=_scale(labels, 2), **kw)
