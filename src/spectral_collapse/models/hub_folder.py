"""What a diffusers pipeline folder holds, for ``models.hub`` and ``models.sd``: its JSON files, its scheduler as the
suite's schedule, and the checks made before any heavy work (weight files whole and shaped, weights finite, memory)."""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .flow import flow_schedule_from_config
from .schedules import TabulatedVPSchedule, VPSchedule, ZeroTerminalSNRSchedule

__all__ = ["SUPPORTED", "UnsupportedModelError", "unsupported", "read_json", "text_network", "TEXT_UNET", "FLUX",
           "TEXT_FOLDERS", "EDMSettings", "schedule_from_config", "image_tokens", "ModelCheckError", "MEMORY_ENV",
           "check_weight_files", "check_shapes", "check_finite", "check_memory", "memory_estimate", "fits"]

SUPPORTED = ("a diffusers pipeline folder with unet/ (UNet2DModel, unconditional or class-conditional) or "
             "transformer/ (DiTTransformer2DModel), scheduler/ of a DDPM-type scheduler (linear, scaled_linear or "
             "squaredcos_cap_v2 betas or trained_betas, optionally rescaled to zero terminal SNR; prediction_type "
             "epsilon, sample or v_prediction), an EDM one (EDMEulerScheduler, EDMDPMSolverMultistepScheduler; "
             "epsilon or v_prediction) or a flow-matching one (FlowMatchEulerDiscreteScheduler, "
             "FlowMatchHeunDiscreteScheduler), and optionally vae/ (AutoencoderKL); or, loaded with source_prompt and "
             "target_prompt, a Stable Diffusion / SDXL folder (UNet2DConditionModel, CLIP text encoders, vae/), an SD3 "
             "folder (SD3Transformer2DModel, two CLIP encoders [+ T5]) or a Flux folder (FluxTransformer2DModel, CLIP "
             "and T5 encoders)")


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
    EDM (EDMSettings, "edm") or flow matching (FlowSchedule, "flow"); UnsupportedModelError otherwise."""
    name = str(cfg.get("_class_name", "scheduler"))
    if cfg.get("precondition_type", "edm") != "edm":
        raise unsupported(f"the scheduler {name} preconditions with {cfg['precondition_type']!r}; the suite's EDM "
                           f"denoiser uses EDM's (precondition_type 'edm')")
    if name in _EDM_SCHEDULERS:
        pred = cfg.get("prediction_type", "epsilon")
        if pred not in ("epsilon", "v_prediction"):
            raise unsupported(f"prediction_type {pred!r} of {name}: diffusers' EDM preconditioning "
                               f"(precondition_outputs) defines epsilon and v_prediction only")
        out = EDMSettings(float(cfg.get("sigma_min", 0.002)), float(cfg.get("sigma_max", 80.0)),
                          float(cfg.get("sigma_data", 0.5)), pred)
        if not (0 < out.sigma_min < out.sigma_max < math.inf and out.sigma_data > 0):
            raise unsupported(f"{name} needs 0 < sigma_min < sigma_max and sigma_data > 0, got sigma_min "
                               f"{out.sigma_min}, sigma_max {out.sigma_max}, sigma_data {out.sigma_data}")
        return out, "edm"
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


def image_tokens(net_cfg: dict) -> int | None:
    """The image sequence length of a network config: (sample_size / patch_size)^2 (patch 1 for a U-Net)."""
    side = _side(net_cfg)
    return None if side is None else (side // int(net_cfg.get("patch_size") or 1)) ** 2


MEMORY_ENV = "SPECTRAL_COLLAPSE_MAX_MEMORY_GB"
_GIB = 2 ** 30


class ModelCheckError(ValueError):
    """A user's model folder fails a check made before loading or running it; the message names the file and fix."""


def _shapes(path: Path) -> dict[str, tuple]:
    """{tensor name: shape} from a safetensors file's header; ModelCheckError for a file cut short or unreadable."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "pt") as fh:
            return {k: tuple(fh.get_slice(k).get_shape()) for k in fh.keys()}
    except SafetensorError as err:
        raise ModelCheckError(f"{path} is truncated or not a safetensors file ({err}); download or save the model "
                              f"again") from None


def check_weight_files(folder: Path, parts, network: str | None = None) -> int:
    """Every ``*.safetensors`` under ``folder/<part>`` whole (headers only); the number of values of ``network``'s."""
    shapes = [(part, _shapes(f)) for part in parts for f in sorted((folder / part).glob("*.safetensors"))]
    return sum(math.prod(v) for part, got in shapes if part == network for v in got.values())


