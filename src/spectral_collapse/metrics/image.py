"""Per-image similarity between a translation and a reference (paper Sec. 6 tables: PSNR, SSIM, MS-SSIM, HaarPSI).

Inputs are (B, C, H, W) tensors or arrays in the library's range [-1, 1]; every function returns one float64 value
per image (shape (B,)), so results keep a ``sample`` dimension. PSNR and SSIM work in [-1, 1] with
``data_range`` = 2; the piq metrics map [-1, 1] to [0, 1] (after clipping, since piq rejects values outside its
range) and use ``data_range`` = 1.
"""
from __future__ import annotations

import numpy as np
from skimage.metrics import structural_similarity

from .latent import _as_numpy

__all__ = ["psnr", "ssim"]

_GRAY = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 luma weights


def _images(x, name: str) -> np.ndarray:
    x = _as_numpy(x)
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (B, C, H, W), got {x.shape}; add axes with x[None] or x[:, None]")
    return x


def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = _images(x, "x"), _images(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    return x, y


def _to_gray(x: np.ndarray) -> np.ndarray:
    """(B, 3, H, W) RGB -> (B, 1, H, W) BT.601 luma; one channel passes through."""
    if x.shape[1] == 1:
        return x
    if x.shape[1] != 3:
        raise ValueError(f"gray conversion needs 1 or 3 channels, got {x.shape[1]}")
    return np.einsum("bchw,c->bhw", x, _GRAY)[:, None]


def psnr(x, y, data_range: float = 2.0) -> np.ndarray:
    """Per-image PSNR = 10 log10(data_range^2 / MSE_i), MSE over each image's C H W values (inf where equal).

    The MSE is per image, not pooled over the batch, so the mean over images is the mean of per-image PSNRs
    (as in the paper's per-sample tables), which differs from the PSNR of the pooled MSE.
    """
    x, y = _pair(x, y)
    mse = np.mean((x - y) ** 2, axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        return 10 * np.log10(data_range**2 / mse)


def ssim(x, y, data_range: float = 2.0, win_size: int = 7, gray: bool = False, mask=None) -> np.ndarray:
    """Per-image SSIM (scikit-image, uniform win_size window, sample covariance), mean over channels.

    ``gray=True`` compares BT.601 luma instead of the channels. ``mask`` (B, H, W) or (H, W) bool averages the
    channel-mean SSIM map over the masked pixels instead of all pixels; as in scikit-image's own mean, the border
    of width (win_size - 1) // 2 is left out, so an all-true mask gives exactly scikit-image's value. An image
    whose mask keeps no interior pixel gets NaN.
    """
    x, y = _pair(x, y)
    if gray:
        x, y = _to_gray(x), _to_gray(y)
    b, c, h, w = x.shape
    if mask is not None:
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), (b, h, w))
    pad = (win_size - 1) // 2
    out = np.empty(b)
    for i in range(b):
        kw = dict(win_size=win_size, data_range=data_range, full=True)
        _, smap = (structural_similarity(x[i, 0], y[i, 0], **kw) if c == 1
                   else structural_similarity(x[i], y[i], channel_axis=0, **kw))
        smap = smap.reshape(-1, h, w).mean(0)[pad:h - pad, pad:w - pad]
        if mask is None:
            out[i] = smap.mean()
        else:
            keep = mask[i, pad:h - pad, pad:w - pad]
            out[i] = smap[keep].mean() if keep.any() else np.nan
    return out
