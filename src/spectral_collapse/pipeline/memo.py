"""The one cache: computed cells stored by a hash of what determines them, never by a name, as netCDF files
``<root>/<hash[:2]>/<hash>.nc`` under a ``flock`` (two processes never compute one cell twice), with the checksum of
``studies.store``; a cell that cannot be read, lacks it or fails it is recomputed with a warning. In a study kernel
started on a Dask cluster (``--cluster``), ``Memo.map`` computes the independent cells of a loop as tasks side by side."""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import warnings
import weakref
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
import xarray as xr

from ..studies.store import (ResultsChecksumError, ResultsFileError, ResultsUnsignedError, read_verified,
                             restore_list_attrs, save_results)

__all__ = ["Memo", "fingerprint", "DEFAULT_ROOT"]

DEFAULT_ROOT = os.environ.get("SPECTRAL_COLLAPSE_CACHE", "data/cache/cells")
_FORMAT = 3  # layout of the cell files themselves (3: the checksum of studies.store, attributes included)
_NOT_CONTENT = ("training", "checkpoint")  # module attributes that name or mode a model, not its numbers


def _update(h, obj: Any) -> None:
    """Feed ``obj`` into hash ``h`` by content (type-tagged, so 1, 1.0, "1" and True differ)."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
    elif isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"tensor:{t.dtype}:{tuple(t.shape)};".encode())
        h.update((t.view(torch.uint8) if t.dtype == torch.bfloat16 else t).numpy().tobytes())
    elif isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        h.update(f"array:{a.dtype}:{a.shape};".encode())
        h.update(a.tobytes())
    elif isinstance(obj, np.generic):
        _update(h, obj.item())
    elif isinstance(obj, Mapping):
        h.update(b"map{")
        for k in sorted(obj, key=str):
            _update(h, str(k))
            _update(h, obj[k])
        h.update(b"}")
    elif isinstance(obj, (list, tuple)):
        h.update(f"seq{len(obj)}[".encode())
        for v in obj:
            _update(h, v)
        h.update(b"]")
    elif isinstance(obj, torch.nn.Module):
        h.update(f"module:{_module_digest(obj)};".encode())
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(f"dataclass:{type(obj).__qualname__};".encode())
        _update(h, {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})
    elif hasattr(obj, "fingerprint_parts"):          # e.g. a LatentSpace: its autoencoder and settings
        h.update(f"object:{type(obj).__qualname__};".encode())
        _update(h, obj.fingerprint_parts())
    else:
        raise TypeError(f"cannot key a cache cell by content on a {type(obj).__qualname__}; pass tensors, arrays, "
                        f"modules, dataclasses or plain values")


_MODULE_DIGESTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _module_digest(m: torch.nn.Module) -> str:
    """Digest of a module's class, scalar settings and state dict, remembered per module while no tensor is
    replaced or written in place (its ``_version``) and no setting changes."""
    settings = {k: v for k, v in vars(m).items() if not k.startswith("_") and k not in _NOT_CONTENT
                and (isinstance(v, (bool, int, float, str, tuple)) or dataclasses.is_dataclass(v))}
    state = m.state_dict(keep_vars=True)
    signature = (repr(sorted(settings.items())), tuple((k, id(t), t._version) for k, t in state.items()))
    known = _MODULE_DIGESTS.get(m)
    if known is not None and known[0] == signature:
        return known[1]
    h = hashlib.sha256()
    h.update(f"{type(m).__module__}.{type(m).__qualname__};".encode())
    _update(h, settings)
    for name, t in sorted(state.items()):
        _update(h, name)
        _update(h, t)
    digest = h.hexdigest()
    _MODULE_DIGESTS[m] = (signature, digest)
    return digest


def fingerprint(obj: Any) -> str:
    """sha256 hex digest of ``obj`` by content (see module docstring)."""
    h = hashlib.sha256()
    _update(h, obj)
    return h.hexdigest()


class Memo:
    """Content-keyed cell store under ``root``; ``refresh=True`` recomputes every cell asked for. ``hits`` and
    ``misses`` count the cells read and computed."""

    def __init__(self, root: str | os.PathLike = DEFAULT_ROOT, *, refresh: bool = False):
        self.root = Path(root)
        self.refresh = refresh
        self.hits = 0
        self.misses = 0
        self._asking = False     # inside ``map``'s look-ahead: a cell not stored is asked for, not computed
        self._fresh: set = set()   # cells computed by ``map``'s tasks: read back, counted as computed

    def map(self, fn: Callable[[Any], Any], items) -> list:
        """``[fn(item) for item in items]``, where ``fn`` asks this cache for cells. Without a cluster exactly that;
        in a study kernel started on one (``cluster.SCHEDULER_ENV``), the cells the calls ask for and that are not
        stored are first computed as tasks side by side on its workers (stored by them in this cache, which must be
        shared), then each call reads them: the same compute functions, so the same numbers as the serial loop."""
        from .cluster import kernel_client

        items = list(items)
        client = kernel_client() if len(items) > 1 else None
        if client is None:
            return [fn(item) for item in items]
        done: dict = {}
        while len(done) < len(items):   # a call's later cells may depend on its earlier ones: asked for in turn
            asked = {}
            for i, item in enumerate(items):
                if i in done:
                    continue
                self._asking = True
                try:
                    done[i] = fn(item)
                except _Asked as ask:
                    asked[ask.path] = (ask.key, ask.compute)
                finally:
                    self._asking = False
            futures = [client.submit(_cell_task, str(self.root.resolve()), self.refresh, key, compute, pure=False,
                                     key=f"cell-{path.stem[:16]}") for path, (key, compute) in asked.items()]
            _wait(client, futures)
            self._fresh |= set(asked)
        return [done[i] for i in range(len(items))]

    def train_rounds(self, make_rounds: Callable[[], list]) -> None:
        """In a study kernel started on a cluster: the lockstep rounds ``make_rounds()`` returns (lists of
        ``train.lockstep.Job``) trained as tasks side by side (``cluster.train_rounds``, a GPU each where the workers
        declare them), so that the study then loads its models. Without a cluster nothing, and ``make_rounds`` is
        not called: the study trains each model as it loads it."""
        from ..studies.models import CHECKPOINT_ROOT
        from .cluster import kernel_client, train_rounds

        client = kernel_client()
        rounds = [list(r) for r in make_rounds() if r] if client is not None else []
        if rounds:
            train_rounds(client, rounds, root=CHECKPOINT_ROOT)

    def path(self, key: Mapping) -> Path:
        h = fingerprint({"format": _FORMAT, **key})
        return self.root / h[:2] / f"{h}.nc"

    def cell(self, key: Mapping, compute: Callable[[], xr.Dataset]) -> xr.Dataset:
        """The stored cell of ``key``, else ``compute()`` stored under it (once, across processes: a process asking
        for a cell another one is computing waits on its lock, then reads it)."""
        path = self.path(key)
        if path in self._fresh:   # computed by one of ``map``'s tasks: counted as computed here
            self._fresh.discard(path)
            cell = self._read(path, count=False)
            if cell is not None:
                self.misses += 1
                return cell
        with _cell_lock(path):
            cell = None if self.refresh else self._read(path)
            if cell is not None:
                return cell
            if self._asking:
                raise _Asked(path, key, compute)
            cell = compute()
            if not isinstance(cell, xr.Dataset):
                raise TypeError(f"a cell's compute function must return an xr.Dataset, got {type(cell).__name__}")
            save_results(cell, path, add_provenance=False, compress=False)   # with its checksum (studies.store)
        self.misses += 1
        return cell

    def _read(self, path: Path, count: bool = True) -> xr.Dataset | None:
        if not path.exists():
            return None
        try:
            cell = restore_list_attrs(read_verified(path))
        except ResultsUnsignedError:
            warnings.warn(f"cached cell {path} carries no checksum; recomputing it", RuntimeWarning, stacklevel=3)
            return None
        except ResultsChecksumError:
            warnings.warn(f"cached cell {path} does not match its checksum (damaged on disk); recomputing it",
                          RuntimeWarning, stacklevel=3)
            return None
        except ResultsFileError as err:  # truncated or corrupt: recompute over it
            warnings.warn(f"cached cell {path} cannot be read ({type(err.__cause__).__name__}: {err.__cause__}); "
                          f"recomputing it", RuntimeWarning, stacklevel=3)
            return None
        self.hits += count
        return cell


def _wait(client, futures) -> None:
    """Wait for the cells' tasks, counting them on a progress bar (``studies.cells.tasks_bar``); the first task
    that failed raises its error. (``client`` is not dask's default client: its loop is named.)"""
    from distributed import as_completed

    from ..studies.cells import tasks_bar

    with tasks_bar(len(futures)) as bar:
        for done in as_completed(futures, loop=client.loop):
            done.result()
            if bar is not None:
                bar.update(1)


class _Asked(BaseException):
    """A cell ``Memo.map`` looks ahead to: not stored yet (a BaseException, so that no ``except Exception`` in a
    study swallows it)."""

    def __init__(self, path: Path, key, compute):
        super().__init__(str(path))
        self.path, self.key, self.compute = path, key, compute


def _cell_task(root: str, refresh: bool, key, compute) -> bool:
    """One cell computed and stored on a Dask worker, with the kernels' torch threads."""
    from .cluster import on_worker
    from .parallel import torch_threads

    torch_threads()
    on_worker()
    Memo(root, refresh=refresh).cell(key, compute)
    return True


@contextlib.contextmanager
def _cell_lock(path: Path):
    """An exclusive lock on ``<cell>.lock`` while one process computes the cell (POSIX ``flock``)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)   # released when the file is closed, whatever the block raised
        yield
