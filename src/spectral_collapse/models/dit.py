"""Class-conditional Diffusion Transformer (DiT, Peebles & Xie 2023) backbone from a config, never from a hub: the
backbone ablation's (paper Sec. 6.3) ``DiTTransformer2DModel`` with out_channels = in_channels, labels 0 / 1 / 2 and
its own label dropout off (the trainer's seeded dropout replaces it, keeping resumption bit-exact)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import nn

__all__ = ["DiTConfig", "DIT_SIZES", "dit_preset", "build_dit"]

# DiT model sizes (Peebles & Xie 2023, Table 1): name -> (layers, hidden size, heads).
DIT_SIZES = {"S": (12, 384, 6), "B": (12, 768, 12), "L": (24, 1024, 16), "XL": (28, 1152, 16)}


@dataclass(frozen=True)
class DiTConfig:
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

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DiTConfig":
        return cls(**d)


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


def build_dit(cfg: DiTConfig) -> nn.Module:
    """Instantiate the DiT described by ``cfg`` with random weights (seed with torch.manual_seed first)."""
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
            m.dropout_prob = 0.0  # label dropout is the trainer's (seeded); see the module docstring
    return net

