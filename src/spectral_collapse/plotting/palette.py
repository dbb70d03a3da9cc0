"""The book's look of each method on every chart (``METHOD_LOOK``: colour, point shape, line dash), colours at least
25 apart in CIEDE2000 with a 3:1 contrast on white; another label gets a spare one."""
from __future__ import annotations

from typing import Iterable

import altair as alt

__all__ = ["METHOD_LOOK", "METHOD_COLORS", "METHOD_FAMILY", "REFERENCE_COLOR", "REFERENCE_LABELS", "method_style",
           "method_styles", "method_color", "method_shape", "method_dash", "SPARE_COLORS"]

# (colour, family, point shape, line dash) per method: a family shares its first member's shape, except where a colour
# lies close to a family member's (for colour-blind readers); each method has a dash of its own
METHOD_LOOK = {
    # the paper's methods without OVG
    "ddim": ("#0D0059", "paper", "circle", [1, 0]), "taba": ("#145259", "paper", "triangle-down", [10, 3]),
    "edm": ("#4191FF", "paper", "triangle-left", [10, 3, 2, 3]),
    # OVG and its variants
    "ovg": ("#704C03", "ovg", "triangle-up", [6, 3]), "ovg_taba": ("#F75C77", "ovg", "triangle-up", [6, 2, 1, 2]),
    "ovg_edm": ("#293EFF", "ovg", "triangle-right", [6, 2, 1, 2, 1, 2]),
    "ovg_stable": ("#9D9200", "ovg", "diamond", [3, 4]),
    # the other baselines
    "null_class": ("#034B05", "baseline", "square", [2, 2]),
    "direct_inversion": ("#900060", "baseline", "square", [1, 4]),
    "renoise": ("#03A85E", "baseline", "arrow", [4, 2, 1, 2]), "edict": ("#D860FC", "baseline", "wedge", [2, 2, 6, 2]),
    "bdia": ("#DB6510", "baseline", "square", [5, 5]),
    # the controls charts draw: the untranslated input and the ground truth
    "copy": ("#98030F", "control", "diamond", [8, 3, 2, 3]),
    "ground_truth": ("#000000", "control", "diamond", [14, 3, 2, 3, 2, 3]),
}
METHOD_COLORS = {m: look[0] for m, look in METHOD_LOOK.items()}
METHOD_FAMILY = {m: look[1] for m, look in METHOD_LOOK.items()}
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
        return REFERENCE_COLOR, "cross", [12, 4]
    return (METHOD_LOOK[s][0], *METHOD_LOOK[s][2:]) if s in METHOD_LOOK else None


def method_styles(labels: Iterable) -> dict[str, tuple[str, str, list[int]]]:
    """{label: (colour, shape, dash)} in first-seen order; any other label gets the next spare colour and shape."""
    out, spare = {}, 0
    for v in dict.fromkeys(str(v) for v in labels):
        style = method_style(v)
        if style is None:
            style = (SPARE_COLORS[spare % len(SPARE_COLORS)], _SPARE_SHAPES[spare % len(_SPARE_SHAPES)], [1, 0])
            spare += 1
        out[v] = style
    return out


def _scale(labels, i: int):
    """The scale of channel ``i`` (0 colour, 1 shape, 2 dash) over the labels' own values."""
    raw = list(dict.fromkeys(v.item() if hasattr(v, "item") else v for v in labels))
    styles = method_styles(raw)
    return alt.Scale(domain=raw, range=[styles[str(v)][i] for v in raw])


def method_color(labels: Iterable, field: str = "method", title: str | None = "method", **kw):
    """An ``alt.Color`` of ``field`` in the book's method colours (one legend with the same labels and title)."""
    return alt.Color(f"{field}:N", title=title, scale=_scale(labels, 0), **kw)


def method_shape(labels: Iterable, field: str = "method", title: str | None = "method", **kw):
    """An ``alt.Shape`` of ``field`` in each method's shape."""
    return alt.Shape(f"{field}:N", title=title, scale=_scale(labels, 1), **kw)


def method_dash(labels: Iterable, field: str = "method", title: str | None = "method", **kw):
    """An ``alt.StrokeDash`` of ``field`` in each method's dash."""
    return alt.StrokeDash(f"{field}:N", title=title, scale=_scale(labels, 2), **kw)
