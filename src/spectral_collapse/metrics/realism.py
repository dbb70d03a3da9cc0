"""Texture scores that tell texture from noise: luma and chroma detail apart (``ycbcr``, ``delta_log_e_hf_luma`` /
``_chroma``, ``hf_coherence``) and ``kid_wav``, the KID between rank-normalised wavelet statistics of a crop set and of
real crops, with two-sample bootstrap intervals. Every score reads its images as saved: 8-bit (``as_saved``)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pywt
from scipy.special import ndtri
from scipy.stats import kurtosis

from ..data.folder_checks import FLAT_STD
from .checks import check_wavelet_size, scored_features, scored_images, warn_shared_crops
from .image import image_batch
from .intervals import Interval

__all__ = ["YCBCR_601", "as_saved", "flat_crops", "ycbcr", "hf_energy_luma_chroma", "delta_log_e_hf_luma",
           "delta_log_e_hf_chroma", "hf_coherence", "hf_energy_rgb", "FEATURE_LEVELS", "feature_names",
           "wavelet_features", "FeatureScaler", "mmd2_unbiased", "kid_wav", "kid_interval", "paired_kid_difference",
           "kid_draws"]

YCBCR_601 = np.array([[0.299, 0.587, 0.114],           # Y
                      [-0.168736, -0.331264, 0.5],     # Cb (centred: no +0.5 offset)
                      [0.5, -0.418688, -0.081312]])    # Cr
FEATURE_LEVELS = 3            # wavelet levels of the KID features
CORRELATION_LEVELS = (1, 2)   # levels whose cross-channel detail correlations are features
_PAIRS = ((0, 1), (0, 2), (1, 2))
FLAT = 1e-20  # a band whose mean square (in [0, 1] pixel units) is below this is flat: rounding, not signal
_CHANNELS = ("Y", "Cb", "Cr")
_ORIENT = ("H", "V", "D")


def as_saved(images) -> np.ndarray:
    """[-1, 1] images (B, C, H, W) as a PNG holds them: ``(x + 1) * 127.5`` rounded half to even (as
    ``PIL.Image.fromarray`` of ``np.round(...).astype(np.uint8)``), clipped, mapped back; float64, NaN kept."""
    x = image_batch(images, "images")
    return np.clip(np.round((x + 1.0) * 127.5), 0.0, 255.0) / 127.5 - 1.0


def flat_crops(images) -> np.ndarray:
    """(B,) bool: crops with a flat channel (pixel std <= ``FLAT_STD`` after 8-bit rounding: a uniform
    background). The realism scores leave them out alike from the test, validation and reference crops."""
    x = as_saved(images)
    return ~(x.reshape(*x.shape[:2], -1).std(-1) > FLAT_STD).all(1)


def ycbcr(images, saved: bool = True) -> np.ndarray:
    """(B, 3, H, W) Y, Cb, Cr of [-1, 1] RGB images (``as_saved``: 8-bit; ``saved=False``: as they are, in float)
    taken as (x + 1) / 2 in [0, 1]; a grey image (C = 1) gives its value as Y and zero chroma."""
    x = ((as_saved(images) if saved else image_batch(images, "images")) + 1.0) / 2.0
    if x.shape[1] == 1:
        return np.concatenate([x, np.zeros_like(x), np.zeros_like(x)], axis=1)
    if x.shape[1] != 3:
        raise ValueError(f"images must have 1 or 3 channels, got {x.shape[1]}")
    return np.einsum("kc,bchw->bkhw", YCBCR_601, x)


def _level1_details(x: np.ndarray, wavelet: str) -> np.ndarray:
    """(3 orientations, B, C, h, w) level-1 detail coefficients (pywt ``dwt2``, symmetric boundary)."""
    check_wavelet_size(x, wavelet)
    _, details = pywt.dwt2(x, wavelet, mode="symmetric", axes=(-2, -1))
    return np.stack(details)


def hf_energy_rgb(images, wavelet: str = "sym4") -> np.ndarray:
    """Per image, the mean squared level-1 detail coefficient summed over the channels ([-1, 1] units, 8-bit)."""
    det = _level1_details(as_saved(images), wavelet)              # (3, B, C, h, w)
    return (det ** 2).mean(axis=(0, 3, 4)).sum(1)


def hf_energy_luma_chroma(images, wavelet: str = "sym4") -> tuple[np.ndarray, np.ndarray]:
    """Per image, the mean squared level-1 detail coefficient of Y and of Cb + Cr (summed over the two)."""
    images, _, _ = scored_images(images)
    det = _level1_details(ycbcr(images), wavelet)             # (3, B, 3, h, w)
    e = (det ** 2).mean(axis=(0, 3, 4))                        # (B, 3): per channel, over orientations and positions
    return e[:, 0], e[:, 1] + e[:, 2]


def _delta(images, truth, reference, wavelet: str, which: int) -> np.ndarray:
    if (truth is None) == (reference is None):
        raise ValueError("give exactly one of truth (paired, same crops) or reference (a set of real crops)")
    e = hf_energy_luma_chroma(images, wavelet)[which]
    base = hf_energy_luma_chroma(reference if truth is None else truth, wavelet)[which]
    if truth is None:
        base = base.mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.maximum(e, FLAT)) - np.log(np.maximum(base, FLAT))


def delta_log_e_hf_luma(images, truth=None, *, reference=None, wavelet: str = "sym4") -> np.ndarray:
    """log(E_Y / E_Y of the paired truth) per image, or over the reference set's mean E_Y with ``reference``."""
    images, truth, reference = scored_images(images, truth=truth, reference=reference)
    return _delta(images, truth, reference, wavelet, 0)


