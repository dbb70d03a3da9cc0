"""Verified, resumable downloads and safe archive extraction for the real datasets.

The paper's datasets (BBBC021, Edges2Shoes) are too large to bundle; users with internet fetch them once
with ``python -m spectral_collapse.cli download <name>``. Everything here follows four rules:

* a download streams into ``<dest>.part`` (tqdm bar), resumes a partial file with an HTTP ``Range`` request,
  and is renamed to ``dest`` only after its size (the server's Content-Length and/or the caller's ``size``)
  and its SHA-256 (when given) check out; a mismatch deletes the file and raises with the fix;
* a file that is already there and verifies is not fetched again (no request is made);
* archives are extracted only after every member was checked to stay inside the target folder
  (no absolute paths, no ``..``, no links leaving it, no devices);
* ``SPECTRAL_COLLAPSE_OFFLINE=1`` (or :func:`set_offline`) makes every download raise at once.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import stat
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath

__all__ = [
    "OFFLINE_ENV", "DATA_ROOT_ENV", "DownloadError", "OfflineError", "IntegrityError", "UnsafeArchiveError",
    "DatasetNotPreparedError", "set_offline", "is_offline", "data_root", "sha256_file", "verify_file", "download",
    "safe_extract", "download_dataset", "prepare_dataset", "not_prepared",
]

OFFLINE_ENV = "SPECTRAL_COLLAPSE_OFFLINE"  # "1" / "true" / "yes" forbids every download (tests and CI set it)
DATA_ROOT_ENV = "SPECTRAL_COLLAPSE_DATA"  # default root for raw datasets when no root is passed
_OFFLINE_OVERRIDE: bool | None = None  # set_offline(); None = follow the environment variable
_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download failed (network, HTTP status, interrupted transfer)."""


class OfflineError(DownloadError):
    """A download was requested while downloads are switched off."""


class IntegrityError(DownloadError):
    """A downloaded file does not have the expected size or SHA-256."""


class UnsafeArchiveError(ValueError):
    """An archive holds members that would be written outside the target folder."""


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
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(DATA_ROOT_ENV)
    if env:
        return Path(env).expanduser()
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "data" / "raw").is_dir():
            return folder / "data" / "raw"
    return here / "data" / "raw"


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def verify_file(path: str | os.PathLike, *, sha256: str | None = None, size: int | None = None) -> None:
    """Raise IntegrityError unless the file has the given size and SHA-256 (each check only when given)."""
    path = Path(path)
    if size is not None and path.stat().st_size != size:
        raise IntegrityError(f"{path.name}: size {path.stat().st_size} bytes, expected {size}")
    if sha256 is not None:
        got = sha256_file(path)
        if got.lower() != sha256.lower():
            raise IntegrityError(f"{path.name}: SHA-256 {got}, expected {sha256.lower()}")


