"""The realism scores refuse what they cannot score (one shared input check, ``metrics.checks``): each case a user
can hand them ends in an error naming the argument and what it must be, or, for a crop holding NaN or inf, in a
score over the other crops (a set score, with a warning) or NaN for that crop alone (a per-image score), never in a
silent number or numpy's "invalid value"."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from probes import probe
from spectral_collapse.metrics import realism as R


def _crops(n=16, size=32, seed=0):
    """RGB crops in [-1, 1]: a grey texture plus a little independent colour."""
    g = np.random.default_rng(seed)
    return np.clip(g.normal(0, 0.3, (n, 1, size, size)) + g.normal(0, 0.05, (n, 3, size, size)), -1, 1)


IMAGES, REFERENCE = _crops(seed=1), _crops(seed=2)


@pytest.fixture(autouse=True)
def _numpy_warnings_fail():
    """numpy's "invalid value" / "divide by zero" warnings are failures here: a bad input must not reach them."""
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


def _kid_without(images, reference, drop):
    keep = np.ones(len(images), bool)
    keep[drop] = False
    return R.kid_wav(images[keep], reference)


@probe("silent", "`kid_wav` with one NaN crop out of 16 (it returned NaN)",
       "the crop is left out with a warning naming it, and KID is that of the other 15")
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_kid_wav_leaves_out_a_non_finite_crop_with_a_warning(value):
    bad = IMAGES.copy()
    bad[3, 1, 4, 4] = value
    with pytest.warns(RuntimeWarning, match=r"images: left out 1 of 16 crops .*index 3"):
        k = R.kid_wav(bad, REFERENCE)
    assert np.isfinite(k) and k == pytest.approx(_kid_without(IMAGES, REFERENCE, [3]), rel=1e-12)


@probe("silent", "`kid_wav` against constant reference crops (it returned -9e83)",
       "refused: the reference needs at least 2 crops with texture, naming how many are flat")
def test_kid_wav_refuses_flat_reference_crops():
    flat = np.ones_like(REFERENCE) * np.linspace(-0.5, 0.5, len(REFERENCE))[:, None, None, None]
    with pytest.raises(ValueError, match=r"reference needs at least 2 crops with texture, got 0 of 16"):
        R.kid_wav(IMAGES, flat)
    with pytest.raises(ValueError, match=r"reference needs at least 2 crops with texture"):
        R.delta_log_e_hf_luma(IMAGES, reference=np.zeros_like(REFERENCE))


@probe("silent", "`kid_wav` of 64-px crops against a 32-px reference (it returned 0.38)",
       "refused naming both crop sizes and saying to crop or resize both to one size")
def test_kid_wav_refuses_crops_of_another_size_than_the_reference():
    with pytest.raises(ValueError, match=r"images are 64 x 64 px but reference crops 32 x 32 px"):
        R.kid_wav(_crops(size=64), REFERENCE)
    with pytest.raises(ValueError, match=r"images are 64 x 64 px but reference crops 32 x 32 px"):
        R.delta_log_e_hf_chroma(_crops(size=64), reference=REFERENCE)


@probe("silent", "`kid_wav` given uint8 crops in 0..255 (it returned 1.5e17)",
       "refused naming the dtype and the conversion to [-1, 1]")
def test_kid_wav_refuses_uint8_images_with_the_conversion():
    as_uint8 = ((IMAGES + 1) * 127.5).round().astype(np.uint8)
    with pytest.raises(TypeError, match=r"images are uint8, not float images in \[-1, 1\]; pass x / 127.5 - 1"):
        R.kid_wav(as_uint8, REFERENCE)
    with pytest.raises(TypeError, match=r"reference are torch.uint8"):
        R.kid_wav(IMAGES, torch.from_numpy(as_uint8))
    with pytest.raises(ValueError, match=r"images reach \|x\| = 255.*pass x / 127.5 - 1"):
        R.kid_wav(as_uint8.astype(np.float32), REFERENCE)


@probe("silent", "`kid_wav` and the luma / chroma errors of crops times 1e30 (KID 1e180)",
       "refused naming the largest value and the range [-1, 1], with the conversions")
@pytest.mark.parametrize("score", ["kid_wav", "luma", "chroma"])
def test_scores_refuse_values_far_outside_minus_one_to_one(score):
    call = {"kid_wav": lambda x: R.kid_wav(x, REFERENCE), "luma": lambda x: R.delta_log_e_hf_luma(x, IMAGES),
            "chroma": lambda x: R.delta_log_e_hf_chroma(x, IMAGES)}[score]
    with pytest.raises(ValueError, match=r"images reach \|x\| = 1e\+30, outside the range \[-1, 1\]"):
        call(IMAGES * 1e30)
    call(np.clip(IMAGES * 1.5, -1.5, 1.5))   # a little overshoot, as noise or sharpening give, is scored


