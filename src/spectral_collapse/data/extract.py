"""Safe, bounded extraction of the downloaded dataset archives (zip, tar, tar.gz / .bz2 / .xz).

Two kinds of check, both before anything is written:

* **containment**: no absolute paths, no ``..`` components, no paths through a link of the archive, no symbolic or
  hard links whose target leaves the folder, no device / FIFO members;
* **limits**, read from the archive's headers: at most ``max_members`` members (default 100,000; Edges2Shoes has
  about 50,000), at most ``max_bytes`` uncompressed bytes in all (default 16 GiB; a BBBC021 plate is about 2 GB,
  Edges2Shoes about 2.2 GB) and, above 64 MiB, at most ``max_ratio`` uncompressed bytes per byte of archive (default
  100; the real archives hold images and expand less than 3 times, a zip bomb expands thousands of times). Each
  limit is overridable by argument or by the environment variables ``SPECTRAL_COLLAPSE_MAX_EXTRACT_BYTES``,
  ``SPECTRAL_COLLAPSE_MAX_EXTRACT_MEMBERS`` and ``SPECTRAL_COLLAPSE_MAX_EXTRACT_RATIO``.

While writing, every member is copied with a byte budget: a member that grows past the size its header declares,
or past the total, stops the extraction. Whatever the call wrote before a refusal or an error (files, links and the
folders it created) is removed again.
"""
from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

