"""Profiles: one module defines every scale the suite runs at.

- ``smoke``: tests and CI. Tiny images and networks, seconds per notebook; numbers mean nothing.
- ``quick``: the default of the main command. CPU-feasible on 2 cores with the bundled IHC data (32 x 32 crops,
  a ~1.1M-parameter U-Net, derisk-facts.md), 1000 steps of batch 32 per model (about 8 CPU-minutes on 2 cores).
- ``paper``: the paper's hyperparameters (Table 7, App. D) for a GPU and the real datasets: SD-1.5-like U-Net,
  batch 128, lr 5e-5, EMA 0.995, 80k steps; EDM constants sigma_min 0.002, sigma_max 80, P_std 1.2.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..models.backbones import UNetConfig
from ..models.schedules import VPSchedule
from ..train.trainer import ModelSpec, TrainConfig

__all__ = ["Profile", "PROFILES", "get_profile"]

# Paper Table 7: (framework -> dataset -> settings). Latent-space rows use SD-VAE latents (4 x 32 x 32).
_TABLE7 = {
    "eps": {
        "bbbc021": dict(batch_size=128, lr=5e-5, lr_schedule="cosine", ema_decay=0.995, steps=80_000),
        "edges2shoes": dict(batch_size=128, lr=5e-5, lr_schedule="cosine", ema_decay=0.995, steps=80_000),
        "bbbc021-pixel": dict(batch_size=64, lr=5e-5, lr_schedule="constant", ema_decay=0.995, steps=80_000),
    },
    "edm": {
        "bbbc021": dict(batch_size=128, lr=5e-5, lr_schedule="cosine", ema_decay=0.995, steps=80_000, P_mean=-1.89),
        "edges2shoes": dict(batch_size=128, lr=5e-5, lr_schedule="constant", ema_decay=0.995, steps=80_000, P_mean=-0.4),
        "bbbc021-pixel": dict(batch_size=64, lr=1e-4, lr_schedule="cosine", ema_decay=0.999, steps=100_000, P_mean=-1.2),
    },
}
_SIGMA_DATA = {"bbbc021": 1.14, "edges2shoes": 0.7, "bbbc021-pixel": 0.5}


@dataclass(frozen=True)
class Profile:
    """Everything a study needs to know about scale: data size, networks, training, evaluation."""

    name: str
    image_size: int                   # H = W of the images the model diffuses
    factor: int                       # default SR decimation factor
    backbone: UNetConfig
    train_eps: TrainConfig            # epsilon-prediction (DDIM) model
    train_edm: TrainConfig            # EDM model
    schedule: VPSchedule = field(default_factory=VPSchedule)
    sigma_data: float = 0.5
    n_test: int = 64                  # paired test images per seed
    steps: int = 50                   # inversion / sampling steps (paper: 50)
    seeds: tuple = (0, 1, 2)          # the paper reports mean +- std over 3 seeds
    batch_size: int = 64              # inversion batch size (results do not depend on it)
    n_from_noise: int = 32            # samples from noise shown in the book
    threads: int | None = None        # torch threads (None = leave as is)

    def model_spec(self, parameterization: str, dataset: str | None = None) -> ModelSpec:
        """ModelSpec for 'eps', 'x0', 'v' or 'edm' at this profile's scale."""
        sd = _SIGMA_DATA.get(dataset or "", self.sigma_data) if self.name == "paper" else self.sigma_data
        return ModelSpec(backbone=self.backbone, parameterization=parameterization, schedule=self.schedule, sigma_data=sd)

    def train_config(self, parameterization: str, dataset: str | None = None) -> TrainConfig:
        base = self.train_edm if parameterization == "edm" else self.train_eps
        cfg = replace(base, objective=parameterization)
        if self.name == "paper" and dataset in _TABLE7["eps"]:
            cfg = replace(cfg, **_TABLE7["edm" if parameterization == "edm" else "eps"][dataset])
        return cfg


_SMOKE_UNET = UNetConfig(sample_size=16, block_out_channels=(16, 32), down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                         up_block_types=("AttnUpBlock2D", "UpBlock2D"), norm_num_groups=8, attention_head_dim=8)
_QUICK_UNET = UNetConfig()  # (32, 64, 64), 1 layer/block, attention at 8 x 8: 1.11 M parameters
_PAPER_UNET = UNetConfig(  # SD-v1.5-like widths on 4 x 32 x 32 latents (class embedding instead of text)
    sample_size=32, in_channels=4, out_channels=4, block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
    down_block_types=("AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D"), norm_num_groups=32,
    attention_head_dim=8)

PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke", image_size=16, factor=4, backbone=_SMOKE_UNET,
        train_eps=TrainConfig(steps=30, batch_size=16, lr=2e-3, warmup_steps=5, checkpoint_every=10),
        train_edm=TrainConfig(objective="edm", steps=30, batch_size=16, lr=2e-3, warmup_steps=5, checkpoint_every=10),
        n_test=8, steps=8, seeds=(0, 1), batch_size=8, n_from_noise=8),
    "quick": Profile(
        name="quick", image_size=32, factor=4, backbone=_QUICK_UNET,
        train_eps=TrainConfig(steps=1000, batch_size=32, lr=1e-3, warmup_steps=50, ema_decay=0.995),
        train_edm=TrainConfig(objective="edm", steps=1000, batch_size=32, lr=1e-3, warmup_steps=50, ema_decay=0.995),
        n_test=64, steps=50, seeds=(0, 1, 2), batch_size=64, n_from_noise=32),
    "paper": Profile(
        name="paper", image_size=32, factor=16, backbone=_PAPER_UNET,
        train_eps=TrainConfig(steps=80_000, batch_size=128, lr=5e-5, warmup_steps=1000, ema_decay=0.995,
                              checkpoint_every=2000),
        train_edm=TrainConfig(objective="edm", steps=80_000, batch_size=128, lr=5e-5, warmup_steps=1000,
                              ema_decay=0.995, P_mean=-1.89, checkpoint_every=2000),
        sigma_data=1.14, n_test=512, steps=50, seeds=(0, 1, 2), batch_size=32, n_from_noise=64),
}


def get_profile(name: str) -> Profile:
    """Look up a profile by name; the error lists the valid ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; valid profiles: {', '.join(PROFILES)}") from None
