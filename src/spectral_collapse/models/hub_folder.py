"""What a diffusers pipeline folder holds, for ``models.hub`` and the text-conditioned loaders (``sd``, ``sd3``,
``flux``, ``scheduler_config``): its JSON files read with an error that lists what the suite supports
(``read_json``, ``unsupported``), and which text-conditioned network it has (``text_network``)."""
from __future__ import annotations

import json
from pathlib import Path

__all__ = ["SUPPORTED", "UnsupportedModelError", "unsupported", "read_json", "text_network", "TEXT_UNET", "FLUX",
           "TEXT_FOLDERS"]

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
