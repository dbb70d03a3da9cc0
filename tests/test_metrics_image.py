"""Per-image PSNR / SSIM (and MS-SSIM / HaarPSI) against float64 formulas, scikit-image and piq."""
import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from spectral_collapse.metrics.image import psnr, ssim


def _pair(shape=(4, 3, 32, 32), noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    x = np.clip(rng.uniform(-1, 1, shape), -1, 1)
    return x, np.clip(x + noise * rng.standard_normal(shape), -1, 1)


def test_psnr_per_image_against_float64_formula_and_skimage():
    x, y = _pair()
    y[1] = x[1]                                  # identical image: infinite PSNR
    got = psnr(torch.from_numpy(x), torch.from_numpy(y))
    for i in (0, 2, 3):
        mse = np.mean((x[i].astype(np.float64) - y[i]) ** 2)
        assert got[i] == pytest.approx(10 * np.log10(4.0 / mse), rel=1e-12)
        # the same image in [0, 255]: PSNR is unit-free when data_range follows the unit
        assert got[i] == pytest.approx(peak_signal_noise_ratio(127.5 * (x[i] + 1), 127.5 * (y[i] + 1), data_range=255))
    assert got[1] == np.inf
    # per-image mean of PSNR differs from the PSNR of the pooled MSE
    pooled = 10 * np.log10(4.0 / np.mean((x[[0, 2, 3]] - y[[0, 2, 3]]) ** 2))
    assert got[[0, 2, 3]].mean() != pytest.approx(pooled, abs=1e-6)


def test_psnr_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        psnr(np.zeros((1, 3, 8, 8)), np.zeros((1, 1, 8, 8)))
    with pytest.raises(ValueError, match="B, C, H, W"):
        psnr(np.zeros((3, 8, 8)), np.zeros((3, 8, 8)))


def test_ssim_matches_skimage_rgb_and_gray():
    x, y = _pair(seed=1)
    got = ssim(x, y)
    for i in range(len(x)):
        assert got[i] == pytest.approx(structural_similarity(x[i], y[i], data_range=2.0, channel_axis=0), rel=1e-12)
    g = ssim(x, y, gray=True)
    w = np.array([0.299, 0.587, 0.114])
    ref = structural_similarity(np.tensordot(w, x[0], 1), np.tensordot(w, y[0], 1), data_range=2.0)
    assert g[0] == pytest.approx(ref, rel=1e-12)
    np.testing.assert_allclose(ssim(x, x), 1)


def test_ssim_mask_averages_map_over_masked_pixels():
    x, y = _pair((1, 1, 16, 16), seed=2)
    _, smap = structural_similarity(x[0, 0], y[0, 0], data_range=2.0, full=True)
    mask = np.zeros((16, 16), bool)
    mask[5:9, 4:12] = True
    assert ssim(x, y, mask=mask)[0] == pytest.approx(smap[mask].mean(), rel=1e-12)
    mask_border = np.zeros((16, 16), bool)
    mask_border[0] = True                         # only the excluded border: no value
    assert np.isnan(ssim(x, y, mask=mask_border)[0])
