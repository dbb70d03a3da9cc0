"""The suite's environment variables and file flags: a value that cannot be used stops the command with a message
naming the variable (or flag), the value and what it takes, as the matching command-line flag does; a checkout that
cannot be written names the variable that moves the checkpoints elsewhere. (``environ.EnvironmentSettingError`` is a
ValueError.)"""
from __future__ import annotations

import errno
from pathlib import Path

import pytest

from probes import probe
from spectral_collapse.pipeline.parallel import kernel_threads, torch_threads
from spectral_collapse.framework.model_set import study_device, trained_model
from spectral_collapse.train.shipped import install, shipped_dir


@probe("unclear", "`SPECTRAL_COLLAPSE_DEVICE=banana`", "refused naming the variable and the valid values")
def test_an_unknown_device_names_the_variable_and_the_valid_values(monkeypatch):
    monkeypatch.setenv("SPECTRAL_COLLAPSE_DEVICE", "banana")
    with pytest.raises(ValueError, match=r"SPECTRAL_COLLAPSE_DEVICE='banana' is not a device; valid "
                                                      r"values: cpu, cuda, cuda:<index>, mps"):
        study_device()
    monkeypatch.setenv("SPECTRAL_COLLAPSE_DEVICE", "cpu")
    assert study_device() == "cpu"


@probe("silent", "`SPECTRAL_COLLAPSE_THREADS=abc` or `0`", "refused naming the variable, as `--threads` is")
@pytest.mark.parametrize("value", ["abc", "0", "-2", "1.5"])
def test_a_thread_count_that_is_not_a_whole_number_is_refused(monkeypatch, value):
    monkeypatch.setenv("SPECTRAL_COLLAPSE_THREADS", value)
    with pytest.raises(ValueError, match=rf"SPECTRAL_COLLAPSE_THREADS='{value}' must be a whole number "
                                                      r">= 1"):
        kernel_threads(2)
    with pytest.raises(ValueError):
        torch_threads()   # what a study notebook calls when it starts


def test_a_valid_thread_count_is_taken(monkeypatch):
    monkeypatch.setenv("SPECTRAL_COLLAPSE_THREADS", "3")
    assert kernel_threads(2) == 3
    monkeypatch.setenv("SPECTRAL_COLLAPSE_THREADS", "")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert kernel_threads(4) == 2


@probe("silent", "`SPECTRAL_COLLAPSE_WEIGHTS=/nonexistent` (a 45-minute training started instead)",
       "refused before any training, naming the variable")
def test_a_weights_folder_that_is_not_there_is_refused_before_training(monkeypatch, tmp_path):
    monkeypatch.setenv("SPECTRAL_COLLAPSE_WEIGHTS", "/nonexistent")
    with pytest.raises(ValueError, match=r"SPECTRAL_COLLAPSE_WEIGHTS='/nonexistent' is not a folder"):
        install(tmp_path / "ihc-sr-x4-eps-quick-0123")   # the first thing a training does: look for shipped weights
    monkeypatch.setenv("SPECTRAL_COLLAPSE_WEIGHTS", str(tmp_path))
    assert shipped_dir("m") == tmp_path / "m"


@probe("unclear", "a read-only checkout installing the models (Errno 30)",
       "refused naming the folder and `SPECTRAL_COLLAPSE_CHECKPOINTS`")
def test_a_read_only_checkpoint_folder_names_the_variable(monkeypatch, tmp_path):
    root = tmp_path / "checkpoints"
    real = Path.mkdir

    def read_only(self, *a, **k):   # root ignores permissions: the file system's own answer is given instead
        if str(self).startswith(str(root)):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "mkdir", read_only)
    with pytest.raises(PermissionError, match=rf"cannot write under {root} \(Read-only file system: .*\); set "
                                              r"SPECTRAL_COLLAPSE_CHECKPOINTS to a folder you can write"):
        trained_model("smoke", "ihc-sr", "eps", root=str(root), progress=False)
