"""Datasets built from images shipped inside installed packages: no download, usable offline and in tests.

Both cut ``skimage.data.immunohistochemistry()`` (512 x 512 RGB, courtesy of CMMI, no known copyright restrictions) into
disjoint column bands (``IHC_REGIONS``): target pool, source pool, paired test tiles; ``ihc-sr`` degrades by nearest
down/up sampling, ``ihc-edges`` by a Canny edge sketch.
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from .degrade import edge_map, nearest_downup
from .unpaired import Task, UnpairedDomains, check_sr_factor, register_dataset

__all__ = ["ihc_image", "IHC_REGIONS", "ihc_sr", "ihc_edges", "extract_crops"]

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
            raise ValueError(f"size {size} is not a multiple of factor {factor}; use e.g. "
                             f"size={size - size % factor or factor}")
    stride = size // 4 if stride is None else stride
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be an integer >= 1 (default size // 4), got {stride!r}")
    return int(stride)


@functools.lru_cache(maxsize=32)
def _ihc(name: str, size: int, stride: int, factor: int | None, canny: tuple) -> UnpairedDomains:
    """The IHC dataset ``name`` (cached): band crops, source and test inputs degraded by its task."""
    img = ihc_image()
    tgt, o_tgt = extract_crops(img, IHC_REGIONS["target"], size, stride)
    src, o_src = extract_crops(img, IHC_REGIONS["source"], size, stride)
    test, o_test = extract_crops(img, IHC_REGIONS["test"], size, size)
    if name == "ihc-sr":
        degrade, task = functools.partial(nearest_downup, factor=factor), Task("sr", factor)
        extra = dict(factor=factor,
                     degradation=f"nearest_downup(factor={factor}): top-left pixel of each block, repeated",
                     description=f"x{factor} nearest-neighbour super-resolution on IHC tissue crops")
    else:
        degrade, task = functools.partial(edge_map, **dict(canny)), Task("edges")
        extra = dict(factor=None, canny=dict(canny),
                     degradation="edge_map: Canny edges of the luminance, dark on white",
                     description="edges -> tissue translation on IHC crops (Edges2Shoes-like)")
    meta = {"dataset": name, "image": "skimage.data.immunohistochemistry() (512x512 RGB)", "size": int(size),
            "stride": int(stride), "regions": IHC_REGIONS,
            "crop_origins": {"target": o_tgt, "source": o_src, "test": o_test},
            "counts": {"source": len(src), "target": len(tgt), "test": len(test)},
            "labels": {"source": 0, "target": 1, "null": 2}, "licence": "no known copyright restrictions",
            "credit": IHC_CREDIT, **extra}
    return UnpairedDomains(name, size, degrade(src), tgt, degrade(test), test, meta, task=task)


def ihc_sr(*, size: int = 32, factor: int = 4, stride: int | None = None) -> UnpairedDomains:
    """×``factor`` SR: source = nearest_downup of source-band crops, target = clean target-band crops (cached)."""
    stride = _check(size, factor, stride, True)
    return _ihc("ihc-sr", int(size), stride, int(factor), ())


def ihc_edges(*, size: int = 32, factor: int = 4, stride: int | None = None, **canny) -> UnpairedDomains:
    """Edges -> tissue: source = edge_map of source-band crops (``canny`` goes to edge_map), target = clean crops."""
    stride = _check(size, factor, stride, False)
    return _ihc("ihc-edges", int(size), stride, None, tuple(sorted(canny.items())))


register_dataset("ihc-sr", ihc_sr)
register_dataset("ihc-edges", ihc_edges)
