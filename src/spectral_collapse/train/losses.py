"""Training objectives through the denoiser in sigma coordinates (x = x0 + sigma n): "eps" (paper Eq. 19), "x0"
(Sec. 6.3) and "v" (v = a n - b x0) with t ~ U{0..T-1} on the VP schedule; "edm" (Eq. 28-29, lambda(sigma) weighted,
ln sigma ~ N(P_mean, P_std^2)); "flow" (SD3: v = n - x0, logit t = ln sigma ~ N(P_mean, P_std^2)). ``heldout_loss``:
the objective on the test split with fixed noise in ``BANDS`` equal-probability bands (``framework.quality``)."""
from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import torch

from ..models.base import Denoiser

__all__ = ["OBJECTIVES", "LOG_NORMAL", "sample_sigmas", "diffusion_loss", "min_snr_weight", "truncated_snr_weight",
           "to_device", "HELDOUT_EVERY", "HELDOUT_SEED", "BANDS", "HeldOut", "heldout_set", "heldout_loss"]

OBJECTIVES = ("eps", "x0", "v", "edm", "flow")
LOG_NORMAL = ("edm", "flow")  # objectives whose ln sigma is drawn from N(P_mean, P_std^2)


def sample_sigmas(D: Denoiser, objective: str, n: int, generator: torch.Generator, *, P_mean: float = -1.2,
                  P_std: float = 1.2, table: torch.Tensor | None = None) -> torch.Tensor:
    """Training noise levels on the generator's device: uniform on the VP grid (``table``: it on that device, which
    a CUDA graph cannot copy), or log-normal sigma (EDM, flow)."""
    dev = generator.device
    if objective in LOG_NORMAL:
        return (P_mean + P_std * torch.randn(n, generator=generator, dtype=torch.float64, device=dev)).exp()
    table = D.schedule.sigmas() if table is None else table
    t = torch.randint(0, len(table), (n,), generator=generator, device=dev)
    return table[t]


def to_device(t: torch.Tensor, device) -> torch.Tensor:
    """``t`` on ``device``; to a GPU through pinned memory, so the copy does not wait for the queued kernels."""
    device = torch.device(device)
    if device.type != "cuda" or t.device.type != "cpu":
        return t.to(device)
    return t.pin_memory().to(device, non_blocking=True)


