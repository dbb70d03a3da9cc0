"""Verified, resumable downloads for the real datasets (the archive checks are in ``extract.py``).

The paper's datasets (BBBC021, Edges2Shoes) are too large to bundle; users with internet fetch them once
with ``python -m spectral_collapse.cli download <name>``. Everything here follows these rules:

* a download streams into ``<dest>.part`` (tqdm bar) and is renamed to ``dest`` only after its size (the server's
  Content-Length and/or the caller's ``size``) and its SHA-256 (when one is expected) check out; a mismatch deletes
  the file and raises with both hashes and the fix. Which SHA-256 is expected is decided by ``lockfile.py``: a
  checksum the host publishes, else the one recorded in the lock file (``data/downloads.lock.json``) at the first
  complete download;
* plain ``http://`` is refused unless allowed explicitly (``allow_http=True``, ``download --allow-http`` or
  ``SPECTRAL_COLLAPSE_ALLOW_HTTP=1``): without transport security anything between the host and this machine can
  alter the file, and a first download records its hash as the reference;
* a partial ``.part`` file is resumed only when the server's strong ETag for the body it holds was recorded when it
  started (``<dest>.part.json``): the resume asks ``Range`` with ``If-Range``, so a server whose file changed sends
  the whole new file instead, and a ``206`` answer carrying another ETag restarts from zero. A server can also
  change a file and keep its ETag, so the resume asks again for the last ``RESUME_OVERLAP`` bytes (64 KiB) the
  ``.part`` holds and restarts from zero, with a warning, when they come back different or the file's total size
  differs from the one the transfer began with: a splice is caught where the two versions differ at the resume
  point or in length (a change confined to earlier bytes of a same-sized file is caught by the SHA-256, when one is
  expected: published, or recorded in the lock file). A ``.part`` without
  a recorded ETag (a server that sends only Last-Modified, whose one-second resolution cannot tell two versions
  written within a second apart) is discarded and fetched again from byte 0;
* a file that is already there and verifies is not fetched again (no request is made); one that does not verify
  is fetched again, with a warning;
* archives are extracted by :func:`safe_extract` (``extract.py``): contained, and bounded in members and bytes;
* ``SPECTRAL_COLLAPSE_OFFLINE=1`` (or :func:`set_offline`) makes every download raise at once.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from ..digest import read_sha256
from .extract import ArchiveLimitError, UnsafeArchiveError, safe_extract

__all__ = [
    "OFFLINE_ENV", "DATA_ROOT_ENV", "DownloadError", "OfflineError", "IntegrityError", "UnsafeArchiveError",
    "ArchiveLimitError", "DatasetNotPreparedError", "set_offline", "is_offline", "data_root", "sha256_file",
    "verify_file", "download", "safe_extract", "download_dataset", "prepare_dataset", "not_prepared",
]

OFFLINE_ENV = "SPECTRAL_COLLAPSE_OFFLINE"  # "1" / "true" / "yes" forbids every download (tests and CI set it)
DATA_ROOT_ENV = "SPECTRAL_COLLAPSE_DATA"  # default root for raw datasets when no root is passed
_OFFLINE_OVERRIDE: bool | None = None  # set_offline(); None = follow the environment variable
_CHUNK = 1 << 20
RESUME_OVERLAP = 64 << 10  # bytes a resume asks for again, to check they are the ones the partial file ends with


class DownloadError(RuntimeError):
    """A download failed (network, HTTP status, interrupted transfer)."""


class OfflineError(DownloadError):
    """A download was requested while downloads are switched off."""


class IntegrityError(DownloadError):
    """A downloaded file does not have the expected size or SHA-256."""


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
    """Hex SHA-256 of a file, read now in 1 MiB chunks."""
    return read_sha256(path)


def verify_file(path: str | os.PathLike, *, sha256: str | None = None, size: int | None = None,
                expected_from: str = "the sha256 argument", label: str | None = None) -> None:
    """Raise IntegrityError unless the file has the given size and SHA-256 (each check only when given).

    The message names the file (``label``, default its path), both values, and where the expected one comes from.
    """
    path = Path(path)
    label = label or str(path)
    if size is not None and path.stat().st_size != size:
        raise IntegrityError(f"{label}: size {path.stat().st_size} bytes, expected {size} ({expected_from})")
    if sha256 is not None:
        got = sha256_file(path)
        if got.lower() != sha256.lower():
            raise IntegrityError(f"{label}: SHA-256 {got}, expected {sha256.lower()} ({expected_from})")


HTTP_ENV = "SPECTRAL_COLLAPSE_ALLOW_HTTP"


def _http_allowed(allow_http: bool | None) -> bool:
    if allow_http is not None:
        return bool(allow_http)
    return os.environ.get(HTTP_ENV, "").strip() not in ("", "0")


def _strong(etag: str | None) -> str | None:
    """The ETag when it is a strong validator (If-Range accepts only those), else None."""
    return etag if etag and not etag.startswith("W/") else None


def _validator(headers) -> dict:
    return {"etag": _strong(headers.get("ETag")), "last_modified": headers.get("Last-Modified")}


def _discard(part: Path, meta: Path) -> None:
    part.unlink(missing_ok=True)
    meta.unlink(missing_ok=True)


def _resume_point(part: Path, meta: Path, url: str) -> tuple[int, str | None]:
    """(bytes to keep, If-Range validator) of a partial file; one without a recorded validator is discarded."""
    if not part.exists() or part.stat().st_size == 0:
        _discard(part, meta)
        return 0, None
    try:
        info = json.loads(meta.read_text())
    except (OSError, ValueError):
        info = None
    if not isinstance(info, dict) or info.get("url") != url or not info.get("etag"):
        # only a strong ETag proves the server still has the same file: a Last-Modified date has one-second
        # resolution, so a file replaced within that second would be spliced; start over instead
        _discard(part, meta)
        return 0, None
    return part.stat().st_size, info["etag"]


def _recorded_total(meta: Path) -> int | None:
    """The total size the server gave when the partial file's transfer began (None when not recorded)."""
    try:
        total = json.loads(meta.read_text()).get("total")
    except (OSError, ValueError, AttributeError):
        return None
    return total if isinstance(total, int) else None


