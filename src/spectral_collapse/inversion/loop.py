"""One sigma-space loop for sampling, inversion (sigma rising, paper Eq. 3) and translation, as k-diffusion's
``sample_euler``; guidance (OVG, Eq. 14) adds a drift after the base step. Method hooks: ARCHITECTURE.md."""
from __future__ import annotations

import hashlib
import itertools
import numbers
import warnings
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Callable, Protocol

import torch

from ..models.denoisers import EDMDenoiser, ModelPair
from ..models.base import Denoiser, Prediction
from ..models.schedules import ddim_sigmas, karras_sigmas
from .graphs import replayed

__all__ = ["Context", "Method", "Guidance", "Trajectory", "Translation", "NonFiniteError", "integrate", "invert",
           "sample", "translate", "default_sigmas", "sample_seeds", "frozen_parameters", "is_pair_method", "primary",
           "NORM_RATIO_BOUND"]


class NonFiniteError(FloatingPointError):
    """Raised (with ``on_nonfinite="raise"``) when a state stops being finite (NaN or infinite) in integration."""


def sample_seeds(seed: int, indices) -> list[int]:
    """Per-sample seeds keyed by (run seed, global sample index): results do not depend on batch size."""
    return [mix_seed(int(seed), int(i)) for i in indices]


def mix_seed(*parts) -> int:
    h = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") & ((1 << 63) - 1)


@dataclass
class Context:
    """Per-trajectory state shared by the loop, the method and the guidance term: labels (0 source, 1 target, 2 null),
    direction ("invert" / "sample"), per-sample seeds keying every draw (``randn``), OVG's source image ``x_ref``."""

    label: torch.Tensor
    direction: str
    seeds: list[int]
    cfg_scale: float = 1.0
    null_label: int = 2
    x_ref: torch.Tensor | None = None
    state: dict = field(default_factory=dict)
    nfe: int = 0
    step_index: int = 0
    sigmas: torch.Tensor | None = None
    first: tuple | None = None  # (x, sigma_eval, Prediction) of the step's first network call
    net_override: Callable | None = None  # D -> context manager around each network call (Null-Class's embedding)

    def denoise(self, D: Denoiser, x: torch.Tensor, sigma) -> Prediction:
        """D with classifier-free guidance (scale w, null label) inside ``net_override(D)``, counting forwards."""
        w = self.cfg_scale
        with nullcontext() if self.net_override is None else self.net_override(D):
            if w == 1.0:
                pred = D(x, sigma, self.label)
                self.nfe += 1
            else:
                null = torch.full_like(self.label, self.null_label)
                sig = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(x.shape[0]).repeat(2)
                both = D(torch.cat([x, x]), sig, torch.cat([self.label, null]))
                c_x0, u_x0 = both.x0.chunk(2)
                c_eps, u_eps = both.eps.chunk(2)
                pred = Prediction(x0=u_x0 + w * (c_x0 - u_x0), eps=u_eps + w * (c_eps - u_eps))
                self.nfe += 2
        if self.first is None:
            self.first = (x, sigma, pred)
        return pred

    def randn(self, like: torch.Tensor, key: str) -> torch.Tensor:
        """Standard normal noise shaped like ``like``, drawn per sample from (seed, key) generators."""
        draws = [torch.randn(like.shape[1:], generator=torch.Generator().manual_seed(mix_seed(s, key)),
                             dtype=torch.float64) for s in self.seeds]
        return torch.stack(draws).to(dtype=like.dtype, device=like.device)


class Method(Protocol):
    """A frozen dataclass of hyperparameters with one step rule (ARCHITECTURE.md: Method)."""

    def step(self, D: Denoiser, x: torch.Tensor, sigma: float, sigma_next: float, ctx: Context) -> torch.Tensor: ...


class Guidance(Protocol):
    def drift(self, D: Denoiser, x: torch.Tensor, x_base: torch.Tensor, sigma: float, sigma_next: float,
              ctx: Context) -> torch.Tensor: ...


