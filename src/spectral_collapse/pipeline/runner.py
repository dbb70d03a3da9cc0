"""Compute or load one study's results: a stored file is reused under the same key and checkpoint hashes, else the
study runs with the cell cache (``pipeline.memo``) and is stored with its checksum; a damaged file is computed again
with a note, and results from folder images that changed while read are not stored."""
from __future__ import annotations

import contextlib
import json
import os
import time
import warnings
from pathlib import Path

import xarray as xr

from ..data import check_dataset, dataset_key, split_dataset
from ..data.folder_checks import FolderChangedError, changed_since_decoded, reading_for_study
from ..framework.cells import StudyContext, running
from ..framework.content import content_inputs
from ..framework.model_set import data_options as data_options_of
from ..framework.model_set import dataset_for
from ..studies.registry import get_study, missing_variables, study_spec
from ..framework.spec import CACHE_VERSION, StudySpec, profile_values
from ..framework.store import (CHECKSUM, ResultsChecksumError, ResultsUnsignedError, load_results, provenance,
                             results_path, save_results)
from ..framework.gate import gate_policy
from ..framework.profiles import get_profile
from ..train.cache import checkpoint_digest, checkpoint_lock
from ..train.shipped import HASHES, install, refresh, replaced, shipped_dir
from .memo import DEFAULT_ROOT, Memo, own_warnings
from .parameters import json_attr

__all__ = ["run_study", "resolve_inputs", "stale_reason", "check_can_store", "check_study_data", "cells_root"]


def _flat(value, prefix: str = "") -> dict:
    """{"a.b.c": leaf} of nested dicts."""
    if not isinstance(value, dict):
        return {prefix.rstrip("."): value}
    return {key: leaf for k, v in value.items() for key, leaf in _flat(v, f"{prefix}{k}.").items()}


def _changed(old, new, prefix: str = "", limit: int = 4) -> list[str]:
    a, b = _flat(old), _flat(new)
    # a profile's own fields before the configs derived from them
    names = sorted((k for k in set(a) | set(b) if a.get(k, "<absent>") != b.get(k, "<absent>")),
                   key=lambda k: (k.startswith("derived."), k))
    return [prefix + n for n in names[:limit]] + ([f"{len(names) - limit} more"] if len(names) > limit else [])


def stale_reason(ds: xr.Dataset, spec: StudySpec) -> str | None:
    """Why stored results ``ds`` do not answer ``spec`` (key, or checkpoint weights), in words; None when they do."""
    if ds.attrs.get("results_key") != spec.key():
        parts = []
        try:
            parts += _changed(json.loads(ds.attrs.get("spec", "{}")), spec.to_dict())
        except (TypeError, ValueError):
            parts.append("the recorded spec cannot be read")
        parts += _changed(json_attr(ds.attrs, "profile_values", {}), profile_values(spec.profile), prefix="profile ")
        if ds.attrs.get("cache_version") != CACHE_VERSION:
            parts.append(f"cache version {ds.attrs.get('cache_version')} -> {CACHE_VERSION}")
        return "changed: " + ", ".join(parts) if parts else "their key differs (a resolved input changed)"
    for path, digest in json_attr(ds.attrs, "checkpoint_sha256", {}).items():
        if _here(path) and checkpoint_digest(path) not in (None, digest):
            return f"the weights in {path} changed"
    return None


def _here(path: str | os.PathLike) -> bool:
    """Whether checkpoint folder ``path`` is here, installed from data/weights when absent or shipped anew."""
    path = Path(path)
    if not (shipped_dir(path) / HASHES).is_file():
        return path.is_dir()
    if (path / "DONE").exists() and not replaced(path):
        return True
    with checkpoint_lock(path, path.name):  # absent, or built from weights shipped before: installed as a load would
        return refresh(path) or (path / "DONE").exists() or install(path)


