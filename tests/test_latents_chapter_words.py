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