class _Flagged:
    """A result with ``nonfinite_step`` (per sample, the first step that became non-finite; -1 = never)."""

    nonfinite_step: torch.Tensor

    @property
    def finite(self) -> torch.Tensor:
        return self.nonfinite_step < 0


@dataclass
class Trajectory(_Flagged):
    """Result of one integration: final state, per-sample first non-finite step (-1 = never), forwards used."""

    x: torch.Tensor
    nonfinite_step: torch.Tensor
    nfe: int
    ctx: Context

    @property
    def handoff(self) -> dict:
        """What an inversion leaves for its sampling pass (per-step null embeddings, offsets); {} if nothing."""
        return self.ctx.state.get("handoff", {})


@dataclass
class Translation(_Flagged):
    """invert(label 0) then sample(label 1): x_T in sigma coordinates, the unit-variance latent, the output."""

    x_T: torch.Tensor
    latent: torch.Tensor
    output: torch.Tensor
    nonfinite_step: torch.Tensor  # (B,) first failing step index in the inversion+sampling sequence, -1 if none
    nfe: int
    inversion: Trajectory
    sampling: Trajectory


@contextmanager
def frozen_parameters(module: torch.nn.Module):
    """Temporarily set requires_grad=False on all parameters (guidance needs input gradients only)."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    try:
        yield module.requires_grad_(False)
    finally:
        for p, f in flags:
            p.requires_grad_(f)


def is_pair_method(method) -> bool:
    """True for methods whose state is a pair of latents stacked on a new leading dim (EDICT, BDIA)."""
    return bool(getattr(method, "pair_state", False))


def primary(x: torch.Tensor, method) -> torch.Tensor:
    """The primary latent of a state: x[0] for a pair-state method's (2, B, ...) state, else x itself."""
    return x[0] if is_pair_method(method) and x.ndim == 5 else x


def model_device(D) -> torch.device | None:
    """The device of a denoiser's first parameter or buffer (None for a module holding none)."""
    tensors = itertools.chain(D.parameters(), D.buffers()) if isinstance(D, torch.nn.Module) else ()
    return next((t.device for t in tensors), None)


def model_dtype(D) -> torch.dtype | None:
    """The dtype of a denoiser's weights: its first floating parameter of more than one value (None: there is none)."""
    params = D.parameters() if isinstance(D, torch.nn.Module) else ()
    return next((t.dtype for t in params if t.is_floating_point() and t.numel() > 1), None)


def entry_images(D, x, what: str = "x", *, pair: bool = False) -> torch.Tensor:
    """``x`` checked (a float tensor of rank 4, or 5 for a pair), in the model's dtype; else an error naming the fix."""
    if not torch.is_tensor(x):
        raise TypeError(f"{what} must be a torch tensor of images (B, C, H, W) in [-1, 1], got {type(x).__name__}; "
                        f"convert it with torch.as_tensor(...).float()")
    if not (x.is_floating_point() or x.is_complex()):
        hint = " / 127.5 - 1" if x.dtype == torch.uint8 else ""
        raise TypeError(f"{what} has dtype {str(x.dtype).replace('torch.', '')}; the models take float images in "
                        f"[-1, 1]: pass {what}.float(){hint}")
    ranks = (4, 5) if pair else (4,)
    if x.ndim not in ranks:
        fix = f"; for one image pass {what}[None] (a batch of one)" if x.ndim == 3 else ""
        raise ValueError(f"{what} has shape {tuple(x.shape)}; the loop takes a batch of images (B, C, H, W){fix}")
    dtype = model_dtype(D)
    return x.to(dtype) if dtype is not None and x.dtype != dtype else x


def images_for_latent_model(D, x: torch.Tensor) -> bool:
    """Whether ``x`` holds images for a latent model ``D`` (not its latents): not the latents' channels or side."""
    ls = getattr(D, "latent_space", None)
    if ls is None or x.ndim != 4:
        return False
    if x.shape[1] != ls.channels:
        return True
    side = getattr(getattr(getattr(D, "net", None), "config", None), "sample_size", None)
    side = side[0] if isinstance(side, (tuple, list)) else side
    return isinstance(side, int) and ls.downsample > 1 and x.shape[-1] == side * ls.downsample


