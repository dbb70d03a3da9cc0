"""The texture claims read the fraction of the gap closed per score: luma / chroma detail (each crop's |error|
against the real crops' mean; reference the ground truth's own) paired over crops, and KID_wav (reference: the
ground truth's KID) from the ratio of KIDs in each draw of the two-sample bootstrap; the effect
words follow the thresholds of ``verdicts.effect``."""
import numpy as np
import pytest
import xarray as xr

from spectral_collapse.metrics import realism as rl
from spectral_collapse.verdicts.effect import FULL, NO_EFFECT, REDUCES, RESTORES, WORSENS, strength_verdict
from spectral_collapse.verdicts.words import FAILS, HOLDS
from spectral_collapse.framework.realism import detail_gap, kid_gap

SEEDS, SAMPLES = 2, 30


def _detail_ds(fraction: float, rng) -> xr.Dataset:
    """Baseline detail error about −1 per crop (crops shared by both seeds), the truth's own about −0.1, the method
    ``fraction`` of the way from the baseline to the truth on each crop (all errors negative: |.| is linear)."""
    b = -1.0 + 0.2 * rng.standard_normal(SAMPLES)
    t = -0.05 - 0.05 * np.abs(rng.standard_normal(SAMPLES))
    a = (1 - fraction) * b + fraction * t + 0.01 * rng.standard_normal(SAMPLES)
    v = np.stack([np.tile(a, (SEEDS, 1)), np.tile(b, (SEEDS, 1))])
    return xr.Dataset({"delta_log_e_hf_luma_ref": (("method", "seed", "sample"), v),
                       "control_delta_log_e_hf_luma_ref": (("control", "crop_index"), t[None]),
                       "crop": (("seed", "sample"), np.tile(np.arange(SAMPLES), (SEEDS, 1)))},
                      coords={"method": ["a", "b"], "seed": np.arange(SEEDS), "control": ["ground_truth"],
                              "crop_index": np.arange(SAMPLES)})


@pytest.mark.parametrize("fraction, word, strength", [(0.8, RESTORES, HOLDS), (0.25, REDUCES, FAILS),
                                                      (-0.3, WORSENS, FAILS)])
def test_detail_gap_gives_the_fraction_closed_and_its_word(fraction, word, strength):
    ds = _detail_ds(fraction, np.random.default_rng(1))
    g = detail_gap(ds, "delta_log_e_hf_luma_ref", "a", "b")
    assert g.lo <= fraction <= g.hi and g.n == SAMPLES
    # the point is the closed form (mean |a| − mean |b|) / (mean |truth| − mean |b|) over the crops
    a, b = (np.abs(ds["delta_log_e_hf_luma_ref"].sel({"method": m}).values).mean(0) for m in ("a", "b"))
    t = np.abs(ds["control_delta_log_e_hf_luma_ref"].values[0])
    np.testing.assert_allclose(g.fraction, (a.mean() - b.mean()) / (t.mean() - b.mean()), rtol=1e-12)
    assert g.word == word and strength_verdict(g) == strength


def test_detail_gap_counts_overshooting_the_truth_as_an_error():
    """A method whose detail lands as far above the real crops as the baseline's lies below closes nothing."""
    ds = _detail_ds(0.0, np.random.default_rng(4))
    v = ds["delta_log_e_hf_luma_ref"].values.copy()
    v[0] = -v[1]
    g = detail_gap(ds.assign(delta_log_e_hf_luma_ref=(("method", "seed", "sample"), v)),
                   "delta_log_e_hf_luma_ref", "a", "b")
    np.testing.assert_allclose(g.fraction, 0.0, atol=1e-12)
    assert g.word == NO_EFFECT and strength_verdict(g) == FAILS


def _kid_ds(rng, n: int = 40, d: int = 6) -> xr.Dataset:
    """Reference and truth from one distribution, the baseline shifted away from it; method "same" is the truth's
    own features, method "stay" the baseline's."""
    ref, truth = rng.standard_normal((300, d)), rng.standard_normal((n, d))
    base = rng.standard_normal((n, d)) + 0.8
    f = np.stack([truth, base, base + 1e-9])[:, None]   # (method, seed, sample, feature)
    return xr.Dataset({"wav_features": (("method", "seed", "sample", "feature"), f),
                       "crop": (("seed", "sample"), np.arange(n)[None]),
                       "control_wav_features": (("control", "crop_index", "feature"), truth[None]),
                       "reference_wav_features": (("reference_crop", "feature"), ref)},
                      coords={"method": ["same", "base", "stay"], "seed": [0], "control": ["ground_truth"],
                              "crop_index": np.arange(n)})


def test_kid_gap_is_the_ratio_of_kids_against_the_truths():
    ds = _kid_ds(np.random.default_rng(2))
    ref = ds["reference_wav_features"].values
    kid = {m: rl.mmd2_unbiased(ds["wav_features"].sel({"method": m, "seed": 0}).values, ref) for m in ("same", "base")}
    truth = rl.mmd2_unbiased(ds["control_wav_features"].sel(control="ground_truth").values, ref)
    full = kid_gap(ds, "same", "base")
    np.testing.assert_allclose(full.fraction, (kid["same"] - kid["base"]) / (truth - kid["base"]), rtol=1e-9)
    np.testing.assert_allclose(full.fraction, 1.0, rtol=1e-9)     # the truth's own crops close the whole gap
    assert full.lo > FULL and full.word == RESTORES and full.n == 40
    none = kid_gap(ds, "stay", "base")
    np.testing.assert_allclose([none.fraction, none.lo, none.hi], 0, atol=1e-6)   # the baseline closes none
    assert none.word == NO_EFFECT and strength_verdict(none) == FAILS


