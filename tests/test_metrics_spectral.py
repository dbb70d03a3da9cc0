"""S_HF, S_LF and the spectrum slope (paper App. B.4-B.5) on real IHC crops, closed forms and direct references."""
import math

import numpy as np
import pytest
import pywt
import skimage.data
import torch

from spectral_collapse.fourier import ideal_highpass, ideal_lowpass
from spectral_collapse.metrics.image import ssim
from spectral_collapse.metrics.spectral import (
    delta_log_e, hf_log_energy, hf_reference, kappa_for_size, s_hf, s_lf, spectrum_slope, wavelet_order,
)


@pytest.fixture(scope="module")
def crops():
    """The 256 non-overlapping 32 x 32 crops of scikit-image's bundled IHC image, (256, 3, 32, 32) in [-1, 1]."""
    im = skimage.data.immunohistochemistry().astype(np.float64) / 127.5 - 1
    return np.stack([im[i:i + 32, j:j + 32].transpose(2, 0, 1) for i in range(0, 512, 32) for j in range(0, 512, 32)])


def _powerlaw_noise(n, size, a, seed):
    """Noise whose expected power at frequency f is f^-a (DC removed)."""
    f = np.hypot(np.fft.fftfreq(size)[:, None], np.fft.fftfreq(size)[None, :])
    amp = np.where(f > 0, f, 1.0) ** (-a / 2) * (f > 0)
    w = np.fft.fft2(np.random.default_rng(seed).standard_normal((n, 3, size, size)))
    return np.fft.ifft2(w * amp).real


# ------------------------------------------------------------------------------------------ slope, wavelet

@pytest.mark.parametrize("a", [1.0, 2.0, 3.5])
def test_spectrum_slope_recovers_power_law(a):
    assert spectrum_slope(_powerlaw_noise(16, 64, a, 0)) == pytest.approx(-a, abs=0.1)
    # pixel units only shift log power
    assert spectrum_slope(127.5 * _powerlaw_noise(4, 64, a, 1) + 3) == pytest.approx(
        spectrum_slope(_powerlaw_noise(4, 64, a, 1)), abs=1e-9)


def test_wavelet_order_is_ceil_abs_slope_clamped():
    assert [wavelet_order(s) for s in (-3.5, -3.0, -3.01, -0.3, -27.0)] == ["sym4", "sym3", "sym4", "sym2", "sym20"]
    assert all(w in pywt.wavelist("sym") for w in ("sym2", "sym20"))


def test_spectrum_slope_rejects_empty_band():
    with pytest.raises(ValueError, match="band"):
        spectrum_slope(np.zeros((1, 1, 8, 8)), band=(0.45, 0.46))


# ------------------------------------------------------------------------------------------------ log E_HF

def test_hf_log_energy_matches_per_image_loop(crops):
    x = crops[:5]
    ref = []
    for img in 127.5 * x + 127.5:
        e = 0.0
        for ch in img:
            _, (ch_h, ch_v, ch_d) = pywt.dwt2(ch, "sym4", mode="symmetric")
            e += (ch_h**2).sum() + (ch_v**2).sum() + (ch_d**2).sum()
        ref.append(math.log(e))
    np.testing.assert_allclose(hf_log_energy(torch.from_numpy(x).float()), ref, rtol=1e-6)
    np.testing.assert_allclose(hf_log_energy(x), ref, rtol=1e-12)


def test_units_shift_log_energy_by_twice_log_scale_and_delta_is_unit_free(crops):
    mu8, mu1 = hf_reference(crops, unit="uint8"), hf_reference(crops, unit="unit")
    assert mu8 - mu1 == pytest.approx(2 * math.log(255), rel=1e-10)
    np.testing.assert_allclose(delta_log_e(crops[:8], mu8, unit="uint8"), delta_log_e(crops[:8], mu1, unit="unit"))
    # the pitfall: the same real crops score much lower in [0, 1] because |mu| is small
    assert s_hf(crops, mu1, unit="unit").mean() < s_hf(crops, mu8, unit="uint8").mean() - 0.3


