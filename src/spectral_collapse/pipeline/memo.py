"""The one cache: computed cells stored by a hash of what determines them, never by a name, as netCDF files
``<root>/<hash[:2]>/<hash>.nc`` under a ``flock`` (two processes never compute one cell twice), with the checksum of
``studies.store``; a cell that cannot be read, lacks it or fails it is recomputed with a warning."""
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

    def path(self, key: Mapping) -> Path:
        h = fingerprint({"format": _FORMAT, **key})
        return self.root / h[:2] / f"{h}.nc"

    def cell(self, key: Mapping, compute: Callable[[], xr.Dataset]) -> xr.Dataset:
        """The stored cell of ``key``, else ``compute()`` stored under it (once, across processes: a process asking
        for a cell another one is computing waits on its lock, then reads it)."""
        path = self.path(key)
        with _cell_lock(path):
            cell = None if self.refresh else self._read(path)
            if cell is not None:
                return cell
            cell = compute()
            if not isinstance(cell, xr.Dataset):
                raise TypeError(f"a cell's compute function must return an xr.Dataset, got {type(cell).__name__}")
            save_results(cell, path, add_provenance=False)   # with its checksum (studies.store)
        self.misses += 1
        return cell

    def _read(self, path: Path) -> xr.Dataset | None:
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
        self.hits += 1
        return cell


@contextlib.contextmanager
def _cell_lock(path: Path):
    """An exclusive lock on ``<cell>.lock`` while one process computes the cell (POSIX ``flock``)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)   # released when the file is closed, whatever the block raised
        yield
