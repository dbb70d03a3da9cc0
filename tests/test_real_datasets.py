"""BBBC021, Edges2Shoes and folder datasets end to end: download -> prepare -> load, on tiny archives in the
real formats served from a loopback HTTP server (tests/fixtures_real.py). No real network.

References are computed here independently: channel mapping from the bright quadrant of each stain, intensity
normalisation with numpy percentiles in float64 and a reshape-mean box filter, nearest-neighbour decimation
by slicing, pair identity from grey levels written into the fake Edges2Shoes JPEGs.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from fixtures_real import (LoopbackServer, QUADRANT, level_to_pair, make_bbbc021, make_edges2shoes, serve_folder)
from spectral_collapse.data import DATASETS, download as dl, load_dataset
from spectral_collapse.data.download import DatasetNotPreparedError, download_dataset, prepare_dataset

SIZE = 32  # prepared size for the fake 64 x 80 fields: centre crop 64 x 64, 2 x 2 box average
N_TRAIN, N_VAL = 10, 4


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Fake archives on a loopback server, downloads allowed (CI sets the offline switch)."""
    mp = pytest.MonkeyPatch()
    mp.setenv(dl.OFFLINE_ENV, "0")
    src = tmp_path_factory.mktemp("archives")
    fields = make_bbbc021(src / "bbbc")
    make_edges2shoes(src / "e2s", N_TRAIN, N_VAL)
    files = {**serve_folder(src / "bbbc", "/bbbc/"), **serve_folder(src / "e2s", "/pix2pix/")}
    with LoopbackServer(files) as server:
        yield {"server": server, "fields": fields, "tmp": tmp_path_factory}
    mp.undo()


@pytest.fixture(scope="module")
def bbbc_root(env):
    root = env["tmp"].mktemp("raw")
    out = download_dataset("bbbc021", root, base_url=env["server"].url + "bbbc/", progress=False,
                           prepare_kw={"size": SIZE})
    assert out.name == "prepared"
    return root


@pytest.fixture(scope="module")
def e2s_root(env):
    root = env["tmp"].mktemp("raw_e2s")
    download_dataset("edges2shoes", root, url=env["server"].url + "pix2pix/edges2shoes.tar.gz", progress=False)
    return root


def _png(root, rel) -> np.ndarray:
    return np.asarray(Image.open(root / "bbbc021" / "prepared" / rel), dtype=np.float64)


def _reference(arrays: dict) -> np.ndarray:
    """Independent float64 reference of the documented rule: R actin, G tubulin, B DAPI; 0.1/99.9 % clip; crop; box."""
    out = []
    for ch in ("Actin", "Tubulin", "DAPI"):
        a = arrays[ch].astype(np.float64)
        lo, hi = np.percentile(a, [0.1, 99.9])
        a = np.clip((a - lo) / (hi - lo), 0, 1)[:, 8:72]  # 64 x 80 -> centre 64 x 64
        out.append(a.reshape(SIZE, 2, SIZE, 2).mean(axis=(1, 3)))
    return np.stack(out, -1) * 255


def test_bbbc021_prepare_channel_mapping_and_normalisation(env, bbbc_root):
    prep = bbbc_root / "bbbc021" / "prepared"
    assert not (bbbc_root / "bbbc021" / "work").exists() or not any((bbbc_root / "bbbc021" / "work").iterdir())
    for fid, arrays in env["fields"].items():
        img = _png(bbbc_root, f"images/{fid.rsplit('_', 2)[0]}/{fid}.png")  # (32, 32, 3)
        assert img.shape == (SIZE, SIZE, 3)
        np.testing.assert_allclose(img, _reference(arrays), atol=0.5 + 1e-9)  # 8-bit rounding only
        h = SIZE // 2
        for c, ch in enumerate(("Actin", "Tubulin", "DAPI")):  # bright quadrant of each stain lands in its colour
            r, q = QUADRANT[ch]
            mask = np.zeros((SIZE, SIZE), bool)
            mask[r * h:(r + 1) * h, q * h:(q + 1) * h] = True
            assert img[..., c][mask].min() > 150 and img[..., c][~mask].max() < 40
    assert (prep / "index.csv").exists() and (prep / "prepared.json").exists()


