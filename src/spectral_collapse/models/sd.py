"""Stable Diffusion and SDXL folders as the suite's denoiser: prompts stand for the labels.

Label 0 is ``source_prompt``, 1 ``target_prompt``, 2 ``null_prompt`` (default: the pipeline's unconditional input).
Each prompt is encoded once at loading, as diffusers' ``encode_prompt`` does (SDXL: both encoders' penultimate
states, the pooled projection and the micro-conditioning time ids), into one table, ``class_embedding``, so the
network is called as a class-conditional one: classifier-free guidance and Null-Class inversion (of the null row:
null-text inversion, Mokady et al. 2023) run unchanged.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from .hub_folder import unsupported as _unsupported
from .hub_checks import check_shapes

__all__ = ["Prompts", "PromptConditionedUNet", "MissingPromptError", "PROMPT_OPTIONS", "TEXT_PARTS", "load_text_unet",
           "prompts_from_options", "token_ids", "load_encoder"]

PROMPT_OPTIONS = ("source_prompt", "target_prompt", "null_prompt", "micro_conditioning")
TEXT_PARTS = ("text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2")
# pipeline components that take no part in denoising (output filtering, image prompts): present or not, unused
IGNORED_PARTS = ("safety_checker", "feature_extractor", "image_encoder")
_ENCODERS = ("CLIPTextModel", "CLIPTextModelWithProjection")
_MICRO = ("original_size", "crops_coords_top_left", "target_size", "aesthetic_score", "negative_aesthetic_score",
          "guidance_scale")
INSTALL = "pip install transformers (pinned: pip install -c constraints.txt -e \".[sd]\")"


class MissingPromptError(ValueError):
    """A text-conditioned model was loaded without the prompts that stand for the source and target labels."""


@dataclass(frozen=True)
class Prompts:
    """The conditions of a text-conditioned model: the prompts of labels 0 / 1 / 2 and SDXL's micro-conditioning."""

    source: str
    target: str
    null: str | None = None                        # None: the pipeline's own unconditional input
    original_size: tuple | None = None             # SDXL (H, W); None: the network's image size
    crops_coords_top_left: tuple = (0, 0)          # SDXL
    target_size: tuple | None = None               # SDXL (H, W); None: the network's image size
    aesthetic_score: float = 6.0                   # SDXL refiner, labels 0 and 1
    negative_aesthetic_score: float = 2.5          # SDXL refiner, null label
    guidance_scale: float | None = None            # Flux with a guidance embedding; None: the pipeline's 3.5

    def __post_init__(self):
        for name in ("source", "target", "null"):
            v = getattr(self, name)
            if v is not None and not isinstance(v, str):
                raise TypeError(f"{name}_prompt must be a string, got {v!r}")
        for name in ("original_size", "crops_coords_top_left", "target_size"):
            v = getattr(self, name)
            if v is not None:
                v = tuple(int(u) for u in v)
                if len(v) != 2:
                    raise ValueError(f"micro_conditioning {name} must be two integers (height, width), got {v!r}")
                object.__setattr__(self, name, v)

    def describe(self, sdxl: bool = True) -> dict:
        """JSON-able fields (the prompts only, without SDXL's micro-conditioning, for ``sdxl=False``; Flux's
        guidance_scale is recorded by its loader)."""
        out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if k != "guidance_scale"}
        return out if sdxl else {k: out[k] for k in ("source", "target", "null")}


def prompts_from_options(source_prompt=None, target_prompt=None, null_prompt=None, micro_conditioning=None,
                         *, what: str = "this model") -> Prompts:
    """``Prompts`` of ``from_diffusers``'s keywords (or a study's data_options); MissingPromptError without both."""
    if source_prompt is None or target_prompt is None:
        raise MissingPromptError(
            f"{what} is a text-conditioned model (Stable Diffusion, SDXL, SD3): pass the prompts that stand for the "
            f"source and target labels, from_diffusers(path, source_prompt=\"...\", target_prompt=\"...\") "
            f"(optionally null_prompt, the unconditional input of classifier-free guidance; default: the pipeline's "
            f"empty prompt), or in a study data_options '{{\"source_prompt\": \"...\", \"target_prompt\": "
            f"\"...\"}}' beside model=<folder>")
    micro = dict(micro_conditioning or {})
    bad = sorted(set(micro) - set(_MICRO))
    if bad:
        raise ValueError(f"micro_conditioning keys {bad} are unknown; SDXL's and Flux's are {', '.join(_MICRO)}")
    return Prompts(source_prompt, target_prompt, null_prompt, **micro)


