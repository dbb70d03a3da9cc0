"""Hostile-user probes of training and storing: a resumed training's loss log, study parameters and environment
variables naming a file where a folder belongs (or the reverse), an interrupted results write, an absurd memory
limit. Each is a ``@probe`` of the record (tests/probes.py)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from conftest import tiny_training
from probes import probe
from spectral_collapse.train import lockstep, trainer
from test_lockstep import pool_data


class Killed(Exception):
    """Stands for a SIGKILL in the middle of a training: the process stops between two resume snapshots."""


def _job(seed=7):
    spec, cfg = tiny_training("eps", steps=10, checkpoint_every=3)
    return lockstep.Job(spec, replace(cfg, seed=seed), pool_data(seed), f"log-{seed}")


def _kill_at(monkeypatch, cls, step):
    after = cls.after_step

    def dying(self, t0):
        if self.step == step:
            raise Killed(step)
        after(self, t0)
    monkeypatch.setattr(cls, "after_step", dying)


@probe("silent", "the lockstep trainer killed between two snapshots, then resumed",
       "the training log's running loss is the uninterrupted run's, entry for entry")
@pytest.mark.parametrize("how", ["killed", "stopped"])
@pytest.mark.parametrize("which", ["lockstep", "trainer"])
def test_a_resumed_training_logs_the_uninterrupted_runs_losses(tmp_path, monkeypatch, how, which):
    monkeypatch.setattr(trainer, "LOG_EVERY", 4)  # windows 1-4, 5-8, 9-10; snapshots at steps 3, 6, 9
    j = _job()
    run = {"lockstep": lambda root, **kw: lockstep.train_lockstep([j], root=root, progress=False, device="cpu",
                                                                  **kw)[0],
           "trainer": lambda root, **kw: trainer.train(j.spec, j.cfg, j.data, name=j.name, root=root, progress=False,
                                                       **kw)}[which]
    straight = run(tmp_path / "straight")
    assert [s for s, _ in straight.log] == [4, 8, 10]
    with monkeypatch.context() as m:
        if how == "killed":  # dies at step 5, after the snapshot at step 3 (in the window 1-4)
            _kill_at(m, lockstep.Member if which == "lockstep" else trainer.Run, 5)
            with pytest.raises(Killed):
                run(tmp_path / "r")
        else:
            run(tmp_path / "r", stop_after=6)
    resumed = run(tmp_path / "r")
    assert resumed.log == straight.log


def _stand_in_study(monkeypatch, run):
    """main_results with the stand-in computation ``run`` of test_results_checksum (no training)."""
    import dataclasses

    from spectral_collapse.studies.registry import STUDIES

    monkeypatch.setitem(STUDIES, "main_results", dataclasses.replace(STUDIES["main_results"], run=run, reads=()))


@probe("crash", "`-p results_root 5` (papermill passes the int 5)",
       "accepted as the folder `5`; a value that is no folder's name is refused naming `results_root`")
def test_a_numeric_results_root_is_a_folder_name(tmp_path, monkeypatch):
    from spectral_collapse.pipeline import notebook
    from test_results_checksum import _computed

    _stand_in_study(monkeypatch, _computed)
    monkeypatch.setattr(notebook, "setup_notebook", lambda: tmp_path)  # the kernel's set-up would chdir to the repo
    monkeypatch.chdir(tmp_path)
    ds = notebook.open_study("main_results", dataset="ihc-sr", profile="smoke", results_root=5)
    assert (tmp_path / "5" / "main_results" / "ihc-sr-smoke.nc").is_file() and "psnr" in ds
    with pytest.raises(TypeError) as err:
        notebook.open_study("main_results", dataset="ihc-sr", profile="smoke", results_root=True)
    assert err.value._render_traceback_()[0] == ("TypeError: results_root=True is not a folder; give a folder's path, "
                                                 "e.g. -p results_root data/results")


@probe("late", "a folder standing where a study's results file belongs",
       "refused before the computation, naming the folder and `results_root`")
def test_a_folder_in_place_of_the_results_file_is_refused_before_the_computation(tmp_path, monkeypatch):
    from spectral_collapse.pipeline.runner import check_can_store, run_study

    _stand_in_study(monkeypatch, lambda spec, ctx: pytest.fail("computed before the check"))
    path = tmp_path / "results" / "main_results" / "ihc-sr-smoke.nc"
    path.mkdir(parents=True)
    root = tmp_path / "results"
    for call in (lambda: run_study("main_results", dataset="ihc-sr", profile="smoke", results_root=root),
                 lambda: check_can_store("main_results", "ihc-sr", "smoke", root)):
        with pytest.raises(IsADirectoryError, match=rf"^{path} is a folder where the results file belongs; nothing "
                                                    r"was computed\. .*results_root"):
            call()


@probe("silent", "SIGTERM during a results write (a hidden `.nc.*.tmp` left in the results folder)",
       "the next run of the study removes the leftover; a write in progress (younger than 10 minutes) is kept")
def test_the_next_run_removes_what_a_killed_results_write_left(tmp_path, monkeypatch):
    import os
    import time

    from spectral_collapse.pipeline.runner import run_study
    from spectral_collapse.train.cache import atomic_write_bytes
    from test_results_checksum import _computed

    _stand_in_study(monkeypatch, _computed)
    path = tmp_path / "results" / "main_results" / "ihc-sr-smoke.nc"
    real_replace = os.replace

    def killed(src, dst):  # SIGTERM's default action: the process ends with no clean-up run
        raise SystemExit(143) if str(dst) == str(path) else real_replace(src, dst)

    monkeypatch.setattr(os, "replace", killed)
    monkeypatch.setattr("spectral_collapse.train.cache.os.unlink", lambda p: None)  # ... and no unlink
    with pytest.raises(SystemExit):
        atomic_write_bytes(path, b"partial results")
    monkeypatch.undo()
    _stand_in_study(monkeypatch, _computed)
    (left,) = path.parent.glob(".ihc-sr-smoke.nc.*.tmp")
    old = time.time() - 3600
    os.utime(left, (old, old))
    young = path.parent / ".ihc-sr-smoke.nc.inprogress.tmp"
    young.write_bytes(b"another process writing")
    run_study("main_results", dataset="ihc-sr", profile="smoke", results_root=tmp_path / "results")
    assert path.is_file() and not left.exists() and young.exists()


@probe("unclear", "`SPECTRAL_COLLAPSE_CHECKPOINTS` pointing at a file",
       "refused naming the variable and the file, before any training")
def test_a_checkpoint_root_that_is_a_file_names_the_variable(tmp_path, monkeypatch):
    from spectral_collapse.environ import EnvironmentSettingError
    from spectral_collapse.framework import model_set as models

    afile = tmp_path / "checkpoints"
    afile.write_text("")
    monkeypatch.setattr(models, "CHECKPOINT_ROOT", str(afile))  # what the variable sets at import
    monkeypatch.setattr(models, "train", lambda *a, **k: (Path(k["root"]) / "m").mkdir(parents=True))  # its first act
    with pytest.raises(EnvironmentSettingError, match=rf"^SPECTRAL_COLLAPSE_CHECKPOINTS: {afile} is not a folder"):
        models.trained_model("smoke", "ihc-sr", "eps", progress=False)


@probe("unclear", "`SPECTRAL_COLLAPSE_WEIGHTS=/nonexistent` (the message named the bad value as the default; an "
       "empty checkpoint folder was left)", "refused naming the variable and the real default, `data/weights`; "
       "no folder is made")
@pytest.mark.parametrize("which", ["trainer", "lockstep"])
def test_a_missing_weights_folder_names_the_real_default_and_makes_no_folder(tmp_path, monkeypatch, which):
    from spectral_collapse.environ import EnvironmentSettingError

    monkeypatch.setenv("SPECTRAL_COLLAPSE_WEIGHTS", "/nonexistent")
    j = _job()
    root = tmp_path / "checkpoints"
    with pytest.raises(EnvironmentSettingError) as err:
        if which == "trainer":
            trainer.train(j.spec, j.cfg, j.data, name=j.name, root=root, progress=False)
        else:
            lockstep.train_lockstep([j], root=root, progress=False, device="cpu")
    assert str(err.value) == ("SPECTRAL_COLLAPSE_WEIGHTS='/nonexistent' is not a folder; point it at an existing "
                              "folder or unset it for the default (data/weights)")
    assert not root.exists()


@probe("unclear", "`SPECTRAL_COLLAPSE_MAX_MEMORY_GB=1e-6` with a user model (\"0 GiB above 0.0 GiB\")",
       "refused with both sizes in a unit that shows them (\"... above the 1.05 KiB ...\")")
def test_a_tiny_memory_limit_prints_readable_sizes(tmp_path, monkeypatch):
    import re

    from spectral_collapse.models.examples import save_example
    from spectral_collapse.models.hub import from_diffusers

    folder = save_example("ddpm", tmp_path / "model")
    monkeypatch.setenv("SPECTRAL_COLLAPSE_MAX_MEMORY_GB", "1e-6")
    with pytest.raises(ValueError) as err:
        from_diffusers(folder)
    text = str(err.value)
    unit = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}
    sizes = re.findall(r"([\d.]+) (bytes|KiB|MiB|GiB)", text)
    assert len(sizes) == 3, text  # needed, the weights, the bound
    assert all(float(v) >= 1 for v, _ in sizes), text
    bound = float(sizes[2][0]) * unit[sizes[2][1]]
    assert bound == pytest.approx(1e-6 * 2**30, rel=5e-3), text


@probe("unclear", "the Pareto chapter computing a sweep whose large step sizes overflow (a raw `RuntimeWarning` with "
       "a path of this machine's numpy)", "the warning shown as its class, its package and its message, no path")
def test_a_chapters_library_warning_shows_no_machine_path(tmp_path, monkeypatch):
    import sys
    import warnings

    from spectral_collapse.pipeline import notebook

    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)  # put back after the test
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():  # the filters the set-up adds, put back
        notebook.setup_notebook()
    numpy_file = f"{sys.prefix}/lib/python3.11/site-packages/numpy/core/_methods.py"
    message = warnings.WarningMessage("overflow encountered in reduce", RuntimeWarning, numpy_file, 118)
    shown = warnings._formatwarnmsg(message)  # what a kernel's warnings.showwarning writes (run_study re-warns so)
    assert shown == "RuntimeWarning (numpy): overflow encountered in reduce\n", shown
