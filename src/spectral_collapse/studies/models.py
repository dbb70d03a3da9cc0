"""Trained models for a (profile, dataset): trained once, cached by config hash, reused by every study.

Ablation axes (paper Sec. 6.3): ``backbone`` ("unet" | "dit") and ``space`` ("pixel" | "latent" | a LatentSpace;
default the profile's). In latent space the model trains on the VAE latents of the dataset (``latent_space``:
the profile's pretrained VAE, or a small VAE trained on the dataset and cached like the models). The defaults
give the main models with unchanged names and hashes.
"""
from __future__ import annotations

import os

from ..data import load_dataset
from ..models.vae import LatentDomains, LatentSpace, PretrainedVAE, load_pretrained_vae
from ..train.vae import train_vae
from ..train.trainer import TrainedModel, ensure_trained
from .profiles import get_profile

__all__ = ["dataset_for", "trained_model", "latent_space", "CHECKPOINT_ROOT"]

CHECKPOINT_ROOT = os.environ.get("SPECTRAL_COLLAPSE_CHECKPOINTS", "data/checkpoints")


def dataset_for(profile: str, dataset: str, factor: int | None = None, **kw):
    """The dataset at the profile's image size (and SR factor unless given)."""
    p = get_profile(profile)
    return load_dataset(dataset, size=p.image_size, factor=factor or p.factor, **kw)


def _base_name(dataset: str, data) -> str:
    """Checkpoint name stem: the dataset's name, with the SR factor when its declared task is super-resolution."""
    return f"{dataset}-x{data.task.factor}" if data.task.kind == "sr" else dataset


def latent_space(profile: str, dataset: str, *, factor: int | None = None, progress: bool = True,
                 root: str | None = None) -> LatentSpace:
    """The profile's latent space: its pretrained VAE, or a small VAE trained (once) on this dataset's pools."""
    p = get_profile(profile)
    if isinstance(p.vae, PretrainedVAE):
        return load_pretrained_vae(p.vae)
    data = dataset_for(profile, dataset, factor)
    return train_vae(p.vae, p.train_vae, data, name=f"{_base_name(dataset, data)}-vae-{profile}",
                     root=root or CHECKPOINT_ROOT, progress=progress)


def trained_model(profile: str, dataset: str, parameterization: str, *, factor: int | None = None, progress: bool = True,
                  root: str | None = None, backbone: str = "unet", space: str | LatentSpace | None = None) -> TrainedModel:
    """Train (or load) the profile's model of this parameterization on this dataset (backbone / space: ablations)."""
    p = get_profile(profile)
    if p.threads:
        import torch
        torch.set_num_threads(p.threads)
    space_name = p.resolve_space(backbone, "latent" if isinstance(space, LatentSpace) else space)
    data = dataset_for(profile, dataset, factor)
    tags = ([backbone] if backbone != "unet" else []) + ([space_name] if space_name != p.space else [])
    name = "-".join([_base_name(dataset, data), parameterization, *tags, profile])
    if space_name == "latent":
        ls = space if isinstance(space, LatentSpace) else latent_space(profile, dataset, factor=factor,
                                                                       progress=progress, root=root)
        data = LatentDomains(data, ls)
    tm = ensure_trained(p.model_spec(parameterization, dataset, backbone=backbone, space=space_name),
                        p.train_config(parameterization, dataset, backbone=backbone, space=space_name), data,
                        name=name, root=root or CHECKPOINT_ROOT, progress=progress)
    tm.denoiser.checkpoint = str(tm.path)  # recorded in the results' attrs (which model made these numbers)
    return tm