def resolve_inputs(spec: StudySpec, results_root: str | os.PathLike = "data/results") -> tuple[StudySpec, dict]:
    """(the spec with its read studies' exports and content signatures recorded, {study: stored results})."""
    study = get_study(spec.study)
    loaded, exports = {}, {}
    for name in study.reads:
        path = results_path(name, dataset_key(spec.dataset), spec.profile, results_root)
        ds = load_results(path) if path.exists() else None
        if ds is not None:
            loaded[name] = ds
        export = get_study(name).export
        exports[name] = export(ds, spec) if export else (None if ds is None else ds.attrs.get("results_key"))
    return spec.with_inputs(**exports, **content_inputs(spec)), loaded


def run_study(spec: StudySpec | str, *, results_root: str | os.PathLike = "data/results",
              cache_root: str | os.PathLike | None = None, rerun: bool = False, progress: bool = False,
              save: bool = True, **raw) -> xr.Dataset:
    """The results of ``spec`` (or a study name with dataset, profile and knobs): stored, else computed and stored."""
    if not isinstance(spec, StudySpec):
        spec = study_spec(spec, **raw)
    elif raw:
        raise TypeError(f"pass knobs either in the spec or as keywords, not both (got {', '.join(raw)})")
    study = get_study(spec.study)
    if study.run is None:
        raise ValueError(f"study {spec.study!r} stores no results (its notebook reads benchmarks/results/)")
    check_dataset(spec.dataset)  # a registered name or folder:<path>; the error lists them
    path = results_path(spec.study, dataset_key(spec.dataset), spec.profile, results_root)  # checks the names first
    _check_results_file(path, results_root)
    spec, inputs = resolve_inputs(spec, results_root)
    damaged = None   # why a stored file could not be used as it is: a note in the chapter of what is computed now
    if path.exists() and not rerun:
        stored, damaged = _stored(spec.study, path)
        if stored is not None:
            why = stale_reason(stored, spec)
            if why is None:
                return stored
            print(f"{path}: stored results are stale ({why}); recomputing them", flush=True)
        else:
            print(damaged, flush=True)
    if save:
        _check_writable(path.parent, results_root)  # before the work, not after it
    memo = Memo(cache_root or cells_root(results_root), refresh=rerun)
    _check_writable(memo.root, memo.root, *_CELLS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        name = f"{spec.study}/{dataset_key(spec.dataset, path_hash=False)}"  # what progress bars are called
        with (gate_policy(allow_weak(spec), cache=memo.root / "gate") as gate, running(name),
              reading_for_study() as read):
            ds = study.run(spec, StudyContext(cache=memo, inputs=inputs, progress=progress))
    _check_read_as_signed(spec, read)
    ds.attrs["model_gate"] = json.dumps(gate.used)
    ds.attrs["run_warnings"] = json.dumps(([damaged] if damaged else []) + own_warnings(caught))
    for w in caught:  # handed on to the caller's filters as this module's (a chapter shows run_warnings instead)
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, module=__name__)
    used = json_attr(ds.attrs, "checkpoints", {})
    digests = {p: checkpoint_digest(p) for p in (used.values() if isinstance(used, dict) else ())
               if isinstance(p, str) and Path(p).is_dir()}
    ds.attrs.update(spec=spec.to_json(), results_key=spec.key(), cache_version=CACHE_VERSION,
                    profile_values=json.dumps(profile_values(spec.profile), sort_keys=True),
                    checkpoint_sha256=json.dumps({p: d for p, d in digests.items() if d}),
                    cells=json.dumps({"computed": memo.misses, "reused": memo.hits}), **provenance())
    if save:
        save_results(ds, path, add_provenance=False)
    return ds


def check_study_data(dataset: str, profile: str, knobs: dict | None = None) -> None:
    """Load a folder dataset as the studies read it, refusing unusable data before any study (bundled: unchecked)."""
    if split_dataset(dataset)[1] is None:
        return
    spec = study_spec("main_results", dataset=dataset, profile=profile, **(knobs or {}))
    with reading_for_study():
        dataset_for(spec.profile, spec.dataset, options=data_options_of(spec))


