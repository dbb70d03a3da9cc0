"""The ablation and seed chapters' tables and prose name each arm, model and step size one way (the reader's names)."""
from __future__ import annotations


import xarray as xr

from spectral_collapse.report.ablation_curves import factor_trend_text, verdict_metrics


def test_the_scale_verdict_says_which_metric_it_judges():
    assert verdict_metrics(("s_hf", "s_dc")) == ["s_dc"]     # the claim's rule reads S_DC alone
    assert factor_trend_text(xr.Dataset()) == ""            # no factors: nothing said
