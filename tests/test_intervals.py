"""Bootstrap intervals over test crops and three-way verdicts, against scipy.stats.bootstrap and closed forms."""
import numpy as np
import pytest
import scipy.stats

from spectral_collapse.metrics.intervals import Interval, bootstrap_ci, paired_ci, three_way


def test_percentile_interval_agrees_with_scipy():
    x = np.random.default_rng(3).gamma(2.0, 1.0, size=40)
    ours = bootstrap_ci(x, n_boot=20_000, seed=1)
    ref = scipy.stats.bootstrap((x,), np.mean, n_resamples=20_000, method="percentile", confidence_level=0.95,
                                random_state=np.random.default_rng(2)).confidence_interval
    width = ref.high - ref.low
    assert ours.mean == pytest.approx(x.mean())
    assert ours.lo == pytest.approx(ref.low, abs=0.05 * width)
    assert ours.hi == pytest.approx(ref.high, abs=0.05 * width)


def test_interval_width_shrinks_like_one_over_root_n_and_follows_scale():
    rng = np.random.default_rng(0)
    small, big = rng.normal(size=50), rng.normal(size=800)
    w_small = bootstrap_ci(small).hi - bootstrap_ci(small).lo
    w_big = bootstrap_ci(big).hi - bootstrap_ci(big).lo
    assert w_small / w_big == pytest.approx(4.0, rel=0.25)  # sqrt(800 / 50)
    a, b = bootstrap_ci(small), bootstrap_ci(10 * small)  # same seed: the interval scales with the data
    assert (b.lo, b.hi) == pytest.approx((10 * a.lo, 10 * a.hi))


def test_paired_interval_drops_nan_pairs_and_ignores_a_shared_offset():
    rng = np.random.default_rng(1)
    crop = rng.normal(scale=5.0, size=30)         # crop difficulty, shared by both methods
    a, b = crop + 0.5 + rng.normal(scale=0.1, size=30), crop + rng.normal(scale=0.1, size=30)
    d = paired_ci(a, b)
    assert d.lo > 0.3 and d.hi < 0.7                # the paired design removes the crops' spread
    unpaired_width = bootstrap_ci(a).hi - bootstrap_ci(a).lo
    assert d.hi - d.lo < unpaired_width / 10
    a[3] = np.nan
    assert paired_ci(a, b).n == 29
    with pytest.raises(ValueError, match="same units"):
        paired_ci(a, b[:5])


def test_three_way_rule():
    assert three_way(Interval(0.05, 0.02, 0.08, 24), 0.01) == "holds"
    assert three_way(Interval(0.005, 0.001, 0.009, 24), 0.01) == "inconclusive"   # real but below the minimal effect
    assert three_way(Interval(0.005, -0.018, 0.031, 24), 0.01) == "inconclusive"  # interval spans zero
    assert three_way(Interval(-0.05, -0.08, -0.02, 24), 0.01) == "does not hold"
    assert three_way(Interval(-0.05, -0.08, -0.02, 24), 0.01, higher_is_claimed=False) == "holds"
    assert three_way(Interval(np.nan, np.nan, np.nan, 0), 0.01) == "inconclusive"


def test_degenerate_samples():
    assert bootstrap_ci([]).n == 0
    one = bootstrap_ci([2.0])
    assert (one.mean, one.lo, one.hi) == (2.0, 2.0, 2.0)
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci([1.0, 2.0], level=95)


def _results(values_by_method):
    import xarray as xr

    methods = list(values_by_method)
    arr = np.stack([values_by_method[m] for m in methods])  # (method, seed, sample)
    return xr.Dataset({"psnr": (("method", "seed", "sample"), arr)},
                      coords={"method": methods, "seed": [0, 1, 2], "sample": np.arange(arr.shape[2])})


