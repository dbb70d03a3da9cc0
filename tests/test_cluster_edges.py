"""The cluster's edges (``pipeline.cluster_checks``): a ``--cluster`` value and ``--jobs`` are checked before any
client, cluster or job is made, also when every chapter is up to date; a batch system without its submit command or
its user section is refused naming the configuration; waiting for workers ends; and a results root the workers
cannot write gets the serial path's message."""
from __future__ import annotations

import os
import time

import pytest

from probes import probe
from spectral_collapse.pipeline import cluster as cluster_mod
from spectral_collapse.pipeline import cluster_checks, execute
from spectral_collapse.pipeline.cluster import open_cluster


def _up_to_date(monkeypatch, reason=None):
    monkeypatch.setattr(execute, "run_reason", lambda *a, **k: reason)
    ran = []
    monkeypatch.setattr(execute, "execute_study", lambda *a, **k: ran.append(a))
    return ran


def _run(tmp_path, **kw):
    return execute.run_studies("smoke", ["pareto"], ["ihc-sr"], root=tmp_path, book_dir=tmp_path / "b", **kw)


@probe("silent", "`--jobs 1000` (1,000 local workers asked for on 2 cores, no word)",
       "refused before any worker with the memory it implies, this machine's memory and cores, and --jobs to use; "
       "more workers than cores (within memory) warn")
def test_more_local_workers_than_memory_holds_are_refused_first(tmp_path, monkeypatch):
    ran = _up_to_date(monkeypatch)
    with pytest.raises(ValueError, match=r"^--jobs 1000 asks for 1000 worker processes on this machine \(about "
                                         r"2,500 GB of memory at about 2\.5 GB each; it has [\d,]+ GB and \d+ cores\); "
                                         r"pass --jobs \d+ or fewer"):
        _run(tmp_path, jobs=1000)
    assert ran == []
    monkeypatch.setattr(cluster_checks, "_memory_gb", lambda: 1e6)
    monkeypatch.setattr(cluster_checks, "cpu_cores", lambda: 2)
    with pytest.warns(UserWarning, match=r"^--jobs 3 runs 3 worker processes on this machine's 2 cores \(about 8 GB"):
        cluster_checks.check_cluster("local", 3)


@probe("unclear", "`--cluster slurm` where `sbatch` is missing (78 lines of tornado tracebacks, then a wait for ever)",
       "refused before any job, naming sbatch and where to run; a batch system's first worker is waited for at most "
       "30 minutes, then a timeout naming what to look at")
def test_a_batch_system_without_its_submit_command_is_refused_and_waiting_ends(tmp_path, monkeypatch):
    import dask

    cluster_mod.import_jobqueue()
    monkeypatch.setenv("PATH", str(tmp_path))                    # no sbatch here
    with dask.config.set({"jobqueue.slurm.cores": 8, "jobqueue.slurm.memory": "30GB"}):
        t0 = time.perf_counter()
        with pytest.raises(ValueError, match=r"^--cluster slurm: its submit command `sbatch` is not on this "
                                             r"machine's PATH, so no job could start"):
            with open_cluster("slurm", 1, 1):
                pass
        assert time.perf_counter() - t0 < 5
    assert cluster_mod.JOB_WAIT_S == 1800
    monkeypatch.setattr(cluster_mod, "ADDRESS_WAIT_S", 1)
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, protocol="tcp", host="127.0.0.1", dashboard_address="127.0.0.1:0") as empty:
        with pytest.raises(TimeoutError, match=r"^no Dask worker joined .* within 1 s; nothing was run: start one"):
            with open_cluster(empty.scheduler_address, 1, 1):
                pass


@probe("unclear", "a scheme typo (`tcp:/...`) or the dashboard's `http://...:8787` as `--cluster` (distributed's "
                  "message, a 20-s hang, a stray `Client.__del__` traceback)",
       "one line at once, naming the address to write (tcp://host:8786); no client is made")
@pytest.mark.parametrize("bad, message", [
    ("tcp:/127.0.0.1:8786", r"^--cluster 'tcp:/127\.0\.0\.1:8786' is not a scheduler address \(tcp:/ where a scheme "
                            r"such as tcp:// belongs\); write tcp://127\.0\.0\.1:8786"),
    ("http://127.0.0.1:8787", r"^--cluster 'http://127\.0\.0\.1:8787' is a web address \(the dashboard's, port 8787 "
                              r"by default\); give the scheduler's, tcp://127\.0\.0\.1:8786")])
def test_a_scheme_typo_or_the_dashboards_address_is_named_at_once(bad, message):
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        with open_cluster(bad, 1, 1):
            pass
    assert time.perf_counter() - t0 < 2


@probe("unclear", "`--cluster tcp://127.0.0.1:99999` (reported as unreachable)",
       "refused as a port out of range (1-65535)")
def test_a_port_out_of_range_is_named_as_such():
    with pytest.raises(ValueError, match=r"^--cluster 'tcp://127\.0\.0\.1:99999': port 99999 is out of range "
                                         r"\(1-65535\)"):
        with open_cluster("tcp://127.0.0.1:99999", 1, 1):
            pass


@probe("unclear", "`--cluster slurm` with no user section (dask-jobqueue's 'SLURMCluster(cores=8, memory=...)' hint: "
                  "the suite's own check never fired)",
       "refused naming ~/.config/dask/jobqueue.yaml, the unset cores and memory, and book/cluster.md")
def test_a_batch_system_without_a_user_section_names_the_configuration_file():
    import dask

    cluster_mod.import_jobqueue()   # dask-jobqueue's defaults: a section without cores or memory
    with dask.config.set({"jobqueue.slurm.cores": None, "jobqueue.slurm.memory": None}):
        with pytest.raises(ValueError, match=r"^--cluster slurm: no `jobqueue: slurm:` section with cores and memory "
                                             r"in the Dask configuration \(~/\.config/dask/jobqueue\.yaml\); "
                                             r"book/cluster\.md shows one"):
            with open_cluster("slurm", 1, 1):
                pass


@probe("unclear", "a results root the cluster's workers cannot write (the hidden probe file's errno)",
       "the serial path's message, naming the results root and --results-root, before any worker starts")
def test_a_results_root_that_cannot_be_written_gets_the_serial_message_on_a_cluster(tmp_path, monkeypatch):
    ran = _up_to_date(monkeypatch, "no chapter yet")
    (tmp_path / "results").write_text("a file where the results root belongs")
    with pytest.raises(PermissionError, match=r"^cannot write results under the results root results \(\S*results is "
                                              r"not a folder\); nothing was computed"):
        _run(tmp_path, cluster="local", results_root="results")
    assert ran == []


@probe("silent", "an unchecked `--cluster` value when every chapter is up to date (accepted)",
       "checked first: refused as on a run with work to do")
def test_the_cluster_value_is_checked_when_every_chapter_is_up_to_date(tmp_path, monkeypatch):
    _up_to_date(monkeypatch)
    with pytest.raises(ValueError, match=r"^--cluster 'nowhere' is not local, a scheduler address"):
        _run(tmp_path, cluster="nowhere")
    assert os.path.exists(tmp_path) and _run(tmp_path, cluster="local") == []
