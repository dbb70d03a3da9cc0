"""Null-Class inversion: null-text inversion (Mokady et al. 2023) with the null class label in place of "".

After google/prompt-to-prompt ``null_text_w_ptp.ipynb``: (1) pivot: DDIM inversion under the source label at w = 1,
destination time label; (2) in sampling order, from z = z*_N: eps_c once, then up to 10 Adam steps (lr 1e-2 (1 -
i/100), warm-started) on the null embedding minimising MSE(guided DDIM step, z*_{i+1}), stopping below 1e-5 + 2e-5 i;
(3) sampling guides with the stored per-step embeddings (swapped in by forward hooks on the class embedding).

DirectInversion (PnP Inversion, Ju et al. 2024; cure-lab/PnPInversion) shares the pivot, then stores offsets
d_i = z*_{i+1} - DDIM_step(z*_i, eps_w(z*_i; source)) that sampling adds to source-label samples."""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from ..loop import Context
from .ddim import Euler

# What a run at w = 1 says (a reader sees it among a study's notes)
W1_NOTE = ("null_class at guidance scale w = 1: the null-class embedding does not enter the guided prediction (its "
           "gradient is exactly zero), so there is nothing to optimise. Null-Class is then DDIM inversion with the "
           "network told the next noise level's time (the prompt-to-prompt and diffusers convention) followed by plain "
           "DDIM sampling: the same translation as DirectInversion, not the suite's DDIM, which tells the network "
           "the current level. The embedding is optimised only at a guidance scale above 1.")

__all__ = ["W1_NOTE", "NullClass", "class_embedding_tables", "null_embedding_override", "reconstruction_loss",
           "with_scale", "check_grid", "Pivoted", "DirectInversion"]


def class_embedding_tables(D: nn.Module) -> list[nn.Embedding]:
    """The network's class-label embedding tables (UNet2DModel ``class_embedding``, DiT ``class_embedder``)."""
    tables = [m for name, m in D.named_modules() if isinstance(m, nn.Embedding)
              and (name.endswith("class_embedding") or name.endswith("class_embedder.embedding_table"))]
    if not tables:
        raise ValueError(f"Null-Class needs a class-label embedding table (an nn.Embedding named 'class_embedding' or "
                         f"'class_embedder.embedding_table') in the network; {type(getattr(D, 'net', D)).__name__} has "
                         f"none. Use a class-conditional diffusers UNet2DModel (num_class_embeds=3) or DiT")
    return tables


