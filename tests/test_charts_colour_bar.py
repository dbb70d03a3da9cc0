"""A colour bar reads at a glance: the velocity heatmaps' legend labels values along the bar, not only its two
ends."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spectral_collapse.plotting.latents import velocity_heatmaps

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results" / "velocity"


def _legend_values(ds: xr.Dataset) -> list[float]:
    return velocity_heatmaps(ds).to_dict()["spec"]["encoding"]["color"]["legend"]["values"]


def _synthetic(lo: float, hi: float) -> xr.Dataset:
    rng = np.random.default_rng(0)
    p = rng.uniform(lo, hi, (2, 12, 9))
    p[0, 0, 1], p[0, 1, 1] = lo, hi
    return xr.Dataset({"log_power": (("method", "step", "freq"), p)},
                      coords={"method": ["ddim", "ovg"], "step": range(12), "freq": np.linspace(0, 0.5, 9)})


@pytest.mark.parametrize("lo,hi", [(-9.0, 0.4), (-6.2, -1.1)])
def test_the_velocity_colour_bar_has_ticks_between_its_ends(lo, hi):
    values = _legend_values(_synthetic(lo, hi))
    inside = [v for v in values if lo + 0.05 * (hi - lo) < v < hi - 0.05 * (hi - lo)]
    assert len(inside) >= 2 and len(values) >= 4, values


def test_the_stored_velocity_colour_bars_have_intermediate_ticks():
    files = sorted(RESULTS.glob("*-quick.nc"))
    if not files:
        pytest.skip("no stored velocity results")
    from spectral_collapse.studies.store import load_results

    for f in files:
        values = _legend_values(load_results(f))
        assert len(values) >= 4, (f.name, values)