# ||x_T||^2 / d of an inverted latent that ``translate`` accepts without a warning: N(0, I) gives 1 +- sqrt(2 / d), a
# working DDIM inversion 0.8-1.1; outside, the RMS is off the noise's by more than sqrt(2) (framework/validity.py).
NORM_RATIO_BOUND = (0.5, 2.0)


def warn_latent_norm(latent: torch.Tensor, bad: torch.Tensor, guidance) -> None:
    """One RuntimeWarning naming the finite samples whose ||x_T||^2 / d leaves ``NORM_RATIO_BOUND``."""
    ratio = latent.detach().double().flatten(1).pow(2).mean(1).cpu()
    lo, hi = NORM_RATIO_BOUND
    out = (torch.isfinite(ratio) & (bad.cpu() < 0) & ((ratio < lo) | (ratio > hi))).nonzero().flatten().tolist()
    if not out:
        return
    where = ", ".join(f"sample {i}: {float(ratio[i]):.3g}" for i in out[:5]) + (" ..." if len(out) > 5 else "")
    fix = ("lower OVG's step sizes (eta_hf, eta_lf) for this model, or let a study calibrate them (the pareto study, "
           "or any study run with model=...)" if guidance is not None else
           "check the model's scheduler and that the images are in [-1, 1]")
    warnings.warn(f"{len(out)} of {len(ratio)} inverted latents have ||x_T||^2/d outside [{lo:g}, {hi:g}] (noise gives "
                  f"1): {where}; {fix}", RuntimeWarning, stacklevel=3)


def default_sigmas(D: Denoiser, steps: int) -> torch.Tensor:
    """Descending grid ending at 0: the model's ``default_grid`` (flow), Karras (EDM) or DDIM 'leading' (VP)."""
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if isinstance(D, ModelPair):  # a two-model translation runs on its inverting model's grid
        D = D.source
    if callable(getattr(D, "default_grid", None)):
        return D.default_grid(steps)
    if isinstance(D, EDMDenoiser):
        return karras_sigmas(steps, D.sigma_min, D.sigma_max)
    return ddim_sigmas(D.schedule, steps)


