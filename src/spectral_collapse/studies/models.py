"""The data and the models of a study: trained once per (profile, dataset), cached by config hash, or the user's."""
from __future__ import annotations

import functools
import inspect
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from ..data import DATASETS, dataset_key, load_dataset, split_dataset
from ..digest import tree_sha256
from ..environ import env_device, writable
from ..models.hub_folder import FLUX, fits, text_network
from ..models.oracle import ORACLE, fit_oracle, oracle_pair
from ..models.vae import LatentDomains, LatentSpace, PretrainedVAE, load_pretrained_vae
from ..train.vae import train_vae, vae_identity
from ..train.trainer import train
from ..train.config import TrainedModel, full_config
from .method_labels import method_specs
from .profiles import get_profile

__all__ = ["ModelRole", "MODEL_SET", "SEED_REPLICATES", "model_set", "load_role", "checkpoint_name", "profile_models",
           "study_device", "dataset_for", "spec_data", "data_options", "prompt_options", "trained_model",
           "role_plan", "plans_to_train", "latent_space", "UserModels", "user_models", "study_labels",
           "CHECKPOINT_ROOT", "oracle_models"]

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


def spec_data(spec, factor: int | None = None):
    """The data of a study: ``spec.dataset`` with its ``data_options``, at the profile's image size (or, with a
    user's model, the size that model takes), at SR factor ``factor`` (None: the options' or the profile's)."""
    opts = data_options(spec)
    given = user_models(spec)
    if given is not None:
        size = opts.setdefault("size", given.image_size)
        if size != given.image_size:
            raise ValueError(f"data_options size={size} does not fit the given model, which takes "
                             f"{given.image_size} x {given.image_size} images; leave size out")
    elif "size" in opts and opts["size"] != get_profile(spec.profile).image_size:
        raise ValueError(f"data_options size={opts['size']} differs from the {spec.profile} profile's image size "
                         f"{get_profile(spec.profile).image_size}, which its models are built for; leave size out, or "
                         f"give your own model (model=...)")
    return dataset_for(spec.profile, spec.dataset, factor, options=opts)


def _base_name(dataset: str, data) -> str:
    """Checkpoint name stem: the dataset's name (a folder's "folder-<name>"; its content is in the config hash),
    with the SR factor when its declared task is super-resolution."""
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
    """(ModelSpec, TrainConfig, training data, checkpoint name stem) of the profile's model: what ``trained_model``
    trains and what names its folder (the stem plus the hash of the whole configuration)."""
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
    """The folder a model of the set trains into and ships under (``<name>-<config hash>``), computed without
    training it (the latent arm's autoencoder is loaded or trained into ``root``)."""
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


# Every model the studies of a CPU profile train on the bundled data: the main eps and EDM models of both datasets,
# the scale-factor arms, the x0 ablation, the DiT backbone, the latent-space arm with its VAE and the flow-matching
# model of the flow_collapse study.
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

# The main eps and EDM models of both datasets again, from training seeds 1 and 2 (same configuration otherwise):
# the seed_spread study measures how far the studies' numbers move from one training run to the next, which an
# interval over test crops of one model cannot show. Not part of the main command's model set.
SEED_REPLICATES = tuple(
    replace(r, key=f"{r.key}-seed{k}", seed=k, role=f"training-seed replicate {k} of {r.key} (seed_spread study)")
    for k in (1, 2) for r in MODEL_SET[:4])


def model_set(keys=None) -> list[ModelRole]:
    """The roles of ``MODEL_SET`` or ``SEED_REPLICATES`` named by ``keys`` (None: all of ``MODEL_SET``), in the
    given order; an unknown key raises."""
    by_key = {r.key: r for r in MODEL_SET + SEED_REPLICATES}
    if keys is None:
        return list(MODEL_SET)
    bad = [k for k in keys if k not in by_key]
    if bad:
        raise ValueError(f"unknown model(s) {', '.join(bad)}; the model set: {', '.join(by_key)}")
    return [by_key[k] for k in keys]


