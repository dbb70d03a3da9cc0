"""Latent space for latent diffusion (paper Sec. 6.1): a diffusers ``AutoencoderKL`` and its scaling.

``PretrainedVAE`` loads a hub id or folder (the paper's SD-1.5 VAE, scaling 0.18215); ``VAEConfig`` is the small
autoencoder the CPU profiles train. ``LatentSpace`` encodes (the posterior mean) and decodes; ``LatentDomains`` presents
a dataset in latent space to the trainer.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from ..data.unpaired import dihedral, draw_batch
from .backbones import ConfigFields

__all__ = ["VAEConfig", "PretrainedVAE", "SD_VAE", "LatentSpace", "LatentDomains", "build_vae",
           "load_pretrained_vae", "hub_offline"]

@dataclass(frozen=True)
class VAEConfig(ConfigFields):
    """A small diffusers AutoencoderKL: ``len(block_out_channels) - 1`` halvings of the image side."""

    in_channels: int = 3
    latent_channels: int = 4
    block_out_channels: tuple = (32, 64)   # one encoder / decoder block per entry; all but the last downsample
    layers_per_block: int = 1
    norm_num_groups: int = 16
    mid_block_add_attention: bool = False  # SD has attention in the mid block; off here for speed
    kind: str = "trained"

    @property
    def downsample(self) -> int:
        return 2 ** (len(self.block_out_channels) - 1)


@dataclass(frozen=True)
class PretrainedVAE(ConfigFields):
    """An AutoencoderKL by hub id or local folder (loaded only when asked; never in tests)."""

    source: str = "runwayml/stable-diffusion-v1-5"  # hub id or local path (a folder holding config.json)
    subfolder: str | None = "vae"
    revision: str | None = None
    scaling_factor: float | None = 0.18215          # SD v1's, the paper's; None: the model config's scaling_factor
    latent_channels: int = 4
    downsample: int = 8                              # image side / latent side (SD: 8)
    kind: str = "pretrained"


SD_VAE = PretrainedVAE()


def hub_offline() -> bool:
    """True when downloads are off: data.download.is_offline() (SPECTRAL_COLLAPSE_OFFLINE) or HF_HUB_OFFLINE."""
    from ..data.download import is_offline

    return is_offline() or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def build_vae(cfg: VAEConfig) -> nn.Module:
    """A randomly initialised AutoencoderKL of this config (seed with torch.manual_seed first)."""
    from diffusers import AutoencoderKL

    n = len(cfg.block_out_channels)
    return AutoencoderKL(in_channels=cfg.in_channels, out_channels=cfg.in_channels, latent_channels=cfg.latent_channels,
                         down_block_types=("DownEncoderBlock2D",) * n, up_block_types=("UpDecoderBlock2D",) * n,
                         block_out_channels=tuple(cfg.block_out_channels), layers_per_block=cfg.layers_per_block,
                         norm_num_groups=cfg.norm_num_groups, mid_block_add_attention=cfg.mid_block_add_attention)


class LatentSpace:
    """Images (B, 3, H, W) in [-1, 1] <-> latents (B, C, H / f, W / f), (z - shift_factor) * scaling_factor, of an
    AutoencoderKL."""

    def __init__(self, vae: nn.Module, scaling_factor: float, *, batch_size: int = 64, identity: dict | None = None,
                 shift_factor: float = 0.0):
        self.vae = vae.eval().requires_grad_(False)
        self.scaling_factor = float(scaling_factor)
        self.shift_factor = float(shift_factor)
        self.batch_size = batch_size
        self.identity = dict(identity or {})
        cfg = vae.config
        self.channels = int(cfg.latent_channels)
        self.downsample = 2 ** (len(cfg.block_out_channels) - 1)

    def describe(self) -> dict:
        """JSON-able identity (autoencoder, scaling, nonzero shift): part of every latent model's hash."""
        shift = {"shift_factor": self.shift_factor} if self.shift_factor else {}
        return {**self.identity, "scaling_factor": self.scaling_factor, **shift, "encode": "mean"}

    @property
    def device(self) -> torch.device:
        return next(self.vae.parameters()).device

    def _batched(self, x: torch.Tensor, fn) -> torch.Tensor:
        """``fn`` of float32 batches of ``x`` on the autoencoder's device, concatenated on the CPU."""
        return torch.cat([fn(x[i:i + self.batch_size].to(self.device, torch.float32)).float().cpu()
                          for i in range(0, x.shape[0], self.batch_size)])

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Scaled, shifted latents of ``images`` (the posterior mean)."""
        return self._batched(images, lambda x: (self.vae.encode(x).latent_dist.mean - self.shift_factor)
                             * self.scaling_factor)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Images (not clamped) of scaled, shifted latents."""
        return self._batched(latents, lambda z: self.vae.decode(z / self.scaling_factor + self.shift_factor).sample)


