"""The data and the models of a study: trained once per (profile, dataset), cached by config hash, or the user's."""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, replace
from pathlib import Path

from ..data import DATASETS, dataset_key, load_dataset, split_dataset
from ..environ import env_device, writable
from ..models.vae import LatentDomains, LatentSpace, PretrainedVAE, load_pretrained_vae
from ..train.vae import train_vae, vae_identity
from ..train.trainer import train
from ..train.config import TrainedModel, full_config
from .method_labels import method_specs
from .profiles import get_profile

__all__ = ["ModelRole", "MODEL_SET", "SEED_REPLICATES", "SMOKE_SHIPPED", "model_set", "load_role", "checkpoint_name",
           "profile_models", "study_device", "dataset_for", "data_options", "prompt_options", "trained_model",
           "role_plan", "plans_to_train", "latent_space", "CHECKPOINT_ROOT"]

CHECKPOINT_ROOT = os.environ.get("SPECTRAL_COLLAPSE_CHECKPOINTS", "data/checkpoints")
_NOT_OPTIONS = ("root", "name")  # given by the dataset string itself


def dataset_for(profile: str, dataset: str, factor: int | None = None, options: dict | None = None):
    """The dataset at the profile's size and SR factor, unless ``factor`` or ``options`` set them."""
    p = get_profile(profile)
    opts = {"size": p.image_size, **(options or {})}
    opts["factor"] = factor or opts.get("factor") or p.factor
    return load_dataset(dataset, **opts)


def prompt_options(spec) -> dict:
    """The prompts (``PROMPT_OPTIONS``) a given text-conditioned model takes from ``data_options``; {} if none."""
    from ..models.sd import PROMPT_OPTIONS

    raw = spec.get("data_options", None)
    got = {k: raw[k] for k in PROMPT_OPTIONS if k in raw} if isinstance(raw, dict) else {}
    if got and spec.get("model", None) is None and spec.get("models", None) is None:
        raise ValueError(f"data_options {sorted(got)} are the prompts of a text-conditioned model (Stable Diffusion / "
                         f"SDXL); give that model with model=<folder> (or models=...), or leave them out")
    return got


def data_options(spec) -> dict:
    """The study's ``data_options`` without prompts, as loader keywords checked against the dataset's builder."""
    raw = spec.get("data_options", None)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise TypeError(f"data_options must be a JSON object such as '{{\"task\": \"sr\", \"factor\": 4}}', "
                        f"got {raw!r}")
    prompts = prompt_options(spec)
    raw = {k: v for k, v in raw.items() if k not in prompts}
    bad = [k for k in raw if k in _NOT_OPTIONS]
    if bad:
        raise ValueError(f"data_options may not set {', '.join(bad)}: the dataset string names the data "
                         f"(dataset='folder:<path>')")
    kind, _ = split_dataset(spec.dataset)
    sig = inspect.signature(DATASETS[kind]).parameters if kind in DATASETS else None
    known = {"task", "size", "factor", *(sig or ())}
    unknown = sorted(set(raw) - known)
    if unknown and sig is not None and not any(p.kind is p.VAR_KEYWORD for p in sig.values()):
        raise ValueError(f"data_options {unknown} are not options of dataset {kind!r}; its options: "
                         f"{', '.join(sorted(k for k in known if k not in _NOT_OPTIONS))}")
    return raw


def _base_name(dataset: str, data) -> str:
    """Checkpoint name stem: the dataset's name, with the SR factor when its task is super-resolution."""
    stem = dataset_key(dataset, path_hash=False)
    return f"{stem}-x{data.task.factor}" if data.task.kind == "sr" else stem


def latent_space(profile: str, dataset: str, *, factor: int | None = None, progress: bool = True,
                 root: str | None = None, options: dict | None = None) -> LatentSpace:
    """The profile's latent space: its pretrained VAE, or a small VAE trained (once) on this dataset's pools."""
    p = get_profile(profile)
    if isinstance(p.vae, PretrainedVAE):
        return load_pretrained_vae(p.vae)
    data = dataset_for(profile, dataset, factor, options)
    space = train_vae(p.vae, p.train_vae, data, name=f"{_base_name(dataset, data)}-vae-{profile}",
                      root=root or CHECKPOINT_ROOT, progress=progress)
    from .gate import enforce, vae_gate_report

    enforce(Path(space.path).name, lambda: vae_gate_report(space, data, p), role="autoencoder of the latent space")
    return space


def model_plan(profile: str, dataset: str, parameterization: str, *, factor, progress: bool, root, backbone: str,
                space, options, seed: int = 0) -> tuple:
    """(ModelSpec, TrainConfig, training data, checkpoint name stem) of the profile's model ``trained_model`` trains."""
    p = get_profile(profile)
    space_name = p.resolve_space(backbone, "latent" if isinstance(space, LatentSpace) else space)
    data = dataset_for(profile, dataset, factor, options)
    tags = ([backbone] if backbone != "unet" else []) + ([space_name] if space_name != p.space else [])
    tags += [f"seed{seed}"] if seed else []
    name = "-".join([_base_name(dataset, data), parameterization, *tags, profile])
    if space_name == "latent":
        ls = space if isinstance(space, LatentSpace) else latent_space(profile, dataset, factor=factor,
                                                                       progress=progress, root=root, options=options)
        data = LatentDomains(data, ls)
    cfg = p.train_config(parameterization, dataset, backbone=backbone, space=space_name)
    cfg = replace(cfg, seed=seed) if seed else cfg  # seed 0: the config (and hash) of the profile as it is
    return p.model_spec(parameterization, dataset, backbone=backbone, space=space_name), cfg, data, name