class PromptConditionedUNet(nn.Module):
    """A ``UNet2DConditionModel`` called as the suite calls a class-conditional network: ``net(x, t, class_labels)``
    looks up each label's encoded prompt (``class_embedding``) and, for SDXL, its pooled embedding and time ids."""

    def __init__(self, unet: nn.Module, states: torch.Tensor, pooled: torch.Tensor | None = None,
                 time_ids: torch.Tensor | None = None):
        super().__init__()
        self.unet = unet
        self.tokens, self.width = int(states.shape[1]), int(states.shape[2])      # L, C of (3, L, C)
        rows = states.flatten(1) if pooled is None else torch.cat([states.flatten(1), pooled], 1)
        self.class_embedding = nn.Embedding.from_pretrained(rows.detach().clone(), freeze=True)
        self.added = time_ids is not None
        if self.added:
            self.register_buffer("time_ids", time_ids.detach().clone())

    @property
    def config(self):
        return self.unet.config

    def conditions(self, class_labels: torch.Tensor) -> tuple[torch.Tensor, dict | None]:
        """(encoder_hidden_states (B, L, C), added_cond_kwargs or None) of labels (B,)."""
        labels = class_labels.long()
        rows = self.class_embedding(labels)                                    # (B, L * C [+ P])
        n = self.tokens * self.width
        states = rows[:, :n].reshape(-1, self.tokens, self.width)
        if not self.added:
            return states, None
        return states, {"text_embeds": rows[:, n:], "time_ids": self.time_ids[labels].to(rows.dtype)}

    def forward(self, x, t, class_labels=None):
        if class_labels is None:
            raise ValueError("a prompt-conditioned network needs labels (0 source, 1 target, 2 null prompt)")
        states, added = self.conditions(class_labels.to(x.device))
        return self.unet(x, t, encoder_hidden_states=states.to(x.dtype), added_cond_kwargs=added).sample


def _component_class(folder: Path, index: dict, part: str) -> str | None:
    entry = index.get(part)
    if isinstance(entry, (list, tuple)) and len(entry) == 2 and entry[1]:
        return str(entry[1])
    cfg = folder / part / "config.json"
    if cfg.exists():
        arch = json.loads(cfg.read_text()).get("architectures") or [None]
        return arch[0]
    return None


def load_encoder(folder: Path, index: dict, tok: str, enc: str, classes: tuple, missing: str, dtype, device,
                 kind: str = "CLIP's") -> tuple:
    """(tokenizer, text encoder, its folder name) of ``enc``/ and ``tok``/; UnsupportedModelError (``missing``) when
    absent, or when the encoder is none of ``classes`` (``kind`` names them)."""
    try:
        import transformers as tf
    except ImportError as err:
        raise ImportError(f"{folder} is a text-conditioned pipeline (Stable Diffusion, SDXL, SD3): its text encoders "
                          f"need the transformers package, which is not installed; {INSTALL}") from err
    if not (folder / enc / "config.json").exists() or not (folder / tok).is_dir():
        raise _unsupported(missing)
    cls = _component_class(folder, index, enc)
    if cls not in classes:
        raise _unsupported(f"{folder / enc} holds a {cls}; the supported text encoders are {kind} "
                           f"({', '.join(classes)})")
    tokenizer = tf.AutoTokenizer.from_pretrained(str(folder / tok))
    model = getattr(tf, cls).from_pretrained(str(folder / enc), dtype=dtype).to(device).eval()
    return tokenizer, model.requires_grad_(False), enc


