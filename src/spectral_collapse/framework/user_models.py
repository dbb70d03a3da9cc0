"""The data of a study and the models a user brings to it (a diffusers folder or hub id, gated like the trained
ones), and the exact Gaussian denoiser of the data's two domains."""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from ..digest import arrays_sha256, tree_sha256
from ..models.hub_folder import FLUX, fits, text_network
from ..models.oracle import ORACLE, fit_oracle, oracle_pair
from ..models.vae import LatentSpace
from .method_labels import method_specs
from .model_set import data_options, dataset_for, prompt_options, study_device
from .profiles import get_profile

__all__ = ["UserModels", "user_models", "spec_data", "study_labels", "oracle_models"]


def spec_data(spec, factor: int | None = None):
    """The data of a study: ``spec.dataset`` with its ``data_options``, at the image size of the profile (or the user's
    model) and SR factor ``factor`` (None: the options' or the profile's)."""
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
    """``from_diffusers(path, **prompts)`` (a Flux folder at ``size``), loaded once per process per folder content."""
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


_PAIRS: dict = {}   # (pools' content, device) -> GaussianPair: the last ``_PAIRS_KEPT`` fits of this process
_PAIRS_KEPT = 4


def _oracle_pair(profile: str, dataset: str, factor, options: str):
    """The oracle's pair for the data as it is now: fitted once per content of the two pools."""
    data = dataset_for(profile, dataset, factor, json.loads(options))
    key = (arrays_sha256(data.source, data.target), str(study_device()))
    if key not in _PAIRS:
        while len(_PAIRS) >= _PAIRS_KEPT:
            _PAIRS.pop(next(iter(_PAIRS)))
        _PAIRS[key] = oracle_pair(data, device=study_device())
    return _PAIRS[key]


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
    """The method labels a study runs: ``labels`` (None: ``default``, kept to those the user's models can run; an
    explicit label needing another model raises)."""
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
