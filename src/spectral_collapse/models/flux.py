"""Flux folders as the suite's denoiser: prompts stand for the labels, as for SD3 (models/sd3.py).

Each prompt is encoded once as the pipeline's ``encode_prompt`` does: CLIP's pooled output and T5's states on
``T5_TOKENS`` tokens. The latents stay (B, C, H, W); the network sees them packed in 2 x 2 patches with their
position ids. A guidance-distilled model gets ``micro_conditioning={"guidance_scale": g}`` (default 3.5); the
dynamic shift is resolved for ``from_diffusers(path, image_size=...)`` (default ``FLUX_SIDE`` = 128 latents).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from .hub_folder import unsupported as _unsupported
from .sd import Prompts, load_encoder, token_ids
from .hub_checks import check_shapes
from .sd3 import PromptConditionedTransformer

__all__ = ["PromptConditionedFlux", "FLUX_SIDE", "load_flux", "pack", "unpack", "image_ids"]

FLUX_SIDE = 128                    # the pipeline's default latent side (default_sample_size)
T5_TOKENS = 512                    # the Flux pipeline's max_sequence_length default
GUIDANCE = 3.5                     # the Flux pipeline's guidance_scale default


def pack(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H W / 4, 4 C): 2 x 2 patches in rows, as the pipeline's ``_pack_latents``."""
    B, C, H, W = x.shape
    return x.reshape(B, C, H // 2, 2, W // 2, 2).permute(0, 2, 4, 1, 3, 5).reshape(B, (H // 2) * (W // 2), C * 4)


def unpack(z: torch.Tensor, H: int, W: int) -> torch.Tensor:
    """The inverse of ``pack``: (B, H W / 4, 4 C) -> (B, C, H, W)."""
    B, _, D = z.shape
    return z.reshape(B, H // 2, W // 2, D // 4, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(B, D // 4, H, W)


def image_ids(H: int, W: int, dtype, device) -> torch.Tensor:
    """(H W / 4, 3) position ids (0, row, column) of the 2 x 2 patches of an H x W latent."""
    ids = torch.zeros(H // 2, W // 2, 3, dtype=dtype, device=device)
    ids[..., 1] = torch.arange(H // 2, dtype=dtype, device=device)[:, None]
    ids[..., 2] = torch.arange(W // 2, dtype=dtype, device=device)[None, :]
    return ids.reshape(-1, 3)


class PromptConditionedFlux(PromptConditionedTransformer):
    """A ``FluxTransformer2DModel`` called as ``net(x, t, class_labels)`` on unpacked latents (module docstring)."""

    def __init__(self, transformer, states: torch.Tensor, pooled: torch.Tensor, guidance: float | None,
                 side: int = FLUX_SIDE):
        super().__init__(transformer, states, pooled)
        self.guidance = guidance
        self.side = int(side)

    @property
    def config(self):
        """The transformer's config, with the input the suite gives it: ``in_channels`` the VAE's latent channels
        (before 2 x 2 packing) and ``sample_size`` the latent side the model was loaded for."""
        from diffusers.configuration_utils import FrozenDict

        cfg = self.unet.config
        return FrozenDict({**cfg, "in_channels": int(cfg.in_channels) // 4, "sample_size": self.side})

    def forward(self, x, t, class_labels=None):
        states, pooled = self.rows(class_labels, x)
        B, _, H, W = x.shape
        t = torch.as_tensor(t, device=x.device, dtype=x.dtype)
        g = None if self.guidance is None else torch.full((B,), self.guidance, dtype=x.dtype, device=x.device)
        out = self.unet(hidden_states=pack(x), timestep=(t.expand(B) if t.ndim == 0 else t) / 1000, guidance=g,
                        pooled_projections=pooled, encoder_hidden_states=states,
                        txt_ids=torch.zeros(self.tokens, 3, dtype=x.dtype, device=x.device),
                        img_ids=image_ids(H, W, x.dtype, x.device), return_dict=False)[0]
        return unpack(out, H, W)


@torch.no_grad()
def encode_flux(clip: tuple, t5: tuple, text: str, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(T5 token states (1, 512, C), CLIP pooled (1, P)) of one prompt (the pipeline's encode_prompt)."""
    pooled = clip[1](token_ids(clip[0], text, clip[0].model_max_length, device)).pooler_output
    return t5[1](token_ids(t5[0], text, T5_TOKENS, device))[0], pooled


def load_flux(folder: Path, index: dict, prompts: Prompts, side: int = FLUX_SIDE, *, dtype=torch.float32,
              device="cpu") -> tuple[PromptConditionedFlux, dict]:
    """(the prompt-conditioned Flux transformer, what the results record about its conditions) of a Flux folder."""
    import diffusers

    cfg = json.loads((folder / "transformer" / "config.json").read_text())
    distilled = bool(cfg.get("guidance_embeds", False))
    if Prompts(prompts.source, prompts.target, prompts.null, guidance_scale=prompts.guidance_scale) != prompts:
        raise ValueError(f"of micro_conditioning, a Flux folder ({folder}) takes guidance_scale only")
    if prompts.guidance_scale is not None and not distilled:
        raise ValueError(f"guidance_scale applies to Flux models with a guidance embedding; {folder / 'transformer'} "
                         f"has none (guidance_embeds false): guide it with cfg_scale")
    vae = folder / "vae" / "config.json"
    channels = json.loads(vae.read_text()).get("latent_channels", 16) if vae.exists() else None
    inputs = int(cfg.get("in_channels", 64))
    if int(cfg.get("patch_size", 1)) != 1 or (cfg.get("out_channels") or inputs) != inputs or (
            channels is not None and inputs != 4 * channels):
        raise _unsupported(f"{folder / 'transformer'} maps {inputs} packed input channels (patch_size "
                           f"{cfg.get('patch_size')}) to {cfg.get('out_channels')} outputs; a Flux transformer takes "
                           f"and gives 2 x 2 patches of the VAE's latents (4 x {channels} channels, patch_size 1)")
    clip = load_encoder(folder, index, "tokenizer", "text_encoder", ("CLIPTextModel",), f"{folder} has a "
                        f"FluxTransformer2DModel but no text_encoder/ or tokenizer/ (CLIP)", dtype, device)
    t5 = load_encoder(folder, index, "tokenizer_2", "text_encoder_2", ("T5EncoderModel",), f"{folder} has a "
                      f"FluxTransformer2DModel but no text_encoder_2/ or tokenizer_2/ (T5)", dtype, device, kind="T5's")
    null = "" if prompts.null is None else prompts.null
    encoded = [encode_flux(clip, t5, text, device) for text in (prompts.source, prompts.target, null)]
    states = torch.cat([s for s, _ in encoded]).to(dtype)                      # (3, 512, C)
    pooled = torch.cat([p for _, p in encoded]).to(dtype)                      # (3, P)
    joint, pooled_dim = int(cfg.get("joint_attention_dim", 4096)), int(cfg.get("pooled_projection_dim", 768))
    if states.shape[-1] != joint or pooled.shape[-1] != pooled_dim:
        raise _unsupported(f"{folder / 'transformer'} takes text states of width {joint} and pooled embeddings of "
                           f"width {pooled_dim}, but text_encoder_2 (T5) gives {states.shape[-1]} and text_encoder "
                           f"(CLIP) {pooled.shape[-1]}")
    check_shapes(folder / "transformer")   # the weights shaped as the config the checks above read
    net = diffusers.FluxTransformer2DModel.from_pretrained(str(folder / "transformer"), torch_dtype=dtype)
    guidance = (GUIDANCE if prompts.guidance_scale is None else float(prompts.guidance_scale)) if distilled else None
    info = {"prompts": {**prompts.describe(False), "guidance_scale": guidance}, "null": "encoded",  # in the sha256
            "text_encoders": [f"{e[2]}: {type(e[1]).__name__}" for e in (clip, t5)], "text_tokens": T5_TOKENS}
    del clip, t5
    return PromptConditionedFlux(net.to(device).eval(), states, pooled, guidance, side), info