__all__ = ["UnsafeArchiveError", "ArchiveLimitError", "safe_extract", "extract_limits", "MAX_BYTES_ENV",
           "MAX_MEMBERS_ENV", "MAX_RATIO_ENV", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_MEMBERS", "DEFAULT_MAX_RATIO"]

MAX_BYTES_ENV = "SPECTRAL_COLLAPSE_MAX_EXTRACT_BYTES"
MAX_MEMBERS_ENV = "SPECTRAL_COLLAPSE_MAX_EXTRACT_MEMBERS"
MAX_RATIO_ENV = "SPECTRAL_COLLAPSE_MAX_EXTRACT_RATIO"
DEFAULT_MAX_BYTES = 16 * 2**30  # total uncompressed bytes
DEFAULT_MAX_MEMBERS = 100_000
DEFAULT_MAX_RATIO = 100.0  # uncompressed bytes per archive byte ...
RATIO_FLOOR = 64 * 2**20  # ... checked once the archive expands to more than this
_LINK_MAX = 4096  # a zip "symlink" member holds its target as data: never read more than this
_CHUNK = 1 << 20


class UnsafeArchiveError(ValueError):
    """An archive holds members that would be written outside the target folder, or exceeds the limits."""


class ArchiveLimitError(UnsafeArchiveError):
    """An archive holds more members or more uncompressed bytes than the limits allow."""


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def _limit(value, env: str, default, kind=int):
    """The limit from the argument, else the environment variable, else the default; must be > 0."""
    source = "argument"
    if value is None:
        raw = os.environ.get(env, "").strip()
        if not raw:
            return default
        source = f"${env}"
        try:
            value = kind(float(raw)) if kind is int else kind(raw)
        except ValueError:
            raise ValueError(f"{env}={raw!r} is not a number; set it to a positive number or unset it") from None
    if isinstance(value, bool) or not value > 0:
        raise ValueError(f"extraction limit {value!r} (from the {source}) must be a positive number")
    return value


def extract_limits(max_bytes=None, max_members=None, max_ratio=None) -> dict:
    """The limits in force: arguments first, then the environment variables, then the defaults."""
    return {"max_bytes": _limit(max_bytes, MAX_BYTES_ENV, DEFAULT_MAX_BYTES),
            "max_members": _limit(max_members, MAX_MEMBERS_ENV, DEFAULT_MAX_MEMBERS),
            "max_ratio": _limit(max_ratio, MAX_RATIO_ENV, DEFAULT_MAX_RATIO, float)}


class _Budget:
    """Counts members and bytes against the limits; raises ArchiveLimitError naming the archive and the override."""

    def __init__(self, archive: Path, limits: dict):
        self.archive, self.limits = archive, limits
        self.members = self.bytes = 0
        self.archive_bytes = max(archive.stat().st_size, 1)

    def _refuse(self, what: str, limit: str, how: str) -> None:
        raise ArchiveLimitError(
            f"refusing to extract {self.archive.name}: {what}, over the limit of {limit} ({how}). Nothing was kept. "
            "If the archive is genuine, raise the limit; otherwise delete it and download it again from the "
            "official source."
        )

    def add_member(self) -> None:
        self.members += 1
        if self.members > self.limits["max_members"]:
            self._refuse(f"it holds more than {self.limits['max_members']} members", str(self.limits["max_members"]),
                         f"max_members= or ${MAX_MEMBERS_ENV}")

    def add_bytes(self, n: int, member: str = "") -> None:
        self.bytes += n
        if self.bytes > self.limits["max_bytes"]:
            where = f" (at member {member})" if member else ""
            self._refuse(f"its members expand to more than {_size(self.limits['max_bytes'])}{where}",
                         _size(self.limits["max_bytes"]), f"max_bytes= or ${MAX_BYTES_ENV}")
        ratio = self.bytes / self.archive_bytes
        if self.bytes > RATIO_FLOOR and ratio > self.limits["max_ratio"]:
            self._refuse(f"it expands {ratio:.0f} times ({_size(self.bytes)} from {_size(self.archive_bytes)})",
                         f"{self.limits['max_ratio']:g} times", f"max_ratio= or ${MAX_RATIO_ENV}")


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


def _refuse(archive: Path, dest: Path, bad: list[str]) -> None:
    """Raise UnsafeArchiveError listing the offending members, if any."""
    if bad:
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise UnsafeArchiveError(
            f"refusing to extract {archive.name}: {len(bad)} member{'s' if len(bad) > 1 else ''} would be written "
            f"outside {dest}: {shown}. "
            "Nothing was extracted. Do not use this archive; download it again from the official source."
        )


class _Writer:
    """Creates files and folders under `dest`, remembering each so that `undo` can remove them again."""

    def __init__(self, dest: Path, budget: _Budget):
        self.dest, self.budget = dest, budget
        self.files: list[Path] = []
        self.dirs: list[Path] = []

    def target(self, name: str) -> Path:
        path = Path(os.path.normpath(self.dest / name.replace("\\", "/")))
        if path != self.dest and self.dest not in path.parents:  # checked before; a second line of defence
            raise UnsafeArchiveError(f"member {name!r} would be written outside {self.dest}")
        return path

    def mkdir(self, path: Path) -> None:
        missing = []
        while not path.exists():
            missing.append(path)
            path = path.parent
        for p in reversed(missing):
            p.mkdir()
            self.dirs.append(p)

    def copy(self, src, name: str, declared: int) -> Path:
        path = self.target(name)
        self.mkdir(path.parent)
        self.files.append(path)
        written = 0
        with open(path, "wb") as out:
            while True:
                block = src.read(_CHUNK)
                if not block:
                    break
                written += len(block)
                if written > declared:
                    raise ArchiveLimitError(
                        f"refusing to extract {self.budget.archive.name}: member {name} expands past the "
                        f"{declared} bytes its header declares; the archive is corrupt or crafted. Nothing was kept. "
                        "Delete it and download it again from the official source."
                    )
                self.budget.add_bytes(len(block), name)
                out.write(block)
        return path

    def undo(self) -> None:
        for p in reversed(self.files):
            try:
                p.unlink()
            except OSError:
                pass
        for d in reversed(self.dirs):
            try:
                d.rmdir()
            except OSError:
                pass


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike, *, max_bytes: int | None = None,
                 max_members: int | None = None, max_ratio: float | None = None) -> list[Path]:
    """Extract a zip or tar(.gz/.bz2/.xz) archive into `dest` after checking every member; return the files written.

    Refuses (UnsafeArchiveError, nothing kept) absolute paths, '..' components, paths through links, symbolic or
    hard links whose target leaves `dest`, and device / FIFO members; refuses (ArchiveLimitError) archives over the
    member, size or expansion limits (see the module docstring), from the headers before writing and from the bytes
    while writing. On any error, what this call wrote is removed.
    """
    archive, dest = Path(archive), Path(dest)
    if not (zipfile.is_zipfile(archive) or tarfile.is_tarfile(archive)):
        raise UnsafeArchiveError(f"{archive} is neither a zip nor a tar archive; delete it and download it again")
    limits = extract_limits(max_bytes, max_members, max_ratio)
    dest = Path(os.path.normpath(dest.resolve()))
    writer = _Writer(dest, _Budget(archive, limits))
    try:
        writer.mkdir(dest)
        if zipfile.is_zipfile(archive):
            return _extract_zip(archive, dest, writer, limits)
        return _extract_tar(archive, dest, writer, limits)
    except BaseException:
        writer.undo()
        raise


