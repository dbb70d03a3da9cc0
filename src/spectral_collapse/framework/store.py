"""Results storage: one ``xr.Dataset`` per (study, dataset, profile) as a netCDF4 file (h5netcdf), written atomically
with provenance and a checksum of its contents (``content_sha256``) that :func:`load_results` verifies. The checksum
catches accidental damage (an edit by a tool, a truncated copy, flipped bytes), not a deliberate recomputation."""
from __future__ import annotations

import dataclasses
import datetime as _dt
import errno
import hashlib
import io
import json
import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from ..train.cache import atomic_write_bytes

__all__ = ["json_default", "folder_parameter", "save_results", "load_results", "results_path", "provenance", "sanitise_attrs",
           "PROVENANCE_PACKAGES", "ResultsFileError", "ResultsChecksumError", "ResultsUnsignedError", "DiskFullError",
           "restore_list_attrs", "read_verified", "content_digest", "CHECKSUM", "PROVENANCE_ATTRS", "compare_folders",
           "Difference", "describe", "relative_difference"]

ENGINE = "h5netcdf"
# numeric variables of at least this many values are stored deflated (HDF5's shuffle and zlib: lossless)
COMPRESS_FROM = 1024
COMPRESSION = {"zlib": True, "complevel": 4, "shuffle": True}

# Distribution names as pip knows them (not import names).
PROVENANCE_PACKAGES = (
    "spectral-collapse", "torch", "torchvision", "diffusers", "accelerate", "numpy", "scipy", "scikit-image",
    "scikit-learn", "PyWavelets", "lpips", "piq", "clean-fid", "xarray", "h5netcdf", "h5py", "pandas",
)

_NAME = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.+-]*$")
LIST_ATTRS = "list_attrs"  # names the list-valued attributes (netCDF gives a one-element list back as a scalar)
CHECKSUM = "content_sha256"  # attribute holding the file's checksum (``content_digest``)
# the stamps that differ between two runs of the same computation (the checksum covers them too), set aside when two
# runs' results are compared ("cells": the study's cells this run computed and those it found in the cache, which
# follows what ran before it, not the numbers)
PROVENANCE_ATTRS = ("created", "git_commit", "git_dirty", "versions", "cells", CHECKSUM)
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class ResultsFileError(OSError):
    """A stored results file exists but cannot be read (truncated, damaged, not netCDF)."""


class ResultsChecksumError(ResultsFileError):
    """A stored results file reads, but its numbers do not match the checksum written with them."""


class ResultsUnsignedError(ResultsChecksumError):
    """A stored results file reads, but carries no checksum: nothing shows its numbers are those written."""


class DiskFullError(OSError):
    """A results file could not be written because its disk (or the user's quota) is full; nothing was stored."""


def folder_parameter(name: str, value) -> str | os.PathLike:
    """A folder given as a notebook parameter: a number is a folder's name (papermill's ``-p results_root 5``)."""
    if isinstance(value, (str, os.PathLike)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"{name}={value!r} is not a folder; give a folder's path, e.g. -p {name} data/results")


def results_path(study: str, dataset: str, profile: str, root: str | os.PathLike = "data/results") -> Path:
    """Where a study's results live: ``<root>/<study>/<dataset>-<profile>.nc`` (``root``: ``folder_parameter``)."""
    root = folder_parameter("results_root", root)
    for what, value in (("study", study), ("dataset", dataset), ("profile", profile)):
        if not isinstance(value, str) or not _NAME.match(value):
            raise ValueError(f"{what}={value!r} is not a valid file-name part; use letters, digits, '_', '.', '-'")
    if "-" in profile:  # no profile has one: say which exist, and why the name cannot work
        from .profiles import PROFILES

        raise ValueError(f"unknown profile {profile!r}; valid profiles: {', '.join(PROFILES)} (a profile name "
                         "cannot contain '-': it ends the file name <dataset>-<profile>.nc)")
    return Path(root) / study / f"{dataset}-{profile}.nc"


def json_default(obj: Any) -> Any:
    """JSON fallback for dataclasses, numpy values, paths and anything else (as str)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, (np.generic, np.ndarray)):
        return obj.tolist()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=str)
    return str(obj)


def _sanitise_value(value: Any) -> Any:
    """One attribute value in a form netCDF4 accepts: dicts and mixed lists as JSON, bools as 0/1, None as ""."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (str, int, float, np.integer, np.floating)):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        items = [_sanitise_value(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
        if items and all(isinstance(v, str) for v in items):
            return items
        if items and all(isinstance(v, (int, float, np.integer, np.floating)) for v in items):
            return np.asarray(items)
    return json.dumps(value, default=json_default, sort_keys=True)