def role_plan(profile: str, role: ModelRole, *, progress: bool = False, root: str | None = None) -> tuple:
    """``model_plan`` of one diffusion model of the set (what ``load_role`` trains): a lockstep ``Job``'s fields.
    A latent arm's autoencoder is trained (or loaded) first."""
    if role.parameterization == "vae":
        raise ValueError(f"{role.key} is an autoencoder, trained by its own trainer (load_role), not by a plan")
    return model_plan(profile, role.dataset, role.parameterization, factor=role.factor, progress=progress, root=root,
                      backbone=role.backbone, space=role.space, options=None, seed=role.seed)


def plans_to_train(profile: str, dataset: str, labels, *, parameterization: str = "eps", factor: int | None = None,
                   backbone: str = "unet", space=None, options: dict | None = None, seed: int = 0) -> list:
    """The lockstep ``Job`` of each model ``profile_models`` (same arguments) would train for ``labels``: those with
    neither a finished checkpoint under ``CHECKPOINT_ROOT`` nor shipped weights. [] for a latent arm (its
    autoencoder comes first; ``profile_models`` trains its models in turn)."""
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
    """The models' parameterizations that the method ``labels`` need (``parameterization``: the one behind DDIM,
    TABA and OVG), sorted."""
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
    """Where studies run their models: ``$SPECTRAL_COLLAPSE_DEVICE`` if set, else "cuda" when a GPU is visible, else
    "cpu". The numbers do not depend on it beyond float round-off (the cells' keys do not include it)."""
    import torch

    dev = env_device("SPECTRAL_COLLAPSE_DEVICE")
    if dev and dev.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"SPECTRAL_COLLAPSE_DEVICE={dev!r} but no GPU is visible; unset it or set it to 'cpu'")
    return dev or ("cuda" if torch.cuda.is_available() else "cpu")


# --- a user's models -------------------------------------------------------------------------------------------

@dataclass
class UserModels:
    """The study's own models: ``models`` {parameterization: Denoiser} (a ``ModelPair`` for two), their latent space
    (None: pixels), ``info`` (what the results record: path and content sha256 of each) and the image size."""

    models: dict
    latent_space: LatentSpace | None
    info: dict
    image_size: int

    @property
    def parameterization(self) -> str:
        return next(iter(self.models))


@functools.lru_cache(maxsize=8)
def _load(path: str, signature: str, prompts: str = "{}"):
    from ..models.hub import from_diffusers

    return from_diffusers(path, **json.loads(prompts))


def _hub_model(path: str, prompts: dict | None = None, size: int | None = None):
    """``from_diffusers(path, **prompts)``, loaded once per process while the folder's files (by content) and the
    prompts are unchanged. ``size`` (the study's ``data_options`` size) is the image size a Flux folder is loaded for (its
    transformer names none); other models take the size they name."""
    from ..models.hub import pipeline_folder

    folder = pipeline_folder(path)
    opts = dict(prompts or {})
    if size is not None and text_network(folder) == FLUX:
        opts["image_size"] = size
    return _load(str(folder), tree_sha256(folder), json.dumps(opts, sort_keys=True))


def _image_size(D) -> int:
    """The side in pixels of the images ``D`` makes (its latents' side times the autoencoder's downsampling)."""
    from .quality import input_shape

    ls = getattr(D, "latent_space", None)
    return input_shape(D)[1] * (ls.downsample if ls is not None else 1)


def _describe(D) -> dict:
    return {k: v for k, v in D.origin.items() if k != "folder"}


