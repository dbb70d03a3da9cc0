"""Deterministic DDIM (eta = 0; Song et al. 2020, Eq. 12) = an Euler step x~_next = x~ + (sigma_next - sigma) eps
(paper Eq. 3 and 23), either direction; ``Heun``: EDM's second-order sampler (Karras et al. 2022, Alg. 1); ``TABA``
(Staniszewski et al. 2025): the first inversion steps by forward diffusion."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..loop import Context


def destination_prediction(D, x, sigma: float, sigma_next: float, ctx: Context):
    """The network told the destination's time on the current input: a VP model's model-space latent unchanged with
    the next timestep (``told``; diffusers' DDIMInverseScheduler), other models at the next level."""
    told = getattr(D, "told", None)
    if told is not None:
        with told(sigma_next):
            return ctx.denoise(D, x, sigma)
    c = float(D.input_scale(sigma) / D.input_scale(sigma_next))  # 1 for EDM
    return ctx.denoise(D, x if c == 1.0 else x * c, sigma_next)


@dataclass(frozen=True)
class Euler:
    """DDIM / EDM-Euler step. ``time_label`` during inversion: "source", eps at the current level (the released OVG
    code, guided-diffusion, BDIA), or "destination" (``destination_prediction``; prompt-to-prompt, diffusers)."""

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


@dataclass(frozen=True)
class TABA:
    """The first K = round(fraction * N) steps of an N-step inversion in one jump x_{sigma_K} = x0 + sigma_K z,
    z ~ N(0, I) from the sample's own seed (key "taba"); the rest and sampling run the base solver."""

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
        return x0 + float(sigmas[K]) * ctx.randn(x0, self.noise_key), K

    def step(self, D, x, sigma: float, sigma_next: float, ctx: Context):
        return self.base.step(D, x, sigma, sigma_next, ctx)

    def sampler(self):
        return self.base
