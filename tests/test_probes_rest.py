"""Probes of the rest of reliability round 5: a resumed training's loss log, study parameters and environment
variables naming a file where a folder belongs (or the reverse), an interrupted results write, an absurd memory
limit. Each is a ``@probe`` of the record (tests/probes.py)."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

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
