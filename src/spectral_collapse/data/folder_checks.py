"""The checks ``load_folder`` runs on a user's image folders: images below the smallest accepted size (refused or
left out) or upscaled, names given with several extensions, copies of one image within a folder, and test images
that are also training images (each warned about, or refused where the test pairing needs it).
"""
from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import torch

__all__ = ["small_images", "duplicate_names", "pixel_digest", "repeated_images", "shared_with_training"]


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
    """Warn when a folder holds copies of one image (the same pixels under several names); {digest: paths} of
    every image by its pixel digest."""
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