def delta_log_e_hf_chroma(images, truth=None, *, reference=None, wavelet: str = "sym4") -> np.ndarray:
    """log(E_Cb+Cr / the paired truth's) per image, or over the reference set's mean with ``reference``; a grey
    image's chroma counts as ``FLAT`` (about -40 against colour truth, 0 between two grey images)."""
    images, truth, reference = scored_images(images, truth=truth, reference=reference)
    return _delta(images, truth, reference, wavelet, 1)


def hf_coherence(images, wavelet: str = "sym4") -> np.ndarray:
    """Largest eigenvalue / trace of the RGB level-1 detail covariance per image (NaN: grey, flat, non-finite)."""
    images, _, _ = scored_images(images)
    x = as_saved(images)
    if x.shape[1] != 3:
        return np.full(len(x), np.nan)
    det = _level1_details(x, wavelet)                                   # (3, B, 3, h, w)
    v = np.moveaxis(det, 0, 2).reshape(len(x), 3, -1)                  # (B, channel, orient * h * w)
    v = v - v.mean(axis=2, keepdims=True)
    cov = np.einsum("bcn,bdn->bcd", v, v) / v.shape[-1]
    ok = np.isfinite(cov).all(axis=(1, 2))                              # a non-finite image scores NaN
    eig = np.full((len(x), 3), np.nan)
    eig[ok] = np.linalg.eigvalsh(cov[ok])                               # ascending
    with np.errstate(divide="ignore", invalid="ignore"):
        return eig[:, -1] / eig.sum(axis=1)


def feature_names(levels: int = FEATURE_LEVELS) -> list[str]:
    """Names of the ``wavelet_features`` columns, in order."""
    names = [f"{stat}_{c}_l{lv}_{o}" for stat in ("log_energy", "log_kurtosis") for c in _CHANNELS
             for lv in range(1, levels + 1) for o in _ORIENT]
    names += [f"corr_{_CHANNELS[a]}{_CHANNELS[b]}_l{lv}" for lv in CORRELATION_LEVELS for a, b in _PAIRS]
    names += [f"lowpass_{stat}_{c}" for stat in ("mean", "std") for c in _CHANNELS]
    return names


