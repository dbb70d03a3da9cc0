"""The one cache: cells stored by a hash of what determines them as ``<root>/<hash[:2]>/<hash>.nc`` under a ``flock``
(two processes never compute one cell twice), with ``framework.store``'s checksum (a cell failing it is recomputed
with a warning); on a Dask cluster (``--cluster``) ``Memo.map`` computes a loop's independent cells as tasks side by
side."""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import threading
import warnings
import weakref
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
import xarray as xr

from ..framework.store import (ResultsChecksumError, ResultsFileError, ResultsUnsignedError, read_verified,
                             restore_list_attrs, save_results)

__all__ = ["Memo", "fingerprint", "DEFAULT_ROOT", "CellWarning", "WARNINGS_ATTR", "own_warnings"]

DEFAULT_ROOT = os.environ.get("SPECTRAL_COLLAPSE_CACHE", "data/cache/cells")
_FORMAT = 3  # layout of the cell files themselves (3: the checksum of framework.store, attributes included)
_NOT_CONTENT = ("training", "checkpoint")  # module attributes that name or mode a model, not its numbers
# the suite's warnings a cell's computation raised, raised again as it is read: a study's run_warnings are the same
# wherever its cells were computed
WARNINGS_ATTR = "cell_warnings"


class CellWarning(RuntimeWarning):
    """A warning a cached cell's computation raised, raised again as the cell is read."""


_PACKAGE = str(Path(__file__).resolve().parents[1])


def own_warnings(caught) -> list[str]:
    """The distinct messages of the suite's own warnings among ``caught`` (not libraries'), in the order first seen."""
    own = [w for w in caught if str(Path(w.filename).resolve()).startswith(_PACKAGE)
           or "spectral_collapse" in str(getattr(w.message, "__module__", ""))]
    return list(dict.fromkeys(" ".join(str(w.message).split()) for w in own))


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
    """Digest of a module's class, scalar settings and state dict, remembered while neither changes."""
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
    """Content-keyed cell store under ``root`` (``refresh``: recompute); ``hits`` and ``misses`` count reads, runs."""

    def __init__(self, root: str | os.PathLike = DEFAULT_ROOT, *, refresh: bool = False):
        self.root = Path(root)
        self.refresh = refresh
        self.hits = 0
        self.misses = 0
        self._asking = False     # inside ``map``'s look-ahead: a cell not stored is asked for, not computed
        self._fresh: set = set()   # cells computed by ``map``'s tasks: read back, counted as computed
        self._shipped: dict = {}   # reference -> (object, its task's future) of ``map``'s last call

    def __getstate__(self) -> dict:   # a compute function closing over its context's cache pickles it without these
        return {**vars(self), "_fresh": set(), "_shipped": {}}

    def map(self, fn: Callable[[Any], Any], items) -> list:
        """``[fn(item) for item in items]``, on a cluster (``cluster.SCHEDULER_ENV``) their cells computed first."""
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
                    asked[ask.path] = ask.compute
                finally:
                    self._asking = False
            shipped: dict = {}
            futures = []
            for path, compute in asked.items():
                payload, refs = _pack(compute)
                objects = {ref: self._object(client, ref, obj, shipped) for ref, obj in refs.items()}
                futures.append(client.submit(_cell_task, str(self.root.resolve()), self.refresh, str(path), payload,
                                             objects, pure=False, key=f"cell-{path.stem[:16]}"))
            self._shipped = shipped   # what the next call reuses; what it does not is released
            _wait(client, futures)
            self._fresh |= set(asked)
        return [done[i] for i in range(len(items))]

    def _object(self, client, ref: str, obj, shipped: dict):
        """The future of a task holding ``obj`` on the cluster, submitted once while calls keep using it."""
        if ref not in shipped:
            known = self._shipped.get(ref)
            if known is None:   # as a pickle: dask's own serialisation of modules drops a diffusers model's config
                import cloudpickle

                known = (obj, client.submit(_held, cloudpickle.dumps(obj, protocol=5), pure=False,
                                            key=f"object-{ref[:32]}"))
            shipped[ref] = known
        return shipped[ref][1]

    def train_rounds(self, make_rounds: Callable[[], list]) -> None:
        """On a cluster, train the lockstep rounds ``make_rounds()`` returns side by side; without one nothing (the
        study trains each model as it loads it)."""
        from ..framework.model_set import CHECKPOINT_ROOT
        from .cluster import kernel_client, train_rounds

        client = kernel_client()
        rounds = [list(r) for r in make_rounds() if r] if client is not None else []
        if rounds:
            train_rounds(client, rounds, root=CHECKPOINT_ROOT)

    def path(self, key: Mapping) -> Path:
        h = fingerprint({"format": _FORMAT, **key})
        return self.root / h[:2] / f"{h}.nc"

    def cell(self, key: Mapping, compute: Callable[[], xr.Dataset]) -> xr.Dataset:
        """The stored cell of ``key``, else ``compute()`` stored under it (once across processes, under a lock)."""
        path = self.path(key)
        if path in self._fresh:   # computed by one of ``map``'s tasks: counted as computed here
            self._fresh.discard(path)
            cell = self._read(path, count=False)
            if cell is not None:
                self.misses += 1
                return cell
        if self._asking:
            with _cell_lock(path):
                cell = None if self.refresh else self._read(path)
            if cell is not None:
                return cell
            raise _Asked(path, compute)
        return self.store(path, compute)

    def store(self, path: Path, compute: Callable[[], xr.Dataset]) -> xr.Dataset:
        """The cell stored at ``path`` (``self.path`` of its key), else ``compute()`` stored there (``cell``)."""
        with _cell_lock(path):
            cell = None if self.refresh else self._read(path)
            if cell is not None:
                return cell
            caught: list = []
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    cell = compute()
            finally:   # the caller sees them as if nothing had caught them, also when compute raised
                for w in caught:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
            if not isinstance(cell, xr.Dataset):
                raise TypeError(f"a cell's compute function must return an xr.Dataset, got {type(cell).__name__}")
            kept = cell.assign_attrs({WARNINGS_ATTR: json.dumps(own_warnings(caught))})
            save_results(kept, path, add_provenance=False, compress=False)   # with its checksum (framework.store)
        self.misses += 1
        return cell

    def _read(self, path: Path, count: bool = True) -> xr.Dataset | None:
        if not path.exists():
            return None
        try:
            cell = restore_list_attrs(read_verified(path))
        except ResultsFileError as err:  # unsigned, damaged, truncated or corrupt: recompute over it
            why = ("carries no checksum" if isinstance(err, ResultsUnsignedError) else
                   "does not match its checksum (damaged on disk)" if isinstance(err, ResultsChecksumError) else
                   f"cannot be read ({type(err.__cause__).__name__}: {err.__cause__})")
            warnings.warn(f"cached cell {path} {why}; recomputing it", RuntimeWarning, stacklevel=3)
            return None
        self.hits += count
        for message in json.loads(cell.attrs.pop(WARNINGS_ATTR, "[]")):   # as its computation warned
            warnings.warn(message, CellWarning, stacklevel=3)
        return cell