def sanitise_attrs(attrs: dict) -> dict:
    """Copy of ``attrs`` that netCDF4 can store: dict / mixed list -> JSON string, bool -> int, None -> ""."""
    return {str(k): _sanitise_value(v) for k, v in attrs.items()}


def _mark_lists(clean: dict) -> dict:
    """``clean`` with ``list_attrs`` naming its list-valued attributes (so one-element lists come back as lists)."""
    clean.pop(LIST_ATTRS, None)
    lists = sorted(k for k, v in clean.items() if isinstance(v, (list, np.ndarray)))
    return {**clean, LIST_ATTRS: json.dumps(lists)} if lists else clean


def _git(*args: str) -> str:
    """Output of a git command run in this source tree, or "" when git or the repository is missing."""
    try:
        out = subprocess.run(("git", *args), cwd=Path(__file__).resolve().parent, capture_output=True,
                             text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


_OUTPUTS = (":(top,exclude)book", ":(top,exclude)data/results", ":(top,exclude)data/weights",
            ":(top,exclude)benchmarks/results")


def provenance() -> dict[str, Any]:
    """Provenance attrs: ``created`` (UTC ISO), ``git_commit``, ``git_dirty`` (0/1: code or inputs differ from the
    commit, the run's outputs (``_OUTPUTS``) aside; -1 no git), ``versions`` (JSON)."""
    from .. import __version__

    versions = {"python": platform.python_version()}
    for name in PROVENANCE_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:   # the suite itself, run from a source tree (PYTHONPATH=src)
            versions[name] = f"{__version__} (source tree)" if name == "spectral-collapse" else "not installed"
    commit = _git("rev-parse", "HEAD")
    dirty = (1 if _git("status", "--porcelain", "--untracked-files=no", "--", ":(top)", *_OUTPUTS) else 0) if commit else -1
    return {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"),
        "git_commit": commit,
        "git_dirty": dirty,
        "versions": json.dumps(versions, sort_keys=True),
    }


def _canon(value) -> str:
    """An attribute value in one form whatever netCDF gives back: text as text, numbers as a flat list (a scalar and
    a one-element list alike), floats by their exact hex form."""
    if isinstance(value, (str, bytes)):
        value = [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, bytes)) for v in value):
        return "text:" + "\x1f".join(v.decode() if isinstance(v, bytes) else v for v in value)
    a = np.atleast_1d(np.asarray(value)).ravel()
    if a.dtype.kind in "biu":
        return "int:" + ",".join(str(int(v)) for v in a)
    if a.dtype.kind == "f":
        return "float:" + ",".join(float(v).hex() for v in a)
    return "other:" + "\x1f".join(map(str, a.tolist()))


def _update_attrs(h, attrs: dict) -> None:
    for k in sorted(map(str, attrs)):
        if k != CHECKSUM:
            h.update(f"@{k}={_canon(attrs[k])};".encode())


def content_digest(ds: xr.Dataset) -> str:
    """SHA-256 of a dataset as read from a file: every variable and coordinate by name, dtype, shape, values and
    attributes (text by its characters), and every dataset attribute but ``content_sha256`` itself."""
    h = hashlib.sha256()
    for name in sorted(map(str, ds.variables)):
        var = ds.variables[name]
        v = np.asarray(var.values)
        if v.dtype.kind in "OUS":
            h.update(f"{name}:text:{v.shape};".encode())
            h.update("\x1f".join(map(str, v.ravel().tolist())).encode())
        else:
            a = np.ascontiguousarray(v)
            h.update(f"{name}:{a.dtype.str}:{a.shape};".encode())
            h.update(a.tobytes())
        _update_attrs(h, var.attrs)
    h.update(b"#attrs;")
    _update_attrs(h, ds.attrs)
    return h.hexdigest()


