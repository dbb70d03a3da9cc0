"""Interruptions lose nothing (issue 8, item 3), tested with real processes killed by SIGKILL.

* Training: a subprocess trains the smoke profile's eps model into a temporary checkpoint root and is killed once its
  first resume point exists; training again resumes from that point and ends with the same weights, bit for bit,
  as an uninterrupted run (CPU, one thread, fixed seed).
* A study: a subprocess runs a translation study and is killed once some of its cells are stored under .partial/;
  no results file and no temporary file is left, and a rerun computes only the missing cells (the stored ones keep
  their modification times) and gives the same numbers as an uninterrupted run.

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
from spectral_collapse.models.oracle import GaussianOracleNet
from spectral_collapse.models.schedules import VPSchedule
from spectral_collapse.studies.models import dataset_for
from spectral_collapse.studies.profiles import get_profile
from spectral_collapse.studies import translation as tr
from spectral_collapse.studies.store import results_path
from spectral_collapse.studies.translation import run_translation_study
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
from spectral_collapse.studies.models import dataset_for
from spectral_collapse.studies.profiles import get_profile
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

    p = get_profile("smoke")
    spec, cfg, data = p.model_spec("eps"), p.train_config("eps"), dataset_for("smoke", "ihc-sr")
    ckpt = checkpoint_dir("shared", trainer._full_config(spec, cfg, data), tmp_path)
    trained, real = [], trainer._train
    monkeypatch.setattr(trainer, "_train", lambda *a, **kw: trained.append(1) or real(*a, **kw))
    got = {}
    with checkpoint_lock(ckpt, "shared"):  # this "process" is training the model
        waiter = threading.Thread(target=lambda: got.setdefault("tm", train(spec, cfg, data, name="shared",
                                                                              root=tmp_path, progress=False)))
        waiter.start()
        waiter.join(timeout=3)
        assert waiter.is_alive() and not trained  # waits, does not train a second copy
        first = real(spec, cfg, data, trainer._full_config(spec, cfg, data), ckpt, name="shared", progress=False,
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
from spectral_collapse.models.denoisers import EpsDenoiser
from spectral_collapse.models.oracle import GaussianOracleNet
from spectral_collapse.models.schedules import VPSchedule
from spectral_collapse.studies.translation import run_translation_study

class Slow(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner
    def forward(self, *a, **k):
        time.sleep(0.1)
        return self.inner(*a, **k)

sched = VPSchedule()
D = EpsDenoiser(Slow(GaussianOracleNet("eps", schedule=sched)), sched)
run_translation_study("killed", "ihc-sr", "smoke", labels=%r, seeds=%r, models={"eps": D}, root=sys.argv[1],
                      progress=False)
""" % (LABELS, SEEDS)


def _oracle():
    sched = VPSchedule()
    return EpsDenoiser(GaussianOracleNet("eps", schedule=sched), sched)


def test_killed_study_leaves_no_partial_file_and_rerun_redoes_only_missing_cells(tmp_path, monkeypatch):
    root = tmp_path / "res"
    partial = root / "killed" / ".partial"
    cells = lambda: sorted(partial.rglob("*.nc"))  # noqa: E731
    n_cells = 1 + len(SEEDS)
    proc = _spawn(STUDY_CHILD, str(root))
    _kill_when(proc, lambda: len(cells()) >= 1, "the first stored cell")
    final = results_path("killed", "ihc-sr", "smoke", root)
    done = {p: p.stat().st_mtime_ns for p in cells()}
    assert 1 <= len(done) < n_cells
    assert not final.exists()
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp")], "a temporary file was left behind"
    stale = next(iter(done)).parent / ".ddim-seed0.nc.abc123.tmp"  # as a kill in the middle of a write would leave
    stale.write_bytes(b"half a file")

    computed = []  # one call per cell (the smoke test split fits one batch)
    real = tr._translate_batched
    monkeypatch.setattr(tr, "_translate_batched", lambda *a, **k: computed.append(a[2].label) or real(*a, **k))
    ds = run_translation_study("killed", "ihc-sr", "smoke", labels=LABELS, seeds=SEEDS, models={"eps": _oracle()},
                               root=root, progress=False)
    assert len(computed) == n_cells - len(done)  # only the missing cells were computed
    assert {p: p.stat().st_mtime_ns for p in done} == done  # the stored cells were not rewritten
    assert len(cells()) == n_cells and final.exists() and not stale.exists()

    straight = run_translation_study("straight", "ihc-sr", "smoke", labels=LABELS, seeds=SEEDS, models={"eps": _oracle()},
                                     root=tmp_path / "straight", progress=False, save=False)
    for v in ("psnr", "s_hf", "s_dc", "s_g", "finite", "latents"):
        xr.testing.assert_equal(ds[v], straight[v])