def test_kid_draws_pair_the_sets_as_the_paired_difference_does():
    rng = np.random.default_rng(3)
    ref, x, y = rng.standard_normal((80, 4)), rng.standard_normal((30, 4)), rng.standard_normal((30, 4)) + 0.5
    point, draws, n = rl.kid_draws([x, y], ref, n_boot=200, seed=0)
    d = rl.paired_kid_difference(x, y, ref, n_boot=200, seed=0)
    np.testing.assert_allclose(point, [rl.mmd2_unbiased(x, ref), rl.mmd2_unbiased(y, ref)], rtol=1e-9)
    np.testing.assert_allclose([d.lo, d.hi], np.quantile(draws[:, 0] - draws[:, 1], [0.025, 0.975]), rtol=1e-12)
    assert n == 30 and draws.shape == (200, 2)


def test_kid_read_in_float_and_at_8_bits_is_said_where_they_differ():
    """On the stored ihc-sr main results: the float features of the picked translations, rounded to 8 bits, are the
    stored ones (the same crops); OVG + TABA − TABA changes sign between the two, and the verdict says so; images
    already on the 8-bit grid give no note."""
    from pathlib import Path

    from spectral_collapse.metrics import realism as rl
    from spectral_collapse.framework import realism as R
    from spectral_collapse.framework.store import load_results

    path = Path(__file__).resolve().parents[1] / "data" / "results" / "main_results" / "ihc-sr-quick.nc"
    if not path.exists():
        pytest.skip("no stored main results")
    ds = load_results(path)
    scale = rl.FeatureScaler(ds["reference_feature_sorted"].values, ds["reference_feature_keep"].values.astype(bool))
    picks = R._picks(ds, "taba")
    imgs = np.stack([ds["images"].sel({"method": "taba", "seed": s}).values[k] for s, k in picks.values()])
    stored = np.stack([ds["wav_features"].sel({"method": "taba", "seed": s}).values[k] for s, k in picks.values()])
    wavelet = ds.attrs["wavelet"]
    np.testing.assert_allclose(scale(rl.wavelet_features(rl.as_saved(imgs), wavelet, saved=False)), stored, atol=1e-9)
    fa, fb = (R._float_features(ds, m) for m in ("ovg_taba", "taba"))
    shared = sorted(set(fa) & set(fb))
    d8 = rl.paired_kid_difference(*(np.stack([R._per_crop_features(ds, m)[c] for c in shared])
                                    for m in ("ovg_taba", "taba")), ds["reference_wav_features"].values,
                                  n_boot=R.N_BOOT, seed=0)
    df = rl.paired_kid_difference(np.stack([fa[c] for c in shared]), np.stack([fb[c] for c in shared]),
                                  ds["reference_wav_features"].values, n_boot=R.N_BOOT, seed=0)
    note = R.kid_precision(ds, "ovg_taba", "taba", d8)
    assert np.sign(df.mean) != np.sign(d8.mean) and note.endswith(f"{R.KID_PRECISION} in sign")
    assert f"in float {df.mean:+.3g} [{df.lo:+.3g}, {df.hi:+.3g}]" in note
    rounded = ds.assign(images=ds["images"].copy(data=rl.as_saved(ds["images"].values.reshape(
        -1, *ds["images"].shape[-3:])).reshape(ds["images"].shape)))
    assert R.kid_precision(rounded, "ovg_taba", "taba", d8) == ""


def test_kid_no_worse_holds_for_equal_or_better_crops_and_fails_past_the_margin(monkeypatch):
    """Non-inferiority on KID_wav: the baseline's own crops (difference 0) and the truth's crops are no worse than
    the baseline; the baseline is worse than the truth's crops, whose gap to the truth is 0, so its margin is 0; where
    KID_wav fails the realism gate nothing is read."""
    import pandas as pd
    from spectral_collapse.framework import realism as R

    ds = _kid_ds(np.random.default_rng(5))
    monkeypatch.setattr(R, "realism_gate", lambda ds: pd.DataFrame({"score": ["kid_wav"], "passes": [True]}))
    assert R.kid_no_worse(ds, "stay", "base", 0.1)[0] == HOLDS
    assert R.kid_no_worse(ds, "same", "base", 0.1)[0] == HOLDS
    verdict, text, gap = R.kid_no_worse(ds, "base", "same", 0.1)
    assert verdict == FAILS and "margin 0 " in text
    same = R.kid_gap(ds, "same", "base")   # the gap read from the same bootstrap draws as kid_gap's
    assert R.kid_no_worse(ds, "same", "base", 0.1)[2].fraction == pytest.approx(same.fraction, rel=1e-12)
    monkeypatch.setattr(R, "realism_gate", lambda ds: pd.DataFrame({"score": ["kid_wav"], "passes": [False]}))
    assert R.kid_no_worse(ds, "same", "base", 0.1)[0] == "inconclusive"
