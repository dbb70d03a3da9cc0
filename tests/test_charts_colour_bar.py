"""A colour bar reads at a glance: the velocity heatmaps' legend labels round values along the bar, not only its
two ends (``charts.nice_ticks``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spectral_collapse.plotting.charts import nice_ticks
from spectral_collapse.plotting.latents import velocity_heatmaps

RESULTS = Path(__file__).resolve().parents[1] / "data" / "results" / "velocity"


def _round_step(values) -> bool:
    steps = np.diff(values)
    if not np.allclose(steps, steps[0]):
        return False
    mantissa = steps[0] / 10.0 ** np.floor(np.log10(steps[0]))
    return any(np.isclose(mantissa, m) for m in (1, 2, 2.5, 5))


@pytest.mark.parametrize("lo,hi", [(-9.02, 0.13), (-8.75, 0.8), (-7.3, -2.1), (0.0, 1.0), (0.61, 1.04), (12, 950)])
def test_nice_ticks_are_four_to_six_round_values_inside_the_range(lo, hi):
    t = nice_ticks(lo, hi)
    assert 4 <= len(t) <= 6, t
    assert lo - 1e-9 <= min(t) and max(t) <= hi + 1e-9
    assert _round_step(t), t
    if lo < 0 < hi:
        assert 0.0 in t


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
