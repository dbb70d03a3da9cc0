"""Text-conditioned diffusers folders (Stable Diffusion, SDXL, SD3, Flux) as the suite's denoiser, prompts for labels.

Labels 0 / 1 / 2 are ``source_prompt``, ``target_prompt``, ``null_prompt`` (default: the pipeline's unconditional
input), each encoded once at loading into the table ``class_embedding``, so guidance and Null-Class inversion (null-text
inversion, Mokady et al. 2023) run unchanged; Flux's latents are packed 2 x 2 for the network only."""
from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from .hub_folder import FLUX, TEXT_FOLDERS, TEXT_UNET, check_shapes, unsupported as _unsupported

__all__ = ["Prompts", "PromptConditionedUNet", "PromptConditionedTransformer", "PromptConditionedFlux",
           "MissingPromptError", "PROMPT_OPTIONS", "TEXT_PARTS", "FLUX_SIDE", "load_text", "prompts_from_options",
           "pack", "unpack", "image_ids"]

PROMPT_OPTIONS = ("source_prompt", "target_prompt", "null_prompt", "micro_conditioning")
TEXT_PARTS = ("text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2", "text_encoder_3", "tokenizer_3")
# pipeline components that take no part in denoising (output filtering, image prompts): present or not, unused
IGNORED_PARTS = ("safety_checker", "feature_extractor", "image_encoder")
_MICRO = ("original_size", "crops_coords_top_left", "target_size", "aesthetic_score", "negative_aesthetic_score",
          "guidance_scale")
INSTALL = "pip install transformers (pinned: pip install -c constraints.txt -e \".[sd]\")"
FLUX_SIDE = 128                    # the Flux pipeline's default latent side (default_sample_size)
FLUX_T5_TOKENS = 512               # the Flux pipeline's max_sequence_length default
SD3_T5_TOKENS = 256                # the SD3 pipeline's max_sequence_length default
GUIDANCE = 3.5                     # the Flux pipeline's guidance_scale default
_CLIP = ("CLIPTextModel", "CLIPTextModelWithProjection")
_T5 = ("T5EncoderModel",)


@dataclass(frozen=True)
class _Family:
    """What a text-conditioned folder holds: its encoders, micro-conditioning, text widths and channel packing."""

    name: str
    encoders: tuple                # (tokenizer, encoder, classes, required) each, in the pipeline's order
    micro: tuple = ()
    widths: tuple = (("cross_attention_dim", 768),)
    packing: int = 1


FAMILIES = {
    "sd": _Family("a Stable Diffusion folder", (("tokenizer", "text_encoder", _CLIP, True),)),
    "sdxl": _Family("an SDXL folder", (("tokenizer", "text_encoder", _CLIP, False),
                                       ("tokenizer_2", "text_encoder_2", _CLIP, True)), _MICRO[:5]),
    "sd3": _Family("an SD3 folder", (("tokenizer", "text_encoder", _CLIP[1:], True),
                                     ("tokenizer_2", "text_encoder_2", _CLIP[1:], True),
                                     ("tokenizer_3", "text_encoder_3", _T5, False)),
                   widths=(("joint_attention_dim", 4096), ("pooled_projection_dim", 2048))),
    "flux": _Family("a Flux folder", (("tokenizer", "text_encoder", _CLIP[:1], True),
                                      ("tokenizer_2", "text_encoder_2", _T5, True)),
                    widths=(("joint_attention_dim", 4096), ("pooled_projection_dim", 768)), packing=4),
}


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
        """JSON-able fields but guidance_scale (``sdxl=False``: the prompts only)."""
        out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if k != "guidance_scale"}
        return out if sdxl else {k: out[k] for k in ("source", "target", "null")}


def prompts_from_options(source_prompt=None, target_prompt=None, null_prompt=None, micro_conditioning=None,
                         *, what: str = "this model") -> Prompts:
    """``Prompts`` of ``from_diffusers``'s keywords (or a study's data_options); MissingPromptError without both."""
    if source_prompt is None or target_prompt is None:
        raise MissingPromptError(
            f"{what} is a text-conditioned model: pass the prompts of the source and target labels, "
            f"from_diffusers(path, source_prompt=\"...\", target_prompt=\"...\") (null_prompt: the unconditional "
            f"input, default the empty prompt), or data_options '{{\"source_prompt\": \"...\", \"target_prompt\": "
            f"\"...\"}}'")
    micro = dict(micro_conditioning or {})
    bad = sorted(set(micro) - set(_MICRO))
    if bad:
        raise ValueError(f"micro_conditioning keys {bad} are unknown; SDXL's and Flux's are {', '.join(_MICRO)}")
    return Prompts(source_prompt, target_prompt, null_prompt, **micro)