def test_bbbc021_download_is_idempotent(env, bbbc_root):
    n = len(env["server"].requests)
    download_dataset("bbbc021", bbbc_root, base_url=env["server"].url + "bbbc/", progress=False,
                     prepare_kw={"size": SIZE})
    prepare_dataset("bbbc021", bbbc_root, size=SIZE, progress=False)
    assert len(env["server"].requests) == n  # nothing fetched again
    with pytest.raises(ValueError, match="overwrite=True"):  # other settings on a prepared set must be explicit
        prepare_dataset("bbbc021", bbbc_root, size=16, progress=False)


@pytest.mark.parametrize("factor", [8, 16, 32])
def test_bbbc021_load_unpaired_split(env, bbbc_root, factor):
    d = load_dataset("bbbc021", size=SIZE, factor=factor, root=bbbc_root, test_fraction=0.25)
    files = d.meta["files"]
    fields = {k: {os.path.basename(f)[:-4] for f in v} for k, v in files.items()}
    assert not (fields["source"] & fields["target"]) and not (fields["test"] & (fields["source"] | fields["target"]))
    assert set().union(*fields.values()) == set(env["fields"])  # every field used exactly once
    assert (len(d.source), len(d.target), len(d.test_source)) == (3, 3, 2)
    for pool, x in (("source", d.source), ("target", d.target), ("test", d.test_target)):
        for f, img in zip(files[pool], x):  # content of each pool comes from its listed field
            ref = torch.from_numpy(_png(bbbc_root, f)).permute(2, 0, 1).float() / 127.5 - 1
            if pool == "source":
                ref = ref[:, ::factor, ::factor].repeat_interleave(factor, 1).repeat_interleave(factor, 2)
            torch.testing.assert_close(img, ref, atol=1e-6, rtol=0)
    low = d.test_target[:, :, ::factor, ::factor]
    torch.testing.assert_close(d.test_source, low.repeat_interleave(factor, 2).repeat_interleave(factor, 3))
    for x in (d.source, d.target, d.test_source, d.test_target):
        assert x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1


def test_bbbc021_smaller_size_and_bad_factor(bbbc_root):
    d = load_dataset("bbbc021", size=16, factor=8, root=bbbc_root, test_fraction=0.25)
    full = load_dataset("bbbc021", size=SIZE, factor=8, root=bbbc_root, test_fraction=0.25)
    box = full.test_target.reshape(-1, 3, 16, 2, 16, 2).mean(dim=(3, 5))  # prepared 32 -> 16 is a 2 x 2 box
    torch.testing.assert_close(d.test_target, box, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="not divisible by the SR factor 12"):
        load_dataset("bbbc021", size=SIZE, factor=12, root=bbbc_root)
    with pytest.raises(ValueError, match="larger than the prepared size"):
        load_dataset("bbbc021", size=64, factor=8, root=bbbc_root)


def test_bbbc021_one_plate_keeps_fields_apart(env):
    root = env["tmp"].mktemp("raw_one_plate")
    before = len(env["server"].requests)
    download_dataset("bbbc021", root, base_url=env["server"].url + "bbbc/", plates=1, prepare=False, progress=False)
    asked = [p for p, _ in env["server"].requests[before:]]
    assert asked == ["/bbbc/BBBC021_v1_image.csv", "/bbbc/BBBC021_v1_images_Week1_22123.zip"]  # one plate only
    prepare_dataset("bbbc021", root, size=SIZE, progress=False)
    d = load_dataset("bbbc021", size=SIZE, factor=8, root=root, test_fraction=0.25)
    by_pool = {k: {os.path.basename(f) for f in v} for k, v in d.meta["files"].items()}
    assert sum(len(v) for v in by_pool.values()) == 4  # 4 fields of plate 1, each in one pool only
    assert not (by_pool["source"] & by_pool["target"]) and not (by_pool["test"] & by_pool["source"])


