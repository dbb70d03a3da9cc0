"""One colour per method across the whole book, from colour-blind-safe sets.

The paper's methods take the Okabe-Ito colours (Okabe and Ito 2008), the other baselines and OVG's stable form
Paul Tol's "muted" colours, and the two controls grey (the untranslated input) and black (the ground truth). A
method keeps its colour on every page, whichever subset of methods a chart shows; a label outside the table
(an ablation arm, a reference curve) gets a colour of its own after them.
"""
from __future__ import annotations

from typing import Iterable

__all__ = ["METHOD_COLORS", "method_colors", "method_color"]

METHOD_COLORS = {
    "ddim": "#0072B2", "taba": "#E69F00", "edm": "#009E73", "ovg": "#D55E00", "ovg_taba": "#CC79A7",
    "ovg_edm": "#56B4E9", "ovg_stable": "#882255", "null_class": "#332288", "direct_inversion": "#999933",
    "renoise": "#DDCC77", "edict": "#44AA99", "bdia": "#AA4499", "copy": "#999999", "ground_truth": "#000000",
}
_SPARE = ("#F0E442", "#117733", "#88CCEE", "#CC6677", "#661100", "#6699CC", "#BBBBBB")


def method_colors(labels: Iterable) -> tuple[list[str], list[str]]:
    """(domain, range) for the labels of a chart, in their first-seen order: each method's own colour, and for a
    label that is not a method the next spare colour (not used by any method)."""
    domain = list(dict.fromkeys(str(v) for v in labels))
    spare = iter(_SPARE)
    return domain, [METHOD_COLORS.get(v) or next(spare, "#555555") for v in domain]


def method_color(labels: Iterable, field: str = "method", title: str | None = "method", **kw):
    """An ``altair.Color`` encoding of ``field`` with the book's method colours for ``labels``."""
    import altair as alt

    domain, rng = method_colors(labels)
    return alt.Color(f"{field}:N", title=title, scale=alt.Scale(domain=domain, range=rng), **kw)
