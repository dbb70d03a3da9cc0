"""A diffusers pipeline folder (or a hub id) as the suite's denoiser: ``from_diffusers(path)``.

What a folder must hold (as diffusers' ``save_pretrained`` writes it; ``DDPMPipeline(unet, scheduler)
.save_pretrained(path)`` is the simplest case)::

    model_index.json    optional; lists the components
    unet/               a UNet2DModel, unconditional or class-conditional   } one of the two
    transformer/        a DiTTransformer2DModel (class-conditional)         }
    scheduler/          scheduler_config.json of a DDPM-type scheduler (DDPM, DDIM, PNDM, Euler, DPM-Solver, ...)
    vae/                optional: an AutoencoderKL; the network then diffuses its latents

Mapping onto the suite (models/schedules.py, models/denoisers.py):

* schedule: ``beta_schedule`` linear / scaled_linear / squaredcos_cap_v2 -> ``VPSchedule`` ("cosine" for the
  last), ``trained_betas`` -> ``TabulatedVPSchedule``, over ``num_train_timesteps``;
* ``prediction_type`` epsilon / sample / v_prediction -> the "eps" / "x0" / "v" denoiser;
* a network without a class embedding is called without labels (it ignores the suite's 0 source / 1 target
  labels); a class-conditional one gets them, through ``labels=(source, target, null)`` when its classes differ;
* a DiT with learned variance (``out_channels = 2 * in_channels``) keeps the first half of its output (as
  diffusers' DiTPipeline does);
* sampling settings of the scheduler (``timestep_spacing``, ``steps_offset``, ``clip_sample``, thresholding) are
  not used: the suite integrates on its own grid (DDIM "leading", offset 0; ``inversion.default_sigmas``) and
  never clips x0.

Anything else (text-conditioned pipelines, UNet2DConditionModel, VQ autoencoders, EDM or flow-matching schedulers,
zero terminal SNR) raises ``UnsupportedModelError`` listing what is supported. A hub id ("owner/name") is
downloaded into the Hugging Face cache and then read as a folder; with downloads off (``vae.hub_offline``) only
the cache is used (``local_files_only``).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import torch
from torch import nn

from .denoisers import Denoiser, make_denoiser
from .schedules import TabulatedVPSchedule, VPSchedule

__all__ = ["from_diffusers", "pipeline_folder", "folder_digest", "schedule_from_config", "UnsupportedModelError",
           "SUPPORTED"]

SUPPORTED = ("a diffusers pipeline folder with unet/ (UNet2DModel, unconditional or class-conditional) or "
             "transformer/ (DiTTransformer2DModel), scheduler/ of a DDPM-type scheduler (beta_schedule linear, "
             "scaled_linear or squaredcos_cap_v2, or trained_betas; prediction_type epsilon, sample or v_prediction), "
             "and optionally vae/ (AutoencoderKL)")
_NETWORKS = {"unet": "UNet2DModel", "transformer": "DiTTransformer2DModel"}
_PARTS = ("model_index.json", "unet", "transformer", "scheduler", "vae")
_PREDICTIONS = {"epsilon": "eps", "sample": "x0", "v_prediction": "v"}
_BETAS = {"linear": "linear", "scaled_linear": "scaled_linear", "squaredcos_cap_v2": "cosine"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class UnsupportedModelError(ValueError):
    """The folder holds a model the suite cannot wrap; the message lists what is supported."""


def _unsupported(what: str) -> UnsupportedModelError:
    return UnsupportedModelError(f"{what}. Supported: {SUPPORTED}")


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
    """sha256 over the relative names and bytes of the model files of a pipeline folder (its content hash);
    ``parts``: which entries (default model_index.json, unet/, transformer/, scheduler/, vae/)."""
    folder = Path(folder)
    h = hashlib.sha256()
    for part in parts:
        p = folder / part
        files = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else []
        for f in files:
            rel = f.relative_to(folder).as_posix()
            if any(s.startswith(".") for s in rel.split("/")):
                continue
            h.update(f"{rel}\0{f.stat().st_size}\0".encode())
            with open(f, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()


def schedule_from_config(cfg: dict) -> tuple[VPSchedule, str]:
    """(VP schedule, parameterization) of a diffusers scheduler config; UnsupportedModelError otherwise."""
    name = str(cfg.get("_class_name", "scheduler"))
    if "EDM" in name or "FlowMatch" in name or ("beta_schedule" not in cfg and not cfg.get("trained_betas")):
        raise _unsupported(f"the scheduler {name} is not a DDPM-type (beta schedule) scheduler")
    if cfg.get("rescale_betas_zero_snr"):
        raise _unsupported(f"the scheduler {name} rescales to zero terminal SNR (rescale_betas_zero_snr): its last "
                           f"noise level is infinite in sigma coordinates")
    if cfg.get("timestep_type", "discrete") != "discrete":
        raise _unsupported(f"the scheduler {name} uses {cfg['timestep_type']} timesteps")
    pred = cfg.get("prediction_type", "epsilon")
    if pred not in _PREDICTIONS:
        raise _unsupported(f"prediction_type {pred!r} of {name} is not supported")
    T = int(cfg.get("num_train_timesteps", 1000))
    if cfg.get("trained_betas"):
        betas = list(cfg["trained_betas"])
        if len(betas) != T:
            raise _unsupported(f"trained_betas has {len(betas)} values but num_train_timesteps is {T}")
        return TabulatedVPSchedule(table=tuple(betas)), _PREDICTIONS[pred]
    kind = _BETAS.get(cfg.get("beta_schedule", "linear"))
    if kind is None:
        raise _unsupported(f"beta_schedule {cfg.get('beta_schedule')!r} of {name} is not supported")
    return (VPSchedule(kind, float(cfg.get("beta_start", 1e-4)), float(cfg.get("beta_end", 0.02)), T),
            _PREDICTIONS[pred])


class _Adapted(nn.Module):
    """A hub network called as the suite calls its own: maps the labels 0 / 1 / 2 onto the network's classes
    (``labels``) and keeps the first ``channels`` output channels (a learned-variance DiT)."""

    def __init__(self, net: nn.Module, labels: tuple | None, channels: int | None):
        super().__init__()
        self.net = net
        self.labels = None if labels is None else tuple(int(v) for v in labels)
        self.channels = channels

    @property
    def config(self):
        return self.net.config

    def forward(self, x, t, class_labels=None):
        if self.labels is not None and class_labels is not None:
            table = torch.tensor(self.labels, dtype=torch.long, device=class_labels.device)
            class_labels = table[class_labels.long()]
        if getattr(self.net, "class_embedding", True) is None:
            out = self.net(x, t)
        else:
            out = self.net(x, t, class_labels=class_labels)
        out = out.sample if hasattr(out, "sample") else out
        return out[:, :self.channels] if self.channels is not None else out


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise _unsupported(f"cannot read {path} ({type(err).__name__}: {err})") from err


def _check_components(folder: Path) -> str:
    """The network's subfolder ("unet" or "transformer"); raises for components the suite cannot use."""
    index = _read_json(folder / "model_index.json") if (folder / "model_index.json").exists() else {}
    used = {k for k, v in index.items() if not k.startswith("_") and isinstance(v, (list, tuple)) and any(v)}
    extra = sorted(used - {"unet", "transformer", "scheduler", "vae"})
    if extra:
        raise _unsupported(f"{folder} is a {index.get('_class_name', 'pipeline')} with components "
                           f"{', '.join(extra)} (text or image conditioning, other autoencoders)")
    nets = [k for k in _NETWORKS if (folder / k / "config.json").exists()]
    if len(nets) != 1:
        found = ", ".join(sorted(p.name for p in folder.iterdir() if p.is_dir())) or "no subfolders"
        raise _unsupported(f"{folder} needs exactly one network folder (unet/ or transformer/ with config.json); "
                           f"found {found}")
    if not (folder / "scheduler" / "scheduler_config.json").exists():
        raise _unsupported(f"{folder} has no scheduler/scheduler_config.json (the noise schedule and prediction type)")
    cls = _read_json(folder / nets[0] / "config.json").get("_class_name")
    if cls != _NETWORKS[nets[0]]:
        raise _unsupported(f"{folder / nets[0]} holds a {cls}, not a {_NETWORKS[nets[0]]}")
    vae = folder / "vae" / "config.json"
    if vae.exists() and _read_json(vae).get("_class_name") != "AutoencoderKL":
        raise _unsupported(f"{folder / 'vae'} holds a {_read_json(vae).get('_class_name')}, not an AutoencoderKL")
    return nets[0]


