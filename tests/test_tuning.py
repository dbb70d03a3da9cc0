"""Validation against test (studies.pareto_tuning): the chosen point's validation crops, the test crops of the same label,
their difference with a bootstrap interval, and the variant validation alone would pick."""
from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from spectral_collapse.studies.pareto_tuning import best_on_validation, scores_on_test, validation_scores, \
    validation_test_gap

ETA_HF, ETA_LF = [1e-7, 1e-6], [1e-3, 1e-2]


def _sweep(rng) -> xr.Dataset:
    """A sweep of two variants on a 2 x 2 grid over 10 validation crops, one chosen point each, and two baselines."""
    n = 10
    s_hf = rng.normal(0.8, 0.05, (2, 2, 2, n))
    failed = np.zeros((2, 2, 2, n), bool)
    failed[0, 1, 0, 3] = True                                     # one failed crop at ovg's chosen point
    chosen = np.zeros((2, 2, 2), bool)
    chosen[0, 1, 0] = chosen[1, 0, 1] = True                      # ovg at (1e-6, 1e-3), ovg_taba at (1e-7, 1e-2)
    ds = xr.Dataset({"s_hf": (("base", "eta_hf", "eta_lf", "sample"), s_hf),
                     "failed": (("base", "eta_hf", "eta_lf", "sample"), failed),
                     "chosen": (("base", "eta_hf", "eta_lf"), chosen),
                     "baseline_s_hf": (("method", "sample"), rng.normal(0.7, 0.05, (2, n))),
                     "baseline_failed": (("method", "sample"), np.zeros((2, n), bool))},
                    coords={"base": ["ovg", "ovg_taba"], "eta_hf": ETA_HF, "eta_lf": ETA_LF, "method": ["ddim", "taba"]})
    ds.attrs["choices"] = json.dumps({"ovg": {"eta_hf": 1e-6, "eta_lf": 1e-3}, "ovg_taba": {"eta_hf": 1e-7, "eta_lf": 1e-2}})
    return ds


def _main(rng, shift: float, per_base: dict) -> xr.Dataset:
    """Main results of four labels over 2 seeds x 12 crops, every score ``shift`` above a fixed level per label."""
    labels = ["ddim", "taba", "ovg", "ovg_taba"]
    v = rng.normal(0.8, 0.05, (4, 2, 12)) + shift
    ds = xr.Dataset({"s_hf": (("method", "seed", "sample"), v),
                     "failed": (("method", "seed", "sample"), np.zeros(v.shape, bool))},
                    coords={"method": labels, "seed": [0, 1]})
    ds.attrs["ovg"] = json.dumps({"eta_hf": 1e-6, "eta_lf": 1e-3, "per_base": per_base})
    return ds


RAN = {"ovg": {"eta_hf": 1e-6, "eta_lf": 1e-3}, "ovg_taba": {"eta_hf": 1e-7, "eta_lf": 1e-2}}


def test_validation_scores_are_the_chosen_points_crops_without_the_failed_ones():
    sweep = _sweep(np.random.default_rng(0))
    got = validation_scores(sweep, "ovg", "s_hf")
    expect = np.delete(sweep["s_hf"].values[0, 1, 0], 3)
    np.testing.assert_array_equal(got, expect)
    np.testing.assert_array_equal(validation_scores(sweep, "taba", "s_hf"), sweep["baseline_s_hf"].values[1])
    assert len(validation_scores(sweep, "edm", "s_hf")) == 0 and len(validation_scores(sweep, "ovg", "s_lf")) == 0


def test_scores_on_test_take_one_label_over_every_seed_and_leave_failed_crops_out():
    main = _main(np.random.default_rng(1), 0.0, RAN)
    main["failed"][2, 1, 5] = True
    got = scores_on_test(main, "ovg", "s_hf")
    assert len(got) == 23
    assert got.mean() == pytest.approx(np.delete(main["s_hf"].values[2].ravel(), 12 + 5).mean())
    assert not np.allclose(got.mean(), scores_on_test(main, "ddim", "s_hf").mean())  # another label's crops


def test_the_gap_is_the_difference_of_means_and_its_interval_finds_a_real_shift():
    rng = np.random.default_rng(2)
    sweep, main = _sweep(rng), _main(rng, 0.3, RAN)
    gap = validation_test_gap(sweep, main, metrics=("s_hf",)).set_index("method")
    assert list(gap.index) == ["ovg", "ovg_taba", "ddim", "taba"]
    for m in gap.index:
        val, test = validation_scores(sweep, m, "s_hf"), scores_on_test(main, m, "s_hf")
        assert gap.loc[m, "gap"] == pytest.approx(test.mean() - val.mean())
        assert gap.loc[m, "gap_lo"] <= gap.loc[m, "gap"] <= gap.loc[m, "gap_hi"]
        assert (gap.loc[m, "n_val"], gap.loc[m, "n_test"]) == (len(val), len(test))
    shifted = gap.loc[["ovg", "ovg_taba"], "gap_lo"]   # test sits 0.3 above validation, spread 0.05
    assert (shifted > 0.15).all()
    assert gap.loc["ovg", "step sizes"] and gap.loc["ddim", "step sizes"] == ""


def test_a_variant_run_at_other_step_sizes_than_the_sweep_chose_is_left_out():
    rng = np.random.default_rng(3)
    other = {**RAN, "ovg_taba": {"eta_hf": 1e-6, "eta_lf": 1e-2}}
    gap = validation_test_gap(_sweep(rng), _main(rng, 0.0, other), metrics=("s_hf",))
    assert "ovg_taba" not in set(gap["method"]) and "ovg" in set(gap["method"])