def _check_read_as_signed(spec: StudySpec, read: dict[str, str]) -> None:
    """Raise FolderChangedError when a folder dataset's images were not the bytes its signature was taken from."""
    changed = changed_since_decoded(read)
    if changed:
        names = ", ".join(Path(p).name for p in changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3
                                                                 else "")
        what = f"{len(changed)} image file(s) of {spec.dataset} changed while the study read them ({names})"
    elif split_dataset(spec.dataset)[1] is not None and content_inputs(spec).get("data") != spec.input("data"):
        what = f"the image files of {spec.dataset} changed while the study ran"
    else:
        return
    raise FolderChangedError(f"{what}: its results were computed from other pixels than the folder's signature names, "
                             "so they were not stored. Leave the folder unchanged while a study runs, and run it again")


def _stored(study: str, path: Path) -> tuple[xr.Dataset | None, str | None]:
    """(stored results, None) when the file reads, checks and holds the study's variables; else (None, why not)."""
    try:
        stored = load_results(path)
        missing = missing_variables(study, stored)
        why = f"lacked {', '.join(missing)}, which every {study} results file holds," if missing else None
    except ResultsUnsignedError:
        why = f"carried no checksum ({CHECKSUM}), so nothing showed its numbers were those computed,"
    except ResultsChecksumError:
        why = "did not match its checksum (its numbers were changed after it was written),"
    except (OSError, ValueError) as err:
        why = f"could not be read ({type(err.__cause__ or err).__name__}),"
    if why is None:
        return stored, None
    return None, f"The stored results file {path} {why} so these results were computed again."


def allow_weak(spec: StudySpec):
    """Models ``spec`` may use below the gate: its ``allow_weak_model`` knob, else the profile's bool or keys."""
    given = spec.get("allow_weak_model", None)
    if given is not None:
        return bool(given)
    rule = get_profile(spec.profile).allow_weak_models
    return tuple(rule) if isinstance(rule, (tuple, list)) else bool(rule)


def cells_root(results_root: str | os.PathLike) -> Path:
    """Cells live beside the results root: ``data/results`` -> ``data/cache/cells`` (DEFAULT_ROOT for the default)."""
    root = Path(results_root)
    return Path(DEFAULT_ROOT) if root == Path("data/results") else root.parent / "cache" / "cells"


def check_can_store(study: str, dataset: str, profile: str, results_root: str | os.PathLike = "data/results",
                    base: str | os.PathLike = ".") -> None:
    """``run_study``'s checks before a notebook: raise when unstored results or their cells could not be written."""
    if get_study(study).run is None:
        return
    path = Path(base) / results_path(study, dataset_key(dataset), profile, results_root)
    _check_results_file(path, results_root)
    if not path.exists():
        _check_writable(path.parent, results_root)
        cache = Path(base) / cells_root(results_root)
        _check_writable(cache, cache, *_CELLS)


_STALE_TMP_S = 600  # a results file's temporary copy older than this was left by a killed write (a write takes seconds)


def _check_results_file(path: Path, results_root) -> None:
    """Refuse a folder standing where the results file belongs; remove temporary copies a killed write left."""
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder where the results file belongs; nothing was computed. Move or "
                                f"remove that folder, or pass another results_root (CLI: --results-root) than "
                                f"{results_root}")
    for tmp in path.parent.glob(f".{path.name}.*.tmp") if path.parent.is_dir() else ():
        with contextlib.suppress(OSError):  # another process's write in progress is younger than _STALE_TMP_S
            if time.time() - tmp.stat().st_mtime > _STALE_TMP_S:
                tmp.unlink()


_CELLS = ("cells under the cell cache", "cache_root (by default the cache sits beside the results root, in its "
          "parent's cache/cells)")


def _check_writable(folder: Path, results_root, what: str = "results under the results root",
                    option: str = "results_root (CLI: --results-root)") -> None:
    """Raise, naming the root and the fix, unless the nearest existing folder on ``folder``'s path is writable."""
    probe = next(p for p in (Path(folder).resolve(), *Path(folder).resolve().parents) if p.exists())
    problem = (f"{probe} is not a folder" if not probe.is_dir() else
               None if os.access(probe, os.W_OK | os.X_OK) else f"{probe} is not writable")
    if problem:
        raise PermissionError(f"cannot write {what} {results_root} ({problem}); nothing was computed. Pass a {option} "
                              "that is a folder you can write to")
