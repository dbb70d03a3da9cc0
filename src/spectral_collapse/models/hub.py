"""A diffusers pipeline folder or hub id as the suite's denoiser: ``from_diffusers(path)``; its scheduler decides the
wrapper, text-conditioned folders (models/sd.py) take prompts for labels; anything else raises ``UnsupportedModelError``
listing what is supported."""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import torch
from torch import nn

from ..digest import file_sha256
from .denoisers import EDMDenoiser, EDMVDenoiser, make_denoiser
from .base import Denoiser, takes_labels
from .hub_folder import (FLUX, TEXT_UNET, check_finite, check_memory, check_shapes, check_weight_files, image_tokens,
                         read_json, schedule_from_config, text_network, unsupported)
from .sd import FLUX_SIDE, IGNORED_PARTS, PROMPT_OPTIONS, TEXT_PARTS, load_text, prompts_from_options

__all__ = ["from_diffusers", "pipeline_folder", "folder_digest"]

_NETWORKS = {"unet": "UNet2DModel", "transformer": "DiTTransformer2DModel"}
_PARTS = ("model_index.json", "unet", "transformer", "scheduler", "vae", *TEXT_PARTS)
_TEXT_NETWORKS = {
    TEXT_UNET: "it cross-attends to text-encoder states (encoder_hidden_states) at every call",
    "SD3Transformer2DModel": "it takes text-encoder tokens and pooled text embeddings (pooled_projections) at "
                             "every call, and zero embeddings are no neutral stand-in for the encoded empty prompt",
    "FluxTransformer2DModel": "it takes T5 tokens, pooled CLIP embeddings and their position ids at every call, on "
                              "latents packed 2 x 2",
}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def pipeline_folder(path: str | os.PathLike, *, revision: str | None = None,
                    local_files_only: bool | None = None) -> Path:
    """The local folder of ``path``: the folder itself, or a hub id's snapshot in the Hugging Face cache."""
    local = Path(path).expanduser()
    if local.is_dir():
        return local.resolve()
    if local.exists():
        raise NotADirectoryError(f"model {path} is a file; pass the pipeline folder that holds model_index.json, "
                                 f"unet/ (or transformer/) and scheduler/")
    text = str(path)
    if not _HUB_ID.match(text) or text.startswith((".", "~")):
        raise FileNotFoundError(f"model folder {path} does not exist; pass the folder written by a diffusers "
                                f"pipeline's save_pretrained (or a hub id such as 'google/ddpm-cifar10-32')")
    from huggingface_hub import snapshot_download

    from .vae import hub_offline

    offline = hub_offline() if local_files_only is None else bool(local_files_only)
    try:
        return Path(snapshot_download(text, revision=revision, local_files_only=offline,
                                      allow_patterns=["model_index.json", *(f"{p}/*" for p in _PARTS[1:])]))
    except Exception as err:  # huggingface_hub raises several types (offline, not found, HTTP)
        how = (f"no folder {text!r} here, and the hub id is not in the local Hugging Face cache while downloads are "
               f"off; with internet run `huggingface-cli download {text}` or unset SPECTRAL_COLLAPSE_OFFLINE / "
               f"HF_HUB_OFFLINE" if offline else
               f"no folder {text!r} here, and the hub could not provide it; check the id and revision")
        raise OSError(f"cannot load the model {text!r}: {how}. Cause: {type(err).__name__}: {err}") from err


def folder_digest(folder: str | os.PathLike, parts: tuple = _PARTS) -> str:
    """sha256 over the relative names and byte digests of a pipeline folder's model files (``parts``: which ones)."""
    folder = Path(folder)
    h = hashlib.sha256()
    for part in parts:
        p = folder / part
        files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else []
        for f in files:
            rel = f.relative_to(folder).as_posix()
            if any(s.startswith(".") for s in rel.split("/")):
                continue
            h.update(f"{rel}\0{file_sha256(f)}\n".encode())   # each file read once per process while unchanged
    return h.hexdigest()


class _Adapted(nn.Module):
    """A hub network that maps the labels 0 / 1 / 2 to its classes and keeps the first ``channels`` outputs."""

    def __init__(self, net: nn.Module, labels: tuple | None, channels: int | None):
        super().__init__()
        self.net, self.labels, self.channels = net, labels, channels

    @property
    def config(self):
        return self.net.config

    def forward(self, x, t, class_labels=None):
        if self.labels is not None and class_labels is not None:
            table = torch.tensor(self.labels, dtype=torch.long, device=class_labels.device)
            class_labels = table[class_labels.long()]
        out = self.net(x, t, class_labels=class_labels) if takes_labels(self.net) else self.net(x, t)
        out = out.sample if hasattr(out, "sample") else out
        return out[:, :self.channels] if self.channels is not None else out


