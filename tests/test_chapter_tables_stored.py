"""The main-results, seed-spread and figures pages' tables and numbers (``tables.main_results``, ``framework.realism``,
``tables.seeds``, ``plotting.figures``) against recomputations from the raw variables of the stored results,
closed forms and small datasets whose answers are known by construction."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats
from test_charts_intervals import _stored


@pytest.fixture(scope="module")
def main():
    return _stored("main_results")


@pytest.fixture(scope="module")
def seeds():
    return _stored("seed_spread")


# ------------------------------------------------------------------------------------------ realism

def test_texture_table_rows_are_the_raw_scores_means(main):
    from spectral_collapse.framework.realism import BAND_SCORES, texture_table
    from spectral_collapse.framework.controls import CONTROLS

    t = texture_table(main)
    methods = main["method"].values.tolist()
    assert t.index.tolist() == methods + list(CONTROLS)
    truth = {}   # the band of the disjoint real crops scored as a method: mean +- one standard deviation
    for s in BAND_SCORES:
        v = main[f"real_{s}"].values.ravel()
        v = v[np.isfinite(v)]
        truth[s] = (v.mean() - v.std(ddof=1), v.mean() + v.std(ddof=1))
    for who in t.index:
        def raw(name, who=who):
            if who in methods:
                return main[name].sel({"method": who}).values
            return main[f"control_{name}"].sel(control=who).values if f"control_{name}" in main else np.array([np.nan])
        row = t.loc[who]
        assert row["luma_x"] == pytest.approx(np.exp(np.nanmean(raw("delta_log_e_hf_luma"))))
        assert row["chroma_x"] == pytest.approx(np.exp(np.nanmean(raw("delta_log_e_hf_chroma"))))
        assert row["coherence"] == pytest.approx(np.nanmean(raw("hf_coherence")))
        assert row["kid_wav"] == pytest.approx(np.nanmean(raw("kid_wav")), nan_ok=True)
        for s, col in zip(BAND_SCORES, ("luma_in_band", "chroma_in_band")):
            lo, hi = truth[s]
            assert row[col] == bool(lo <= np.nanmean(raw(s)) <= hi)


def test_truth_band_needs_two_real_values_and_the_gate_needs_a_reference():
    from spectral_collapse.framework.realism import realism_gate, truth_band

    ds = xr.Dataset({"control_x": (("control", "crop_index"), [[1.0, np.nan, np.nan], [2.0, 4.0, np.nan]])},
                    coords={"control": ["copy", "ground_truth"]})
    assert truth_band(ds, "x") == pytest.approx((3 - np.sqrt(2), 3 + np.sqrt(2)))
    assert truth_band(ds, "y") is None
    ds["control_x"][1, 1] = np.nan                      # one real value: no spread to read
    assert truth_band(ds, "x") is None
    assert realism_gate(ds).empty


# --------------------------------------------------------------------------------------------- tables

def test_smallest_norm_error_reaches_the_ks_critical_distance():
    from spectral_collapse.metrics.latent import ks_resolution
    from spectral_collapse.tables.latents import smallest_norm_error

    d = 64
    e16, e256 = smallest_norm_error(16, d), smallest_norm_error(256, d)
    u = np.linspace(stats.chi2.ppf(1e-9, d), stats.chi2.ppf(1 - 1e-9, d), 20001)
    for n, e in ((16, e16), (256, e256)):
        ks = np.max(np.abs(stats.chi2.cdf(u, d) - stats.chi2.cdf(u / (1 + e), d)))
        assert ks == pytest.approx(ks_resolution(n), rel=1e-3)
    assert 0 < e256 < e16                                 # more latents resolve a smaller norm error


def test_null_class_scale_reads_the_methods_guidance():
    from spectral_collapse.tables.main_results import null_class_scale

    ds = xr.Dataset(attrs={"methods": json.dumps([{"label": "ddim"}])})
    assert null_class_scale(ds) is None
    ds.attrs["methods"] = json.dumps([{"label": "ddim"}, {"label": "null_class", "method_params": {}}])
    assert null_class_scale(ds) == 1.0
    ds.attrs["methods"] = json.dumps([{"label": "null_class", "method_params": {"guidance_scale": 3.5}}])
    assert null_class_scale(ds) == 3.5


def test_paper_null_equals_direct_compares_the_papers_two_rows():
    from spectral_collapse.tables.main_results import paper_null_equals_direct

    def cmp(null, direct):
        return pd.DataFrame({"method": ["null_class", "null_class", "direct_inversion", "direct_inversion"],
                             "metric": ["psnr", "s_hf", "psnr", "s_hf"], "paper_mean": [*null, *direct]})

    assert paper_null_equals_direct(cmp([20.0, 0.5], [20.0, 0.5])) is True
    assert paper_null_equals_direct(cmp([20.0, 0.5], [20.0, 0.6])) is False
    assert paper_null_equals_direct(cmp([20.0, np.nan], [np.nan, 0.6])) is None     # no metric both report
    assert paper_null_equals_direct(cmp([1, 2], [1, 2]).drop(columns="paper_mean")) is None


def _translation(values: dict[str, np.ndarray], failed=None) -> xr.Dataset:
    methods = list(values)
    ds = xr.Dataset({"s_hf": (("method", "seed", "sample"), np.stack([values[m] for m in methods])),
                     "psnr": (("method", "seed", "sample"), np.stack([values[m] for m in methods]))},
                    coords={"method": methods, "seed": [0, 1], "sample": np.arange(values[methods[0]].shape[1])})
    if failed is not None:
        ds["failed"] = (("method", "seed", "sample"), failed)
    return ds


def test_failed_counts_equal_the_failed_flags():
    from spectral_collapse.tables.main_results import failed_counts

    rng = np.random.default_rng(0)
    vals = {"a": rng.random((2, 6)), "b": rng.random((2, 6))}
    assert failed_counts(_translation(vals)) == {}
    flags = np.zeros((2, 2, 6), bool)
    flags[1, 0, [1, 4]] = flags[1, 1, 2] = True
    counts = failed_counts(_translation(vals, flags))
    assert counts == {"b": (int(flags[1].sum()), flags[1].size - int(flags[1].sum()))}


def test_copy_beats_only_on_higher_is_better_metrics_with_a_copy():
    from spectral_collapse.tables.main_results import HIGHER_IS_BETTER, control_beyond

    ds = _translation({"a": np.full((2, 4), 0.2), "b": np.full((2, 4), 0.3)})
    ds["control_s_hf"] = (("control", "crop_index"), np.full((1, 4), 0.9))
    ds["control_psnr"] = (("control", "crop_index"), np.full((1, 4), 0.9))
    ds = ds.assign_coords(control=["copy"])
    assert control_beyond(ds, "copy", +1, ["s_hf", "psnr", "ks_d"]) == \
        [m for m in ("s_hf", "psnr") if m in HIGHER_IS_BETTER]
    assert control_beyond(ds.assign_coords(control=["ground_truth"]), "copy", +1, ["s_hf"]) == []


# ---------------------------------------------------------------------------------------------- figures

def test_spectrum_slopes_fit_the_latents_radial_spectra(main):
    from spectral_collapse.metrics.latent import radial_power_spectrum
    from spectral_collapse.plotting.figures import spectrum_slopes

    out = spectrum_slopes(main)
    assert set(out) == {"ddim", "ovg", "gaussian"}
    for name in ("ddim", "ovg"):
        f, pw = radial_power_spectrum(main["latents"].sel({"method": name}).isel(seed=0).values)
        p = np.asarray(pw).reshape(-1, len(f)).mean(0)
        keep = (np.asarray(f) > 0) & (p > 0)
        x, y = np.log10(np.asarray(f)[keep]), np.log10(p[keep])
        slope = stats.linregress(x, y).slope
        assert out[name] == pytest.approx((slope, y.max() - y.min()))
    assert abs(out["gaussian"][0]) < 0.2 < abs(out["ddim"][0])   # white noise has a flat spectrum
    assert spectrum_slopes(main.drop_vars("latents")) == {}
    assert spectrum_slopes(main.sel({"method": ["ddim", "taba"]})) == {}   # no OVG method stored


def test_fig4_points_average_the_main_study_without_crops():
    from spectral_collapse.plotting.figures import fig4_points

    frame = pd.DataFrame({"study": ["main"] * 6 + ["other"], "dataset": ["d"] * 7,
                          "method": ["a", "a", "a", "a", "b", "b", "a"],
                          "metric": ["s_hf", "s_hf", "s_lf", "s_dc", "s_dc", "s_hf", "s_dc"],
                          "value": [0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 9.0]})
    pts = fig4_points(type("Ev", (), {"frame": frame, "crops": None})()).set_index("method")
    assert pts.loc["a", ["s_hf", "s_lf", "s_dc"]].tolist() == pytest.approx([0.3, 0.5, 0.6])
    assert pts.loc["b", "s_dc"] == pytest.approx(0.7) and np.isnan(pts.loc["b", "s_lf"])
    assert pts.filter(like="_lo").isna().all().all()
    empty = fig4_points(type("Ev", (), {"frame": frame[frame["study"] == "other"]})())
    assert empty.empty and list(empty.columns) == ["dataset", "method", "s_hf", "s_lf", "s_dc"]


# -------------------------------------------------------------------------------------------- seed_tables

def test_two_level_ci_bounds_and_seed_arms_refusal():
    from spectral_collapse.tables.seeds import seed_arms, two_level_ci

    assert np.isnan(two_level_ci([[np.nan], []])).all()
    lo, hi = two_level_ci([np.full(5, 1.0), np.full(7, 3.0)], n_boot=400)
    assert 1.0 <= lo <= 2.0 <= hi <= 3.0
    assert two_level_ci([np.full(4, 2.5)] * 3, n_boot=50) == (2.5, 2.5)
    with pytest.raises(ValueError, match="train_seed"):
        seed_arms(xr.Dataset())


def test_claims_by_seed_agree_exactly_when_every_run_gives_one_verdict(seeds):
    from spectral_collapse.claims.compare import UNTESTABLE
    from spectral_collapse.tables.seeds import claims_by_seed

    t = claims_by_seed(seeds)
    runs = [f"seed {int(k)}" for k in seeds["train_seed"].values]
    assert [c for c in t.columns if c.startswith("seed ")] == runs and len(t)
    for _, r in t.iterrows():
        verdicts = set(r[runs])
        assert r["same"] == ("—" if verdicts == {UNTESTABLE} else "yes" if len(verdicts) == 1 else "no")


def test_outlier_runs_find_one_shifted_run_of_one_method(seeds):
    from spectral_collapse.framework.aggregate import crop_values
    from spectral_collapse.tables.seeds import outlier_runs, seed_arms

    assert outlier_runs(seeds.isel(train_seed=[0, 1]), metrics=("s_hf",)).empty   # two runs: no outlier to name
    ds = seeds.copy(deep=True)
    method, run = str(ds["method"].values[1]), int(ds["train_seed"].values[-1])
    ds["s_hf"].loc[{"method": method, "train_seed": run}] += 5.0
    t = outlier_runs(ds, metrics=("s_hf",))
    assert len(t) == 1
    row = t.iloc[0]
    assert (row["method"], row["metric"], row["training seed"]) == (method, "s_hf", run)
    means = {k: np.mean(crop_values(sub, "s_hf", method)) for k, sub in seed_arms(ds).items()}
    assert row["mean"] == pytest.approx(means[run])
    assert row["gap"] == pytest.approx(means[run] - np.mean([v for k, v in means.items() if k != run]))
    ds["s_hf"][:] = 0.5                                   # no spread between runs at all: nothing to compare against
    assert outlier_runs(ds, metrics=("s_hf",)).empty