def test_hf_log_energy_rejects_unknown_names(crops):
    for kw, valid in [({"unit": "int8"}, "uint8"), ({"wavelet": "symm4"}, "sym"), ({"mode": "wrap"}, "symmetric")]:
        with pytest.raises(ValueError, match=valid):
            hf_log_energy(crops[:1], **kw)


# --------------------------------------------------------------------------------------------------- S_HF

def test_s_hf_formula(crops):
    mu = hf_reference(crops)
    le = hf_log_energy(crops)
    assert mu == pytest.approx(le.mean())
    np.testing.assert_allclose(s_hf(crops, mu), 1 - np.clip(np.abs(le - mu) / abs(mu), 0, 1))
    assert s_hf(np.zeros((1, 3, 32, 32)), mu)[0] == 0   # no detail energy at all: log E = -inf, clipped to 0


def test_real_crops_score_high(crops):
    # [0, 255] units: mu ~ 11.5 while log E varies by well under 1 across crops, so real crops score near 1
    s = s_hf(crops, hf_reference(crops))
    assert s.mean() > 0.9 and np.median(s) > 0.95


def test_s_hf_drops_when_high_frequencies_are_removed(crops):
    mu = hf_reference(crops)
    t = torch.from_numpy(crops)
    # the level-1 detail band covers roughly 1/4..1/2 cycles/pixel; kappa = 0.25 keeps only |omega| <= 1/8
    removed = ideal_lowpass(t, 0.25).numpy()
    assert delta_log_e(removed, mu).mean() < -1.0          # under 1/e of the real HF energy
    assert s_hf(removed, mu).mean() < s_hf(crops, mu).mean() - 0.1
    # the more is removed, the lower the energy
    e = [hf_log_energy(ideal_lowpass(t, k).numpy()).mean() for k in (0.2, 0.3, 0.4)]
    assert e[0] < e[1] < e[2] < mu


def test_low_frequency_changes_leave_hf_energy_nearly_unchanged(crops):
    """Fig. 12: S_HF is stable when only low frequencies change.

    Tolerance: mean |change of log E| < 0.05, i.e. 5 % in energy, against a drop of more than 1.0 when the high
    frequencies are removed (test above) and a crop-to-crop spread of log E near 0.7.
    """
    mu = hf_reference(crops)
    base = hf_log_energy(crops)
    t = torch.from_numpy(crops)
    # a constant is annihilated exactly by sym4's detail filters under symmetric extension
    np.testing.assert_allclose(hf_log_energy(crops + 0.3), base, atol=1e-9)
    yy, xx = np.mgrid[:32, :32] / 31.0
    low = ideal_lowpass(t, 0.15).numpy()                     # |omega| <= 0.075 cycles/pixel
    changed = {
        "ramp": crops + 0.2 * (xx + yy - 1),
        "low band x 1.5": crops + 0.5 * low,
        "low band x 0.5": crops - 0.5 * low,
        "low band removed": ideal_highpass(t, 0.15).numpy(),  # Fig. 11's low-frequency filtering
    }
    for name, x in changed.items():
        assert np.abs(hf_log_energy(x) - base).mean() < 0.05, name
        assert abs(s_hf(x, mu).mean() - s_hf(crops, mu).mean()) < 0.005, name


# --------------------------------------------------------------------------------------------------- S_LF

def test_kappa_for_size():
    assert kappa_for_size(256) == pytest.approx(0.06)
    assert kappa_for_size(32) == pytest.approx(0.48)
    assert kappa_for_size(4) == pytest.approx(math.sqrt(2))
    # the same number of cycles per image: cutoff radius * size is constant
    assert kappa_for_size(64) * 0.5 * 64 == pytest.approx(0.06 * 0.5 * 256)


def test_s_lf_identity_and_dc_only_warning(crops):
    x = crops[:6]
    np.testing.assert_allclose(s_lf(x, x, kappa=kappa_for_size(32)), 1, atol=1e-12)
    with pytest.warns(UserWarning, match="only the DC"):
        np.testing.assert_allclose(s_lf(x, x), 1, atol=1e-12)


