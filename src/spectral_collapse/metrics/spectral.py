"""Spectral realism and structure scores of generated images (paper App. B.4-B.5, Eq. 37-44): ``spectrum_slope``
and the Symmlet it selects (Eq. 37), ``hf_log_energy`` (Eq. 38), ``hf_reference`` (mu_HF, Eq. 39), ``s_hf``
(Eq. 40), ``delta_log_e`` = log E - mu, and ``s_lf`` (Eq. 41-44, with the grayscale-and-mask variant for edge maps).

S_HF depends on the pixel units, which the paper does not give: the default is ``unit="uint8"`` (real 32-px crops
score ~0.97; ~0.36 in [0, 1]). Reference statistics are cached in memory by a hash of the images' bytes."""
from __future__ import annotations

import functools
import hashlib
import math
import warnings

import numpy as np
import pywt
import torch

from ..fourier import ideal_lowpass
from .bandlimited import lowpass_ssim, narrow_band
from .image import image_batch, to_gray, ssim
from .latent import radial_power_spectrum

__all__ = [
    "spectrum_slope", "wavelet_order", "PIXEL_UNITS", "hf_log_energy", "hf_reference", "s_hf", "delta_log_e",
    "kappa_for_size", "s_lf", "clear_reference_cache",
]

# affine maps from the library's [-1, 1] pixels: x -> a x + b
PIXEL_UNITS = {"uint8": (127.5, 127.5), "unit": (0.5, 0.5), "signed": (1.0, 0.0)}
_REFERENCE_CACHE: dict[tuple, float] = {}


def clear_reference_cache() -> None:
    """Forget every cached reference statistic (spectrum slope, mu_HF)."""
    _REFERENCE_CACHE.clear()


def _fingerprint(images) -> tuple:
    """(shape, dtype, blake2b of the bytes) of an image set: equal only for identical content."""
    a = np.ascontiguousarray(images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images))
    return a.shape, str(a.dtype), hashlib.blake2b(a.view(np.uint8).reshape(-1), digest_size=16).hexdigest()


def _cached_reference(fn):
    """Memoise a float statistic of a fixed image set by (function, content hash, arguments)."""
    @functools.wraps(fn)
    def wrapper(images, *args, **kw):
        key = (fn.__name__, _fingerprint(images), args, tuple(sorted(kw.items())))
        try:
            hash(key)
        except TypeError:  # an unhashable argument: compute without caching
            return fn(images, *args, **kw)
        if key not in _REFERENCE_CACHE:
            _REFERENCE_CACHE[key] = fn(images, *args, **kw)
        return _REFERENCE_CACHE[key]
    return wrapper


@_cached_reference
def spectrum_slope(images, band: tuple[float, float] = (0.005, 0.4)) -> float:
    """Slope of the images' mean radially averaged log10 power vs log10 frequency over ``band`` (App. B.4, the
    paper's [0.005, 0.4] cycles/pixel), fitted per channel and averaged; independent of pixel units."""
    x = image_batch(images, "images")
    freqs, logp = radial_power_spectrum(x, log=True)          # (K,), (B, C, K)
    sel = (freqs > 0) & (freqs >= band[0]) & (freqs <= band[1])
    if sel.sum() < 2:
        raise ValueError(f"band {band} holds fewer than 2 frequency bins for {x.shape[-2:]} images; widen it")
    mean = logp.mean(0)[:, sel]                                # (C, K')
    slopes = np.polyfit(np.log10(freqs[sel]), mean.T, 1)[0]    # one line per channel
    return float(np.mean(slopes))


def wavelet_order(slope: float, min_order: int = 2, max_order: int = 20) -> str:
    """Symmlet ``sym{k}`` with k = ceil(|slope|) (Eq. 37), clamped to pywt's sym range 2..20."""
    k = min(max(math.ceil(abs(slope)), min_order, 2), max_order, 20)
    return f"sym{k}"


