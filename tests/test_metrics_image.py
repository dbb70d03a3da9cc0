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


def test_ssim_matches_skimage():
    x, y = _pair(seed=1)
    got = ssim(x, y)
    for i in range(len(x)):
        assert got[i] == pytest.approx(structural_similarity(x[i], y[i], data_range=2.0, channel_axis=0), rel=1e-12)
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


# ----------------------------------------------------------------------------------------- MS-SSIM, HaarPSI

def _ms_ssim_reference(x, y, weights, k, sigma=1.5):
    """Wang et al. 2003 in float64 numpy: valid Gaussian-window SSIM terms, 2 x 2 mean pooling between scales,
    contrast-structure at every scale but the last, full SSIM at the last; images in [0, 1], data_range 1."""
    import scipy.signal
    g = np.exp(-((np.arange(k) - (k - 1) / 2) ** 2) / (2 * sigma**2))
    win = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = 0.01**2, 0.03**2
    out = []
    for xi, yi in zip(x, y):
        per_channel = []
        for a, b in zip(xi, yi):
            terms = []
            for j in range(len(weights)):
                if j:
                    a = a[: a.shape[0] // 2 * 2, : a.shape[1] // 2 * 2].reshape(a.shape[0] // 2, 2, -1, 2).mean((1, 3))
                    b = b[: b.shape[0] // 2 * 2, : b.shape[1] // 2 * 2].reshape(b.shape[0] // 2, 2, -1, 2).mean((1, 3))
                f = lambda v: scipy.signal.correlate2d(v, win, mode="valid")  # noqa: E731
                ma, mb = f(a), f(b)
                va, vb, cov = f(a * a) - ma**2, f(b * b) - mb**2, f(a * b) - ma * mb
                cs = (2 * cov + c2) / (va + vb + c2)
                lum = (2 * ma * mb + c1) / (ma**2 + mb**2 + c1)
                terms.append(max((cs * lum).mean() if j == len(weights) - 1 else cs.mean(), 0))
            per_channel.append(np.prod(np.array(terms) ** weights))
        out.append(np.mean(per_channel))
    return np.array(out)


def test_ms_ssim_reduced_config_below_161_px_matches_reference():
    from spectral_collapse.metrics.image import MS_SSIM_WEIGHTS, ms_ssim
    x, y = _pair((3, 3, 32, 32), noise=0.2, seed=3)
    val, cfg = ms_ssim(torch.from_numpy(x), torch.from_numpy(y))
    assert cfg["scales"] == 3 and cfg["kernel_size"] == 7 and not cfg["standard"] and cfg["reason"] == ""
    w = np.array(MS_SSIM_WEIGHTS[:3]) / sum(MS_SSIM_WEIGHTS[:3])
    np.testing.assert_allclose(cfg["scale_weights"], w)
    np.testing.assert_allclose(val, _ms_ssim_reference((x + 1) / 2, (y + 1) / 2, w, 7), rtol=1e-9)
    np.testing.assert_allclose(ms_ssim(x, x)[0], 1)
    # more noise, lower score
    assert np.all(ms_ssim(x, _pair((3, 3, 32, 32), noise=0.4, seed=3)[1])[0] < val)


def test_ms_ssim_standard_config_and_too_small_images():
    from spectral_collapse.metrics.image import MS_SSIM_WEIGHTS, ms_ssim
    # 176 = 11 * 2^4 halves evenly 4 times (piq pads odd sizes by replication, the reference would crop)
    x, y = _pair((1, 1, 176, 176), noise=0.2, seed=4)
    val, cfg = ms_ssim(x, y)
    assert cfg["standard"] and cfg["scales"] == 5 and cfg["kernel_size"] == 11
    w = np.array(MS_SSIM_WEIGHTS) / sum(MS_SSIM_WEIGHTS)
    np.testing.assert_allclose(val, _ms_ssim_reference((x + 1) / 2, (y + 1) / 2, w, 11), rtol=1e-9)
    assert ms_ssim(*_pair((1, 1, 161, 161)))[1]["standard"] and not ms_ssim(*_pair((1, 1, 160, 160)))[1]["standard"]
    val, cfg = ms_ssim(*_pair((2, 3, 16, 16)))
    assert cfg["kernel_size"] == 3 and np.all(np.isfinite(val))
    val, cfg = ms_ssim(*_pair((2, 3, 32, 32)), scales=5)
    assert np.all(np.isnan(val)) and "161" in cfg["reason"]


def test_haarpsi_identity_monotone_and_clipping():
    import piq
    from spectral_collapse.metrics.image import haarpsi
    x, y = _pair((3, 3, 32, 32), noise=0.2, seed=5)
    np.testing.assert_allclose(haarpsi(x, x), 1, atol=1e-6)
    val = haarpsi(x, y)
    assert val.shape == (3,) and np.all(val < haarpsi(x, _pair((3, 3, 32, 32), noise=0.05, seed=5)[1]))
    ref = piq.haarpsi(torch.from_numpy((x + 1) / 2), torch.from_numpy((y + 1) / 2), reduction="none")
    np.testing.assert_allclose(val, ref.numpy(), rtol=1e-9)
    np.testing.assert_allclose(haarpsi(1.1 * x, y), haarpsi(np.clip(1.1 * x, -1, 1), y))  # no range error
    with pytest.raises(ValueError, match="16"):
        haarpsi(np.zeros((1, 1, 8, 8)), np.zeros((1, 1, 8, 8)))
