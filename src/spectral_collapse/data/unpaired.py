"""Unpaired two-domain data (paper Sec. 3 and 6): a source pool (label 0), a target pool (label 1), a paired test split.

Training never sees pairs; the paired test split exists only for the reference metrics (PSNR / SSIM / LPIPS). Datasets
are built by name (``register_dataset``, ``load_dataset``) and declare their ``Task``; code downstream reads
``data.task`` and never branches on a dataset's name.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

__all__ = ["check_sr_factor", "Task", "TASK_KINDS", "UnpairedDomains", "dihedral", "draw_batch", "DATASETS",
           "register_dataset", "load_dataset", "split_dataset", "check_dataset", "dataset_key"]

TASK_KINDS = ("sr", "edges", "generic")


def check_sr_factor(factor, what: str = "factor") -> int:
    """The SR factor as an int; anything but a whole number >= 2 raises."""
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 2:
        raise ValueError(f"{what} must be a whole number >= 2 (the SR decimation; 1 would leave the input "
                         f"unchanged), got {factor!r}; e.g. factor=4")
    return int(factor)


@dataclass(frozen=True)
class Task:
    """What a dataset's translation is: ``kind`` in TASK_KINDS; ``factor`` the SR factor (int >= 2, only for "sr")."""

    kind: str = "generic"
    factor: int | None = None

    def __post_init__(self):
        if not isinstance(self.kind, str) or self.kind not in TASK_KINDS:
            raise ValueError(f"unknown task kind {self.kind!r}; valid kinds: {', '.join(TASK_KINDS)}")
        if self.kind == "sr":
            f = self.factor
            if isinstance(f, bool) or not isinstance(f, (int, np.integer)) or f < 2:
                raise ValueError(f"task 'sr' needs a whole-number factor >= 2, got factor={f!r} "
                                 f"(e.g. Task('sr', 4)); valid kinds: {', '.join(TASK_KINDS)}")
            object.__setattr__(self, "factor", int(f))
        elif self.factor is not None:
            raise ValueError(f"task {self.kind!r} takes no factor, got factor={self.factor!r}; only 'sr' has one "
                             f"(valid kinds: {', '.join(TASK_KINDS)})")

    def describe(self) -> dict:
        """JSON-able {"kind", "factor"}; ``Task.parse`` turns it back into the same Task."""
        return {"kind": self.kind, "factor": self.factor}

    def __str__(self) -> str:
        return f"sr x{self.factor}" if self.kind == "sr" else self.kind

    @classmethod
    def parse(cls, value: Any = None, *, factor: int | None = None) -> "Task":
        """A Task from a Task, None (generic), a kind string, a dict {"kind" or "task", "factor"} or its JSON text."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str) and value.strip().startswith("{"):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as err:
                raise ValueError(f"task {value!r} is not valid JSON ({err}); pass e.g. "
                                 '{"kind": "sr", "factor": 4} or one of ' + ", ".join(TASK_KINDS)) from None
        if value is None:
            return cls()
        if isinstance(value, str):
            value = {"kind": value}
        if isinstance(value, dict):
            unknown = sorted(set(value) - {"kind", "task", "factor"})
            if unknown:
                raise ValueError(f"task dict {value!r} has unknown key(s) {unknown}; use 'kind' (or 'task') and "
                                 f"'factor'")
            if "kind" in value and "task" in value and value["kind"] != value["task"]:
                raise ValueError(f"task dict {value!r} names two kinds; give one of 'kind' or 'task'")
            kind = value.get("kind", value.get("task", "generic"))
            kind = kind.strip().lower() if isinstance(kind, str) else kind
            return cls(kind, value.get("factor", factor if kind == "sr" else None))
        raise ValueError(f"cannot read a task from {value!r} ({type(value).__name__}); pass a Task, a kind "
                         f"({', '.join(TASK_KINDS)}) or a dict like {{'kind': 'sr', 'factor': 4}}")


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """Element k in 0..7 of the dihedral group on the last two axes: rot90 by k % 4, then a flip if k >= 4."""
    y = torch.rot90(x, k % 4, dims=(-2, -1))
    return torch.flip(y, dims=(-1,)) if k >= 4 else y


@dataclass(frozen=True, eq=False)
class UnpairedDomains:
    """Source / target pools and a paired test split, float32 (N, C, H, W) in [-1, 1]; the tensors are read-only."""

    name: str
    size: int
    source: torch.Tensor  # (N0, C, H, W) source-domain crops, label 0
    target: torch.Tensor  # (N1, C, H, W) target-domain crops, label 1
    test_source: torch.Tensor  # (M, C, H, W) degraded test inputs
    test_target: torch.Tensor  # (M, C, H, W) their ground truth, same order
    meta: dict = field(default_factory=dict)  # JSON-able: regions, factor, counts, licence / credit
    # not in ``meta`` (name + meta, the data identity in every checkpoint's hash): the task does not change what is
    # trained, only the two pools do
    task: Task = Task()
    paired: bool = True   # False: the test split has no ground truth (test_target NaN, so PSNR and S_LF are NaN)
    origin: dict = field(default_factory=dict)  # JSON-able: where the data was read from (not part of its identity)

    def __post_init__(self):
        object.__setattr__(self, "task", Task.parse(self.task))
        if self.task.kind == "sr" and self.size % self.task.factor:
            raise ValueError(f"task {self.task} does not fit size {self.size}: the SR factor must divide the image "
                             f"size; use a factor that divides {self.size}")
        for key in ("source", "target", "test_source", "test_target"):
            t = getattr(self, key)
            if not isinstance(t, torch.Tensor) or t.ndim != 4 or t.dtype != torch.float32:
                raise ValueError(f"{key} must be a float32 tensor (N, C, H, W), got "
                                 f"{type(t).__name__} {getattr(t, 'dtype', '')} {tuple(getattr(t, 'shape', ()))}")
            if t.shape[-2:] != (self.size, self.size):
                raise ValueError(f"{key} has spatial size {tuple(t.shape[-2:])}, expected ({self.size}, {self.size}); "
                                 f"crop or resize the images to {self.size} x {self.size} (data.folder.fit_square)")
            if len(t) == 0:
                raise ValueError(f"{key} is empty; use a smaller size or stride")
        chans = {key: getattr(self, key).shape[1] for key in ("source", "target", "test_source", "test_target")}
        if len(set(chans.values())) > 1:
            raise ValueError(f"all four sets must have the same number of channels, got {chans}; convert the images "
                             f"to one mode (e.g. RGB: repeat a grey channel three times)")
        if self.test_source.shape != self.test_target.shape:
            raise ValueError(f"test_source {tuple(self.test_source.shape)} and test_target "
                             f"{tuple(self.test_target.shape)} must be paired (same shape)")
        json.dumps(self.meta)  # raises TypeError if meta is not JSON-able
        json.dumps(self.origin)
        object.__setattr__(self, "paired", bool(self.paired))

    @property
    def channels(self) -> int:
        """Number of image channels."""
        return self.target.shape[1]

    def train_batch(self, batch_size: int, generator: torch.Generator | None = None,
                    augment: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Random crops, half source (label 0), half target (label 1), in random dihedral views when ``augment``;
        deterministic for a seeded generator."""
        x, labels = draw_batch(self.source[None], self.target[None], batch_size, generator)  # x: a copy
        if augment:
            ks = torch.randint(8, (batch_size,), generator=generator)
            for k in ks.unique().tolist():
                sel = ks == k
                x[sel] = dihedral(x[sel], k)
        return x, labels


