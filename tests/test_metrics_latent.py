"""Latent diagnostics against closed forms, scipy / sklearn and direct loops (paper App. B.2-B.3, Fig. 3, Fig. 17)."""
import math

import numpy as np
import pytest
import scipy.ndimage
import scipy.stats
import torch

from spectral_collapse import metrics
from spectral_collapse.metrics.latent import (
    decorrelation, decorrelation_threshold, gaussianity, ks_resolution, patch_roughness, pca_explained_variance,
    radial_power_spectrum, sample_norm_ratio, spectral_velocity,
)


def _noise(shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------------------------------- S_G

def test_gaussianity_true_gaussian_near_one():
    z = _noise((200, 3, 32, 32), 1)  # d = 3072
    res = gaussianity(z)
    assert res.d == 3072 and res.n == 200
    # under H0 sqrt(n) D follows Kolmogorov's law; its 0.999 quantile is ~1.95, so D < 0.138
    assert res.ks_d < 1.95 / math.sqrt(200) and res.s_g == pytest.approx(1 - res.ks_d)
    assert res.p_value > 1e-3
    # mean of r/d has sd sqrt(2/d)/sqrt(n); mean z-score has sd 1/sqrt(n)
    assert abs(res.mean_norm_ratio - 1) < 4 * math.sqrt(2 / 3072) / math.sqrt(200)
    assert abs(res.z_mean) < 4 / math.sqrt(200)


def test_gaussianity_scale_off_by_5_percent_is_low():
    res = gaussianity(1.05 * _noise((200, 3, 32, 32), 2))
    # r/d shifts by 1.05^2 - 1 = 0.1025, i.e. 4 sd of chi2(d)/d, so nearly every r lies above the chi2 median
    assert res.s_g < 0.2 and res.p_value < 1e-20
    assert res.mean_norm_ratio == pytest.approx(1.1025, abs=4 * math.sqrt(2 / 3072) / math.sqrt(200) * 1.1025)


def test_gaussianity_matches_direct_ks_formula_and_explicit_d():
    z = np.random.default_rng(3).standard_normal((50, 4, 8, 8)) * 1.02
    res = gaussianity(z, d=256)
    r = np.sort((z.reshape(50, -1) ** 2).sum(1))
    cdf = scipy.stats.chi2(256).cdf(r)
    i = np.arange(1, 51)
    d_direct = max(np.max(i / 50 - cdf), np.max(cdf - (i - 1) / 50))
    assert res.ks_d == pytest.approx(d_direct, rel=1e-10)
    assert res.z_mean == pytest.approx(np.mean((r - 256) / np.sqrt(512)), rel=1e-10)


def test_norm_z_is_standard_normal_under_the_null_for_any_d():
    for shape, seed in (((64, 3, 32, 32), 20), ((64, 1, 4, 4), 21), ((200, 4, 8, 8), 22)):
        res = gaussianity(_noise(shape, seed))
        d, n = res.d, res.n
        assert abs(res.norm_z) < 4
        assert res.norm_z == pytest.approx(math.sqrt(n) * res.z_mean, rel=1e-9)   # sqrt(n) x the mean z-score
        assert res.norm_z == pytest.approx((res.mean_norm_ratio * d - d) / math.sqrt(2 * d / n), rel=1e-9)


def test_norm_z_resolves_what_the_ks_test_saturates():
    z = _noise((64, 3, 32, 32), 23)                    # d = 3072
    off = gaussianity(math.sqrt(1.1) * z)              # 10 % variance error: expected norm_z 0.1 d / sqrt(2 d / n) = 31
    worse = gaussianity(math.sqrt(1.2) * z)
    # each r lies ~4 sd (of chi2(d)) above d: the KS test saturates, S_G ~ 0 for both, within its resolution
    assert off.s_g < 0.1 and worse.s_g < 1e-4 and abs(off.s_g - worse.s_g) <= ks_resolution(64)
    assert off.norm_z > 10 and worse.norm_z > off.norm_z and np.isfinite(worse.norm_z)
    assert off.norm_z == pytest.approx(31.35, abs=5)
    assert gaussianity(math.sqrt(0.9) * z).norm_z < -10   # signed: too little energy


def test_ks_resolution_and_ties():
    for n in (8, 64, 500):
        assert ks_resolution(n) == pytest.approx(scipy.stats.kstwo.ppf(0.95, n), rel=1e-12)
        assert ks_resolution(n, alpha=0.01) > ks_resolution(n)
    assert ks_resolution(8) > ks_resolution(64) > ks_resolution(500)
    assert ks_resolution(64) == pytest.approx(0.167, abs=1e-3)
    with pytest.raises(ValueError):
        ks_resolution(0)
    assert metrics.ks_resolution is ks_resolution
    assert {"ks_resolution", "sample_norm_ratio"} <= set(metrics.__all__)


# ---------------------------------------------------------------------------------------------------- S_DC

def _roughness_loop(z, k, s):
    n, c, h, w = z.shape
    out = np.zeros((n, c, (h - k) // s + 1, (w - k) // s + 1))
    for a in range(n):
        for ch in range(c):
            for i in range(out.shape[2]):
                for j in range(out.shape[3]):
                    p = z[a, ch, i * s:i * s + k, j * s:j * s + k]
                    pairs = [(p[y, x] - p[y, x + 1]) ** 2 for y in range(k) for x in range(k - 1)]
                    pairs += [(p[y, x] - p[y + 1, x]) ** 2 for y in range(k - 1) for x in range(k)]
                    assert len(pairs) == 2 * k * (k - 1)
                    out[a, ch, i, j] = np.mean(pairs)
    return out


@pytest.mark.parametrize("k,s", [(4, 1), (3, 2), (2, 3)])
def test_patch_roughness_matches_loop(k, s):
    z = np.random.default_rng(0).standard_normal((2, 3, 7, 9))
    got = patch_roughness(torch.from_numpy(z), k, s).numpy()
    np.testing.assert_allclose(got, _roughness_loop(z, k, s), rtol=1e-12)


def test_threshold_has_target_false_positive_rate_on_fresh_noise():
    tau = decorrelation_threshold((3, 16, 16), fpr=0.05, n_mc=200, seed=0)
    rho = patch_roughness(_noise((400, 3, 16, 16), 99)).numpy()
    assert np.mean(rho <= tau) == pytest.approx(0.05, abs=0.005)
    assert decorrelation_threshold((3, 16, 16), fpr=0.05, n_mc=200, seed=0) == tau  # cached, deterministic


def test_threshold_subsampling_keeps_the_quantile():
    full = decorrelation_threshold((3, 16, 16), n_mc=100, seed=5)
    sub = decorrelation_threshold((3, 16, 16), n_mc=100, seed=5, max_values=20_000)
    assert sub == pytest.approx(full, rel=0.03)


@pytest.mark.parametrize("fraction,p_flag", [
    (0.5, 3 * 0.05**2 * 0.95 + 0.05**3),   # >= 2 of 3 independent channels below their 5 % quantile
    (0.3, 1 - 0.95**3),                     # >= 1 of 3
])
def test_white_noise_flag_rate_matches_binomial(fraction, p_flag):
    res = decorrelation(_noise((200, 3, 32, 32), 7), channel_fraction=fraction)
    assert res.flagged_ratio.shape == (200,)
    np.testing.assert_allclose(res.s_dc, 1 - res.flagged_ratio)
    assert res.flagged_ratio.mean() == pytest.approx(p_flag, rel=0.25)


def test_white_noise_near_one_smoothed_noise_low():
    z = _noise((32, 3, 32, 32), 11).numpy()
    smooth = scipy.ndimage.gaussian_filter(z, sigma=(0, 0, 1.5, 1.5), mode="wrap")
    smooth /= smooth.std(axis=(1, 2, 3), keepdims=True)  # unit variance: only the correlation differs
    white, corr = decorrelation(z), decorrelation(smooth, return_mask=True)
    assert white.s_dc.min() > 0.97
    assert corr.s_dc.max() < 0.2
    assert corr.mask.shape == (32, 29, 29) and corr.mask.dtype == bool
    assert corr.flagged_ratio == pytest.approx(corr.mask.mean((1, 2)))


def test_standardized_s_dc_ignores_amplitude():
    z = _noise((32, 3, 32, 32), 12)
    base = decorrelation(z)
    assert base.standardized and base.s_dc.mean() > 0.97
    for scale in (0.3, 30):
        assert decorrelation(scale * z).s_dc.mean() == pytest.approx(base.s_dc.mean(), abs=0.02)
    # the raw (paper's literal) form: roughness scales with the variance, so 0.3 x white noise looks "smooth"
    raw = decorrelation(0.3 * z, standardize=False)
    assert not raw.standardized and raw.s_dc.mean() < 0.1
    assert decorrelation(z, standardize=False).s_dc.mean() == pytest.approx(base.s_dc.mean(), abs=0.02)


@pytest.mark.parametrize("smoothing", ["box3", "box5", "gauss1"])
def test_smoothed_noise_scores_low_at_any_scale(smoothing):
    z = _noise((32, 3, 32, 32), 13).numpy()
    if smoothing == "gauss1":
        smooth = scipy.ndimage.gaussian_filter(z, sigma=(0, 0, 1, 1), mode="wrap")
    else:
        k = int(smoothing[-1])
        smooth = scipy.ndimage.uniform_filter(z, size=(1, 1, k, k), mode="wrap")
    for scale in (0.3, 1, 30):
        assert decorrelation(scale * smooth).s_dc.mean() < 0.3   # box3 measures ~0.11, the others < 0.01
    assert decorrelation(30 * smooth, standardize=False).s_dc.mean() > 0.9   # raw form: amplitude hides it


def test_norm_ratio_reports_the_raw_amplitude():
    z = _noise((16, 3, 32, 32), 14)
    for s in (0.3, 1, 30):
        res = decorrelation(s * z)
        assert res.norm_ratio.shape == (16,)
        assert res.norm_ratio.mean() == pytest.approx(s ** 2, rel=0.02)
        np.testing.assert_allclose(res.norm_ratio, (s * z).double().pow(2).flatten(1).mean(1).numpy(), rtol=1e-6)
        np.testing.assert_allclose(sample_norm_ratio(s * z), res.norm_ratio, rtol=1e-12)
    # a constant (zero-variance) sample is left as it is, not divided by 0
    flat = torch.zeros((2, 3, 16, 16))
    flat[1] = 2.0
    res = decorrelation(flat)
    assert np.isfinite(res.s_dc).all() and res.s_dc.max() == 0   # perfectly smooth: every patch flagged
    np.testing.assert_allclose(res.norm_ratio, [0, 4])


def test_decorrelation_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        decorrelation(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="patch"):
        patch_roughness(torch.zeros(1, 1, 3, 3), patch=4)


# ---------------------------------------------------------------------------------------------------- PCA

# Gram (N < d) and scatter (N > d) branches, each with one block and with several blocks (chunk < d, chunk < N)
@pytest.mark.parametrize("shape,chunk", [((40, 3, 8, 8), 37), ((40, 3, 8, 8), 4096), ((300, 2, 3, 3), 37),
                                         ((300, 2, 3, 3), 4096), ((300, 2, 6, 6), 50)])
def test_pca_matches_sklearn(shape, chunk):
    from sklearn.decomposition import PCA
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * rng.uniform(0.1, 3, size=shape[1:]) + rng.standard_normal(shape[1:])
    x = x.astype(np.float32)
    flat = x.reshape(shape[0], -1).astype(np.float64)
    ours = pca_explained_variance(torch.from_numpy(x), chunk=chunk, standardize=False)
    ref = np.cumsum(PCA().fit(flat).explained_variance_ratio_)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-9)
    assert len(pca_explained_variance(x, n_components=5)) == 5
    ours32 = pca_explained_variance(torch.from_numpy(x), chunk=chunk, dtype=torch.float32, standardize=False)
    np.testing.assert_allclose(ours32, ref, atol=1e-4)   # BLAS ssyrk
    # default: each sample divided by its own root mean square first (unit norm ratio)
    unit = flat / np.sqrt((flat ** 2).mean(axis=1, keepdims=True))
    ref_unit = np.cumsum(PCA().fit(unit).explained_variance_ratio_)
    np.testing.assert_allclose(pca_explained_variance(torch.from_numpy(x), chunk=chunk), ref_unit, atol=1e-9)
    assert np.abs(ref_unit - ref).max() > 1e-3   # the scaling matters on this data


def test_pca_standardized_ignores_per_sample_amplitude():
    z = _noise((60, 3, 8, 8), 15).double()
    amp = torch.exp(torch.linspace(-3, 3, 60, dtype=torch.float64))[:, None, None, None]   # norms over 6 decades
    white = pca_explained_variance(z)
    np.testing.assert_allclose(pca_explained_variance(amp * z), white, atol=1e-12)
    raw = pca_explained_variance(amp * z, standardize=False)
    assert raw[4] > 0.5 and white[4] < 0.3            # raw: the largest-norm latents fill the first components


def test_pca_low_rank_data_concentrates_variance():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((100, 3)) @ rng.standard_normal((3, 500))
    cum = pca_explained_variance(x)
    assert cum[2] == pytest.approx(1, abs=1e-10) and cum[1] < 1


# ------------------------------------------------------------------------------------------------- spectra

def test_white_noise_spectrum_is_flat_and_cosine_peaks_at_its_frequency():
    freqs, p = radial_power_spectrum(_noise((64, 2, 32, 32), 4))
    assert freqs[0] == 0 and np.all(np.diff(freqs) > 0) and p.shape == (64, 2, len(freqs))
    np.testing.assert_allclose(p[..., 1:].mean((0, 1)), 1, atol=0.15)
    yy, xx = np.mgrid[:32, :32]
    freqs, p = radial_power_spectrum(np.cos(2 * np.pi * 5 * xx / 32), log=True)
    k = np.argmax(p[1:]) + 1
    assert abs(freqs[k] - 5 / 32) < 0.5 / 32


def test_spectral_velocity_of_constant_updates():
    v = _noise((2, 3, 16, 16), 5).double()  # float64 so t * v - (t - 1) * v == v to 1e-15
    states = [t * v for t in range(4)]
    freqs, p = spectral_velocity(states)
    f0, p0 = radial_power_spectrum(v, log=True)
    assert p.shape == (3, 2, 3, len(f0))
    np.testing.assert_allclose(p, np.broadcast_to(p0, p.shape), atol=1e-9)
    np.testing.assert_allclose(spectral_velocity(torch.stack(states))[1], p)


@pytest.mark.parametrize("channels", [3, 4])
def test_white_noise_s_dc_is_what_the_measure_gives_white_noise(channels):
    """The binomial expectation agrees with S_DC measured on fresh N(0, I) latents (many windows, so the mean is
    tight), and the value differs between 3 and 4 channels as the flag rule says (2 of 3 against 2 of 4)."""
    from spectral_collapse.metrics.latent import decorrelation, white_noise_s_dc

    expected = white_noise_s_dc(channels)
    x = torch.randn(48, channels, 32, 32, generator=torch.Generator().manual_seed(3))
    measured = float(decorrelation(x).s_dc.mean())
    assert abs(measured - expected) < 0.004, (measured, expected)
    assert white_noise_s_dc(3) > white_noise_s_dc(4)
    with pytest.raises(ValueError, match="channels"):
        white_noise_s_dc(0)