def _wait(client, futures) -> None:
    """Wait for the cells' tasks on a progress bar (``framework.cells.tasks_bar``); the first failed one raises."""
    from distributed import as_completed

    from ..framework.cells import tasks_bar

    with tasks_bar(len(futures)) as bar:
        for done in as_completed(futures, loop=client.loop):
            done.result()
            if bar is not None:
                bar.update(1)


class _Asked(BaseException):
    """A cell ``Memo.map`` looks ahead to, not stored yet (a BaseException: no ``except Exception`` swallows it)."""

    def __init__(self, path: Path, compute):
        super().__init__(str(path))
        self.path, self.compute = path, compute


# A cell's compute function travels as a small pickle naming by reference the models and large arrays it closes over,
# each a task of its own (``Memo._object``) held once by the scheduler.
SHIPPED_BYTES = 1 << 16   # a tensor or array at least this large travels by reference (every module does)


def _ref(obj) -> str | None:
    """The reference under which ``obj`` travels apart from the cells (None: pickled inline)."""
    if isinstance(obj, torch.nn.Module):
        extra = "".join("t" if m.training else "e" for m in obj.modules())
    elif isinstance(obj, torch.Tensor) and obj.nelement() * obj.element_size() >= SHIPPED_BYTES:
        extra = f"{obj.device}:{obj.requires_grad}"
    elif isinstance(obj, np.ndarray) and obj.nbytes >= SHIPPED_BYTES:
        extra = ""
    else:
        return None
    return fingerprint([type(obj).__qualname__, id(obj), extra, obj])


def _pack(compute) -> tuple[bytes, dict]:
    """(``compute`` cloudpickled with what ``_ref`` names replaced by references, {reference: object})."""
    import io

    import cloudpickle

    refs: dict = {}
    seen: dict = {}

    class Packer(cloudpickle.CloudPickler):
        def persistent_id(self, obj):
            if not isinstance(obj, (torch.nn.Module, torch.Tensor, np.ndarray)):
                return None
            if id(obj) not in seen:
                seen[id(obj)] = _ref(obj)
            ref = seen[id(obj)]
            if ref is not None:
                refs[ref] = obj
            return ref

    buf = io.BytesIO()
    Packer(buf, protocol=5).dump(compute)
    return buf.getvalue(), refs


def _unpack(payload: bytes, objects: dict):
    """``_pack``'s pickle loaded with its references resolved to ``objects`` (what this command's own kernels sent)."""
    import io
    import pickle

    class Unpacker(pickle.Unpickler):
        def persistent_load(self, ref):
            return objects[ref]

    return Unpacker(io.BytesIO(payload)).load()


def _held(pickled: bytes) -> bytes:
    """A task whose result is an object's pickle: the workers keep it for the cells that refer to it."""
    return pickled


_LOADED: dict = {}   # in a worker: reference -> the object loaded from its pickle, the latest LOADED_KEEP
LOADED_KEEP = 16
_LOADING = threading.Lock()


def _load(ref: str, pickled: bytes):
    """The object ``pickled`` holds, loaded once per worker process while its cells keep coming."""
    with _LOADING:
        obj = _LOADED.pop(ref, None)
        if obj is None:
            obj = _unpack(pickled, {})
        _LOADED[ref] = obj   # the latest last
        while len(_LOADED) > LOADED_KEEP:
            del _LOADED[next(iter(_LOADED))]
        return obj


def _cell_task(root: str, refresh: bool, path: str, payload: bytes, objects: dict) -> bool:
    """One cell computed and stored at ``path`` on a Dask worker, with the kernels' torch threads."""
    from .cluster import on_worker
    from .parallel import torch_threads

    torch_threads()
    on_worker()
    compute = _unpack(payload, {ref: _load(ref, pickled) for ref, pickled in objects.items()})
    Memo(root, refresh=refresh).store(Path(path), compute)
    return True


@contextlib.contextmanager
def _cell_lock(path: Path):
    """An exclusive lock on ``<cell>.lock`` while one process computes the cell (POSIX ``flock``)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)   # released when the file is closed, whatever the block raised
        yield
