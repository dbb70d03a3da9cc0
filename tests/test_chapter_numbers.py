"""The numbers the main-results, Pareto, metric-validation and model-quality chapters glue into their prose, checked
on small datasets whose answers are known by construction."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from test_pareto import synthetic_sweep


def _translation(means: dict[str, float], copy: float, truth: float, n: int = 12) -> xr.Dataset:
    """A main-results-like dataset: S_LF constant per method over 3 seeds x n crops, and the copy and ground-truth
    controls at constant values."""
    methods = list(means)
    values = np.stack([np.full((3, n), means[m]) for m in methods])
    return xr.Dataset({"s_lf": (("method", "seed", "sample"), values),
                       "control_s_lf": (("control", "crop_index"), [np.full(n, copy), np.full(n, truth)])},
                      coords={"method": methods, "seed": [0, 1, 2], "sample": np.arange(n),
                              "control": ["copy", "ground_truth"], "crop_index": np.arange(n)})


def test_copy_and_ground_truth_against_every_method():
    from spectral_collapse.tables.main_results import control_beyond

    ds = _translation({"a": 0.6, "b": 0.7}, copy=0.9, truth=0.5)
    assert control_beyond(ds, "copy", +1, ["s_lf"]) == ["s_lf"]
    assert control_beyond(ds, "ground_truth", -1, ["s_lf"]) == ["s_lf"]
    ds = _translation({"a": 0.6, "b": 0.95}, copy=0.9, truth=0.65)      # b beats the copy, a is below the truth
    assert control_beyond(ds, "copy", +1, ["s_lf"]) == []
    assert control_beyond(ds, "ground_truth", -1, ["s_lf"]) == []
    assert control_beyond(ds.drop_dims("control"), "ground_truth", -1, ["s_lf"]) == []


def test_the_papers_null_class_row_equals_its_direct_inversion_row_or_not():
    from spectral_collapse.tables.main_results import paper_null_equals_direct

    def cmp(null_psnr):
        rows = [("null_class", "psnr", null_psnr), ("direct_inversion", "psnr", 20.0),
                ("null_class", "s_hf", 0.5), ("direct_inversion", "s_hf", 0.5)]
        return pd.DataFrame(rows, columns=["method", "metric", "paper_mean"])

    assert paper_null_equals_direct(cmp(20.0)) is True
    assert paper_null_equals_direct(cmp(21.0)) is False
    assert paper_null_equals_direct(cmp(20.0).query("method != 'null_class'")) is None


def test_null_class_runs_at_its_own_guidance_scale_else_one():
    from spectral_collapse.tables.main_results import null_class_scale

    ds = xr.Dataset(attrs={"methods": json.dumps([{"label": "null_class", "method_params": {}}])})
    assert null_class_scale(ds) == 1.0
    ds.attrs["methods"] = json.dumps([{"label": "null_class", "method_params": {"guidance_scale": 7.5}}])
    assert null_class_scale(ds) == 7.5
    ds.attrs["methods"] = json.dumps([{"label": "ddim"}])
    assert null_class_scale(ds) is None


def test_the_front_counts_name_the_variants_on_it_and_the_dominated_baselines():
    from spectral_collapse.studies.pareto import choices_table, front_counts

    good = synthetic_sweep([(0.3, 0.3), (0.2, 0.4), (0.9, 0.9), (0.1, 0.1)], {"ddim": (0.5, 0.5), "taba": (0.95, 0.2)})
    f = front_counts(good)
    assert f["holds"] and f["front_ovg"] == 1 and f["front_bases"] == ["ovg"] and f["off_bases"] == []
    assert f["front_baselines"] == 1 and f["dominated"] == ["ddim"]
    assert f["best_hf"] == ("taba", pytest.approx(0.95)) and f["best_lf"] == ("ddim", pytest.approx(0.5))
    assert f["choice"]["s_hf"] == pytest.approx(0.9)
    bad = synthetic_sweep([(0.3, 0.3), (0.2, 0.4), (0.4, 0.2), (0.1, 0.1)], {"ddim": (0.5, 0.9)})
    f = front_counts(bad)
    assert not f["holds"] and f["front_ovg"] == 0 and f["off_bases"] == ["ovg"] and f["dominated"] == []
    # the chosen point (eta_HF 1e-5, eta_LF 1e-3 on the 2 x 2 grid) lies on the largest eta_HF and smallest eta_LF
    table = choices_table(good)
    assert table.loc["OVG", "on the grid's edge"] == "eta_HF largest, eta_LF smallest"
    unscored = synthetic_sweep([(0.3, 0.3), (0.2, 0.4), (0.4, 0.2), (0.1, 0.1)],
                               {"ddim": (float("nan"), float("nan"))})
    f = front_counts(unscored)      # a baseline whose every sample failed has no best score, and no error
    assert f["best_hf"] is None and f["best_lf"] is None


def test_the_filter_changes_are_differences_of_the_table_values():
    from spectral_collapse.studies.metric_validation import filter_changes, filter_table

    kappa = [0.1, 0.5]
    held = np.array([[[0.40, 0.42], [0.95, 0.97]], [[0.90, 0.92], [0.93, 0.95]]])  # filter x kappa x held_out
    ds = xr.Dataset({"filtered_s_hf": (("filter", "kappa", "held_out"), held),
                     "unfiltered_s_hf": (("held_out",), [0.96, 0.98])},
                    coords={"filter": ["lowpass", "highpass"], "kappa": kappa, "held_out": [0, 1]})
    change = filter_changes(ds)
    assert change["unfiltered"] == pytest.approx(0.97)
    assert change["lf_moved"] == pytest.approx(0.97 - 0.91)      # high-pass: means 0.91, 0.94
    assert change["hf_fell"] == pytest.approx(0.97 - 0.41)       # low-pass: means 0.41, 0.96
    table = filter_table(ds)
    assert table.iloc[0].tolist() == pytest.approx([0.97, 0.97])
    assert table.loc[0.1, "low-pass (HF removed)"] == pytest.approx(0.41)


def test_a_method_correlation_is_pearsons_over_distinct_methods():
    from scipy import stats

    from spectral_collapse.studies.metric_validation import method_correlation

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=6), rng.normal(size=6)
    methods = [f"m{i}" for i in range(6)]
    pts = np.array([[x, y] for x, y in zip(a, b) for _ in range(2)])       # two seeds, same values
    ds = xr.Dataset({"points": (("point", "metric"), pts), "point_method": (("point",), np.repeat(methods, 2)),
                     "point_seed": (("point",), np.tile([0, 1], 6))},
                    coords={"metric": ["s_dc", "s_g"]})
    r, lo, hi, n = method_correlation(ds, "s_dc", "s_g")
    assert n == 6 and r == pytest.approx(stats.pearsonr(a, b)[0]) and lo < r < hi
    assert np.isnan(method_correlation(ds, "s_dc", "psnr")[0])          # a metric these results do not hold


def test_the_vp_noise_levels_come_from_the_schedule():
    from spectral_collapse.models.schedules import VPSchedule, ddim_sigmas
    from spectral_collapse.tables.quality import vp_noise_levels

    v = vp_noise_levels(20)
    start = float(ddim_sigmas(VPSchedule(), 20)[0])
    assert v["start"] == pytest.approx(start) and v["end"] == pytest.approx(VPSchedule().sigma_max())
    assert v["signal"] == pytest.approx(1 / np.sqrt(1 + start ** 2)) and v["start"] <= v["end"]


def test_the_brightness_spread_is_the_crops_channel_means_spread():
    from spectral_collapse.tables.quality import brightness_spread

    rng = np.random.default_rng(1)
    real = rng.normal(size=(1, 2, 5, 3, 4, 4))                         # model, label, image, channel, y, x
    ds = xr.Dataset({"real": (("model", "label", "image", "channel", "y", "x"), real)},
                    coords={"model": ["m"]}, attrs={"models": json.dumps({"m": {"parameterization": "eps"}})})
    sd = real.mean((-2, -1)).std(2, ddof=1)
    assert brightness_spread(ds) == pytest.approx((sd.min(), sd.max(), 16))
    ds.attrs["models"] = json.dumps({"m": {"parameterization": "edm"}})  # not a VP model: nothing to measure
    assert brightness_spread(ds) is None


def test_the_gate_lists_split_the_models_by_their_stored_verdicts():
    from pathlib import Path

    from spectral_collapse.tables.quality import gate_lists, models_table
    from spectral_collapse.framework.store import load_results

    path = Path(__file__).resolve().parents[1] / "data" / "results" / "model_quality" / "ihc-sr-quick.nc"
    if not path.exists():
        pytest.skip("no stored model-quality results")
    ds = load_results(path)
    g = gate_lists(ds)
    passed = ds["passed"].to_series()
    assert g["passing"] == [k for k, v in passed.items() if v]
    assert list(g["failing"]) == [k for k, v in passed.items() if not v]
    assert sorted(g["kept"] + g["refused"]) == sorted(g["failing"])
    assert models_table(ds)["gate"].tolist() == ["passes" if v else "fails" for v in passed.values]


def test_the_loss_weighting_follows_the_training_configuration():
    from spectral_collapse.tables.quality import _weighting

    assert _weighting("eps", {"truncated_snr": True}) == "max(1, σ²)"
    assert _weighting("x0", {"truncated_snr": True}) == "max(1, 1/σ²)"
    assert _weighting("eps", {"min_snr_gamma": 5.0}) == "min-SNR, γ = 5"
    assert _weighting("edm", {}) == "none"
