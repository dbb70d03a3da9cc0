"""Deterministic DDIM (eta = 0) = one Euler step of dx/dsigma = eps in sigma coordinates.

Song et al. (2020), DDIM Eq. 12 with eta = 0; paper Eq. 3 (inversion) and Eq. 23 (sampling). In x~ = x/sqrt(alpha_bar)
the update x~_next = x~ + (sigma_next - sigma) * eps is the same whether sigma rises or falls.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..loop import Context


def destination_prediction(D, x, sigma: float, sigma_next: float, ctx: Context):
    """The prediction of an inversion step from sigma to sigma_next with the network told the destination's time
    and given the current input: for a VP model the model-space latent goes in unchanged with the next timestep and
    the output is read with the current level's alpha_bar (``told``; diffusers' DDIMInverseScheduler step), for
    other models (EDM, flow) the network is evaluated at the next level on the current input."""
    told = getattr(D, "told", None)
    if told is not None:
        with told(sigma_next):
            return ctx.denoise(D, x, sigma)
    c = float(D.input_scale(sigma) / D.input_scale(sigma_next))  # 1 for EDM
    return ctx.denoise(D, x if c == 1.0 else x * c, sigma_next)


@dataclass(frozen=True)
class Euler:
    """DDIM / EDM-Euler step. ``time_label``: network time label during inversion.

    "source": evaluate eps at the current level (explicit Euler; the released OVG code, guided-diffusion, BDIA).
    "destination": the network is told the next level's time and gets the current input (prompt-to-prompt,
    diffusers pipelines). For a VP model this is diffusers' DDIMInverseScheduler step exactly: the model-space latent
    x_t = x~ sqrt(alpha_bar_t) goes in unchanged with the next timestep, and the output is read as eps, x0 or v with
    the current level's alpha_bar (``told``), so v- and x0-prediction models invert as diffusers inverts them. For
    other models (EDM, flow) the network is evaluated at the next level on the current input.
    """

    time_label: str = "source"

    def __post_init__(self):
        if self.time_label not in ("source", "destination"):
            raise ValueError(f"time_label must be 'source' or 'destination', got {self.time_label!r}")

    def step(self, D, x, sigma: float, sigma_next: float, ctx: Context):
        if ctx.direction == "invert" and self.time_label == "destination":
            pred = destination_prediction(D, x, sigma, sigma_next, ctx)
        else:
            pred = ctx.denoise(D, x, sigma)
        return x + (sigma_next - sigma) * pred.eps  # Euler step ("DDIM step")
