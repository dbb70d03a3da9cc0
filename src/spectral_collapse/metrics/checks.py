"""The input check every realism score (``metrics.realism``) runs first, refusing what it cannot score with an error
naming the argument and the fix: images are (B, C, H, W) floats in [-1, 1] (up to ±``MAX_ABS``) with 1 or 3 channels;
[0, 1] images beside [-1, 1] ones and crops shared with the reference are warned about. A non-finite crop scores NaN
(per image) or is left out (over a set); a reference must be finite, with 2 textured crops at least."""
from __future__ import annotations

import warnings

import numpy as np
import pywt

from ..data.folder_checks import FLAT_STD
from .image import image_batch

__all__ = ["MAX_ABS", "scored_images", "scored_features", "check_wavelet_size", "warn_shared_crops"]

MAX_ABS = 2.0     # largest |pixel| accepted: [-1, 1] images with some overshoot; 0..255 or 0..1e30 is refused
_SCALE = "pass x / 127.5 - 1 for 0..255 images, 2 * x - 1 for 0..1 images"


def _images(x, name: str) -> np.ndarray:
    """``x`` as a float64 (B, C, H, W) array of 1 or 3 channels, one crop at least, within ±MAX_ABS where finite."""
    dtype = x.dtype if hasattr(x, "dtype") else np.asarray(x).dtype
    if hasattr(x, "is_floating_point"):                       # a torch tensor, without importing torch here
        kind = "c" if x.is_complex() else "f" if x.is_floating_point() else "i"
    else:
        kind = dtype.kind
    if kind == "c":
        raise TypeError(f"{name} are {dtype}, not real images; pass x.real (or np.abs(x) for a magnitude), in [-1, 1]")
    if kind != "f":
        raise TypeError(f"{name} are {dtype}, not float images in [-1, 1]; {_SCALE}")
    x = image_batch(x, name)
    b, c = x.shape[:2]
    if c not in (1, 3) and x.shape[-1] in (1, 3, 4):
        raise ValueError(f"{name} look channel-last (B, H, W, C) = {x.shape}; the scores take (B, C, H, W): pass "
                         f"np.moveaxis(x, -1, 1) (torch: x.permute(0, 3, 1, 2))"
                         + (", then drop the alpha channel with [:, :3]" if x.shape[-1] == 4 else ""))
    if x.shape[-1] in (1, 3, 4) and x.shape[-2] > 2 * x.shape[-1]:
        raise ValueError(f"{name} are {x.shape[-2]} x {x.shape[-1]} px crops (shape {x.shape}), as a channel-last "
                         f"batch cut with x[:, :3] gives; pass np.moveaxis(x, -1, 1) on the uncut batch instead")
    if c not in (1, 3):
        raise ValueError(f"{name} must have 1 (grey) or 3 (RGB) channels, got {c} in shape {x.shape}; "
                         "drop an alpha channel with x[:, :3]")
    if b == 0:
        raise ValueError(f"{name} hold 0 crops (shape {x.shape}); pass at least one image")
    big = np.abs(np.where(np.isfinite(x), x, 0.0)).max()
    if big > MAX_ABS:
        raise ValueError(f"{name} reach |x| = {big:.3g}, outside the range [-1, 1] the realism scores take (values "
                         f"up to ±{MAX_ABS:g} pass); {_SCALE}")
    return x


def check_wavelet_size(x: np.ndarray, wavelet: str) -> None:
    """Refuse crops smaller than one level of ``wavelet`` (``pywt.dwt_max_level`` 0: 2 (filter length - 1) px)."""
    h, w = x.shape[-2:]
    length = pywt.Wavelet(wavelet).dec_len
    if pywt.dwt_max_level(min(h, w), length) < 1:
        raise ValueError(f"images are {h} x {w} px, too small for one level of the {wavelet} wavelet (it needs at "
                         f"least {2 * (length - 1)} x {2 * (length - 1)} px); score larger crops, or pass "
                         f"wavelet='haar' (2 px)")


def _warn_zero_one(x: np.ndarray, other: np.ndarray | None, name: str) -> None:
    """Warn when ``x`` (all in [0, 1], 1 % below 0.5) looks like [0, 1] images beside ``other`` (5 % below 0)."""
    if other is None:
        return
    fx, fo = x[np.isfinite(x)], other[np.isfinite(other)]
    if fx.size == 0 or fo.size == 0 or fx.min() < 0 or fx.max() > 1:
        return
    if (fx < 0.5).mean() >= 0.01 and (fo < 0).mean() >= 0.05:
        warnings.warn(f"images lie in [0, 1] while {100 * np.mean(fo < 0):.0f} % of the {name}'s values lie below 0: "
                      f"the scores take [-1, 1] images, so these scores are off; pass 2 * x - 1 for images in [0, 1]",
                      RuntimeWarning, stacklevel=4)


