"""Deterministic DDIM (eta = 0) = one Euler step of dx/dsigma = eps in sigma coordinates.

Song et al. (2020), DDIM Eq. 12 with eta = 0; paper Eq. 3 (inversion) and Eq. 23 (sampling). In x~ = x/sqrt(alpha_bar)
the update x~_next = x~ + (sigma_next - sigma) * eps is the same whether sigma rises or falls (baselines-facts.md 0).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..loop import Context


@dataclass(frozen=True)
class Euler:
    """DDIM / EDM-Euler step. ``time_label``: network time label during inversion.

    "source": evaluate eps at the current level (explicit Euler; the released OVG code, guided-diffusion, BDIA).
    "destination": evaluate at the next level with the current input (prompt-to-prompt, diffusers pipelines).
    For a VP model "the current input" is the model-space latent x_t = x~ sqrt(alpha_bar_t), fed unchanged with
    the next label (diffusers' DDIMInverseScheduler pipelines), i.e. x~ is rescaled by s(sigma) / s(sigma_next).
    """

    time_label: str = "source"

    def __post_init__(self):
        if self.time_label not in ("source", "destination"):
            raise ValueError(f"time_label must be 'source' or 'destination', got {self.time_label!r}")

    def step(self, D, x, sigma: float, sigma_next: float, ctx: Context):
        if ctx.direction == "invert" and self.time_label == "destination":
            c = float(D.input_scale(sigma) / D.input_scale(sigma_next))  # 1 for EDM
            pred = ctx.denoise(D, x if c == 1.0 else x * c, sigma_next)
        else:
            pred = ctx.denoise(D, x, sigma)
        return x + (sigma_next - sigma) * pred.eps  # Euler step ("DDIM step")
