"""Profiles: one module defines every scale the suite runs at."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..models.backbones import DiTConfig, UNetConfig, dit_preset, reshaped
from ..models.schedules import VPSchedule
from ..models.vae import SD_VAE, PretrainedVAE, VAEConfig
from ..train.vae import VAETrainConfig
from ..train.config import ModelSpec, TrainConfig

__all__ = ["Profile", "PROFILES", "get_profile", "BACKBONES", "SPACES"]

BACKBONES = ("unet", "dit")
SPACES = ("pixel", "latent")
FLOW_LOGIT_MEAN, FLOW_LOGIT_STD = 0.0, 1.0  # logit-normal training times of the flow model (SD3 / diffusers default)

# Paper Table 7: (framework -> dataset -> settings). Latent-space rows use SD-VAE latents (4 x 32 x 32).
_TABLE7 = {
    "eps": {
        "bbbc021": dict(batch_size=128, lr=5e-5, lr_schedule="cosine", ema_decay=0.995, steps=80_000),
        "edges2shoes": dict(batch_size=128, lr=5e-5, lr_schedule="cosine", ema_decay=0.995, steps=80_000),
        "bbbc021-pixel": dict(batch_size=64, lr=5e-5, lr_schedule="constant", ema_decay=0.995, steps=80_000),
        "bbbc021-dit": dict(batch_size=128, lr=5e-5, lr_schedule="cosine", ema_decay=0.995, steps=120_000),
    },
    "edm": {
        "bbbc021": dict(batch_size=128, lr=5e-5, lr_schedule="cosine", ema_decay=0.995, steps=80_000, P_mean=-1.89),
        "edges2shoes": dict(batch_size=128, lr=5e-5, lr_schedule="constant", ema_decay=0.995, steps=80_000, P_mean=-0.4),
        "bbbc021-pixel": dict(batch_size=64, lr=1e-4, lr_schedule="cosine", ema_decay=0.999, steps=100_000, P_mean=-1.2),
        "bbbc021-dit": dict(batch_size=128, lr=5e-5, lr_schedule="cosine", ema_decay=0.995, steps=120_000, P_mean=-1.2),
    },
}
_SIGMA_DATA = {"bbbc021": 1.14, "edges2shoes": 0.7, "bbbc021-pixel": 0.5, "bbbc021-dit": 0.5}


@dataclass(frozen=True)
class Profile:
    """Everything a study needs to know about scale: data size, networks, training, evaluation."""

    name: str
    image_size: int                   # H = W of the images (latents: image_size / vae.downsample)
    factor: int                       # default SR decimation factor
    backbone: UNetConfig
    train_eps: TrainConfig            # epsilon-prediction (DDIM) model
    train_edm: TrainConfig            # EDM model
    schedule: VPSchedule = field(default_factory=VPSchedule)
    sigma_data: float = 0.5
    n_test: int = 64                  # paired test crops per seed (the seeds take disjoint subsets when they fit)
    n_val: int = 64                   # validation crops at the end of the paired split (the Pareto sweep tunes on them)
    steps: int = 50                   # inversion / sampling steps (paper: 50)
    seeds: tuple = (0, 1, 2)          # the paper reports mean +- std over 3 seeds
    batch_size: int = 64              # inversion batch size (results do not depend on it)
    n_from_noise: int = 32            # samples from noise shown in the book
    threads: int | None = None        # torch threads (None = leave as is)
    gate_samples: int = 256           # samples per label and sampler of the model-quality gate (framework.quality)
    flow_logit_std: float = FLOW_LOGIT_STD  # std of the flow model's logit-normal training times
    allow_weak_models: bool | tuple = False  # models below the gate run (with a warning) instead of being refused:
    #                                   all (True), none (False), or these model-set keys (arms that cannot pass here)
    # --- ablation axes (paper Sec. 6.3) ---
    space: str = "pixel"              # data space of `backbone` and of the main models: pixel | latent
    factors: tuple = (2, 4, 8)        # SR factors of the scale-factor and eps-vs-x0 ablations
    dit: DiTConfig = field(default_factory=DiTConfig)      # DiT of the backbone ablation (reshaped to the space)
    train_dit: TrainConfig | None = None                   # None: train_eps / train_edm
    pixel_backbone: UNetConfig | None = None   # U-Net for pixel space when `space` is latent (None: reshape `backbone`)
    latent_backbone: UNetConfig | None = None  # U-Net for latent space when `space` is pixel (None: reshape `backbone`)
    vae: VAEConfig | PretrainedVAE = field(default_factory=VAEConfig)
    train_vae: VAETrainConfig = field(default_factory=VAETrainConfig)

    def resolve_space(self, backbone: str = "unet", space: str | None = None) -> str:
        """Validate an ablation's backbone and return its space (None: the profile's)."""
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {backbone!r}; valid backbones: {', '.join(BACKBONES)}")
        space = space or self.space
        if space not in SPACES:
            raise ValueError(f"unknown space {space!r}; valid spaces: {', '.join(SPACES)}")
        return space

    def diffused_shape(self, space: str | None = None) -> tuple[int, int]:
        """(channels, side) of the tensor the models diffuse: RGB images or the VAE's latents."""
        space = self.resolve_space("unet", space)
        if space == "pixel":
            return 3, self.image_size
        if self.image_size % self.vae.downsample:
            raise ValueError(f"image_size {self.image_size} is not divisible by the VAE's downsampling {self.vae.downsample}")
        return self.vae.latent_channels, self.image_size // self.vae.downsample

    def backbone_config(self, backbone: str = "unet", space: str | None = None) -> UNetConfig | DiTConfig:
        """The network of this profile for a backbone kind and a data space, shaped to the diffused tensor."""
        space = self.resolve_space(backbone, space)
        own = {"latent": self.latent_backbone, "pixel": self.pixel_backbone}[space] if space != self.space else None
        base = self.dit if backbone == "dit" else own or self.backbone
        return reshaped(base, *self.diffused_shape(space))

    def _paper_key(self, dataset: str | None, backbone: str, space: str) -> str:
        """The row of paper Table 7 (``_TABLE7``) and ``_SIGMA_DATA``: BBBC021's DiT and pixel models have their own."""
        if dataset == "bbbc021" and (backbone == "dit" or space == "pixel"):
            return "bbbc021-dit" if backbone == "dit" else "bbbc021-pixel"
        return dataset or ""

    def model_spec(self, parameterization: str, dataset: str | None = None, *, backbone: str = "unet",
                   space: str | None = None) -> ModelSpec:
        """ModelSpec for 'eps', 'x0', 'v', 'edm' or 'flow' at this profile's scale (backbone / space: ablation axes)."""
        space = self.resolve_space(backbone, space)
        key = self._paper_key(dataset, backbone, space)
        sd = _SIGMA_DATA.get(key, self.sigma_data) if self.name == "paper" else self.sigma_data
        return ModelSpec(backbone=self.backbone_config(backbone, space), parameterization=parameterization,
                         schedule=self.schedule, sigma_data=sd)

    def train_config(self, parameterization: str, dataset: str | None = None, *, backbone: str = "unet",
                     space: str | None = None) -> TrainConfig:
        space = self.resolve_space(backbone, space)
        base = self.train_edm if parameterization == "edm" else self.train_eps
        if backbone == "dit" and self.train_dit is not None:  # an EDM-objective DiT draws EDM's noise levels
            base = self.train_dit if parameterization != "edm" else replace(
                self.train_dit, P_mean=self.train_edm.P_mean, P_std=self.train_edm.P_std)
        # truncated-SNR weighting gives the eps and x0 objectives one loss, max(eps error, x0 error), so the eps-vs-x0
        # ablation compares parameterizations, not loss weightings; the EDM, v and flow objectives keep their own
        cfg = replace(base, objective=parameterization,
                      truncated_snr=base.truncated_snr and parameterization in ("eps", "x0"))
        if parameterization == "flow":  # the eps model's recipe on the flow objective, logit-normal times
            cfg = replace(cfg, P_mean=FLOW_LOGIT_MEAN, P_std=self.flow_logit_std)
        key = self._paper_key(dataset, backbone, space)
        if self.name == "paper" and key in _TABLE7["eps"]:
            cfg = replace(cfg, **_TABLE7["edm" if parameterization == "edm" else "eps"][key])
        return cfg


