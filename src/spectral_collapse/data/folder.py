"""A user's own data as unpaired domains: a source folder (label 0), a target folder (label 1), optional test folders.

Layout: ``<root>/source/``, ``<root>/target/`` (unpaired), optionally ``<root>/test_source/`` and
``<root>/test_target/`` (paired by file name without extension). Images become RGB in [-1, 1], turned upright (EXIF),
centre-cropped and resized to ``size``; sizes are read from the headers before decoding. Without test folders a seeded
``test_fraction`` of source/ becomes test inputs without ground truth. In the studies: ``dataset = "folder:<root>"``,
``load_folder``'s keywords as ``data_options``; ``meta`` holds no absolute path and carries ``fingerprint``, the sha256
of the four arrays.
"""
from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import torch

from .degrade import nearest_downup
from .folder_checks import (check_target, duplicate_names, out_of_range, record_decoded, refuse_clipped,
                            repeated_images, shared_with_training, small_images, study_reading)
from .unpaired import Task, UnpairedDomains, check_sr_factor

__all__ = ["IMAGE_EXTENSIONS", "MAX_PIXELS", "MAX_TOTAL_PIXELS", "MIN_SIZE", "load_folder", "list_images", "read_rgb",
           "fit_square", "to_tensor", "check_factor", "split_indices"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif", ".ppm", ".pgm")
_CORRUPT_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)
_FIX = "delete or replace it, or pass on_corrupt='skip'"


