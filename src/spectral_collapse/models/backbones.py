"""Backbones built from a config, never from a hub: class-conditional diffusers UNet2DModel (the paper's Sec. 6.1
U-Net; 3 classes: 0 source, 1 target, 2 null) or DiTTransformer2DModel (the backbone ablation, models/dit.py)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from torch import nn

from .dit import DiTConfig, build_dit

__all__ = ["UNetConfig", "DiTConfig", "BACKBONE_KINDS", "build_backbone", "backbone_from_dict", "reshaped",
           "count_parameters"]


@dataclass(frozen=True)
class UNetConfig:
    """Keyword arguments of diffusers.UNet2DModel (the subset we vary)."""

    sample_size: int = 32                          # H = W of the diffused tensor
    in_channels: int = 3                           # 3 for RGB pixels, 4 for SD-VAE latents
    out_channels: int = 3
    block_out_channels: tuple = (32, 64, 64)       # channels per resolution
    layers_per_block: int = 1
    down_block_types: tuple = ("DownBlock2D", "DownBlock2D", "AttnDownBlock2D")
    up_block_types: tuple = ("AttnUpBlock2D", "UpBlock2D", "UpBlock2D")
    norm_num_groups: int = 8
    attention_head_dim: int = 8
    num_class_embeds: int = 3                      # labels 0 source, 1 target, 2 null
    kind: str = "unet"

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "UNetConfig | DiTConfig":
        """The backbone config saved as ``d`` (a checkpoint's model.backbone), of whichever kind it names."""
        kind = d.get("kind", "unet")
        if kind not in BACKBONE_KINDS:
            raise ValueError(f"unknown backbone kind {kind!r}; valid kinds: {', '.join(BACKBONE_KINDS)}")
        if kind != "unet":
            return BACKBONE_KINDS[kind].from_dict(d)
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


BACKBONE_KINDS = {"unet": UNetConfig, "dit": DiTConfig}
backbone_from_dict = UNetConfig.from_dict


def reshaped(cfg: UNetConfig | DiTConfig, channels: int, size: int) -> UNetConfig | DiTConfig:
    """The same backbone for a diffused tensor of ``channels`` x ``size`` x ``size`` (pixels or latents)."""
    kw = {"in_channels": channels, "sample_size": size}
    if isinstance(cfg, UNetConfig):
        kw["out_channels"] = channels
    return replace(cfg, **kw)


def build_backbone(cfg: UNetConfig | DiTConfig) -> nn.Module:
    """Instantiate the network described by ``cfg`` with random weights (seed with torch.manual_seed first)."""
    if cfg.kind == "dit":
        return build_dit(cfg)
    if len(cfg.down_block_types) != len(cfg.block_out_channels) or len(cfg.up_block_types) != len(cfg.block_out_channels):
        raise ValueError("down_block_types, up_block_types and block_out_channels must have the same length")
    from diffusers import UNet2DModel

    return UNet2DModel(**{k: v for k, v in asdict(cfg).items() if k != "kind"})


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
