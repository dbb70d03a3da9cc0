"""The OVG variants share the Pareto charts (and Fig. 6): each two of them far apart in colour, not only the 25
CIEDE2000 that any two methods keep."""
from __future__ import annotations

import itertools

from spectral_collapse.plotting.palette import METHOD_COLORS, method_style
from tests.test_charts_palette import _de2000


def test_the_ovg_variants_of_the_pareto_chart_are_far_apart():
    for a, b in itertools.combinations(("ovg", "ovg_taba", "ovg_edm"), 2):
        d = _de2000(METHOD_COLORS[a], METHOD_COLORS[b])
        assert d >= 40, (a, b, round(d, 1))


def test_ovg_and_its_stable_form_differ_in_shape():
    assert method_style("ovg")[1] != method_style("ovg_stable")[1]