def load_pretrained_vae(spec: PretrainedVAE = SD_VAE, *, local_files_only: bool | None = None,
                        device: str | torch.device = "cpu") -> LatentSpace:
    """Load a pretrained AutoencoderKL from a local folder or the hub (cache only when downloads are off)."""
    from diffusers import AutoencoderKL

    local = Path(spec.source).expanduser()
    is_dir = local.is_dir()
    offline = hub_offline() if local_files_only is None else local_files_only
    kw = {"subfolder": spec.subfolder} if spec.subfolder and not (is_dir and (local / "config.json").exists()) else {}
    try:
        vae = AutoencoderKL.from_pretrained(str(local) if is_dir else spec.source, revision=spec.revision,
                                            local_files_only=offline or is_dir, **kw)
    except (OSError, ValueError) as e:
        how = ("the folder has no AutoencoderKL (config.json + weights)" if is_dir else
               f"it is not in the local Hugging Face cache and downloads are off; with internet run "
               f"`huggingface-cli download {spec.source}` or unset SPECTRAL_COLLAPSE_OFFLINE / HF_HUB_OFFLINE"
               if offline else "check the hub id, subfolder and revision")
        raise OSError(f"cannot load the VAE {spec.source!r} (subfolder {spec.subfolder!r}): {how}. "
                      f"Alternatively use a small VAE trained here (VAEConfig). Cause: {e}") from e
    scale = spec.scaling_factor if spec.scaling_factor is not None else getattr(vae.config, "scaling_factor", None)
    if scale is None:
        raise ValueError(f"the VAE {spec.source!r} has no scaling_factor in its config; pass "
                         f"PretrainedVAE(scaling_factor=...)")
    # the geometry recorded is the loaded autoencoder's own, not the defaults of the spec (SD's 4 channels, x8)
    spec = replace(spec, latent_channels=int(vae.config.latent_channels),
                   downsample=2 ** (len(vae.config.block_out_channels) - 1))
    shift = float(getattr(vae.config, "shift_factor", None) or 0.0)  # SD3 / Flux VAEs; None (no shift) for SD's
    return LatentSpace(vae.to(device), scale, identity={"vae": spec.to_dict()}, shift_factor=shift)


@dataclass(eq=False)
class LatentDomains:
    """The trainer's view of a dataset in a latent space; each dihedral view is encoded once, on first use."""

    data: object
    space: LatentSpace
    views: tuple = tuple(range(8))     # dihedral elements used as augmentation (k = 0: the image itself)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.data.name

    @property
    def task(self):
        """The task the image data declares (the latents translate the same pairs)."""
        return self.data.task

    @property
    def meta(self) -> dict:
        return {**self.data.meta, "space": self.space.describe(), "latent_views": list(self.views)}

    def _encoded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(V, N, C, h, w) latents of the allowed views of each pool, in the order of ``views``."""
        if not self._cache:
            for key in ("source", "target"):
                x = getattr(self.data, key)
                self._cache[key] = torch.stack([self.space.encode(dihedral(x, k)) for k in self.views])
        return self._cache["source"], self._cache["target"]

    def train_batch(self, batch_size: int, generator: torch.Generator | None = None) -> tuple:
        """Half source latents (label 0), half target latents (label 1), each of a random allowed dihedral view."""
        return draw_batch(*self._encoded(), batch_size, generator)
