"""A user's image folders: copies of one image warn, test images that are also training images warn (both by the
pixels, whatever the file names), the warnings reach a chapter's run notes, and a photo's EXIF orientation is
applied."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spectral_collapse.data import load_dataset, load_folder
from spectral_collapse.pipeline.parameters import run_notes
from spectral_collapse.pipeline.memo import own_warnings

RNG = np.random.default_rng(0)


def _save(path: Path, array: np.ndarray, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kw)
    return path


def _noise(size: int = 16) -> np.ndarray:
    return RNG.integers(0, 256, (size, size, 3), dtype=np.uint8)


def _messages(caught) -> list[str]:
    return [str(w.message) for w in caught]


def test_a_folder_of_copies_of_one_image_warns(tmp_path):
    one = _noise()
    for i in range(12):
        _save(tmp_path / "source" / f"copy{i:02d}.png", one)
    for i in range(3):
        _save(tmp_path / "source" / f"other{i}.png", _noise())
        _save(tmp_path / "target" / f"t{i}.png", _noise())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_dataset(f"folder:{tmp_path}", size=16)
    found = [m for m in _messages(caught) if "copies" in m]
    assert len(found) == 1, _messages(caught)
    assert f"the source folder {tmp_path / 'source'} holds 12 images that are copies of 1" in found[0]
    assert "12 copies: copy00.png, copy01.png" in found[0] and "Keep one file of each" in found[0]
    # the run's notes (and so the chapter) carry it
    notes = own_warnings(caught)
    assert found[0] in notes and found[0].split(";")[0] in run_notes({"run_warnings": json.dumps(notes)})


def test_test_inputs_that_are_training_images_warn(tmp_path):
    train = [_noise() for _ in range(8)]
    for i, a in enumerate(train):
        _save(tmp_path / "source" / f"s{i}.png", a)
        _save(tmp_path / "target" / f"t{i}.png", _noise())
    for i in range(7):  # 3 of the 7 test inputs are training images under other names
        a = train[i] if i < 3 else _noise()
        _save(tmp_path / "test_source" / f"q{i}.png", a)
        _save(tmp_path / "test_target" / f"q{i}.png", _noise())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_folder(tmp_path, size=16)
    found = [m for m in _messages(caught) if "also training images" in m]
    assert len(found) == 1, _messages(caught)
    assert found[0].startswith("3 of 7 test inputs are also training images in source/")
    for i in range(3):
        assert f"q{i} = s{i}.png" in found[0]


def test_ground_truths_that_are_target_training_images_warn(tmp_path):
    target = [_noise() for _ in range(4)]
    for i in range(4):
        _save(tmp_path / "source" / f"s{i}.png", _noise())
        _save(tmp_path / "target" / f"t{i}.png", target[i])
        _save(tmp_path / "test_source" / f"q{i}.png", _noise())
        _save(tmp_path / "test_target" / f"q{i}.png", target[0] if i == 2 else _noise())
    with pytest.warns(UserWarning, match=r"1 of 4 test ground truths are also training images in target/ .*q2 = t0"):
        load_folder(tmp_path, size=16)


def test_distinct_images_give_no_copy_warning(tmp_path):
    for i in range(5):
        _save(tmp_path / "source" / f"s{i}.png", _noise())
        _save(tmp_path / "target" / f"t{i}.png", _noise())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_folder(tmp_path, size=16)


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def test_exif_orientation_6_is_applied(tmp_path):
    """A camera turned a quarter: the pixels are stored sideways and tag 6 says to turn them clockwise to view."""
    viewed = np.zeros((16, 16, 3), np.uint8)
    viewed[:4] = 255                               # a bright band at the top, as the photo is viewed
    stored = np.rot90(viewed, k=1).copy()          # what the sensor stored: the band on the left
    _save(tmp_path / "source" / "photo.png", stored, exif=_exif(6))
    _save(tmp_path / "target" / "t.png", _noise())
    with Image.open(tmp_path / "source" / "photo.png") as img:
        assert img.getexif()[0x0112] == 6
    d = load_folder(tmp_path, size=16, test_fraction=0.5)
    got = (d.test_source[0].permute(1, 2, 0).numpy() + 1) / 2 * 255
    np.testing.assert_allclose(got, viewed.astype(np.float32), atol=1e-3)


def test_exif_orientation_turns_the_header_size(tmp_path):
    _save(tmp_path / "source" / "wide.png", np.zeros((8, 16, 3), np.uint8), exif=_exif(6))   # 16 wide, 8 high
    _save(tmp_path / "source" / "tall.png", np.zeros((16, 8, 3), np.uint8))
    _save(tmp_path / "target" / "t.png", np.zeros((16, 8, 3), np.uint8))
    d = load_folder(tmp_path, size=8, test_fraction=0.5)   # one size once turned upright: no size mismatch
    assert d.meta["original_sizes"]["source"] == {"16x8": 2}
