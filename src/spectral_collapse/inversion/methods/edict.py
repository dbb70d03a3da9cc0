"""EDICT: exact diffusion inversion via coupled transformations (Wallace et al. 2023; salesforce/EDICT).

Two coupled latents (x, y) start equal. A sampling step with dt = sigma_next - sigma (the paper's coupled update in
sigma coordinates)::

    x' = x + dt eps(y, sigma);   y' = y + dt eps(x', sigma)         (affine coupling)
    x_next = p x' + (1 - p) y';  y_next = p y' + (1 - p) x_next    (mixing, p = 0.93)

Inversion applies the exact inverse in reverse order (un-mix, then y, then x). Every eps carries the higher
level's time label; a latent at the lower level is fed in model space unchanged (x~ times s(sigma_low) /
s(sigma_high)), as the authors do. "Leapfrog" alternates which latent moves first, by sampling index. Cost: 2
evaluations per step. The state is the pair stacked on a new leading dim, (2, B, C, H, W); x is the primary."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..loop import Context

__all__ = ["EDICT", "as_pair"]


def as_pair(x: torch.Tensor, ndim: int = 4) -> torch.Tensor:
    """A (2, B, ...) pair state; an image (B, ...) becomes the pair (x, x)."""
    return torch.stack([x, x]) if x.ndim == ndim else x


@dataclass(frozen=True)
class EDICT:
    """EDICT coupled inversion / sampling; defaults from the authors' ``EDICT_editing`` (mix_weight 0.93, leapfrog)."""

    p: float = 0.93          # mixing weight (authors' mix_weight)
    leapfrog: bool = True    # alternate which latent is updated first
    pair_state: ClassVar[bool] = True

    def __post_init__(self):
        if not 0.0 < self.p <= 1.0:
            raise ValueError(f"EDICT mixing weight p must lie in (0, 1], got {self.p}")

    def step(self, D, x, sigma: float, sigma_next: float, ctx: Context):
        pair = list(as_pair(x).unbind(0))
        p, dt = self.p, sigma_next - sigma
        hi, lo = max(sigma, sigma_next), min(sigma, sigma_next)
        c = float(D.input_scale(lo) / D.input_scale(hi))  # a latent at the lower level is fed in model space as is

        def eps_hi(z):  # eps at the higher level's label of a latent at the higher level
            return ctx.denoise(D, z, hi).eps

        def eps_lo(z):  # ... of a latent at the lower level (the authors feed x_t unchanged with the higher label)
            return ctx.denoise(D, z if c == 1.0 else z * c, hi).eps

        n = len(ctx.sigmas) - 1
        g = ctx.step_index if ctx.direction == "sample" else n - 1 - ctx.step_index  # index in sampling order
        a = g % 2 if self.leapfrog else 0
        b = 1 - a
        if ctx.direction == "sample":
            pair[a] = pair[a] + dt * eps_hi(pair[b])
            pair[b] = pair[b] + dt * eps_lo(pair[a])
            pair[0] = p * pair[0] + (1 - p) * pair[1]
            pair[1] = p * pair[1] + (1 - p) * pair[0]
        else:
            pair[1] = (pair[1] - (1 - p) * pair[0]) / p
            pair[0] = (pair[0] - (1 - p) * pair[1]) / p
            pair[b] = pair[b] + dt * eps_lo(pair[a])
            pair[a] = pair[a] + dt * eps_hi(pair[b])
        return torch.stack(pair)
