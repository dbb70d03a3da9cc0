"""Safe extraction of the real datasets' zip and tar archives: every member's header is checked (containment and
size limits) before anything is written.
"""
from __future__ import annotations

import itertools
import os
import shutil
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

__all__ = ["UnsafeArchiveError", "ArchiveLimitError", "safe_extract"]


class UnsafeArchiveError(ValueError):
    """An archive holds members that would be written outside the target folder, or exceeds the limits."""


class ArchiveLimitError(UnsafeArchiveError):
    """An archive holds more members or more uncompressed bytes than the limits allow."""


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike, *, max_bytes: int = 16 * 2**30,
                 max_members: int = 100_000, max_ratio: float = 100.0) -> list[Path]:
    """Extract a zip or tar archive into ``dest`` once every member's header passes; the files written.
    UnsafeArchiveError when a member would leave ``dest``; ArchiveLimitError past ``max_members`` (Edges2Shoes has about
    50,000), ``max_bytes`` (a BBBC021 plate is about 2 GB) or, above 64 MiB, ``max_ratio`` times the archive's size (a
    zip bomb). On an error the target folder is removed if this call made it."""
    archive, dest = Path(archive), Path(dest).resolve()
    is_zip = zipfile.is_zipfile(archive)
    if not (is_zip or tarfile.is_tarfile(archive)):
        raise UnsafeArchiveError(f"{archive} is neither a zip nor a tar archive; delete it and download it again")
    created = not dest.exists()
    try:
        with zipfile.ZipFile(archive) if is_zip else tarfile.open(archive) as arc:
            if is_zip:
                members = arc.infolist()
                sizes = [m.file_size for m in members]
            else:  # headers one by one: a flood of members stops at the limit
                members = list(itertools.islice(arc, max_members + 1))
                sizes = [m.size if m.isfile() else 0 for m in members]
            total, ratio = sum(sizes), sum(sizes) / max(archive.stat().st_size, 1)
            limit = (f"it holds more than {max_members} members (max_members=)" if len(sizes) > max_members else
                     f"its members expand to more than {max_bytes / 2**20:.1f} MiB (max_bytes=)" if total > max_bytes
                     else f"it expands {ratio:.0f} times, more than {max_ratio:g} (max_ratio=)"
                     if total > 64 * 2**20 and ratio > max_ratio else None)
            if limit:
                raise ArchiveLimitError(f"refusing to extract {archive.name}: {limit}. Nothing was kept. If the "
                                        "archive is genuine, raise the limit; otherwise delete it and download it "
                                        "again from the official source.")
            bad = [f"{m.filename} ({why})" for m in members if (why := _zip_problem(m.filename))] if is_zip else []
            for m in [] if is_zip else members:
                try:
                    if tarfile.data_filter(m, str(dest)).name != m.name:  # the filter strips a leading "/"
                        bad.append(f"{m.name} (absolute path)")
                except tarfile.FilterError as err:
                    bad.append(f"{m.name} ({err})")
            if bad:
                shown = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
                raise UnsafeArchiveError(
                    f"refusing to extract {archive.name}: {len(bad)} member{'s' if len(bad) > 1 else ''} would be "
                    f"written outside {dest}: {shown}. Nothing was extracted. Do not use this archive; download it "
                    "again from the official source.")
            if is_zip:
                arc.extractall(dest)
                return [dest / m.filename for m in members if not m.is_dir()]
            arc.extractall(dest, members=members, filter="data")
            return [dest / m.name for m in members if m.isfile()]
    except BaseException:
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        raise


def _zip_problem(name: str) -> str | None:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or (parts and ":" in parts[0]):
        return "absolute path"
    return "'..' in path" if ".." in parts else None