def diffusion_loss(D: Denoiser, x0: torch.Tensor, labels: torch.Tensor, generator: torch.Generator, objective: str, *,
                   P_mean: float = -1.2, P_std: float = 1.2, sigma_data: float = 0.5, micro_batch: int | None = None,
                   backward=None, min_snr_gamma: float | None = None, truncated_snr: bool = False,
                   table: torch.Tensor | None = None) -> torch.Tensor:
    """Mean loss of one batch, every draw from ``generator`` (a CUDA one: capturable). ``micro_batch``: chunks, each
    chunk's weighted loss passed to ``backward(part, last)`` (the result is then detached)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
    if micro_batch is not None and (micro_batch < 1 or backward is None):
        raise ValueError(f"micro_batch must be >= 1 and come with a backward callable, got micro_batch={micro_batch}")
    B = x0.shape[0]
    sigma = to_device(sample_sigmas(D, objective, B, generator, P_mean=P_mean, P_std=P_std, table=table), x0.device)
    n = torch.randn(x0.shape, generator=generator, dtype=torch.float32, device=generator.device)
    n = to_device(n, x0.device).to(x0.dtype)
    chunk = B if micro_batch is None else min(int(micro_batch), B)
    if chunk == B and backward is None:
        return mean_loss(D, x0, labels, sigma, n, objective, sigma_data, min_snr_gamma, truncated_snr)
    total = torch.zeros((), dtype=x0.dtype, device=x0.device)
    for i in range(0, B, chunk):
        j = min(B, i + chunk)
        part = mean_loss(D, x0[i:j], labels[i:j], sigma[i:j], n[i:j], objective, sigma_data, min_snr_gamma,
                          truncated_snr)
        part = part if j - i == B else part * ((j - i) / B)
        backward(part, j == B)
        total = total + part.detach()
    return total


def min_snr_weight(sigma: torch.Tensor, objective: str, gamma: float) -> torch.Tensor:
    """Min-SNR-gamma loss weights (Hang et al. 2023), SNR = 1 / sigma^2: min(SNR, gamma) / SNR (eps),
    min(SNR, gamma) (x0), min(SNR, gamma) / (SNR + 1) (v); the low-noise levels count less."""
    snr = 1.0 / sigma.double().pow(2)
    clipped = snr.clamp(max=gamma)
    w = {"eps": clipped / snr, "x0": clipped, "v": clipped / (snr + 1)}.get(objective)
    if w is None:
        raise ValueError(f"min-SNR weighting applies to the eps, x0 and v objectives, not {objective!r} (EDM has its own "
                         f"lambda(sigma))")
    return w


def truncated_snr_weight(sigma: torch.Tensor, objective: str) -> torch.Tensor:
    """Truncated-SNR loss weights (Salimans and Ho 2022): the loss is max(eps error, x0 error)."""
    if objective not in ("eps", "x0"):
        raise ValueError(f"truncated-SNR weighting applies to the eps and x0 objectives, not {objective!r}")
    s2 = sigma.double().pow(2)
    return s2.clamp(min=1.0) if objective == "eps" else (1.0 / s2).clamp(min=1.0)


def mean_loss(D: Denoiser, x0, labels, sigma, n, objective: str, sigma_data: float,
              min_snr_gamma: float | None = None, truncated_snr: bool = False) -> torch.Tensor:
    s = sigma.to(x0).reshape(-1, 1, 1, 1)
    pred = D(x0 + s * n, sigma.to(x0), labels)
    a = 1 / (1 + s**2).sqrt()
    if objective == "eps":
        err = (pred.eps - n).pow(2)
    elif objective in ("x0", "edm"):
        err = (pred.x0 - x0).pow(2)
    elif objective == "v":  # v = a n - b x0, b = sqrt(1 - alpha_bar) = s a
        err = ((a * pred.eps - s * a * pred.x0) - (a * n - s * a * x0)).pow(2)
    else:  # flow: v = n - x0 on x_t = (1 - t) x0 + t n; the denoiser's eps - x0 is the network's v
        err = ((pred.eps - pred.x0) - (n - x0)).pow(2)
    if objective == "edm":
        return ((s**2 + sigma_data**2) / (s * sigma_data) ** 2 * err).mean()
    if min_snr_gamma is not None or truncated_snr:
        w = truncated_snr_weight(sigma, objective) if truncated_snr else min_snr_weight(sigma, objective, min_snr_gamma)
        return (w.to(x0).reshape(-1, 1, 1, 1) * err).mean()
    return err.mean()


HELDOUT_EVERY = 100   # training steps between two evaluations (and one at the end)
HELDOUT_SEED = 20_251_123
BANDS = 4             # noise-level bands of equal training probability, lowest noise first
_MAX_CROPS = 64       # per label: the evaluation costs a forward pass per crop and band


@dataclass
class HeldOut:
    """Fixed held-out inputs: clean crops ``x0``, labels, and per band noise levels ``sigma[b]`` and noise ``n[b]``."""

    x0: torch.Tensor
    labels: torch.Tensor
    sigma: torch.Tensor   # (BANDS, N) float64
    n: torch.Tensor       # (BANDS, N, C, H, W)


def heldout_set(data, D, objective: str, *, P_mean: float = -1.2, P_std: float = 1.2) -> HeldOut | None:
    """The held-out inputs of a run: the test split's crops (encoded for a latent view) and noise; None without."""
    base = getattr(data, "data", data)  # LatentDomains wraps the image data
    src, tgt = getattr(base, "test_source", None), getattr(base, "test_target", None)
    if src is None or tgt is None or not torch.isfinite(tgt).all():
        if src is None or not torch.isfinite(src).all():
            return None
        tgt = src[:0]   # no test targets: the sources alone
    src, tgt = src[:_MAX_CROPS], tgt[:_MAX_CROPS]
    x0 = torch.cat([src, tgt])
    y = torch.cat([torch.zeros(len(src), dtype=torch.long), torch.ones(len(tgt), dtype=torch.long)])
    if getattr(data, "space", None) is not None:
        x0 = data.space.encode(x0)
    x0 = x0.float()
    gen = torch.Generator().manual_seed(HELDOUT_SEED)
    N = len(x0)
    r = torch.rand((BANDS, N), generator=gen, dtype=torch.float64)
    u = (torch.arange(BANDS, dtype=torch.float64).reshape(-1, 1) + r) / BANDS
    if objective in LOG_NORMAL:  # noise levels at the training distribution's quantiles u
        z = torch.tensor([NormalDist().inv_cdf(float(q)) for q in u.flatten()], dtype=torch.float64)
        sigma = (P_mean + P_std * z).exp().reshape(u.shape)
    else:
        table = D.schedule.sigmas()
        sigma = table[(u * len(table)).long().clamp_(0, len(table) - 1)]
    n = torch.randn((BANDS, *x0.shape), generator=gen, dtype=torch.float32)
    return HeldOut(x0, y, sigma, n)


@torch.no_grad()
def heldout_loss(D, held: HeldOut, objective: str, *, sigma_data: float = 0.5, batch_size: int = 64) -> list[float]:
    """[mean over bands, band 1, ..., band BANDS] of the objective on the held-out inputs (``D`` in eval mode)."""
    dev = next(D.parameters()).device if hasattr(D, "parameters") else torch.device("cpu")
    per_band = []
    for b in range(held.sigma.shape[0]):
        tot, N = 0.0, len(held.x0)
        for i in range(0, N, batch_size):
            j = min(N, i + batch_size)
            part = mean_loss(D, held.x0[i:j].to(dev), held.labels[i:j].to(dev), held.sigma[b, i:j].to(dev),
                              held.n[b, i:j].to(dev), objective, sigma_data)
            tot += float(part) * (j - i)
        per_band.append(tot / N)
    return [sum(per_band) / len(per_band), *per_band]
