"""Verified, resumable downloads for the real datasets, each file checked against its expected SHA-256.

A download streams into ``<dest>.part`` and becomes ``dest`` only once its size and SHA-256 check out. Neither host
publishes a checksum, so the first complete download of each file records its SHA-256 (trust on first use) in the
committed lock file (``lock_path``), keyed ``<dataset>/<file name>``.
"""
from __future__ import annotations

import datetime as _dt
import http.client
import importlib
import json
import os
import sys
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from ..digest import read_sha256

__all__ = [
    "OFFLINE_ENV", "DATA_ROOT_ENV", "DownloadError", "OfflineError", "IntegrityError", "DatasetNotPreparedError",
    "set_offline", "is_offline", "data_root", "verify_file", "download", "download_dataset",
    "prepare_dataset", "not_prepared", "LOCK_ENV", "LOCK_NAME", "lock_path", "read_lock", "fetch", "check_download",
]

OFFLINE_ENV = "SPECTRAL_COLLAPSE_OFFLINE"  # "1" / "true" / "yes" forbids every download (tests and CI set it)
DATA_ROOT_ENV = "SPECTRAL_COLLAPSE_DATA"  # default root for raw datasets when no root is passed
HTTP_ENV = "SPECTRAL_COLLAPSE_ALLOW_HTTP"
LOCK_ENV = "SPECTRAL_COLLAPSE_DOWNLOAD_LOCK"
LOCK_NAME = "downloads.lock.json"
_OFFLINE_OVERRIDE: bool | None = None  # set_offline(); None = follow the environment variable
_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download failed (network, HTTP status, interrupted transfer)."""


class OfflineError(DownloadError):
    """A download was requested while downloads are switched off."""


class IntegrityError(DownloadError):
    """A downloaded file does not have the expected size or SHA-256."""


class DatasetNotPreparedError(FileNotFoundError):
    """A real dataset was asked for but is not downloaded and prepared."""


def set_offline(flag: bool | None) -> None:
    """Switch downloads off (True), on (False), or back to the SPECTRAL_COLLAPSE_OFFLINE variable (None)."""
    global _OFFLINE_OVERRIDE
    _OFFLINE_OVERRIDE = flag


def is_offline() -> bool:
    """True when downloads are forbidden (set_offline(True) or SPECTRAL_COLLAPSE_OFFLINE=1)."""
    if _OFFLINE_OVERRIDE is not None:
        return _OFFLINE_OVERRIDE
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Raw-data root: `root`, else $SPECTRAL_COLLAPSE_DATA, else the nearest data/raw at or above the cwd."""
    given = root if root is not None else os.environ.get(DATA_ROOT_ENV) or None
    if given is not None:
        return Path(given).expanduser()
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "data" / "raw").is_dir():
            return folder / "data" / "raw"
    return here / "data" / "raw"


