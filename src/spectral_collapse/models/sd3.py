"""Stable Diffusion 3 folders as the suite's denoiser: prompts stand for the labels, as for SD / SDXL (models/sd.py).

Each prompt is encoded once as the pipeline's ``encode_prompt`` does: both CLIP encoders' penultimate states
(zero-padded to the T5 width) followed by T5's last hidden state on ``T5_TOKENS`` tokens (zeros without
text_encoder_3/), and both projected pooled outputs. The null label is the encoded empty prompt (or ``null_prompt``).
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from .hub_folder import unsupported as _unsupported
from .sd import Prompts, PromptConditionedUNet, load_encoder, token_ids
from .hub_checks import check_shapes

__all__ = ["PromptConditionedTransformer", "SD3_PARTS", "T5_TOKENS", "load_sd3"]

SD3_PARTS = ("text_encoder_3", "tokenizer_3")
T5_TOKENS = 256                       # the SD3 pipeline's max_sequence_length default
_CLIP = ("CLIPTextModelWithProjection",)
_T5 = ("T5EncoderModel",)


class PromptConditionedTransformer(PromptConditionedUNet):
    """An ``SD3Transformer2DModel`` called as the suite calls a class-conditional network: ``net(x, t, class_labels)``
    looks up each label's token states (``encoder_hidden_states``) and pooled embedding (``pooled_projections``)."""

    def __init__(self, transformer: nn.Module, states: torch.Tensor, pooled: torch.Tensor):
        super().__init__(transformer, states, pooled)

    def rows(self, class_labels, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(token states (B, L, C), pooled embeddings (B, P)) of labels (B,), in x's dtype."""
        if class_labels is None:
            raise ValueError("a prompt-conditioned network needs labels (0 source, 1 target, 2 null prompt)")
        rows = self.class_embedding(class_labels.to(x.device).long()).to(x.dtype)   # (B, L * C + P)
        n = self.tokens * self.width
        return rows[:, :n].reshape(-1, self.tokens, self.width), rows[:, n:]

    def forward(self, x, t, class_labels=None):
        states, pooled = self.rows(class_labels, x)
        t = torch.as_tensor(t, device=x.device)
        return self.unet(hidden_states=x, timestep=t.expand(x.shape[0]) if t.ndim == 0 else t,
                         encoder_hidden_states=states, pooled_projections=pooled, return_dict=False)[0]


@torch.no_grad()
def encode_sd3(clips: list, t5: tuple | None, text: str, joint_dim: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(encoder_hidden_states (1, L, C), pooled_projections (1, P)) of one prompt (the pipeline's encode_prompt)."""
    length = clips[0][0].model_max_length
    states, pooled = [], []
    for tokenizer, model, _ in clips:
        out = model(token_ids(tokenizer, text, length, device), output_hidden_states=True)
        pooled.append(out[0])
        states.append(out.hidden_states[-2])
    clip = torch.cat(states, dim=-1)                                            # (1, L1, C1 + C2)
    if t5 is None:
        t5_states = torch.zeros(1, T5_TOKENS, joint_dim, dtype=clip.dtype, device=clip.device)
    else:
        t5_states = t5[1](token_ids(t5[0], text, T5_TOKENS, device))[0].to(clip.dtype)
    clip = nn.functional.pad(clip, (0, t5_states.shape[-1] - clip.shape[-1]))
    return torch.cat([clip, t5_states], dim=-2), torch.cat(pooled, dim=-1)


def load_sd3(folder: Path, index: dict, prompts: Prompts, *, dtype=torch.float32,
             device="cpu") -> tuple[PromptConditionedTransformer, dict]:
    """(the prompt-conditioned transformer, what the results record about its conditions) of an SD3 folder."""
    import diffusers

    if Prompts(prompts.source, prompts.target, prompts.null) != prompts:
        raise ValueError(f"micro_conditioning applies to SDXL (a U-Net with added time ids); {folder} is an SD3 "
                         f"folder: leave it out")
    cfg = json.loads((folder / "transformer" / "config.json").read_text())
    vae = folder / "vae" / "config.json"
    channels = json.loads(vae.read_text()).get("latent_channels", 16) if vae.exists() else cfg.get("in_channels")
    if cfg.get("in_channels") != channels or (cfg.get("out_channels") or cfg.get("in_channels")) != channels:
        raise _unsupported(f"{folder / 'transformer'} maps {cfg.get('in_channels')} input channels to "
                           f"{cfg.get('out_channels')} outputs while vae/ has {channels} latent channels")
    clips = [load_encoder(folder, index, tok, enc, _CLIP, f"{folder} has an SD3Transformer2DModel but no {enc}/ or "
                          f"{tok}/; an SD3 folder needs both CLIP encoders (text_encoder/ + tokenizer/, "
                          f"text_encoder_2/ + tokenizer_2/)", dtype, device, kind="CLIP's with projection")
             for tok, enc in (("tokenizer", "text_encoder"), ("tokenizer_2", "text_encoder_2"))]
    t5 = None
    if (folder / "text_encoder_3" / "config.json").exists():
        t5 = load_encoder(folder, index, "tokenizer_3", "text_encoder_3", _T5, f"{folder} has text_encoder_3/ but no "
                          f"tokenizer_3/", dtype, device, kind="T5's")
    joint, pooled_dim = int(cfg.get("joint_attention_dim", 4096)), int(cfg.get("pooled_projection_dim", 2048))
    null = "" if prompts.null is None else prompts.null
    encoded = [encode_sd3(clips, t5, text, joint, device) for text in (prompts.source, prompts.target, null)]
    states = torch.cat([s for s, _ in encoded]).to(dtype)                      # (3, L, C)
    pooled = torch.cat([p for _, p in encoded]).to(dtype)                      # (3, P)
    encoders = [*clips, *([t5] if t5 else [])]
    if states.shape[-1] != joint or pooled.shape[-1] != pooled_dim:
        raise _unsupported(f"{folder / 'transformer'} takes text states of width {joint} and pooled embeddings of "
                           f"width {pooled_dim}, but the text encoders ({', '.join(e[2] for e in encoders)}) give "
                           f"{states.shape[-1]} and {pooled.shape[-1]}")
    check_shapes(folder / "transformer")   # the weights shaped as the config the checks above read
    net = diffusers.SD3Transformer2DModel.from_pretrained(str(folder / "transformer"), torch_dtype=dtype)
    info = {"prompts": prompts.describe(False), "null": "encoded",
            "text_encoders": [f"{e[2]}: {type(e[1]).__name__}" for e in encoders],
            "t5": "encoded" if t5 else "zeros", "text_tokens": int(states.shape[1])}
    del clips, t5, encoders
    return PromptConditionedTransformer(net.to(device).eval(), states, pooled), info
