"""Diagnostics of inverted noise maps x_T (paper App. B.2-B.3, Fig. 3 and Fig. 17): S_G (``gaussianity``, Eq. 31-33)
with ``norm_z``, S_DC (``decorrelation``, Eq. 34-36; the tables report 1 - the flagged ratio), PCA explained
variance (Fig. 3) and radial power spectra of images and trajectory updates (Fig. 17); results are numpy float64."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.stats
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

from ..fourier import radial_frequency

__all__ = [
    "GaussianityResult", "gaussianity", "ks_resolution", "sample_norm_ratio",
    "DecorrelationResult", "patch_roughness", "decorrelation_threshold", "decorrelation", "white_noise_s_dc",
    "pca_explained_variance", "radial_power_spectrum", "spectral_velocity", "support_leak",
]


def _as_tensor(x) -> torch.Tensor:
    """A torch view of a tensor / array (no copy for numpy arrays)."""
    if isinstance(x, torch.Tensor):
        return x.detach()
    return torch.as_tensor(np.asarray(x))


def as_numpy(x, dtype=np.float64) -> np.ndarray:
    """A numpy copy of a tensor / array in ``dtype``."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def _check_4d(x: torch.Tensor, name: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {tuple(x.shape)}; add a channel axis: x[:, None]")