@probe("silent", "the luma / chroma errors given a paired truth of another shape",
       "refused naming both shapes")
@pytest.mark.parametrize("score", [R.delta_log_e_hf_luma, R.delta_log_e_hf_chroma])
def test_paired_truth_of_another_shape_is_refused(score):
    with pytest.raises(ValueError, match=r"truth must hold one crop of the images' shape.*\(16, 3, 64, 64\)"):
        score(IMAGES, _crops(size=64))
    with pytest.raises(ValueError, match=r"truth must hold one crop of the images' shape.*\(15, 3, 32, 32\)"):
        score(IMAGES, IMAGES[:15])


@probe("silent", "`hf_coherence` of 4-channel (RGBA) crops (NaN, where the other scores raised)",
       "refused like every realism score, naming the channels and `x[:, :3]`")
@pytest.mark.parametrize("score", ["hf_coherence", "wavelet_features", "kid_wav", "luma"])
def test_four_channel_crops_are_refused_by_every_score(score):
    rgba = np.concatenate([IMAGES, np.ones_like(IMAGES[:, :1])], axis=1)
    call = {"hf_coherence": R.hf_coherence, "wavelet_features": R.wavelet_features,
            "kid_wav": lambda x: R.kid_wav(x, REFERENCE), "luma": lambda x: R.delta_log_e_hf_luma(x, x)}[score]
    with pytest.raises(ValueError, match=r"images must have 1 \(grey\) or 3 \(RGB\) channels, got 4.*x\[:, :3\]"):
        call(rgba)


@probe("unclear", "the realism scores given 0 crops (\"cannot reshape array of size 0\")",
       "refused saying the images hold 0 crops")
@pytest.mark.parametrize("score", ["kid_wav", "wavelet_features", "hf_coherence", "luma"])
def test_zero_crops_are_refused_in_words(score):
    call = {"hf_coherence": R.hf_coherence, "wavelet_features": R.wavelet_features,
            "kid_wav": lambda x: R.kid_wav(x, REFERENCE), "luma": lambda x: R.delta_log_e_hf_luma(x, x)}[score]
    with pytest.raises(ValueError, match=r"images hold 0 crops"):
        call(IMAGES[:0])


@probe("unclear", "`kid_wav` with a NaN or inf in the reference (numpy's \"invalid value\")",
       "refused naming the reference crops that hold them")
@pytest.mark.parametrize("value", [np.nan, -np.inf])
def test_a_non_finite_reference_is_refused_naming_its_crops(value):
    ref = REFERENCE.copy()
    ref[5, 2, 0, 0] = value
    with pytest.raises(ValueError, match=r"reference holds non-finite values \(NaN or inf\) in 1 of 16 crops "
                                         r"\(index 5\)"):
        R.kid_wav(IMAGES, ref)
    features = R.wavelet_features(REFERENCE)
    features[5, 0] = value
    with pytest.raises(ValueError, match=r"reference features hold non-finite values in 1 of 16 crops"):
        R.kid_interval(R.wavelet_features(IMAGES), features, n_boot=10)


@probe("unclear", "an inf pixel in the crops of a per-image score (numpy's \"invalid value\")",
       "that crop scores NaN (a feature row holding NaN) and the others keep their values, without a numpy warning")
@pytest.mark.parametrize("score", ["hf_coherence", "luma", "chroma", "wavelet_features"])
def test_an_inf_pixel_scores_nan_for_its_crop_alone(score):
    call = {"hf_coherence": R.hf_coherence, "wavelet_features": R.wavelet_features,
            "luma": lambda x: R.delta_log_e_hf_luma(x, IMAGES),
            "chroma": lambda x: R.delta_log_e_hf_chroma(x, IMAGES)}[score]
    bad = IMAGES.copy()
    bad[2, 0, 7, 7] = np.inf
    got, whole = call(bad), call(IMAGES)
    assert np.isnan(got[2]).any()                  # a feature row with a NaN: the KID leaves that crop out
    np.testing.assert_array_equal(np.delete(got, 2, axis=0), np.delete(whole, 2, axis=0))


def test_features_of_another_width_than_the_reference_are_refused():
    ref = R.wavelet_features(REFERENCE)
    with pytest.raises(ValueError, match=rf"features must be features of shape \(crops, {ref.shape[1]}\)"):
        R.kid_interval(ref[:, :10], ref, n_boot=10)
    with pytest.raises(ValueError, match=r"reference must be features of shape \(crops, features\) with at least 2"):
        R.paired_kid_difference(ref, ref, ref[:1], n_boot=10)