def _corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation per row of (B, n) arrays; 0 where either row is flat (``FLAT``)."""
    a, b = a - a.mean(1, keepdims=True), b - b.mean(1, keepdims=True)
    va, vb = (a * a).mean(1), (b * b).mean(1)
    ok = (va > FLAT) & (vb > FLAT)
    den = np.sqrt(np.where(ok, va * vb, 1.0)) * a.shape[1]
    return np.where(ok, (a * b).sum(1) / den, 0.0)


def wavelet_features(images, wavelet: str = "sym4", levels: int = FEATURE_LEVELS, saved: bool = True) -> np.ndarray:
    """(B, F) wavelet statistics of 8-bit YCbCr crops (``feature_names``; ``saved=False``: the float images): per
    channel, level and orientation the log mean square and log kurtosis of the details (the log keeps spiky crops from
    dominating; a flat band counts log 3), cross-channel detail correlations at levels 1-2, low-pass mean and std."""
    images, _, _ = scored_images(images)
    check_wavelet_size(images, wavelet)
    y = ycbcr(images, saved)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Level value of .* is too high")
        coeffs = pywt.wavedec2(y, wavelet, mode="symmetric", level=levels, axes=(-2, -1))
    b = len(y)
    # per level, finest first: (B, channel, orientation, n) of the (cH, cV, cD) details
    details = [np.stack([o.reshape(b, 3, -1) for o in level], axis=2) for level in coeffs[:0:-1]]
    logs, kurts = np.empty((2, b, 3, levels, 3))     # (B, channel, level, orientation)
    for lv, d in enumerate(details):
        with np.errstate(divide="ignore"):
            logs[:, :, lv] = np.log(np.maximum((d * d).mean(-1), FLAT))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            k = kurtosis(d, axis=-1, fisher=False, bias=True)
        kurts[:, :, lv] = np.log(np.where(np.isfinite(k) & (d.var(-1) > FLAT), k, 3.0))
    corrs = []
    for lv in CORRELATION_LEVELS:
        flat = details[lv - 1].reshape(b, 3, -1)   # (B, channel, orientations x n)
        corrs += [_corr(flat[:, i], flat[:, j]) for i, j in _PAIRS]
    low = coeffs[0].reshape(b, 3, -1)
    return np.concatenate([logs.reshape(b, -1), kurts.reshape(b, -1), np.stack(corrs, 1), low.mean(2), low.std(2)], 1)


@dataclass(frozen=True)
class FeatureScaler:
    """Rank-normalises features against the real crops it is fitted on: each value becomes the normal score of its
    mid-rank among them, Phi^-1((rank + 1/2) / (n + 1)), so no value beyond their range or heavy-tailed feature
    dominates the kernel; constant features are dropped. Fitted once per task and held fixed, as FID's network."""

    sorted_reference: np.ndarray    # (n, F) each feature's values over the fitted crops, ascending
    keep: np.ndarray

    @classmethod
    def fit(cls, reference_features: np.ndarray) -> "FeatureScaler":
        f = np.asarray(reference_features, dtype=np.float64)
        if f.ndim != 2 or len(f) < 2:
            raise ValueError(f"the reference needs at least 2 crops of features (n, F), got shape {f.shape}")
        std = f.std(0)
        keep = std > 1e-8 * max(std.max(), 1e-300)
        return cls(np.sort(f, axis=0), keep)

    def __call__(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float64)
        ref = self.sorted_reference
        n = len(ref)
        mid = np.stack([(np.searchsorted(ref[:, j], x[:, j], "left") + np.searchsorted(ref[:, j], x[:, j], "right"))
                        / 2 for j in range(x.shape[1])], 1)
        z = ndtri((mid + 0.5) / (n + 1))
        return np.where(np.isfinite(x), z, np.nan)[:, self.keep]


def _kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between feature sets x (m, d) and y (n, d) with the cubic polynomial kernel (KID)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    m, n = len(x), len(y)
    if m < 2 or n < 2:
        raise ValueError(f"KID needs at least 2 crops in each set, got {m} and {n}")
    kxx, kyy, kxy = _kernel(x, x), _kernel(y, y), _kernel(x, y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
                 - 2 * kxy.mean())


def kid_wav(images, reference, wavelet: str = "sym4", fit=None) -> float:
    """KID between wavelet features of ``images`` and ``reference``, rank-normalised against ``fit`` (the reference)."""
    images, _, reference = scored_images(images, reference=reference, nonfinite="drop", min_crops=2)
    warn_shared_crops(images, reference)
    ref = wavelet_features(reference, wavelet)
    fit = ref if fit is None else wavelet_features(scored_images(images, reference=fit)[2], wavelet)
    scale = FeatureScaler.fit(fit)
    return mmd2_unbiased(scale(wavelet_features(images, wavelet)), scale(ref))