def test_s_lf_decreases_with_spatial_shift(crops):
    x = crops[:32]
    k = kappa_for_size(32)
    scores = [s_lf(np.roll(x, s, axis=-1), x, kappa=k).mean() for s in (0, 2, 4, 8)]
    assert scores[0] == pytest.approx(1) and scores[0] > scores[1] > scores[2] > scores[3]


def test_s_lf_ignores_high_frequencies_and_matches_ssim_of_lowpassed(crops):
    x = crops[:8]
    k = kappa_for_size(32)
    noise = ideal_highpass(torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64), k)
    noisy = x + 0.5 * noise.numpy()
    np.testing.assert_allclose(s_lf(noisy, x, kappa=k), 1, atol=1e-9)   # complementary ideal filters
    assert ssim(noisy, x).mean() < 0.9
    y = np.roll(x, 3, axis=-2)
    lp = [ideal_lowpass(torch.from_numpy(a), k).numpy() for a in (y, x)]
    # default: the low-passed images in [0, 1] with data_range 1; "signed": [-1, 1] with data_range 2
    np.testing.assert_allclose(s_lf(y, x, kappa=k), ssim(*[(a + 1) / 2 for a in lp], data_range=1.0), rtol=1e-12)
    np.testing.assert_allclose(s_lf(y, x, kappa=k, value_range="signed"), ssim(*lp, data_range=2.0), rtol=1e-12)


def _skimage_s_lf(gen, cond, kappa, data_range=1.0, win_size=7, signed=False):
    """Independent reference: scikit-image SSIM (uniform window, sample covariance) of the FFT-low-passed images,
    mapped to [0, 1] (or kept in [-1, 1] with ``signed``), channel mean, per image."""
    from skimage.metrics import structural_similarity

    out = []
    for g, c in zip(gen, cond):
        lp = [np.fft.ifft2(np.fft.fft2(a) * _radial_mask(a.shape[-2:], kappa)).real for a in (g, c)]
        lp = lp if signed else [(a + 1) / 2 for a in lp]
        out.append(structural_similarity(lp[0], lp[1], channel_axis=0, data_range=data_range, win_size=win_size))
    return np.array(out)


def _radial_mask(shape, kappa):
    h, w = shape
    r = np.sqrt(np.fft.fftfreq(h)[:, None] ** 2 + np.fft.fftfreq(w)[None, :] ** 2)
    return r <= kappa * 0.5


def test_s_lf_scores_unit_range_images_against_scikit_image(tissue256):
    """S_LF = SSIM of the low-passed (x + 1) / 2 with data_range 1, on both routes; it differs from the signed form
    on a pair with nonzero means (SSIM's luminance term is not offset-invariant)."""
    x = tissue256[:2, :, :128, :128]
    gen = np.clip(np.roll(x, 4, axis=-1)[::-1] * 0.8 - 0.1, -1, 1)
    for kappa, route in ((0.06, "bandlimited"), (0.06, "direct"), (kappa_for_size(128), "direct")):
        got = s_lf(gen, x, kappa=kappa, route=route)
        np.testing.assert_allclose(got, _skimage_s_lf(gen, x, kappa), rtol=1e-9, err_msg=f"{kappa} {route}")
        signed = s_lf(gen, x, kappa=kappa, route=route, value_range="signed")
        np.testing.assert_allclose(signed, _skimage_s_lf(gen, x, kappa, data_range=2.0, signed=True), rtol=1e-9)
        assert np.abs(got - signed).min() > 1e-3, (kappa, route)
    np.testing.assert_allclose(s_lf(gen, x, kappa=0.06, route="bandlimited"), s_lf(gen, x, kappa=0.06, route="direct"),
                               rtol=1e-10, atol=1e-12)
    # an explicit data_range overrides the span of the range: unit images with data_range 2 are not the default
    assert not np.allclose(s_lf(gen, x, kappa=0.06, data_range=2.0), s_lf(gen, x, kappa=0.06))
    with pytest.raises(ValueError, match="value_range"):
        s_lf(gen, x, value_range="uint8")


