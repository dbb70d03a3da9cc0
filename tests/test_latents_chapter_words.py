"""The latent chapters and the metric-validation chapter say what their rows and numbers mean: the settings rows name
only what the page shows, a clamped wavelet is explained, the two chapters judging "S_DC correlates with S_G" say which
units each correlates, and tables and chart text read as words."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr


def _mv(slopes=(-0.6, -3.4), fid_status="unavailable: inception.pt not in /tmp; download failed (URLError)"):
    return xr.Dataset({"slope": ("domain", list(slopes))}, coords={"domain": ["source", "target"]},
                      attrs={"fid": "FID / KID of the stored outputs of each run against the real reference images",
                             "fid_status": fid_status,
                             "correlations": "Pearson and Spearman over one point per distinct method (its runs)"})


def test_fid_row_says_it_was_not_computed_and_why():
    from spectral_collapse.report.metric_validation import fid_text

    said = fid_text(_mv())
    assert said.startswith("not computed here: ") and ("offline" in said or "not available" in said)
    assert "URLError" not in said and "/tmp" not in said
    assert fid_text(_mv(fid_status="ok: computed")) == _mv().attrs["fid"]


@pytest.mark.parametrize("shown, absent", [(("Pearson",), "Spearman"), (("Spearman",), "Pearson")])
def test_correlations_row_names_only_the_coefficients_shown(shown, absent):
    from spectral_collapse.report.metric_validation import correlations_text

    said = correlations_text(_mv(), shown)
    assert absent not in said and said.startswith(shown[0] + " over one point")


def test_a_slope_below_the_lowest_wavelet_says_the_rule_clamps_it():
    import inspect

    from spectral_collapse.metrics.spectral import wavelet_order
    from spectral_collapse.report.metric_validation import lowest_wavelet_text

    lowest = inspect.signature(wavelet_order).parameters["min_order"].default
    said = lowest_wavelet_text(_mv(slopes=(-0.6, -3.4)))
    assert f"lowest wavelet is sym{lowest}" in said and "source slope −0.600" in said and "target" not in said
    assert lowest_wavelet_text(_mv(slopes=(-2.6, -3.4))) == ""


def test_both_correlation_chapters_name_their_units_and_the_other_chapter():
    from spectral_collapse.report.metric_validation import units_text
    from spectral_collapse.studies.registry import get_study

    mv, dec = units_text("metric_validation"), units_text("decorrelation")
    assert get_study("decorrelation").title in mv and get_study("metric_validation").title in dec
    assert "method means" in mv.split(";")[0] and "inversion runs" in dec.split(";")[0]


def test_a_table_of_records_is_shown_without_its_row_numbers():
    from spectral_collapse.studies.latent_tables import shown

    t = shown(pd.DataFrame({"method": ["ddim", "edm"], "s_g": [0.1, 0.2]}))
    assert list(t.index) == ["ddim", "edm"] and "S_G" in t.columns


def test_scatter_subtitle_says_side_by_side_in_words():
    from spectral_collapse.plotting import decorrelation

    src = open(decorrelation.__file__).read()
    assert " px apart" not in src and "side by side" in src


def test_gaussian_reference_is_capitalised_in_chart_text():
    from spectral_collapse.plotting.latents import series_name

    assert series_name("gaussian") == "Gaussian" and series_name("gaussian (reference)") == "Gaussian (reference)"
