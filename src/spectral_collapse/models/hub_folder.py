"""What a diffusers pipeline folder holds, for ``models.hub`` and the text-conditioned loaders (``models.sd``): its
JSON files read with an error that lists what the suite supports (``read_json``, ``unsupported``), which
text-conditioned network it has (``text_network``), and its scheduler config read into the suite's schedules
(``schedule_from_config``: a DDPM-type scheduler gives a variance-preserving schedule and the prediction type, an EDM
scheduler its noise range and data std, a flow-matching scheduler its time grid and shift)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from .flow import flow_schedule_from_config
from .schedules import TabulatedVPSchedule, VPSchedule, ZeroTerminalSNRSchedule

__all__ = ["SUPPORTED", "UnsupportedModelError", "unsupported", "read_json", "text_network", "TEXT_UNET", "FLUX",
           "TEXT_FOLDERS", "EDMSettings", "schedule_from_config", "image_tokens"]

SUPPORTED = ("a diffusers pipeline folder with unet/ (UNet2DModel, unconditional or class-conditional) or "
             "transformer/ (DiTTransformer2DModel), scheduler/ of a DDPM-type scheduler (beta_schedule linear, "
             "scaled_linear or squaredcos_cap_v2, or trained_betas, optionally rescaled to zero terminal SNR; "
             "prediction_type epsilon, sample or v_prediction), of EDMEulerScheduler or EDMDPMSolverMultistepScheduler "
             "(prediction_type epsilon or v_prediction) or of FlowMatchEulerDiscreteScheduler or "
             "FlowMatchHeunDiscreteScheduler (a velocity network), and optionally vae/ (AutoencoderKL); or a Stable "
             "Diffusion / SDXL folder (unet/ UNet2DConditionModel, CLIP text_encoder/ + tokenizer/ "
             "[+ text_encoder_2/ + tokenizer_2/], vae/, one of the schedulers above) or an SD3 folder "
             "(transformer/ SD3Transformer2DModel, CLIP text_encoder/ + tokenizer/ and text_encoder_2/ + tokenizer_2/ "
             "[+ T5 text_encoder_3/ + tokenizer_3/], vae/, a flow-matching scheduler) or a Flux folder (transformer/ "
             "FluxTransformer2DModel, CLIP text_encoder/ + tokenizer/, T5 text_encoder_2/ + tokenizer_2/, vae/, a "
             "flow-matching scheduler), loaded with source_prompt and target_prompt")


TEXT_UNET = "UNet2DConditionModel"
FLUX = "FluxTransformer2DModel"
TEXT_FOLDERS = {TEXT_UNET: "unet", "SD3Transformer2DModel": "transformer", FLUX: "transformer"}  # those that load


class UnsupportedModelError(ValueError):
    """The folder holds a model the suite cannot wrap; the message lists what is supported."""


def unsupported(what: str) -> UnsupportedModelError:
    return UnsupportedModelError(f"{what}. Supported: {SUPPORTED}")


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise unsupported(f"cannot read {path} ({type(err).__name__}: {err})") from err


def text_network(folder: Path) -> str | None:
    """The class of the folder's text-conditioned network with text encoders beside it (SD, SDXL, SD3, Flux) or None."""
    if not any((folder / p / "config.json").exists() for p in ("text_encoder", "text_encoder_2")):
        return None
    for cls, sub in TEXT_FOLDERS.items():
        cfg = folder / sub / "config.json"
        if cfg.exists() and read_json(cfg).get("_class_name") == cls:
            return cls
    return None


_EDM_SCHEDULERS = ("EDMEulerScheduler", "EDMDPMSolverMultistepScheduler")
_FLOW_SCHEDULERS = ("FlowMatchEulerDiscreteScheduler", "FlowMatchHeunDiscreteScheduler")
_PREDICTIONS = {"epsilon": "eps", "sample": "x0", "v_prediction": "v"}
_BETAS = {"linear": "linear", "scaled_linear": "scaled_linear", "squaredcos_cap_v2": "cosine"}


@dataclass(frozen=True)
class EDMSettings:
    """What an EDM scheduler says about its model: the noise range, the data's std and the sign of c_out."""

    sigma_min: float = 0.002
    sigma_max: float = 80.0
    sigma_data: float = 0.5
    prediction_type: str = "epsilon"  # "epsilon": EDMDenoiser; "v_prediction": EDMVDenoiser (c_out negated)


