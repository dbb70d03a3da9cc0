"""Degradations that make the source domain from target-domain images (paper Sec. 6): ``nearest_downup`` (the
super-resolution input, as the authors' released nearest resize) and ``edge_map`` (a Canny sketch drawn like
Edges2Shoes)."""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["nearest_downup", "edge_map", "LUMA_WEIGHTS"]

LUMA_WEIGHTS = (0.2125, 0.7154, 0.0721)  # ITU-R BT.709, the weights of skimage.color.rgb2gray


def nearest_downup(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Keep the top-left pixel of each factor x factor block and repeat it over the block; shape (..., H, W) kept."""
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"factor must be an integer >= 1, got {factor!r}; pass e.g. factor=4")
    h, w = x.shape[-2], x.shape[-1]
    if h % factor or w % factor:
        raise ValueError(f"factor {factor} does not divide the image size {h}x{w}; crop the image to a multiple of "
                         f"{factor} or choose a factor that divides both sides")
    f = int(factor)
    low = x[..., ::f, ::f]  # (..., H/f, W/f)
    return low.repeat_interleave(f, dim=-2).repeat_interleave(f, dim=-1)


def edge_map(img: torch.Tensor, *, sigma: float = 1.5, low_threshold: float = 0.1, high_threshold: float = 0.2,
             use_quantiles: bool = False, mode: str = "nearest") -> torch.Tensor:
    """Canny edges of the BT.709 luminance as dark (-1) lines on white (+1): (C, H, W) or (B, C, H, W) in [-1, 1] -> 3
    identical channels (other channel counts: the luminance is their mean). The defaults give 12.6 % edge pixels on the
    bundled IHC crops, sparse line drawings like Edges2Shoes sketches."""
    if img.ndim not in (3, 4):
        raise ValueError(f"edge_map expects (C, H, W) or (B, C, H, W), got shape {tuple(img.shape)}")
    from skimage.feature import canny  # local import: scikit-image is heavy

    batch = img if img.ndim == 4 else img[None]
    x = ((batch.detach().to("cpu", torch.float64) + 1) / 2).clamp(0, 1)
    lum = (torch.einsum("bchw,c->bhw", x, torch.tensor(LUMA_WEIGHTS, dtype=torch.float64)) if x.shape[1] == 3
           else x.mean(dim=1))
    edges = np.stack([canny(l, sigma=sigma, low_threshold=low_threshold, high_threshold=high_threshold,
                            use_quantiles=use_quantiles, mode=mode) for l in lum.numpy()])  # (B, H, W) bool
    out = torch.from_numpy(np.where(edges, -1.0, 1.0).astype(np.float32))
    out = out[:, None].expand(-1, 3, -1, -1).contiguous().to(img.device)
    return out if img.ndim == 4 else out[0]