def _index(folder: Path) -> dict:
    return read_json(folder / "model_index.json") if (folder / "model_index.json").exists() else {}


def _check_components(folder: Path) -> str:
    """The network's subfolder ("unet" or "transformer"); raises for components the suite cannot use."""
    index = _index(folder)
    used = {k for k, v in index.items() if not k.startswith("_") and isinstance(v, (list, tuple)) and any(v)}
    known = {"unet", "transformer", "scheduler", "vae"}
    if text_network(folder):
        known |= {*TEXT_PARTS, *IGNORED_PARTS}
    extra = sorted(used - known)
    if extra:
        raise unsupported(f"{folder} is a {index.get('_class_name', 'pipeline')} with components "
                          f"{', '.join(extra)} (text or image conditioning, other autoencoders)")
    nets = [k for k in _NETWORKS if (folder / k / "config.json").exists()]
    if len(nets) != 1:
        found = ", ".join(sorted(p.name for p in folder.iterdir() if p.is_dir())) or "no subfolders"
        raise unsupported(f"{folder} needs exactly one network folder (unet/ or transformer/ with config.json); "
                          f"found {found}")
    if not (folder / "scheduler" / "scheduler_config.json").exists():
        raise unsupported(f"{folder} has no scheduler/scheduler_config.json (the noise schedule and prediction type)")
    cls = read_json(folder / nets[0] / "config.json").get("_class_name")
    text = cls == text_network(folder)
    if cls in _TEXT_NETWORKS and not text:
        raise unsupported(f"{folder / nets[0]} holds a {cls}, which cannot run without text embeddings: "
                          f"{_TEXT_NETWORKS[cls]}")
    if cls != _NETWORKS[nets[0]] and not text:
        raise unsupported(f"{folder / nets[0]} holds a {cls}, not a {_NETWORKS[nets[0]]}")
    vae = folder / "vae" / "config.json"
    if vae.exists() and read_json(vae).get("_class_name") != "AutoencoderKL":
        raise unsupported(f"{folder / 'vae'} holds a {read_json(vae).get('_class_name')}, not an AutoencoderKL")
    return nets[0]


