"""A line chart's legend draws each entry's dash as the line draws it: the legend symbol is long enough to show a
gap of its pattern (a whole period and the first dash again), read back from the rendered SVG."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import vl_convert as vlc
import xarray as xr

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results"


def _legend_symbols(chart) -> list[tuple[float, list[float]]]:
    """(length, dash pattern) of every line symbol the rendered chart's legends draw."""
    svg = vlc.vegalite_to_svg(chart.to_dict())
    out = []
    for part in svg.split('role-legend')[1:]:
        for d, dash in re.findall(r'<path[^>]*d="M(-?[\d.]+),0L-?[\d.]+,0"[^>]*stroke-dasharray="([\d.,]+)"', part):
            out.append((2 * abs(float(d)), [float(v) for v in dash.split(",")]))
    return out


def _shows_its_dash(length: float, dash: list[float]) -> bool:
    gaps = dash[1::2]
    return not any(gaps) or length >= sum(dash) + dash[0]


def _pca_like() -> xr.Dataset:
    k = np.arange(1, 17)
    curves = {"ddim": 1 - np.exp(-k / 3), "ovg": 1 - np.exp(-k / 8), "gaussian": k / 16}
    return xr.Dataset({"cev": (("series", "component"), np.array(list(curves.values())))},
                      coords={"series": list(curves), "component": k})


def test_the_pca_legend_draws_the_gaussian_reference_dashed():
    from spectral_collapse.plotting.latents import cev_chart
    from spectral_collapse.plotting.palette import method_style

    symbols = _legend_symbols(cev_chart(_pca_like()))
    reference = [s for s in symbols if s[1] == [float(v) for v in method_style("gaussian")[2]]]
    assert reference, symbols
    assert all(_shows_its_dash(*s) for s in symbols), symbols


def test_every_line_legend_shows_its_dashes():
    """series_lines over methods of every family and the reference, and the ablations' PCA chart."""
    from spectral_collapse.plotting.charts import series_lines
    from spectral_collapse.plotting.palette import METHOD_COLORS

    labels = [*METHOD_COLORS, "gaussian"]
    frame = pd.DataFrame([(m, x, x * (i + 1)) for i, m in enumerate(labels) for x in range(3)],
                         columns=["method", "x", "y"])
    symbols = _legend_symbols(series_lines(frame, x="x:Q", y="y:Q"))
    assert len(symbols) >= len(labels)
    bad = [s for s in symbols if not _shows_its_dash(*s)]
    assert not bad, bad


def test_the_ablation_pca_legend_shows_its_dashes():
    from spectral_collapse.plotting.ablations import pca_chart
    from spectral_collapse.studies.store import load_results

    path = RESULTS / "scale_factor" / "ihc-sr-quick.nc"
    if not path.exists():
        pytest.skip("no stored scale_factor results")
    symbols = _legend_symbols(pca_chart(load_results(path)))
    assert symbols and all(_shows_its_dash(*s) for s in symbols), symbols
