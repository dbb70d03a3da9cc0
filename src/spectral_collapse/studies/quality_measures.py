"""The measurements behind the model-quality gate (``studies.quality``): radially averaged power spectra, per-channel
mean and std errors, a sliced Wasserstein distance between small patches, nearest-neighbour distances for
memorisation, a model's bias in denoising real crops, and the held-out loss's change over the last fifth of training.
Each is a plain function of tensors or logged numbers, usable on its own."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

__all__ = ["band_log_ratio", "sliced_wasserstein", "denoised_mean_bias", "plateau_change", "channel_errors",
           "patch_ratio", "nn_distances"]

_PATCH = 4  # patch side of the patch-distribution distance
_PROJECTIONS = 64  # random directions of the sliced Wasserstein distance
_SEED = 1234


def _mean_power(x: torch.Tensor) -> np.ndarray:
    """Radially averaged power of a batch, averaged over images and channels, bands 0..Nyquist."""
    from ..metrics.latent import radial_power_spectrum

    _, p = radial_power_spectrum(x.double())
    nyq = min(x.shape[-2:]) // 2
    return p.reshape(-1, p.shape[-1]).mean(0)[: nyq + 1]


def band_log_ratio(x: torch.Tensor, real: torch.Tensor) -> np.ndarray:
    """log10(power of x / power of real) in each radial band 1..Nyquist (bin k collects |omega| near k / n)."""
    px, pr = _mean_power(x), _mean_power(real)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.log10(px[1:] / pr[1:])
    return np.where(np.isfinite(r), r, np.inf)


def channel_errors(x: torch.Tensor, real: torch.Tensor) -> tuple[float, float]:
    """Largest relative error over channels of the mean ([0, 1] intensities) and of the std."""
    xs, rs = x.double().transpose(0, 1).flatten(1), real.double().transpose(0, 1).flatten(1)
    mx, mr = (xs.mean(1) + 1) / 2, (rs.mean(1) + 1) / 2
    sx, sr = xs.std(1), rs.std(1)
    mean_err = ((mx - mr).abs() / mr.abs().clamp_min(1e-8)).max()
    std_err = ((sx - sr).abs() / sr.clamp_min(1e-8)).max()
    return float(mean_err), float(std_err)


def _patches(x: torch.Tensor) -> torch.Tensor:
    p = torch.nn.functional.unfold(x.double(), _PATCH, stride=_PATCH)  # (N, C*16, L)
    return p.transpose(1, 2).reshape(-1, p.shape[1])


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, projections: int = _PROJECTIONS, seed: int = _SEED) -> float:
    """Sliced 1-Wasserstein distance between two equal-size point sets (rows), over fixed random directions."""
    if a.shape != b.shape:
        raise ValueError(f"sliced_wasserstein needs equal-size sets, got {tuple(a.shape)} and {tuple(b.shape)}")
    g = torch.Generator().manual_seed(seed)
    dirs = torch.randn(a.shape[1], projections, generator=g, dtype=torch.float64)
    dirs /= dirs.norm(dim=0, keepdim=True)
    pa, pb = (a.double() @ dirs).sort(0).values, (b.double() @ dirs).sort(0).values
    return float((pa - pb).abs().mean())


def patch_ratio(x: torch.Tensor, held: torch.Tensor, pool: torch.Tensor, gen: torch.Generator) -> float:
    """SW(patches of x, of n training crops) / SW(patches of n held-out crops, of the same training crops)."""
    n = min(len(x), len(held), len(pool))
    ref = pool[torch.randperm(len(pool), generator=gen)[:n]]
    num = sliced_wasserstein(_patches(x[:n]), _patches(ref))
    den = sliced_wasserstein(_patches(held[:n]), _patches(ref))
    return num / max(den, 1e-12)


def nn_distances(x: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
    """Euclidean distance of each image of x to its nearest image of pool (all eight dihedral views)."""
    from ..data.unpaired import dihedral

    flat_x = x.double().flatten(1)
    best = torch.full((len(x),), float("inf"), dtype=torch.float64)
    for k in range(8):
        p = dihedral(pool, k).double().flatten(1)
        for i in range(0, len(p), 2048):
            best = torch.minimum(best, torch.cdist(flat_x, p[i:i + 2048]).min(1).values)
    return best


def denoised_mean_bias(D, x0: torch.Tensor, label: int, sigmas, *, seed: int = _SEED, batch: int = 64) -> pd.DataFrame:
    """The relative error ([0, 1] scale) of each channel's mean of D(x0 + sigma n) against x0's, a row per sigma: the
    exact denoiser is unbiased at every level, a network drifts where it saw few training samples. Not judged: it
    says where a failed ``mean`` check comes from."""
    from ..inversion.loop import model_device

    n = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed), dtype=x0.dtype)  # drawn on the CPU
    ref = (x0.double().mean((0, 2, 3)) + 1) / 2
    dev = model_device(D) or x0.device  # the crops go where the model is (a GPU); the means come back to the CPU
    rows = []
    with torch.no_grad():
        for sigma in sigmas:
            out = torch.cat([D((x0[i:i + batch] + float(sigma) * n[i:i + batch]).to(dev), float(sigma),
                               label).x0.double().cpu() for i in range(0, len(x0), batch)])
            rel = ((out.mean((0, 2, 3)) + 1) / 2 - ref) / ref.abs().clamp_min(1e-8)
            rows.append({"sigma": float(sigma), **{f"channel {c}": float(v) for c, v in enumerate(rel)}})
    return pd.DataFrame(rows).set_index("sigma")


def plateau_change(heldout: list, total_steps: int) -> float | None:
    """Relative improvement of the held-out loss (mean over bands) over the last fifth of training:
    (L(0.8 T) - L(T)) / L(0.8 T), from the trainer's ``heldout`` log rows [step, mean, bands...]. None without one."""
    rows = [r for r in (heldout or []) if r and r[0] is not None]
    if len(rows) < 2 or not total_steps:
        return None
    steps = np.array([r[0] for r in rows], dtype=float)
    loss = np.array([r[1] for r in rows], dtype=float)
    if steps[-1] < total_steps:
        return None
    i = int(np.argmin(np.abs(steps - 0.8 * total_steps)))
    return float((loss[i] - loss[-1]) / loss[i])
