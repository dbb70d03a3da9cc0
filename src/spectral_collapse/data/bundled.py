"""Datasets built from images shipped inside installed packages: no download, usable offline and in tests.

Both cut ``skimage.data.immunohistochemistry()`` (512 x 512 RGB, courtesy of CMMI, no known copyright restrictions)
into disjoint column bands (``IHC_REGIONS``): target pool, source pool, paired test tiles. ``ihc-sr`` degrades by
nearest-neighbour down/up sampling (the paper's SR task), ``ihc-edges`` by a Canny edge sketch.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from .degrade import edge_map, nearest_downup
from .unpaired import DATASETS, Task, UnpairedDomains, check_sr_factor, load_dataset, register_dataset

__all__ = ["ihc_image", "IHC_REGIONS", "ihc_sr", "ihc_edges", "extract_crops", "load_dataset", "DATASETS"]

IHC_REGIONS = {  # [start, stop) in pixels of the 512 x 512 image
    "target": {"rows": [0, 512], "cols": [0, 256]},
    "source": {"rows": [0, 512], "cols": [256, 384]},
    "test": {"rows": [0, 512], "cols": [384, 512]},
}
IHC_CREDIT = ("Immunohistochemistry image courtesy of the Center for Microscopy and Molecular Imaging (CMMI), "
              "distributed with scikit-image (skimage.data.immunohistochemistry); no known copyright restrictions")
_MAX_SIZE = 128  # width of the narrowest band


@functools.lru_cache(maxsize=1)
def ihc_image() -> torch.Tensor:
    """The bundled IHC image as float32 (3, 512, 512) in [-1, 1]."""
    from skimage import data  # local import: scikit-image is heavy

    arr = np.asarray(data.immunohistochemistry(), dtype=np.float32)  # (512, 512, 3) uint8 values
    return torch.from_numpy(arr / 127.5 - 1.0).permute(2, 0, 1).contiguous()


def extract_crops(img: torch.Tensor, region: dict, size: int, stride: int) -> tuple[torch.Tensor, dict]:
    """All size x size crops of ``img[:, rows, cols]`` at the given stride, row-major, and their origins as ranges."""
    (r0, r1), (c0, c1) = region["rows"], region["cols"]
    band = img[:, r0:r1, c0:c1]
    crops = band.unfold(1, size, stride).unfold(2, size, stride)  # (C, nr, nc, size, size)
    nr, nc = crops.shape[1], crops.shape[2]
    crops = crops.permute(1, 2, 0, 3, 4).reshape(nr * nc, img.shape[0], size, size).contiguous()
    origins = {"rows": [r0, r0 + (nr - 1) * stride + 1, stride], "cols": [c0, c0 + (nc - 1) * stride + 1, stride]}
    return crops, origins  # origins: python range(*rows) x range(*cols), row-major


def _check(size, factor, stride, uses_factor: bool) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 8 <= size <= _MAX_SIZE:
        raise ValueError(f"size must be an integer in [8, {_MAX_SIZE}] for the bundled IHC image, got {size!r}")
    if uses_factor:
        check_sr_factor(factor)
        if size % factor:
            raise ValueError(f"size {size} is not a multiple of factor {factor}; use e.g. size={size - size % factor or factor}")
    stride = size // 4 if stride is None else stride
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be an integer >= 1 (default size // 4), got {stride!r}")
    return int(stride)


def _meta(name, size, stride, origins, counts, **extra) -> dict:
    return {"dataset": name, "image": "skimage.data.immunohistochemistry() (512x512 RGB)", "size": int(size),
            "stride": int(stride), "regions": IHC_REGIONS, "crop_origins": origins, "counts": counts,
            "labels": {"source": 0, "target": 1, "null": 2}, "licence": "no known copyright restrictions",
            "credit": IHC_CREDIT, **extra}


@functools.lru_cache(maxsize=16)
def _split(size: int, stride: int):
    img = ihc_image()
    tgt, o_tgt = extract_crops(img, IHC_REGIONS["target"], size, stride)
    src, o_src = extract_crops(img, IHC_REGIONS["source"], size, stride)
    test, o_test = extract_crops(img, IHC_REGIONS["test"], size, size)
    return tgt, src, test, {"target": o_tgt, "source": o_src, "test": o_test}


@functools.lru_cache(maxsize=16)
def _ihc_sr(size: int, factor: int, stride: int) -> UnpairedDomains:
    tgt, src, test, origins = _split(size, stride)
    counts = {"source": len(src), "target": len(tgt), "test": len(test)}
    meta = _meta("ihc-sr", size, stride, origins, counts, factor=int(factor),
                 degradation=f"nearest_downup(factor={factor}): top-left pixel of each block, repeated",
                 description=f"x{factor} nearest-neighbour super-resolution on IHC tissue crops")
    return UnpairedDomains("ihc-sr", size, nearest_downup(src, factor), tgt, nearest_downup(test, factor), test, meta,
                           task=Task("sr", int(factor)))


def ihc_sr(*, size: int = 32, factor: int = 4, stride: int | None = None) -> UnpairedDomains:
    """×``factor`` SR: source = nearest_downup of source-band crops, target = clean target-band crops (cached)."""
    stride = _check(size, factor, stride, True)
    return _ihc_sr(int(size), int(factor), stride)


@functools.lru_cache(maxsize=16)
def _ihc_edges(size: int, stride: int, canny: tuple) -> UnpairedDomains:
    tgt, src, test, origins = _split(size, stride)
    kw = dict(canny)
    counts = {"source": len(src), "target": len(tgt), "test": len(test)}
    meta = _meta("ihc-edges", size, stride, origins, counts, factor=None, canny=kw,
                 degradation="edge_map: Canny edges of the luminance, dark on white",
                 description="edges -> tissue translation on IHC crops (Edges2Shoes-like)")
    return UnpairedDomains("ihc-edges", size, edge_map(src, **kw), tgt, edge_map(test, **kw), test, meta,
                           task=Task("edges"))


def ihc_edges(*, size: int = 32, factor: int = 4, stride: int | None = None, **canny) -> UnpairedDomains:
    """Edges -> tissue: source = edge_map of source-band crops (``canny`` goes to edge_map), target = clean crops."""
    stride = _check(size, factor, stride, False)
    return _ihc_edges(int(size), stride, tuple(sorted(canny.items())))


register_dataset("ihc-sr", ihc_sr)
register_dataset("ihc-edges", ihc_edges)