@probe("silent", "[0, 1] images given to the scores (KID 30.8 instead of 0.020, the luma error -1.40 instead of "
                 "-0.02)",
       "a warning that the images lie in [0, 1] while the reference (or truth) has values below 0, naming "
       "2 * x - 1; [-1, 1] images and bright ones are not warned about")
def test_zero_to_one_images_are_warned_about_against_a_reference_below_zero():
    zero_one = (IMAGES + 1) / 2
    with pytest.warns(RuntimeWarning, match=r"^images lie in \[0, 1\] while \d+ % of the reference's values lie "
                                            r"below 0.*pass 2 \* x - 1"):
        R.kid_wav(zero_one, REFERENCE)
    with pytest.warns(RuntimeWarning, match=r"^images lie in \[0, 1\] while \d+ % of the paired truth's"):
        R.delta_log_e_hf_luma(zero_one, IMAGES)
    R.kid_wav(IMAGES, REFERENCE)                                    # no warning (warnings are errors here)
    bright = np.clip(0.9 + 0.05 * IMAGES, -1, 1)                    # a whitened output, truly in [-1, 1]
    R.delta_log_e_hf_luma(bright, IMAGES)


@probe("unclear", "a channel-last batch (B, H, W, 3) (told to drop an alpha channel with x[:, :3], which gave "
                  "meaningless finite scores)",
       "refused as channel-last, naming np.moveaxis(x, -1, 1); x[:, :3] of it (3 px wide crops) is refused too, "
       "naming the same fix")
@pytest.mark.parametrize("score", [lambda x: R.kid_wav(x, REFERENCE), R.hf_coherence,
                                   lambda x: R.delta_log_e_hf_chroma(x, reference=REFERENCE)])
def test_channel_last_images_are_refused_naming_moveaxis(score):
    last = np.moveaxis(IMAGES, 1, -1)
    with pytest.raises(ValueError, match=r"^images look channel-last \(B, H, W, C\) = \(16, 32, 32, 3\).*"
                                         r"np\.moveaxis\(x, -1, 1\)"):
        score(last)
    with pytest.raises(ValueError, match=r"^images are 32 x 3 px crops \(shape \(16, 3, 32, 3\)\), as a channel-last "
                                         r"batch cut with x\[:, :3\] gives; pass np\.moveaxis\(x, -1, 1\)"):
        score(last[:, :3])


@probe("silent", "two crops scored against themselves by `kid_wav` (KID -1.13, no word)",
       "a warning that the images are also reference crops, so KID is biased below 0 and measures nothing")
def test_kid_of_crops_against_themselves_is_warned_about():
    with pytest.warns(RuntimeWarning, match=r"^2 of the 2 images are also reference crops"):
        assert R.kid_wav(IMAGES[:2], IMAGES[:2]) < 0
    R.kid_wav(IMAGES[:2], REFERENCE)                                # disjoint: no warning


@probe("unclear", "complex images given to the scores (numpy's ComplexWarning only)",
       "refused naming the dtype and x.real")
@pytest.mark.parametrize("score", [lambda x: R.kid_wav(x, REFERENCE), R.hf_coherence, R.hf_energy_luma_chroma])
def test_complex_images_are_refused(score):
    with pytest.raises(TypeError, match=r"^images are complex128, not real images; pass x\.real"):
        score(IMAGES.astype(np.complex128))


@probe("silent", "4-px crops given to the scores (a value, although the wavelet level is 0)",
       "refused naming the crop size, the wavelet and the size it needs; wavelet='haar' scores them")
@pytest.mark.parametrize("score", ["kid", "coherence", "luma", "energy"])
def test_crops_too_small_for_one_wavelet_level_are_refused(score):
    x, ref = _crops(size=4, seed=1), _crops(size=4, seed=2)
    run = {"kid": lambda w: R.kid_wav(x, ref, wavelet=w), "coherence": lambda w: R.hf_coherence(x, w),
           "luma": lambda w: R.delta_log_e_hf_luma(x, reference=ref, wavelet=w),
           "energy": lambda w: R.hf_energy_rgb(x, w)}[score]
    with pytest.raises(ValueError, match=r"^images are 4 x 4 px, too small for one level of the sym4 wavelet \(it "
                                         r"needs at least 14 x 14 px\)"):
        run("sym4")
    assert np.all(np.isfinite(run("haar")))