@pytest.fixture(scope="module")
def tissue256():
    """Four 256 x 256 crops (two sizes: 256 and 128 are cut from them) of the bundled IHC image, in [-1, 1]."""
    im = skimage.data.immunohistochemistry().astype(np.float64) / 127.5 - 1
    return np.stack([im[i:i + 256, j:j + 256].transpose(2, 0, 1) for i in (0, 256) for j in (0, 256)])


@pytest.mark.parametrize("size,kappa", [(256, 0.06), (128, 0.06), (256, 0.03), (192, 0.05)])
def test_bandlimited_s_lf_equals_fft_lowpass_and_ssim(tissue256, size, kappa):
    """The band-limited route (coefficients, Dirichlet box, interior synthesis) against the direct one: FFT low-pass
    and the scipy SSIM (itself tested against scikit-image), plain, gray and masked."""
    from spectral_collapse.metrics.spectral import narrow_band

    x = tissue256[:, :, :size, :size]
    gen, cond = np.roll(x, 3, axis=-1)[::-1].copy(), x
    assert narrow_band(size, size, kappa)
    for kw in ({}, {"gray": True}, {"gray": True, "mask": "nonwhite", "white_threshold": 0.3}):
        fast = s_lf(gen, cond, kappa=kappa, route="bandlimited", **kw)
        slow = s_lf(gen, cond, kappa=kappa, route="direct", **kw)
        np.testing.assert_allclose(fast, slow, rtol=1e-10, atol=1e-12, err_msg=str(kw))
        np.testing.assert_allclose(s_lf(gen, cond, kappa=kappa, **kw), fast, rtol=0, atol=0)   # auto picks it
    np.testing.assert_allclose(s_lf(cond, cond, kappa=kappa, route="bandlimited"), 1, atol=1e-12)
    # float32 images (what the models produce) are compared in float32 on this route: close, not identical
    g32, c32 = torch.from_numpy(gen.astype(np.float32)), torch.from_numpy(cond.astype(np.float32))
    single = s_lf(g32, c32, kappa=kappa)
    np.testing.assert_allclose(single, s_lf(gen, cond, kappa=kappa), rtol=0, atol=6e-5)   # measured <= 4e-5
    assert not np.array_equal(single, s_lf(gen, cond, kappa=kappa))  # it did take the float32 path
    signed = s_lf(g32, c32, kappa=kappa, value_range="signed")
    np.testing.assert_allclose(signed, s_lf(gen, cond, kappa=kappa, value_range="signed"), rtol=0, atol=1e-5)


def test_bandlimited_ssim_matches_scikit_image_and_float32(tissue256):
    from skimage.metrics import structural_similarity

    from spectral_collapse.metrics.spectral import lowpass_ssim

    a, b = tissue256[:1], tissue256[1:2]
    lp = [ideal_lowpass(torch.from_numpy(v), 0.06).numpy()[0] for v in (a, b)]
    ref = structural_similarity(lp[0], lp[1], channel_axis=0, data_range=2.0)
    assert lowpass_ssim(a, b, 0.06)[0] == pytest.approx(ref, rel=1e-12)
    assert lowpass_ssim(a, b, 0.06, win_size=11)[0] == pytest.approx(
        structural_similarity(lp[0], lp[1], channel_axis=0, data_range=2.0, win_size=11), rel=1e-12)
    # float32 inputs are computed in float32, as image.ssim does: close to the float64 value
    assert lowpass_ssim(a.astype(np.float32), b.astype(np.float32), 0.06)[0] == pytest.approx(ref, abs=2e-4)