def draw_batch(src: torch.Tensor, tgt: torch.Tensor, batch_size: int, gen: torch.Generator | None):
    """A training batch (images, labels) out of pools of views (V, N, C, H, W), on the generator's device."""
    if batch_size < 2:
        raise ValueError(f"batch_size must be >= 2 to hold both domains, got {batch_size}")
    dev = src.device if gen is None else gen.device
    n0 = batch_size // 2
    n1 = batch_size - n0
    i0 = torch.randint(src.shape[1], (n0,), generator=gen, device=dev)
    i1 = torch.randint(tgt.shape[1], (n1,), generator=gen, device=dev)
    ks = (torch.randint(src.shape[0], (batch_size,), generator=gen, device=dev) if src.shape[0] > 1
          else torch.zeros(batch_size, dtype=torch.long, device=dev))
    x = torch.cat([src[ks[:n0], i0], tgt[ks[n0:], i1]])
    labels = torch.cat([torch.zeros(n0, dtype=torch.long, device=dev), torch.ones(n1, dtype=torch.long, device=dev)])
    return x, labels


DATASETS: dict[str, Callable[..., UnpairedDomains]] = {}
_SAFE = re.compile(r"[^A-Za-z0-9_.+]+")


def split_dataset(name: str) -> tuple[str, str | None]:
    """("folder", "/my/data") for "folder:/my/data" (a builder name, a colon, its ``root``); (name, None) otherwise."""
    if isinstance(name, str) and ":" in name:
        kind, arg = name.split(":", 1)
        if kind in DATASETS:
            if not arg.strip():
                raise ValueError(f"dataset {name!r} names no folder; write {kind}:<path>, e.g. {kind}:data/mine")
            return kind, arg.strip()
    return name, None


def check_dataset(name: str) -> None:
    """Raise ValueError unless ``name`` is a registered dataset or "<builder>:<path>" (e.g. "folder:/my/data")."""
    kind, _ = split_dataset(name)
    if kind not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(sorted(DATASETS))}, or folder:<path> "
                         f"for your own folders")


def dataset_key(name: str, *, path_hash: bool = True) -> str:
    """The file-name-safe form of a dataset string: the name, or "folder-data-<path hash>" for "folder:/my/data" (the
    first 8 hex of the sha256 of the resolved path; ``path_hash=False``: "folder-data")."""
    kind, arg = split_dataset(name)
    if arg is None:
        return name
    path = Path(arg).expanduser().resolve()
    base = _SAFE.sub("_", path.name).strip("_.") or "root"
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    return f"{kind}-{base}-{digest}" if path_hash else f"{kind}-{base}"


def register_dataset(name: str, fn: Callable[..., UnpairedDomains], *, overwrite: bool = False) -> None:
    """Register ``fn(*, size, factor, **kw) -> UnpairedDomains`` under ``name`` for ``load_dataset``."""
    if name in DATASETS and not overwrite and DATASETS[name] is not fn:
        raise ValueError(f"dataset {name!r} is already registered; pass overwrite=True to replace it")
    DATASETS[name] = fn


def load_dataset(name: str, *, size: int = 32, factor: int = 4, task: Any = None, **kw) -> UnpairedDomains:
    """Build the registered dataset ``name`` (or "<builder>:<path>"); ``task`` overrides the builder's task."""
    check_dataset(name)
    kind, root = split_dataset(name)
    if root is not None:
        if "root" in kw:
            raise ValueError(f"dataset {name!r} already names its folder; do not pass root= as well")
        kw["root"] = root
    want = None if task is None else Task.parse(task, factor=factor)  # bad task forms fail before any loading
    data = DATASETS[kind](size=size, factor=factor, **kw)
    if want is None or want == data.task:
        return data
    return dataclasses.replace(data, task=want)