def from_diffusers(path: str | os.PathLike, *, labels: tuple | None = None, revision: str | None = None,
                   local_files_only: bool | None = None, dtype: torch.dtype = torch.float32,
                   device: str | torch.device = "cpu") -> Denoiser:
    """The denoiser of a diffusers pipeline folder or hub id (see the module docstring for what is supported).

    labels: for a class-conditional network, its class ids standing for the suite's (source, target, null) labels
    (default: 0, 1, 2 as the suite trains them); ignored by unconditional networks.
    Returns an eval-mode, gradient-free ``Denoiser`` with three extra attributes: ``latent_space`` (the
    ``LatentSpace`` of its vae/, or None for a pixel model), ``origin`` (path, content sha256, network class,
    parameterization, schedule, label map) and ``checkpoint`` (the network's folder, as for trained models).
    """
    folder = pipeline_folder(path, revision=revision, local_files_only=local_files_only)
    sub = _check_components(folder)
    schedule, par = schedule_from_config(_read_json(folder / "scheduler" / "scheduler_config.json"))
    import diffusers

    net = getattr(diffusers, _NETWORKS[sub]).from_pretrained(str(folder / sub), torch_dtype=dtype)
    cfg = net.config
    split = cfg.in_channels if (cfg.out_channels or cfg.in_channels) == 2 * cfg.in_channels else None
    if (cfg.out_channels or cfg.in_channels) not in (cfg.in_channels, 2 * cfg.in_channels):
        raise _unsupported(f"{folder / sub} maps {cfg.in_channels} input channels to {cfg.out_channels} outputs")
    conditional = getattr(net, "class_embedding", True) is not None
    if labels is not None and len(tuple(labels)) != 3:
        raise ValueError(f"labels must be three class ids (source, target, null), got {labels!r}")
    if split is not None or (labels is not None and conditional):
        net = _Adapted(net, tuple(labels) if labels is not None and conditional else None, split)
    D = make_denoiser(net, par, schedule=schedule).to(device).eval().requires_grad_(False)
    ls = None
    if (folder / "vae" / "config.json").exists():
        from .vae import PretrainedVAE, load_pretrained_vae

        ls = load_pretrained_vae(PretrainedVAE(source=str(folder / "vae"), subfolder=None, scaling_factor=None),
                                 local_files_only=True, device=device)
    D.latent_space = ls
    D.checkpoint = str(folder / sub)
    D.origin = {"path": str(path), "folder": str(folder), "sha256": folder_digest(folder), "network": _NETWORKS[sub],
                "conditional": bool(conditional), "parameterization": par,
                "schedule": {k: v for k, v in vars(schedule).items() if k != "table"}
                | ({"trained_betas": len(schedule.table)} if isinstance(schedule, TabulatedVPSchedule) else {}),
                "labels": None if labels is None else list(labels), "latent": ls is not None,
                "vae_sha256": folder_digest(folder, ("vae",)) if ls is not None else None}
    return D
