"""The fill: keep what the input determines, draw the rest fresh.

For a source in a linear subspace S (data/support.py), an exact model's deterministic inversion lands in S. ``Fill``
runs its base inversion, then in the prior's unit-variance coordinates (``Denoiser.to_noise``) sets
z_T = P z_det + scale (I - P) n, n ~ N(0, I) from the sample's seed (key "fill"); scale 1 is white noise's
off-support energy (support leak 1). As null-space restoration (DDNM), once; one projection and draw per sample."""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

from ..loop import Context
from .ddim import Euler

__all__ = ["Fill"]


@dataclass(frozen=True)
class Fill:
    """The base inversion, then the latent's off-support component drawn fresh (module docstring); sampling runs the
    base method. ``projector``: the support's projector (``data.support.support_projector`` / ``dataset_support``)."""

    projector: object = None        # data.support.Projector of the source's support S
    scale: float = 1.0              # the fresh component's scale: 1 = white noise's off-support energy
    base: Euler = field(default_factory=Euler)
    noise_key: str = "fill"

    def __post_init__(self):
        if isinstance(self.scale, bool) or not isinstance(self.scale, numbers.Real) or not (
                math.isfinite(self.scale) and self.scale >= 0):
            raise ValueError(f"fill scale must be a finite number >= 0, got {self.scale!r}; 1 is white noise's "
                             f"off-support energy")

    def step(self, D, x, sigma: float, sigma_next: float, ctx: Context):
        return self.base.step(D, x, sigma, sigma_next, ctx)

    def end(self, D, x, sigmas, ctx: Context):
        """The inverted state with its off-support component replaced: P x + from_noise(scale (I - P) n)."""
        if self.projector is None:
            raise ValueError("the fill needs the projector of the source's support: Fill(projector="
                             "data.support.support_projector(data.task, image shape))")
        on = self.projector(x)
        ctx.state["fill_on"] = on                   # the deterministic latent's component in S (sigma coordinates)
        fresh = self.projector.complement(ctx.randn(x, self.noise_key))
        return on + D.from_noise(self.scale * fresh, float(sigmas[-1]))

    def sampler(self):
        return self.base
