"""Weights, a user's data folder and a user's model folder are recognised by the bytes they hold: a file whose bytes
change while its size and modification time are put back (``os.utime``) is never taken for the file it was."""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from spectral_collapse import digest
from spectral_collapse.framework.content import content_inputs
from spectral_collapse.digest import tree_sha256
from spectral_collapse.studies.registry import study_spec
from spectral_collapse.train.cache import (CheckpointCorrupt, DAMAGED, check_weight_hashes, checkpoint_digest,
                                           write_weight_hashes)


@pytest.fixture
def remembered(monkeypatch):
    """Digests are kept at once (no settling time), so a reuse of a remembered digest would show."""
    monkeypatch.setattr(digest, "SETTLED_NS", -10**18)
    monkeypatch.setattr(digest, "_KNOWN", {})


def flip_keeping_stamp(path: Path, offset: int = -1) -> None:
    """Invert one byte of ``path`` and put its modification and access times back (its size is unchanged)."""
    st = path.stat()
    time.sleep(0.05)  # past the file system's timestamp granularity, as any later edit would be
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def _checkpoint(folder: Path) -> Path:
    folder.mkdir()
    save_file({"w": torch.linspace(-1, 1, 256)}, str(folder / "ema.safetensors"))
    save_file({"w": torch.linspace(-1, 1, 256)}, str(folder / "model.safetensors"))
    write_weight_hashes(folder)
    (folder / "DONE").write_text("")
    return folder


@pytest.mark.usefixtures("remembered")
def test_flipped_weight_bytes_with_the_mtime_restored_are_refused(tmp_path):
    ckpt = _checkpoint(tmp_path / "m-0123456789ab")
    check_weight_hashes(ckpt)                      # verified and remembered
    good = checkpoint_digest(ckpt)
    flip_keeping_stamp(ckpt / "ema.safetensors")
    with pytest.raises(CheckpointCorrupt, match="ema.safetensors is not the file written when training finished"):
        check_weight_hashes(ckpt)
    assert checkpoint_digest(ckpt) == DAMAGED != good


@pytest.mark.usefixtures("remembered")
def test_an_unchanged_file_is_read_once_per_process(tmp_path, monkeypatch):
    f = tmp_path / "w.bin"
    f.write_bytes(os.urandom(4096))
    reads = []
    real = digest.read_sha256
    monkeypatch.setattr(digest, "read_sha256", lambda p: reads.append(p) or real(p))
    first = digest.file_sha256(f)
    assert digest.file_sha256(f) == first == hashlib.sha256(f.read_bytes()).hexdigest()
    assert len(reads) == 1
    flip_keeping_stamp(f, 0)
    assert digest.file_sha256(f) == hashlib.sha256(f.read_bytes()).hexdigest() != first
    assert len(reads) == 2


def test_a_file_changed_within_the_settling_time_is_hashed_again(tmp_path, monkeypatch):
    """Without the age rule a change in the same clock tick as the hashing could keep every stamp field."""
    monkeypatch.setattr(digest, "_KNOWN", {})
    f = tmp_path / "young.bin"
    f.write_bytes(b"a" * 100)
    digest.file_sha256(f)
    assert os.path.abspath(f) not in digest._KNOWN


def _image_folder(root: Path, n: int = 3) -> Path:
    """Uncompressed 8 x 8 RGB images (binary PPM), so inverting the pixels keeps each file's size."""
    rng = np.random.default_rng(0)
    for part in ("source", "target", "test_source", "test_target"):
        (root / part).mkdir(parents=True)
        for i in range(n):
            pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            (root / part / f"im{i}.ppm").write_bytes(b"P6\n8 8\n255\n" + pixels.tobytes())
    return root


def _invert_keeping_stamps(folder: Path) -> None:
    time.sleep(0.05)
    for f in sorted(folder.iterdir()):
        st = f.stat()
        data = f.read_bytes()
        head = len(b"P6\n8 8\n255\n")
        f.write_bytes(data[:head] + bytes(255 - b for b in data[head:]))
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert f.stat().st_size == st.st_size


