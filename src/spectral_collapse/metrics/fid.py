"""FID and KID between generated and real images (the paper's tables, Sec. 6) on clean-fid's "clean" Inception
features, offline-safe (metrics/weights.py); FID's tr (S1 S2)^{1/2} from the eigenvalues of S1 S2, KID the unbiased
MMD^2 with the cubic kernel over seeded random subsets (clean-fid's defaults)."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from .image import image_batch
from .latent import as_numpy
from .realism import mmd2_unbiased
from .weights import inception_model

__all__ = ["feature_stats", "frechet_distance", "fid_from_features", "kid_from_features", "inception_features",
           "FIDResult", "fid_kid"]


def feature_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (F,) and sample covariance (F, F) (ddof = 1, as clean-fid) of (N, F) features, float64."""
    f = as_numpy(features)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"features must have shape (N, F) with N >= 2, got {f.shape}")
    return f.mean(0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2) (the FID formula)."""
    mu1, mu2 = np.atleast_1d(as_numpy(mu1)), np.atleast_1d(as_numpy(mu2))
    s1, s2 = np.atleast_2d(as_numpy(sigma1)), np.atleast_2d(as_numpy(sigma2))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"shapes do not match: mu {mu1.shape} / {mu2.shape}, sigma {s1.shape} / {s2.shape}")
    ev = np.linalg.eigvals(s1 @ s2).real
    tr_sqrt = np.sqrt(np.clip(ev, 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)


def fid_from_features(feats1, feats2) -> float:
    """FID of two (N, F) feature sets: the Frechet distance of their means and sample covariances."""
    return frechet_distance(*feature_stats(feats1), *feature_stats(feats2))


def kid_from_features(feats1, feats2, num_subsets: int = 100, max_subset_size: int = 1000,
                      seed: int = 0) -> tuple[float, float]:
    """KID (mean, std over subsets): unbiased MMD^2 on ``num_subsets`` random subsets of m = min(N1, N2, max) each,
    drawn without replacement, seeded by ``seed`` (m equal to both set sizes: the full-sample value)."""
    x, y = as_numpy(feats1), as_numpy(feats2)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"features must be (N, F) with the same F, got {x.shape} and {y.shape}")
    m = min(len(x), len(y), max_subset_size)
    if m < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got {len(x)} and {len(y)}")
    rng = np.random.default_rng(seed)
    vals = [mmd2_unbiased(x[rng.choice(len(x), m, replace=False)], y[rng.choice(len(y), m, replace=False)])
            for _ in range(num_subsets)]
    return float(np.mean(vals)), float(np.std(vals))


def _clean_resize(images: np.ndarray) -> np.ndarray:
    """[-1, 1] (B, C, H, W) -> clean-fid input (B, 3, 299, 299) float32 in [0, 255] (uint8 quantised, PIL bicubic)."""
    from cleanfid.resize import build_resizer

    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    if images.shape[1] != 3:
        raise ValueError(f"FID needs 1- or 3-channel images, got {images.shape[1]} channels")
    u8 = np.rint((np.clip(images, -1, 1) + 1) * 127.5).astype(np.uint8).transpose(0, 2, 3, 1)
    resize = build_resizer("clean")
    return np.stack([resize(im) for im in u8]).transpose(0, 3, 1, 2)


def inception_features(images, *, path: str | os.PathLike | None = None, allow_download: bool | None = None,
                       on_missing: str = "nan", batch_size: int = 32, device: str | torch.device = "cpu"):
    """(features (N, 2048) or None, WeightStatus) of [-1, 1] images with clean-fid's Inception ("clean" mode)."""
    model, status = inception_model(path, allow_download=allow_download, on_missing=on_missing, device=device)
    if model is None:
        return None, status
    x = image_batch(images, "images", np.float32)
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            batch = torch.from_numpy(_clean_resize(x[i:i + batch_size])).to(device)
            feats = model.layers.forward((batch - 128) / 128)   # clean-fid's InceptionV3W.forward, "clean" mode
            out.append(feats.reshape(len(batch), -1).cpu().numpy().astype(np.float64))
    return np.concatenate(out), status


@dataclass(frozen=True)
class FIDResult:
    fid: float          # NaN when the Inception weights are unavailable
    kid: float          # mean unbiased MMD^2 over subsets (NaN likewise)
    kid_std: float      # std of KID over subsets
    n_generated: int
    n_real: int
    status: str         # "ok: ..." or "unavailable: ..." (store it beside the numbers, e.g. attrs["fid_status"])


def fid_kid(generated, real, *, features_fn=None, path: str | os.PathLike | None = None,
            allow_download: bool | None = None, on_missing: str = "nan", seed: int = 0,
            device: str | torch.device = "cpu") -> FIDResult:
    """FID and KID of two [-1, 1] image sets on clean-fid (or ``features_fn``) features; NaN without the weights."""
    n_gen, n_real = len(generated), len(real)
    if features_fn is not None:
        f1, f2, status = as_numpy(features_fn(generated)), as_numpy(features_fn(real)), "ok: custom features"
    else:
        f1, st = inception_features(generated, path=path, allow_download=allow_download, on_missing=on_missing,
                                    device=device)
        if f1 is None:
            return FIDResult(np.nan, np.nan, np.nan, n_gen, n_real, st.reason)
        f2, _ = inception_features(real, path=path, allow_download=False, on_missing=on_missing, device=device)
        status = st.reason
    kid, kid_std = kid_from_features(f1, f2, seed=seed)
    return FIDResult(fid_from_features(f1, f2), kid, kid_std, n_gen, n_real, status)