def schedule_from_config(cfg: dict, *, tokens: int | None = None, shift: float | None = None) -> tuple:
    """(schedule, parameterization) of a diffusers scheduler config: DDPM-type (VPSchedule, "eps" | "x0" | "v"),
    EDM (EDMSettings, "edm") or flow matching (FlowSchedule, "flow", shift resolved for ``tokens`` or given as
    ``shift``); UnsupportedModelError otherwise."""
    name = str(cfg.get("_class_name", "scheduler"))
    if cfg.get("precondition_type", "edm") != "edm":
        raise unsupported(f"the scheduler {name} preconditions with {cfg['precondition_type']!r}; the suite's EDM "
                           f"denoiser uses EDM's (precondition_type 'edm')")
    if name in _EDM_SCHEDULERS:
        return _edm_settings(cfg, name), "edm"
    if name in _FLOW_SCHEDULERS:
        try:
            return flow_schedule_from_config(cfg, tokens=tokens, shift=shift), "flow"
        except ValueError as err:
            raise unsupported(str(err)) from err
    if "EDM" in name or "FlowMatch" in name or "Cosine" in name or ("beta_schedule" not in cfg
                                                                    and not cfg.get("trained_betas")):
        raise unsupported(f"the scheduler {name} is neither a DDPM-type (beta schedule) scheduler, nor one of "
                           f"{', '.join(_EDM_SCHEDULERS)} (EDM), nor one of {', '.join(_FLOW_SCHEDULERS)} "
                           f"(flow matching)")
    if cfg.get("timestep_type", "discrete") != "discrete":
        raise unsupported(f"the scheduler {name} uses {cfg['timestep_type']} timesteps")
    pred = cfg.get("prediction_type", "epsilon")
    if pred not in _PREDICTIONS:
        raise unsupported(f"prediction_type {pred!r} of {name} is not supported")
    T = int(cfg.get("num_train_timesteps", 1000))
    zero = bool(cfg.get("rescale_betas_zero_snr"))
    if cfg.get("trained_betas"):
        betas = tuple(float(b) for b in cfg["trained_betas"])
        if len(betas) != T:
            raise unsupported(f"trained_betas has {len(betas)} values but num_train_timesteps is {T}")
        return (ZeroTerminalSNRSchedule(table=betas) if zero else TabulatedVPSchedule(table=betas)), _PREDICTIONS[pred]
    kind = _BETAS.get(cfg.get("beta_schedule", "linear"))
    if kind is None:
        raise unsupported(f"beta_schedule {cfg.get('beta_schedule')!r} of {name} is not supported")
    args = dict(kind=kind, beta_start=float(cfg.get("beta_start", 1e-4)), beta_end=float(cfg.get("beta_end", 0.02)),
                num_train_timesteps=T)
    return (ZeroTerminalSNRSchedule(**args) if zero else VPSchedule(**args)), _PREDICTIONS[pred]


def _edm_settings(cfg: dict, name: str) -> EDMSettings:
    pred = cfg.get("prediction_type", "epsilon")
    if pred not in ("epsilon", "v_prediction"):
        raise unsupported(f"prediction_type {pred!r} of {name}: diffusers' EDM preconditioning (precondition_outputs) "
                           f"defines epsilon and v_prediction only")
    out = EDMSettings(float(cfg.get("sigma_min", 0.002)), float(cfg.get("sigma_max", 80.0)),
                      float(cfg.get("sigma_data", 0.5)), pred)
    if not (0 < out.sigma_min < out.sigma_max < math.inf and out.sigma_data > 0):
        raise unsupported(f"{name} needs 0 < sigma_min < sigma_max and sigma_data > 0, got sigma_min "
                           f"{out.sigma_min}, sigma_max {out.sigma_max}, sigma_data {out.sigma_data}")
    return out


def image_tokens(net_cfg: dict) -> int | None:
    """The image sequence length of a network config: (sample_size / patch_size)^2 (patch 1 for a U-Net)."""
    size = net_cfg.get("sample_size")
    if size is None:
        return None
    h, w = (size, size) if isinstance(size, (int, float)) else tuple(size)[:2]
    p = int(net_cfg.get("patch_size") or 1)
    return (int(h) // p) * (int(w) // p)