def verify_file(path: str | os.PathLike, *, sha256: str | None = None, size: int | None = None,
                expected_from: str = "the sha256 argument", label: str | None = None) -> None:
    """Raise IntegrityError unless the file has the given size and SHA-256 (each check only when given)."""
    path = Path(path)
    label = label or str(path)
    if size is not None and path.stat().st_size != size:
        raise IntegrityError(f"{label}: size {path.stat().st_size} bytes, expected {size} ({expected_from})")
    if sha256 is not None:
        got = read_sha256(path)
        if got.lower() != sha256.lower():
            raise IntegrityError(f"{label}: SHA-256 {got}, expected {sha256.lower()} ({expected_from})")


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    sha256: str | None = None,  # expected hex digest; checked before the file is used
    size: int | None = None,  # expected size in bytes; the server's Content-Length is always checked too
    progress: bool = True,  # tqdm progress bar on stderr
    timeout: float = 30,  # seconds per socket operation
    expected_from: str = "the sha256 argument",  # where `sha256` comes from, for the messages
    fix: str | None = None,  # what a mismatch message tells the user to do
    allow_http: bool | None = None,  # plain http:// (no transport security); None: $SPECTRAL_COLLAPSE_ALLOW_HTTP
) -> Path:
    """Fetch `url` to `dest` once, verified; return dest. Idempotent: a present, verifying dest is not re-fetched."""
    from tqdm.auto import tqdm

    dest = Path(dest)
    fix = fix or f"delete {dest} and rerun, or check the expected value (the file on the server may have changed)"
    if dest.exists():
        try:
            verify_file(dest, sha256=sha256, size=size, expected_from=expected_from)
            return dest  # already downloaded and verified: no request
        except IntegrityError as err:
            warnings.warn(f"{err}; fetching it again", RuntimeWarning, stacklevel=2)
            dest.unlink()
    if is_offline():
        raise OfflineError(
            f"downloads are switched off ({OFFLINE_ENV}=1 or set_offline(True)), so {url} was not fetched; "
            f"unset {OFFLINE_ENV} (or call set_offline(False)) on a machine with internet, "
            f"or copy the file to {dest} by hand"
        )
    if not url.lower().startswith(("http://", "https://")):
        raise DownloadError(f"only http(s) URLs are supported, got {url!r}")
    http_ok = os.environ.get(HTTP_ENV, "").strip() not in ("", "0") if allow_http is None else allow_http
    if url.lower().startswith("http://") and not http_ok:
        raise DownloadError(f"refusing plain http for {url}: nothing protects the file on its way (a cache or a "
                            f"network in between can alter it). Use an https:// address, or allow http explicitly "
                            f"(allow_http=True, `download --allow-http`, or {HTTP_ENV}=1)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part, meta = dest.with_name(dest.name + ".part"), dest.with_name(dest.name + ".part.json")
    try:
        info = json.loads(meta.read_text())
    except (OSError, ValueError):
        info = None
    # a partial file is resumed only under the strong ETag recorded when it started: a Last-Modified date has
    # one-second resolution, so a file replaced within that second would be spliced
    ok = isinstance(info, dict) and info.get("url") == url and part.exists() and part.stat().st_size
    etag = info.get("etag") if ok else None
    while True:  # at most twice: a resume refused (416, another version) starts over from byte 0
        if not etag:
            part.unlink(missing_ok=True)
            meta.unlink(missing_ok=True)
        start = part.stat().st_size if etag else 0
        req = urllib.request.Request(url, headers={"User-Agent": "spectral-collapse-downloader"})
        if start > 0:
            req.add_header("Range", f"bytes={start}-")
            req.add_header("If-Range", etag)
        try:
            resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (http/https only, checked above)
        except urllib.error.HTTPError as err:
            if err.code == 416 and start > 0:  # range past the end: the partial file is fetched again
                etag = None
                continue
            raise DownloadError(f"HTTP {err.code} {err.reason} for {url}; check the URL or try again later") from err
        except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
            raise DownloadError(f"cannot reach {url}: {err}; check your connection (or the proxy) and retry") from err
        if url.lower().startswith("https://") and not resp.geturl().lower().startswith("https://"):
            resp.close()
            raise DownloadError(f"{url} redirected to {resp.geturl()}, which is not HTTPS; refusing the downgrade "
                                "(use an https:// mirror, or that address itself if you trust it)")
        with resp:
            status = getattr(resp, "status", None) or resp.getcode()
            if status == 206:
                content_range = resp.headers.get("Content-Range", "")  # "bytes START-END/TOTAL"
                first = content_range.split(" ")[-1].split("-")[0]
                if not first.isdigit() or int(first) != start:
                    raise DownloadError(f"{url}: server answered range {content_range!r} to a request from byte "
                                        f"{start}")
                tail = content_range.rsplit("/", 1)[-1]
                total = int(tail) if tail.isdigit() else None
                if resp.headers.get("ETag") not in (None, etag):  # another version: never splice two versions
                    etag = None
                    continue
            else:  # 200: full body (no partial file, a changed file under If-Range, no range support)
                start = 0
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                etag = resp.headers.get("ETag")
                meta.write_text(json.dumps({"url": url, "etag": None if not etag or etag.startswith("W/") else etag}))
            if size is not None and total is not None and total != size:
                raise IntegrityError(f"{url}: server reports {total} bytes, expected {size}; {fix}")
            with tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name,
                      disable=not progress, leave=False) as bar, open(part, "ab" if start else "wb") as f:
                while True:
                    try:
                        block = resp.read(_CHUNK)
                    except (OSError, ValueError, http.client.HTTPException) as err:  # cut short: keep the .part
                        raise DownloadError(f"{url}: transfer interrupted after {f.tell()} bytes ({err}); rerun to "
                                            f"resume from {part}") from err
                    if not block:
                        break
                    f.write(block)
                    bar.update(len(block))
        break
    got = part.stat().st_size
    if total is not None and got != total:
        raise DownloadError(
            f"{url}: transfer stopped at {got} of {total} bytes; rerun the same command to resume from {part}"
        )
    try:
        verify_file(part, sha256=sha256, size=size, expected_from=expected_from, label=f"{dest} (from {url})")
    except IntegrityError as err:
        part.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)
        raise IntegrityError(f"{err}; the file was deleted; {fix}") from None
    os.replace(part, dest)
    meta.unlink(missing_ok=True)
    return dest


