"""BDIA-DDIM: bidirectional integration approximation (Zhang, Lewis, Kleijn 2024; guoqiang-zhang-x/BDIA).

With D_{i->j}(z_i) the DDIM map from level i to level j using eps(z_i, sigma_i)::

    sampling   z_{i-1} = gamma z_{i+1} - gamma D_{i->i+1}(z_i) + D_{i->i-1}(z_i)
    inversion  z_{i+1} = (z_{i-1} - D_{i->i-1}(z_i)) / gamma + D_{i->i+1}(z_i)

The first step from a single latent is plain DDIM; an inversion returns the pair (z_N, z_{N-1}), and sampling's
first step moves to z_{N-1} without a forward, as the authors' code. In x~ the gamma term carries the ratio
s(sigma_prev) / s(sigma_next) of the VP input scales (1 for EDM). Cost: 1 evaluation per step. The state is
(z_current, z_previous) stacked on a new leading dim, (2, B, C, H, W)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..loop import Context

__all__ = ["BDIA"]


@dataclass(frozen=True)
class BDIA:
    """BDIA-DDIM exact inversion. gamma: the authors' function default 1.0 (README: 0.5 for 10 steps, 1.0 for 40)."""

    gamma: float = 1.0
    pair_state: ClassVar[bool] = True

    def __post_init__(self):
        if self.gamma <= 0:
            raise ValueError(f"BDIA gamma must be > 0 (inversion divides by it), got {self.gamma}")

    def step(self, D, x, sigma: float, sigma_next: float, ctx: Context):
        if x.ndim == 4:  # one latent: the first step is plain DDIM
            z_next = x + (sigma_next - sigma) * ctx.denoise(D, x, sigma).eps
            return torch.stack([z_next, x])
        z, z_other = x.unbind(0)
        if ctx.step_index == 0:
            if ctx.direction == "invert":
                raise ValueError("BDIA inversion starts from an image (B, C, H, W), not from a pair")
            return torch.stack([z_other, z])  # the inverted pair (z_N, z_{N-1}) already holds this step's result
        sigma_prev = float(ctx.sigmas[ctx.step_index - 1])
        eps = ctx.denoise(D, z, sigma).eps
        to_prev = z + (sigma_prev - sigma) * eps  # D_{i->prev}(z_i)
        to_next = z + (sigma_next - sigma) * eps  # D_{i->next}(z_i)
        g = self.gamma if ctx.direction == "sample" else 1.0 / self.gamma
        c = g * float(D.input_scale(sigma_prev)) / float(D.input_scale(sigma_next))
        return torch.stack([c * (z_other - to_prev) + to_next, z])
