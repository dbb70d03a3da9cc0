"""A user's own data as unpaired domains: a source folder (label 0), a target folder (label 1), paired test folders.

Layout (flat folders, hidden files ignored, sorted by name)::

    <root>/source/       source-domain images (e.g. low-resolution or sketches), label 0
    <root>/target/       target-domain images, label 1 (different scenes from source/: the pools are unpaired)
    <root>/test_source/  optional paired test inputs ...
    <root>/test_target/  ... and their ground truth, matched by file name without extension

Rules (each a keyword with a documented default):

* Image mode -> RGB: 8-bit modes (L, 1, P, CMYK, YCbCr, ...) go through ``PIL.Image.convert("RGB")``
  (grey is copied to the three channels); 16/32-bit integer modes (I;16, I) are divided by 65535, float
  mode F is read as [0, 1]; both are clipped to [0, 1] and copied to three channels; an alpha channel
  (RGBA, LA, PA, transparent P) is composited over a white background. Multi-frame files give their first frame.
* Geometry: images are centre-cropped to a square (the shorter side) and resized to ``size`` x ``size``
  (bilinear with antialiasing, values clipped to [0, 1]); images already ``size`` x ``size`` are untouched.
  Images of different sizes within one set are an error unless ``on_size_mismatch="resize"``.
* Corrupt or unreadable files: ``on_corrupt="skip"`` drops them with one warning that gives the count and
  names (recorded in ``meta["skipped"]``; a broken test file drops its pair), ``"raise"`` stops at the first.
* ``size`` must be divisible by the SR ``factor`` (checked before any image is decoded).
* Task: ``task`` declares what the folders hold (default "generic"): a ``Task``, a kind string ("sr" takes
  ``factor``), or a dict {"kind" or "task": kind, "factor": int}. ``factor`` fills in an "sr" task given without
  one; an "sr" task's own factor wins over ``factor`` (``load_dataset`` always passes its default factor) and is
  then the factor checked against ``size`` and used by ``degrade_source``.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch

from .degrade import nearest_downup
from .unpaired import Task, UnpairedDomains

__all__ = ["IMAGE_EXTENSIONS", "load_folder", "list_images", "read_rgb", "fit_square", "to_tensor",
           "check_factor", "split_indices"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".ppm", ".pgm")
_CORRUPT_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)
_FIX = "delete or replace it, or pass on_corrupt='skip'"


def check_factor(size: int, factor: int | None) -> None:
    """Raise ValueError unless factor is None or a positive integer dividing size."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    if factor is None:
        return
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"factor must be an integer >= 1, got {factor!r}")
    if size % factor:
        lo = size - size % factor
        raise ValueError(f"image size {size} is not divisible by the SR factor {factor}; use size={lo or factor} "
                         f"or {lo + factor}, or a factor that divides {size}")