def from_diffusers(path: str | os.PathLike, *, labels: tuple | None = None, revision: str | None = None,
                   local_files_only: bool | None = None, dtype: torch.dtype = torch.float32,
                   device: str | torch.device = "cpu", shift: float | None = None, source_prompt: str | None = None,
                   target_prompt: str | None = None, null_prompt: str | None = None,
                   micro_conditioning: dict | None = None, image_size: int | None = None) -> Denoiser:
    """The eval-mode, gradient-free ``Denoiser`` of a diffusers pipeline folder or hub id, with ``latent_space`` (or
    None), ``origin`` (path, content sha256, classes, schedule, prompts) and ``checkpoint`` (the network's folder).
    labels: a class-conditional network's class ids for (source, target, null); shift: a flow model's time shift instead
    of the scheduler's; the prompts and micro_conditioning: a text-conditioned folder's labels (source_prompt and
    target_prompt required); image_size: a Flux model's image side in pixels (default 1024)."""
    folder = pipeline_folder(path, revision=revision, local_files_only=local_files_only)
    sub = _check_components(folder)
    text = text_network(folder)
    given = {k: v for k, v in zip(PROMPT_OPTIONS, (source_prompt, target_prompt, null_prompt, micro_conditioning))
             if v is not None}
    prompts = None
    if text:
        if labels is not None:
            raise ValueError(f"labels={labels!r} applies to class-conditional networks; {folder} is text-conditioned: "
                             f"its labels are source_prompt, target_prompt (and null_prompt)")
        prompts = prompts_from_options(**given, what=str(folder))
    elif given:
        raise ValueError(f"{', '.join(given)} apply to text-conditioned models (Stable Diffusion, SDXL, SD3, Flux); "
                         f"{folder} holds a {read_json(folder / sub / 'config.json').get('_class_name')} without text "
                         f"encoders")
    sched_cfg = read_json(folder / "scheduler" / "scheduler_config.json")
    if image_size is not None and text != FLUX:
        raise ValueError(f"image_size={image_size!r} applies to Flux folders, whose transformer has no sample size; "
                         f"{folder / sub} names its own: leave image_size out")
    vae_cfg = folder / "vae" / "config.json"   # the VAE halves the side at each level after the first
    down = 2 ** (len(read_json(vae_cfg).get("block_out_channels", (0,) * 4)) - 1) if vae_cfg.exists() else 8
    bad = isinstance(image_size, bool) or not isinstance(image_size, int) or image_size <= 0 or image_size % (2 * down)
    if image_size is not None and bad:
        raise ValueError(f"image_size={image_size!r} for {folder}: a Flux model takes images whose side is a positive "
                         f"multiple of {2 * down} (its VAE shrinks {down}x and the transformer packs 2 x 2 latents)")
    side = (FLUX_SIDE if image_size is None else image_size // down) if text == FLUX else None
    tokens = (side // 2) ** 2 if text == FLUX else image_tokens(read_json(folder / sub / "config.json"))
    schedule, par = schedule_from_config(sched_cfg, tokens=tokens, shift=shift)
    if shift is not None and par != "flow":
        raise ValueError(f"shift={shift!r} applies to flow-matching models only; {folder} has a "
                         f"{sched_cfg.get('_class_name', 'scheduler')} (parameterization {par})")
    n_params = check_weight_files(folder, _PARTS[1:], network=sub)   # whole weight files; shapes just before loading
    check_memory(read_json(folder / sub / "config.json"), n_params, batch=1, where=str(folder / sub / "config.json"),
                 device=device, itemsize=torch.empty((), dtype=dtype).element_size())
    import diffusers

    conditions, conditional = None, True
    if text:
        if text != TEXT_UNET and par != "flow":
            raise unsupported(f"{folder / sub} holds {text}, a velocity network, but scheduler/ has a "
                              f"{sched_cfg.get('_class_name')}; it needs a flow-matching scheduler")
        net, conditions = load_text(folder, _index(folder), text, prompts, side=side or FLUX_SIDE, dtype=dtype,
                                    device=device, vae_downsample=down)
    else:
        check_shapes(folder / sub)
        net = getattr(diffusers, _NETWORKS[sub]).from_pretrained(str(folder / sub), torch_dtype=dtype)
        cfg = net.config
        split = cfg.in_channels if (cfg.out_channels or cfg.in_channels) == 2 * cfg.in_channels else None
        if (cfg.out_channels or cfg.in_channels) not in (cfg.in_channels, 2 * cfg.in_channels):
            raise unsupported(f"{folder / sub} maps {cfg.in_channels} input channels to {cfg.out_channels} outputs")
        conditional = takes_labels(net)
        if labels is not None and len(tuple(labels)) != 3:
            raise ValueError(f"labels must be three class ids (source, target, null), got {labels!r}")
        if split is not None or (labels is not None and conditional):
            net = _Adapted(net, tuple(map(int, labels)) if labels is not None and conditional else None, split)
    if par == "edm":
        D = (EDMVDenoiser if schedule.prediction_type == "v_prediction" else EDMDenoiser)(
            net, sigma_data=schedule.sigma_data, sigma_min=schedule.sigma_min, sigma_max=schedule.sigma_max)
    else:
        D = make_denoiser(net, par, schedule=schedule)
    D = D.to(device).eval().requires_grad_(False)
    check_finite(D, str(folder / sub))
    ls = None
    if (folder / "vae" / "config.json").exists():
        from .vae import PretrainedVAE, load_pretrained_vae

        ls = load_pretrained_vae(PretrainedVAE(source=str(folder / "vae"), subfolder=None, scaling_factor=None),
                                 local_files_only=True, device=device)
    table = getattr(schedule, "table", ())
    D.latent_space, D.checkpoint = ls, str(folder / sub)
    digest = folder_digest(folder)
    D.origin = {"path": str(path), "folder": str(folder), "sha256": digest,
                "network": text or _NETWORKS[sub],
                "scheduler": str(sched_cfg.get("_class_name", "?")), "conditional": bool(conditional),
                "parameterization": par, "schedule": {k: v for k, v in vars(schedule).items() if k != "table"}
                | ({"trained_betas": len(table)} if table else {})
                | ({"image_seq_len": tokens} if par == "flow" and schedule.dynamic and shift is None else {}),
                "labels": None if labels is None else list(labels), "latent": ls is not None,
                "vae_sha256": folder_digest(folder, ("vae",)) if ls is not None else None}
    if conditions is not None:  # the same folder with other prompts is another model
        key = json.dumps([digest, conditions["prompts"], conditions["null"]], sort_keys=True)
        D.origin |= {"sha256": hashlib.sha256(key.encode()).hexdigest(), "folder_sha256": digest, **conditions}
    return D
