"""The model-quality chapter's loss charts fit their log axis to the data and title their legend; a drift that rounds
to zero has no sign."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from spectral_collapse.plotting.model_quality import fitted_log_axis, loss_chart
from spectral_collapse.studies.quality_tables import signed_percent


@pytest.mark.parametrize("lo,hi", [(0.025, 0.6), (0.14, 0.9), (0.031, 0.049), (1.7, 240.0)])
def test_the_log_axis_has_a_tick_at_or_beyond_each_end_of_the_data(lo, hi):
    (a, b), ticks = fitted_log_axis(lo, hi)
    assert a <= lo and b >= hi and len(ticks) >= 2
    assert ticks[0] <= lo and ticks[-1] >= hi       # no curve ends below the lowest tick or above the highest


def test_the_loss_chart_uses_the_fitted_axis_and_titles_its_legend():
    steps = np.arange(1, 6) * 100.0
    ds = xr.Dataset({"train_step": (("model", "t"), [steps]), "train_loss": (("model", "t"), [[0.6, 0.3, 0.1, 0.06, 0.05]]),
                     "heldout_step": (("model", "h"), [steps]),
                     "heldout_loss": (("model", "h", "band"), [[[0.5], [0.2], [0.08], [0.04], [0.026]]])},
                    coords={"model": ["m"]})
    spec = loss_chart(ds, "m").to_dict()
    y = spec["encoding"]["y"]
    assert y["scale"]["domain"][0] <= 0.026 and min(y["axis"]["values"]) <= 0.026
    assert spec["encoding"]["color"]["title"]


def test_a_drift_that_rounds_to_zero_has_no_sign():
    assert signed_percent(0.04) == signed_percent(-0.04) == signed_percent(0.0) == "0.0 %"
    assert signed_percent(0.4) == "+0.4 %" and signed_percent(-0.4).endswith("0.4 %") and signed_percent(-0.4)[0] != "+"
