"""The realism scores read images as a PNG holds them (8 bits per channel), and their intervals carry the reference
set's sampling error: a perturbation below half a grey level leaves KID_wav unchanged, a crop scores the same from
its float tensor and from the PNG written from it, and the two-sample bootstrap interval is as wide as the spread of
KID over independent test and reference sets."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from spectral_collapse.data import load_dataset
from spectral_collapse.metrics import realism as R
from spectral_collapse.framework.controls import control_images, image_scores, scoring_settings


def _png_round_trip(x: np.ndarray) -> np.ndarray:
    """[-1, 1] crops (B, 3, H, W) written as 8-bit PNG files with PIL and read back."""
    out = []
    for img in x:
        buf = io.BytesIO()
        u8 = np.clip(np.round((np.transpose(img, (1, 2, 0)) + 1) * 127.5), 0, 255).astype(np.uint8)
        Image.fromarray(u8).save(buf, format="PNG")
        buf.seek(0)
        out.append(np.transpose(np.asarray(Image.open(buf), dtype=np.float64), (2, 0, 1)) / 127.5 - 1)
    return np.stack(out)


def test_as_saved_is_the_png_grid_and_idempotent():
    g = np.random.default_rng(0)
    x = np.clip(g.normal(0, 0.5, (3, 3, 8, 8)), -1.2, 1.2)
    q = R.as_saved(x)
    np.testing.assert_array_equal(q, _png_round_trip(x))
    np.testing.assert_array_equal(R.as_saved(q), q)
    assert np.isnan(R.as_saved(np.full((1, 3, 2, 2), np.nan))).all()


def test_a_perturbation_below_half_a_grey_level_leaves_kid_wav_unchanged():
    d = load_dataset("ihc-sr", size=32, factor=4)
    ref, truth = d.target[::6], d.test_target[:24].numpy().astype(np.float64)
    g = np.random.default_rng(1)
    nudged = truth + g.uniform(-0.45, 0.45, truth.shape) / 127.5     # under half of one 8-bit level
    assert R.kid_wav(nudged, ref) == R.kid_wav(truth, ref)
    visible = truth + g.choice([-1, 1], truth.shape) * 1.0 / 127.5     # one level: seen
    assert R.kid_wav(visible, ref) != R.kid_wav(truth, ref)


@pytest.mark.parametrize("which", ["ground_truth", "blur"])
def test_the_truth_scores_the_same_from_its_float_tensor_and_from_its_png(which):
    """The bundled truth (8-bit already) and its blurred control (float) score alike from the tensor and from
    the PNG written from it, on every realism score."""
    d = load_dataset("ihc-sr", size=32, factor=4)
    scoring = scoring_settings(d)
    src, gt = d.test_source[:16], d.test_target[:16]
    x = control_images(src, gt, sigma=0.0, crops=range(16))[which].numpy().astype(np.float64)
    a = image_scores(torch.from_numpy(x), src, gt, scoring)
    b = image_scores(torch.from_numpy(_png_round_trip(x)), src, gt, scoring)
    for k in ("delta_log_e_hf_luma", "delta_log_e_hf_chroma", "delta_log_e_hf_luma_ref", "hf_coherence",
              "wav_features", "e_hf_rgb"):
        np.testing.assert_allclose(a[k], b[k], rtol=0, atol=1e-12, err_msg=k)


def test_the_interval_carries_the_reference_sets_sampling_error():
    """Few reference crops, many test crops: most of KID's spread over independent draws of both sets comes from
    the reference. The two-sample interval is about as wide as that spread (the test-crop bootstrap alone was a
    fraction of it)."""
    g = np.random.default_rng(3)
    draw = lambda n: g.standard_t(5, size=(n, 6))     # noqa: E731  heavy-ish tails, one distribution
    kids = [R.mmd2_unbiased(draw(300), draw(25)) for _ in range(300)]
    spread = np.quantile(kids, 0.975) - np.quantile(kids, 0.025)
    widths = []
    for _ in range(10):
        iv = R.kid_interval(draw(300), draw(25), n_boot=400)
        widths.append(iv.hi - iv.lo)
    assert 0.6 * spread < np.median(widths) < 1.8 * spread
