"""A study's data: the dataset at the profile's image size and SR factor (``dataset_for``), with the study's
``data_options`` checked against the dataset's builder (``data_options``) and the prompts a text-conditioned model
takes from them (``prompt_options``)."""
from __future__ import annotations

import inspect

from ..data import DATASETS, load_dataset, split_dataset
from .profiles import get_profile

__all__ = ["dataset_for", "data_options", "prompt_options"]

_NOT_OPTIONS = ("root", "name")  # given by the dataset string itself


def dataset_for(profile: str, dataset: str, factor: int | None = None, options: dict | None = None, **kw):
    """The dataset at the profile's size and SR factor, unless ``factor``, ``options`` or ``kw`` set them."""
    p = get_profile(profile)
    opts = {**(options or {}), **kw}
    size = opts.pop("size", p.image_size)
    given = opts.pop("factor", None)
    f = factor if factor is not None else (given if given is not None else p.factor)
    return load_dataset(dataset, size=size, factor=f, **opts)


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
    kind, _ = split_dataset(spec.dataset)
    fn = DATASETS.get(kind)
    bad = [k for k in raw if k in _NOT_OPTIONS]
    if bad:
        raise ValueError(f"data_options may not set {', '.join(bad)}: the dataset string names the data "
                         f"(dataset='folder:<path>')")
    if fn is not None:
        sig = inspect.signature(fn).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in sig.values()):
            known = {"task", "size", "factor", *sig}
            unknown = sorted(set(raw) - known)
            if unknown:
                raise ValueError(f"data_options {unknown} are not options of dataset {kind!r}; its options: "
                                 f"{', '.join(sorted(k for k in known if k not in _NOT_OPTIONS))}")
    return dict(raw)
