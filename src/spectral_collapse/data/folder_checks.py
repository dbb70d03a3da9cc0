"""The checks ``load_folder`` runs on a user's image folders, and the record of the bytes each image was decoded from
while a study reads (``reading_for_study``).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from ..digest import read_sha256

__all__ = ["MIN_TARGET", "small_images", "duplicate_names", "pixel_digest", "repeated_images", "shared_with_training",
           "FLAT_STD", "FLOAT_SLACK", "out_of_range", "refuse_clipped", "check_target", "record_decoded",
           "study_reading", "reading_for_study", "changed_since_decoded", "FolderChangedError"]

FLAT_STD = 1e-3      # a channel whose standard deviation ([-1, 1] units) is at most this holds one value: flat
MIN_TARGET = 4       # textured target images a study needs: the realism reference and real sets take every second
FLOAT_SLACK = 1e-3   # a float image may pass [0, 1] by this much (round-off) before its values count as clipped
_LOGS: list[dict[str, str]] = []   # the open ``reading_for_study`` records


def small_images(sizes: dict[Path, tuple[int, int]], role: str, size: int, min_size: int, on_small: str,
                 bad: list[str]) -> dict[Path, tuple[int, int]]:
    """Refuse (or skip with a warning) images whose shorter side is below ``min_size``; warn about upscaling."""
    tiny = [p for p, hw in sizes.items() if min(hw) < min_size]
    if tiny:
        names = ", ".join(f"{p.name} ({sizes[p][1]}x{sizes[p][0]})" for p in tiny[:5])
        if on_small == "raise":
            raise ValueError(f"{len(tiny)} {role} image(s) have a side below {min_size} px (min_size): {names}; "
                             f"remove them, or pass on_small='skip' to leave them out with a warning")
        warnings.warn(f"left out {len(tiny)} {role} image(s) with a side below {min_size} px (min_size): {names}",
                      UserWarning, stacklevel=3)
        bad.extend(f"{p.name} (below min_size)" for p in tiny)
        sizes = {p: hw for p, hw in sizes.items() if p not in tiny}
    up = [p for p, hw in sizes.items() if min(hw) < size]
    if up:
        warnings.warn(f"{len(up)} {role} image(s) are smaller than {size} x {size} and are upscaled (e.g. "
                      f"{up[0].name}, {sizes[up[0]][1]}x{sizes[up[0]][0]}); pass a smaller size to avoid it",
                      UserWarning, stacklevel=3)
    return sizes


def duplicate_names(paths: list[Path], role: str, folder) -> list[str]:
    """Names that occur with several extensions in one folder: an error for test folders, else a warning."""
    stems: dict[str, list[str]] = {}
    for p in paths:
        stems.setdefault(p.stem, []).append(p.name)
    dup = {k: v for k, v in stems.items() if len(v) > 1}
    if not dup:
        return []
    names = "; ".join(" + ".join(v) for v in list(dup.values())[:5])
    if role.startswith("test"):
        raise ValueError(f"the {role} folder {folder} holds {len(dup)} name(s) with several extensions ({names}); "
                         f"test files are paired by name, so keep one file per name")
    warnings.warn(f"the {role} folder {folder} holds {len(dup)} name(s) with several extensions ({names}); both "
                  f"files are used. If they are one image in two formats, delete one", UserWarning, stacklevel=3)
    return sorted(dup)


def pixel_digest(x: torch.Tensor) -> str:
    """SHA-256 of one loaded image's pixels (float32, as the loader gives them)."""
    return hashlib.sha256(x.detach().cpu().contiguous().numpy().tobytes()).hexdigest()


def _listed(names: list[str], most: int = 4) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def repeated_images(images: dict[Path, torch.Tensor], role: str, folder) -> dict[str, list[Path]]:
    """Warn when a folder holds copies of one image (the same pixels); {pixel digest: paths} of every image."""
    groups: dict[str, list[Path]] = {}
    for p, x in images.items():
        groups.setdefault(pixel_digest(x), []).append(p)
    copies = sorted((v for v in groups.values() if len(v) > 1), key=len, reverse=True)
    if copies:
        extra = sum(len(v) - 1 for v in copies)
        parts = "; ".join(f"{len(v)} copies: {_listed([p.name for p in v])}" for v in copies[:3])
        warnings.warn(f"the {role} folder {folder} holds {extra + len(copies)} images that are copies of "
                      f"{len(copies)} (the same pixels; {parts}); each copy counts as another image. Keep one file of "
                      f"each", UserWarning, stacklevel=3)
    return groups


