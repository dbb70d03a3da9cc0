"""Texture scores that separate luminance from chroma detail, and the wavelet-statistics KID, against independent
references (a brute-force float64 MMD^2, a hand-written Haar transform, scipy's kurtosis) and the invariances and
closed forms they must obey."""
import numpy as np
import pytest
import torch
from scipy.stats import kurtosis

from spectral_collapse.metrics import realism as R


def _texture(n=6, size=16, seed=0):
    """8-bit RGB crops in [-1, 1] whose channels share a grey texture plus a little independent colour."""
    g = np.random.default_rng(seed)
    grey = g.normal(0, 0.1, (n, 1, size, size))
    x = np.clip(grey + g.normal(0, 0.02, (n, 3, size, size)) + np.array([0.2, -0.1, 0.0])[:, None, None], -1, 1)
    return np.round((x + 1) * 127.5) / 127.5 - 1


def _mmd2_brute(x, y):
    """Unbiased MMD^2, cubic polynomial kernel, by explicit loops in float64."""
    d = x.shape[1]
    k = lambda a, b: (float(np.dot(a, b)) / d + 1.0) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_mmd2_matches_brute_force():
    g = np.random.default_rng(1)
    x, y = g.normal(size=(7, 5)), g.normal(0.3, 1.2, size=(9, 5))
    assert R.mmd2_unbiased(x, y) == pytest.approx(_mmd2_brute(x, y), rel=1e-12)


def test_kid_is_unbiased_for_one_distribution():
    """Two sets from one distribution: the estimator averages to 0 (it can be negative), far below a shifted set."""
    g = np.random.default_rng(2)
    same = [R.mmd2_unbiased(g.normal(size=(20, 4)), g.normal(size=(20, 4))) for _ in range(300)]
    shifted = R.mmd2_unbiased(g.normal(size=(20, 4)) + 1.0, g.normal(size=(20, 4)))
    se = np.std(same) / np.sqrt(len(same))
    assert abs(np.mean(same)) < 4 * se
    assert min(same) < 0 < shifted
    assert shifted > np.quantile(same, 0.99)


def test_ycbcr_closed_forms():
    x = _texture()
    ycc = R.ycbcr(x)
    rgb = (x + 1) / 2
    assert np.allclose(ycc[:, 0], 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2])
    grey = np.repeat(x[:, :1], 3, axis=1)            # R = G = B: no chroma
    assert np.allclose(R.ycbcr(grey)[:, 1:], 0, atol=1e-12)
    assert np.allclose(R.ycbcr(x[:, :1])[:, 0], (x[:, 0] + 1) / 2)


def test_luma_noise_moves_luma_only_and_colour_noise_moves_chroma():
    x = _texture(size=32)
    g = np.random.default_rng(3)
    n = g.normal(0, 0.1, (len(x), 1, 32, 32))
    luma = x + n                                       # the same value added to R, G and B
    colour = x + g.normal(0, 0.05, x.shape)
    assert np.allclose(R.delta_log_e_hf_chroma(luma, x), 0, atol=1e-9)
    assert (R.delta_log_e_hf_luma(luma, x) > 0.5).all()
    assert (R.delta_log_e_hf_chroma(colour, x) > 1.0).all()
    assert np.allclose(R.delta_log_e_hf_luma(x, x), 0) and np.allclose(R.delta_log_e_hf_chroma(x, x), 0)


def test_delta_log_e_scales_as_two_log_a():
    """Detail filters remove constants, so scaling the image about a grey level scales detail energy by a^2 (an
    integer a keeps 8-bit values 8-bit)."""
    k = np.clip(np.round(np.random.default_rng(0).normal(0, 8, (6, 3, 16, 16))), -40, 40)   # grey levels from 128
    x = (128 + k) / 127.5 - 1
    for a in (2, 3):
        assert np.allclose(R.delta_log_e_hf_luma((128 + a * k) / 127.5 - 1, x), 2 * np.log(a))
        assert np.allclose(R.delta_log_e_hf_chroma((128 + a * k) / 127.5 - 1, x), 2 * np.log(a))
    x = _texture()
    ref = _texture(n=10, seed=9)
    e_ref = R.hf_energy_luma_chroma(ref)[0].mean()
    assert np.allclose(R.delta_log_e_hf_luma(x, reference=ref), np.log(R.hf_energy_luma_chroma(x)[0] / e_ref))
    with pytest.raises(ValueError, match="exactly one"):
        R.delta_log_e_hf_luma(x)


def test_hf_coherence_separates_shared_from_independent_detail():
    g = np.random.default_rng(4)
    grey = np.repeat(g.normal(0, 0.2, (4, 1, 64, 64)), 3, axis=1)
    indep = g.normal(0, 0.2, (4, 3, 64, 64))
    assert np.allclose(R.hf_coherence(grey), 1.0)
    assert np.all(np.abs(R.hf_coherence(indep) - 1 / 3) < 0.05)
    assert np.isnan(R.hf_coherence(grey[:, :1])).all()


