"""Bundled datasets, degradations and the UnpairedDomains contract."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from skimage import color, data, feature

from spectral_collapse.data import (DATASETS, Task, UnpairedDomains, dihedral, edge_map, load_dataset,
                                    nearest_downup, register_dataset)

NAMES = ["ihc-sr", "ihc-edges"]


def _raw_image() -> np.ndarray:
    """Independent copy of the bundled image, (3, 512, 512) float32 in [-1, 1]."""
    return (data.immunohistochemistry().astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)


def _origins(meta: dict, pool: str) -> list[tuple[int, int]]:
    o = meta["crop_origins"][pool]
    return [(r, c) for r in range(*o["rows"]) for c in range(*o["cols"])]


# ---------------------------------------------------------------- degradations

@pytest.mark.parametrize("factor", [1, 2, 4, 8])
def test_nearest_downup_matches_numpy_reference(factor):
    x = torch.randn(2, 3, 16, 24, generator=torch.Generator().manual_seed(factor))
    ref = np.repeat(np.repeat(x.numpy()[..., ::factor, ::factor], factor, axis=-2), factor, axis=-1)
    out = nearest_downup(x, factor)
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(out.numpy(), ref)


def test_nearest_downup_idempotent_and_identity_at_factor_one():
    x = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    y = nearest_downup(x, 4)
    assert torch.equal(nearest_downup(y, 4), y)
    assert torch.equal(nearest_downup(x, 1), x)
    assert not torch.equal(y, x)
    # every 4x4 block is constant and equals its top-left pixel
    blocks = y.reshape(3, 8, 4, 8, 4)
    assert torch.equal(blocks, blocks[:, :, :1, :, :1].expand_as(blocks))


@pytest.mark.parametrize("factor", [0, -2, 3, 2.0, True])
def test_nearest_downup_rejects_bad_factor(factor):
    with pytest.raises(ValueError, match="factor"):
        nearest_downup(torch.zeros(1, 3, 32, 32), factor)


def test_nearest_downup_error_says_the_fix():
    with pytest.raises(ValueError, match="does not divide.*32x32"):
        nearest_downup(torch.zeros(3, 32, 32), 5)


def test_edge_map_step_edge_is_dark_on_white():
    img = -torch.ones(3, 32, 32)
    img[:, :, 16:] = 1.0  # vertical step between columns 15 and 16
    e = edge_map(img)
    assert e.shape == (3, 32, 32) and e.dtype == torch.float32
    assert torch.equal(e[0], e[1]) and torch.equal(e[1], e[2])
    assert set(e.unique().tolist()) <= {-1.0, 1.0}
    edge_cols = torch.nonzero((e[0] == -1).any(dim=0)).flatten().tolist()
    assert edge_cols and all(14 <= c <= 17 for c in edge_cols)  # only next to the step
    assert (e[0, :, :8] == 1).all() and (e[0, :, 24:] == 1).all()  # flat areas are white


def test_edge_map_matches_skimage_canny_on_luminance():
    crop = torch.from_numpy(_raw_image()[:, 100:132, 400:432].copy())
    lum = color.rgb2gray(((crop.numpy().transpose(1, 2, 0) + 1) / 2).astype(np.float64))
    ref = feature.canny(lum, sigma=1.5, low_threshold=0.1, high_threshold=0.2, mode="nearest")
    e = edge_map(crop[None])  # batched input
    assert e.shape == (1, 3, 32, 32)
    np.testing.assert_array_equal(e[0, 0].numpy() == -1, ref)


def test_edge_map_of_ihc_test_split_is_plausible():
    d = load_dataset("ihc-edges")
    frac = (d.test_source[:, 0] == -1).float().mean(dim=(1, 2))  # per crop
    assert (frac > 0).all(), "an IHC crop got an empty edge map"
    assert 0.02 < frac.mean() < 0.3  # sparse line drawing: mostly white, like Edges2Shoes
    assert torch.equal(d.test_source, edge_map(d.test_target))


# ---------------------------------------------------------------- bundled datasets

@pytest.mark.parametrize("name", NAMES)
def test_shapes_ranges_and_meta(name):
    d = load_dataset(name)
    assert isinstance(d, UnpairedDomains) and d.name == name and d.size == 32
    for t in (d.source, d.target, d.test_source, d.test_target):
        assert t.dtype == torch.float32 and t.ndim == 4 and t.shape[1:] == (3, 32, 32)
        assert t.min() >= -1 and t.max() <= 1
    assert d.test_source.shape == d.test_target.shape == (64, 3, 32, 32)  # 16 rows x 4 columns of tiles
    m = json.loads(json.dumps(d.meta))
    assert m["counts"] == {"source": len(d.source), "target": len(d.target), "test": 64}
    assert len(_origins(m, "source")) == len(d.source) and len(_origins(m, "target")) == len(d.target)
    assert "CMMI" in m["credit"] and "scikit-image" in m["credit"] and d.name == name


@pytest.mark.parametrize("name,factor,task", [("ihc-sr", 4, Task("sr", 4)), ("ihc-sr", 2, Task("sr", 2)),
                                              ("ihc-edges", 4, Task("edges"))])
def test_bundled_datasets_declare_their_task(name, factor, task):
    d = load_dataset(name, size=32, factor=factor)
    assert d.task == task and isinstance(d.task, Task)
    assert "task" not in d.meta  # kept out of meta: meta feeds the checkpoint hash (see tests/test_task.py)


def test_unpaired_domains_task_field_is_parsed_and_checked():
    d = load_dataset("ihc-sr", size=32, factor=4)
    pools = (d.name, d.size, d.source, d.target, d.test_source, d.test_target, d.meta)
    assert UnpairedDomains(*pools).task == Task()  # default: generic
    assert UnpairedDomains(*pools, task={"kind": "sr", "factor": 8}).task == Task("sr", 8)
    assert UnpairedDomains(*pools, task="edges").task == Task("edges")
    with pytest.raises(ValueError, match="unknown task kind 'depth'"):
        UnpairedDomains(*pools, task="depth")
    with pytest.raises(ValueError, match="SR factor must divide the image size"):
        UnpairedDomains(*pools, task=Task("sr", 5))


def test_pools_are_crops_at_recorded_origins():
    img = _raw_image()
    s = 32
    sr, ed = load_dataset("ihc-sr"), load_dataset("ihc-edges")
    m = sr.meta
    crops = {p: np.stack([img[:, r:r + s, c:c + s] for r, c in _origins(m, p)]) for p in ("source", "target", "test")}
    np.testing.assert_array_equal(sr.target.numpy(), crops["target"])
    np.testing.assert_array_equal(sr.test_target.numpy(), crops["test"])
    ref_src = np.repeat(np.repeat(crops["source"][..., ::4, ::4], 4, -2), 4, -1)
    np.testing.assert_array_equal(sr.source.numpy(), ref_src)
    ref_test = np.repeat(np.repeat(crops["test"][..., ::4, ::4], 4, -2), 4, -1)
    np.testing.assert_array_equal(sr.test_source.numpy(), ref_test)
    np.testing.assert_array_equal(ed.target.numpy(), crops["target"])
    assert torch.equal(ed.source, edge_map(torch.from_numpy(crops["source"])))


@pytest.mark.parametrize("size,stride", [(32, None), (16, 3), (64, 16)])
def test_regions_disjoint_by_coordinates(size, stride):
    d = load_dataset("ihc-sr", size=size, stride=stride)
    m = d.meta
    extent = {p: [(r, r + size, c, c + size) for r, c in _origins(m, p)] for p in ("source", "target", "test")}
    for p, boxes in extent.items():
        reg = m["regions"][p]
        assert all(reg["rows"][0] <= r0 and r1 <= reg["rows"][1] and reg["cols"][0] <= c0 and c1 <= reg["cols"][1]
                   for r0, r1, c0, c1 in boxes)
    cols = sorted(tuple(m["regions"][p]["cols"]) for p in extent)
    assert all(a[1] <= b[0] for a, b in zip(cols, cols[1:]))  # column bands do not overlap

    def overlap(a, b):
        return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]

    test = extent["test"]
    assert not any(overlap(t, p) for t in test for pool in ("source", "target") for p in extent[pool])
    assert not any(overlap(a, b) for i, a in enumerate(test) for b in test[i + 1:])  # tiles
    assert len(test) == (512 // size) * (128 // size)


def _keys(t: torch.Tensor) -> set[bytes]:
    """Exact pixel content of each crop, for set lookups."""
    return {c.contiguous().numpy().tobytes() for c in t}


def test_no_test_crop_in_training_pools_by_pixels():
    d = load_dataset("ihc-sr")
    for test, pool in ((d.test_target, d.target), (d.test_source, d.source), (d.test_target, d.source)):
        seen = _keys(pool)
        # no test crop, in any of its 8 orientations, is pixel-identical to a training crop
        assert not any(k in seen for g in range(8) for k in _keys(dihedral(test, g)))
    assert len(_keys(d.test_target)) == 64  # the tiles themselves are distinct


def test_dataset_validation_errors():
    with pytest.raises(ValueError, match="multiple of factor"):
        load_dataset("ihc-sr", size=30, factor=4)
    with pytest.raises(ValueError, match="size"):
        load_dataset("ihc-sr", size=4, factor=4)
    with pytest.raises(ValueError, match="stride"):
        load_dataset("ihc-edges", stride=0)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as err:
        load_dataset("no-such-data")
    for name in NAMES:
        assert name in str(err.value)


def test_registry_and_cache():
    assert set(NAMES) <= set(DATASETS)
    assert load_dataset("ihc-sr") is load_dataset("ihc-sr", size=32, factor=4)
    assert load_dataset("ihc-sr", factor=8) is not load_dataset("ihc-sr")
    with pytest.raises(ValueError, match="already registered"):
        register_dataset("ihc-sr", lambda **kw: None)
    register_dataset("tmp-test", lambda *, size, factor, **kw: load_dataset("ihc-sr", size=size, factor=factor))
    try:
        assert load_dataset("tmp-test", size=16).size == 16
    finally:
        del DATASETS["tmp-test"]


# ---------------------------------------------------------------- train_batch

def test_dihedral_group_has_eight_distinct_elements():
    x = torch.arange(16.0).reshape(1, 4, 4)
    outs = {tuple(dihedral(x, k).flatten().tolist()) for k in range(8)}
    assert len(outs) == 8
    assert all(tuple(dihedral(dihedral(x, k), 0).flatten().tolist()) in outs for k in range(8))


@pytest.mark.parametrize("name", NAMES)
def test_train_batch_deterministic_and_balanced(name):
    d = load_dataset(name)
    x1, l1 = d.train_batch(16, torch.Generator().manual_seed(3))
    x2, l2 = d.train_batch(16, torch.Generator().manual_seed(3))
    x3, _ = d.train_batch(16, torch.Generator().manual_seed(4))
    assert torch.equal(x1, x2) and torch.equal(l1, l2) and not torch.equal(x1, x3)
    assert x1.shape == (16, 3, 32, 32) and x1.dtype == torch.float32
    assert l1.dtype == torch.long and (l1 == 0).sum() == 8 and (l1 == 1).sum() == 8
    with pytest.raises(ValueError, match="batch_size"):
        d.train_batch(1, torch.Generator().manual_seed(0))


def test_train_batch_samples_are_augmented_pool_crops():
    d = load_dataset("ihc-sr")
    x, labels = d.train_batch(64, torch.Generator().manual_seed(0))
    keys = {0: _keys(d.source), 1: _keys(d.target)}
    used = set()
    for xi, li in zip(x, labels):
        # the group is closed, so some element maps the sample back onto a crop of its own domain's pool
        hits = [k for k in range(8) if dihedral(xi, k).contiguous().numpy().tobytes() in keys[int(li)]]
        assert hits, "a batch sample is not a dihedral transform of a crop of its own domain's pool"
        used.add(min(hits))
    assert len(used) >= 6  # per-sample transforms, not one per batch
