"""models: denoiser wrappers, schedules, backbones, latent spaces, and ``from_diffusers`` (a diffusers pipeline
folder or hub id as a denoiser; Stable Diffusion / SDXL / SD3 folders with prompts)."""
from .hub import from_diffusers
from .sd import MissingPromptError
from .hub_folder import UnsupportedModelError

__all__ = ["from_diffusers", "UnsupportedModelError", "MissingPromptError"]
