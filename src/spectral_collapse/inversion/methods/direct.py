"""DirectInversion ("PnP Inversion: boosting diffusion-based editing with 3 lines of code", Ju et al. 2024).

Authors' algorithm (cure-lab/PnPInversion), in sigma coordinates:
1. Pivot: DDIM inversion under the source label at w = 1, destination time label, z*_0..z*_N.
2. Offsets in sampling order, evaluated at the pivot: d_i = z*_{i+1} - DDIM_step(z*_i, eps_w(z*_i; source)).
3. Editing from z*_N: the source branch adds d_i after each guided DDIM step (reproducing the pivot); the target
   branch takes plain guided DDIM steps.

A sampling pass adds d_i to the samples whose label is the inversion's source label. Without the authors'
attention coupling the target-branch output equals plain guided DDIM sampling from the pivot's latent (tested),
which (destination time label) is not the suite's DDIM latent; it equals Null-Class's latent at w = 1."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..loop import Context
from .ddim import Euler
from .null_class import check_grid, pivot_step, with_scale

__all__ = ["DirectInversion"]


@dataclass(frozen=True)
class DirectInversion:
    """DirectInversion (PnP Inversion) with source-branch offsets; defaults from cure-lab/PnPInversion.
    guidance_scale: w of the offsets and of sampling (None: the run's ``cfg_scale``; authors: 7.5); pivot_scale: the
    pivot's guidance (authors: 1); base: the pivot's solver."""

    guidance_scale: float | None = None
    pivot_scale: float = 1.0
    base: Euler = field(default_factory=lambda: Euler("destination"))

    def scale(self, ctx: Context) -> float:
        return float(ctx.cfg_scale if self.guidance_scale is None else self.guidance_scale)

    def _guided_step(self, D, x, sigma: float, sigma_next: float, ctx: Context):
        with with_scale(ctx, self.scale(ctx)):
            return x + (sigma_next - sigma) * ctx.denoise(D, x, sigma).eps  # guided DDIM sampling step

    def step(self, D, x, sigma: float, sigma_next: float, ctx: Context):
        if ctx.direction == "invert":
            return pivot_step(self, D, x, sigma, sigma_next, ctx)
        x_next = self._guided_step(D, x, sigma, sigma_next, ctx)
        offsets = ctx.state.get("offsets")
        if offsets is None:
            return x_next
        check_grid(ctx, "direct_inversion")
        source = (ctx.label == ctx.state["source_label"].to(ctx.label.device)).to(x.dtype)
        return x_next + source.reshape(-1, *([1] * (x.ndim - 1))) * offsets[ctx.step_index]

    @torch.no_grad()
    def finish(self, D, x, sigmas, ctx: Context) -> None:
        """Offsets of the source branch along the pivot in sampling order, handed to sampling; NaN offsets when the
        pivot was cut short (every sample non-finite)."""
        pivot = ctx.state.pop("pivot", []) + [x.detach()]
        sig = sigmas.flip(0)
        N = len(sig) - 1
        offsets = [] if len(pivot) == N + 1 else [torch.full_like(x, float("nan"))] * N
        for i in range(N - len(offsets)):
            z, z_prev = pivot[N - i], pivot[N - i - 1]
            offsets.append(z_prev - self._guided_step(D, z, float(sig[i]), float(sig[i + 1]), ctx))
        ctx.state["handoff"] = {"sigmas": sig, "cfg_scale": self.scale(ctx), "offsets": offsets,
                                "source_label": ctx.label.clone()}