def test_table_intervals_resample_crops_not_seed_copies():
    """A deterministic method's three identical seeds are one crop each, not three: its interval is that of the
    crops alone; a stochastic method's crop is its mean over seeds."""
    from spectral_collapse.framework.aggregate import crop_values, summary

    rng = np.random.default_rng(0)
    crops = rng.normal(20, 2, size=24)
    det = np.repeat(crops[None], 3, axis=0)                              # the same 24 values in every seed
    sto = crops[None] + rng.normal(0, 0.5, size=(3, 24))
    ds = _results({"ddim": det, "taba": sto})
    np.testing.assert_allclose(crop_values(ds, "psnr", "ddim"), crops, rtol=1e-14)
    np.testing.assert_allclose(crop_values(ds, "psnr", "taba"), sto.mean(0))
    s = summary(ds, ["psnr"]).set_index("method")
    ref = bootstrap_ci(crops)
    assert s.loc["ddim", "crops"] == 24
    assert (s.loc["ddim", "lo"], s.loc["ddim", "hi"]) == pytest.approx((ref.lo, ref.hi), rel=1e-12)
    pooled = bootstrap_ci(det.ravel())                                   # what counting copies would claim
    assert (ref.hi - ref.lo) > 1.5 * (pooled.hi - pooled.lo)


def test_cells_show_the_interval():
    from spectral_collapse.framework.aggregate import cell_text

    assert cell_text(0.5, np.nan, lo=0.45, hi=0.55) == "0.500 [0.450, 0.550]"
    assert cell_text(0.5, 0.01) == "0.500 ± 0.010"        # set-level metrics without crops keep the seed spread


def test_controls_are_scored_like_methods_and_a_metric_that_rewards_copying_is_flagged():
    """copy (the degraded input as given) and ground_truth (the clean crop) on the methods' metrics: the ground
    truth is its own perfect S_LF_gt, the copy its own perfect S_LF (input fidelity); a copy that beats every
    method on a metric is named."""
    import xarray as xr

    from spectral_collapse.data import load_dataset
    from spectral_collapse.tables.main_results import control_beyond, control_rows, format_summary
    from spectral_collapse.framework.controls import control_scores, scoring_settings

    d = load_dataset("ihc-sr", size=16, factor=4)
    src, gt = d.test_source[:12], d.test_target[:12]
    c = control_scores(src, gt, scoring_settings(d), sigma=0.05, crops=range(12))
    np.testing.assert_allclose(c["control_s_lf_gt"].sel(control="ground_truth").values, 1.0, atol=1e-6)
    np.testing.assert_allclose(c["control_s_lf"].sel(control="copy").values, 1.0, atol=1e-6)
    assert np.isnan(c["control_psnr"].sel(control="ground_truth").values).all()  # against itself: says nothing
    # a method that outputs the ground truth beats the copy everywhere but on input fidelity (S_LF)
    perfect = c["control_s_lf"].sel(control="ground_truth").values
    ds = xr.Dataset({"s_lf": (("method", "seed", "sample"), np.stack([[perfect] * 3])),
                     "psnr": (("method", "seed", "sample"), np.full((1, 3, 12), 40.0))},
                    coords={"method": ["oracle"], "seed": [0, 1, 2], "sample": np.arange(12)}).merge(c)
    assert control_beyond(ds, "copy", +1, ["psnr", "s_lf"]) == ["s_lf"]
    assert control_beyond(ds, "copy", +1, ["ms_ssim"]) == []  # a metric the results lack is never flagged
    table = format_summary(ds, ["psnr", "s_lf"])
    assert list(table.index) == ["oracle", "copy (control)", "ground truth (control)", "blur (control)",
                                 "colour noise (control)", "luma noise (control)"]
    assert table.loc["ground truth (control)", "psnr"] == "—"
    assert len(control_rows(ds.drop_dims("control"))) == 0


def test_two_level_interval_carries_the_spread_between_training_runs():
    """One run: the two-level bootstrap is the plain bootstrap over crops. Three runs whose crop values differ only by
    a shift between runs: the interval over runs and crops is wider than one run's interval over crops, and far
    wider when the shift is large, while a zero shift leaves it near the pooled crops' interval."""
    import numpy as np

    from spectral_collapse.metrics.intervals import bootstrap_ci
    from spectral_collapse.tables.seeds import two_level_ci

    rng = np.random.default_rng(3)
    crops = rng.normal(0.0, 1.0, 40)
    one = bootstrap_ci(crops)
    lo, hi = two_level_ci([crops])
    assert abs(lo - one.lo) < 0.08 and abs(hi - one.hi) < 0.08
    same = two_level_ci([crops, crops, crops])
    shifted = two_level_ci([crops - 2.0, crops, crops + 2.0])
    assert (shifted[1] - shifted[0]) > 3 * (same[1] - same[0])
    assert shifted[0] < -0.5 and shifted[1] > 0.5  # the runs' means (-2, 0, +2) average 0, with their spread