_SMOKE_UNET = UNetConfig(sample_size=16, block_out_channels=(16, 32), down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                         up_block_types=("AttnUpBlock2D", "UpBlock2D"), norm_num_groups=8, attention_head_dim=8)
_QUICK_UNET = UNetConfig()  # (32, 64, 64), 1 layer/block, attention at 8 x 8: 1.11 M parameters
_PAPER_UNET = UNetConfig(  # SD-v1.5-like widths on 4 x 32 x 32 latents (class embedding instead of text)
    sample_size=32, in_channels=4, out_channels=4, block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
    down_block_types=("AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D"), norm_num_groups=32,
    attention_head_dim=8)
# Pixel space at 256 px (paper Table 4, pixel rows; the paper gives no pixel config): SD-like widths and attention at
# the same spatial sizes as on latents (32, 16, 8), with two attention-free levels at 256 and 128 px in front.
_PAPER_PIXEL_UNET = UNetConfig(
    sample_size=256, in_channels=3, out_channels=3, block_out_channels=(128, 256, 320, 640, 1280, 1280),
    layers_per_block=2, down_block_types=("DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D",
                                          "AttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"),
    norm_num_groups=32, attention_head_dim=8)
_SMOKE_DIT = DiTConfig(sample_size=16, patch_size=4, num_layers=2, num_attention_heads=2, attention_head_dim=16)
_QUICK_DIT = DiTConfig(sample_size=32, patch_size=4, num_layers=6, num_attention_heads=4, attention_head_dim=32)

PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke", image_size=16, factor=4, backbone=_SMOKE_UNET,
        train_eps=TrainConfig(steps=30, batch_size=16, lr=2e-3, warmup_steps=5, checkpoint_every=10),
        train_edm=TrainConfig(objective="edm", steps=30, batch_size=16, lr=2e-3, warmup_steps=5, checkpoint_every=10),
        n_test=8, n_val=8, steps=8, seeds=(0, 1), batch_size=8, n_from_noise=8, gate_samples=16,
        allow_weak_models=True,
        factors=(2, 4), dit=_SMOKE_DIT, vae=VAEConfig(block_out_channels=(8, 16), norm_num_groups=4),
        train_vae=VAETrainConfig(steps=20, batch_size=8, scaling_images=64)),
    "quick": Profile(
        name="quick", image_size=32, factor=4, backbone=_QUICK_UNET,
        train_eps=TrainConfig(steps=6000, batch_size=32, lr=1e-3, warmup_steps=50, ema_decay=0.999, truncated_snr=True),
        # EDM: P_std 2.0, not 1.2: at 1.2 almost no training sigma exceeds 10, where a third of the 50-step Karras grid
        # lies, and the denoised colour drifts there (+14 % blue at sigma 80); 8000 steps because at 6000 the held-out
        # loss still falls 2.1 % over the last fifth (the plateau rule asks < 2 %)
        train_edm=TrainConfig(objective="edm", steps=8000, batch_size=32, lr=1e-3, warmup_steps=50, ema_decay=0.999,
                              P_std=2.0),
        # flow: logit std 2.0 puts 8 % of training times above sigma 16 (std 1: 0.3 %), where the sampling grid
        # starts; at std 1 the denoised colour drifts there and deterministic samples end 12 % dark
        flow_logit_std=2.0,
        n_test=16, n_val=16, steps=50, seeds=(0, 1, 2), batch_size=32, n_from_noise=32,
        allow_weak_models=("ihc-sr-x4-eps-dit", "ihc-sr-x4-eps-latent", "ihc-sr-x4-flow"),
        factors=(2, 4, 8), dit=_QUICK_DIT,
        train_dit=TrainConfig(steps=8000, batch_size=32, lr=5e-4, warmup_steps=60, ema_decay=0.999,
                              truncated_snr=True),
        vae=VAEConfig(block_out_channels=(32, 64)), train_vae=VAETrainConfig(steps=2000, batch_size=32)),
    "paper": Profile(
        name="paper", image_size=256, factor=16, backbone=_PAPER_UNET,
        train_eps=TrainConfig(steps=80_000, batch_size=128, lr=5e-5, warmup_steps=1000, ema_decay=0.995,
                              checkpoint_every=2000),
        train_edm=TrainConfig(objective="edm", steps=80_000, batch_size=128, lr=5e-5, warmup_steps=1000,
                              ema_decay=0.995, P_mean=-1.89, checkpoint_every=2000),
        sigma_data=1.14, n_test=512, steps=50, seeds=(0, 1, 2), batch_size=32, n_from_noise=64,
        space="latent", factors=(8, 16, 32), vae=SD_VAE, pixel_backbone=_PAPER_PIXEL_UNET,
        dit=dit_preset("L/2", sample_size=32, in_channels=4),
        train_dit=TrainConfig(steps=120_000, batch_size=128, lr=5e-5, warmup_steps=1000, ema_decay=0.995,
                              checkpoint_every=2000)),
}


def get_profile(name: str) -> Profile:
    """Look up a profile by name; the error lists the valid ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; valid profiles: {', '.join(PROFILES)}") from None


# Notebook parameters a profile's main command (`cli studies`, `make book`) passes to one study beside the notebook's
# defaults: quick runs eps_vs_x0 at factor 4 only, as its model set trains the x0 model at x4 alone.
STUDY_PARAMS: dict[str, dict[str, dict]] = {
    "quick": {"eps_vs_x0": {"factors": [4]}},
}


def study_params(profile: str, study: str) -> dict:
    """The parameters ``profile``'s main command passes to ``study`` (a fresh copy; {} when none)."""
    get_profile(profile)
    return {k: list(v) if isinstance(v, list) else v for k, v in STUDY_PARAMS.get(profile, {}).get(study, {}).items()}
