"""What a trained model is: the network and parameterisation to build (``ModelSpec``), the optimisation
(``TrainConfig``), and ``full_config``, which names its checkpoint folder."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..models.backbones import UNetConfig, build_backbone
from ..models.denoisers import make_denoiser
from ..models.base import Denoiser
from ..models.flow import FlowSchedule
from ..models.schedules import VPSchedule
from .losses import OBJECTIVES

__all__ = ["ModelSpec", "TrainConfig", "TrainedModel", "CheckpointMismatch", "PARAMETERIZATIONS", "data_identity",
           "full_config", "check_objective"]

PARAMETERIZATIONS = ("eps", "x0", "v", "edm", "flow")
# objectives that go with one parameterization only, and it with them (EDM's preconditioned loss, flow matching's
# velocity loss); neither takes the min-SNR or truncated-SNR weightings
_PAIRED = {"edm": "EDM", "flow": "flow-matching"}


class CheckpointMismatch(ValueError):
    """A checkpoint's saved configuration differs from the model that was asked for."""


@dataclass(frozen=True)
class ModelSpec:
    """What network, parameterisation and noise schedule to build."""

    backbone: UNetConfig = field(default_factory=UNetConfig)
    parameterization: str = "eps"       # eps | x0 | v | edm | flow
    schedule: VPSchedule = field(default_factory=VPSchedule)  # VP models only
    sigma_data: float = 0.5             # EDM preconditioning
    sigma_min: float = 0.002
    sigma_max: float = 80.0
    time_input: str = "c_noise"         # EDM network time input: c_noise = ln(sigma)/4 (paper) or raw sigma
    flow: FlowSchedule = field(default_factory=FlowSchedule)  # flow-matching models only (models/flow.py)

    def __post_init__(self):
        if self.parameterization not in PARAMETERIZATIONS:
            raise ValueError(f"unknown parameterization {self.parameterization!r}; choose eps, x0, v, edm or flow")

    def to_dict(self) -> dict:
        """The configuration saved in config.json and hashed into the checkpoint's name (flow: no VP schedule)."""
        if self.parameterization == "flow":
            return {"backbone": self.backbone.to_dict(), "parameterization": "flow", "flow": asdict(self.flow)}
        d = {"backbone": self.backbone.to_dict(), "parameterization": self.parameterization,
             "schedule": asdict(self.schedule)}
        if self.parameterization == "edm":
            d.update(sigma_data=self.sigma_data, sigma_min=self.sigma_min, sigma_max=self.sigma_max, time_input=self.time_input)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelSpec":
        d = dict(d)
        d["backbone"] = UNetConfig.from_dict(d["backbone"])
        if "schedule" in d:
            d["schedule"] = VPSchedule(**d["schedule"])
        if "flow" in d:
            d["flow"] = FlowSchedule(**d["flow"])
        return cls(**d)

    def build(self) -> Denoiser:
        return make_denoiser(build_backbone(self.backbone), self.parameterization,
                             schedule=self.flow if self.parameterization == "flow" else self.schedule,
                             sigma_data=self.sigma_data, sigma_min=self.sigma_min, sigma_max=self.sigma_max,
                             time_input=self.time_input)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (paper Table 7 for the `paper` profile)."""

    objective: str = "eps"        # eps | x0 | v | edm | flow (see losses.py)
    steps: int = 800
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup_steps: int = 50
    lr_schedule: str = "cosine"   # cosine (to 0 at `steps`) | constant (after warm-up)
    ema_decay: float = 0.995
    ema_warmup: bool = True       # decay_n = min(ema_decay, (1 + n) / (10 + n))
    label_dropout: float = 0.1    # probability of replacing a label by the null label 2
    grad_clip: float = 1.0        # max global grad norm; 0 disables
    P_mean: float = -1.2          # EDM log-normal sigma distribution; flow: logit t ~ N(P_mean, P_std^2)
    P_std: float = 1.2
    seed: int = 0
    checkpoint_every: int = 100
    min_snr_gamma: float | None = None  # min-SNR-gamma loss weighting (losses.min_snr_weight); None: unweighted
    truncated_snr: bool = False   # truncated-SNR loss weighting, max(eps error, x0 error) (losses.truncated_snr_weight)

    def __post_init__(self):
        if (self.min_snr_gamma is not None and (self.objective in _PAIRED or not self.min_snr_gamma > 0)) or \
                (self.truncated_snr and (self.objective not in ("eps", "x0") or self.min_snr_gamma is not None)):
            raise ValueError("min_snr_gamma (> 0; eps, x0 and v objectives) and truncated_snr (eps and x0) are exclusive "
                             f"loss weightings, got min_snr_gamma {self.min_snr_gamma!r}, truncated_snr "
                             f"{self.truncated_snr!r} with objective {self.objective!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}; choose one of {', '.join(OBJECTIVES)}")
        if self.lr_schedule not in ("cosine", "constant"):
            raise ValueError(f"lr_schedule must be 'cosine' or 'constant', got {self.lr_schedule!r}")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError("steps and batch_size must be >= 1")

    def lr_factor(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        if self.lr_schedule == "constant":
            return 1.0
        span = max(1, self.steps - self.warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - self.warmup_steps) / span)))


@dataclass
class TrainedModel:
    denoiser: Denoiser          # EMA weights, eval mode
    path: Path
    log: list                   # [(step, mean loss over the last interval)]
    spec: ModelSpec
    config: TrainConfig


def data_identity(data) -> dict:
    """What of the data names a checkpoint: its name and its ``meta`` (never its task)."""
    return {"name": getattr(data, "name", "?"), "meta": json.loads(json.dumps(getattr(data, "meta", {}), default=str))}


def full_config(spec: ModelSpec, cfg: TrainConfig, data) -> dict:
    """What names a checkpoint folder (hashed by ``cache.checkpoint_dir``) and goes into its config.json."""
    tc = asdict(cfg)
    tc.pop("checkpoint_every")
    for key in ("min_snr_gamma", "truncated_snr"):  # unweighted: the hash of checkpoints trained before these options
        if tc[key] in (None, False):
            tc.pop(key)
    return {"model": spec.to_dict(), "train": tc, "data": data_identity(data)}


def check_objective(spec: ModelSpec, cfg: TrainConfig) -> None:
    """Refuse an objective that does not go with the model's parameterization (EDM and flow matching pair up)."""
    for kind, what in _PAIRED.items():
        if (spec.parameterization == kind) != (cfg.objective == kind):
            raise ValueError(f"the {what} objective goes with the {what} parameterization (and only with it); got "
                             f"objective {cfg.objective!r} for a {spec.parameterization!r} model")
