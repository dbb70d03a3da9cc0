"""Per-image similarity between a translation and a reference (paper Sec. 6 tables: PSNR, SSIM, MS-SSIM, HaarPSI,
LPIPS) of (B, C, H, W) images in [-1, 1], one float64 value per image; the piq metrics clip and map to [0, 1]."""
from __future__ import annotations

import numpy as np
import torch

from .latent import as_numpy

__all__ = ["psnr", "ssim", "MS_SSIM_WEIGHTS", "ms_ssim", "haarpsi", "lpips"]


def image_batch(x, name: str, dtype=np.float64) -> np.ndarray:
    x = as_numpy(x, dtype)
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (B, C, H, W), got {x.shape}; add axes with x[None] or x[:, None]")
    return x


def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = image_batch(x, "x"), image_batch(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    return x, y


def to_gray(x: np.ndarray) -> np.ndarray:
    """(B, 3, H, W) RGB -> (B, 1, H, W) BT.601 luma; one channel passes through."""
    if x.shape[1] == 1:
        return x
    if x.shape[1] != 3:
        raise ValueError(f"gray conversion needs 1 or 3 channels, got {x.shape[1]}")
    return np.einsum("bchw,c->bhw", x, np.array([0.299, 0.587, 0.114]))[:, None]  # ITU-R BT.601 luma weights


def psnr(x, y, data_range: float = 2.0) -> np.ndarray:
    """Per-image PSNR = 10 log10(data_range^2 / MSE_i) (inf where equal); the MSE is per image, not pooled."""
    x, y = _pair(x, y)
    mse = np.mean((x - y) ** 2, axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        return 10 * np.log10(data_range**2 / mse)


def _ssim_maps(x: np.ndarray, y: np.ndarray, data_range: float, win_size: int) -> np.ndarray:
    """Channel-mean SSIM maps (B, H, W) with scikit-image's formulas (uniform window, sample covariance), all
    images at once (``scipy.ndimage.uniform_filter``, mode "reflect")."""
    from scipy.ndimage import uniform_filter

    size = (1, 1, win_size, win_size)   # no filtering across images or channels
    cov_norm = win_size**2 / (win_size**2 - 1)
    ux, uy = uniform_filter(x, size), uniform_filter(y, size)
    uxx, uyy, uxy = uniform_filter(x * x, size), uniform_filter(y * y, size), uniform_filter(x * y, size)
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    C1, C2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    A1, A2, B1, B2 = 2 * ux * uy + C1, 2 * vxy + C2, ux**2 + uy**2 + C1, vx + vy + C2
    return ((A1 * A2) / (B1 * B2)).mean(1)


def ssim(x, y, data_range: float = 2.0, win_size: int = 7, mask=None, chunk: int = 2) -> np.ndarray:
    """Per-image SSIM (scikit-image's ``structural_similarity`` to round-off: uniform window, sample covariance),
    mean over channels; ``mask`` (B, H, W) / (H, W) bool averages the map's interior (NaN if empty)."""
    x, y = _pair(x, y)
    b, c, h, w = x.shape
    if win_size % 2 != 1 or win_size < 3:
        raise ValueError(f"win_size must be odd and >= 3, got {win_size}")
    if win_size > min(h, w):
        raise ValueError(f"win_size={win_size} exceeds the {h}x{w} images; pass a smaller odd win_size")
    keep = np.broadcast_to(np.asarray(True if mask is None else mask, dtype=bool), (b, h, w))
    pad = (win_size - 1) // 2
    out = np.empty(b)
    for i in range(0, b, chunk):
        smaps = _ssim_maps(x[i:i + chunk], y[i:i + chunk], data_range, win_size)[:, pad:h - pad, pad:w - pad]
        for j, smap in enumerate(smaps, start=i):
            k = keep[j, pad:h - pad, pad:w - pad]
            out[j] = smap[k].mean() if k.any() else np.nan
    return out


MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, finest scale first


def _unit_tensors(x, y) -> tuple[torch.Tensor, torch.Tensor]:
    """[-1, 1] pair -> float64 torch pair in [0, 1] (clipped: piq rejects values outside its data range)."""
    x, y = _pair(x, y)
    return tuple(torch.from_numpy(np.clip((a + 1) / 2, 0, 1)) for a in (x, y))


def ms_ssim(x, y, scales: int | None = None) -> tuple[np.ndarray, dict]:
    """Per-image MS-SSIM (piq) and its configuration (a dict for the results' attrs). Under 161 px a non-standard
    3-scale form (weights renormalised, 7- or 3-px window) is used; too small: NaN and ``config["reason"]``."""
    xt, yt = _unit_tensors(x, y)
    size = min(xt.shape[-2:])
    if scales is None:
        scales = 5 if size >= 161 else 3
    if not 1 <= scales <= len(MS_SSIM_WEIGHTS):
        raise ValueError(f"scales must lie in 1..{len(MS_SSIM_WEIGHTS)}, got {scales}")
    kernel_size = 11 if scales == 5 else (7 if size >= 6 * 2 ** (scales - 1) + 1 else 3)
    weights = np.array(MS_SSIM_WEIGHTS[:scales]) / sum(MS_SSIM_WEIGHTS[:scales])
    need = (kernel_size - 1) * 2 ** (scales - 1) + 1
    config = {"metric": "ms_ssim", "implementation": "piq.multi_scale_ssim", "scales": scales,
              "kernel_size": kernel_size, "kernel_sigma": 1.5, "scale_weights": weights.tolist(),
              "standard": scales == 5 and kernel_size == 11, "data_range": 1.0,
              "input": "[-1, 1] clipped, mapped to [0, 1]", "min_size": need, "reason": ""}
    if size < need:
        config["reason"] = f"image smaller than {need} px for {scales}-scale MS-SSIM with a {kernel_size}-px window"
        return np.full(len(xt), np.nan), config
    import piq  # imported here: piq pulls in torchvision (seconds), which importing the metrics should not cost
    val = piq.multi_scale_ssim(xt, yt, kernel_size=kernel_size, kernel_sigma=1.5, data_range=1.0,
                               reduction="none", scale_weights=torch.from_numpy(weights))
    return val.numpy().astype(np.float64), config


def haarpsi(x, y) -> np.ndarray:
    """Per-image HaarPSI (piq defaults: 3 scales, c = 30, alpha = 4.2; YIQ for RGB), images >= 16 px; piq's
    ``scales`` is not exposed (other values give NaN at 8-64 px)."""
    xt, yt = _unit_tensors(x, y)
    if min(xt.shape[-2:]) < 16:
        raise ValueError(f"HaarPSI needs images of at least 16 x 16 px, got {tuple(xt.shape[-2:])}; upsample first")
    import piq  # see ms_ssim
    return piq.haarpsi(xt, yt, data_range=1.0, reduction="none").numpy().astype(np.float64)


def lpips(x, y, *, model=None, allow_download: bool | None = None, on_missing: str = "nan", min_size: int = 32,
          batch_size: int = 64) -> tuple[np.ndarray, str]:
    """Per-image LPIPS (lpips 0.1.4, AlexNet) and a status; images under ``min_size`` px are upsampled by an integer
    factor, ``model(a, b)`` replaces the network; without the backbone offline: NaN and the reason."""
    xt, yt = (torch.from_numpy(np.clip(a, -1, 1)).float() for a in _pair(x, y))
    if model is None:
        from .weights import lpips_model
        model, st = lpips_model(allow_download=allow_download, on_missing=on_missing)
        status = st.reason
        if model is None:
            return np.full(len(xt), np.nan), status
    else:
        status = f"ok: caller's model {type(model).__name__}"
    if xt.shape[1] == 1:
        xt, yt = xt.expand(-1, 3, -1, -1), yt.expand(-1, 3, -1, -1)
    if xt.shape[1] != 3:
        raise ValueError(f"LPIPS needs 1- or 3-channel images, got {xt.shape[1]} channels")
    size = min(xt.shape[-2:])
    if size < min_size:
        k = -(-min_size // size)
        xt, yt = (torch.nn.functional.interpolate(a, scale_factor=k, mode="bilinear", align_corners=False)
                  for a in (xt, yt))
        status += f"; {size}-px images upsampled x{k} (bilinear) for AlexNet"
    with torch.no_grad():
        out = [model(xt[i:i + batch_size], yt[i:i + batch_size]).reshape(-1) for i in range(0, len(xt), batch_size)]
    return torch.cat(out).double().numpy(), status