def _haar_level1(a):
    """Level-1 Haar details (H, V, D) of (..., 2m, 2n) arrays by hand (orthonormal; pywt's sign convention)."""
    p, q, r, s = a[..., ::2, ::2], a[..., ::2, 1::2], a[..., 1::2, ::2], a[..., 1::2, 1::2]
    return (p + q - r - s) / 2, (p - q + r - s) / 2, (p - q - r + s) / 2


def test_level1_features_match_a_hand_computation():
    x = _texture(n=3, size=8)
    f = R.wavelet_features(x, wavelet="haar")
    names = R.feature_names()
    ycc = R.ycbcr(x)
    for c, ch in enumerate(("Y", "Cb", "Cr")):
        for o, det in zip("HVD", _haar_level1(ycc[:, c])):
            d = det.reshape(len(x), -1)
            assert np.allclose(f[:, names.index(f"log_energy_{ch}_l1_{o}")], np.log((d ** 2).mean(1)))
            m2, m4 = ((d - d.mean(1, keepdims=True)) ** 2).mean(1), ((d - d.mean(1, keepdims=True)) ** 4).mean(1)
            assert np.allclose(f[:, names.index(f"log_kurtosis_{ch}_l1_{o}")], np.log(m4 / m2 ** 2))
            assert np.allclose(f[:, names.index(f"log_kurtosis_{ch}_l1_{o}")], np.log(kurtosis(d, axis=1) + 3))
    dets = np.stack([np.concatenate([det.reshape(len(x), -1) for det in _haar_level1(ycc[:, c])], 1) for c in range(3)], 1)
    for i, pair in ((0, "YCb"), (1, "YCr"), (2, "CbCr")):
        a, b = dets[:, (0, 0, 1)[i]], dets[:, (1, 2, 2)[i]]
        r = [np.corrcoef(a[k], b[k])[0, 1] for k in range(len(x))]
        assert np.allclose(f[:, names.index(f"corr_{pair}_l1")], r)
    assert f.shape == (3, len(names))
    low = f[:, names.index("lowpass_mean_Y")]
    assert np.allclose(low, ycc[:, 0].reshape(3, -1).mean(1) * 8)   # Haar level-3 low-pass: 2^3 x the block mean


def test_kid_invariances():
    """Same KID for any crop order and any batch split of the feature computation; larger for a noisier set."""
    ref = torch.from_numpy(_texture(n=40, size=16, seed=5))
    gen = _texture(n=12, size=16, seed=6)
    k = R.kid_wav(gen, ref)
    assert R.kid_wav(gen[::-1].copy(), ref) == pytest.approx(k, rel=1e-9)
    assert R.kid_wav(gen, ref.flip(0)) == pytest.approx(k, rel=1e-9)
    whole = R.wavelet_features(gen)
    assert np.allclose(np.concatenate([R.wavelet_features(gen[i:i + 5]) for i in range(0, 12, 5)]), whole)
    g = np.random.default_rng(7)
    noisy = [R.kid_wav(np.clip(gen + g.normal(0, s, gen.shape), -1, 1), ref) for s in (0.02, 0.1)]
    assert k < noisy[0] < noisy[1]


def test_features_constant_over_the_reference_are_dropped():
    grey = np.repeat(_texture(n=20, seed=8)[:, :1], 3, axis=1)
    scale = R.FeatureScaler.fit(R.wavelet_features(grey))
    names = np.array(R.feature_names())
    assert not any(n.endswith(("_Cb", "_Cr")) or "_Cb_" in n or "_Cr_" in n for n in names[scale.keep])
    assert np.isfinite(R.kid_wav(grey[:6], grey))


def test_paired_difference_and_interval():
    g = np.random.default_rng(10)
    ref = g.normal(size=(60, 4))
    a = g.normal(size=(30, 4))
    b = a + 1.5
    d = R.paired_kid_difference(b, a, ref, n_boot=300)
    assert d.mean == pytest.approx(R.mmd2_unbiased(b, ref) - R.mmd2_unbiased(a, ref))
    assert d.lo > 0
    same = R.paired_kid_difference(a, a, ref, n_boot=100)
    assert same.mean == 0 and same.lo == 0 and same.hi == 0
    iv = R.kid_interval(a, ref, n_boot=300)
    assert iv.lo <= iv.mean <= iv.hi and iv.n == 30
    assert iv.mean == pytest.approx(R.mmd2_unbiased(a, ref))


def test_non_finite_images_score_nan_and_leave_the_others_alone():
    x = _texture(n=4, size=16)
    bad = x.copy()
    bad[1, 0, 3, 3] = np.nan
    coh = R.hf_coherence(bad)
    assert np.isnan(coh[1]) and np.allclose(np.delete(coh, 1), np.delete(R.hf_coherence(x), 1))
