"""A study's settings as one frozen value, and the one place where papermill's parameters become typed values."""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Mapping

__all__ = ["CACHE_VERSION", "Param", "StudySpec", "make_spec", "freeze", "thaw"]

# Bumped whenever a computation changes its numbers for the same inputs: every cached cell and results file is stale.
CACHE_VERSION = 2


@dataclass(frozen=True)
class Param:
    """One knob of a study: its kind, default, whether None is allowed, and a one-line doc."""

    kind: str                      # str | int | float | bool | list[str] | list[int] | list[float] | json
    default: Any = None
    doc: str = ""
    optional: bool = True          # None accepted (meaning: the study's / profile's own default)
    choices: tuple = ()            # allowed values of a str (or of each item of a list[str])
    minimum: float | None = None   # inclusive lower bound of an int / float (or of each list item)
    maximum: float | None = None   # inclusive upper bound of an int / float (or of each list item)

    def parse(self, name: str, value: Any) -> Any:
        """``value`` (as papermill or a caller gives it) as this parameter's type; raises naming ``name``."""
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null")):
            if self.optional:
                return None
            raise TypeError(f"{name} must be given (a {self.kind}), got {value!r}")
        if self.kind == "json":
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError as err:
                    raise TypeError(f"{name}={value!r} is not valid JSON, e.g. '{{\"task\": \"sr\"}}'") from err
            return freeze(value)
        if self.kind.startswith("list["):
            item = self.kind[5:-1]
            items = _as_list(name, value)
            if not items:
                raise ValueError(f"{name} is an empty list; give at least one value or None for the default")
            values = tuple(self._check(name, _scalar(name, v, item)) for v in items)
            twice = sorted({str(v) for v in values if values.count(v) > 1})
            if twice:   # each value is a coordinate of the results: a repeated one cannot be told apart
                raise ValueError(f"{name} lists {', '.join(twice)} more than once; give each value once")
            return values
        return self._check(name, _scalar(name, value, self.kind))

    def _check(self, name: str, v: Any) -> Any:
        if self.choices and v not in self.choices:
            raise ValueError(f"{name}={v!r} is not valid; valid values: {', '.join(map(str, self.choices))}")
        number = isinstance(v, (int, float)) and not isinstance(v, bool)
        if number and self.minimum is not None and v < self.minimum:
            raise ValueError(f"{name}={v!r} must be >= {self.minimum:g}")
        if number and self.maximum is not None and v > self.maximum:
            low = "" if self.minimum is None else f"from {self.minimum:.15g} "
            raise ValueError(f"{name}={v!r} is out of range; give a value {low}up to {self.maximum:.15g}")
        return v


def _as_list(name: str, value: Any) -> list:
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("["):
            try:
                value = json.loads(s)
            except json.JSONDecodeError as err:
                raise TypeError(f"{name}={value!r} is not a valid list; write it as '[1, 2]' or '1,2'") from err
        else:
            value = [v.strip() for v in s.split(",") if v.strip()]
    return list(value) if isinstance(value, (list, tuple)) else [value]


_HINTS = {"int": "a whole number such as 3", "float": "a number such as 1e-6", "bool": "True or False", "str": "a string"}


def _scalar(name: str, v: Any, kind: str) -> Any:
    """One value as ``kind``: whole numbers only for int (no 1.7, no True), finite numbers for float."""
    if kind == "bool" and isinstance(v, str) and v.strip().lower() in ("true", "false"):
        return v.strip().lower() == "true"
    if kind in ("int", "float") and isinstance(v, str):   # a bool, given or parsed, is refused below
        try:
            v = json.loads(v.strip())
        except json.JSONDecodeError:
            raise TypeError(f"{name} must be {_HINTS[kind]}, got {v!r}") from None
    if kind == "int" and isinstance(v, float) and v.is_integer():
        v = int(v)
    number = isinstance(v, (int, float)) and not isinstance(v, bool)
    ok = {"str": v is not None and not isinstance(v, (bool, list, tuple, dict)), "bool": isinstance(v, bool),
          "int": number and isinstance(v, int), "float": number and math.isfinite(v)}[kind]
    if not ok:
        raise TypeError(f"{name} must be {_HINTS[kind]}, got {v!r}")
    return str(v) if kind == "str" else float(v) if kind == "float" else v


