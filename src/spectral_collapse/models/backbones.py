"""Backbones built from a config, never from a hub: class-conditional diffusers UNet2DModel (the paper's Sec. 6.1
U-Net; 3 classes: 0 source, 1 target, 2 null) or DiTTransformer2DModel (Peebles & Xie 2023; the backbone ablation,
Sec. 6.3; its own label dropout off: the trainer's seeded dropout replaces it, keeping resumption bit-exact)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from torch import nn

__all__ = ["ConfigFields", "UNetConfig", "DiTConfig", "DIT_SIZES", "dit_preset", "BACKBONE_KINDS", "build_backbone",
           "reshaped", "count_parameters"]

# DiT model sizes (Peebles & Xie 2023, Table 1): name -> (layers, hidden size, heads).
DIT_SIZES = {"S": (12, 384, 6), "B": (12, 768, 12), "L": (24, 1024, 16), "XL": (28, 1152, 16)}


class ConfigFields:
    """A config dataclass's ``to_dict``: its fields, JSON-able (tuples as lists)."""

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class UNetConfig(ConfigFields):
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

    @classmethod
    def from_dict(cls, d: dict) -> "UNetConfig | DiTConfig":
        """The backbone config saved as ``d`` (a checkpoint's model.backbone), of whichever kind it names."""
        kind = d.get("kind", "unet")
        if kind not in BACKBONE_KINDS:
            raise ValueError(f"unknown backbone kind {kind!r}; valid kinds: {', '.join(BACKBONE_KINDS)}")
        return BACKBONE_KINDS[kind](**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclass(frozen=True)
class DiTConfig(ConfigFields):
    """Keyword arguments of diffusers.DiTTransformer2DModel (the subset we vary); hidden = heads * head_dim."""

    sample_size: int = 32              # H = W of the diffused tensor
    in_channels: int = 3               # 3 for RGB pixels, 4 for SD-VAE latents; out_channels is the same
    patch_size: int = 4                # tokens = (sample_size / patch_size)^2
    num_layers: int = 4
    num_attention_heads: int = 4
    attention_head_dim: int = 32
    num_class_embeds: int = 3          # labels 0 source, 1 target, 2 null
    kind: str = "dit"

    @property
    def out_channels(self) -> int:
        return self.in_channels


def dit_preset(name: str = "L/2", *, sample_size: int = 32, in_channels: int = 4) -> DiTConfig:
    """A DiT of the original paper's sizes, e.g. 'L/2' (the paper's DiT-L/2) or 'DiT-S/4'."""
    key = name.removeprefix("DiT-")
    try:
        size, patch = key.split("/")
        layers, hidden, heads = DIT_SIZES[size]
    except (ValueError, KeyError):
        raise ValueError(f"unknown DiT preset {name!r}; valid: sizes {', '.join(DIT_SIZES)} with a patch size, "
                         f"for example 'L/2' or 'DiT-B/4'") from None
    return DiTConfig(sample_size=sample_size, in_channels=in_channels, patch_size=int(patch), num_layers=layers,
                     num_attention_heads=heads, attention_head_dim=hidden // heads)


BACKBONE_KINDS = {"unet": UNetConfig, "dit": DiTConfig}


def reshaped(cfg: UNetConfig | DiTConfig, channels: int, size: int) -> UNetConfig | DiTConfig:
    """The same backbone for a diffused tensor of ``channels`` x ``size`` x ``size`` (pixels or latents)."""
    kw = {"in_channels": channels, "sample_size": size}
    if isinstance(cfg, UNetConfig):
        kw["out_channels"] = channels
    return replace(cfg, **kw)


def build_backbone(cfg: UNetConfig | DiTConfig) -> nn.Module:
    """Instantiate the network described by ``cfg`` with random weights (seed with torch.manual_seed first)."""
    if cfg.kind == "dit":
        if cfg.sample_size % cfg.patch_size:
            raise ValueError(f"patch_size {cfg.patch_size} must divide sample_size {cfg.sample_size}; "
                             f"try patch_size in {[p for p in (1, 2, 4, 8) if cfg.sample_size % p == 0]}")
        from diffusers import DiTTransformer2DModel
        from diffusers.models.embeddings import LabelEmbedding

        net = DiTTransformer2DModel(
            num_attention_heads=cfg.num_attention_heads, attention_head_dim=cfg.attention_head_dim,
            in_channels=cfg.in_channels, out_channels=cfg.in_channels, num_layers=cfg.num_layers,
            sample_size=cfg.sample_size, patch_size=cfg.patch_size, num_embeds_ada_norm=cfg.num_class_embeds)
        for m in net.modules():
            if isinstance(m, LabelEmbedding):
                m.dropout_prob = 0.0  # label dropout is the trainer's (seeded)
        return net
    if not len(cfg.down_block_types) == len(cfg.up_block_types) == len(cfg.block_out_channels):
        raise ValueError("down_block_types, up_block_types and block_out_channels must have the same length")
    from diffusers import UNet2DModel

    return UNet2DModel(**{k: v for k, v in asdict(cfg).items() if k != "kind"})


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