def test_edges2shoes_strictly_unpaired(e2s_root):
    d = load_dataset("edges2shoes", size=SIZE, factor=4, root=e2s_root)
    assert d.source.shape == (N_TRAIN // 2, 3, SIZE, SIZE) and d.target.shape == (N_TRAIN // 2, 3, SIZE, SIZE)

    def ids(x):  # pair id from the grey level (red channel) of each flat half
        return [level_to_pair((float(v) + 1) * 127.5) for v in x[:, 0].mean(dim=(1, 2))]

    src, tgt = ids(d.source), ids(d.target)
    assert set(src).isdisjoint(tgt) and sorted(src + tgt) == list(range(N_TRAIN))
    inner = slice(2, -2)  # JPEG chroma bleeds across the seam between the halves
    assert (d.source[..., inner].std(dim=1) < 0.02).all()  # left halves: grey edge maps
    assert ((d.target[:, 1] - d.target[:, 0])[..., inner].abs() > 0.1).all()  # right halves: coloured photos
    assert ids(d.test_source) == ids(d.test_target) == list(range(N_TRAIN, N_TRAIN + N_VAL))  # paired val split
    other = load_dataset("edges2shoes", size=16, root=e2s_root, split_seed=1, max_per_pool=2, max_test=1)
    assert len(other.source) == 2 and len(other.test_source) == 1
    assert set(ids(other.source)).isdisjoint(ids(other.target))


@pytest.mark.parametrize("name,alt", [("bbbc021", "ihc-sr"), ("edges2shoes", "ihc-edges")])
def test_not_prepared_message(tmp_path, env, name, alt):
    n = len(env["server"].requests)
    with pytest.raises(DatasetNotPreparedError) as err:
        load_dataset(name, size=SIZE, factor=8, root=tmp_path)
    msg = str(err.value)
    assert f"python -m spectral_collapse.cli download {name} --root {tmp_path}" in msg
    assert f"load_dataset('{alt}')" in msg
    assert len(env["server"].requests) == n  # fails at once, no download attempt
    assert {"bbbc021", "edges2shoes", "folder"} <= set(DATASETS)


def test_download_dataset_offline(tmp_path, monkeypatch):
    monkeypatch.setenv(dl.OFFLINE_ENV, "1")
    with pytest.raises(dl.OfflineError, match="switched off"):
        download_dataset("edges2shoes", tmp_path, url="http://127.0.0.1:9/never.tar.gz")


# --- a user's own folders ---------------------------------------------------------------------------------------

def _save(path, arr, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr, mode=mode).save(path)


def _folders(tmp_path, n=3, size=40):
    rng = np.random.default_rng(0)
    for sub, k in (("source", n), ("target", n + 1)):
        for i in range(k):
            _save(tmp_path / sub / f"{sub}{i}.png", rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    for i in range(2):
        _save(tmp_path / "test_source" / f"p{i}.png", np.full((size, size, 3), 10 * i, np.uint8))
        _save(tmp_path / "test_target" / f"p{i}.jpg", np.full((size, size, 3), 10 * i + 5, np.uint8))
    return tmp_path


def test_folder_loads_and_pairs_by_name(tmp_path):
    root = _folders(tmp_path, size=32)
    d = load_dataset("folder", root=root, size=32, factor=4)
    assert (len(d.source), len(d.target), len(d.test_source)) == (3, 4, 2)
    ref = np.asarray(Image.open(root / "source" / "source0.png"), np.float32).transpose(2, 0, 1) / 127.5 - 1
    torch.testing.assert_close(d.source[0], torch.from_numpy(ref), atol=1e-6, rtol=0)  # no resize at 32
    assert d.meta["test_names"] == ["p0", "p1"]
    torch.testing.assert_close(d.test_source[1], torch.full((3, 32, 32), 10 / 127.5 - 1))
    deg = load_dataset("folder", root=root, size=32, factor=4, degrade_source=True)
    torch.testing.assert_close(deg.source[0, :, 5, 6], d.source[0, :, 4, 4])  # top-left of its 4 x 4 block


def test_folder_mode_rules(tmp_path):
    root = _folders(tmp_path, size=16)
    _save(root / "target" / "grey.png", np.full((16, 16), 51, np.uint8), "L")
    Image.fromarray(np.full((16, 16), 13107, np.uint16)).save(root / "target" / "deep.png")  # I;16: 13107/65535=0.2
    _save(root / "target" / "alpha.png", np.zeros((16, 16, 4), np.uint8), "RGBA")  # fully transparent -> white
    Image.fromarray(np.full((16, 16), 0.25, np.float32)).save(root / "target" / "float.tif")  # mode F
    d = load_dataset("folder", root=root, size=16, factor=4)
    names = [os.path.basename(n) for n in sorted(os.listdir(root / "target"))]
    got = {n: d.target[i] for i, n in enumerate(names)}
    expect = {"grey.png": 51 / 255, "deep.png": 0.2, "alpha.png": 1.0, "float.tif": 0.25}
    for n, v in expect.items():
        torch.testing.assert_close(got[n], torch.full((3, 16, 16), 2 * v - 1), atol=1e-6, rtol=0)


def test_folder_corrupt_files(tmp_path):
    root = _folders(tmp_path, size=16)
    (root / "source" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    good = (root / "target" / "target0.png").read_bytes()
    (root / "target" / "truncated.png").write_bytes(good[: len(good) // 2])  # valid header, pixels cut
    with pytest.warns(UserWarning, match="skipped 2 unreadable image"):
        d = load_dataset("folder", root=root, size=16, factor=4)
    assert (len(d.source), len(d.target)) == (3, 4)
    assert any("broken.png" in s for s in d.meta["skipped"]["source"])
    with pytest.raises(ValueError, match="broken.png.*on_corrupt='skip'"):
        load_dataset("folder", root=root, size=16, factor=4, on_corrupt="raise")


def test_folder_bad_input_messages(tmp_path):
    root = _folders(tmp_path, size=16)
    with pytest.raises(ValueError, match="not divisible by the SR factor 5"):
        load_dataset("folder", root=root, size=16, factor=5)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset("folder", source=root / "nope", target=root / "target", test_source=root / "test_source",
                     test_target=root / "test_target", size=16, factor=4)
    with pytest.raises(NotADirectoryError):
        load_dataset("folder", source=root / "source" / "source0.png", target=root / "target",
                     test_source=root / "test_source", test_target=root / "test_target", size=16, factor=4)
    (root / "empty").mkdir()
    (root / "empty" / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="no images in the source folder.*notes.txt"):
        load_dataset("folder", source=root / "empty", target=root / "target", test_source=root / "test_source",
                     test_target=root / "test_target", size=16, factor=4)
    _save(root / "test_target" / "extra.png", np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(ValueError, match="unmatched, e.g. extra"):
        load_dataset("folder", root=root, size=16, factor=4)


def test_folder_size_mismatch(tmp_path):
    root = _folders(tmp_path, size=16)
    _save(root / "source" / "big.png", np.full((24, 32, 3), 200, np.uint8))   # not a copy of a test input
    with pytest.raises(ValueError, match="2 different sizes.*24x32: 1 \\(e.g. big.png\\).*on_size_mismatch='resize'"):
        load_dataset("folder", root=root, size=16, factor=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = load_dataset("folder", root=root, size=16, factor=4, on_size_mismatch="resize")
    assert d.source.shape == (4, 3, 16, 16)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_folder_unreadable(tmp_path):
    root = _folders(tmp_path, size=16)
    os.chmod(root / "source", 0)
    try:
        with pytest.raises(PermissionError, match="permission denied"):
            load_dataset("folder", root=root, size=16, factor=4)
    finally:
        os.chmod(root / "source", 0o755)


def test_folder_unreadable_message(tmp_path, monkeypatch):
    """The same check without needing a non-root user: listing the folder raises PermissionError."""
    root = _folders(tmp_path, size=16)
    real = type(root).iterdir

    def deny(self):
        if self.name == "source":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(type(root), "iterdir", deny)
    with pytest.raises(PermissionError, match="cannot list the source folder.*chmod"):
        load_dataset("folder", root=root, size=16, factor=4)



def test_prepared_root_via_environment(tmp_path, monkeypatch):
    """The helper that notebook tests use: SPECTRAL_COLLAPSE_DATA points the default root at the fake data."""
    from fixtures_real import make_prepared_root

    make_prepared_root(tmp_path / "raw", size=16)
    monkeypatch.setenv(dl.DATA_ROOT_ENV, str(tmp_path / "raw"))
    b = load_dataset("bbbc021", size=16, factor=8)
    e = load_dataset("edges2shoes", size=16, factor=8)
    assert len(b.source) + len(b.target) + len(b.test_source) == 12 and len(e.test_source) == 4
