"""Interruptions lose nothing, tested with real processes killed by SIGKILL.

* Training: a subprocess trains the smoke profile's eps model into a temporary checkpoint root and is killed once its
  first resume point exists; training again resumes from that point and ends with the same weights, bit for bit,
  as an uninterrupted run (CPU, one thread, fixed seed).
* A study: a subprocess runs a translation study and is killed once some of its cells are stored in the cell cache
  (pipeline/memo.py); a rerun computes only the missing cells (the stored ones keep their modification times),
  leaves alone a temporary file that a killed write left, and gives the same numbers as an uninterrupted run.

Both subprocesses are slowed by a sleep in their data / network calls (which changes no number), so the kill lands
while they are still working.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
import xarray as xr
from safetensors.torch import load_file

from spectral_collapse.models.denoisers import EpsDenoiser
from oracle import GaussianOracleNet
from spectral_collapse.models.schedules import VPSchedule
from spectral_collapse.framework.model_set import dataset_for
from spectral_collapse.framework.profiles import get_profile
from spectral_collapse.pipeline.memo import Memo
from spectral_collapse.framework import cells as cells_mod
from spectral_collapse.studies.main_results import run_translation_study
from spectral_collapse.train.trainer import train

START_TIMEOUT = 900  # s: a fresh interpreter imports torch, diffusers and xarray (slow on a busy machine)


def _spawn(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _kill_when(proc: subprocess.Popen, ready, what: str) -> None:
    """SIGKILL ``proc`` as soon as ``ready()`` holds; fail if it exits or times out first."""
    t0 = time.time()
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the process ended (rc {proc.returncode}) before {what}:\n{proc.stdout.read()[-3000:]}")
        if time.time() - t0 > START_TIMEOUT:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)
    assert proc.poll() is None, "the process finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


# --- training ----------------------------------------------------------------------------------------------------

TRAIN_CHILD = """
import sys, time, torch
torch.set_num_threads(1)
from spectral_collapse.framework.model_set import dataset_for
from spectral_collapse.framework.profiles import get_profile
from spectral_collapse.train.trainer import train

class Slow:  # same name and meta (so the same checkpoint folder) and the same batches, just later
    def __init__(self, data):
        self.data, self.name, self.meta = data, data.name, data.meta
    def train_batch(self, *a, **k):
        time.sleep(0.1)
        return self.data.train_batch(*a, **k)

p = get_profile("smoke")
train(p.model_spec("eps"), p.train_config("eps"), Slow(dataset_for("smoke", "ihc-sr")), name="killed",
      root=sys.argv[1], progress=False)
"""


def _weights(path: Path) -> dict:
    return {f: load_file(str(path / f)) for f in ("model.safetensors", "ema.safetensors")}


def test_killed_training_resumes_to_the_same_weights(tmp_path):
    p = get_profile("smoke")
    spec, cfg, data = p.model_spec("eps"), p.train_config("eps"), dataset_for("smoke", "ihc-sr")
    assert cfg.checkpoint_every < cfg.steps
    proc = _spawn(TRAIN_CHILD, str(tmp_path / "killed"))
    resume = lambda: next((tmp_path / "killed").glob("*/resume/state.pt"), None) is not None  # noqa: E731
    _kill_when(proc, resume, "the first resume checkpoint")
    ckpt = next((tmp_path / "killed").glob("killed-*"))
    assert not (ckpt / "DONE").exists()
    step = int(torch.load(next(ckpt.glob("resume*/state.pt")), weights_only=True)["step"])
    assert 0 < step < cfg.steps
    resumed = train(spec, cfg, data, name="killed", root=tmp_path / "killed", progress=False)
    assert resumed.path == ckpt and (ckpt / "DONE").exists() and not (ckpt / "resume").exists()
    straight = train(spec, cfg, data, name="straight", root=tmp_path / "straight", progress=False)
    got, want = _weights(resumed.path), _weights(straight.path)
    for f in want:
        assert got[f].keys() == want[f].keys()
        for k in want[f]:
            assert torch.equal(got[f][k], want[f][k]), f"{f}:{k} differs after resuming from step {step}"


def test_a_second_process_waits_for_the_checkpoint_being_trained_and_reuses_it(tmp_path, monkeypatch, capfd):
    """Studies side by side (cli studies --jobs N) ask for the same model: only the first trains it."""
    import threading

    from spectral_collapse.train import trainer
    from spectral_collapse.train.cache import checkpoint_dir, checkpoint_lock
    from spectral_collapse.train.config import full_config

    p = get_profile("smoke")
    spec, cfg, data = p.model_spec("eps"), p.train_config("eps"), dataset_for("smoke", "ihc-sr")
    ckpt = checkpoint_dir("shared", full_config(spec, cfg, data), tmp_path)
    trained, real = [], trainer._train
    monkeypatch.setattr(trainer, "_train", lambda *a, **kw: trained.append(1) or real(*a, **kw))
    got = {}
    with checkpoint_lock(ckpt, "shared"):  # this "process" is training the model
        waiter = threading.Thread(target=lambda: got.setdefault("tm", train(spec, cfg, data, name="shared",
                                                                              root=tmp_path, progress=False)))
        waiter.start()
        waiter.join(timeout=3)
        assert waiter.is_alive() and not trained  # waits, does not train a second copy
        first = real(spec, cfg, data, full_config(spec, cfg, data), ckpt, name="shared", progress=False,
                     stop_after=None, accelerator=None)
    waiter.join(timeout=300)
    assert not waiter.is_alive() and not trained  # it loaded the finished checkpoint
    assert got["tm"].path == first.path == ckpt
    for k, v in first.denoiser.net.state_dict().items():
        assert torch.equal(got["tm"].denoiser.net.state_dict()[k], v)
    assert "waiting for another process that is training shared" in capfd.readouterr().err
    assert not (ckpt / ".lock").exists()  # a finished folder holds the checkpoint's files only


# --- a study -----------------------------------------------------------------------------------------------------

LABELS, SEEDS = ["ddim", "taba"], [0, 1, 2]  # ddim: one cell shared by the seeds; taba: one cell per seed
STUDY_CHILD = """
import sys, time, torch
torch.set_num_threads(1)
sys.path.insert(0, %r)  # tests/, which holds the oracle
from spectral_collapse.models.denoisers import EpsDenoiser
from oracle import GaussianOracleNet
from spectral_collapse.models.schedules import VPSchedule
from spectral_collapse.pipeline.memo import Memo
from spectral_collapse.studies.main_results import run_translation_study

