"""The latent chapters and the metric-validation chapter say what their rows, numbers and verdicts mean: the settings
rows name only what the page shows, a clamped wavelet is explained, the two chapters judging "S_DC correlates with
S_G" say which units each correlates, step counts and tables read as words, and a claim with several checks states
its overall verdict."""
from __future__ import annotations

import re

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


def test_decorrelation_overview_writes_steps_in_words_and_says_the_latents_differ():
    from spectral_collapse.report.latent_columns import decorrelation_overview

    ds = xr.Dataset(coords={"latent": np.arange(8), "run": np.arange(3)},
                    attrs={"dataset": "d", "profile": "p", "steps_grid": [10, 25, 50], "n_run": 4})
    said = decorrelation_overview(ds)
    assert "10, 25 and 50 steps" in said and "[" not in said and "different latents" in said
    assert "White noise" not in said                                   # no latents to count channels of
    from spectral_collapse.metrics.latent import white_noise_s_dc

    said = decorrelation_overview(ds.assign_coords(channel=np.arange(4)))
    assert f"S_DC = {white_noise_s_dc(4):.3f} on these 4-channel latents" in said


def test_a_table_of_records_is_shown_without_its_row_numbers():
    from spectral_collapse.report.latent_columns import shown

    t = shown(pd.DataFrame({"method": ["ddim", "edm"], "s_g": [0.1, 0.2]}))
    assert list(t.index) == ["ddim", "edm"] and "S_G" in t.columns


def test_scatter_subtitle_says_side_by_side_in_words():
    from spectral_collapse.plotting import latents

    src = open(latents.__file__).read()
    assert " px apart" not in src and "side by side" in src


def test_judged_interval_has_one_precision_keeps_tiny_signs_and_no_plus():
    from spectral_collapse.metrics.intervals import Interval
    from spectral_collapse.report.latents import judged_text

    said = judged_text("S_G a − b", Interval(-0.00013, -0.00013, -0.00001, 128), 0.05, higher=False)
    nums = re.findall(r"[−+]?\d+\.\d+", said.split(" over ")[0])
    assert {len(n.split(".")[1]) for n in nums if n != "0.0005"} == {3}
    assert "−0.000 [−0.000, −0.000]" in said and "0.0005" in said
    assert "+" not in judged_text("x", Interval(0.2, 0.1, 0.3, 9), 0.05, higher=True)


@pytest.mark.parametrize("parts, end", [(["holds", "holds"], "holds"), (["holds", "does not hold"], "does not hold"),
                                        (["holds", "inconclusive"], "inconclusive")])
def test_a_claim_holds_only_when_all_its_checks_hold(parts, end):
    from spectral_collapse.report.latent_columns import overall

    assert overall(parts) == end


def test_gaussian_reference_is_capitalised_in_chart_text():
    from spectral_collapse.plotting.latents import series_name

    assert series_name("gaussian") == "Gaussian" and series_name("gaussian (reference)") == "Gaussian (reference)"


def test_metric_validation_overview_says_what_each_image_count_counts():
    from spectral_collapse.report.latents import overview

    ds = xr.Dataset(coords={"held_out": np.arange(5), "point": np.arange(7)},
                    attrs={"study": "metric_validation", "dataset": "d", "profile": "p", "wavelet": "sym3",
                           "mu_hf": 1.0, "s_hf_unit": "uint8", "n_reference": 40})
    said = overview(ds)
    assert "40 real images (the reference pool)" in said and "5 held-out real images filtered" in said