@contextmanager
def null_embedding_override(D: nn.Module, emb, null_label: int = 2):
    """Within the block, rows of the class-embedding output whose label is ``null_label`` become ``emb``: one tensor
    per table, each (dim,) or (B, dim) per sample (repeated in sample order over a batch that is a multiple of B)."""
    tables = class_embedding_tables(D)
    embs = [emb] if torch.is_tensor(emb) else list(emb)
    if len(embs) != len(tables):
        raise ValueError(f"null embedding override has {len(embs)} tensors for {len(tables)} class-embedding tables")

    def make_hook(vec):
        def hook(module, inputs, out):
            labels = inputs[0]
            v = vec.to(dtype=out.dtype, device=out.device)
            v = v.expand(out.shape[0], -1) if v.ndim == 1 else v.repeat(out.shape[0] // v.shape[0], 1)
            return torch.where((labels == null_label).reshape(-1, 1), v, out)
        return hook

    handles = [t.register_forward_hook(make_hook(v)) for t, v in zip(tables, embs)]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


@contextmanager
def with_scale(ctx: Context, w: float, label: torch.Tensor | None = None, null_embedding=None):
    """Temporarily evaluate ``ctx.denoise`` at guidance scale w (and with another label / null embedding)."""
    saved = ctx.cfg_scale, ctx.label, ctx.net_override
    ctx.cfg_scale = w
    ctx.label = ctx.label if label is None else label
    if null_embedding is not None:
        ctx.net_override = lambda D: null_embedding_override(D, null_embedding, ctx.null_label)
    try:
        yield ctx
    finally:
        ctx.cfg_scale, ctx.label, ctx.net_override = saved


class Pivoted:
    """What Null-Class and DirectInversion share: the inversion's pivot step and the guided DDIM sampling step."""

    def scale(self, ctx: Context) -> float:
        return float(ctx.cfg_scale if self.guidance_scale is None else self.guidance_scale)

    def pivot_step(self, D, x, sigma: float, sigma_next: float, ctx: Context):
        """Record x, take ``self.base`` at ``pivot_scale``."""
        ctx.state.setdefault("pivot", []).append(x.detach())
        with with_scale(ctx, self.pivot_scale):
            return self.base.step(D, x, sigma, sigma_next, ctx)

    def guided_step(self, D, x, sigma: float, sigma_next: float, ctx: Context, null_embedding=None):
        with with_scale(ctx, self.scale(ctx), null_embedding=null_embedding):
            return x + (sigma_next - sigma) * ctx.denoise(D, x, sigma).eps  # guided DDIM sampling step


def check_grid(ctx: Context, name: str) -> None:
    """Refuse to sample with per-step handoff data on a grid other than the inversion's (reversed)."""
    grid = ctx.state["sigmas"]
    if len(grid) != len(ctx.sigmas) or not torch.allclose(grid, ctx.sigmas.to(grid.dtype)):
        raise ValueError(f"{name}: the stored per-step data belong to the inversion's {len(grid) - 1}-step grid; "
                         f"sample on that same grid (translate does) or invert again on this one")


def reconstruction_loss(D, z, sigma: float, sigma_next: float, target, eps_c, emb, w: float,
                        ctx: Context) -> torch.Tensor:
    """Per-sample MSE (model coordinates) between the guided DDIM step from z and the pivot state ``target``;
    differentiable w.r.t. the null embedding ``emb`` (eps_c: the conditional prediction at z)."""
    null = torch.full_like(ctx.label, ctx.null_label)
    with with_scale(ctx, 1.0, label=null, null_embedding=emb):
        eps_u = ctx.denoise(D, z, sigma).eps
    eps = eps_u + w * (eps_c - eps_u)
    z_next = z + (sigma_next - sigma) * eps  # DDIM (Euler) sampling step
    s_next = float(D.input_scale(sigma_next))
    return ((z_next - target) * s_next).pow(2).flatten(1).mean(1)


@dataclass(frozen=True)
class NullClass(Pivoted):
    """Null-text inversion with the null class (prompt-to-prompt defaults); guidance_scale: w of the optimisation and
    of sampling (None: the run's ``cfg_scale``); pivot_scale and base: the pivot's guidance and solver."""

    guidance_scale: float | None = None
    inner_steps: int = 10            # J, at most this many Adam steps per sampling step
    lr: float = 1e-2                 # Adam learning rate at step i: lr * (1 - i / lr_decay_steps)
    lr_decay_steps: float = 100.0
    early_stop: float = 1e-5         # stop a sample once its loss < early_stop + early_stop_slope * i
    early_stop_slope: float = 2e-5
    pivot_scale: float = 1.0
    base: Euler = field(default_factory=lambda: Euler("destination"))

    def __post_init__(self):
        if self.inner_steps < 0:
            raise ValueError(f"inner_steps must be >= 0, got {self.inner_steps}")

    def step(self, D, x, sigma: float, sigma_next: float, ctx: Context):
        if ctx.direction == "invert":
            return self.pivot_step(D, x, sigma, sigma_next, ctx)
        embs = ctx.state.get("null_embeddings")
        emb = None
        if embs is not None:
            check_grid(ctx, "null_class")
            emb = embs[ctx.step_index]
            if self.guidance_scale is None and ctx.state.get("cfg_scale") != ctx.cfg_scale and ctx.step_index == 0:
                warnings.warn(f"null_class: the null embeddings were fitted at w = {ctx.state.get('cfg_scale')} but "
                              f"sampling runs at w = {ctx.cfg_scale}; pass the same cfg_scale to both passes",
                              UserWarning, stacklevel=2)
        return self.guided_step(D, x, sigma, sigma_next, ctx, emb)

    def finish(self, D, x, sigmas, ctx: Context) -> None:
        """Optimise the per-step null embeddings against the pivot (sampling order) and hand them to sampling."""
        pivot = ctx.state.pop("pivot") + [x.detach()]
        sig = sigmas.flip(0)
        N = len(sig) - 1
        w = self.scale(ctx)
        handoff = {"sigmas": sig, "cfg_scale": w, "null_embeddings": None}
        ctx.state["handoff"] = handoff
        if len(pivot) != N + 1:   # the loop stopped early: every sample is non-finite, nothing to fit
            return
        if w == 1.0:
            warnings.warn(W1_NOTE, UserWarning, stacklevel=3)
            return
        B = x.shape[0]
        embs = [t.weight[ctx.null_label].detach().to(x.dtype).expand(B, -1).clone()
                for t in class_embedding_tables(D)]
        out, z, n_backward = [], pivot[N], 0
        for i in range(N):
            sigma, sigma_next, target = float(sig[i]), float(sig[i + 1]), pivot[N - i - 1]
            with torch.no_grad(), with_scale(ctx, 1.0):
                eps_c = ctx.denoise(D, z, sigma).eps
            embs = [e.detach().clone().requires_grad_(True) for e in embs]
            opt = torch.optim.Adam(embs, lr=self.lr * (1 - i / self.lr_decay_steps))
            active = torch.ones(B, dtype=torch.bool, device=x.device)
            for _ in range(self.inner_steps):
                with torch.enable_grad():
                    loss = reconstruction_loss(D, z, sigma, sigma_next, target, eps_c, embs, w, ctx)
                    opt.zero_grad()
                    loss.sum().backward()
                n_backward += 1
                old = [e.detach().clone() for e in embs]
                opt.step()
                with torch.no_grad():
                    for e, o in zip(embs, old):  # samples that already stopped keep their embedding
                        e.copy_(torch.where(active.reshape(-1, 1), e, o))
                active &= ~(loss.detach() < self.early_stop + self.early_stop_slope * i)
                if not active.any():
                    break
            embs = [e.detach() for e in embs]
            out.append(embs if len(embs) > 1 else embs[0])
            with torch.no_grad():
                z = self.guided_step(D, z, sigma, sigma_next, ctx, embs)
        handoff["null_embeddings"] = out
        ctx.state["backward_passes"] = ctx.state.get("backward_passes", 0) + n_backward


@dataclass(frozen=True)
class DirectInversion(Pivoted):
    """DirectInversion (PnP Inversion) with source-branch offsets (cure-lab/PnPInversion); guidance_scale: w of the
    offsets and of sampling (None: the run's ``cfg_scale``); pivot_scale and base: the pivot's guidance and solver."""

    guidance_scale: float | None = None
    pivot_scale: float = 1.0
    base: Euler = field(default_factory=lambda: Euler("destination"))

    def step(self, D, x, sigma: float, sigma_next: float, ctx: Context):
        if ctx.direction == "invert":
            return self.pivot_step(D, x, sigma, sigma_next, ctx)
        x_next = self.guided_step(D, x, sigma, sigma_next, ctx)
        offsets = ctx.state.get("offsets")
        if offsets is None:
            return x_next
        check_grid(ctx, "direct_inversion")
        source = (ctx.label == ctx.state["source_label"].to(ctx.label.device)).to(x.dtype)
        return x_next + source.reshape(-1, *([1] * (x.ndim - 1))) * offsets[ctx.step_index]

    @torch.no_grad()
    def finish(self, D, x, sigmas, ctx: Context) -> None:
        """Hand sampling the source branch's offsets along the pivot (NaN when it was cut short)."""
        pivot = ctx.state.pop("pivot", []) + [x.detach()]
        sig = sigmas.flip(0)
        N = len(sig) - 1
        offsets = [] if len(pivot) == N + 1 else [torch.full_like(x, float("nan"))] * N
        for i in range(N - len(offsets)):
            z, z_prev = pivot[N - i], pivot[N - i - 1]
            offsets.append(z_prev - self.guided_step(D, z, float(sig[i]), float(sig[i + 1]), ctx))
        ctx.state["handoff"] = {"sigmas": sig, "cfg_scale": self.scale(ctx), "offsets": offsets,
                                "source_label": ctx.label.clone()}