def _open(url: str, start: int, timeout: float):
    """Open `url`, asking for bytes from `start` on when start > 0; returns the response object."""
    req = urllib.request.Request(url, headers={"User-Agent": "spectral-collapse-downloader"})
    if start > 0:
        req.add_header("Range", f"bytes={start}-")
    try:
        return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (http/https only, checked by caller)
    except urllib.error.HTTPError as err:
        if err.code == 416 and start > 0:
            return err  # range past the end: the partial file may already be complete
        raise DownloadError(f"HTTP {err.code} {err.reason} for {url}; check the URL or try again later") from err
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        raise DownloadError(f"cannot reach {url}: {err}; check your connection (or the proxy) and retry") from err


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    sha256: str | None = None,  # expected hex digest; checked before the file is used
    size: int | None = None,  # expected size in bytes; the server's Content-Length is always checked too
    progress: bool = True,  # tqdm progress bar on stderr
    timeout: float = 30,  # seconds per socket operation
    resume: bool = True,  # continue an existing <dest>.part with an HTTP Range request
) -> Path:
    """Fetch `url` to `dest` once, verified; return dest. Idempotent: a present, verifying dest is not re-fetched."""
    dest = Path(dest)
    fix = f"delete {dest} and rerun, or check the expected value (the file on the server may have changed)"
    if dest.exists():
        try:
            verify_file(dest, sha256=sha256, size=size)
            return dest  # already downloaded and verified: no request
        except IntegrityError:
            dest.unlink()  # stale or corrupt copy: fetch again
    if is_offline():
        raise OfflineError(
            f"downloads are switched off ({OFFLINE_ENV}=1 or set_offline(True)), so {url} was not fetched; "
            f"unset {OFFLINE_ENV} (or call set_offline(False)) on a machine with internet, "
            f"or copy the file to {dest} by hand"
        )
    if not url.lower().startswith(("http://", "https://")):
        raise DownloadError(f"only http(s) URLs are supported, got {url!r}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if (resume and part.exists()) else 0
    resp = _open(url, start, timeout)
    with resp:
        status = getattr(resp, "status", None) or resp.getcode()
        total = None
        if status == 416:  # range starts past the end: complete if the server's total equals the partial size
            tail = resp.headers.get("Content-Range", "").rsplit("/", 1)[-1]
            if not (tail.isdigit() and int(tail) == start):
                part.unlink()  # partial file longer than the remote file: start over
                return download(url, dest, sha256=sha256, size=size, progress=progress, timeout=timeout,
                                resume=False)
            total, mode = start, "ab"
        elif status == 206:
            content_range = resp.headers.get("Content-Range", "")  # "bytes START-END/TOTAL"
            first = content_range.split(" ")[-1].split("-")[0]
            if not first.isdigit() or int(first) != start:
                raise DownloadError(f"{url}: server answered range {content_range!r} to a request from byte {start}")
            tail = content_range.rsplit("/", 1)[-1]
            total = int(tail) if tail.isdigit() else None
            mode = "ab"
        else:  # 200: full body (server ignored the range, or no partial file)
            start, mode = 0, "wb"
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        if size is not None and total is not None and total != size:
            raise IntegrityError(f"{url}: server reports {total} bytes, expected {size}; {fix}")
        _stream(resp if status != 416 else None, part, mode, start, total, progress, dest.name, url)
    got = part.stat().st_size
    if total is not None and got != total:
        raise DownloadError(
            f"{url}: transfer stopped at {got} of {total} bytes; rerun the same command to resume from {part}"
        )
    try:
        verify_file(part, sha256=sha256, size=size)
    except IntegrityError as err:
        part.unlink()
        raise IntegrityError(f"{err}; the file was deleted; {fix}") from None
    os.replace(part, dest)
    return dest


def _stream(resp, part: Path, mode: str, start: int, total: int | None, progress: bool, desc: str, url: str) -> None:
    """Append the response body to `part` with a progress bar; keep what arrived when the transfer breaks."""
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
               disable=not progress, leave=False)
    try:
        with open(part, mode) as f:
            while resp is not None:
                try:
                    block = resp.read(_CHUNK)
                except (OSError, ValueError, http.client.HTTPException) as err:  # cut short: keep the .part
                    raise DownloadError(
                        f"{url}: transfer interrupted after {f.tell()} bytes ({err}); rerun to resume from {part}"
                    ) from err
                if not block:
                    break
                f.write(block)
                bar.update(len(block))
    finally:
        bar.close()


