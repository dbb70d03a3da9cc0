"""EDM's deterministic second-order sampler (Karras et al. 2022, Algorithm 1 with S_churn = 0).

Heun's method on dx/dsigma = eps; the last step to sigma = 0 is plain Euler. Used as inversion too (sigma rising),
where the corrector is evaluated at the higher level.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..loop import Context


@dataclass(frozen=True)
class Heun:
    """Heun (trapezoidal) step: 2 network forwards per step, 1 when either end of the step is sigma = 0."""

    def step(self, D, x, sigma: float, sigma_next: float, ctx: Context):
        d_cur = ctx.denoise(D, x, sigma).eps
        x_euler = x + (sigma_next - sigma) * d_cur  # Euler step
        if sigma_next == 0 or sigma == 0:
            return x_euler
        d_next = ctx.denoise(D, x_euler, sigma_next).eps  # Apply 2nd order correction
        return x + (sigma_next - sigma) * 0.5 * (d_cur + d_next)