def _encoders(folder: Path, index: dict, xl: bool, dtype, device) -> list[tuple]:
    """[(tokenizer, text encoder, its folder name)] in the pipeline's order."""
    parts = [("tokenizer", "text_encoder")] if not xl else (
        [("tokenizer", "text_encoder")] if (folder / "text_encoder" / "config.json").exists() else []) + [
        ("tokenizer_2", "text_encoder_2")]
    need = "text_encoder/ and tokenizer/" if not xl else "text_encoder_2/ and tokenizer_2/"
    return [load_encoder(folder, index, tok, enc, _ENCODERS, f"{folder} has a UNet2DConditionModel but no {enc}/ or "
                         f"{tok}/; {'an SDXL' if xl else 'a Stable Diffusion'} folder needs {need}", dtype, device)
            for tok, enc in parts]


def token_ids(tokenizer, text: str, length: int, device) -> torch.Tensor:
    ids = tokenizer([text], padding="max_length", max_length=length, truncation=True, return_tensors="pt").input_ids
    full = tokenizer([text], padding="longest", return_tensors="pt").input_ids
    if full.shape[-1] > ids.shape[-1]:
        warnings.warn(f"the prompt {text!r} has {full.shape[-1]} tokens; the text encoder reads the first {length}",
                      UserWarning, stacklevel=4)
    return ids.to(device)