def _extract_zip(archive: Path, dest: Path, writer: _Writer, limits: dict) -> list[Path]:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        declared = _Budget(archive, limits)  # the headers first: nothing is written when they exceed the limits
        for info in infos:
            declared.add_member()
            declared.add_bytes(info.file_size, info.filename)
        links = {i.filename.rstrip("/") for i in infos if stat.S_ISLNK(i.external_attr >> 16)}
        bad = []
        for info in infos:
            target = None
            if stat.S_ISLNK(info.external_attr >> 16):
                if info.file_size > _LINK_MAX:
                    bad.append(f"{info.filename} (a link of {info.file_size} bytes)")
                    continue
                target = zf.read(info).decode("utf-8", "replace")
            why = _check_member(dest, info.filename, target, False, links - {info.filename.rstrip("/")})
            if why:
                bad.append(f"{info.filename} ({why})")
        _refuse(archive, dest, bad)
        out = []
        for info in infos:
            writer.budget.add_member()
            if info.is_dir():
                writer.mkdir(writer.target(info.filename))
                continue
            with zf.open(info) as src:  # a zip "symlink" is written as a small file holding its target
                out.append(writer.copy(src, info.filename, info.file_size))
        return out


def _extract_tar(archive: Path, dest: Path, writer: _Writer, limits: dict) -> list[Path]:
    with tarfile.open(archive) as tf:
        declared, members = _Budget(archive, limits), []
        for m in tf:  # headers are read one by one: a flood of members stops at the limit
            declared.add_member()
            declared.add_bytes(m.size if m.isfile() else 0, m.name)
            members.append(m)
        links = {m.name.rstrip("/") for m in members if m.issym() or m.islnk()}
        bad = []
        for m in members:
            if not (m.isfile() or m.isdir() or m.issym() or m.islnk()):
                bad.append(f"{m.name} (device, FIFO or other special file)")
                continue
            link = m.linkname if (m.issym() or m.islnk()) else None
            why = _check_member(dest, m.name, link, m.islnk(), links - {m.name.rstrip("/")})
            if why:
                bad.append(f"{m.name} ({why})")
        _refuse(archive, dest, bad)
        out = []
        for m in members:
            writer.budget.add_member()
            if m.isdir():
                writer.mkdir(writer.target(m.name))
            elif m.isfile():
                src = tf.extractfile(m)
                with src:
                    out.append(writer.copy(src, m.name, m.size))
            else:  # a link that stays inside (checked above); Python's own "data" filter checks it again
                path = writer.target(m.name)
                writer.mkdir(path.parent)
                writer.files.append(path)
                tf.extract(m, dest, set_attrs=False, filter="data")
        return out