def save_results(ds: xr.Dataset, path: str | os.PathLike, *, add_provenance: bool = True,
                 compress: bool = True) -> Path:
    """Write ``ds`` atomically to ``path`` with sanitised attrs, provenance and its checksum; return the path
    (``compress``: large numeric variables deflated; the cell cache writes them plain). A full disk: DiskFullError."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = ds.copy(deep=False)
    attrs = sanitise_attrs({**ds.attrs, **(provenance() if add_provenance else {})})
    attrs.pop(CHECKSUM, None)
    out.attrs = _mark_lists(attrs)
    for name, var in out.variables.items():
        var.attrs = _mark_lists(sanitise_attrs(ds.variables[name].attrs))
    # the checksum of the file as a reader gets it back (netCDF changes the form of some attributes)
    encoding = {name: dict(COMPRESSION) for name, var in out.data_vars.items()
                if compress and var.dtype.kind in "fiub" and var.size >= COMPRESS_FROM}
    out.attrs[CHECKSUM] = content_digest(xr.load_dataset(io.BytesIO(out.to_netcdf(engine=ENGINE)), engine=ENGINE))
    data = bytes(out.to_netcdf(engine=ENGINE, encoding=encoding))
    try:
        atomic_write_bytes(path, data)   # temporary file beside path, fsynced, renamed over it
    except OSError as err:
        if err.errno not in _NO_SPACE:
            raise
        full = DiskFullError(
            f"no space left to write {path.name} ({len(data) / 1e6:.1f} MB) in {path.parent.resolve()} "
            f"({os.strerror(err.errno)}); nothing was stored there and an earlier file of that name is "
            f"unchanged. Free space on that disk, or write elsewhere (run_study(..., results_root=...), CLI "
            f"--results-root; the cell cache: SPECTRAL_COLLAPSE_CACHE), then run the same command again")
        full.errno = err.errno
        raise full from err
    return path


def _recompute_hint(path: Path) -> str:
    dataset, profile = path.stem.rsplit("-", 1) if "-" in path.stem else ("<dataset>", "<profile>")
    study = path.parent.name or "<study>"
    return (f"Compute it again with rerun=True (run_study({study!r}, dataset={dataset!r}, profile={profile!r}, "
            f"rerun=True), or rerun=True in its notebook) or on the command line: python -m spectral_collapse.cli "
            f"studies --study {study} --dataset {dataset} --profile {profile} --force (or delete the file)")


def read_verified(path: str | os.PathLike) -> xr.Dataset:
    """A file written by save_results, read fully and checked against its checksum (list attributes not restored)."""
    path = Path(path)
    try:
        ds = xr.load_dataset(path, engine=ENGINE)
    except Exception as err:  # h5py / h5netcdf raise OSError, ValueError, KeyError, ... on damaged files
        raise ResultsFileError(f"the results file {path} cannot be read ({type(err).__name__}: {err}); it is "
                               f"damaged or truncated. {_recompute_hint(path)}") from err
    recorded = ds.attrs.get(CHECKSUM)
    if recorded is None:
        raise ResultsUnsignedError(f"the results file {path} carries no checksum ({CHECKSUM}), so nothing shows that "
                                   f"its numbers are those computed (a file edited by a tool that drops attributes "
                                   f"reads the same). {_recompute_hint(path)}")
    if recorded != content_digest(ds):
        raise ResultsChecksumError(f"the results file {path} does not match its checksum: its numbers were changed "
                                   f"after it was written (edited, or damaged on disk). {_recompute_hint(path)}")
    return ds


def load_results(path: str | os.PathLike) -> xr.Dataset:
    """Read a results file fully into memory with its list attributes restored; a ResultsFileError (unreadable,
    numbers changed, no checksum) says how to compute it again."""
    path = Path(path)
    if not path.is_file():
        profile = path.stem.rsplit("-", 1)[-1] if "-" in path.stem else "<profile>"
        raise FileNotFoundError(f"no results file at {path}; it is produced by the study run: make studies "
                                f"PROFILE={profile}  (= python -m spectral_collapse.cli studies --profile {profile})")
    return restore_list_attrs(read_verified(path))


def restore_list_attrs(ds: xr.Dataset) -> xr.Dataset:
    """Give the attributes ``list_attrs`` names their list form back, in place (netCDF makes [x] a scalar)."""
    for obj in (ds, *ds.variables.values()):
        attrs = dict(obj.attrs)
        for k in json.loads(attrs.pop(LIST_ATTRS, "[]")):
            v = attrs.get(k)
            if isinstance(v, str):
                attrs[k] = [v]
            elif isinstance(v, (np.generic, int, float)):
                attrs[k] = np.atleast_1d(v)
        obj.attrs = attrs
    return ds


def _without_stamps(attrs: dict) -> dict:
    return {k: v for k, v in attrs.items() if k not in PROVENANCE_ATTRS}


class Difference(NamedTuple):
    """One difference ``compare_folders`` found: file, variable ("" for the file), largest ``relative_difference``
    (numbers of one shape) and what differs ("values", "attributes[: names]", "only in <folder>", "contents differ")."""
    file: str
    variable: str = ""
    relative: float | None = None
    what: str = "values"


def compare_folders(a: str | os.PathLike, b: str | os.PathLike, names: tuple[str, str] = ("a", "b")
                    ) -> tuple[list[str], list[Difference]]:
    """(files compared, differences) between two results folders: every .nc and .json, ``PROVENANCE_ATTRS`` aside,
    compared bit for bit; a ``Difference`` per changed variable. ``names`` name the two folders."""
    a, b = Path(a), Path(b)
    found = sorted({p.relative_to(x) for x in (a, b) for p in x.rglob("*") if p.suffix in (".nc", ".json")})
    diffs = []
    for rel in found:
        pa, pb, file = a / rel, b / rel, str(rel)
        if not (pa.exists() and pb.exists()):
            diffs.append(Difference(file, what=f"only in {names[0] if pa.exists() else names[1]}"))
        elif rel.suffix == ".json":
            if _without_stamps(json.loads(pa.read_text())) != _without_stamps(json.loads(pb.read_text())):
                diffs.append(Difference(file, what="contents differ"))
        else:
            da, db = (xr.load_dataset(p, engine=ENGINE) for p in (pa, pb))
            da.attrs, db.attrs = _without_stamps(da.attrs), _without_stamps(db.attrs)
            if not da.identical(db):
                changed = [_change(file, str(v), da, db, names[0]) for v in da.variables
                           if v not in db.variables or not da[v].identical(db[v])]
                keys = [k for k in sorted({*da.attrs, *db.attrs}, key=str) if not _same_attr(da.attrs, db.attrs, k)]
                named = f"attributes: {', '.join(map(str, keys))}" if keys else "attributes"
                diffs += changed or [Difference(file, what=named)]   # the file's own attributes
    return [str(n) for n in found], diffs


def _same_attr(a: dict, b: dict, key) -> bool:
    if key not in a or key not in b or type(a[key]) is not type(b[key]):
        return False
    return bool(np.array_equal(a[key], b[key])) if isinstance(a[key], np.ndarray) else a[key] == b[key]


def _change(file: str, name: str, da: xr.Dataset, db: xr.Dataset, first: str) -> Difference:
    if name not in db.variables:
        return Difference(file, name, what=f"only in {first}")
    rel = relative_difference(da[name].values, db[name].values)   # 0: equal values, other attributes
    return Difference(file, name, rel or None, "attributes" if rel == 0.0 else "values")


def describe(diffs: list[Difference]) -> list[str]:
    """``compare_folders``' differences in words, a line per file: "r.nc: differs (psnr: 1.1e-16, time_s: 3.3e-01)",
    "s.nc: differs (attributes)", "x.json: contents differ", "y.nc: only in a"."""
    out: dict[str, str | list[str]] = {}
    for d in diffs:
        if not d.variable:
            out[d.file] = f"differs ({d.what})" if d.what.startswith("attributes") else d.what
        else:
            word = f"{d.relative:.1e}" if d.relative is not None else ("" if d.what == "values" else d.what)
            out.setdefault(d.file, []).append(f"{d.variable}: {word}" if word else d.variable)
    return [f"{f}: {w}" if isinstance(w, str) else f"{f}: differs ({', '.join(w)})" for f, w in out.items()]


def relative_difference(a, b) -> float | None:
    """max |a - b| / max(|a|, |b|), NaN in the same places equal; None unless numbers of one shape."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or not (np.issubdtype(a.dtype, np.number) and np.issubdtype(b.dtype, np.number)):
        return None
    a, b = a.astype(np.float64), b.astype(np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return None
    ok = ~np.isnan(a)
    if not ok.any():
        return 0.0
    scale = max(np.abs(a[ok]).max(), np.abs(b[ok]).max())
    return float(np.abs(a[ok] - b[ok]).max() / scale) if scale else 0.0
