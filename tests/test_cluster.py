"""Studies, their cells and training rounds on a Dask cluster (pipeline.cluster): a cell computed as a task stores
what the serial loop stores, a worker killed mid-study or mid-cell is replaced and its task rerun to the same results,
an unreachable scheduler and storage the workers do not share are named before any work, and a SLURM cluster's job
script asks for what its configuration says."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from conftest import no_shipped_weights
from spectral_collapse.pipeline import cluster as cluster_mod
from spectral_collapse.pipeline.cluster import SCHEDULER_ENV, check_shared, open_cluster
from spectral_collapse.pipeline.runner import run_study
from spectral_collapse.framework import model_set as models_mod

MAIN = dict(dataset="ihc-sr", profile="smoke", methods=["ddim", "taba"], seeds=[0, 1])   # 3 translation cells


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    """The smoke model, trained once for the module (as the main command trains it before the studies)."""
    root = tmp_path_factory.mktemp("ckpt")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(models_mod, "CHECKPOINT_ROOT", str(root))
        mp.setenv("SPECTRAL_COLLAPSE_CHECKPOINTS", str(root))   # worker processes and kernels too
        models_mod.trained_model("smoke", "ihc-sr", "eps", progress=False)
        yield root


def assert_same_numbers(a: xr.Dataset, b: xr.Dataset) -> None:
    """Every variable and coordinate equal to the bit (NaN where NaN), and the same cell counts."""
    assert sorted(a.data_vars) == sorted(b.data_vars)
    for name in [*a.data_vars, *a.coords]:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    assert json.loads(a.attrs["cells"]) == json.loads(b.attrs["cells"])


def assert_nothing_left(*folders: Path) -> None:
    """No temporary file, and no cell or checkpoint lock still held (each can be taken at once)."""
    import fcntl

    for folder in folders:
        assert not [p for p in Path(folder).rglob("*") if ".tmp" in p.name], folder
        for lock in Path(folder).rglob("*.lock"):
            with open(lock, "a+") as f:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)   # raises BlockingIOError while held


def test_cells_computed_as_tasks_store_the_serial_runs_results_to_the_bit(tmp_path, ckpts, monkeypatch, capfd):
    """main_results (smoke, 2 methods x 2 seeds: 3 translation cells per arm) run serially and with its cells as tasks
    on a LocalCluster (one worker thread in this process: threads share torch's global generator, worker processes
    do not): the stored numbers agree bit for bit, and the cells did run as tasks."""
    from distributed import get_task_stream

    serial = run_study("main_results", results_root=tmp_path / "serial" / "results", **MAIN)
    with open_cluster("local", 1, 1, processes=False) as client:
        monkeypatch.setenv(SCHEDULER_ENV, client.scheduler.address)
        monkeypatch.setenv("SPECTRAL_COLLAPSE_PROGRESS", "1")
        with get_task_stream(client) as stream:
            spread = run_study("main_results", results_root=tmp_path / "spread" / "results", **MAIN)
        cells = [t["key"] for t in stream.data if str(t["key"]).startswith("cell-")]
    arms = 1 + len(json.loads(serial.attrs.get("arms", "[]")))   # the trained models' and the oracle's
    assert len(cells) == json.loads(serial.attrs["cells"])["computed"] - arms == 3 * arms   # and each arm's samples
    assert_same_numbers(spread, serial)
    assert "cells on the cluster" in capfd.readouterr().err   # the kernel's terminal counts the tasks done
    again = run_study("main_results", results_root=tmp_path / "spread" / "results", **MAIN)   # stored: read back, same
    assert_same_numbers(again, serial)


def test_an_unreachable_scheduler_is_named_before_any_work(monkeypatch, tmp_path):
    from spectral_collapse.pipeline import execute

    monkeypatch.setattr(cluster_mod, "CONNECT_S", 1)
    monkeypatch.setattr(execute, "run_reason", lambda *a, **k: "no chapter yet")
    ran = []
    monkeypatch.setattr(execute, "execute_study", lambda *a, **k: ran.append(a))
    with pytest.raises(ConnectionError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9 .*nothing "
                                              r"was run"):
        execute.run_studies("smoke", ["pareto"], ["ihc-sr"], root=tmp_path, cluster="tcp://127.0.0.1:9",
                            book_dir=tmp_path / "b")
    assert ran == []


@pytest.mark.parametrize("bad", ["nowhere", "slurmm"])
def test_a_cluster_that_is_none_of_the_three_forms_is_refused(bad):
    with pytest.raises(ValueError, match=f"--cluster '{bad}' is not local, a scheduler address"):
        with open_cluster(bad, 1, 1):
            pass


def test_storage_the_workers_do_not_share_is_named(tmp_path, monkeypatch):
    """A worker that writes its probe where this machine does not see it (another filesystem, here another folder)."""
    elsewhere = tmp_path / "their-disk"
    real_probe = cluster_mod._probe

    with open_cluster("local", 1, 1, processes=False) as client:
        check_shared(client, tmp_path / "results")   # one filesystem: passes, leaves nothing
        assert not list((tmp_path / "results").glob(".dask-probe-*"))
        monkeypatch.setattr(cluster_mod, "_probe", lambda path, token: real_probe(str(elsewhere / Path(path).name),
                                                                                  token))
        with pytest.raises(RuntimeError, match=f"{tmp_path / 'results'} is not shared with the Dask workers"):
            check_shared(client, tmp_path / "results")


def test_importing_dask_jobqueue_leaves_ctrl_c_raising_keyboard_interrupt():
    """dask-jobqueue's SLURM module makes SIGINT call sys.exit when imported; the command's import of it puts
    Python's handler back, so Ctrl-C still stops the started studies. Fresh processes: the module imports once."""
    probe = ("import signal, sys; {}; "
             "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}

    def handler_kept(code: str) -> str:
        return subprocess.run([sys.executable, "-c", probe.format(code)], capture_output=True, text=True,
                              env=env, check=True).stdout.strip()

    assert handler_kept("import dask_jobqueue.slurm") == "False"   # what the guard is for
    assert handler_kept("from spectral_collapse.pipeline.cluster_checks import import_jobqueue; import_jobqueue()") \
        == "True"


def test_the_books_slurm_configuration_gives_a_job_script_with_its_resources_and_a_worker_with_a_study_slot():
    """book/cluster.md's jobqueue.yaml, as dask-jobqueue reads it: its job script asks SLURM for what the page says
    and starts one worker with the GPU and study slot as resources (no SLURM here: nothing is submitted)."""
    import re

    import dask
    import yaml

    cluster_mod.import_jobqueue()   # loads its default configuration

    root = Path(__file__).resolve().parents[1]
    page = (root / "book" / "cluster.md").read_text()
    conf = yaml.safe_load(re.search(r"```yaml\n(.*?)```", page, re.S).group(1))["jobqueue"]["slurm"]
    assert "--cluster slurm" in page and "- file: cluster\n" in (root / "_toc.yml").read_text()
    here = {"scheduler-options": {"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"}}   # no address lookup
    with dask.config.set({"jobqueue.slurm": {**dask.config.get("jobqueue.slurm"), **conf, **here}}):
        cl = cluster_mod.jobqueue_cluster("slurm")
        try:
            script = cl.job_script()
        finally:
            cl.close()
    lines = script.splitlines()
    assert "#SBATCH -p gpu" in lines and "#SBATCH -t 04:00:00" in lines and "#SBATCH --gres=gpu:1" in lines
    assert "#SBATCH --cpus-per-task=8" in lines and "#SBATCH --mem=30G" in lines
    worker = next(line for line in lines if "distributed.cli.dask_worker" in line)
    assert "--resources GPU=1,study=1" in worker and "--nthreads 8" in worker and " tcp://" in worker
    assert lines.index(cluster_mod.MMAP_ENV) < lines.index(worker)   # the worker's torch at full speed


def test_training_rounds_as_tasks_equal_the_rounds_trained_here(tmp_path):
    """Two lockstep rounds as tasks on a LocalCluster (one worker thread: threads share torch's global generator; no
    GPU declared, so the CPU path) give the checkpoints train_lockstep gives here."""
    from test_lockstep import assert_same_weights, job
    from spectral_collapse.train.lockstep import train_lockstep

    rounds = [[job("eps", seed=0, steps=3)], [job("edm", seed=1, data_seed=1, steps=3)]]
    with open_cluster("local", 1, 1, processes=False) as client:
        assert cluster_mod.gpu_resources(client) == {}
        spread = cluster_mod.train_rounds(client, rounds, root=str(tmp_path / "spread" / "results"))
    for r, got in zip(rounds, spread):
        here = train_lockstep(r, root=tmp_path / "here", progress=False, device="cpu")
        for a, b in zip(got, here):
            assert_same_weights(a.path, b.path)
            assert a.log == b.log


def test_the_model_set_trained_as_rounds_on_a_cluster_equals_the_models_trained_one_by_one(tmp_path, monkeypatch):
    """``train --set ... --cluster``'s work (train_model_set): two smoke models dealt into two lockstep rounds, each a
    task, give the weights and logs of the ordinary trainer run here, model by model; the keys map to their models."""
    from test_lockstep import assert_same_weights

    keys = ["ihc-sr-x4-eps", "ihc-sr-x4-edm"]
    monkeypatch.setattr(models_mod, "CHECKPOINT_ROOT", str(tmp_path / "rounds"))
    no_shipped_weights(tmp_path, monkeypatch)   # the smoke models are shipped: train them here
    with open_cluster("local", 1, 1, processes=False) as client:
        got = cluster_mod.train_model_set(client, "smoke", keys, rounds=2)
    assert sorted(got) == sorted(keys)
    monkeypatch.setattr(models_mod, "CHECKPOINT_ROOT", str(tmp_path / "one-by-one"))
    for role in models_mod.model_set(keys):
        here = models_mod.load_role("smoke", role, progress=False)
        assert Path(got[role.key].path).name == Path(here.path).name
        assert_same_weights(got[role.key].path, here.path)


def test_an_ablations_arms_train_as_rounds_on_a_cluster_and_only_what_is_missing(tmp_path, monkeypatch):
    """seed_spread's three training seeds are three lockstep rounds (eps and EDM each) handed to the cache; a study
    kernel on a cluster trains them as tasks (Memo.train_rounds), after which nothing is left to train; without a
    cluster the cache asks for no plan at all."""
    from spectral_collapse.pipeline.memo import Memo
    from spectral_collapse.studies import ablations
    from spectral_collapse.framework.cells import StudyContext
    no_shipped_weights(tmp_path, monkeypatch)   # the smoke models are shipped: train them here
    from spectral_collapse.studies.registry import study_spec

    monkeypatch.setattr(models_mod, "CHECKPOINT_ROOT", str(tmp_path / "ck"))

    class Stop(Exception):
        pass

    class Recorder:
        def train_rounds(self, make_rounds):
            self.rounds = make_rounds()
            raise Stop

    seen = Recorder()
    spec = study_spec("seed_spread", dataset="ihc-sr", profile="smoke", seeds=[0])
    with pytest.raises(Stop):
        ablations.run_ablation_spec(spec, StudyContext(cache=seen))
    assert [sorted(j.spec.parameterization for j in r) for r in seen.rounds] == [["edm", "eps"]] * 3
    assert [r[0].cfg.seed for r in seen.rounds] == list(ablations.TRAIN_SEEDS)

    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    Memo(tmp_path / "cells").train_rounds(lambda: pytest.fail("asked for plans without a cluster"))
    first = seen.rounds[1][:1]   # training seed 1, one model
    with open_cluster("local", 1, 1, processes=False) as client:
        monkeypatch.setenv(SCHEDULER_ENV, client.scheduler.address)
        Memo(tmp_path / "cells").train_rounds(lambda: [first])
    left = models_mod.plans_to_train("smoke", "ihc-sr", ["ddim", "edm"], seed=1)
    assert [j.name for j in left] == [j.name for j in seen.rounds[1] if j.name != first[0].name]


def test_training_on_a_cluster_needs_the_set():
    from spectral_collapse.cli import main

    with pytest.raises(SystemExit, match="--set"):
        main(["train", "--profile", "smoke", "--cluster", "local"])


# ------------------------------------------------------------------ faults (worker processes; slow)

def _kill_once(pid_of, what: str, timeout: float = 300) -> threading.Thread:
    """A thread that SIGKILLs the process ``pid_of()`` names (None: not yet) once; ``what`` for the message."""
    killed = {}

    def watch():
        deadline = time.time() + timeout
        while time.time() < deadline:
            pid = pid_of()
            if pid:
                os.kill(pid, signal.SIGKILL)
                killed["pid"] = pid
                print(f"killed the worker {pid} in the middle of {what}", flush=True)
                return
            time.sleep(0.05)

    t = threading.Thread(target=watch, daemon=True)
    t.killed = killed
    t.start()
    return t


@pytest.mark.slow
def test_a_worker_killed_in_the_middle_of_a_cell_is_replaced_and_the_cell_rerun(tmp_path, ckpts, monkeypatch):
    serial = run_study("main_results", results_root=tmp_path / "serial" / "results", **MAIN)
    with open_cluster("local", 2, 1) as client:
        monkeypatch.setenv(SCHEDULER_ENV, client.scheduler.address)
        pids = client.run(os.getpid)

        def busy_with_a_cell():
            for addr, keys in client.processing().items():
                if any(str(k).startswith("cell-") for k in keys) and addr in pids:
                    time.sleep(0.5)   # well inside the cell
                    return pids[addr]
            return None

        killer = _kill_once(busy_with_a_cell, "a cell")
        spread = run_study("main_results", results_root=tmp_path / "spread" / "results", **MAIN)
        killer.join(1)
        assert killer.killed, "no cell was seen running on a worker"
        client.wait_for_workers(2, timeout=120)   # the nanny started a new worker in its place
        assert killer.killed["pid"] not in client.run(os.getpid).values()
    assert_same_numbers(spread, serial)
    assert_nothing_left(tmp_path / "spread")


NOTEBOOK = '''
import os, time
from pathlib import Path
Path(results_root).mkdir(parents=True, exist_ok=True)
Path(results_root, f"worker-{os.getppid()}.pid").write_text(str(os.getppid()))
time.sleep(3)
from spectral_collapse.pipeline.runner import run_study
run_study("main_results", results_root=results_root, dataset=dataset, profile=profile, methods=["ddim", "taba"],
          seeds=[0, 1])
'''


@pytest.mark.slow
def test_a_worker_killed_in_the_middle_of_a_study_is_replaced_and_the_study_rerun(tmp_path, ckpts):
    """`studies --cluster local --jobs 2` of a main_results notebook whose worker is killed while it runs: the study
    runs again on a worker, its stored results equal an uninterrupted run's and nothing partial is left."""
    from test_run_studies import _tiny_repo
    from spectral_collapse.pipeline.execute import run_studies

    root = _tiny_repo(tmp_path, "main_results", NOTEBOOK)
    res = tmp_path / "results"
    killer = _kill_once(lambda: next((int(p.read_text()) for p in res.glob("worker-*.pid")), None), "a study")
    done = run_studies("smoke", ["main_results"], ["ihc-sr"], root=root, results_root=str(res), jobs=2,
                       cluster="local", book_dir=tmp_path / "book")
    assert [p.name for p in done] == ["main_results-ihc-sr-smoke.ipynb"] and done[0].is_file()
    assert killer.killed and len(list(res.glob("worker-*.pid"))) == 2   # it ran again, on another worker process
    stored = xr.load_dataset(res / "main_results" / "ihc-sr-smoke.nc")
    alone = run_study("main_results", results_root=tmp_path / "alone" / "results", **MAIN)
    assert_same_numbers(stored, alone)
    assert_nothing_left(res, tmp_path / "cache", tmp_path / "book")


def test_a_cells_task_carries_its_model_and_inputs_by_reference_once():
    """A compute function closing over a model and large inputs pickles to a few kB however large they are; the model
    and the inputs travel apart, once, and the function loaded against them computes what the original computes."""
    import pickle

    import cloudpickle
    import torch

    from spectral_collapse.pipeline import memo

    def closure(width):
        net = torch.nn.Sequential(torch.nn.Conv2d(3, width, 3, padding=1), torch.nn.Conv2d(width, 3, 1)).eval()
        x = torch.randn(64, 3, 16, 16, generator=torch.Generator().manual_seed(0))

        def compute():
            with torch.no_grad():
                return net(x) + net(x[:1])   # the same model twice, and a small view pickled inline

        return compute, net, x

    small, big = (memo._pack(closure(w)[0]) for w in (8, 512))
    assert len(big[0]) == len(small[0]) < 4096 < closure(512)[1][0].weight.nbytes
    compute, net, x = closure(512)
    payload, refs = memo._pack(compute)
    assert sorted(map(id, refs.values())) == sorted([id(net), id(x)])   # each once
    loaded = memo._unpack(payload, {r: memo._load(r, cloudpickle.dumps(o)) for r, o in refs.items()})
    assert torch.equal(loaded(), compute())
    assert pickle.loads(cloudpickle.dumps(net)) is not net   # ... from copies, as a worker has them
    net.train()
    assert memo._pack(compute)[1].keys() != refs.keys()      # a model's mode is part of its reference


def test_a_local_clusters_workers_keep_glibcs_adaptive_malloc():
    """Dask's nannies set MALLOC_TRIM_THRESHOLD_ for their workers, which doubles the time of torch's steps there; the
    local cluster's workers (and the study kernels they start) run without it."""
    with open_cluster("local", 1, 1) as client:
        assert set(client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_")).values()) == {None}


def _study_with_cells(i: int) -> int:
    """A study as the cluster runs one: it holds a study slot, leaves its worker's thread and waits on cells."""
    from distributed import Client, get_worker, secede

    secede()
    with Client(get_worker().scheduler.address, set_as_default=False) as client:   # as the study's kernel connects
        return i + sum(client.gather([client.submit(pow, j, 2, pure=False) for j in range(6)]))


def test_cells_run_while_more_studies_than_workers_wait_for_a_slot():
    """Three studies on one worker: two wait for its study slot while the first one's cells must still run. (Dask's
    scheduler-side queue counts the waiting studies as the worker's work and would hold the cells back for ever.)"""
    with open_cluster("local", 1, 1, processes=False) as client:
        studies = [client.submit(_study_with_cells, i, resources={"study": 1}, pure=False) for i in range(3)]
        assert [f.result(timeout=60) for f in studies] == [55, 56, 57]