def check_shapes(sub: Path) -> None:
    """Each tensor of the safetensors files in the network folder ``sub`` shaped as its config.json expects."""
    import diffusers

    files = sorted(sub.glob("*.safetensors"))
    if not files:
        return
    cfg = json.loads((sub / "config.json").read_text())
    cls = getattr(diffusers, str(cfg.get("_class_name")), None)
    try:
        with torch.device("meta"):
            expected = {k: tuple(v.shape) for k, v in cls.from_config(cfg).state_dict().items()}
    except Exception:   # a class this diffusers cannot build from the config: from_pretrained says why
        return
    for file in files:
        for key, got in _shapes(file).items():
            if key in expected and got != expected[key]:
                raise ModelCheckError(
                    f"{sub / 'config.json'} does not describe the weights in {file.name}: tensor {key} has shape "
                    f"{list(got)} in the file but {list(expected[key])} for the config; use the config.json saved "
                    f"with these weights (save_pretrained writes both)")


def check_finite(D: torch.nn.Module, where: str) -> None:
    """Every parameter of ``D`` finite; raises naming the tensors holding NaN or infinity."""
    bad = [name for name, p in D.named_parameters() if p.is_floating_point() and not bool(torch.isfinite(p).all())]
    if bad:
        names = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise ModelCheckError(f"{where}: the weights hold NaN or infinite values ({len(bad)} tensors: {names}), so "
                              f"every output would be NaN; use weights saved before the training diverged")


def _side(cfg: dict) -> int | None:
    side = cfg.get("sample_size")
    side = side[0] if isinstance(side, (list, tuple)) else side
    return int(side) if isinstance(side, (int, float)) and side > 0 else None


def memory_estimate(cfg: dict, n_params: int, batch: int, itemsize: int = 4) -> tuple[float, float]:
    """(bytes of the weights, bytes of the activations of ``batch`` images) at ``itemsize`` bytes a value."""
    side = _side(cfg)
    per_image = 0.0
    if side and cfg.get("block_out_channels"):
        k = 4 * (int(cfg.get("layers_per_block") or 2) + 1)
        per_image = itemsize * k * sum(c * (side / 2 ** i) ** 2 for i, c in enumerate(cfg["block_out_channels"]))
    elif side and cfg.get("num_attention_heads") and cfg.get("attention_head_dim"):
        tokens = (side / int(cfg.get("patch_size") or 1)) ** 2
        width = int(cfg["num_attention_heads"]) * int(cfg["attention_head_dim"])
        per_image = itemsize * 8 * tokens * width * int(cfg.get("num_layers") or 1)
    return float(itemsize * n_params), per_image * batch


def _available(device) -> tuple[float, str]:
    """(bytes, in words) of the memory a run may use: ``$SPECTRAL_COLLAPSE_MAX_MEMORY_GB``, else what is free."""
    from ..environ import EnvironmentSettingError

    text = os.environ.get(MEMORY_ENV, "").strip()
    if text:
        try:
            gb = float(text)
        except ValueError:
            gb = -1.0
        if not gb > 0:
            raise EnvironmentSettingError(f"{MEMORY_ENV}={text!r} must be a number of GiB > 0, or unset")
        return gb * _GIB, f"{MEMORY_ENV}={text}"
    if torch.device(device).type == "cuda" and torch.cuda.is_available():
        return float(torch.cuda.mem_get_info(torch.device(device))[0]), "free on the GPU"
    import psutil

    return float(psutil.virtual_memory().available), "available memory"


def _size(n: float) -> str:
    """A number of bytes in words, to 3 significant digits: "1.07 KiB", "2300 GiB"."""
    for unit, scale in (("GiB", _GIB), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.0f} {unit}" if n >= 100 * scale else f"{n / scale:.3g} {unit}"
    return f"{n:.0f} bytes"


def check_memory(cfg: dict, n_params: int, *, batch: int, where: str, device="cpu", itemsize: int = 4) -> None:
    """Refuse a run of ``batch`` images whose estimated memory (``memory_estimate``) exceeds what is available."""
    weights, acts = memory_estimate(cfg, n_params, batch, itemsize)
    bound, source = _available(device)
    if weights + acts <= bound:
        return
    raise ModelCheckError(
        f"{where} declares sample_size {_side(cfg)}: a batch of {batch} needs about {_size(weights + acts)} "
        f"(weights {_size(weights)}), above the {_size(bound)} {source}. If the model was trained at "
        f"a smaller size, write that size as sample_size in {where}; else run it on a machine with more memory (set "
        f"{MEMORY_ENV} to allow more)")


def fits(D, *, batch: int, device="cpu") -> None:
    """``check_memory`` for a loaded denoiser of ``from_diffusers`` run on batches of ``batch`` images."""
    params = list(D.parameters())
    check_memory(dict(D.net.config), sum(p.numel() for p in params), batch=batch, where=f"{D.checkpoint}/config.json",
                 device=device, itemsize=params[0].element_size() if params else 4)