def _seam_matches(resp, part: Path, overlap: int) -> bool:
    """Read the ``overlap`` bytes the server sent again and compare them with the end of the partial file."""
    got = b""
    while len(got) < overlap:
        block = resp.read(overlap - len(got))
        if not block:
            break
        got += block
    with open(part, "rb") as f:
        f.seek(-overlap, os.SEEK_END)
        return f.read(overlap) == got


def _same_body(headers, validator: str | None) -> bool:
    """False when the answer names another version of the file than the one the partial file holds."""
    if validator is None:
        return True
    got = _validator(headers)
    if validator.startswith('"'):
        return got["etag"] in (None, validator)
    return got["last_modified"] in (None, validator)


def _open(url: str, start: int, validator: str | None, timeout: float):
    """Open `url`, asking for bytes from `start` on (If-Range: validator) when start > 0; returns the response."""
    req = urllib.request.Request(url, headers={"User-Agent": "spectral-collapse-downloader"})
    if start > 0:
        req.add_header("Range", f"bytes={start}-")
        if validator:
            req.add_header("If-Range", validator)
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (http/https only, checked by caller)
    except urllib.error.HTTPError as err:
        if err.code == 416 and start > 0:
            return err  # range past the end: the partial file may already be complete
        raise DownloadError(f"HTTP {err.code} {err.reason} for {url}; check the URL or try again later") from err
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        raise DownloadError(f"cannot reach {url}: {err}; check your connection (or the proxy) and retry") from err
    if url.lower().startswith("https://") and not resp.geturl().lower().startswith("https://"):
        resp.close()
        raise DownloadError(f"{url} redirected to {resp.geturl()}, which is not HTTPS; refusing the downgrade "
                            "(use an https:// mirror, or that address itself if you trust it)")
    return resp