def integrate(D: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, label, method: Method, *,
              guidance: Guidance | None = None, direction: str | None = None, seeds: list[int] | None = None,
              cfg_scale: float = 1.0, x_ref: torch.Tensor | None = None, callback: Callable | None = None,
              on_nonfinite: str = "mark", progress: bool = False, desc: str | None = None,
              state: dict | None = None) -> Trajectory:
    """Integrate x along ``sigmas`` (rising: inversion), one method step per interval, then ``callback(i, sigma,
    sigma_next, x, x_next, ctx)``. on_nonfinite: "mark" each sample's first non-finite step, or "raise"."""
    if on_nonfinite not in ("mark", "raise"):
        raise ValueError(f"on_nonfinite must be 'mark' or 'raise', got {on_nonfinite!r}")
    home, dev = x.device, model_device(D)
    if dev is not None and dev != home:  # compute where the model is (a GPU); the result comes back to x's device
        x = x.to(dev)
        x_ref = None if x_ref is None else x_ref.to(dev)
    sigmas = torch.as_tensor(sigmas, dtype=torch.float64)
    if sigmas.ndim != 1 or len(sigmas) < 2:
        raise ValueError("sigmas must be a 1-D grid with at least 2 levels (steps >= 1)")
    direction = direction or ("invert" if sigmas[-1] > sigmas[0] else "sample")
    pair = is_pair_method(method)
    B = x.shape[1] if pair and x.ndim == 5 else x.shape[0]
    seeds = list(range(B)) if seeds is None else list(seeds)
    if len(seeds) != B:
        raise ValueError(f"need one seed per sample: got {len(seeds)} seeds for a batch of {B}")
    if pair and guidance is not None:
        raise ValueError(f"{type(method).__name__} carries a pair of latents; guidance terms (OVG) need a single-state "
                         f"method such as ddim, heun or taba")
    if cfg_scale != 1.0:  # classifier-free guidance needs a row of the class embedding for the null label
        rows = getattr(getattr(getattr(D, "net", None), "class_embedding", None), "num_embeddings", None)
        if rows is not None and Context.null_label >= rows:
            raise ValueError(f"cfg_scale={cfg_scale:g} needs the null (unconditional) label {Context.null_label}, but "
                             f"the network's class embedding has {rows} rows (labels 0-{rows - 1}) and no null class: "
                             f"guidance needs a model trained with one (num_class_embeds = classes + 1); use "
                             f"cfg_scale=1 with this one")
    label = (label.to(x.device, torch.long) if torch.is_tensor(label) and label.ndim == 1
             else torch.full((B,), int(label), dtype=torch.long, device=x.device))
    ctx = Context(label=label, direction=direction, seeds=seeds, cfg_scale=cfg_scale, x_ref=x_ref,
                  state=dict(state or {}), sigmas=sigmas)
    bad = torch.full((B,), -1, dtype=torch.long)
    start = 0
    if direction == "invert" and hasattr(method, "start"):
        with torch.no_grad():
            x, start = method.start(D, x, sigmas, ctx)
    steps = range(start, len(sigmas) - 1)
    bar = progress if hasattr(progress, "update") else None  # a caller's bar, advanced once per step
    if progress and bar is None:
        from tqdm.auto import tqdm
        steps = tqdm(steps, desc=desc or direction, leave=False)
    with frozen_parameters(D), replayed(D):  # on a GPU each network call replays a CUDA graph (graphs.py)
        for i in steps:
            sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
            ctx.step_index, ctx.first = i, None
            guided = guidance is not None and (
                not hasattr(guidance, "active") or guidance.active(i, len(sigmas) - 1, sigma))
            if not guided:  # the cheap path: no graph, no vector-Jacobian products
                with torch.no_grad():
                    x_next = method.step(D, x, sigma, sigma_next, ctx)
            else:
                with torch.enable_grad():
                    x_in = x.detach().requires_grad_(True)
                    x_base = method.step(D, x_in, sigma, sigma_next, ctx)
                    drift = guidance.drift(D, x_in, x_base, sigma, sigma_next, ctx)
                x_next = (x_base + drift).detach()
            fin = torch.isfinite(x_next.detach())
            ok = (fin.transpose(0, 1) if pair and fin.ndim == 5 else fin).flatten(1).all(1).cpu()
            newly = (~ok) & (bad < 0)
            if newly.any():
                bad[newly] = i
                if on_nonfinite == "raise":
                    raise NonFiniteError(f"non-finite values at {direction} step {i} (sigma {sigma:.4g} -> "
                                         f"{sigma_next:.4g}) in samples {newly.nonzero().flatten().tolist()}; lower "
                                         f"the guidance step sizes or check the model and its input range")
            if callback is not None:
                callback(i, sigma, sigma_next, x, x_next, ctx)
            x = x_next
            if bar is not None:
                bar.update(1)
            if callback is None and bool((bad >= 0).all()) and i < len(sigmas) - 2:
                # every sample has failed: the remaining steps would only spread the NaN over each sample
                x = torch.full_like(x, float("nan"))
                break
        if direction == "invert" and hasattr(method, "finish"):
            method.finish(D, x, sigmas, ctx)
        if direction == "invert" and hasattr(method, "end"):   # a method that changes the inverted state (Fill)
            with torch.no_grad():
                x = method.end(D, x, sigmas, ctx)
    if pair and direction == "sample" and x.ndim == 5:
        ctx.state["pair"] = x
        x = x[0]
    return Trajectory(x=x.to(home), nonfinite_step=bad, nfe=ctx.nfe, ctx=ctx)


def ordered(sigmas, rising: bool) -> torch.Tensor:
    """``sigmas`` as a float64 grid, flipped where it runs the other way (rising: inversion)."""
    sigmas = torch.as_tensor(sigmas, dtype=torch.float64)
    return sigmas.flip(0) if (sigmas[0] > sigmas[-1] if rising else sigmas[0] < sigmas[-1]) else sigmas


