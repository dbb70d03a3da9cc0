"""models: denoiser wrappers, schedules, backbones, latent spaces, ``from_diffusers`` (a diffusers pipeline folder or
hub id as a denoiser; Stable Diffusion / SDXL / SD3 folders with prompts) and ``fit_oracle`` (the exact denoiser of a
Gaussian per domain, models/oracle.py)."""
from .hub import from_diffusers
from .sd import MissingPromptError
from .hub_folder import UnsupportedModelError
from .oracle import fit_oracle

__all__ = ["from_diffusers", "UnsupportedModelError", "MissingPromptError", "fit_oracle"]
