"""Held-out denoising loss: the training objective on the test split's crops with fixed noise draws, one in each of
``BANDS`` equal-probability bands of the objective's noise distribution, on the EMA weights every ``HELDOUT_EVERY``
steps; the mean over bands estimates the training loss on unseen data (``studies.quality``)."""
from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import torch

from .losses import LOG_NORMAL, mean_loss

__all__ = ["HELDOUT_EVERY", "HELDOUT_SEED", "BANDS", "HeldOut", "heldout_set", "heldout_loss", "ema_evaluator"]

HELDOUT_EVERY = 100   # training steps between two evaluations (and one at the end)
HELDOUT_SEED = 20_251_123
BANDS = 4             # noise-level bands of equal training probability, lowest noise first
_MAX_CROPS = 64       # per label: the evaluation costs a forward pass per crop and band


@dataclass
class HeldOut:
    """Fixed held-out inputs: clean crops ``x0`` (N, C, H, W), labels, noise levels ``sigma`` and noise ``n`` for
    each band (``sigma[b]``, ``n[b]``)."""

    x0: torch.Tensor
    labels: torch.Tensor
    sigma: torch.Tensor   # (BANDS, N) float64
    n: torch.Tensor       # (BANDS, N, C, H, W)


def _held_out_images(data) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(crops, labels) of the data's test split, encoded when ``data`` is a latent view; None without one."""
    base = getattr(data, "data", data)  # LatentDomains wraps the image data
    src, tgt = getattr(base, "test_source", None), getattr(base, "test_target", None)
    if src is None or tgt is None or not torch.isfinite(tgt).all():
        src_only = src is not None and torch.isfinite(src).all()
        if not src_only:
            return None
        tgt = src[:0]
    src, tgt = src[:_MAX_CROPS], tgt[:_MAX_CROPS]
    x = torch.cat([src, tgt])
    y = torch.cat([torch.zeros(len(src), dtype=torch.long), torch.ones(len(tgt), dtype=torch.long)])
    space = getattr(data, "space", None)
    if space is not None:
        x = space.encode(x)
    return x.float(), y


def _band_sigmas(schedule, objective: str, u: torch.Tensor, *, P_mean: float, P_std: float) -> torch.Tensor:
    """Noise levels at training-distribution quantiles ``u`` in (0, 1)."""
    if objective in LOG_NORMAL:
        z = torch.tensor([NormalDist().inv_cdf(float(q)) for q in u.flatten()], dtype=torch.float64)
        return (P_mean + P_std * z).exp().reshape(u.shape)
    table = schedule.sigmas()
    idx = (u * len(table)).long().clamp_(0, len(table) - 1)
    return table[idx]


def heldout_set(data, D, objective: str, *, P_mean: float = -1.2, P_std: float = 1.2) -> HeldOut | None:
    """The fixed held-out inputs of a training run (None when the data has no test split)."""
    got = _held_out_images(data)
    if got is None:
        return None
    x0, y = got
    gen = torch.Generator().manual_seed(HELDOUT_SEED)
    N = len(x0)
    r = torch.rand((BANDS, N), generator=gen, dtype=torch.float64)
    u = (torch.arange(BANDS, dtype=torch.float64).reshape(-1, 1) + r) / BANDS
    sigma = _band_sigmas(getattr(D, "schedule", None), objective, u, P_mean=P_mean, P_std=P_std)
    n = torch.randn((BANDS, *x0.shape), generator=gen, dtype=torch.float32)
    return HeldOut(x0, y, sigma, n)


def ema_evaluator(spec, ema, data, D, cfg, device) -> tuple[HeldOut | None, object]:
    """(held-out inputs of a training run, a denoiser of ``spec`` on the EMA weights ``ema``, on ``device``);
    (None, None) when the data has no test split."""
    held = heldout_set(data, D, cfg.objective, P_mean=cfg.P_mean, P_std=cfg.P_std)
    if held is None:
        return None, None
    E = spec.build()
    E.net = ema
    return held, E.to(device).eval()


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