def invert(D: Denoiser, x0: torch.Tensor, sigmas: torch.Tensor, method: Method, *, label=0, **kw) -> Trajectory:
    """Integrate from the clean image up a rising grid (paper Eq. 3). ``sigmas`` may be given descending."""
    x0 = entry_images(D, x0, "x0", pair=is_pair_method(method))
    kw.setdefault("x_ref", x0)
    return integrate(D, x0, ordered(sigmas, True), label, method, direction="invert", **kw)


def sample(D: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, method: Method, *, label=1, **kw) -> Trajectory:
    """Integrate from the top level down a falling grid to sigma = 0 (paper Eq. 2)."""
    x = entry_images(D, x, "x", pair=is_pair_method(method))
    return integrate(D, x, ordered(sigmas, False), label, method, direction="sample", **kw)


def translate(D: Denoiser, x_src: torch.Tensor, method: Method, *, guidance: Guidance | None = None,
              steps: int = 50, sigmas: torch.Tensor | None = None, source_label: int = 0, target_label: int = 1,
              seeds: list[int] | None = None, cfg_scale: float = 1.0, sample_cfg_scale: float | None = None,
              sampler: Method | None = None, D_sample: Denoiser | None = None, callback: Callable | None = None,
              on_nonfinite: str = "mark", progress: bool = False, warn_norm: bool = True) -> Translation:
    """Invert ``x_src`` under the source label, guided (paper Sec. 5), then sample under the target label with
    ``method.sampler()`` (else the method) on ``D_sample`` (a ``ModelPair``'s target); latent models: images in/out."""
    x_src = entry_images(D, x_src, "x_src")
    ls = D.latent_space if images_for_latent_model(D, x_src) else None  # images in, images out; x_T stays a latent
    if ls is not None:
        x_src = entry_images(D, ls.encode(x_src), "x_src")
    sig = ordered(default_sigmas(D, steps) if sigmas is None else sigmas, False)
    inv = invert(D, x_src, sig, method, label=source_label, guidance=guidance, seeds=seeds, cfg_scale=cfg_scale,
                 callback=callback, on_nonfinite=on_nonfinite, progress=progress, desc="invert")
    smp = sampler or (method.sampler() if hasattr(method, "sampler") else method)
    x_T = primary(inv.x, method)
    if D_sample is None:
        D_sample = D.target if isinstance(D, ModelPair) else D
    gen = sample(D_sample, inv.x if is_pair_method(smp) else x_T, sig, smp, label=target_label, seeds=seeds,
                 cfg_scale=cfg_scale if sample_cfg_scale is None else sample_cfg_scale, state=dict(inv.handoff),
                 callback=callback, on_nonfinite=on_nonfinite, progress=progress, desc="sample")
    n_inv = len(sig) - 1
    bad = torch.where(inv.nonfinite_step >= 0, inv.nonfinite_step,
                      torch.where(gen.nonfinite_step >= 0, gen.nonfinite_step + n_inv, -1))
    if (bad >= 0).any():
        idx = (bad >= 0).nonzero().flatten().tolist()
        where = ", ".join(f"{i} at step {int(bad[i])}" for i in idx[:10]) + (" ..." if len(idx) > 10 else "")
        warnings.warn(f"{len(idx)} of {len(bad)} samples of a translation batch became non-finite (position in the "
                      f"batch at step; steps 0-{n_inv - 1} invert, {n_inv}-{2 * n_inv - 1} sample): {where}; the "
                      f"returned translation records each sample's step, and a study leaves them out of its means",
                      RuntimeWarning, stacklevel=2)
    latent = D.to_noise(x_T, float(sig[0]))
    if warn_norm:
        warn_latent_norm(latent, bad, guidance)
    output = gen.x if ls is None else ls.decode(gen.x)
    return Translation(x_T=x_T, latent=latent, output=output, nonfinite_step=bad,
                       nfe=inv.nfe + gen.nfe, inversion=inv, sampling=gen)