def trained_model(profile: str, dataset: str, parameterization: str, *, factor: int | None = None, progress: bool = True,
                  root: str | None = None, backbone: str = "unet", space: str | LatentSpace | None = None,
                  options: dict | None = None, seed: int = 0) -> TrainedModel:
    """Train (or load) the profile's model of this parameterization on this dataset (backbone / space: ablations;
    options: the study's data_options; seed: the training seed, 0 for the profile's models)."""
    p = get_profile(profile)
    if p.threads:
        import torch
        torch.set_num_threads(p.threads)
    spec, cfg, data, name = model_plan(profile, dataset, parameterization, factor=factor, progress=progress, root=root,
                                        backbone=backbone, space=space, options=options, seed=seed)
    with writable("SPECTRAL_COLLAPSE_CHECKPOINTS", root or CHECKPOINT_ROOT):  # a read-only checkout names the fix
        tm = train(spec, cfg, data, name=name, root=root or CHECKPOINT_ROOT, progress=progress)
    tm.denoiser.checkpoint = str(tm.path)  # recorded in the results' attrs (which model made these numbers)
    tm.denoiser.to(study_device())  # inversions run where the model is; results come back to the CPU
    from .gate import enforce, trained_report

    enforce(Path(tm.path).name, lambda: trained_report(tm, data, p, space=getattr(data, "space", None)),
            role=f"{parameterization} model")
    return tm


def checkpoint_name(profile: str, role: "ModelRole", *, root: str | None = None) -> str:
    """The folder (``<name>-<config hash>``) a model of the set trains into and ships under, without training it."""
    from ..train.cache import checkpoint_dir

    p = get_profile(profile)
    data = dataset_for(profile, role.dataset, role.factor)
    if role.parameterization == "vae":
        return checkpoint_dir(f"{_base_name(role.dataset, data)}-vae-{profile}",
                              vae_identity(p.vae, p.train_vae, data)).name
    spec, cfg, data, name = role_plan(profile, role, root=root)
    return checkpoint_dir(name, full_config(spec, cfg, data)).name


@dataclass(frozen=True)
class ModelRole:
    """One model the studies of a profile use, on a bundled dataset: what it is trained for, and how."""

    key: str                       # short stable name, e.g. "ihc-sr-x4-eps"
    dataset: str
    parameterization: str = "eps"  # eps | x0 | edm | flow | vae (the latent arm's autoencoder)
    factor: int | None = None      # SR factor (None: the profile's)
    backbone: str = "unet"
    space: str | None = None       # None: the profile's space
    role: str = ""                 # which studies use it, in words
    seed: int = 0                  # training seed (part of the config hash; a non-zero seed also names the folder)


# Every model the studies of a CPU profile train on the bundled data (each role says which studies use it)
MODEL_SET = (
    ModelRole("ihc-sr-x4-eps", "ihc-sr", "eps", role="DDIM, TABA, OVG and the latent studies on ihc-sr"),
    ModelRole("ihc-sr-x4-edm", "ihc-sr", "edm", role="EDM and OVG+EDM on ihc-sr"),
    ModelRole("ihc-edges-eps", "ihc-edges", "eps", role="DDIM, TABA, OVG and the latent studies on ihc-edges"),
    ModelRole("ihc-edges-edm", "ihc-edges", "edm", role="EDM and OVG+EDM on ihc-edges"),
    ModelRole("ihc-sr-x2-eps", "ihc-sr", "eps", factor=2, role="scale-factor study, x2 arm"),
    ModelRole("ihc-sr-x8-eps", "ihc-sr", "eps", factor=8, role="scale-factor study, x8 arm"),
    ModelRole("ihc-sr-x4-x0", "ihc-sr", "x0", role="eps-vs-x0 ablation, x0 arm"),
    ModelRole("ihc-sr-x4-eps-dit", "ihc-sr", "eps", backbone="dit", role="backbone ablation, DiT arm"),
    ModelRole("ihc-sr-x4-vae", "ihc-sr", "vae", role="the latent arm's autoencoder"),
    ModelRole("ihc-sr-x4-eps-latent", "ihc-sr", "eps", space="latent", role="pixel/latent ablation, latent arm"),
    ModelRole("ihc-sr-x4-flow", "ihc-sr", "flow", role="flow-matching (rectified-flow) model of the flow_collapse study"),
)

# The main eps and EDM models again from training seeds 1 and 2, for the seed_spread study (not in the main model set):
# how far the numbers move between training runs, which an interval over one model's test crops cannot show
SEED_REPLICATES = tuple(
    replace(r, key=f"{r.key}-seed{k}", seed=k, role=f"training-seed replicate {k} of {r.key} (seed_spread study)")
    for k in (1, 2) for r in MODEL_SET[:4])

