"""Edges2Shoes (Isola et al. 2017, pix2pix; photos from UT Zappos50K) as strictly unpaired edges -> shoe translation.

A seeded permutation splits the training pairs into two halves: the first gives its edge maps (source), the second
its photos (target); the ``val/`` pairs are the paired test split. ``download`` -> ``prepare`` -> ``load_edges2shoes``.
"""
from __future__ import annotations

import json
import os
import shutil
import re
from pathlib import Path

import torch

from .download import check_download, data_root, fetch, not_prepared
from .extract import safe_extract
from .folder import IMAGE_EXTENSIONS, check_factor, fit_square, read_rgb, split_indices, to_tensor
from .unpaired import Task, UnpairedDomains

__all__ = ["URL", "ARCHIVE", "download", "prepare", "load_edges2shoes", "split_pair"]

# The pix2pix authors' dataset server (github.com/phillipi/pix2pix, datasets/download_pix2pix_dataset.sh), over HTTPS
URL = "https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/edges2shoes.tar.gz"
URL_ENV = "SPECTRAL_COLLAPSE_EDGES2SHOES_URL"  # overrides URL (mirrors, tests)
ARCHIVE = "edges2shoes.tar.gz"
CREDIT = ("Edges2Shoes from pix2pix (Isola et al., CVPR 2017); shoe photos from UT Zappos50K (Yu and Grauman, "
          "CVPR 2014); edges by HED (Xie and Tu, ICCV 2015)")


def _dirs(root) -> tuple[Path, Path]:
    base = data_root(root) / "edges2shoes"
    return base / "downloads", base / "prepared"


def download(root=None, *, url: str | None = None, sha256: str | None = None, size: int | None = None,
             progress: bool = True, timeout: float = 30) -> Path:
    """Fetch edges2shoes.tar.gz, verified against sha256 / size when given, else against the lock file."""
    url = url or os.environ.get(URL_ENV) or URL
    dl, _ = _dirs(root)
    return fetch(url, dl / ARCHIVE, key=f"edges2shoes/{ARCHIVE}", dataset="edges2shoes", root=root, sha256=sha256,
                 size=size, progress=progress, timeout=timeout)


def _images(folder: Path) -> list[Path]:
    """The images in ``folder`` in natural order (2.jpg before 10.jpg)."""
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS),
                  key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)])


def prepare(root=None, *, progress: bool = True) -> Path:
    """Check the archive's hash, extract it into <root>/edges2shoes/prepared/ and write prepared.json; an archive
    without the expected layout leaves nothing behind."""
    dl, prep = _dirs(root)
    manifest = prep / "prepared.json"
    if manifest.exists():
        return prep
    if not (dl / ARCHIVE).exists():
        raise not_prepared("edges2shoes", root, dl / ARCHIVE)
    check_download(dl / ARCHIVE, key=f"edges2shoes/{ARCHIVE}", dataset="edges2shoes", root=root)
    shutil.rmtree(prep, ignore_errors=True)  # no manifest: whatever is there is left from an interrupted preparation
    safe_extract(dl / ARCHIVE, prep)
    try:
        info = _index(dl, prep)
    except BaseException:
        shutil.rmtree(prep, ignore_errors=True)
        raise
    tmp = manifest.with_name("prepared.json.tmp")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, manifest)
    return prep


def _index(dl: Path, prep: Path) -> dict:
    """The train / val file lists of an extracted archive (checks the layout and the side-by-side pair shape)."""
    found = {}
    for split in ("train", "val"):
        dirs = sorted(d for d in prep.rglob(split) if d.is_dir() and _images(d))
        if not dirs:
            raise ValueError(f"{dl / ARCHIVE} has no {split}/ folder of images; delete it and download it again")
        found[split] = dirs[0]
    from PIL import Image

    with Image.open(_images(found["train"])[0]) as img:
        w, h = img.size
    if w != 2 * h:
        raise ValueError(f"expected side-by-side pairs twice as wide as high, got {w}x{h} in {found['train']}")
    info = {split: [str(p.relative_to(prep)) for p in _images(d)] for split, d in found.items()}
    info.update(pair_size=[h, w], credit=CREDIT)
    return info


def split_pair(path: Path, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One side-by-side JPEG -> (edges, photo), each float32 (3, size, size) in [-1, 1]."""
    from PIL import Image

    with Image.open(path) as img:
        arr = read_rgb(img)
    w = arr.shape[1] // 2
    halves = to_tensor([arr[:, :w], arr[:, w:2 * w]])
    return tuple(fit_square(halves, size).clamp(-1, 1))


def load_edges2shoes(
    *,
    size: int = 256,  # output size (pairs are 256 x 256 per half)
    factor: int | None = None,  # unused by the translation task; checked to divide size when given
    root: str | os.PathLike | None = None,  # raw data root (default $SPECTRAL_COLLAPSE_DATA or ./data/raw)
    split_seed: int = 0,  # seed of the split of training pairs into the edge half and the photo half
    max_per_pool: int | None = None,  # cap on the source and target pools; None = all (~24.9k each)
    max_test: int | None = None,  # cap on the paired val split; None = all 200
) -> UnpairedDomains:
    """Prepared Edges2Shoes: edge maps of one half of the training pairs (label 0), photos of the other (label 1)."""
    check_factor(size, factor)
    _, prep = _dirs(root)
    if not (prep / "prepared.json").exists():
        raise not_prepared("edges2shoes", root, prep / "prepared.json")
    info = json.loads((prep / "prepared.json").read_text())
    train = [prep / p for p in info["train"]]
    if len(train) < 2:
        raise ValueError(f"Edges2Shoes at {prep} has {len(train)} training pair(s); at least 2 are needed")
    edge_idx, photo_idx = split_indices(len(train), split_seed, (0.5, 0.5))
    edge_files = [train[i] for i in edge_idx][:max_per_pool]
    photo_files = [train[i] for i in photo_idx][:max_per_pool]
    val = [prep / p for p in info["val"]][:max_test]
    src = torch.stack([split_pair(p, size)[0] for p in edge_files])
    tgt = torch.stack([split_pair(p, size)[1] for p in photo_files])
    pairs = [split_pair(p, size) for p in val]
    t_src, t_tgt = torch.stack([a for a, _ in pairs]), torch.stack([b for _, b in pairs])
    meta = {"dataset": "edges2shoes", "size": int(size), "factor": None if factor is None else int(factor),
            "root": str(prep), "split_seed": int(split_seed),
            "counts": {"source": len(src), "target": len(tgt), "test": len(val)},
            "test_files": [p.name for p in val], "labels": {"source": 0, "target": 1, "null": 2},
            "unpaired": "each training pair contributes only its edge map or only its photo",
            "description": "edges -> shoe photo translation (pix2pix Edges2Shoes, strictly unpaired)",
            "credit": CREDIT}
    return UnpairedDomains("edges2shoes", int(size), src, tgt, t_src, t_tgt, meta, task=Task("edges"))