def user_models(spec) -> UserModels | None:
    """The models given by the study's ``model`` / ``models`` knobs (None when neither is set)."""
    one, two = spec.get("model", None), spec.get("models", None)
    if one is None and two is None:
        return None
    if one is not None and two is not None:
        raise ValueError("give either model (one model: inversion and sampling) or models ({'source': ..., "
                         "'target': ...}: invert with the first, sample with the second), not both")
    from ..models.denoisers import ModelPair

    prompts, size, batch = prompt_options(spec), data_options(spec).get("size"), get_profile(spec.profile).batch_size
    if one is not None and str(one) == ORACLE:   # the exact Gaussian denoiser of the data's pools: not gated
        size = size or get_profile(spec.profile).image_size
        models = oracle_models(spec.profile, spec.dataset, options={**data_options(spec), "size": size})
        return UserModels(models, None, {"model": {"name": ORACLE, "form": models["eps"].net.form}}, size)
    if one is not None:
        D = _hub_model(str(one), prompts, size)
        fits(D, batch=batch, device=study_device())   # a batch of the profile's inversions in memory, or refused
        _gate_user(spec, D, str(one))
        return UserModels({D.parameterization: D}, D.latent_space, {"model": _describe(D)}, _image_size(D))
    if not isinstance(two, dict) or set(two) != {"source", "target"}:
        raise ValueError(f"models must be a JSON object with exactly the keys source and target, e.g. "
                         f"'{{\"source\": \"models/a\", \"target\": \"models/b\"}}', got {two!r}")
    Ds, Dt = _hub_model(str(two["source"]), prompts, size), _hub_model(str(two["target"]), prompts, size)
    if _image_size(Ds) != _image_size(Dt) or Ds.net.config.in_channels != Dt.net.config.in_channels:
        raise ValueError(f"the source and target models take different inputs ({_image_size(Ds)} px, "
                         f"{Ds.net.config.in_channels} channels vs {_image_size(Dt)} px, {Dt.net.config.in_channels}); "
                         f"two-model translation needs one shape")
    ls_s, ls_t = Ds.latent_space, Dt.latent_space
    if (ls_s is None) != (ls_t is None) or (ls_s is not None and Ds.origin["vae_sha256"] != Dt.origin["vae_sha256"]):
        raise ValueError("the source and target models must diffuse in the same space: both in pixels, or both with "
                         "the same vae/ (identical files)")
    for D in (Ds, Dt):
        fits(D, batch=batch, device=study_device())
    _gate_user(spec, Ds, str(two["source"]), labels=(0,))
    _gate_user(spec, Dt, str(two["target"]), labels=(1,))
    pair = ModelPair(Ds, Dt)
    pair.checkpoint = Ds.checkpoint
    return UserModels({Ds.parameterization: pair}, ls_s, {"source": _describe(Ds), "target": _describe(Dt)},
                      _image_size(Ds))


@functools.lru_cache(maxsize=4)
def _oracle_pair(profile: str, dataset: str, factor, options: str):
    return oracle_pair(dataset_for(profile, dataset, factor, json.loads(options)), device=study_device())


def oracle_models(profile: str, dataset: str, *, factor: int | None = None, options: dict | None = None) -> dict:
    """{"eps": the oracle (models/oracle.py) on the profile's VP schedule, "edm": in EDM coordinates}: one pair of
    Gaussians fitted (once per process) to the training pools of the dataset at the profile's size."""
    pair = _oracle_pair(profile, dataset, factor, json.dumps(options or {}, sort_keys=True, default=str))
    return {"eps": fit_oracle(None, "eps", schedule=get_profile(profile).schedule, pair=pair),
            "edm": fit_oracle(None, "edm", pair=pair)}


def _gate_user(spec, D, name: str, labels=None) -> None:
    """Within a study run: the gate report of a user's model on the study's data (recorded; refused when weak)."""
    from .gate import active_policy, enforce, user_report

    if active_policy() is None:
        return
    p = get_profile(spec.profile)
    opts = data_options(spec)
    opts.setdefault("size", _image_size(D))
    data = dataset_for(spec.profile, spec.dataset, None, options=opts)
    enforce(name, lambda: user_report(D, data, name=name, n=p.gate_samples, steps=p.steps, labels=labels),
            role="your model")


def study_labels(labels, default, given: UserModels | None) -> list[str]:
    """The method labels a study runs: ``labels`` (None: ``default``). With the user's models, a default set keeps
    the labels those models can run; an explicit label that needs another model (an EDM one) raises, naming the
    labels that can run."""
    wanted = list(default if labels is None else labels)
    if given is None:
        return wanted
    base = given.parameterization
    need = {lab: method_specs([lab], eta_hf=0.0, eta_lf=0.0, parameterization=base)[0].parameterization
            for lab in wanted}
    ok = [lab for lab in wanted if need[lab] in given.models]
    if labels is not None and len(ok) < len(wanted):
        bad = [lab for lab in wanted if lab not in ok]
        raise ValueError(f"method(s) {', '.join(bad)} need a model the given one(s) cannot stand for "
                         f"({', '.join(sorted({need[b] for b in bad}))} parameterization); with model / models only "
                         f"labels on the given {base} model run: {', '.join(ok) or 'none of these'}")
    if not ok:
        raise ValueError(f"none of the labels {wanted} runs on the given {base} model")
    return ok
