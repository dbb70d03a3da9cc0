"""Every method colour stands out on the white page as a line, a point or a thin mark: a WCAG contrast ratio of at
least 3:1 against white, computed here from the hex codes (relative luminance of sRGB)."""
from __future__ import annotations

import pytest

from spectral_collapse.plotting.palette import METHOD_COLORS, REFERENCE_COLOR


def _luminance(hex_colour: str) -> float:
    c = [int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_the_contrast_formula_matches_published_values():
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)   # WCAG's familiar grey
    assert contrast("#FFFFFF", "#FFFFFF") == pytest.approx(1.0)


@pytest.mark.parametrize("label", [*METHOD_COLORS, "gaussian (reference)"])
def test_every_method_colour_has_a_contrast_of_3_to_1_on_white(label):
    colour = METHOD_COLORS.get(label, REFERENCE_COLOR)
    assert contrast(colour, "#FFFFFF") >= 3.0, (label, colour, round(contrast(colour, "#FFFFFF"), 2))


def test_spare_colours_of_other_labels_stand_out_on_white_too():
    from spectral_collapse.plotting.palette import SPARE_COLORS

    for colour in SPARE_COLORS:
        assert contrast(colour, "#FFFFFF") >= 3.0, colour


def test_methods_shown_together_are_apart_by_colour_as_well():
    """Methods of one family share a point shape and a dash family, and a family is drawn together (the benchmarks
    chapter draws every baseline on one chart): any two of one family lie at least 27.5 CIEDE2000 apart, the
    baselines at least 30, and every colour keeps its 3:1 contrast on white."""
    import itertools

    from spectral_collapse.plotting.palette import METHOD_FAMILY
    from test_charts_palette import _de2000

    for a, b in itertools.combinations(METHOD_COLORS, 2):
        if METHOD_FAMILY[a] != METHOD_FAMILY[b]:
            continue
        least = 30.0 if METHOD_FAMILY[a] == "baseline" else 27.5
        d = _de2000(METHOD_COLORS[a], METHOD_COLORS[b])
        assert d >= least, (a, b, round(d, 1))
    for colour in METHOD_COLORS.values():
        assert contrast(colour, "#FFFFFF") >= 3.0, colour
