"""The latent and metric-validation chapters' prose: the χ² facts stated right, the numbers in the prose computed
from the values as the tables show them, and no storage talk where a reader reads it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]


def _markdown(notebook: str) -> str:
    nb = json.loads((ROOT / "notebooks" / notebook).read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_the_gaussianity_intro_gives_chi2_its_own_mean_and_sd_and_u_its_own():
    text = _markdown("gaussianity.ipynb")
    assert "(mean 1, sd √(2/d))" not in text           # those are u's, not χ²(d)'s
    assert "mean d and sd √(2d)" in text and "u has mean 1 and sd √(2/d)" in text
    assert "N(0, I_d)" not in text                       # I_d typeset


def test_a_zero_interval_bound_carries_no_sign():
    from spectral_collapse.text import unsigned_zero   # what the chapter's claims text goes through

    assert unsigned_zero("−0.9 [−2.0, +0.0] and [−0.0, 1.5]") == "−0.9 [−2.0, 0.0] and [0.0, 1.5]"
    assert unsigned_zero("[−0.05, +0.01]") == "[−0.05, +0.01]"


def _mv(high, base=0.974) -> xr.Dataset:
    return xr.Dataset({"slope": ("domain", [-2.668, -0.597]),
                       "filtered_s_hf": (("filter", "kappa", "held_out"),
                                         np.array([[[0.5, 0.5]] * len(high), [[v, v] for v in high]])),
                       "unfiltered_s_hf": ("held_out", [base, base])},
                      coords={"domain": ["target", "source"], "filter": ["lowpass", "highpass"],
                              "kappa": list(range(len(high)))},
                      attrs={"wavelet": "sym3"})


def test_the_largest_change_is_the_difference_of_the_values_as_shown():
    from spectral_collapse.report.metric_validation import metric_validation_verdict

    # 0.9736 and 0.9074 show as 0.974 and 0.907: the prose's change is 0.067, where the unrounded one is 0.0662
    said = metric_validation_verdict(_mv([0.9074, 0.97], base=0.9736))
    shown = round(round(0.9736, 3) - round(0.9074, 3), 3)
    assert round(0.9736 - 0.9074, 3) != shown
    assert f"largest change here is {shown:.3f}" in said


def test_the_verdict_names_each_slope_by_its_domain():
    from spectral_collapse.report.metric_validation import metric_validation_verdict

    said = metric_validation_verdict(_mv([0.9, 0.97]))
    assert "target slope −2.668 (sym3)" in said and "source slope −0.597 (sym2)" in said
    assert "sym⌈|slope|⌉ it picks being" not in said


def test_the_runs_add_up_as_methods_times_seeds():
    from spectral_collapse.report.metric_validation import runs_text

    methods = ["ddim", "taba", "edm", "ovg"]
    pts = np.arange(12 * 2, dtype=float).reshape(12, 2)
    ds = xr.Dataset({"points": (("point", "metric"), pts), "point_method": ("point", np.repeat(methods, 3)),
                     "point_seed": ("point", np.tile([0, 1, 2], 4))}, coords={"metric": ["s_hf", "s_dc"]})
    text = runs_text(ds)
    assert text.startswith("12 runs of the main results (4 methods × 3 seeds")


def test_the_image_metrics_are_described_without_storage_talk():
    from spectral_collapse.report.metric_validation import pixel_scale, plain_outputs

    stored = ("on the 8 stored outputs of the first seed's run of each method against their ground truth (the only "
              "seed whose ground truth the main results store)")
    assert "stored" not in plain_outputs(stored) and "8 output images" in plain_outputs(stored)
    assert pixel_scale("uint8") == "on the 0–255 pixel scale"


@pytest.mark.parametrize("notebook", ["model_quality.ipynb"])
def test_the_plateau_rule_reads_as_the_gate_table_writes_it(notebook):
    from spectral_collapse.studies.quality import THRESHOLDS

    text = _markdown(notebook)
    assert "2 % or more" not in text and f"below {THRESHOLDS['plateau']:g}" in text
