"""One look per method across the whole book: a colour, a point shape and a line dash.

Fifteen labels can share a chart (the twelve methods, the two controls and the Gaussian reference), more than any
colour-blind-safe set holds, so colour is not the only channel. The methods fall into families, and every family
has its own point shape and line dash: the paper's non-OVG methods (circles, solid lines), OVG and its variants
(triangles, dashed), the other baselines (squares, dotted), the controls (diamonds, dash-dot) and the Gaussian
reference (crosses, long dashes), and within a family each method has a dash of its own (``METHOD_DASHES``), so two
lines of one family differ in dash as well as in colour. Any two colours of the methods, the controls and the
reference lie at least 25 apart in CIEDE2000 for normal vision (and 30 in CIE76), so two methods drawn on one chart
never look alike; two of one family, which share a point shape and a dash family, lie at least 27.5 apart (the
baselines, which the benchmarks chapter draws together, at least 30); within a family they stay apart under simulated
protanopia and deuteranopia as well, and across families, where two colours come closer for a colour-blind reader, shape and dash tell them apart. The colours were
chosen by maximising the smallest CIEDE2000 difference between any two of them, the ground truth kept black and the
reference a neutral grey, among colours dark enough to stand out on white as a thin line or a small point: every one
has a contrast ratio of at least 3:1 against the white page (WCAG relative luminance). A method keeps its look
on every page, whichever subset of methods a chart shows; a label outside the table (an ablation arm, a filter) gets
a spare colour of its own. A method's legend entry reads its reader name (``studies.method_labels.METHOD_NAMES``:
"OVG + EDM", not ``ovg_edm``); the chart's data keep the labels.
"""
from __future__ import annotations

from typing import Iterable

from .labels import js_string

__all__ = ["METHOD_COLORS", "METHOD_FAMILY", "FAMILY_SHAPES", "FAMILY_DASHES", "METHOD_DASHES", "REFERENCE_COLOR",
           "REFERENCE_LABELS", "method_style", "method_styles", "method_color", "method_shape",
           "method_dash", "label_expr", "chart_name", "SPARE_COLORS"]

METHOD_COLORS = {
    # the paper's methods without OVG
    "ddim": "#0D0059", "taba": "#145259", "edm": "#4191FF",
    # OVG and its variants
    "ovg": "#704C03", "ovg_taba": "#F75C77", "ovg_edm": "#293EFF", "ovg_stable": "#9D9200",
    # the other baselines
    "null_class": "#034B05", "direct_inversion": "#900060", "renoise": "#03A85E", "edict": "#D860FC",
    "bdia": "#DB6510",
    # the controls charts draw: the untranslated input and the ground truth (the blurred and noisy truths of the
    # realism gate appear in tables; a chart that draws them gives them spare colours)
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
# a method whose colour lies close to a family member's for colour-blind readers (or close for anyone) is drawn with
# a shape of its own, so a scatter tells them apart by shape as a line chart does by dash
METHOD_SHAPES = {"taba": "triangle-down", "edm": "triangle-left", "ovg_edm": "triangle-right", "edict": "wedge",
                 "renoise": "arrow", "ovg_stable": "diamond"}
FAMILY_DASHES = {"paper": [1, 0], "ovg": [6, 3], "baseline": [2, 2], "control": [8, 3, 2, 3],
                 "reference": [12, 4], "other": [1, 0]}
# each method's own dash: a family's first member draws the family's dash, the others a variant of it, so two lines
# of one family (OVG and OVG + EDM) differ in dash as well as in colour
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
# labels that are not methods: colours apart from every method's (CIEDE2000 > 17 from each and from each other),
# each with a contrast of at least 3:1 on white, as the methods' own
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
    """{label: (colour, shape, dash)} in the labels' first-seen order: each method's own look, and for a label that
    is not a method the next spare colour (not used by any method) with its own shape, solid."""
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
    """The scale of one channel (0 colour, 1 shape, 2 dash); its domain keeps the labels' own values (an arm's
    factor 2 stays the number 2, which is what the chart's data hold)."""
    import altair as alt

    raw = list(dict.fromkeys(v.item() if hasattr(v, "item") else v for v in labels))
    styles = method_styles(raw)
    return alt.Scale(domain=raw, range=[styles[str(v)][i] for v in raw])


def label_expr(labels: Iterable | None = None, default: str = "datum.label") -> str:
    """A Vega expression that writes each method label among ``labels`` (all of ``METHOD_NAMES`` when None) by its
    reader name, a label made of a method label and a factor ("ddim x2") as "DDIM ×2", and any other label as
    ``default`` writes it; for a legend's or an axis's ``labelExpr``."""
    from ..studies.method_labels import METHOD_NAMES

    shown = METHOD_NAMES if labels is None else {str(v): chart_name(v) for v in labels}
    shown = {k: v for k, v in shown.items() if v != k}
    expr = default
    for key, name in reversed(list(shown.items())):
        expr = f"datum.label === {js_string(key)} ? {js_string(name)} : {expr}"
    return expr


def chart_name(label) -> str:
    """A series label as a chart writes it: a method label by its reader name ("ovg_edm" -> "OVG + EDM"), a method
    at a factor ("ddim x2") as "DDIM ×2", the Gaussian reference's key ("gaussian") as "Gaussian", any other label as
    it is."""
    from ..studies.method_labels import name_methods
    from ..text import notation

    text = str(label)
    if text in REFERENCE_LABELS and text.startswith("gaussian"):   # the reference's key, named as a word
        text = "G" + text[1:]
    return notation(name_methods(text), "chart")


def _legend(labels, kw: dict) -> dict:
    """``kw`` with a legend that reads the methods' reader names, unless the caller turned the legend off or set its
    labels; ``legend=alt.Legend(...)`` keeps its other settings."""
    import altair as alt

    legend = kw.get("legend", alt.Undefined)
    if legend is None:
        return kw
    raw = list(dict.fromkeys(v.item() if hasattr(v, "item") else v for v in labels))
    if all(chart_name(v) == str(v) for v in raw):
        return kw
    if legend is alt.Undefined:
        legend = alt.Legend()
    elif isinstance(legend, dict):
        legend = alt.Legend(**legend)
    if legend.labelExpr is alt.Undefined:
        legend = legend.copy()
        legend.labelExpr = label_expr(raw)
    return {**kw, "legend": legend}


def method_color(labels: Iterable, field: str = "method", title: str | None = "method", **kw):
    """An ``altair.Color`` encoding of ``field`` with the book's method colours for ``labels``. Give
    ``method_shape`` / ``method_dash`` the same labels, field and title, and the chart draws one legend."""
    import altair as alt

    labels = list(labels)
    return alt.Color(f"{field}:N", title=title, scale=_scale(labels, 0), **_legend(labels, kw))


def method_shape(labels: Iterable, field: str = "method", title: str | None = "method", **kw):
    """An ``altair.Shape`` encoding of ``field``: each method's shape (its family's, or its own in
    ``METHOD_SHAPES``)."""
    import altair as alt

    labels = list(labels)
    return alt.Shape(f"{field}:N", title=title, scale=_scale(labels, 1), **_legend(labels, kw))


def method_dash(labels: Iterable, field: str = "method", title: str | None = "method", **kw):
    """An ``altair.StrokeDash`` encoding of ``field``: each method's family dash (see the module's docstring)."""
    import altair as alt

    labels = list(labels)
    return alt.StrokeDash(f"{field}:N", title=title, scale=_scale(labels, 2), **_legend(labels, kw))