class PromptConditionedUNet(nn.Module):
    """A ``UNet2DConditionModel`` as a class-conditional ``net(x, t, class_labels)``: each label's prompt looked up."""

    def __init__(self, unet: nn.Module, states: torch.Tensor, pooled: torch.Tensor | None = None,
                 time_ids: torch.Tensor | None = None):
        super().__init__()
        self.unet = unet
        self.tokens, self.width = int(states.shape[1]), int(states.shape[2])      # L, C of (3, L, C)
        rows = states.flatten(1) if pooled is None else torch.cat([states.flatten(1), pooled], 1)
        self.class_embedding = nn.Embedding.from_pretrained(rows.detach().clone(), freeze=True)
        self.register_buffer("time_ids", None if time_ids is None else time_ids.detach().clone())

    @property
    def config(self):
        return self.unet.config

    def rows(self, class_labels, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(token states (B, L, C), pooled embeddings (B, P)) of labels (B,), in x's dtype."""
        if class_labels is None:
            raise ValueError("a prompt-conditioned network needs labels (0 source, 1 target, 2 null prompt)")
        rows = self.class_embedding(class_labels.to(x.device).long()).to(x.dtype)   # (B, L * C [+ P])
        n = self.tokens * self.width
        return rows[:, :n].reshape(-1, self.tokens, self.width), rows[:, n:]

    def forward(self, x, t, class_labels=None):
        states, pooled = self.rows(class_labels, x)
        added = None if self.time_ids is None else {
            "text_embeds": pooled, "time_ids": self.time_ids[class_labels.to(x.device).long()].to(x.dtype)}
        return self.unet(x, t, encoder_hidden_states=states, added_cond_kwargs=added).sample


class PromptConditionedTransformer(PromptConditionedUNet):
    """An ``SD3Transformer2DModel`` as a class-conditional ``net(x, t, class_labels)`` (states and pooled looked up)."""

    def forward(self, x, t, class_labels=None):
        states, pooled = self.rows(class_labels, x)
        t = torch.as_tensor(t, device=x.device)
        return self.unet(hidden_states=x, timestep=t.expand(x.shape[0]) if t.ndim == 0 else t,
                         encoder_hidden_states=states, pooled_projections=pooled, return_dict=False)[0]


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
    rows, cols = torch.meshgrid(torch.arange(H // 2, dtype=dtype, device=device),
                                torch.arange(W // 2, dtype=dtype, device=device), indexing="ij")
    return torch.stack([torch.zeros_like(rows), rows, cols], -1).reshape(-1, 3)


class PromptConditionedFlux(PromptConditionedTransformer):
    """A ``FluxTransformer2DModel`` called as ``net(x, t, class_labels)`` on unpacked latents (module docstring)."""

    def __init__(self, transformer, states: torch.Tensor, pooled: torch.Tensor, guidance: float | None,
                 side: int = FLUX_SIDE):
        super().__init__(transformer, states, pooled)
        self.guidance = guidance
        self.side = int(side)

    @property
    def config(self):
        """The transformer's config with the suite's input: unpacked latent channels and the loaded latent side."""
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


def _encoders(folder: Path, index: dict, family: _Family, cls: str, dtype, device) -> list[tuple]:
    """[(tokenizer, text encoder, folder name) or None for an absent optional one] in the pipeline's order."""
    try:
        import transformers as tf
    except ImportError as err:
        raise ImportError(f"{folder} is a text-conditioned pipeline (Stable Diffusion, SDXL, SD3, Flux): its text "
                          f"encoders need the transformers package, which is not installed; {INSTALL}") from err
    out = []
    for tok, enc, classes, required in family.encoders:
        if not required and not (folder / enc / "config.json").exists():
            out.append(None)
            continue
        if not (folder / enc / "config.json").exists() or not (folder / tok).is_dir():
            need = ", ".join(f"{e}/ + {t}/" for t, e, _, r in family.encoders if r)
            raise _unsupported(f"{folder} has a {cls} but no {enc}/ or {tok}/; {family.name} needs {need}")
        entry = index.get(enc)   # model_index.json's [library, class], else the encoder config's architecture
        if isinstance(entry, (list, tuple)) and len(entry) == 2 and entry[1]:
            found = str(entry[1])
        else:
            found = (json.loads((folder / enc / "config.json").read_text()).get("architectures") or [None])[0]
        if found not in classes:
            raise _unsupported(f"{folder / enc} holds a {found}; the supported text encoders are "
                               f"{'T5' if classes == _T5 else 'CLIP'}'s ({', '.join(classes)})")
        tokenizer = tf.AutoTokenizer.from_pretrained(str(folder / tok))
        model = getattr(tf, found).from_pretrained(str(folder / enc), dtype=dtype).to(device).eval()
        out.append((tokenizer, model.requires_grad_(False), enc))
    return out


@torch.no_grad()
def _encode(kind: str, encoders: list, text: str, joint: int, device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(token states (1, L, C), pooled (1, P) or None) of one prompt, as the pipeline's ``encode_prompt``."""
    def ids(enc, length=None):
        tokenizer, length = enc[0], length or enc[0].model_max_length
        out = tokenizer([text], padding="max_length", max_length=length, truncation=True, return_tensors="pt")
        full = tokenizer([text], padding="longest", return_tensors="pt").input_ids
        if full.shape[-1] > out.input_ids.shape[-1]:
            warnings.warn(f"the prompt {text!r} has {full.shape[-1]} tokens; the text encoder reads the first {length}",
                          UserWarning, stacklevel=3)
        return out.to(device)

    if kind == "sd":
        tokens, model = ids(encoders[0]), encoders[0][1]
        mask = tokens.attention_mask if getattr(model.config, "use_attention_mask", False) else None
        return model(tokens.input_ids, attention_mask=mask)[0], None
    if kind == "flux":
        clip, t5 = encoders
        return t5[1](ids(t5, FLUX_T5_TOKENS).input_ids)[0], clip[1](ids(clip).input_ids).pooler_output
    clips = [e for e in encoders if e is not None and e[2] != "text_encoder_3"]
    length = clips[0][0].model_max_length if kind == "sd3" else None    # SD3: the first tokenizer's length for both
    states, pooled = [], []
    for enc in clips:
        out = enc[1](ids(enc, length).input_ids, output_hidden_states=True)
        if out[0].ndim == 2:   # the projected, pooled output of an encoder with projection
            pooled.append(out[0])
        states.append(out.hidden_states[-2])
    clip = torch.cat(states, dim=-1)                                            # (1, L1, C1 + C2)
    if kind == "sdxl":
        return clip, pooled[0]
    t5 = encoders[2]
    t5_states = (torch.zeros(1, SD3_T5_TOKENS, joint, dtype=clip.dtype, device=clip.device) if t5 is None
                 else t5[1](ids(t5, SD3_T5_TOKENS).input_ids)[0].to(clip.dtype))
    clip = nn.functional.pad(clip, (0, t5_states.shape[-1] - clip.shape[-1]))
    return torch.cat([clip, t5_states], dim=-2), torch.cat(pooled, dim=-1)


def _time_ids(cfg: dict, prompts: Prompts, index: dict, pooled_dim: int, side: tuple, where: Path) -> torch.Tensor:
    """(3, n) SDXL time ids of labels 0 / 1 / 2 (the pipelines' ``_get_add_time_ids``) for images of ``side``."""
    original = prompts.original_size or side
    target = prompts.target_size or side
    crop = prompts.crops_coords_top_left
    if index.get("requires_aesthetics_score", False):
        rows = [(*original, *crop, prompts.aesthetic_score)] * 2
        rows.append((*original, *crop, prompts.negative_aesthetic_score))
    else:
        rows = [(*original, *crop, *target)] * 3
    n = len(rows[0])
    expected = int(cfg.get("projection_class_embeddings_input_dim") or 0)
    passed = int(cfg["addition_time_embed_dim"]) * n + pooled_dim
    if passed != expected:
        raise _unsupported(f"{where} expects added embeddings of length {expected}, but {n} time ids and pooled text "
                           f"embeddings of width {pooled_dim} give {passed} (check requires_aesthetics_score in "
                           f"model_index.json and text_encoder_2's projection_dim)")
    return torch.tensor(rows, dtype=torch.float64)


def _family(folder: Path, cls: str, cfg: dict) -> str:
    """The family ("sd", "sdxl", "sd3", "flux") of a text network config; raises for variants it cannot run."""
    where = folder / TEXT_FOLDERS[cls]
    kind = "flux" if cls == FLUX else "sd3" if cls != TEXT_UNET else "sd"
    if cls == TEXT_UNET:
        added = cfg.get("addition_embed_type")
        if added not in (None, "text_time"):
            raise _unsupported(f"{where} has addition_embed_type {added!r}; Stable Diffusion has none and SDXL "
                               f"'text_time'")
        if cfg.get("class_embed_type") is not None or cfg.get("num_class_embeds") is not None:
            raise _unsupported(f"{where} has a class embedding (class_embed_type / num_class_embeds: an upscaler or "
                               f"image-variation model); the suite runs text-to-image U-Nets")
        if cfg.get("encoder_hid_dim_type") is not None:
            raise _unsupported(f"{where} projects its conditioning (encoder_hid_dim_type "
                               f"{cfg['encoder_hid_dim_type']!r}); the suite feeds CLIP text states directly")
        kind = "sdxl" if added == "text_time" else "sd"
    vae = folder / "vae" / "config.json"
    inputs = int(cfg.get("in_channels", 4))
    outputs = cfg.get("out_channels") or inputs
    packing = FAMILIES[kind].packing
    channels = json.loads(vae.read_text()).get("latent_channels", 4) if vae.exists() else inputs // packing
    patched = kind == "flux" and int(cfg.get("patch_size") or 1) != 1
    if inputs != outputs or inputs != channels * packing or patched:
        raise _unsupported(f"{where} maps {inputs} input channels to {outputs} outputs (patch_size "
                           f"{cfg.get('patch_size')}) while vae/ has {channels} latent channels (an inpainting or "
                           f"image-conditioned model); text-to-image networks take and give the latents"
                           f"{' in 2 x 2 patches (4 x the channels, patch_size 1)' if kind == 'flux' else ''}")
    return kind


def load_text(folder: Path, index: dict, cls: str, prompts: Prompts, *, side: int = FLUX_SIDE, dtype=torch.float32,
              device="cpu", vae_downsample: int = 8) -> tuple[nn.Module, dict]:
    """(the prompt-conditioned network of ``cls``, what the results record about its conditions)."""
    import diffusers

    sub = folder / TEXT_FOLDERS[cls]
    cfg = json.loads((sub / "config.json").read_text())
    kind = _family(folder, cls, cfg)
    family = FAMILIES[kind]
    distilled = kind == "flux" and bool(cfg.get("guidance_embeds", False))
    takes = family.micro + (("guidance_scale",) if distilled else ())
    bare = Prompts(prompts.source, prompts.target, prompts.null)
    given = [k for k in _MICRO if getattr(prompts, k) != getattr(bare, k) and k not in takes]
    if given:
        raise ValueError(f"micro_conditioning {', '.join(given)} does not apply to {family.name} ({sub}): SDXL takes "
                         f"sizes, crop and aesthetic scores, a Flux model with a guidance embedding (guidance_embeds "
                         f"true) guidance_scale; leave it out (guide others with cfg_scale)")
    encoders = _encoders(folder, index, family, cls, dtype, device)
    widths = [cfg.get(k) or v for k, v in family.widths]
    widths = [int(w[0] if isinstance(w, (list, tuple)) else w) for w in widths]
    null = "" if prompts.null is None else prompts.null
    encoded = [_encode(kind, encoders, text, widths[0], device) for text in (prompts.source, prompts.target, null)]
    states = torch.cat([s for s, _ in encoded]).to(dtype)                      # (3, L, C)
    pooled = None if kind == "sd" else torch.cat([p for _, p in encoded]).to(dtype)   # (3, P)
    zeros = kind == "sdxl" and prompts.null is None and bool(index.get("force_zeros_for_empty_prompt", True))
    if zeros:
        states[2], pooled[2] = 0.0, 0.0
    encoders = [e for e in encoders if e is not None]
    got = [states.shape[-1], *([] if len(widths) == 1 else [pooled.shape[-1]])]
    if got != widths:
        pooled_width = f" and pooled embeddings of width {widths[1]}" if len(widths) > 1 else ""
        raise _unsupported(f"{sub} takes text states of width {widths[0]}{pooled_width}, but the text encoders "
                           f"({', '.join(e[2] for e in encoders)}) give {' and '.join(map(str, got))}")
    info = {"prompts": prompts.describe(kind == "sdxl"), "null": "zeros" if zeros else "encoded",
            "text_encoders": [f"{e[2]}: {type(e[1]).__name__}" for e in encoders]}
    check_shapes(sub)   # the weights shaped as the config the checks above read
    net = getattr(diffusers, cls).from_pretrained(str(sub), torch_dtype=dtype).to(device).eval()
    if kind in ("sd", "sdxl"):
        time_ids = None
        if kind == "sdxl":
            size = cfg.get("sample_size")
            h, w = (size, size) if isinstance(size, (int, float)) else tuple(size)[:2]
            side_px = (int(h) * vae_downsample, int(w) * vae_downsample)
            time_ids = _time_ids(cfg, prompts, index, int(pooled.shape[-1]), side_px, sub).to(dtype)
        info |= {"sdxl": kind == "sdxl", "time_ids": None if time_ids is None else time_ids.tolist()}
        return PromptConditionedUNet(net, states, pooled, time_ids), info
    if kind == "sd3":
        info |= {"t5": "encoded" if len(info["text_encoders"]) == 3 else "zeros", "text_tokens": int(states.shape[1])}
        return PromptConditionedTransformer(net, states, pooled), info
    guidance = (GUIDANCE if prompts.guidance_scale is None else float(prompts.guidance_scale)) if distilled else None
    info["prompts"]["guidance_scale"] = guidance   # in the sha256
    info["text_tokens"] = FLUX_T5_TOKENS
    return PromptConditionedFlux(net, states, pooled, guidance, side), info
