"""Charts name methods at a factor by their reader names and leave other series alone."""
from __future__ import annotations

import html

import pytest

from spectral_collapse.text import TIMES
from tests.test_notation import _SVG_TEXT, offences


def test_a_chart_names_methods_at_a_factor_and_leaves_other_series_alone():
    import altair as alt
    import pandas as pd

    from spectral_collapse.plotting.labels import chart_label, reader_spec
    from spectral_collapse.plotting.palette import method_color

    assert chart_label("ddim x2") == f"DDIM {TIMES}2" and chart_label("ovg_edm") == "OVG + EDM"
    assert chart_label("gaussian") == "Gaussian" and chart_label(4) == 4
    df = pd.DataFrame({"series": ["ddim x2", "ddim x8", "gaussian"], "v": [1.0, 2.0, 3.0]})
    chart = alt.Chart(df).mark_line().encode(x="v:Q", color=method_color(df["series"], field="series"))
    vl_convert = pytest.importorskip("vl_convert")
    labels = [html.unescape(t) for t in _SVG_TEXT.findall(vl_convert.vegalite_to_svg(reader_spec(chart.to_dict())))]
    assert {f"DDIM {TIMES}2", f"DDIM {TIMES}8", "Gaussian"} <= set(labels)
    assert offences(" | ".join(labels), charts=True) == []