def check_factor(size: int, factor: int | None) -> None:
    """Raise ValueError unless factor is None or a positive integer dividing size."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive integer, got {size!r}")
    if factor is None:
        return
    check_sr_factor(factor)
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
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in img.info):
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
    kw = {} if mode == "area" else {"antialias": True, "align_corners": False}
    out = torch.nn.functional.interpolate(x.reshape(-1, *x.shape[-3:]), size=(size, size), mode=mode, **kw)
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


ORIENTATION = 0x0112   # the EXIF tag; values 5-8 swap width and height


def _orientation(img, header: bool = False) -> int:
    """The EXIF orientation of a PIL image (1 when none); ``header``: without decoding pixels (a PNG reads 1)."""
    from PIL import Image

    try:
        if "exif" in img.info:
            exif = Image.Exif()
            exif.load(img.info["exif"])
        elif header and img.format not in ("TIFF", "MPO"):
            return 1
        else:
            exif = img.getexif()
        return int(exif.get(ORIENTATION, 1) or 1)
    except Exception:  # an EXIF block that cannot be parsed: the image as stored
        return 1


MAX_PIXELS = 16 * 1024 * 1024  # pixels per image read from the header; more is refused before decoding
MAX_TOTAL_PIXELS = 2 * 1024**3  # pixels of all images of a dataset's folders, from the headers; likewise
MIN_SIZE = 8                    # shortest accepted image side in pixels


def _each(paths, on_corrupt: str, bad: list[str], verb: str, read, signed: bool = False) -> dict:
    """{path: read(the opened PIL image)} of the files that open, the others skipped (named in ``bad``) or raised;
    ``signed``: decoded from the bytes recorded (``record_decoded``)."""
    from PIL import Image

    out = {}
    for p in paths:
        try:
            if signed:
                data = Path(p).read_bytes()
                record_decoded(p, data)
            with Image.open(io.BytesIO(data) if signed else p) as img:
                out[p] = read(img)
        except _CORRUPT_ERRORS as err:
            if on_corrupt == "raise":
                raise ValueError(f"cannot {verb} image {p}: {err}; {_FIX}") from err
            bad.append(f"{p.name} ({type(err).__name__})")
    return out


def _scan(paths: list[Path], on_corrupt: str, bad: list[str], max_pixels: int) -> dict[Path, tuple[int, int]]:
    """{path: (H, W)} from the headers only (upright); a file over ``max_pixels`` raises before any decoding."""
    sizes = _each(paths, on_corrupt, bad, "read",  # upright: orientations 5-8 swap width and height
                  lambda img: img.size if _orientation(img, header=True) in (5, 6, 7, 8) else img.size[::-1])
    for p, (h, w) in sizes.items():
        if w * h > max_pixels:
            raise ValueError(f"image {p} is {w} x {h} = {w * h:,} pixels by its header, over the limit of "
                             f"{max_pixels:,} (max_pixels); it was not decoded. Downscale or tile it first, or pass "
                             f"a larger max_pixels if the file is genuine")
    return sizes


def _decoded(img, size: int) -> tuple[torch.Tensor, tuple[int, float, float]]:
    """One image decoded, upright, converted and fitted to size x size; with what ``out_of_range`` finds."""
    from PIL import ImageOps

    img.load()
    clipped = out_of_range(img)
    img = ImageOps.exif_transpose(img) if _orientation(img) != 1 else img
    return fit_square(to_tensor([read_rgb(img)])[0], size).clamp(-1, 1), clipped


def _check_total(headers: dict, max_total_pixels: int) -> None:
    """Raise, before anything is decoded, when all images together hold more than ``max_total_pixels``."""
    every = [(h * w, p) for sizes in headers.values() for p, (h, w) in sizes.items()]
    total = sum(n for n, _ in every)
    if total > max_total_pixels:
        big = ", ".join(f"{p.name} ({n:,})" for n, p in sorted(every, key=lambda t: -t[0])[:3])
        raise ValueError(f"the folders hold {total:,} pixels in {len(every)} images by their headers, over the budget "
                         f"of {max_total_pixels:,} (max_total_pixels); nothing was decoded. Largest: {big}. "
                         f"Downscale the images (they are resized to the model's size anyway), use fewer, or pass "
                         f"a larger max_total_pixels")


def _check_sizes(sizes: dict[Path, tuple[int, int]], role: str, on_size_mismatch: str) -> dict[str, int]:
    """Raise when one set mixes image sizes (unless resizing is allowed); returns the size histogram."""
    hist: dict[tuple[int, int], list[str]] = {}
    for p, hw in sizes.items():
        hist.setdefault(hw, []).append(p.name)
    if len(hist) > 1 and on_size_mismatch == "raise":
        parts = [f"{h}x{w}: {len(v)} (e.g. {v[0]})" for (h, w), v in sorted(hist.items(), key=lambda kv: -len(kv[1]))]
        raise ValueError(f"the {role} images have {len(hist)} different sizes ({'; '.join(parts)}); "
                         "make them one size, or pass on_size_mismatch='resize' to centre-crop and resize every "
                         "image to size × size")
    return {f"{h}x{w}": len(v) for (h, w), v in hist.items()}


def _fingerprint(*tensors: torch.Tensor) -> str:
    h = hashlib.sha256()
    for t in tensors:
        a = t.detach().cpu().contiguous()
        h.update(f"{a.dtype}:{tuple(a.shape)};".encode())
        h.update(a.numpy().tobytes())
    return h.hexdigest()


def _check_options(on_corrupt, on_size_mismatch, on_small, seed, test_fraction, max_pixels, min_size,
                   max_total_pixels) -> None:
    for what, value, valid in (("on_corrupt", on_corrupt, ("skip", "raise")),
                               ("on_size_mismatch", on_size_mismatch, ("raise", "resize")),
                               ("on_small", on_small, ("raise", "skip"))):
        if value not in valid:
            raise ValueError(f"{what} must be {' or '.join(map(repr, valid))}, got {value!r}")
    for what, value, lo in (("seed", seed, 0), ("max_pixels", max_pixels, 1), ("min_size", min_size, 1),
                             ("max_total_pixels", max_total_pixels, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
            raise ValueError(f"{what} must be an integer >= {lo}, got {value!r}")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be a number in (0, 1), got {test_fraction!r}")


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
    seed: int = 0,  # the test split's draw: order of the test pairs, or which source images are held out
    test_fraction: float = 0.2,  # without test folders: share of source/ held out as test inputs (at least one)
    max_pixels: int = MAX_PIXELS,  # largest accepted image (pixels, from the header, before decoding)
    min_size: int = MIN_SIZE,  # smallest accepted image side in pixels
    on_small: str = "raise",  # "raise" | "skip" (with a warning) for images below min_size
    max_total_pixels: int = MAX_TOTAL_PIXELS,  # all images together (pixels, from the headers, before decoding)
) -> UnpairedDomains:
    """Load a user's source / target folders (and the optional paired test folders) as UnpairedDomains in [-1, 1]."""
    _check_options(on_corrupt, on_size_mismatch, on_small, seed, test_fraction, max_pixels, min_size,
                   max_total_pixels)
    task = Task.parse(task, factor=factor)
    if task.kind == "sr":
        factor = task.factor
    check_factor(size, factor)
    if degrade_source and factor is None:
        raise ValueError("degrade_source=True needs an SR factor; pass e.g. factor=4")
    base = Path(root).expanduser() if root is not None else None
    if base is not None and not base.is_dir():
        raise FileNotFoundError(f"data folder {base} does not exist; pass root= the folder that holds source/, "
                                f"target/, test_source/ and test_target/ (or pass those folders one by one)")
    if base is None and (source is None or target is None):
        raise ValueError("pass root= (a folder with source/ and target/) or both source= and target= folders")
    dirs = {"source": source, "target": target, "test_source": test_source, "test_target": test_target}
    for key, val in dirs.items():
        if val is None and base is not None and (key in ("source", "target") or (base / key).is_dir()):
            dirs[key] = base / key
    if (dirs["test_source"] is None) != (dirs["test_target"] is None):
        have, miss = ("test_source", "test_target") if dirs["test_target"] is None else ("test_target", "test_source")
        raise ValueError(f"found {have} ({dirs[have]}) but no {miss}: the test folders are paired by file name, so "
                         f"add {miss}/ with the same names, or remove {have}/ to run without paired metrics")
    paired = dirs["test_source"] is not None
    dirs = {k: v for k, v in dirs.items() if v is not None}
    roles = {k: k.replace("_", " ") for k in dirs}
    files = {k: list_images(v, roles[k]) for k, v in dirs.items()}
    dups = {k: duplicate_names(paths, roles[k], dirs[k]) for k, paths in files.items()}
    if paired:
        stems_s = {p.stem: p for p in files["test_source"]}
        stems_t = {p.stem: p for p in files["test_target"]}
        unmatched = sorted(set(stems_s) ^ set(stems_t))
        if unmatched:
            raise ValueError(f"test_source and test_target must hold the same file names (extension aside); "
                             f"{len(unmatched)} unmatched, e.g. {', '.join(unmatched[:5])}")
    skipped = {key: [] for key in files}
    small = {key: [] for key in files}  # left out below min_size (on_small="skip"), warned about by small_images
    from PIL import Image

    # PIL's decompression-bomb check is off while the loader applies its own max_pixels from the headers
    with mock.patch.object(Image, "MAX_IMAGE_PIXELS", None):
        headers = {key: _scan(paths, on_corrupt, skipped[key], max_pixels) for key, paths in files.items()}
        _check_total(headers, max_total_pixels)
        headers = {key: small_images(h, roles[key], size, min_size, on_small, small[key]) for key, h in headers.items()}
        sizes = {key: _check_sizes(h, roles[key], on_size_mismatch) for key, h in headers.items()}
        decoded = {key: _each(list(h), on_corrupt, skipped[key], "decode", lambda img: _decoded(img, size),
                              signed=True) for key, h in headers.items()}
    for key, d in decoded.items():
        refuse_clipped({p: c for p, (_, c) in d.items()}, roles[key], dirs[key])
    decoded = {key: {p: x for p, (x, _) in d.items()} for key, d in decoded.items()}
    n_skipped = sum(len(v) for v in skipped.values())
    if n_skipped:
        names = "; ".join(f"{k}: {', '.join(v[:3])}" for k, v in skipped.items() if v)
        warnings.warn(f"skipped {n_skipped} unreadable image{'s' if n_skipped > 1 else ''} ({names}); pass "
                      "on_corrupt='raise' to stop instead", stacklevel=2)
    skipped = {key: skipped[key] + small[key] for key in files}
    for key in ("source", "target"):
        if not decoded[key]:
            raise ValueError(f"no readable images left in the {key} folder {dirs[key]} (all {len(files[key])} skipped)")
    if study_reading():   # a study compares sets of target images: the folder must hold MIN_TARGET with texture
        check_target(decoded["target"], dirs["target"])
    rng = np.random.default_rng(int(seed))
    src_paths = list(decoded["source"])
    if paired:
        pairs = [(stems_s[s], stems_t[s]) for s in sorted(stems_s)
                 if stems_s[s] in decoded["test_source"] and stems_t[s] in decoded["test_target"]]
        if not pairs:
            raise ValueError("no readable test pairs left in test_source / test_target")
        pairs = [pairs[i] for i in rng.permutation(len(pairs))]
        t_src = torch.stack([decoded["test_source"][a] for a, _ in pairs])
        t_tgt = torch.stack([decoded["test_target"][b] for _, b in pairs])
        test_names = [a.stem for a, _ in pairs]
        split = f"paired test folders in a seeded random order (seed {seed})"
    else:
        n = len(src_paths)
        k = max(1, int(round(test_fraction * n)))
        held = [int(i) for i in rng.permutation(n)[:k]]
        t_src = torch.stack([decoded["source"][src_paths[i]] for i in held])
        t_tgt = torch.full_like(t_src, float("nan"))
        test_names = [src_paths[i].stem for i in held]
        if n > k:
            src_paths = [p for i, p in enumerate(src_paths) if i not in held]
        else:
            warnings.warn(f"the source folder {dirs['source']} holds {n} image(s): the test input stays in the "
                          f"training pool; add images or test folders", UserWarning, stacklevel=2)
        split = (f"no test folders: {k} of {n} source images drawn (seed {seed}, test_fraction {test_fraction}) as "
                 f"test inputs{', held out of the source pool' if n > k else ''}; no ground truth, so no paired "
                 f"metrics")
    by_pixels = {key: repeated_images(decoded[key], roles[key], dirs[key]) for key in ("source", "target")}
    if paired or len(src_paths) < len(decoded["source"]):  # (a lone source image stays in the pool, said above)
        kept = set(src_paths)
        pool = {d: left for d, v in by_pixels["source"].items() if (left := [p for p in v if p in kept])}
        shared_with_training(list(zip(test_names, t_src)), pool, "test inputs", "source")
    if paired:
        shared_with_training(list(zip(test_names, t_tgt)), by_pixels["target"], "test ground truths", "target")
    src = torch.stack([decoded["source"][p] for p in src_paths])
    tgt = torch.stack(list(decoded["target"].values()))
    if degrade_source:
        src, t_src = nearest_downup(src, factor), nearest_downup(t_src, factor)
    meta = {"dataset": name, "folders": {k: Path(v).name for k, v in dirs.items()}, "size": int(size),
            "factor": None if factor is None else int(factor), "degrade_source": bool(degrade_source),
            "original_sizes": sizes, "skipped": skipped, "duplicate_names": {k: v for k, v in dups.items() if v},
            "counts": {"source": len(src), "target": len(tgt), "test": len(t_src)}, "paired": paired,
            "test_split": split, "seed": int(seed), "test_names": test_names,
            "labels": {"source": 0, "target": 1, "null": 2},
            "rules": "RGB by the folder.py mode rule; centre-crop to square; bilinear antialiased resize",
            "description": f"user folders {Path(dirs['source']).name}/ -> {Path(dirs['target']).name}/"
                           + ("" if paired else " (no paired test split)"),
            "fingerprint": _fingerprint(src, tgt, t_src, t_tgt)}
    origin = {"folders": {k: str(Path(v).expanduser().resolve()) for k, v in dirs.items()}}
    return UnpairedDomains(name, int(size), src, tgt, t_src, t_tgt, meta, task=task, paired=paired, origin=origin)