fast = GaussianOracleNet.forward
def slow(self, *a, **k):  # the same network (same cells), only slower, so the kill lands mid-run
    time.sleep(0.1)
    return fast(self, *a, **k)
GaussianOracleNet.forward = slow

sched = VPSchedule()
D = EpsDenoiser(GaussianOracleNet("eps", schedule=sched), sched)
run_translation_study("killed", "ihc-sr", "smoke", labels=%r, seeds=%r, models={"eps": D}, cache=Memo(sys.argv[1]),
                      progress=False)
""" % (str(Path(__file__).parent), LABELS, SEEDS)


def _oracle():
    sched = VPSchedule()
    return EpsDenoiser(GaussianOracleNet("eps", schedule=sched), sched)


def test_killed_study_keeps_its_cells_and_rerun_redoes_only_missing_ones(tmp_path, monkeypatch):
    root = tmp_path / "cells"
    translations = lambda: sorted(p for p in root.rglob("*.nc"))  # noqa: E731
    n_cells = 1 + len(SEEDS) + 1  # ddim, taba per seed, then the samples from noise
    proc = _spawn(STUDY_CHILD, str(root))
    _kill_when(proc, lambda: len(translations()) >= 1, "the first stored cell")
    done = {p: p.stat().st_mtime_ns for p in translations()}
    assert 1 <= len(done) < n_cells
    stale = next(iter(done)).parent / ".cell.nc.abc123.tmp"  # as a kill in the middle of a write would leave
    stale.write_bytes(b"half a file")

    computed = []  # one call per translation cell (the smoke test split fits one batch)
    real = cells_mod.translate_batched
    monkeypatch.setattr(cells_mod, "translate_batched", lambda *a, **k: computed.append(a[2].label) or real(*a, **k))
    memo = Memo(root)
    ds = run_translation_study("killed", "ihc-sr", "smoke", labels=LABELS, seeds=SEEDS, models={"eps": _oracle()},
                               cache=memo, progress=False)
    assert memo.hits == len(done) and memo.misses == n_cells - len(done)  # only the missing cells were computed
    assert len(computed) == (1 + len(SEEDS)) - len(done)  # the noise-sample cell, stored last, was not among them
    assert {p: p.stat().st_mtime_ns for p in done} == done  # the stored cells were not rewritten
    assert len(translations()) == n_cells
    assert stale.exists()  # another run's (or a killed run's) temporary file is never deleted by a run

    straight = run_translation_study("straight", "ihc-sr", "smoke", labels=LABELS, seeds=SEEDS, models={"eps": _oracle()},
                                     progress=False)
    for v in ("psnr", "s_hf", "s_dc", "s_g", "finite", "latents"):
        xr.testing.assert_equal(ds[v], straight[v])
