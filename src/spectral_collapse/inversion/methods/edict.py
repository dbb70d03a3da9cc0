"""Exact inversions whose state is a pair of latents stacked on a new leading dim, (2, B, C, H, W).

EDICT (Wallace et al. 2023; salesforce/EDICT), with dt = sigma_next - sigma, one sampling step::

    x' = x + dt eps(y, sigma);   y' = y + dt eps(x', sigma)         (affine coupling)
    x_next = p x' + (1 - p) y';  y_next = p y' + (1 - p) x_next    (mixing, p = 0.93)

inverted exactly in reverse order; eps at the higher level's label, a latent at the lower level fed in model space
unchanged (as the authors); "leapfrog" alternates which latent moves first. 2 evaluations per step.

BDIA-DDIM (Zhang, Lewis, Kleijn 2024; guoqiang-zhang-x/BDIA), D_{i->j}(z_i) the DDIM map with eps(z_i, sigma_i)::

    sampling   z_{i-1} = gamma z_{i+1} - gamma D_{i->i+1}(z_i) + D_{i->i-1}(z_i)
    inversion  z_{i+1} = (z_{i-1} - D_{i->i-1}(z_i)) / gamma + D_{i->i+1}(z_i)

The first step is plain DDIM; an inversion returns (z_N, z_{N-1}); in x~ the gamma term carries s(sigma_prev) /
s(sigma_next). 1 evaluation per step."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from ..loop import Context

__all__ = ["EDICT", "BDIA"]


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
        pair = list((torch.stack([x, x]) if x.ndim == 4 else x).unbind(0))  # an image starts the pair (x, x)
        p, dt = self.p, sigma_next - sigma
        hi, lo = max(sigma, sigma_next), min(sigma, sigma_next)
        c = float(D.input_scale(lo) / D.input_scale(hi))  # a latent at the lower level is fed in model space as is

        def eps(z, low: bool = False):  # at the higher level's label; a latent at the lower level is fed unchanged
            return ctx.denoise(D, z * c if low and c != 1.0 else z, hi).eps

        n = len(ctx.sigmas) - 1
        g = ctx.step_index if ctx.direction == "sample" else n - 1 - ctx.step_index  # index in sampling order
        a = g % 2 if self.leapfrog else 0
        b = 1 - a
        if ctx.direction == "sample":
            pair[a] = pair[a] + dt * eps(pair[b])
            pair[b] = pair[b] + dt * eps(pair[a], low=True)
            pair[0] = p * pair[0] + (1 - p) * pair[1]
            pair[1] = p * pair[1] + (1 - p) * pair[0]
        else:
            pair[1] = (pair[1] - (1 - p) * pair[0]) / p
            pair[0] = (pair[0] - (1 - p) * pair[1]) / p
            pair[b] = pair[b] + dt * eps(pair[a], low=True)
            pair[a] = pair[a] + dt * eps(pair[b])
        return torch.stack(pair)


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