def hf_log_energy(images, wavelet: str = "sym4", mode: str = "symmetric", unit: str = "uint8",
                  per_coefficient: bool = False, drop_border: int = 0, chunk: int = 8) -> np.ndarray:
    """log E_HF per image (Eq. 38): level-1 ``dwt2`` detail energy over cH, cV, cD and the channels, pixels scaled
    by ``unit`` ("uint8", "unit", "signed"); ``drop_border`` coefficients cut per edge; -inf for zero energy."""
    if unit not in PIXEL_UNITS:
        raise ValueError(f"unknown unit {unit!r}; valid: {sorted(PIXEL_UNITS)}")
    if wavelet not in pywt.wavelist(kind="discrete"):
        raise ValueError(f"unknown wavelet {wavelet!r}; valid: discrete pywt wavelets such as sym2..sym20, db1..db38")
    if mode not in pywt.Modes.modes:
        raise ValueError(f"unknown mode {mode!r}; valid: {pywt.Modes.modes}")
    a, b = PIXEL_UNITS[unit]
    x = image_batch(images, "images")
    energies = []
    for i in range(0, len(x), max(1, int(chunk))) or [0]:
        _, details = pywt.dwt2(a * x[i:i + chunk] + b, wavelet, mode=mode, axes=(-2, -1))
        det = np.stack(details)                               # (3, B, C, h, w)
        if drop_border:
            h, w = det.shape[-2:]
            if 2 * drop_border >= min(h, w):
                raise ValueError(f"drop_border={drop_border} leaves no coefficient of the {h}x{w} detail bands")
            det = det[..., drop_border:h - drop_border, drop_border:w - drop_border]
        energy = np.einsum("kbchw,kbchw->b", det, det)
        if per_coefficient:
            energy = energy / (det.size // max(det.shape[1], 1))
        energies.append(energy)
    energy = np.concatenate(energies)
    with np.errstate(divide="ignore"):
        return np.log(energy)


@_cached_reference
def hf_reference(real_images, **kw) -> float:
    """mu_HF (Eq. 39): mean of ``hf_log_energy`` over real images (cached); pass the same keywords to ``s_hf``."""
    return float(np.mean(hf_log_energy(real_images, **kw)))


def delta_log_e(images, mu: float, **kw) -> np.ndarray:
    """log E_HF - mu per image: the unit-free HF deficit (< 0) or excess (> 0); -0.69 means half the energy."""
    return hf_log_energy(images, **kw) - mu


def s_hf(images, mu: float, **kw) -> np.ndarray:
    """S_HF per image (Eq. 40): 1 - clip(|log E_HF - mu| / |mu|, 0, 1); keywords as for ``hf_log_energy``."""
    if mu == 0:
        raise ValueError("mu_HF is 0, so Eq. 40 is undefined; use delta_log_e or another pixel unit")
    return 1 - np.clip(np.abs(delta_log_e(images, mu, **kw)) / abs(mu), 0, 1)


def kappa_for_size(size: int, reference_size: int = 256, kappa: float = 0.06) -> float:
    """The cutoff keeping as many cycles per image at ``size`` px as ``kappa`` at ``reference_size``
    (``kappa_for_size(32)`` = 0.48; the paper's 0.06 keeps only DC there), at most sqrt(2)."""
    return min(kappa * reference_size / size, math.sqrt(2))


_S_LF_VALUE_RANGES = ("unit", "signed")


def s_lf(generated, condition, kappa: float = 0.06, gray: bool = False, mask=None, white_threshold: float = 0.9,
         data_range: float | None = None, win_size: int = 7, chunk: int = 8, route: str = "auto",
         value_range: str = "unit") -> np.ndarray:
    """S_LF per image (App. B.5): SSIM(lowpass(generated), lowpass(condition)), mean over channels; edge maps:
    ``gray=True`` and ``mask="nonwhite"`` (or a bool mask); ``value_range`` "unit" (authors' code) or "signed";
    ``route`` "bandlimited" (metrics/bandlimited.py, ~10x faster at 256 px), "direct" or "auto"."""
    if route not in ("auto", "direct", "bandlimited"):
        raise ValueError(f"unknown route {route!r}; valid: 'auto', 'direct', 'bandlimited'")
    if value_range not in _S_LF_VALUE_RANGES:
        raise ValueError(f"unknown value_range {value_range!r}; valid: 'unit' ([0, 1], default), 'signed' ([-1, 1])")
    if data_range is None:
        data_range = 1.0 if value_range == "unit" else 2.0
    shape = tuple(getattr(generated, "shape", np.shape(generated)))
    fast = route == "bandlimited" or (route == "auto" and len(shape) == 4 and narrow_band(*shape[-2:], kappa))
    single = fast and all(getattr(v, "dtype", None) in (torch.float32, np.float32) for v in (generated, condition))
    dt = np.float32 if single else np.float64
    gen, cond = image_batch(generated, "generated", dt), image_batch(condition, "condition", dt)
    if gen.shape != cond.shape:
        raise ValueError(f"generated and condition must have the same shape, got {gen.shape} and {cond.shape}")
    h, w = gen.shape[-2:]
    if kappa * 0.5 < 1 / max(h, w):
        warnings.warn(f"kappa={kappa} keeps only the DC bin of {h}x{w} images, so S_LF compares mean colours only; "
                      f"pass kappa=kappa_for_size({max(h, w)}) = {kappa_for_size(max(h, w)):.3g} for the paper's "
                      "cycles per image", stacklevel=2)
    if isinstance(mask, str):
        if mask != "nonwhite":
            raise ValueError(f"unknown mask {mask!r}; valid: None, 'nonwhite', or a bool array (B, H, W)")
        mask = to_gray(cond)[:, 0] < white_threshold
    if gray:
        gen, cond = to_gray(gen).astype(dt, copy=False), to_gray(cond).astype(dt, copy=False)  # f64 unless single
    if mask is not None:
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), (gen.shape[0], h, w))
    if value_range == "unit":  # after the mask, whose threshold is in [-1, 1] units
        gen, cond = ((a + dt(1)) * dt(0.5) for a in (gen, cond))
    if fast:
        return lowpass_ssim(gen, cond, kappa, data_range=data_range, win_size=win_size, mask=mask, chunk=chunk)
    out = []
    for i in range(0, len(gen), max(1, int(chunk))) or [0]:
        lp = [ideal_lowpass(torch.from_numpy(np.ascontiguousarray(a[i:i + chunk])), kappa).numpy() for a in (gen, cond)]
        out.append(ssim(lp[0], lp[1], data_range=data_range, win_size=win_size,
                        mask=None if mask is None else mask[i:i + chunk]))
    return np.concatenate(out)
