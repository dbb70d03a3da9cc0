"""ReNoise inversion (Garibi et al. 2024; garibida/ReNoise-Inversion ``RunConfig``) in sigma coordinates.

With f(eps) = x + (sigma_next - sigma) eps: z^(0) = x, z^(k+1) = f(eps(z^(k), sigma_next)) for k = 0..R (k = 0 is
DDIM inversion with the destination label, the rest a backward-Euler fixed point); the step returns f of the
regularised mean of eps^(k) over ``average_range`` ([0, 5) and R <= 5 on the first steps). Noise regularisation
(pix2pix-zero): patch-KL steps against eps at x0 + sigma_next n (``"forward"``) or x0 (``"clean"``), and
autocorrelation steps. The noise correction (stochastic samplers only) is not implemented; sampling is DDIM."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ...models.schedules import VPSchedule
from .ddim import destination_prediction
from ..loop import Context, mix_seed

__all__ = ["ReNoise", "patch_kl_loss", "autocorrelation_loss", "noise_regularization"]


def patch_kl_loss(eps: torch.Tensor, eps_ref: torch.Tensor, patch: int = 4, tiny: float = 1e-6) -> torch.Tensor:
    """Per-sample sum over channels and patch x patch tiles of the |KL-like| mean / variance mismatch (pix2pix-zero)."""
    def stats(t):
        tiles = t.unfold(2, patch, patch).unfold(3, patch, patch).flatten(-2)  # (B, C, H/p, W/p, p*p)
        return tiles.mean(-1), tiles.var(-1)
    mu0, v0 = stats(eps)
    mu1, v1 = stats(eps_ref)
    kl = torch.log((v1 + tiny) / (v0 + tiny)) + (v0 + (mu0 - mu1) ** 2) / (v1 + tiny) - 1
    return kl.abs().flatten(1).sum(1)


def autocorrelation_loss(eps: torch.Tensor, generators: list[torch.Generator], min_size: int = 8) -> torch.Tensor:
    """Per-sample sum over channels and dyadic scales of squared mean products with a random roll along H and W
    (pix2pix-zero: one shift r ~ U{0, .., h/2 - 1} per sample, channel and scale, from the sample's generator)."""
    B, C, H, W = eps.shape
    heights = [H]
    while heights[-1] > min_size:
        heights.append(heights[-1] // 2)
    shifts = torch.tensor([[[int(torch.randint(0, max(1, h // 2), (1,), generator=g)) for h in heights]
                            for _ in range(C)] for g in generators], device=eps.device)  # (B, C, scales)
    loss, n = eps.new_zeros(B), eps
    for k in range(len(heights)):
        if k:
            n = F.avg_pool2d(n, kernel_size=2)
        h, w = n.shape[-2:]
        r = shifts[:, :, k].reshape(B, C, 1, 1)
        rows = (torch.arange(h, device=n.device).reshape(1, 1, h, 1) - r) % h      # torch.roll(n, r, dims=2)
        cols = (torch.arange(w, device=n.device).reshape(1, 1, 1, w) - r) % w      # torch.roll(n, r, dims=3)
        roll_h = n.gather(2, rows.expand(B, C, h, w))
        roll_w = n.gather(3, cols.expand(B, C, h, w))
        loss = loss + ((n * roll_h).mean((2, 3)) ** 2 + (n * roll_w).mean((2, 3)) ** 2).sum(1)
    return loss


def noise_regularization(eps: torch.Tensor, eps_ref: torch.Tensor, generators: list[torch.Generator], *,
                         lambda_kl: float = 0.065, lambda_ac: float = 20.0, rounds: int = 4, ac_rolls: int = 5,
                         grad_clip: float = 100.0) -> torch.Tensor:
    """ReNoise / pix2pix-zero noise regularisation: gradient steps on the patch-KL and autocorrelation losses."""
    for _ in range(rounds):
        if lambda_kl > 0:
            with torch.enable_grad():
                e = eps.detach().requires_grad_(True)
                (g,) = torch.autograd.grad(patch_kl_loss(e, eps_ref).sum(), e)
            eps = eps - lambda_kl * g.clamp(-grad_clip, grad_clip)
        if lambda_ac > 0:
            for _ in range(ac_rolls):
                with torch.enable_grad():
                    e = eps.detach().requires_grad_(True)
                    (g,) = torch.autograd.grad(autocorrelation_loss(e, generators).sum(), e)
                eps = eps - lambda_ac * g / ac_rolls
        eps = eps.detach()
    return eps


@dataclass(frozen=True)
class ReNoise:
    """ReNoise inversion; defaults from the authors' ``RunConfig`` (garibida/ReNoise-Inversion)."""

    renoise_steps: int = 9                          # R: forwards per step are R + 1 (+1 reference)
    first_step_renoise_steps: int = 5               # R cap on the first steps
    average: bool = True                            # average the estimates in the range
    average_range: tuple[int, int] = (8, 10)        # k in [start, stop) averaged
    first_step_range: tuple[int, int] = (0, 5)      # the same on the first steps
    first_step_max_t: float = 250.0                 # first steps: destination time label below this
    regularization_steps: int = 4                   # rounds of noise regularisation; 0 switches it off
    lambda_kl: float = 0.065
    lambda_ac: float = 20.0
    ac_rolls: int = 5
    reference: str = "forward"                      # "forward" (x0 + sigma n) | "clean" (x0 as the model input)
    noise_key: str = "renoise"

    def __post_init__(self):
        if self.renoise_steps < 0 or self.first_step_renoise_steps < 0:
            raise ValueError(f"renoise_steps must be >= 0, got {self.renoise_steps}, {self.first_step_renoise_steps}")
        if self.reference not in ("forward", "clean"):
            raise ValueError(f"reference must be 'forward' or 'clean', got {self.reference!r}")

    def first_step_sigma(self, D) -> float:
        """sigma of training time ``first_step_max_t`` on the model's VP schedule (EDM models: SD's schedule)."""
        schedule = getattr(D, "schedule", None) or VPSchedule()
        return float(schedule.t_to_sigma(torch.tensor(self.first_step_max_t, dtype=torch.float64)))

    def step(self, D, x, sigma: float, sigma_next: float, ctx: Context):
        if ctx.direction != "invert":
            return x + (sigma_next - sigma) * ctx.denoise(D, x, sigma).eps  # DDIM sampling
        ctx.state.setdefault("renoise_x0", x.detach())  # the first input of the inversion: the clean image
        if self.regularization_steps > 0 and "renoise_generators" not in ctx.state:
            ctx.state["renoise_generators"] = [torch.Generator().manual_seed(mix_seed(s, self.noise_key))
                                               for s in ctx.seeds]
        first = sigma_next < self.first_step_sigma(D)
        R = min(self.first_step_renoise_steps, self.renoise_steps) if first else self.renoise_steps
        lo, hi = self.first_step_range if first else self.average_range
        dt = sigma_next - sigma

        def regularise(e):
            if self.regularization_steps <= 0:
                return e
            return noise_regularization(e, eps_ref, ctx.state["renoise_generators"], lambda_kl=self.lambda_kl,
                                        lambda_ac=self.lambda_ac, rounds=self.regularization_steps,
                                        ac_rolls=self.ac_rolls)

        z, eps_ref, avg, n_avg = x, None, None, 0
        for k in range(R + 1):
            # k = 0: the model-space x_t unchanged with the next timestep (DDIM inversion with the destination label)
            eps = (ctx.denoise(D, z, sigma_next) if k else destination_prediction(D, x, sigma, sigma_next, ctx)).eps
            if k == 0 and self.regularization_steps > 0:
                x0 = ctx.state["renoise_x0"]  # "clean": the model sees the clean image itself
                x_ref = (x0 + sigma_next * ctx.randn(x0, self.noise_key) if self.reference == "forward"
                         else x0 / float(D.input_scale(sigma_next)))
                eps_ref = ctx.denoise(D, x_ref, sigma_next).eps
            if lo <= k < hi:
                avg = eps if avg is None else avg * (n_avg / (n_avg + 1)) + eps / (n_avg + 1)
                n_avg += 1
            if k >= lo or (not self.average and k > 0):
                eps = regularise(eps)
            z = x + dt * eps
        if self.average and avg is not None:
            z = x + dt * regularise(avg)
        return z
