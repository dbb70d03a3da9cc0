"""Trained models for a (profile, dataset): trained once, cached by config hash, reused by every study."""
from __future__ import annotations

import os

from ..data import load_dataset
from ..train.trainer import TrainedModel, ensure_trained
from .profiles import get_profile

__all__ = ["dataset_for", "trained_model", "CHECKPOINT_ROOT"]

CHECKPOINT_ROOT = os.environ.get("SPECTRAL_COLLAPSE_CHECKPOINTS", "data/checkpoints")


def dataset_for(profile: str, dataset: str, factor: int | None = None, **kw):
    """The dataset at the profile's image size (and SR factor unless given)."""
    p = get_profile(profile)
    return load_dataset(dataset, size=p.image_size, factor=factor or p.factor, **kw)


def trained_model(profile: str, dataset: str, parameterization: str, *, factor: int | None = None, progress: bool = True,
                  root: str | None = None) -> TrainedModel:
    """Train (or load) the profile's model of this parameterization on this dataset."""
    p = get_profile(profile)
    if p.threads:
        import torch
        torch.set_num_threads(p.threads)
    data = dataset_for(profile, dataset, factor)
    name = f"{dataset}-x{factor or p.factor}-{parameterization}-{profile}" if "sr" in dataset or dataset == "bbbc021" \
        else f"{dataset}-{parameterization}-{profile}"
    return ensure_trained(p.model_spec(parameterization, dataset), p.train_config(parameterization, dataset), data,
                          name=name, root=root or CHECKPOINT_ROOT, progress=progress)