def download(
    url: str,
    dest: str | os.PathLike,
    *,
    sha256: str | None = None,  # expected hex digest; checked before the file is used
    size: int | None = None,  # expected size in bytes; the server's Content-Length is always checked too
    progress: bool = True,  # tqdm progress bar on stderr
    timeout: float = 30,  # seconds per socket operation
    resume: bool = True,  # continue an existing <dest>.part (Range + If-Range) when its validator was recorded
    expected_from: str = "the sha256 argument",  # where `sha256` comes from, for the messages
    fix: str | None = None,  # what a mismatch message tells the user to do
    allow_http: bool | None = None,  # plain http:// (no transport security); None: $SPECTRAL_COLLAPSE_ALLOW_HTTP
) -> Path:
    """Fetch `url` to `dest` once, verified; return dest. Idempotent: a present, verifying dest is not re-fetched."""
    dest = Path(dest)
    fix = fix or f"delete {dest} and rerun, or check the expected value (the file on the server may have changed)"
    again = dict(sha256=sha256, size=size, progress=progress, timeout=timeout, expected_from=expected_from, fix=fix,
                 allow_http=allow_http)
    if dest.exists():
        try:
            verify_file(dest, sha256=sha256, size=size, expected_from=expected_from)
            return dest  # already downloaded and verified: no request
        except IntegrityError as err:
            warnings.warn(f"{err}; fetching it again", RuntimeWarning, stacklevel=2)
            dest.unlink()  # stale or corrupt copy: fetch again
    if is_offline():
        raise OfflineError(
            f"downloads are switched off ({OFFLINE_ENV}=1 or set_offline(True)), so {url} was not fetched; "
            f"unset {OFFLINE_ENV} (or call set_offline(False)) on a machine with internet, "
            f"or copy the file to {dest} by hand"
        )
    if not url.lower().startswith(("http://", "https://")):
        raise DownloadError(f"only http(s) URLs are supported, got {url!r}")
    if url.lower().startswith("http://") and not _http_allowed(allow_http):
        raise DownloadError(f"refusing plain http for {url}: nothing protects the file on its way (a cache or a "
                            f"network in between can alter it). Use an https:// address, or allow http explicitly "
                            f"(allow_http=True, `download --allow-http`, or {HTTP_ENV}=1)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part, meta = dest.with_name(dest.name + ".part"), dest.with_name(dest.name + ".part.json")
    start, validator = _resume_point(part, meta, url) if resume else (_discard(part, meta) or 0, None)
    overlap = min(start, RESUME_OVERLAP)
    resp = _open(url, start - overlap, validator, timeout)
    with resp:
        status = getattr(resp, "status", None) or resp.getcode()
        total = None
        if status == 416:  # range starts past the end: the remote file is shorter than the partial one
            _discard(part, meta)
            return download(url, dest, resume=False, **again)
        elif status == 206:
            content_range = resp.headers.get("Content-Range", "")  # "bytes START-END/TOTAL"
            first = content_range.split(" ")[-1].split("-")[0]
            if not first.isdigit() or int(first) != start - overlap:
                raise DownloadError(f"{url}: server answered range {content_range!r} to a request from byte "
                                    f"{start - overlap}")
            tail = content_range.rsplit("/", 1)[-1]
            total = int(tail) if tail.isdigit() else None
            if not _same_body(resp.headers, validator):  # the server ignored If-Range: never splice two versions
                _discard(part, meta)
                return download(url, dest, resume=False, **again)
            if total != _recorded_total(meta) or not _seam_matches(resp, part, overlap):
                warnings.warn(f"{url} changed on the server since {part} was started, under the same ETag; "
                              f"fetching it again from the start", RuntimeWarning, stacklevel=2)
                _discard(part, meta)
                return download(url, dest, resume=False, **again)
            mode = "ab"
        else:  # 200: full body (no partial file, a changed file under If-Range, or a server without ranges)
            start, mode = 0, "wb"
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            meta.write_text(json.dumps({"url": url, "total": total, **_validator(resp.headers)}))  # the .part's origin
        if size is not None and total is not None and total != size:
            raise IntegrityError(f"{url}: server reports {total} bytes, expected {size}; {fix}")
        _stream(resp, part, mode, start, total, progress, dest.name, url)
    got = part.stat().st_size
    if total is not None and got != total:
        raise DownloadError(
            f"{url}: transfer stopped at {got} of {total} bytes; rerun the same command to resume from {part}"
        )
    try:
        verify_file(part, sha256=sha256, size=size, expected_from=expected_from, label=f"{dest} (from {url})")
    except IntegrityError as err:
        _discard(part, meta)
        raise IntegrityError(f"{err}; the file was deleted; {fix}") from None
    os.replace(part, dest)
    meta.unlink(missing_ok=True)
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
