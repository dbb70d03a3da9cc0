"""Safe, bounded extraction of the downloaded dataset archives (zip, tar, tar.gz / .bz2 / .xz).

Every member is checked from the headers before anything is written. Containment: tar members go through Python's
``data`` filter (no absolute paths, no ``..``, no links leaving the folder, no device files); zip names must be
relative paths without ``..`` (zipfile writes no links). Limits: at most ``max_members`` members (default 100,000;
Edges2Shoes has about 50,000), at most ``max_bytes`` uncompressed bytes (default 16 GiB; a BBBC021 plate is about
2 GB) and, above 64 MiB, at most ``max_ratio`` uncompressed bytes per archive byte (default 100; a zip bomb expands
thousands of times). zipfile and tarfile never write more than a member's header declares, so the header sums bound
what is written. On an error the target folder is removed when this call created it.
"""
from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

__all__ = ["UnsafeArchiveError", "ArchiveLimitError", "safe_extract"]

RATIO_FLOOR = 64 * 2**20  # the expansion ratio is checked once the archive expands to more than this


class UnsafeArchiveError(ValueError):
    """An archive holds members that would be written outside the target folder, or exceeds the limits."""


class ArchiveLimitError(UnsafeArchiveError):
    """An archive holds more members or more uncompressed bytes than the limits allow."""


def _check_limits(archive: Path, sizes: list[int], max_bytes: int, max_members: int, max_ratio: float) -> None:
    """Raise ArchiveLimitError when the members' declared sizes exceed the limits."""
    total, ratio = sum(sizes), sum(sizes) / max(archive.stat().st_size, 1)
    if len(sizes) > max_members:
        what = f"it holds more than {max_members} members (max_members=)"
    elif total > max_bytes:
        what = f"its members expand to more than {max_bytes / 2**20:.1f} MiB (max_bytes=)"
    elif total > RATIO_FLOOR and ratio > max_ratio:
        what = f"it expands {ratio:.0f} times, more than {max_ratio:g} (max_ratio=)"
    else:
        return
    raise ArchiveLimitError(f"refusing to extract {archive.name}: {what}. Nothing was kept. If the archive is "
                            "genuine, raise the limit; otherwise delete it and download it again from the official "
                            "source.")


def _zip_problem(name: str) -> str | None:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (parts and ":" in parts[0]):
        return "absolute path"
    return "'..' in path" if ".." in parts else None


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike, *, max_bytes: int = 16 * 2**30,
                 max_members: int = 100_000, max_ratio: float = 100.0) -> list[Path]:
    """Extract a zip or tar(.gz/.bz2/.xz) archive into ``dest`` after checking every member; the files written.

    Raises UnsafeArchiveError (a member leaving ``dest``) or ArchiveLimitError (over a limit) before writing.
    """
    archive, dest = Path(archive), Path(dest).resolve()
    if not (zipfile.is_zipfile(archive) or tarfile.is_tarfile(archive)):
        raise UnsafeArchiveError(f"{archive} is neither a zip nor a tar archive; delete it and download it again")
    created = not dest.exists()
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
                _check_limits(archive, [i.file_size for i in infos], max_bytes, max_members, max_ratio)
                bad = [f"{i.filename} ({why})" for i in infos if (why := _zip_problem(i.filename))]
                _refuse(archive, dest, bad)
                zf.extractall(dest)
                return [dest / i.filename for i in infos if not i.is_dir()]
        with tarfile.open(archive) as tf:
            members = []
            for m in tf:  # headers one by one: a flood of members stops at the limit
                members.append(m)
                if len(members) > max_members:
                    break
            _check_limits(archive, [m.size if m.isfile() else 0 for m in members], max_bytes, max_members, max_ratio)
            bad = []
            for m in members:
                try:
                    if tarfile.data_filter(m, str(dest)).name != m.name:  # the filter strips a leading "/"
                        bad.append(f"{m.name} (absolute path)")
                except tarfile.FilterError as err:
                    bad.append(f"{m.name} ({err})")
            _refuse(archive, dest, bad)
            tf.extractall(dest, members=members, filter="data")
            return [dest / m.name for m in members if m.isfile()]
    except BaseException:
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        raise


def _refuse(archive: Path, dest: Path, bad: list[str]) -> None:
    """Raise UnsafeArchiveError listing the offending members, if any."""
    if bad:
        shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise UnsafeArchiveError(
            f"refusing to extract {archive.name}: {len(bad)} member{'s' if len(bad) > 1 else ''} would be written "
            f"outside {dest}: {shown}. Nothing was extracted. Do not use this archive; download it again from the "
            "official source."
        )