def test_best_on_validation_is_the_variant_with_the_best_validation_mean():
    sweep = _sweep(np.random.default_rng(4))
    sweep["s_hf"][1] += 1.0                                   # ovg_taba far above on every point
    assert best_on_validation(sweep, ["ovg", "ovg_taba"], "s_hf") == "ovg_taba"
    assert best_on_validation(sweep, ["ovg", "ovg_taba"], "s_hf", higher=False) == "ovg"
    assert best_on_validation(sweep, ["ovg_edm"], "s_hf") is None


@pytest.mark.parametrize("dataset", ["ihc-sr", "ihc-edges"])
def test_on_the_stored_results_ddims_means_are_the_two_files_own(dataset):
    """The stored sweep and main results: DDIM's validation mean is the sweep's baseline crops' mean, its test mean
    the main results' mean over seeds and crops that did not fail."""
    from spectral_collapse.framework.store import load_results, results_path

    sweep = load_results(results_path("pareto", dataset, "quick"))
    main = load_results(results_path("main_results", dataset, "quick"))
    row = validation_test_gap(sweep, main, metrics=("s_hf",)).set_index("method").loc["ddim"]
    ok = ~main["failed"].sel({"method": "ddim"})
    assert row["test"] == pytest.approx(float(main["s_hf"].sel({"method": "ddim"}).where(ok).mean()))
    assert row["validation"] == pytest.approx(float(sweep["baseline_s_hf"].sel({"method": "ddim"}).mean()))
    assert row["n_val"] == sweep.sizes["sample"]


def test_taba_structure_judges_taba_against_the_variant_best_on_validation(tmp_path):
    """The claim's best OVG variant is the one whose chosen point has the best validation S_LF in the stored sweep,
    although another variant has the best mean on the test crops."""
    from test_scorecard import main_ds, write

    from spectral_collapse.claims import paper as C
    from spectral_collapse.claims.evidence import load_evidence

    main = main_ds("ihc-sr")                 # on test, ovg_edm has the highest S_LF of the three variants
    assert float(main["s_lf"].sel({"method": "ovg_edm"}).mean()) > float(main["s_lf"].sel({"method": "ovg"}).mean())
    n = 6
    s_lf = np.full((3, 1, 1, n), 0.5)
    s_lf[0] += 0.2                           # on validation, ovg is best
    sweep = xr.Dataset({"s_lf": (("base", "eta_hf", "eta_lf", "sample"), s_lf),
                        "failed": (("base", "eta_hf", "eta_lf", "sample"), np.zeros(s_lf.shape, bool)),
                        "chosen": (("base", "eta_hf", "eta_lf"), np.ones((3, 1, 1), bool))},
                       coords={"base": ["ovg", "ovg_taba", "ovg_edm"], "eta_hf": [1e-6], "eta_lf": [1e-3]})
    sweep.attrs.update(dataset="ihc-sr", choices=json.dumps({}))
    write(tmp_path, "main_results", "ihc-sr", main)
    write(tmp_path, "pareto", "ihc-sr", sweep)
    found = next(c for c in C.CLAIMS if c.key == "taba_structure").test(load_evidence(tmp_path, "quick"))
    assert "best OVG by validation S_LF: ovg)" in found.detail and "ovg_edm" not in found.detail
    (tmp_path / "pareto" / "ihc-sr-quick.nc").unlink()   # no sweep stored: the compared means pick
    found = next(c for c in C.CLAIMS if c.key == "taba_structure").test(load_evidence(tmp_path, "quick"))
    assert "best OVG by mean S_LF: ovg_edm" in found.detail


def test_kid_wav_is_one_value_per_set_and_its_gap_has_no_interval():
    """KID_wav compares sets: the sweep holds one value per chosen point and per baseline, the main results one per
    seed; the gap is test's mean over seeds minus validation's value, with no bootstrap interval over crops."""
    rng = np.random.default_rng(4)
    sweep = _sweep(rng)
    sweep["kid_wav"] = (("base", "eta_hf", "eta_lf"), np.arange(8.0).reshape(2, 2, 2))
    sweep["baseline_kid_wav"] = ("method", [10.0, 20.0])
    main = _main(rng, 0.0, RAN)
    main["kid_wav"] = (("method", "seed"), np.array([[11.0, 13.0], [21.0, 21.0], [3.0, 5.0], [1.0, 2.0]]))
    assert validation_scores(sweep, "ovg", "kid_wav").tolist() == [2.0]            # ovg's chosen (1e-6, 1e-3)
    assert validation_scores(sweep, "taba", "kid_wav").tolist() == [20.0]
    assert scores_on_test(main, "ovg", "kid_wav").tolist() == [3.0, 5.0]
    gap = validation_test_gap(sweep, main, metrics=("kid_wav", "s_hf")).set_index(["method", "metric"])
    assert gap.loc[("ovg", "kid_wav"), "gap"] == pytest.approx(4.0 - 2.0)
    assert gap.loc[("ddim", "kid_wav"), "gap"] == pytest.approx(12.0 - 10.0)
    assert np.isnan(gap.loc[("ovg", "kid_wav"), "gap_lo"]) and np.isfinite(gap.loc[("ovg", "s_hf"), "gap_lo"])