def test_bandlimited_route_applies_only_to_narrow_bands(crops):
    from spectral_collapse.metrics.spectral import band_halfwidth, narrow_band

    for n, kappa in ((256, 0.06), (32, 0.48), (31, 0.3), (64, 1.0)):
        f = np.fft.fftfreq(n)
        assert band_halfwidth(n, kappa) == int(np.abs(np.round(f[np.abs(f) <= kappa / 2] * n)).max())
    assert narrow_band(256, 256, 0.06) and not narrow_band(32, 32, kappa_for_size(32))
    x = crops[:4]
    with pytest.raises(ValueError, match="too wide a band"):
        s_lf(x, x[::-1], kappa=kappa_for_size(32), route="bandlimited")
    with pytest.raises(ValueError, match="valid: 'auto'"):
        s_lf(x, x, route="fast")
    np.testing.assert_allclose(s_lf(x, x[::-1], kappa=kappa_for_size(32)),
                               s_lf(x, x[::-1], kappa=kappa_for_size(32), route="direct"), rtol=0, atol=0)


def test_s_lf_gray_and_nonwhite_mask_for_edge_maps():
    # an edge-map condition: white background (1) with a dark square outline
    cond = np.ones((2, 3, 32, 32))
    cond[:, :, 8:24, 8] = cond[:, :, 8:24, 23] = cond[:, :, 8, 8:24] = cond[:, :, 23, 8:24] = -1
    gen = np.where(cond < 0, -0.5, 0.8) + 0.05 * np.random.default_rng(0).standard_normal(cond.shape)
    k = kappa_for_size(32)
    kw = dict(kappa=k, gray=True)
    assert s_lf(cond, cond, mask="nonwhite", **kw) == pytest.approx([1, 1])
    all_true = np.ones((32, 32), bool)
    np.testing.assert_allclose(s_lf(gen, cond, mask=all_true, **kw), s_lf(gen, cond, **kw), rtol=1e-12)
    aligned = s_lf(gen, cond, mask="nonwhite", **kw)
    shifted = s_lf(np.roll(gen, 5, axis=(-2, -1)), cond, mask="nonwhite", **kw)
    assert np.all(shifted < aligned)
    # the mask averages the SSIM map over the outline only: it must differ from the unmasked mean
    assert not np.allclose(aligned, s_lf(gen, cond, **kw))
    with pytest.raises(ValueError, match="nonwhite"):
        s_lf(gen, cond, mask="edges", **kw)
    # white_threshold stays in [-1, 1] units whatever the scoring range: the same pixels are kept
    gray = 0.299 * cond[:, 0] + 0.587 * cond[:, 1] + 0.114 * cond[:, 2]
    np.testing.assert_allclose(aligned, s_lf(gen, cond, mask=gray < 0.9, **kw), rtol=1e-12)
    signed = s_lf(gen, cond, mask="nonwhite", value_range="signed", **kw)
    np.testing.assert_allclose(signed, s_lf(gen, cond, mask=gray < 0.9, value_range="signed", **kw), rtol=1e-12)


@pytest.mark.parametrize("shape", [(2, 3, 32, 32), (1, 1, 17, 24), (2, 2, 20, 15)])
@pytest.mark.parametrize("kappa", [0.06, 0.48, 1.0])
def test_fourier_filters_equal_the_full_spectrum_reference(shape, kappa):
    """Half-spectrum filtering equals ifft2(fft2(x) * mask).real with the full radial mask (numpy, float64)."""
    from spectral_collapse.fourier import ideal_highpass, ideal_lowpass

    x = torch.from_numpy(np.random.default_rng(7).standard_normal(shape))
    h, w = shape[-2:]
    r = np.sqrt(np.fft.fftfreq(h)[:, None] ** 2 + np.fft.fftfreq(w)[None, :] ** 2)
    X = np.fft.fft2(x.numpy())
    low = np.fft.ifft2(X * (r <= kappa * 0.5)).real
    np.testing.assert_allclose(ideal_lowpass(x, kappa).numpy(), low, atol=1e-12)
    np.testing.assert_allclose(ideal_highpass(x, kappa).numpy(), np.fft.ifft2(X * (r > kappa * 0.5)).real, atol=1e-12)
