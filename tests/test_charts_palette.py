"""The method colours: every two methods (and the controls and the Gaussian reference) that can share a chart are
clearly apart, measured with a colour difference computed here from the hex codes (sRGB -> CIELAB, CIEDE2000 and
CIE76), and within a family also under simulated colour-vision deficiency."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from spectral_collapse.plotting.palette import (METHOD_COLORS, METHOD_FAMILY, REFERENCE_COLOR, SPARE_COLORS,
                                                method_styles)

# Machado, Oliveira and Fernandes (2009), severity 1, on linear RGB
PROTAN = np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]])
DEUTAN = np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]])


def _lab(hex_colour: str, cvd=None) -> np.ndarray:
    c = np.array([int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)])
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    if cvd is not None:
        lin = np.clip(cvd @ lin, 0, 1)
    xyz = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                    [0.0193339, 0.1191920, 0.9503041]]) @ lin / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _de76(a, b, cvd=None) -> float:
    return float(np.linalg.norm(_lab(a, cvd) - _lab(b, cvd)))


def _de2000(a, b, cvd=None) -> float:
    (l1, a1, b1), (l2, a2, b2) = _lab(a, cvd), _lab(b, cvd)
    cbar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(cbar ** 7 / (cbar ** 7 + 25.0 ** 7)))
    a1, a2 = (1 + g) * a1, (1 + g) * a2
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    h1, h2 = np.degrees(np.arctan2(b1, a1)) % 360, np.degrees(np.arctan2(b2, a2)) % 360
    dh = 0.0 if c1 * c2 == 0 else (h2 - h1 - 360 if h2 - h1 > 180 else h2 - h1 + 360 if h2 - h1 < -180 else h2 - h1)
    dl, dc, dhh = l2 - l1, c2 - c1, 2 * np.sqrt(c1 * c2) * np.sin(np.radians(dh / 2))
    lb, cb = (l1 + l2) / 2, (c1 + c2) / 2
    if c1 * c2 == 0:
        hb = h1 + h2
    elif abs(h1 - h2) <= 180:
        hb = (h1 + h2) / 2
    else:
        hb = (h1 + h2 + 360) / 2 if h1 + h2 < 360 else (h1 + h2 - 360) / 2
    t = (1 - 0.17 * np.cos(np.radians(hb - 30)) + 0.24 * np.cos(np.radians(2 * hb))
         + 0.32 * np.cos(np.radians(3 * hb + 6)) - 0.20 * np.cos(np.radians(4 * hb - 63)))
    sl = 1 + 0.015 * (lb - 50) ** 2 / np.sqrt(20 + (lb - 50) ** 2)
    sc, sh = 1 + 0.045 * cb, 1 + 0.015 * cb * t
    rt = -np.sin(np.radians(60 * np.exp(-((hb - 275) / 25) ** 2))) * 2 * np.sqrt(cb ** 7 / (cb ** 7 + 25.0 ** 7))
    return float(np.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dhh / sh) ** 2 + rt * (dc / sc) * (dhh / sh)))


def test_the_colour_difference_formulas_match_published_values():
    """CIEDE2000 on the Sharma, Wu and Dalal (2005) test pair 1 (given in Lab; here through sRGB of known Lab)."""
    assert _de76("#000000", "#FFFFFF") == pytest.approx(100.0, abs=0.01)
    assert _de2000("#000000", "#FFFFFF") == pytest.approx(100.0, abs=0.01)
    assert _de2000("#FF0000", "#FF0000") == 0.0
    # pure red against pure blue: CIEDE2000 52.88 (a widely tabulated value)
    assert _de2000("#FF0000", "#0000FF") == pytest.approx(52.88, abs=0.05)


SHOWN_TOGETHER = {**METHOD_COLORS, "gaussian (reference)": REFERENCE_COLOR}


@pytest.mark.parametrize("a,b", list(itertools.combinations(SHOWN_TOGETHER, 2)))
def test_every_two_methods_of_one_chart_are_clearly_apart(a, b):
    """Any two of the methods, the controls and the reference (a chart of the main results shows eleven methods and
    the figures page all of them): at least 25 CIEDE2000 apart and 30 CIE76 apart, as style charts print them."""
    ca, cb = SHOWN_TOGETHER[a], SHOWN_TOGETHER[b]
    assert _de2000(ca, cb) >= 25, (a, b, round(_de2000(ca, cb), 1))
    assert _de76(ca, cb) >= 30, (a, b, round(_de76(ca, cb), 1))


@pytest.mark.parametrize("label", list(SHOWN_TOGETHER))
def test_every_colour_stands_out_on_a_white_page(label):
    assert _de2000(SHOWN_TOGETHER[label], "#FFFFFF") >= 25, label


def test_lines_of_one_family_differ_in_dash_as_well_as_colour():
    """OVG and OVG + EDM (both dashed, one family) on one chart: a reader tells them apart by dash too."""
    from spectral_collapse.plotting.palette import method_style

    for a, b in itertools.combinations(METHOD_COLORS, 2):
        sa, sb = method_style(a), method_style(b)
        assert sa[0] != sb[0], (a, b)
        if METHOD_FAMILY[a] == METHOD_FAMILY[b]:
            assert sa[2] != sb[2], (a, b)
    dashes = [tuple(method_style(m)[2]) for m in METHOD_COLORS] + [tuple(method_style("gaussian")[2])]
    assert len(set(dashes)) == len(dashes)


def test_methods_of_one_family_stay_apart_for_colour_blind_readers():
    """Methods of one family share point shape and dash, so their colours alone tell them apart: at least 12
    CIEDE2000 apart under simulated protanopia and deuteranopia."""
    for cvd in (PROTAN, DEUTAN):
        for a, b in itertools.combinations(METHOD_COLORS, 2):
            if METHOD_FAMILY[a] == METHOD_FAMILY[b]:
                d = _de2000(METHOD_COLORS[a], METHOD_COLORS[b], cvd)
                assert d >= 12, (a, b, round(d, 1))


def test_spare_colours_are_apart_from_every_method_and_from_each_other():
    colours = list(SHOWN_TOGETHER.values())
    for i, s in enumerate(SPARE_COLORS):
        for c in colours + list(SPARE_COLORS[:i]):
            assert _de2000(s, c) >= 12, (s, c)
    styles = method_styles(["ddim", "arm a", "arm b"])
    assert styles["arm a"][0] != styles["arm b"][0] and styles["arm a"][0] not in METHOD_COLORS.values()