def _check_member(dest: Path, name: str, link: str | None, hard: bool, links: set[str]) -> str | None:
    """Why the member `name` (a link to `link` when given) would leave `dest`, or None when it is safe."""
    posix = name.replace("\\", "/")
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        return "absolute path"
    parts = PurePosixPath(posix).parts
    if ".." in parts:
        return "'..' in path"
    for i in range(1, len(parts)):  # a path through a link of the archive could be redirected anywhere
        if "/".join(parts[:i]) in links:
            return f"path goes through the link {'/'.join(parts[:i])!r}"
    if link is not None:
        target = link.replace("\\", "/")
        if target.startswith("/") or (len(target) > 1 and target[1] == ":"):
            return f"link to absolute path {link!r}"
        base = dest if hard else (dest / posix).parent  # tar hard links are relative to the archive root
        resolved = Path(os.path.normpath(base / target))
        if resolved != dest and dest not in resolved.parents:
            return f"link target {link!r} leaves the folder"
    return None


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike) -> list[Path]:
    """Extract a zip or tar(.gz/.bz2/.xz) archive into `dest` after checking every member; return the files written.

    Refuses (UnsafeArchiveError, nothing written) absolute paths, '..' components, paths through links,
    symbolic or hard links whose target leaves `dest`, and device / FIFO members.
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    dest = Path(os.path.normpath(dest.resolve()))
    bad: list[str] = []
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            links = {i.filename.rstrip("/") for i in infos if stat.S_ISLNK(i.external_attr >> 16)}
            for info in infos:
                is_link = stat.S_ISLNK(info.external_attr >> 16)
                target = zf.read(info).decode("utf-8", "replace") if is_link else None
                why = _check_member(dest, info.filename, target, False, links - {info.filename.rstrip("/")})
                if why:
                    bad.append(f"{info.filename} ({why})")
            _refuse(archive, dest, bad)
            zf.extractall(dest)
            return [dest / i.filename for i in infos if not i.is_dir()]
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            links = {m.name.rstrip("/") for m in members if m.issym() or m.islnk()}
            for m in members:
                if not (m.isfile() or m.isdir() or m.issym() or m.islnk()):
                    bad.append(f"{m.name} (device, FIFO or other special file)")
                    continue
                link = m.linkname if (m.issym() or m.islnk()) else None
                why = _check_member(dest, m.name, link, m.islnk(), links - {m.name.rstrip("/")})
                if why:
                    bad.append(f"{m.name} ({why})")
            _refuse(archive, dest, bad)
            tf.extractall(dest, filter="data")  # second line of defence (Python's own checks)
            return [dest / m.name for m in members if m.isfile()]
    raise UnsafeArchiveError(f"{archive} is neither a zip nor a tar archive; delete it and download it again")


def _refuse(archive: Path, dest: Path, bad: list[str]) -> None:
    """Raise UnsafeArchiveError listing the offending members, if any."""
    if bad:
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise UnsafeArchiveError(
            f"refusing to extract {archive.name}: {len(bad)} member(s) would be written outside {dest}: {shown}. "
            "Nothing was extracted. Do not use this archive; download it again from the official source."
        )


def remove_tree(path: str | os.PathLike) -> None:
    """Delete a folder tree if it exists (used to drop extracted archives after preparation)."""
    shutil.rmtree(path, ignore_errors=True)


class DatasetNotPreparedError(FileNotFoundError):
    """A real dataset was asked for but is not downloaded and prepared."""


_REAL = {  # name -> (module, bundled offline alternative, rough download size)
    "bbbc021": ("bbbc021", "ihc-sr", "55 plate zips of roughly 0.8 GB each; "
                "download_dataset('bbbc021', plates=N) fetches only the first N"),
    "edges2shoes": ("edges2shoes", "ihc-edges", "one archive of roughly 2 GB"),
}


def not_prepared(name: str, root: str | os.PathLike | None, missing: Path) -> DatasetNotPreparedError:
    """The error for a real dataset that is not there: the exact download command and the bundled alternative."""
    _module, alternative, volume = _REAL[name]
    flag = "" if root is None or data_root(root) == data_root(None) else f" --root {root}"
    return DatasetNotPreparedError(
        f"the {name} dataset is not prepared ({missing} is missing). Download and prepare it once, on a machine "
        f"with internet ({volume}), with:\n    python -m spectral_collapse.cli download {name}{flag}\n"
        f"or use the bundled offline alternative: load_dataset({alternative!r})"
    )


def _module(name: str):
    if name not in _REAL:
        raise ValueError(f"unknown downloadable dataset {name!r}; valid names: {', '.join(sorted(_REAL))}")
    import importlib

    return importlib.import_module(f"{__package__}.{_REAL[name][0]}")


def download_dataset(name: str, root: str | os.PathLike | None = None, *, prepare: bool = True,
                     prepare_kw: dict | None = None, **kw) -> Path:
    """Download a real dataset under `root` (kw go to its downloader), then prepare it with prepare_kw.

    Returns the prepared folder, or the downloads folder when prepare=False.
    """
    mod = _module(name)
    path = mod.download(root, **kw)
    if prepare:
        path = mod.prepare(root, **{"progress": kw.get("progress", True), **(prepare_kw or {})})
    return path


def prepare_dataset(name: str, root: str | os.PathLike | None = None, **kw) -> Path:
    """Turn a real dataset's downloaded archives into the prepared images the loader reads; returns that folder."""
    return _module(name).prepare(root, **kw)
