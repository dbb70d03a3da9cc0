"""What ``translate``, ``invert`` and ``sample`` check before any network call, and the one-line warning on an
inverted latent's norm. Images enter the loop as float tensors (B, C, H, W), in [-1, 1] for pixel models."""
from __future__ import annotations

import itertools
import warnings

import torch

__all__ = ["entry_images", "model_device", "model_dtype", "images_for_latent_model", "warn_latent_norm", "NORM_RATIO_BOUND"]


def model_device(D) -> torch.device | None:
    """The device of a denoiser's first parameter or buffer (None for a module holding none)."""
    if isinstance(D, torch.nn.Module):
        for t in itertools.chain(D.parameters(), D.buffers()):
            return t.device
    return None


def model_dtype(D) -> torch.dtype | None:
    """The dtype of a denoiser's weights: its first floating parameter of more than one value (None for a module
    holding none, such as an analytic oracle)."""
    if isinstance(D, torch.nn.Module):
        for t in D.parameters():
            if t.is_floating_point() and t.numel() > 1:
                return t.dtype
    return None


def entry_images(D, x, what: str = "x", *, pair: bool = False) -> torch.Tensor:
    """``x`` checked before any work: a float tensor of rank 4 (or 5 for a pair-state method's pair), converted to
    the model's floating dtype; integer images and other ranks raise TypeError / ValueError naming the fix."""
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
    """Whether ``x`` holds images for a latent model ``D`` (not its latents): other channels than the VAE's latents,
    or the network's side times the VAE's downsampling."""
    ls = getattr(D, "latent_space", None)
    if ls is None or x.ndim != 4:
        return False
    if x.shape[1] != ls.channels:
        return True
    side = getattr(getattr(getattr(D, "net", None), "config", None), "sample_size", None)
    side = side[0] if isinstance(side, (tuple, list)) else side
    return isinstance(side, int) and ls.downsample > 1 and x.shape[-1] == side * ls.downsample


# ||x_T||^2 / d of an inverted latent that ``translate`` accepts without a warning: N(0, I) gives 1 +- sqrt(2 / d), a
# working DDIM inversion 0.8-1.1; outside, the RMS is off the noise's by more than sqrt(2) (studies/validity.py).
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