def list_images(folder: str | os.PathLike, role: str = "image") -> list[Path]:
    """Image files directly inside `folder`, sorted by name; clear errors for missing, unreadable or empty folders."""
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise FileNotFoundError(f"{role} folder {folder} does not exist; pass the folder that holds your {role} images")
    if not folder.is_dir():
        raise NotADirectoryError(f"{role} folder {folder} is a file, not a folder; pass its parent folder instead")
    try:
        entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except PermissionError as err:
        raise PermissionError(f"cannot list the {role} folder {folder} (permission denied); "
                              f"make it readable (chmod u+rx) or copy the images elsewhere") from err
    images = [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    if not images:
        others = [p.name for p in entries]
        seen = f"; it holds {len(others)} other entries, e.g. {', '.join(others[:3])}" if others else "; it is empty"
        raise ValueError(f"no images in the {role} folder {folder}{seen}. Expected files ending in "
                         f"{', '.join(IMAGE_EXTENSIONS)}")
    return images


def read_rgb(img) -> np.ndarray:
    """A PIL image as float32 (H, W, 3) in [0, 1] following the module's mode rule."""
    from PIL import Image

    mode = img.mode
    if mode.startswith("I") or mode == "F":
        a = np.asarray(img, dtype=np.float32)
        a = a / 65535.0 if mode.startswith("I") else a
        a = np.clip(np.nan_to_num(a, nan=0.0), 0.0, 1.0)
        return np.repeat(a[..., None], 3, axis=-1)
    if mode == "P" and "transparency" in img.info:
        img, mode = img.convert("RGBA"), "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def fit_square(x: torch.Tensor, size: int, mode: str = "bilinear") -> torch.Tensor:
    """Centre-crop (..., C, H, W) to a square and resize to size x size (antialiased unless mode is 'area')."""
    h, w = x.shape[-2:]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    x = x[..., top:top + s, left:left + s]
    if s == size:
        return x
    batch = x.reshape(-1, *x.shape[-3:])
    if mode == "area":
        out = torch.nn.functional.interpolate(batch, size=(size, size), mode="area")
    else:
        out = torch.nn.functional.interpolate(batch, size=(size, size), mode=mode, antialias=True,
                                              align_corners=False)
    return out.reshape(*x.shape[:-2], size, size)


def to_tensor(arrays: list[np.ndarray]) -> torch.Tensor:
    """A list of (H, W, 3) float arrays in [0, 1] -> float32 (N, 3, H, W) in [-1, 1]."""
    x = torch.from_numpy(np.stack(arrays).astype(np.float32)).permute(0, 3, 1, 2)
    return (x.clamp(0, 1) * 2 - 1).contiguous()


def split_indices(n: int, seed: int, fractions: tuple[float, ...]) -> list[np.ndarray]:
    """A seeded permutation of range(n) cut into consecutive disjoint parts of the given fractions (sorted indices)."""
    perm = np.random.default_rng(seed).permutation(n)
    bounds = np.round(np.cumsum((0.0,) + tuple(fractions)) * n).astype(int)
    bounds[-1] = n if abs(sum(fractions) - 1) < 1e-9 else bounds[-1]
    return [np.sort(perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _scan(paths: list[Path], on_corrupt: str, bad: list[str]) -> dict[Path, tuple[int, int]]:
    """Read only the header of every file: {path: (H, W)}; files that cannot be opened are skipped or raised."""
    from PIL import Image

    sizes = {}
    for p in paths:
        try:
            with Image.open(p) as img:
                sizes[p] = (img.size[1], img.size[0])
        except _CORRUPT_ERRORS as err:
            if on_corrupt == "raise":
                raise ValueError(f"cannot read image {p}: {err}; {_FIX}") from err
            bad.append(f"{p.name} ({type(err).__name__})")
    return sizes


def _decode(paths, size: int, on_corrupt: str, bad: list[str]) -> dict[Path, torch.Tensor]:
    """Decode, convert and fit every image; files with corrupt pixel data are skipped or raised."""
    from PIL import Image

    out = {}
    for p in paths:
        try:
            with Image.open(p) as img:
                img.load()
                arr = read_rgb(img)
        except _CORRUPT_ERRORS as err:
            if on_corrupt == "raise":
                raise ValueError(f"cannot decode image {p}: {err}; {_FIX}") from err
            bad.append(f"{p.name} ({type(err).__name__})")
            continue
        out[p] = fit_square(to_tensor([arr])[0], size).clamp(-1, 1)
    return out


def _check_sizes(sizes: dict[Path, tuple[int, int]], role: str, on_size_mismatch: str) -> dict[str, int]:
    """Raise when one set mixes image sizes (unless resizing is allowed); returns the size histogram."""
    hist: dict[tuple[int, int], list[str]] = {}
    for p, hw in sizes.items():
        hist.setdefault(hw, []).append(p.name)
    if len(hist) > 1 and on_size_mismatch == "raise":
        parts = [f"{h}x{w}: {len(v)} (e.g. {v[0]})" for (h, w), v in sorted(hist.items(), key=lambda kv: -len(kv[1]))]
        raise ValueError(f"the {role} images have {len(hist)} different sizes ({'; '.join(parts)}); "
                         "make them one size, or pass on_size_mismatch='resize' to centre-crop and resize every "
                         "image to size x size")
    return {f"{h}x{w}": len(v) for (h, w), v in hist.items()}


def load_folder(
    root: str | os.PathLike | None = None,
    *,
    size: int = 64,  # output images are size x size
    factor: int | None = None,  # SR factor that must divide size; also the degradation when degrade_source
    source: str | os.PathLike | None = None,  # default <root>/source
    target: str | os.PathLike | None = None,  # default <root>/target
    test_source: str | os.PathLike | None = None,  # default <root>/test_source when it exists
    test_target: str | os.PathLike | None = None,  # default <root>/test_target when it exists
    on_corrupt: str = "skip",  # "skip" (warn with a count) | "raise"
    on_size_mismatch: str = "raise",  # "raise" | "resize" when one set mixes image sizes
    degrade_source: bool = False,  # apply nearest_downup(factor) to source and test_source (HR-only folders)
    name: str = "folder",
    task: Task | dict | str | None = None,  # "sr" (with a factor), "edges", or "generic" (None: default)
) -> UnpairedDomains:
    """Load a user's source / target folders (and the paired test folders) as UnpairedDomains in [-1, 1]."""
    if on_corrupt not in ("skip", "raise"):
        raise ValueError(f"on_corrupt must be 'skip' or 'raise', got {on_corrupt!r}")
    if on_size_mismatch not in ("raise", "resize"):
        raise ValueError(f"on_size_mismatch must be 'raise' or 'resize', got {on_size_mismatch!r}")
    task = Task.parse(task, factor=factor)
    if task.kind == "sr":
        factor = task.factor
    check_factor(size, factor)
    if degrade_source and factor is None:
        raise ValueError("degrade_source=True needs an SR factor; pass e.g. factor=4")
    base = Path(root).expanduser() if root is not None else None
    if base is not None and not base.is_dir():
        raise FileNotFoundError(f"data folder {base} does not exist; pass root= the folder that holds source/, target/, "
                                f"test_source/ and test_target/ (or pass those folders one by one)")
    if base is None and (source is None or target is None):
        raise ValueError("pass root= (a folder with source/ and target/) or both source= and target= folders")
    dirs = {"source": source, "target": target, "test_source": test_source, "test_target": test_target}
    for key, val in dirs.items():
        if val is None and base is not None and (key in ("source", "target") or (base / key).is_dir()):
            dirs[key] = base / key
    if (dirs["test_source"] is None) != (dirs["test_target"] is None):
        raise ValueError("pass both test_source and test_target folders (paired by file name), or neither")
    if dirs["test_source"] is None:
        raise ValueError("a paired test split is needed for the reference metrics: add test_source/ and "
                         "test_target/ folders with matching file names (or pass test_source= and test_target=)")
    files = {k: list_images(v, k.replace("_", " ")) for k, v in dirs.items()}
    stems_s = {p.stem: p for p in files["test_source"]}
    stems_t = {p.stem: p for p in files["test_target"]}
    unmatched = sorted(set(stems_s) ^ set(stems_t))
    if unmatched:
        raise ValueError(f"test_source and test_target must hold the same file names (extension aside); "
                         f"{len(unmatched)} unmatched, e.g. {', '.join(unmatched[:5])}")
    skipped = {key: [] for key in files}
    headers = {key: _scan(paths, on_corrupt, skipped[key]) for key, paths in files.items()}
    sizes = {key: _check_sizes(h, key.replace("_", " "), on_size_mismatch) for key, h in headers.items()}
    decoded = {key: _decode(list(h), size, on_corrupt, skipped[key]) for key, h in headers.items()}
    pairs = [(stems_s[s], stems_t[s]) for s in sorted(stems_s)
             if stems_s[s] in decoded["test_source"] and stems_t[s] in decoded["test_target"]]
    n_skipped = sum(len(v) for v in skipped.values())
    if n_skipped:
        names = "; ".join(f"{k}: {', '.join(v[:3])}" for k, v in skipped.items() if v)
        warnings.warn(f"skipped {n_skipped} unreadable image(s) ({names}); pass on_corrupt='raise' to stop instead",
                      stacklevel=2)
    for key in ("source", "target"):
        if not decoded[key]:
            raise ValueError(f"no readable images left in the {key} folder {dirs[key]} (all {len(files[key])} skipped)")
    if not pairs:
        raise ValueError("no readable test pairs left in test_source / test_target")
    stack = lambda d: torch.stack(list(d.values()))  # noqa: E731
    src, tgt = stack(decoded["source"]), stack(decoded["target"])
    t_src = torch.stack([decoded["test_source"][a] for a, _ in pairs])
    t_tgt = torch.stack([decoded["test_target"][b] for _, b in pairs])
    if degrade_source:
        src, t_src = nearest_downup(src, factor), nearest_downup(t_src, factor)
    meta = {"dataset": name, "folders": {k: str(v) for k, v in dirs.items()}, "size": int(size),
            "factor": None if factor is None else int(factor), "degrade_source": bool(degrade_source),
            "original_sizes": sizes, "skipped": skipped,
            "counts": {"source": len(src), "target": len(tgt), "test": len(pairs)},
            "test_names": [a.stem for a, _ in pairs], "labels": {"source": 0, "target": 1, "null": 2},
            "rules": "RGB by the folder.py mode rule; centre-crop to square; bilinear antialiased resize",
            "description": f"user folders {dirs['source']} -> {dirs['target']}"}
    return UnpairedDomains(name, int(size), src, tgt, t_src, t_tgt, meta, task=task)