@pytest.mark.usefixtures("remembered")
def test_inverted_test_images_with_sizes_and_mtimes_kept_make_the_results_stale(tmp_path):
    root = _image_folder(tmp_path / "mine")
    spec = study_spec("main_results", dataset=f"folder:{root}", profile="smoke")
    before = spec.with_inputs(**content_inputs(spec)).key()
    _invert_keeping_stamps(root / "test_source")
    after = spec.with_inputs(**content_inputs(spec)).key()
    assert before != after


@pytest.mark.usefixtures("remembered")
def test_a_users_model_with_flipped_weights_is_another_model(tmp_path):
    model = tmp_path / "model"
    (model / "unet").mkdir(parents=True)
    (model / "model_index.json").write_text('{"_class_name": "DDPMPipeline"}')
    save_file({"w": torch.linspace(-1, 1, 64)}, str(model / "unet" / "diffusion_pytorch_model.safetensors"))
    spec = study_spec("pareto", dataset="folder:" + str(_image_folder(tmp_path / "d")), profile="smoke",
                      model=str(model))
    sig, key = tree_sha256(model), content_inputs(spec)["model"]
    flip_keeping_stamp(model / "unet" / "diffusion_pytorch_model.safetensors")
    assert tree_sha256(model) != sig          # the process's loaded model (keyed by it) is not reused
    assert content_inputs(spec)["model"] != key  # nor are stored results computed from the old bytes


def test_the_hashing_record_measures_a_10k_image_folder_and_its_ratios_are_its_seconds():
    import json

    record = json.loads((Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "hashing.json").read_text())
    folder, weights, bundled = record["image_folder"], record["shipped_weights"], record["bundled_data"]
    assert folder["images"] == 10_000
    assert folder["hash_first_over_load"] == pytest.approx(folder["hash_first_s"] / folder["load_folder_s"])
    assert folder["hash_first_over_stat"] == pytest.approx(folder["hash_first_s"] / folder["stat_only_s"])
    assert bundled["hash_over_build"] == pytest.approx(bundled["hash_s"] / bundled["build_s"])
    assert weights["megabytes_per_s"] == pytest.approx(weights["megabytes"] / weights["hash_all_s"], rel=0.01)



def test_a_folder_without_a_hash_record_is_damaged_only_when_it_holds_weights(tmp_path):
    """No record: weights make it damaged, a user's diffusers folder and an empty folder have no digest of their own."""
    user = tmp_path / "user"
    user.mkdir()
    (user / "config.json").write_text('{"_diffusers_version": "0.30.0"}')
    save_file({"w": torch.zeros(2)}, str(user / "diffusion_pytorch_model.safetensors"))
    assert checkpoint_digest(user) is None
    bare = tmp_path / "bare"
    (bare / "unet").mkdir(parents=True)
    (bare / "config.json").write_text("[not a diffusers config")
    assert checkpoint_digest(bare) is None
    save_file({"w": torch.zeros(2)}, str(bare / "unet" / "model.safetensors"))
    assert checkpoint_digest(bare) == DAMAGED


def test_model_name_drops_only_the_cache_hash():
    from spectral_collapse.train.cache import model_name

    assert model_name("data/checkpoints/ihc-sr-x4-eps-quick-7e26214ebd7e/") == "ihc-sr-x4-eps-quick"
    assert model_name("ihc-sr-x4-eps-quick-7e26214ebd7") == "ihc-sr-x4-eps-quick-7e26214ebd7"   # 11 digits: not a hash
    assert model_name("my-model") == "my-model"


def test_arrays_are_hashed_by_content_shape_and_dtype():
    """The oracle's fit is keyed by its pools' content: an equal copy (tensor or array) hashes alike, one changed
    element, another shape or another dtype does not."""
    import numpy as np
    import torch

    from spectral_collapse.digest import arrays_sha256

    a = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    assert arrays_sha256(a, a) == arrays_sha256(a.clone(), a.numpy().copy())
    b = a.clone()
    b[1, 2] += 1e-6
    assert arrays_sha256(a, b) != arrays_sha256(a, a)
    assert arrays_sha256(a.reshape(4, 3)) != arrays_sha256(a)
    assert arrays_sha256(a.double()) != arrays_sha256(a)
    assert arrays_sha256(np.zeros(2)) != arrays_sha256(np.zeros(2), np.zeros(0))