def _sample_moments(x: torch.Tensor, chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(||x_i||^2 / d, sd of x_i's elements) per sample, in float64, ``chunk`` samples at a time (no full copy)."""
    sq, sd = [], []
    for c in x.split(max(1, int(chunk))):
        c = c.reshape(c.shape[0], -1).to(torch.float64)
        sq.append(c.square().mean(1).cpu())
        sd.append(c.std(1, correction=0).cpu())
    return torch.cat(sq).numpy(), torch.cat(sd).numpy()


def _unit_scale(sd: np.ndarray) -> np.ndarray:
    """1 / sd per sample, with 1 where sd is 0 or not finite (such a sample is left as it is)."""
    ok = np.isfinite(sd) & (sd > 0)
    return np.where(ok, 1 / np.where(ok, sd, 1), 1.0)


def sample_norm_ratio(latents, chunk: int = 64) -> np.ndarray:
    """||x_i||^2 / d per sample (N,), in float64: 1 on average under N(0, I), s^2 under N(0, s^2 I)."""
    x = _as_tensor(latents)
    if x.ndim < 2:
        raise ValueError(f"latents must have shape (N, ...), got {tuple(x.shape)}")
    return _sample_moments(x, chunk)[0]


@dataclass(frozen=True)
class GaussianityResult:
    s_g: float              # 1 - ks_d (Eq. 33)
    ks_d: float             # one-sample KS statistic of ||x_T||^2 against chi2(d) (Eq. 32)
    p_value: float          # KS p-value (a diagnostic in the paper)
    mean_norm_ratio: float  # mean of ||x_T||^2 / d; 1 under N(0, I), sd sqrt(2 / d) per sample
    z_mean: float           # mean of (||x_T||^2 - d) / sqrt(2 d); ~N(0, 1 / n) under N(0, I)
    d: int                  # degrees of freedom used
    n: int                  # number of latents
    norm_z: float           # (mean(r) - d) / sqrt(2 d / n) = sqrt(n) z_mean; ~N(0, 1) under N(0, I)


def ks_resolution(n: int, alpha: float = 0.05) -> float:
    """The one-sample KS critical distance at ``n`` samples, kstwo(n)'s 1 - alpha quantile (0.167 at n = 64): S_G
    values closer than this cannot be told apart at level ``alpha``."""
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    return float(scipy.stats.kstwo.ppf(1 - alpha, n))


def gaussianity(latents, d: int | None = None, chunk: int = 64) -> GaussianityResult:
    """S_G of a set of latents (paper Eq. 31-33); ``norm_z`` stays ordered where D_KS saturates."""
    x = _as_tensor(latents)
    if x.ndim < 2 or x.shape[0] < 1:
        raise ValueError(f"latents must have shape (N, ...) with N >= 1, got {tuple(x.shape)}")
    d = x[0].numel() if d is None else int(d)
    # squared norms summed in float64, a chunk of samples at a time so a large set is never copied whole
    r = torch.cat([c.reshape(c.shape[0], -1).to(torch.float64).pow(2).sum(1).cpu() for c in x.split(chunk)]).numpy()
    ks = scipy.stats.kstest(r, "chi2", args=(d,))
    return GaussianityResult(s_g=float(1 - ks.statistic), ks_d=float(ks.statistic), p_value=float(ks.pvalue),
                             mean_norm_ratio=float(np.mean(r / d)), z_mean=float(np.mean((r - d) / math.sqrt(2 * d))),
                             d=d, n=len(r), norm_z=float((np.mean(r) - d) / math.sqrt(2 * d / len(r))))


@dataclass(frozen=True)
class DecorrelationResult:
    s_dc: np.ndarray           # (N,) 1 - flagged_ratio: the tables' higher-is-better S_DC
    flagged_ratio: np.ndarray  # (N,) Eq. 36 as written: fraction of patches flagged as autocorrelated
    tau: float                 # roughness threshold of Eq. 35
    mask: np.ndarray | None = None  # (N, H', W') bool flag mask (paper's "Flag Mask"), when asked for
    norm_ratio: np.ndarray | None = None  # (N,) ||x||^2 / d of the raw samples: their amplitude (1 under N(0, I))
    standardized: bool = True  # whether each sample was scaled to unit variance before the roughness test


def patch_roughness(z, patch: int = 4, stride: int = 1) -> torch.Tensor:
    """rho_c(u) of Eq. 34: mean squared horizontal/vertical difference in each patch x patch window, (N, C, H', W')."""
    z = _as_tensor(z)
    _check_4d(z, "latents")
    if patch < 2 or stride < 1 or patch > min(z.shape[-2:]):
        raise ValueError(f"need 2 <= patch <= min(H, W) and stride >= 1, got patch={patch}, stride={stride} "
                         f"for spatial size {tuple(z.shape[-2:])}")
    z = z.to(torch.float64 if z.dtype == torch.float64 else torch.float32)
    dh = (z[..., :, 1:] - z[..., :, :-1]).square()   # (N, C, H, W-1): pair (p, p + e_x)
    dv = (z[..., 1:, :] - z[..., :-1, :]).square()   # (N, C, H-1, W): pair (p, p + e_y)
    # a k x k window holds k (k-1) horizontal and (k-1) k vertical pairs: equal counts, so the mean over all
    # 2 k (k-1) pairs is the average of the two window means
    rh = F.avg_pool2d(dh, (patch, patch - 1), stride)
    rv = F.avg_pool2d(dv, (patch - 1, patch), stride)
    return 0.5 * (rh + rv)


TAU_CACHE: dict[tuple, float] = {}


def decorrelation_threshold(shape: Sequence[int], patch: int = 4, stride: int = 1, fpr: float = 0.05,
                            n_mc: int = 200, seed: int = 0, max_values: int = 2**22) -> float:
    """tau with P(rho_c(u) <= tau) = fpr under N(0, I) latents of shape (C, H, W) (Eq. 35), seeded, cached."""
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3:
        raise ValueError(f"shape must be (C, H, W) of one latent, got {shape}")
    if not 0 < fpr < 1:
        raise ValueError(f"fpr must lie in (0, 1), got {fpr}")
    key = (shape, patch, stride, float(fpr), n_mc, seed, max_values)
    if key not in TAU_CACHE:
        g = torch.Generator().manual_seed(seed)
        per_draw = None
        values = []
        for start in range(0, n_mc, 16):
            z = torch.randn((min(16, n_mc - start), *shape), generator=g)
            rho = patch_roughness(z, patch, stride).reshape(z.shape[0], -1)
            if per_draw is None:
                per_draw = min(rho.shape[1], max(1, max_values // n_mc))
            if per_draw < rho.shape[1]:
                idx = torch.stack([torch.randperm(rho.shape[1], generator=g)[:per_draw] for _ in range(rho.shape[0])])
                rho = rho.gather(1, idx)
            values.append(rho.reshape(-1).numpy())
        TAU_CACHE[key] = float(np.quantile(np.concatenate(values).astype(np.float64), fpr))
    return TAU_CACHE[key]


def white_noise_s_dc(channels: int, fpr: float = 0.05, channel_fraction: float = 0.5) -> float:
    """The S_DC white noise scores in expectation: 1 - P(Binomial(channels, fpr) >= ceil(channel_fraction channels))."""
    if channels < 1 or not 0 < fpr < 1 or not 0 < channel_fraction <= 1:
        raise ValueError(f"need channels >= 1, 0 < fpr < 1 and 0 < channel_fraction <= 1; got {channels}, {fpr}, "
                         f"{channel_fraction}")
    need = math.ceil(channel_fraction * channels - 1e-9)
    return 1.0 - float(scipy.stats.binom.sf(need - 1, channels, fpr))


def decorrelation(latents, patch: int = 4, stride: int = 1, fpr: float = 0.05, channel_fraction: float = 0.5,
                  n_mc: int = 200, seed: int = 0, return_mask: bool = False, chunk: int = 64,
                  standardize: bool = True) -> DecorrelationResult:
    """Per-sample S_DC (App. B.3): a patch is flagged when >= channel_fraction of its channels have rho <= tau;
    ``standardize`` scales each sample to unit variance first (False: the paper's literal form)."""
    x = _as_tensor(latents)
    _check_4d(x, "latents")
    if not 0 < channel_fraction <= 1:
        raise ValueError(f"channel_fraction must lie in (0, 1], got {channel_fraction}")
    tau = decorrelation_threshold(x.shape[1:], patch, stride, fpr, n_mc, seed)
    need = channel_fraction * x.shape[1] - 1e-9
    norm_ratio, sd = _sample_moments(x, chunk)
    scale = _unit_scale(sd)
    flags = []
    for i, c in zip(range(0, len(x), chunk), x.split(chunk)):
        if standardize:
            dt = torch.float64 if c.dtype == torch.float64 else torch.float32
            c = c.to(dt) * torch.from_numpy(scale[i:i + len(c)]).to(dt).to(c.device)[:, None, None, None]
        below = (patch_roughness(c, patch, stride) <= tau).sum(1)   # (n, H', W') channels below tau
        flags.append((below >= need).cpu())
    flags = torch.cat(flags)
    flagged = flags.to(torch.float64).mean((1, 2)).numpy()
    return DecorrelationResult(s_dc=1 - flagged, flagged_ratio=flagged, tau=tau,
                               mask=flags.numpy() if return_mask else None, norm_ratio=norm_ratio,
                               standardized=bool(standardize))


def _gram_update(acc, block: torch.Tensor, outer: bool):
    """``acc`` plus block block^T (outer) or block^T block: BLAS syrk into a numpy ``acc``, else a torch matmul."""
    if isinstance(acc, np.ndarray):
        from scipy.linalg.blas import get_blas_funcs

        a = block.detach().contiguous().numpy()          # (r, c), C order: a.T is its Fortran-ordered view
        syrk = get_blas_funcs("syrk", dtype=a.dtype)      # trans=1: C += A'^T A' with A' = a.T, i.e. a a^T
        return syrk(1.0, a.T, beta=1.0, c=acc, trans=1 if outer else 0, overwrite_c=1)
    return acc + (block @ block.T if outer else block.T @ block)


def support_leak(latents, projector, chunk: int = 64) -> np.ndarray:
    """The support leak per latent (N,): ||(I - P) x_i||^2 / ||x_i||^2, the energy share outside ``projector``'s
    support S, over 1 - dim S / d; 0 for a latent in S (an exact model's deterministic inversion), 1 in expectation
    for N(0, I); NaN for a zero or non-finite latent."""
    x = _as_tensor(latents)
    _check_4d(x, "latents")
    out = []
    for c in x.split(max(1, int(chunk))):
        c = c.to(torch.float64)
        off = projector.complement(c).flatten(1).pow(2).sum(1)
        total = c.flatten(1).pow(2).sum(1)
        out.append(torch.where(total > 0, off / total.clamp_min(torch.finfo(torch.float64).tiny), torch.nan).cpu())
    return torch.cat(out).numpy() / projector.white_share


def pca_explained_variance(latents, n_components: int | None = None, chunk: int = 4096,
                           dtype: torch.dtype = torch.float64, standardize: bool = True) -> np.ndarray:
    """Cumulative explained variance ratio of one PCA over N latents (Fig. 3), each divided by its RMS first
    (``standardize``); from the centred Gram (or scatter) matrix in blocks: N^2 d / 2 multiply-adds."""
    x = _as_tensor(latents)
    if x.ndim < 2 or x.shape[0] < 2:
        raise ValueError(f"latents must have shape (N, ...) with N >= 2, got {tuple(x.shape)}")
    x = x.reshape(x.shape[0], -1)
    n, d = x.shape
    m = min(n, d)
    s = (torch.from_numpy(_unit_scale(np.sqrt(_sample_moments(x, max(1, 2**22 // max(d, 1)))[0])))
         .to(dtype).to(x.device) if standardize else None)
    cpu = x.device.type == "cpu" and dtype in (torch.float32, torch.float64)
    gram = (np.zeros((m, m), dtype=np.float64 if dtype == torch.float64 else np.float32, order="F") if cpu
            else torch.zeros((m, m), dtype=dtype, device=x.device))
    # scipy's BLAS would use every core; keep to torch's thread count (studies run side by side, 1 thread each)
    with threadpool_limits(limits=torch.get_num_threads(), user_api="blas"):
        if n <= d:
            for j in range(0, d, chunk):
                block = x[:, j:j + chunk].to(dtype)
                block = block if s is None else block * s[:, None]
                gram = _gram_update(gram, block - block.mean(0, keepdim=True), outer=True)
        else:
            def rows(i):
                r = x[i:i + chunk].to(dtype)
                return r if s is None else r * s[i:i + chunk, None]
            mean = sum(rows(i).sum(0) for i in range(0, n, chunk)) / n
            for i in range(0, n, chunk):
                gram = _gram_update(gram, rows(i) - mean, outer=False)
    g = torch.from_numpy(gram) if cpu else gram
    ev = torch.linalg.eigvalsh(g, UPLO="U").flip(0).clamp_min(0)
    ratio = (ev / torch.diagonal(g).sum()).cumsum(0).cpu().numpy().astype(np.float64)
    return ratio if n_components is None else ratio[:n_components]


def radial_power_spectrum(x, log: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged power |FFT|^2 / (H W) of the last two axes (white noise: 1): (freqs (K,), power (..., K))."""
    x = _as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 dims (..., H, W), got {tuple(x.shape)}")
    h, w = x.shape[-2:]
    power = torch.fft.fft2(x.to(torch.float64)).abs().square() / (h * w)
    r = radial_frequency(h, w, device=power.device).reshape(-1)
    k = torch.round(r * max(h, w)).long()
    counts = torch.bincount(k).to(torch.float64)
    keep = counts > 0
    flat = power.reshape(-1, h * w)
    sums = torch.zeros((flat.shape[0], len(counts)), dtype=torch.float64, device=power.device).index_add_(1, k, flat)
    mean = (sums / counts)[:, keep].reshape(*x.shape[:-2], int(keep.sum()))
    freqs = (torch.bincount(k, weights=r) / counts)[keep]
    mean = mean.cpu().numpy()
    if log:
        with np.errstate(divide="ignore"):
            mean = np.log10(mean)
    return freqs.cpu().numpy(), mean


def spectral_velocity(states, log: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Radial power spectrum of a trajectory's updates z_{t+1} - z_t (Fig. 17), states listed or stacked first."""
    z = _as_tensor(states) if not isinstance(states, (list, tuple)) else torch.stack([_as_tensor(s) for s in states])
    if z.shape[0] < 2:
        raise ValueError(f"need at least 2 states, got {z.shape[0]}")
    return radial_power_spectrum(z[1:].to(torch.float64) - z[:-1].to(torch.float64), log=log)