# The smoke profile's models shipped under data/weights with their gate reports (the main eps and EDM models of both
# datasets): a first smoke run of the main results trains and gates nothing
SMOKE_SHIPPED = MODEL_SET[:4]


def model_set(keys=None) -> list[ModelRole]:
    """The roles of ``MODEL_SET`` or ``SEED_REPLICATES`` named by ``keys`` in order (None: all of ``MODEL_SET``)."""
    by_key = {r.key: r for r in MODEL_SET + SEED_REPLICATES}
    if keys is None:
        return list(MODEL_SET)
    bad = [k for k in keys if k not in by_key]
    if bad:
        raise ValueError(f"unknown model(s) {', '.join(bad)}; the model set: {', '.join(by_key)}")
    return [by_key[k] for k in keys]


def role_plan(profile: str, role: ModelRole, *, progress: bool = False, root: str | None = None) -> tuple:
    """``model_plan`` of one diffusion model of the set (a lockstep ``Job``'s fields)."""
    if role.parameterization == "vae":
        raise ValueError(f"{role.key} is an autoencoder, trained by its own trainer (load_role), not by a plan")
    return model_plan(profile, role.dataset, role.parameterization, factor=role.factor, progress=progress, root=root,
                      backbone=role.backbone, space=role.space, options=None, seed=role.seed)


def plans_to_train(profile: str, dataset: str, labels, *, parameterization: str = "eps", factor: int | None = None,
                   backbone: str = "unet", space=None, options: dict | None = None, seed: int = 0) -> list:
    """The lockstep ``Job`` of each model ``profile_models`` (same arguments) would train for ``labels`` (neither
    finished under ``CHECKPOINT_ROOT`` nor shipped); [] for a latent arm, whose autoencoder comes first."""
    from ..train.cache import checkpoint_dir, is_complete
    from ..train.lockstep import Job
    from ..train.shipped import shipped_dir

    if isinstance(space, LatentSpace) or get_profile(profile).resolve_space(backbone, space) == "latent":
        return []
    jobs = []
    for par in _parameterizations(labels, parameterization):
        spec, cfg, data, name = model_plan(profile, dataset, par, factor=factor, progress=False, root=None,
                                            backbone=backbone, space=space, options=options, seed=seed)
        ckpt = checkpoint_dir(name, full_config(spec, cfg, data), CHECKPOINT_ROOT)
        if not is_complete(ckpt) and not shipped_dir(ckpt).is_dir():
            jobs.append(Job(spec, cfg, data, name))
    return jobs


def load_role(profile: str, role: ModelRole, *, progress: bool = True, root: str | None = None):
    """Train (or load) one model of the set: a TrainedModel, or the LatentSpace for the VAE role."""
    if role.parameterization == "vae":
        return latent_space(profile, role.dataset, factor=role.factor, progress=progress, root=root)
    return trained_model(profile, role.dataset, role.parameterization, factor=role.factor, progress=progress,
                         root=root, backbone=role.backbone, space=role.space, seed=role.seed)


def _parameterizations(labels, parameterization: str) -> list[str]:
    """The models' parameterizations the method ``labels`` need (``parameterization``: DDIM's, TABA's, OVG's)."""
    return sorted({m.parameterization for m in method_specs(labels, eta_hf=0.0, eta_lf=0.0,
                                                            parameterization=parameterization)})


def profile_models(profile: str, dataset: str, labels, *, parameterization: str = "eps", factor: int | None = None,
                   backbone: str = "unet", space=None, options: dict | None = None, progress: bool = False,
                   given: dict | None = None, seed: int = 0) -> tuple[dict, LatentSpace | None, str]:
    """({parameterization: denoiser} the ``labels`` need, ``given`` ones kept and the others trained or loaded, the
    LatentSpace or None, its space name); backbone, space, parameterization and seed are the ablations' axes."""
    p = get_profile(profile)
    name = p.resolve_space(backbone, "latent" if isinstance(space, LatentSpace) else space)
    ls = space if isinstance(space, LatentSpace) else None
    if name == "latent" and ls is None:
        ls = latent_space(profile, dataset, factor=factor, progress=progress, options=options)
    models = dict(given or {})
    for par in _parameterizations(labels, parameterization):
        if par not in models:
            models[par] = trained_model(profile, dataset, par, factor=factor, progress=progress, backbone=backbone,
                                        space=ls or name, options=options, seed=seed).denoiser
    return models, ls, name


def study_device() -> str:
    """Where studies run their models: ``$SPECTRAL_COLLAPSE_DEVICE``, else "cuda" when a GPU is visible, else "cpu"
    (the numbers do not depend on it beyond float round-off)."""
    import torch

    dev = env_device("SPECTRAL_COLLAPSE_DEVICE")
    if dev and dev.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"SPECTRAL_COLLAPSE_DEVICE={dev!r} but no GPU is visible; unset it or set it to 'cpu'")
    return dev or ("cuda" if torch.cuda.is_available() else "cpu")