def lock_path(root: str | os.PathLike | None = None) -> Path:
    """The lock file for the data root ``root`` (see the module docstring)."""
    env = os.environ.get(LOCK_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    base = data_root(root)
    return (base.parent if base.name == "raw" and base.parent.name == "data" else base) / LOCK_NAME


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


def _record(lock: Path, key: str, file: Path, url: str) -> str:
    """Add ``key``'s hash to the lock file (written whole, then renamed); returns the hash."""
    digest = read_sha256(file)
    files = read_lock(lock)
    files[key] = {"sha256": digest, "size": file.stat().st_size, "url": url,
                  "recorded": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                  "origin": "first download (trust on first use): not a checksum published by the host"}
    about = ("SHA-256 of each dataset file at its first complete download (spectral_collapse.data.download); later "
             "downloads and prepare() refuse a file with another hash. Commit this file.")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        tmp = lock.with_name(f".{lock.name}.tmp")
        tmp.write_text(json.dumps({"about": about, "files": dict(sorted(files.items()))}, indent=1) + "\n")
        os.replace(tmp, lock)
    except OSError as err:
        warnings.warn(f"could not record the SHA-256 of {file} in {lock} ({err}); later uses are not checked "
                      f"until it is recorded", RuntimeWarning, stacklevel=3)
    return digest


def _expected(key: str, root=None, sha256: str | None = None, size: int | None = None):
    """(sha256, size, where it comes from) for ``key``: the argument, the lock file, or None."""
    if sha256:
        return sha256.lower(), size, "the sha256 argument"
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
    """Download ``url`` to ``dest`` checked against the expected hash; record the hash at the first download."""
    sha, size, where = _expected(key, root, sha256, size)
    dest = download(url, dest, sha256=sha, size=size, progress=progress, timeout=timeout,
                    expected_from=where or "the sha256 argument", fix=_fix(key, root, dataset), allow_http=allow_http)
    lock = lock_path(root)
    if sha is None and key not in read_lock(lock):
        digest = _record(lock, key, dest, url)
        print(f"recorded SHA-256 {digest} of {dest.name} (from its first download, {url}) in {lock}; later "
              f"downloads are checked against it. The host publishes no checksum: compare this one with any "
              f"the publisher or a colleague's copy gives before you rely on it", file=sys.stderr)
    return dest


def check_download(path: str | os.PathLike, *, key: str, dataset: str, root=None) -> None:
    """Before a downloaded file is used: refuse it unless it has the expected hash (none expected: used as it is)."""
    sha, size, where = _expected(key, root)
    if sha is None:
        return
    try:
        verify_file(path, sha256=sha, size=size, expected_from=where)
    except IntegrityError as err:
        raise IntegrityError(f"refusing to use {err}: it is not the file that was downloaded first (substituted, "
                             f"spliced or damaged). Delete {path} and {_fix(key, root, dataset)}") from None


_REAL = {  # name -> (bundled offline alternative, rough download size)
    "bbbc021": ("ihc-sr", "55 plate zips of roughly 0.8 GB each; "
                "download_dataset('bbbc021', plates=N) fetches only the first N"),
    "edges2shoes": ("ihc-edges", "one archive of roughly 2 GB"),
}


def not_prepared(name: str, root: str | os.PathLike | None, missing: Path) -> DatasetNotPreparedError:
    """The error for a real dataset that is not there: the exact download command and the bundled alternative."""
    alternative, volume = _REAL[name]
    flag = "" if root is None or data_root(root) == data_root(None) else f" --root {root}"
    return DatasetNotPreparedError(
        f"the {name} dataset is not prepared ({missing} is missing). Download and prepare it once, on a machine "
        f"with internet ({volume}), with:\n    python -m spectral_collapse.cli download {name}{flag}\n"
        f"or use the bundled offline alternative: load_dataset({alternative!r})"
    )


def _module(name: str):
    if name not in _REAL:
        raise ValueError(f"unknown downloadable dataset {name!r}; valid names: {', '.join(sorted(_REAL))}")
    return importlib.import_module(f"{__package__}.{name}")


def download_dataset(name: str, root: str | os.PathLike | None = None, *, prepare: bool = True,
                     prepare_kw: dict | None = None, **kw) -> Path:
    """Download a real dataset under `root` (kw go to its downloader), then prepare it with prepare_kw; returns the
    prepared folder (the downloads folder when prepare=False)."""
    mod = _module(name)
    path = mod.download(root, **kw)
    if prepare:
        path = mod.prepare(root, **{"progress": kw.get("progress", True), **(prepare_kw or {})})
    return path


def prepare_dataset(name: str, root: str | os.PathLike | None = None, **kw) -> Path:
    """Turn a real dataset's downloaded archives into the prepared images the loader reads; returns that folder."""
    return _module(name).prepare(root, **kw)