@torch.no_grad()
def _encode(encoders: list, text: str, xl: bool, device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(token states (1, L, C), pooled (1, P) or None) of one prompt, as diffusers' encode_prompt computes them."""
    if not xl:
        tokenizer, model, _ = encoders[0]
        ids = token_ids(tokenizer, text, tokenizer.model_max_length, device)
        mask = None
        if getattr(model.config, "use_attention_mask", False):
            mask = tokenizer([text], padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                             return_tensors="pt").attention_mask.to(device)
        return model(ids, attention_mask=mask)[0], None
    states, pooled = [], None
    for tokenizer, model, _ in encoders:
        out = model(token_ids(tokenizer, text, tokenizer.model_max_length, device), output_hidden_states=True)
        if pooled is None and out[0].ndim == 2:   # the projected, pooled output of the last (projection) encoder
            pooled = out[0]
        states.append(out.hidden_states[-2])
    return torch.cat(states, dim=-1), pooled


def _image_side(unet_cfg, vae_downsample: int) -> tuple[int, int]:
    size = unet_cfg.sample_size
    h, w = (size, size) if isinstance(size, (int, float)) else tuple(size)[:2]
    return int(h) * vae_downsample, int(w) * vae_downsample


def _time_ids(unet, prompts: Prompts, index: dict, pooled_dim: int, vae_downsample: int, folder: Path) -> torch.Tensor:
    """(3, n) SDXL time ids of labels 0 / 1 / 2 (the pipelines' ``_get_add_time_ids``)."""
    side = _image_side(unet.config, vae_downsample)
    original = prompts.original_size or side
    target = prompts.target_size or side
    crop = prompts.crops_coords_top_left
    if index.get("requires_aesthetics_score", False):
        rows = [(*original, *crop, prompts.aesthetic_score)] * 2
        rows.append((*original, *crop, prompts.negative_aesthetic_score))
    else:
        rows = [(*original, *crop, *target)] * 3
    n = len(rows[0])
    expected = unet.add_embedding.linear_1.in_features
    passed = int(unet.config.addition_time_embed_dim) * n + pooled_dim
    if passed != expected:
        raise _unsupported(f"{folder / 'unet'} expects added embeddings of length {expected}, but {n} time ids and "
                           f"pooled text embeddings of width {pooled_dim} give {passed} (check "
                           f"requires_aesthetics_score in model_index.json and text_encoder_2's projection_dim)")
    return torch.tensor(rows, dtype=torch.float64)


def check_unet(folder: Path, cfg: dict) -> bool:
    """Whether the UNet2DConditionModel config is SDXL's (added text and time embeddings); raises for others."""
    kind = cfg.get("addition_embed_type")
    if kind not in (None, "text_time"):
        raise _unsupported(f"{folder / 'unet'} has addition_embed_type {kind!r}; Stable Diffusion has none and SDXL "
                           f"'text_time'")
    if cfg.get("class_embed_type") is not None or cfg.get("num_class_embeds") is not None:
        raise _unsupported(f"{folder / 'unet'} has a class embedding (class_embed_type / num_class_embeds: an upscaler "
                           f"or image-variation model); the suite runs text-to-image U-Nets")
    if cfg.get("encoder_hid_dim_type") is not None:
        raise _unsupported(f"{folder / 'unet'} projects its conditioning (encoder_hid_dim_type "
                           f"{cfg['encoder_hid_dim_type']!r}); the suite feeds CLIP text states directly")
    vae = folder / "vae" / "config.json"
    if vae.exists():
        channels = json.loads(vae.read_text()).get("latent_channels", 4)
        if cfg.get("in_channels", 4) != channels or (cfg.get("out_channels") or cfg.get("in_channels", 4)) != channels:
            raise _unsupported(f"{folder / 'unet'} maps {cfg.get('in_channels')} input channels to "
                               f"{cfg.get('out_channels')} outputs while vae/ has {channels} latent channels (an "
                               f"inpainting or image-conditioned model); text-to-image U-Nets take and give the "
                               f"latents")
    return kind == "text_time"


def load_text_unet(folder: Path, index: dict, prompts: Prompts, *, dtype=torch.float32, device="cpu",
                   vae_downsample: int = 8) -> tuple[PromptConditionedUNet, dict]:
    """(the prompt-conditioned network, what the results record about its conditions) of an SD / SDXL folder."""
    import diffusers

    xl = check_unet(folder, json.loads((folder / "unet" / "config.json").read_text()))
    if prompts.guidance_scale is not None:
        raise ValueError(f"guidance_scale applies to Flux models with a guidance embedding; {folder} is a U-Net")
    if not xl and Prompts(prompts.source, prompts.target, prompts.null) != prompts:
        raise ValueError(f"micro_conditioning applies to SDXL (a U-Net with added time ids); {folder} is a Stable "
                         f"Diffusion folder: leave it out")
    encoders = _encoders(folder, index, xl, dtype, device)
    check_shapes(folder / "unet")   # the weights shaped as the config the checks above read
    unet = diffusers.UNet2DConditionModel.from_pretrained(str(folder / "unet"), torch_dtype=dtype).to(device).eval()
    zeros = xl and prompts.null is None and bool(index.get("force_zeros_for_empty_prompt", True))
    null = "" if prompts.null is None else prompts.null
    encoded = [_encode(encoders, text, xl, device) for text in (prompts.source, prompts.target, null)]
    states = torch.cat([s for s, _ in encoded]).to(dtype)                      # (3, L, C)
    pooled = torch.cat([p for _, p in encoded]).to(dtype) if xl else None      # (3, P)
    if zeros:
        states[2], pooled[2] = 0.0, 0.0
    width = int(unet.config.cross_attention_dim if not isinstance(unet.config.cross_attention_dim, (list, tuple))
                else unet.config.cross_attention_dim[0])
    if states.shape[-1] != width:
        raise _unsupported(f"{folder / 'unet'} cross-attends to states of width {width}, but the text encoders "
                           f"({', '.join(e[2] for e in encoders)}) give {states.shape[-1]}")
    time_ids = None
    if xl:
        time_ids = _time_ids(unet, prompts, index, int(pooled.shape[-1]), vae_downsample, folder).to(dtype)
    net = PromptConditionedUNet(unet, states, pooled, time_ids)
    info = {"prompts": prompts.describe(xl), "null": "zeros" if zeros else "encoded",
            "text_encoders": [f"{e[2]}: {type(e[1]).__name__}" for e in encoders], "sdxl": xl,
            "time_ids": None if time_ids is None else time_ids.tolist()}
    del encoders
    return net, info