def shared_with_training(tests: list[tuple[str, torch.Tensor]], pool: dict[str, list[Path]], what: str,
                         role: str) -> None:
    """Warn when test images (name, pixels) are also training images of ``pool`` ({pixel digest: paths})."""
    shared = [(name, pool[pixel_digest(x)]) for name, x in tests if pixel_digest(x) in pool]
    if shared:
        pairs = _listed([f"{name} = {paths[0].name}" for name, paths in shared])
        warnings.warn(f"{len(shared)} of {len(tests)} {what} are also training images in {role}/ (the same pixels: "
                      f"{pairs}); their scores measure what the model remembers, not how it translates. Remove them "
                      f"from {role}/ or from the test folders", UserWarning, stacklevel=3)


def out_of_range(img) -> tuple[int, float, float]:
    """(how many values ``read_rgb`` would clip by more than ``FLOAT_SLACK``, the smallest and largest finite value)
    of a float (PIL mode F) image; (0, 0, 0) for other modes."""
    if img.mode != "F":
        return 0, 0.0, 0.0
    a = np.asarray(img, dtype=np.float64)
    finite = np.isfinite(a)
    n = int((~finite | (a < -FLOAT_SLACK) | (a > 1 + FLOAT_SLACK)).sum())
    return (n, float(a[finite].min()), float(a[finite].max())) if n and finite.any() else (n, 0.0, 0.0)


def refuse_clipped(clipped: dict[Path, tuple[int, float, float]], role: str, folder) -> None:
    """Raise when float images of a folder hold values outside [0, 1] (``out_of_range``): clipped, a 0..255 image would
    load as white."""
    bad = {p: c for p, c in clipped.items() if c[0]}
    if not bad:
        return
    n = sum(c[0] for c in bad.values())
    lo, hi = min(c[1] for c in bad.values()), max(c[2] for c in bad.values())
    raise ValueError(f"{len(bad)} float image(s) in the {role} folder {folder} hold {n:,} values outside [0, 1] (from "
                     f"{lo:g} to {hi:g}; e.g. {_listed([p.name for p in bad], 3)}) that loading would clip (0..255 "
                     f"floats load as white). Rescale them to [0, 1] (divide by 255 for 8-bit values, by 65535 for "
                     f"16-bit ones), or save them as 8- or 16-bit integer images")


def check_target(images: dict[Path, torch.Tensor], folder) -> None:
    """Refuse a target folder of fewer than ``MIN_TARGET`` images whose every channel varies (``FLAT_STD``): the realism
    reference and the real set (``framework.controls.realism_sets``) take every second one, 2 each."""
    n = len(images)
    if n < MIN_TARGET:
        raise ValueError(f"the target folder {folder} holds {n} image{'' if n == 1 else 's'} after loading; at least "
                         f"{MIN_TARGET} are needed (the realism scores compare two sets of at least 2 target images): "
                         f"add {MIN_TARGET - n} or more target images")
    std = torch.stack(list(images.values())).flatten(2).std(2)                       # (N, channels)
    textured = int((std > FLAT_STD).all(1).sum())
    if textured >= MIN_TARGET:
        return
    if textured == 0 and not (std > FLAT_STD).any():
        raise ValueError(f"every target image is flat after loading ({n} of {n} in {folder} hold one colour); the "
                         f"studies need target images with texture. Check the files: a float image holding another "
                         f"range than [0, 1], or an empty export, loads this way")
    raise ValueError(f"only {textured} of {n} target images in {folder} vary in every channel after loading (the "
                     f"others are flat or hold a channel of one value); the realism scores need at least {MIN_TARGET}. "
                     f"Add target images with texture in red, green and blue")


class FolderChangedError(RuntimeError):
    """Images of a data folder changed while a study read them: its results are not stored."""


def record_decoded(path: Path, data: bytes) -> None:
    """Note the SHA-256 of the bytes an image was decoded from in each open ``reading_for_study`` record."""
    if _LOGS:
        digest = hashlib.sha256(data).hexdigest()
        for log in list(_LOGS):
            log[os.path.abspath(path)] = digest


def study_reading() -> bool:
    """Whether a study is reading data now (a ``reading_for_study`` block is open)."""
    return bool(_LOGS)


@contextlib.contextmanager
def reading_for_study():
    """A study reads data within the block: yields {absolute path: SHA-256 of the bytes decoded} of every image
    ``load_folder`` decodes (which then also runs ``check_target``)."""
    log: dict[str, str] = {}
    _LOGS.append(log)
    try:
        yield log
    finally:
        _LOGS.remove(log)


def changed_since_decoded(log: dict[str, str]) -> list[str]:
    """The files of a ``reading_for_study`` record whose bytes now differ from those decoded (or that are gone)."""
    def same(path, digest):
        try:
            return read_sha256(path) == digest
        except OSError:
            return False

    return [path for path, digest in log.items() if not same(path, digest)]