def _u_mean(k: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per row of ``counts`` (draws, n): the mean of kernel ``k`` over pairs of distinct crops of the resample."""
    pairs = (counts ** 2).sum(1)
    total = np.einsum("bi,ij,bj->b", counts, k, counts, optimize=True) - (counts ** 2) @ np.diag(k)
    return total / (counts.sum(1) ** 2 - pairs)


def _resampled_kid(kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """KID of resamples given as crop counts of a set (cx) and the reference (cy), from the full sets' kernels."""
    xy = np.einsum("bi,ij,bj->b", cx, kxy, cy, optimize=True) / (cx.sum(1) * cy.sum(1))
    return _u_mean(kxx, cx) + _u_mean(kyy, cy) - 2 * xy


def _counts(rng, n: int, draws: int) -> np.ndarray:
    """(draws, n) how often each of n crops is drawn in each resample of size n (2 distinct crops at least)."""
    out = np.empty((draws, n))
    k = 0
    while k < draws:
        c = np.bincount(rng.integers(0, n, size=n), minlength=n)
        if (c > 0).sum() >= 2:
            out[k], k = c, k + 1
    return out


def kid_interval(features: np.ndarray, reference: np.ndarray, *, n_boot: int = 1000, level: float = 0.95,
                 seed: int = 0) -> Interval:
    """KID of rank-normalised ``features`` against the ``reference``'s with a two-sample bootstrap interval."""
    return paired_kid_difference(features, None, reference, n_boot=n_boot, level=level, seed=seed)


def kid_draws(sets, reference: np.ndarray, *, n_boot: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """(KID of each feature set, (n_boot, sets) KIDs of resamples, crops kept) of ``sets`` on the same crops: the
    test crops resampled alike for every set, the reference's independently; non-finite crops left out."""
    sets = [np.asarray(f, dtype=np.float64) for f in sets]
    if len({f.shape for f in sets}) > 1:
        raise ValueError(f"paired KID needs the sets on the same crops, got shapes {[f.shape for f in sets]}")
    reference = np.asarray(reference, dtype=np.float64)
    reference = reference[np.isfinite(reference).all(1)]
    keep = np.logical_and.reduce([np.isfinite(f).all(1) for f in sets])
    n = int(keep.sum())
    if n < 2 or len(reference) < 2:
        return np.full(len(sets), np.nan), np.full((n_boot, len(sets)), np.nan), n
    kyy = _kernel(reference, reference)
    parts = [(_kernel(f[keep], f[keep]), kyy, _kernel(f[keep], reference)) for f in sets]
    rng = np.random.default_rng(seed)
    cx, cy = _counts(rng, n, n_boot), _counts(rng, len(reference), n_boot)
    draws = np.stack([np.concatenate([_resampled_kid(*p, cx[i:i + 250], cy[i:i + 250]) for i in range(0, n_boot, 250)])
                      for p in parts], axis=1)
    point = np.array([_resampled_kid(*p, np.ones((1, n)), np.ones((1, len(reference))))[0] for p in parts])
    return point, draws, n


def paired_kid_difference(a: np.ndarray, b: np.ndarray | None, reference: np.ndarray, *, n_boot: int = 1000,
                          level: float = 0.95, seed: int = 0) -> Interval:
    """KID(a) - KID(b) of two feature sets on the same crops (b None: KID(a)), with ``kid_draws``' interval."""
    a, b, reference = scored_features(a, b, reference)
    point, draws, n = kid_draws([f for f in (a, b) if f is not None], reference, n_boot=n_boot, seed=seed)
    if not np.isfinite(point).all():
        return Interval(np.nan, np.nan, np.nan, n, level)
    d, p = (draws[:, 0] - draws[:, 1], point[0] - point[1]) if b is not None else (draws[:, 0], point[0])
    alpha = (1 - level) / 2
    lo, hi = np.quantile(d, [alpha, 1 - alpha])
    return Interval(float(p), float(lo), float(hi), n, level)