def warn_shared_crops(x: np.ndarray, reference: np.ndarray) -> None:
    """Warn when crops of ``x`` are also in ``reference`` (KID of a set against itself is about -2 / n)."""
    ref = {r.tobytes() for r in np.ascontiguousarray(reference)}
    shared = sum(r.tobytes() in ref for r in np.ascontiguousarray(x))
    if shared:
        warnings.warn(f"{shared} of the {len(x)} images are also reference crops; KID of crops against themselves "
                      f"is biased below 0 and measures nothing: score against reference crops disjoint from the "
                      f"images", RuntimeWarning, stacklevel=3)


def _nonfinite(x: np.ndarray) -> np.ndarray:
    """Per crop, whether it holds a NaN or inf."""
    return ~np.isfinite(x).reshape(len(x), -1).all(1)


def _crops(mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)
    return ", ".join(map(str, idx[:5])) + (f" and {len(idx) - 5} more" if len(idx) > 5 else "")


def _reference(x, size: tuple[int, int]) -> np.ndarray:
    ref = _images(x, "reference")
    bad = _nonfinite(ref)
    if bad.any():
        raise ValueError(f"reference holds non-finite values (NaN or inf) in {bad.sum()} of {len(ref)} crops "
                         f"(index {_crops(bad)}); the reference must be real images: remove those crops")
    if ref.shape[-2:] != size:
        raise ValueError(f"images are {size[0]} x {size[1]} px but reference crops {ref.shape[-2]} x "
                         f"{ref.shape[-1]} px; the wavelet statistics depend on the crop size: crop or resize both "
                         "to one size")
    textured = int((ref.reshape(*ref.shape[:2], -1).std(2) > FLAT_STD).any(1).sum())
    if textured < 2:
        raise ValueError(f"reference needs at least 2 crops with texture, got {textured} of {len(ref)} (the others "
                         f"are flat: one value per channel); pass real target crops")
    return ref


def scored_images(images, *, truth=None, reference=None, nonfinite: str = "nan",
                  min_crops: int = 1) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(images, truth, reference) checked, as float64 arrays (None stays None). ``nonfinite``: "nan" (a non-finite
    crop made all NaN) or "drop" (left out with a warning; fewer than ``min_crops`` left is refused)."""
    x = _images(images, "images")
    bad = _nonfinite(x)
    if nonfinite == "drop" and bad.any():
        warnings.warn(f"images: left out {bad.sum()} of {len(x)} crops holding non-finite values (NaN or inf; index "
                      f"{_crops(bad)}); the score is over the other {len(x) - bad.sum()}", RuntimeWarning,
                      stacklevel=3)
        x = x[~bad]
    elif bad.any():
        x = np.where(bad[:, None, None, None], np.nan, x)
    if len(x) < min_crops:
        raise ValueError(f"images hold {len(x)} usable crops; this score needs at least {min_crops}")
    if truth is not None:
        truth = _images(truth, "truth")
        if truth.shape != x.shape:
            raise ValueError(f"truth must hold one crop of the images' shape per image: images {x.shape}, truth "
                             f"{truth.shape}")
    if reference is not None:
        reference = _reference(reference, x.shape[-2:])
    _warn_zero_one(x, truth, "paired truth")
    _warn_zero_one(x, reference, "reference")
    return x, truth, reference


def scored_features(a, b, reference) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """(a, b, reference) feature sets checked, as float64 (crops, features) arrays with the reference's features; the
    reference finite with 2 crops at least (non-finite crops of a and b stay: the scores leave them out)."""
    reference = np.asarray(reference, dtype=np.float64)
    if reference.ndim != 2 or len(reference) < 2:
        raise ValueError(f"reference must be features of shape (crops, features) with at least 2 crops, got shape "
                         f"{reference.shape}")
    if not np.isfinite(reference).all():
        raise ValueError(f"reference features hold non-finite values in {_nonfinite(reference).sum()} of "
                         f"{len(reference)} crops; the reference must be real crops: remove those")

    def checked(f, name: str) -> np.ndarray:
        f = np.asarray(f, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] != reference.shape[1]:
            raise ValueError(f"{name} must be features of shape (crops, {reference.shape[1]}) like the reference, "
                             f"got shape {f.shape}")
        return f
    return checked(a, "features" if b is None else "a"), (None if b is None else checked(b, "b")), reference