def freeze(value: Any) -> Any:
    """A hashable copy: dicts -> sorted tuples of pairs tagged as dicts, lists -> tuples."""
    if isinstance(value, dict):
        return ("__dict__", tuple(sorted((str(k), freeze(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Inverse of ``freeze`` for JSON: dicts back as dicts, tuples as lists."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "__dict__":
        return {k: thaw(v) for k, v in value[1]}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class StudySpec:
    """Everything that determines a study's results: name, dataset, profile, its knobs and its resolved inputs."""

    study: str
    dataset: str
    profile: str
    params: tuple = ()                       # ((name, value), ...) sorted by name, typed by the study's Params
    inputs: tuple = field(default=())        # ((name, value), ...) resolved by the orchestrator from other studies

    def __getitem__(self, name: str) -> Any:
        for k, v in self.params:
            if k == name:
                return thaw(v)
        raise KeyError(f"{self.study} has no parameter {name!r}; it has: {', '.join(k for k, _ in self.params)}")

    def get(self, name: str, default: Any = None) -> Any:
        """A parameter's value, ``default`` when it is None or absent."""
        v = next((thaw(v) for k, v in self.params if k == name), None)
        return default if v is None else v

    def input(self, name: str, default: Any = None) -> Any:
        """A resolved input (e.g. "ovg"), ``default`` when absent."""
        return next((thaw(v) for k, v in self.inputs if k == name), default)

    def with_inputs(self, **inputs) -> "StudySpec":
        merged = {**dict(self.inputs), **{k: freeze(v) for k, v in inputs.items()}}
        return replace(self, inputs=tuple(sorted(merged.items())))

    def to_dict(self) -> dict:
        return {"study": self.study, "dataset": self.dataset, "profile": self.profile,
                "params": {k: thaw(v) for k, v in self.params}, "inputs": {k: thaw(v) for k, v in self.inputs}}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, default=str)

    def key(self) -> str:
        """sha256 of the spec, its profile's resolved values and the cache version (a profile edited: stale)."""
        blob = json.dumps({"spec": self.to_dict(), "cache_version": CACHE_VERSION,
                           "profile_values": profile_values(self.profile)}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


def profile_values(name: str) -> dict:
    """The resolved values of profile ``name`` as JSON-able data, with the model and training configs it derives for
    every parameterization, backbone and space: changing how a profile derives them makes its results stale."""
    from .profiles import get_profile

    p = get_profile(name)
    derived = {}
    for dataset in ("ihc-sr", "ihc-edges", "bbbc021", "edges2shoes"):
        for par, backbone, space in (("eps", "unet", None), ("x0", "unet", None), ("v", "unet", None),
                                     ("edm", "unet", None), ("eps", "dit", None), ("eps", "unet", "latent")):
            try:
                spec, cfg = (p.model_spec(par, dataset, backbone=backbone, space=space),
                             p.train_config(par, dataset, backbone=backbone, space=space))
            except (ValueError, KeyError):   # an axis the profile does not offer
                continue
            derived[f"{dataset}/{par}/{backbone}/{space or 'default'}"] = {"model": spec.to_dict(),
                                                                           "train": asdict(cfg)}
    return json.loads(json.dumps({**asdict(p), "derived": derived}, sort_keys=True, default=str))


def make_spec(study: str, params: Mapping[str, Param], *, dataset: Any, profile: Any, **raw) -> StudySpec:
    """A StudySpec from raw values (papermill's or a caller's), each parsed by its Param; unknown names raise."""
    from .profiles import get_profile

    unknown = sorted(set(raw) - set(params))
    if unknown:
        raise TypeError(f"{study} has no parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                        f"its parameters: dataset, profile, {', '.join(params)}")
    dataset = Param("str", optional=False).parse("dataset", dataset)
    profile = Param("str", optional=False).parse("profile", profile)
    get_profile(profile)
    typed = {name: p.parse(name, raw.get(name, p.default)) for name, p in params.items()}
    return StudySpec(study, dataset, profile, tuple(sorted(typed.items())))
