"""TABA, "There and Back Again" (Staniszewski et al. 2025): replace the first inversion steps by forward diffusion.

The first K = round(fraction * N) steps of an N-step inversion are replaced by one closed-form jump
x_{sigma_K} = x0 + sigma_K * z with z ~ N(0, I) drawn from the sample's own seed (key "taba"); the remaining
steps run the base solver. Sampling uses the base solver unchanged. Default fraction 4% (2 of 50 steps).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..loop import Context
from .ddim import Euler


@dataclass(frozen=True)
class TABA:
    fraction: float = 0.04
    min_steps: int = 1
    base: Euler = field(default_factory=Euler)
    noise_key: str = "taba"

    def __post_init__(self):
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"TABA fraction must lie in [0, 1], got {self.fraction}")

    def jump_steps(self, n_steps: int) -> int:
        return min(n_steps, max(self.min_steps, round(self.fraction * n_steps)))

    def start(self, D, x0, sigmas, ctx: Context):
        """Forward-diffuse the clean input straight to level sigma_K; return (x, K)."""
        K = self.jump_steps(len(sigmas) - 1)
        if K == 0:
            return x0, 0
        sigma_K = float(sigmas[K])
        return x0 + sigma_K * ctx.randn(x0, self.noise_key), K

    def step(self, D, x, sigma: float, sigma_next: float, ctx: Context):
        return self.base.step(D, x, sigma, sigma_next, ctx)

    def sampler(self):
        return self.base
