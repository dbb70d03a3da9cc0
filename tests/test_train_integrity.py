"""Checkpoint integrity: every checkpoint file that cannot be read names itself and the fix,
the weight files are checked against the SHA-256 recorded when training finished, and an interrupted training
whose newest resume snapshot is unreadable resumes from the one before (to the same weights)."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import TinyData, tiny_training
from spectral_collapse.train.cache import HASH_FILE, CheckpointCorrupt
from spectral_collapse.train.trainer import load_trained, train


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    spec, cfg = tiny_training()
    return train(spec, cfg, TinyData(), name="tiny", root=tmp_path_factory.mktemp("ck"), progress=False).path


@pytest.fixture
def ck(finished, tmp_path):
    return shutil.copytree(finished, tmp_path / "ck")


def _flip(path, offset_from_end=10):
    data = bytearray(path.read_bytes())
    data[-offset_from_end] ^= 0x01  # inside the tensor data: the file still parses, the numbers change
    path.write_bytes(bytes(data))


def test_finished_training_records_the_weight_hashes(ck):
    recorded = json.loads((ck / HASH_FILE).read_text())
    assert sorted(recorded) == ["ema.safetensors", "model.safetensors"]
    import hashlib

    for name, digest in recorded.items():
        assert hashlib.sha256((ck / name).read_bytes()).hexdigest() == digest
    load_trained(ck)


@pytest.mark.parametrize("name", ["ema.safetensors", "model.safetensors"])
def test_a_flipped_byte_is_an_error_naming_the_file(ck, name):
    load_file(str(ck / name))
    _flip(ck / name)
    load_file(str(ck / name))  # safetensors itself sees nothing wrong
    with pytest.raises(CheckpointCorrupt, match=rf"{ck / name} is not the file written when training finished.*"
                                                rf"delete the folder {ck}"):
        load_trained(ck)


def test_a_checkpoint_without_hashes_is_refused_never_trusted(ck):
    """Deleting the record must not let damaged weights load and have their hash recorded as correct."""
    _flip(ck / "ema.safetensors")
    (ck / HASH_FILE).unlink()
    with pytest.raises(CheckpointCorrupt, match=rf"{ck} has no {HASH_FILE}.*cannot be verified.*delete the folder"):
        load_trained(ck)
    assert not (ck / HASH_FILE).exists()


def test_a_record_trimmed_of_a_weight_file_does_not_let_that_file_load_unverified(ck):
    """A hash record edited to leave out the EMA weights must not let altered EMA weights load."""
    _flip(ck / "ema.safetensors")
    recorded = json.loads((ck / HASH_FILE).read_text())
    del recorded["ema.safetensors"]
    (ck / HASH_FILE).write_text(json.dumps(recorded))
    with pytest.raises(CheckpointCorrupt, match=rf"records no hash for ema.safetensors.*delete the folder {ck}"):
        load_trained(ck)


def test_weight_hashes_are_read_once_per_process_while_the_files_are_unchanged(ck, monkeypatch):
    from spectral_collapse import digest

    monkeypatch.setattr(digest, "SETTLED_NS", -10**18)   # remember at once (files here are seconds old)
    monkeypatch.setattr(digest, "_KNOWN", {})
    load_trained(ck)
    calls = []
    real = digest.read_sha256
    monkeypatch.setattr(digest, "read_sha256", lambda p: calls.append(Path(p)) or real(p))
    load_trained(ck)
    assert calls == []                                    # unchanged: not read again
    time.sleep(0.05)                                      # past the file system's timestamp granularity
    _flip(ck / "ema.safetensors")                         # rewritten: a new stamp, read again, refused
    with pytest.raises(CheckpointCorrupt, match="ema.safetensors is not the file"):
        load_trained(ck)
    assert calls == [(ck / "ema.safetensors").absolute()]


@pytest.mark.parametrize("name,damage", [
    ("ema.safetensors", "truncate"), ("config.json", "truncate"), ("log.json", "truncate"),
    (HASH_FILE, "truncate"), ("config.json", "empty-object"), ("log.json", "empty-object"),
])
def test_an_unreadable_file_names_itself_and_the_fix(ck, name, damage):
    path = ck / name
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2] if damage == "truncate" else b"{}")
    with pytest.raises(CheckpointCorrupt) as err:
        load_trained(ck)
    msg = str(err.value)
    assert str(path) in msg and f"delete the folder {ck}" in msg and "trained again" in msg


def test_train_on_a_damaged_finished_checkpoint_says_so_instead_of_loading_it(finished, tmp_path):
    spec, cfg = tiny_training()
    root = tmp_path / "root"
    shutil.copytree(finished, root / finished.name)
    _flip(root / finished.name / "ema.safetensors")
    with pytest.raises(CheckpointCorrupt, match="ema.safetensors is not the file"):
        train(spec, cfg, TinyData(), name="tiny", root=root, progress=False)


def _interrupted(root, stop_after=2):
    spec, cfg = tiny_training(checkpoint_every=1)
    path = train(spec, cfg, TinyData(), name="tiny", root=root, progress=False, stop_after=stop_after).path
    return spec, cfg, path


@pytest.mark.parametrize("damaged", ["ema.safetensors", "model.safetensors", "state.pt"])
def test_resume_falls_back_to_the_previous_snapshot(tmp_path, finished, damaged):
    spec, cfg, path = _interrupted(tmp_path / "a")
    assert int(torch.load(path / "resume.old" / "state.pt", weights_only=True)["step"]) == 1
    f = path / "resume" / damaged
    f.write_bytes(f.read_bytes()[:100])
    with pytest.warns(RuntimeWarning, match=rf"{f} cannot be read.*resuming from the previous snapshot .*step 1"):
        done = train(spec, cfg, TinyData(), name="tiny", root=tmp_path / "a", progress=False)
    assert not (path / "resume").exists() and not (path / "resume.old").exists()
    straight = load_file(str(finished / "ema.safetensors"))  # the uninterrupted 4-step training (same config)
    got = load_file(str(done.path / "ema.safetensors"))
    assert all(torch.equal(got[k], straight[k]) for k in straight)


def test_a_resumed_training_logs_the_time_of_every_run_it_kept(tmp_path, monkeypatch):
    """A training killed at step 2 and resumed logs its last run's time and steps apart from the total, which adds
    the first run's seconds up to its snapshot (a clock that advances 10 s per reading makes both exact)."""
    import itertools

    from spectral_collapse.train import trainer

    clock = itertools.count(0.0, 10.0)
    monkeypatch.setattr(trainer.time, "time", lambda: next(clock))
    spec, cfg, path = _interrupted(tmp_path)
    first = float(torch.load(path / "resume" / "state.pt", weights_only=True)["seconds"])
    assert first > 0
    done = train(spec, cfg, TinyData(), name="tiny", root=tmp_path, progress=False)
    log = json.loads((done.path / "log.json").read_text())
    assert log["steps_this_run"] == cfg.steps - 2
    assert log["seconds_total"] == pytest.approx(first + log["seconds_this_run"])
    assert log["seconds_this_run"] > 0


def test_resume_with_no_readable_snapshot_says_how_to_restart(tmp_path):
    spec, cfg, path = _interrupted(tmp_path)
    for snap in ("resume", "resume.old"):
        (path / snap / "state.pt").write_bytes(b"")
    with pytest.raises(CheckpointCorrupt, match=r"cannot resume the training in .*resume/state\.pt cannot be read.*"
                                                r"resume\.old/state\.pt cannot be read.*delete .*resume and .*"
                                                r"resume\.old to restart this training from step 0"):
        train(spec, cfg, TinyData(), name="tiny", root=tmp_path, progress=False)
