"""Which SHA-256 each downloaded dataset file must have: published checksums, else a lock file (trust on first use).

Neither host publishes checksums of its files (the BBBC021 page lists sizes and the licence only; the pix2pix
server lists file names only), so :data:`PUBLISHED` is empty and the lock file does the work: the first complete
download of each file records its SHA-256, size, URL and date in ``downloads.lock.json``; every later download and
every ``prepare`` checks the file against that record and refuses another file, naming it and both hashes (a
download deletes the refused file; ``prepare`` leaves it in place and says to delete it).

Where the lock file is: ``$SPECTRAL_COLLAPSE_DOWNLOAD_LOCK`` when set; else, for the repository's layout (a data
root ``<x>/data/raw``, the default) ``<x>/data/downloads.lock.json``, which is committed, so everyone who clones the
repository checks their download against the first one; else ``<data root>/downloads.lock.json``. Keys are
``<dataset>/<file name>`` (the URL is recorded but not part of the key, so a mirror is held to the same hashes).
A host that really replaces a file: delete its entry from the lock file (and commit the new one).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

from .download import IntegrityError, data_root, download, sha256_file, verify_file

__all__ = ["LOCK_ENV", "LOCK_NAME", "PUBLISHED", "lock_path", "read_lock", "expected", "fetch", "check_download"]

LOCK_ENV = "SPECTRAL_COLLAPSE_DOWNLOAD_LOCK"
LOCK_NAME = "downloads.lock.json"
# "<dataset>/<file name>" -> {"sha256", "size", "source"}: checksums the data's hosts publish. None is published.
PUBLISHED: dict[str, dict] = {}
_ABOUT = ("SHA-256 of each dataset file at its first complete download (spectral_collapse.data.lockfile); later "
          "downloads and prepare() refuse a file with another hash. Commit this file.")


def lock_path(root: str | os.PathLike | None = None) -> Path:
    """The lock file for the data root ``root`` (see the module docstring)."""
    env = os.environ.get(LOCK_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    base = data_root(root)
    if base.name == "raw" and base.parent.name == "data":
        return base.parent / LOCK_NAME
    return base / LOCK_NAME


def read_lock(path: str | os.PathLike) -> dict[str, dict]:
    """The recorded files of a lock file ({} when there is none); an unreadable one raises with the fix."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
        if not isinstance(files, dict) or not all(isinstance(v, dict) and "sha256" in v for v in files.values()):
            raise ValueError("entries without a sha256")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise IntegrityError(
            f"the download lock file {path} cannot be read ({type(err).__name__}: {err}); restore it (git checkout "
            f"{path}) or delete it, and the next download records the hashes again"
        ) from None
    return files


def _record(lock: Path, key: str, file: Path, url: str | None, digest: str | None = None) -> str:
    """Add ``key``'s hash to the lock file (atomically, keeping the other entries); returns the hash."""
    digest = digest or sha256_file(file)
    files = read_lock(lock)
    files[key] = {"sha256": digest, "size": file.stat().st_size, "url": url or "",
                  "recorded": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                  "origin": "first download (trust on first use): not a checksum published by the host"}
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=lock.parent, prefix=f".{lock.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"about": _ABOUT, "files": dict(sorted(files.items()))}, f, indent=1)
            f.write("\n")
        os.replace(tmp, lock)
    except OSError as err:
        warnings.warn(f"could not record the SHA-256 of {file} in {lock} ({err}); later uses are not checked "
                      f"until it is recorded", RuntimeWarning, stacklevel=3)
    return digest


def expected(key: str, root=None, sha256: str | None = None, size: int | None = None):
    """(sha256, size, where it comes from) for ``key``: the argument, a published checksum, the lock file, or None."""
    if sha256:
        return sha256.lower(), size, "the sha256 argument"
    if key in PUBLISHED:
        pin = PUBLISHED[key]
        return pin["sha256"], pin.get("size"), f"the checksum published at {pin['source']}"
    lock = lock_path(root)
    entry = read_lock(lock).get(key)
    if entry:  # its size is not checked first: the whole file is fetched, so the refusal can name both hashes
        return entry["sha256"], size, f"{lock}, recorded at the first download on {entry['recorded']}"
    return None, size, ""


def _fix(key: str, root, dataset: str) -> str:
    flag = "" if root is None else f" --root {root}"
    return (f"download it again (python -m spectral_collapse.cli download {dataset}{flag}); if the host really "
            f"replaced the file, delete the entry {key!r} from {lock_path(root)} to accept the new one")


def fetch(url: str, dest: str | os.PathLike, *, key: str, dataset: str, root=None, sha256: str | None = None,
          size: int | None = None, progress: bool = True, timeout: float = 30, allow_http: bool | None = None) -> Path:
    """Download ``url`` to ``dest`` checked against the expected hash; record the hash at the first download.

    A hash recorded that way is shown (stderr), with the advice to compare it with one the publisher gives, and
    its lock-file entry says it was recorded on first use."""
    sha, size, where = expected(key, root, sha256, size)
    dest = download(url, dest, sha256=sha, size=size, progress=progress, timeout=timeout,
                    expected_from=where or "the sha256 argument", fix=_fix(key, root, dataset), allow_http=allow_http)
    if sha is None and key not in PUBLISHED:
        lock = lock_path(root)
        if key not in read_lock(lock):
            digest = _record(lock, key, dest, url)
            print(f"recorded SHA-256 {digest} of {dest.name} (from its first download, {url}) in {lock}; later "
                  f"downloads are checked against it. The host publishes no checksum: compare this one with any "
                  f"the publisher or a colleague's copy gives before you rely on it", file=sys.stderr)
    return dest


def check_download(path: str | os.PathLike, *, key: str, dataset: str, root=None, sha256: str | None = None) -> None:
    """Before a downloaded file is used: refuse it unless it has the expected hash.

    A file with no expected hash (copied by hand, never downloaded here, and not in the lock file) is used as it is:
    only a download records a hash, so a hand-copied archive never pins its own hash for later downloads.
    """
    path = Path(path)
    sha, size, where = expected(key, root, sha256)
    if sha is None:
        return
    try:
        verify_file(path, sha256=sha, size=size, expected_from=where)
    except IntegrityError as err:
        raise IntegrityError(f"refusing to use {err}: it is not the file that was downloaded first (substituted, "
                             f"spliced or damaged). Delete {path} and {_fix(key, root, dataset)}") from None
