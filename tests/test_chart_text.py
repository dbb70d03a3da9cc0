"""Chart text a reader can read in the book's column: the theme's text is ``TEXT_PX``, a chart is at most as wide as
keeps it at 11 px or more once shrunk to ``COLUMN_PX``, and the Pareto chart fills the column with every chosen point
drawn over the baselines' diamonds."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import vl_convert as vlc
import xarray as xr
from test_pareto import synthetic_sweep

from spectral_collapse.plotting import pareto as P
from spectral_collapse.plotting.render import COLUMN_PX, TEXT_PX

ROOT = Path(__file__).resolve().parents[1]
MIN_PX = 11   # the smallest text a reader is given


def shown_text_px(chart) -> tuple[float, float]:
    """(smallest font size as drawn in the column, the chart's width) of ``chart`` rendered to SVG."""
    svg = vlc.vegalite_to_svg(chart.to_dict())
    width = float(re.search(r'<svg[^>]*width="([\d.]+)"', svg).group(1))
    sizes = [float(x) for x in re.findall(r'font-size="([\d.]+)px"', svg)]
    return min(sizes) * min(1.0, COLUMN_PX / width), width


def test_theme_text_at_its_size_stays_readable_at_the_column_width():
    import altair as alt

    chart = alt.Chart(alt.Data(values=[{"a": 1, "b": "x"}])).mark_point().encode(x="a:Q", color="b:N").properties(
        title="t", width=COLUMN_PX)
    px, _ = shown_text_px(chart)
    assert TEXT_PX * COLUMN_PX / (COLUMN_PX + 70) >= MIN_PX   # room for an axis and a legend beside the plot
    assert px >= MIN_PX


@pytest.mark.parametrize("dataset", ["ihc-sr", "ihc-edges"])
def test_closed_form_charts_keep_11_px_text_in_the_column(dataset):
    from spectral_collapse.plotting import closed_form as CF

    path = ROOT / "data" / "results" / "closed_form" / f"{dataset}-quick.nc"
    if not path.is_file():
        pytest.skip(f"{path.name} is not stored")
    ds = xr.open_dataset(path)
    for chart in (CF.spectra_chart(ds), CF.drift_panels(ds, "target"), CF.scale_chart(ds)):
        px, width = shown_text_px(chart)
        assert px >= MIN_PX, f"text {px:.1f} px in the column ({width:g} px wide)"


def test_the_pareto_chart_fills_the_column_and_draws_its_choices_last():
    ds = synthetic_sweep([(0.3, 0.3), (0.2, 0.4), (0.4, 0.2), (0.1, 0.1)], {"ddim": (0.25, 0.35), "taba": (0.3, 0.3)})
    chart = P.pareto_chart(ds)
    px, width = shown_text_px(chart)
    assert px >= MIN_PX and 0.85 * COLUMN_PX <= width <= COLUMN_PX * TEXT_PX / MIN_PX
    layers = chart.to_dict()["layer"]
    last = layers[-1]["mark"]
    assert last["type"] == "point" and last["filled"] is False and last["shape"] == "circle"   # the rings, on top
    # a ring reaches past the corners of a diamond at the same place (a square of the same area, turned 45°)
    ring_r = np.sqrt(last["size"] / np.pi)
    diamond = next(layer["mark"] for layer in layers if layer.get("mark", {}).get("shape") == "diamond")
    assert ring_r > np.sqrt(diamond["size"] / 2)
