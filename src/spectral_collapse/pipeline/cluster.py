"""The Dask cluster of ``--cluster`` (a ``LocalCluster``, a scheduler's address or a dask-jobqueue system configured in
``~/.config/dask/jobqueue.yaml``) for studies, cells and training rounds; each worker runs one task at a time and holds
one ``study`` slot, whose thread a study leaves to its cells while it waits on them."""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import uuid
from pathlib import Path

from .cluster_checks import JOBQUEUE, check_cluster, import_jobqueue
from .parallel import thread_env

__all__ = ["open_cluster", "check_shared", "jobqueue_cluster", "SCHEDULER_ENV", "STUDY_SLOT", "JOBQUEUE",
           "kernel_client", "NANNY_MALLOC", "gpu_resources", "train_rounds", "train_model_set", "on_worker"]

SCHEDULER_ENV = "SPECTRAL_COLLAPSE_SCHEDULER"   # a study kernel sends its cells to this scheduler when it is set
STUDY_SLOT = "study"   # the worker resource a running study holds (one per worker)
CONNECT_S = 10   # how long a scheduler's address may take to answer
JOB_WAIT_S = 1800   # how long a batch system's first worker may take to join (its job queued, then started)
ADDRESS_WAIT_S = 120   # how long a running scheduler may take to have a worker
# Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's adaptive mmap threshold (torch's steps run
# about twice as long): unset for local workers; batch workers get a fixed mmap threshold above torch's tensors.
NANNY_MALLOC = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
MMAP_ENV = "export MALLOC_MMAP_THRESHOLD_=33554432"


def _gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _local(jobs: int, threads: int, processes: bool = True):
    """A LocalCluster of ``jobs`` one-thread workers, each with ``threads`` torch threads, a study slot and any GPU."""
    import dask
    from distributed import LocalCluster

    gpus = {"GPU": 1} if _gpu_count() else {}
    env = {"env": thread_env(threads)} if processes else {}   # a Nanny's; threads share this process's
    # tcp on the loopback interface: otherwise dask looks up this machine's outward address (connecting to 8.8.8.8)
    with dask.config.set(NANNY_MALLOC):
        return LocalCluster(n_workers=jobs, threads_per_worker=1, processes=processes,
                            resources={STUDY_SLOT: 1, **gpus}, protocol="tcp", host="127.0.0.1",
                            dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL, **env)


def jobqueue_cluster(name: str):
    """The dask-jobqueue cluster ``name`` (no job submitted yet; checked by ``check_cluster``), workers given a study
    slot, ``MMAP_ENV``."""
    dask_jobqueue = import_jobqueue(name)
    import dask

    extra = list(dask.config.get(f"jobqueue.{name}.worker-extra-args", None) or [])
    if "--resources" in extra[:-1]:
        i = extra.index("--resources") + 1
        if STUDY_SLOT not in extra[i]:
            extra[i] = f"{extra[i]},{STUDY_SLOT}=1"
    else:
        extra += ["--resources", f"{STUDY_SLOT}=1"]
    prologue = list(dask.config.get(f"jobqueue.{name}.job-script-prologue", None) or [])
    return getattr(dask_jobqueue, JOBQUEUE[name])(config_name=name, worker_extra_args=extra,
                                                  job_script_prologue=[*prologue, MMAP_ENV])


def _connect(address: str):
    from distributed import Client

    try:
        return Client(address, timeout=f"{CONNECT_S}s", set_as_default=False)
    except (OSError, TimeoutError) as err:
        raise ConnectionError(f"cannot reach the Dask scheduler at {address} ({' '.join(str(err).split())[:200]}); "
                              f"nothing was run. Start one there (`dask scheduler`, then `dask worker {address} "
                              f"--nthreads 1 --resources {STUDY_SLOT}=1`) or pass --cluster local") from None


@contextlib.contextmanager
def open_cluster(cluster: str, jobs: int, threads: int, *, shared=(), processes: bool = True):
    """A ``distributed.Client`` on ``cluster`` ("local", a scheduler address or a dask-jobqueue name), not dask's
    default (xarray's writes stay in their process), ``shared`` folders checked; a cluster it opens is closed at the
    end, stopping what still runs on it."""
    from distributed import Client

    target = check_cluster(cluster, jobs)   # the value and --jobs, before any client, cluster or job is made
    owned = (_local(jobs, threads, processes) if cluster == "local" else
             jobqueue_cluster(cluster) if cluster in JOBQUEUE else None)
    if cluster in JOBQUEUE:
        owned.scale(jobs)   # jobs workers, as the batch system starts them
    client = _connect(target) if owned is None else Client(owned, set_as_default=False)
    try:
        print(f"Dask cluster {cluster}: dashboard at {client.dashboard_link}", flush=True)
        # every local worker before the first task (tasks stay where first put); elsewhere the first one
        _wait_for_workers(client, cluster, jobs if cluster == "local" else 1,
                          None if cluster == "local" else JOB_WAIT_S if owned is not None else ADDRESS_WAIT_S)
        slots = [w for w in client.scheduler_info()["workers"].values() if STUDY_SLOT in (w.get("resources") or {})]
        if not slots:
            raise RuntimeError(f"no worker of {cluster} declares a {STUDY_SLOT} slot; start the workers with "
                               f"`--nthreads 1 --resources {STUDY_SLOT}=1` (book/cluster.md)")
        client.run_on_scheduler(_unqueued)
        for folder in shared:
            check_shared(client, folder)
        yield client
    finally:
        client.close()
        if owned is not None:
            owned.close()


def _wait_for_workers(client, cluster: str, n: int, timeout: float | None) -> None:
    """``client.wait_for_workers``, a timeout said in words: what to look at on a batch system or a scheduler."""
    try:
        client.wait_for_workers(n, timeout=timeout)
    except TimeoutError:
        look = (f"its jobs wait in the batch system's queue or failed to start: see your jobs there (squeue -u "
                f"$USER on slurm) and their output files (jobqueue.{cluster}.log-directory)" if cluster in JOBQUEUE
                else f"start one: dask worker {cluster} --nthreads 1 --resources {STUDY_SLOT}=1")
        raise TimeoutError(f"no Dask worker joined {cluster} within {timeout:.0f} s; nothing was run: {look}") \
            from None


def _unqueued(dask_scheduler) -> None:
    """Turn off the scheduler's queue: it counts studies waiting for a slot as work and, with more studies than
    workers, held the running ones' cells back for ever."""
    import math

    dask_scheduler.WORKER_SATURATION = math.inf


def _probe(path: str, token: str) -> str:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(token)
    return os.uname().nodename


def check_shared(client, folder) -> None:
    """Raise, naming ``folder``, unless a file a worker writes there is read back here (the probe is removed)."""
    folder = Path(folder).resolve()
    token = uuid.uuid4().hex
    probe = folder / f".dask-probe-{token}"
    try:
        host = client.submit(_probe, str(probe), token, pure=False).result()
        seen = probe.read_text() if probe.is_file() else None
    finally:
        probe.unlink(missing_ok=True)
    if seen != token:
        raise RuntimeError(f"{folder} is not shared with the Dask workers: a worker on {host} wrote {probe.name} "
                           f"there and this machine does not see it; put the results root and the cell cache on a "
                           f"filesystem every worker mounts (--results-root), then run the same command again")


def on_worker() -> None:
    """Called first by each task on a worker: dask computations inside tasks (xarray's writes) run synchronously; set
    for the whole worker process."""
    import dask

    dask.config.set(scheduler="synchronous")


_KERNEL_CLIENT: dict = {}


def kernel_client():
    """The client of a study kernel started on a cluster (``SCHEDULER_ENV`` set), else None."""
    address = os.environ.get(SCHEDULER_ENV, "").strip()
    if not address:
        return None
    if address not in _KERNEL_CLIENT or _KERNEL_CLIENT[address].status not in ("running", "connecting"):
        _KERNEL_CLIENT[address] = _connect(address)
    return _KERNEL_CLIENT[address]


def gpu_resources(client) -> dict:
    """{"GPU": 1} when the workers of ``client`` declare GPUs, else {} (tasks then run on any worker's CPU)."""
    workers = client.scheduler_info()["workers"].values()
    return {"GPU": 1} if any((w.get("resources") or {}).get("GPU") for w in workers) else {}


def _round(jobs, kw: dict):
    """One lockstep round on this worker: on a GPU (the worker's share of this machine's devices) when it has one."""
    from distributed import get_worker
    from ..train.lockstep import train_lockstep

    count, device = _gpu_count(), kw.pop("device", None)
    if count and device is None and "GPU" in (get_worker().state.total_resources or {}):
        name = get_worker().name
        device = f"cuda:{(name if isinstance(name, int) else 0) % count}"
    on_worker()
    return train_lockstep(jobs, device=device, progress=False, **kw)


def train_rounds(client, rounds, **kw) -> list:
    """``train.lockstep.train_lockstep`` of each round (a list of Jobs) as a task of its own; their TrainedModels."""
    resources = gpu_resources(client)
    futures = [client.submit(_round, list(jobs), dict(kw), pure=False, resources=resources or None,
                             key=f"train-round-{i}-{uuid.uuid4().hex[:8]}") for i, jobs in enumerate(rounds)]
    try:
        return client.gather(futures)
    except BaseException:
        client.cancel(futures)
        print("training rounds stopped", file=sys.stderr, flush=True)
        raise


def train_model_set(client, profile: str, keys=None, rounds: int | None = None) -> dict:
    """{key: TrainedModel} of ``profile``'s model set (or ``keys``): autoencoders here, then the diffusion models as
    ``rounds`` lockstep rounds dealt round robin on the cluster (default: one per worker); finished checkpoints are
    reused."""
    from ..framework import model_set as models
    from ..train.lockstep import Job

    roles = models.model_set(keys)
    for role in roles:
        if role.parameterization == "vae":
            models.load_role(profile, role, progress=False)
    diffusion = [r for r in roles if r.parameterization != "vae"]
    if not diffusion:
        return {}
    jobs = [Job(*models.role_plan(profile, r)) for r in diffusion]
    n = max(1, min(rounds or len(client.scheduler_info()["workers"]) or 1, len(jobs)))
    dealt = [list(range(len(jobs)))[i::n] for i in range(n)]
    done = train_rounds(client, [[jobs[j] for j in idx] for idx in dealt], root=models.CHECKPOINT_ROOT)
    return {diffusion[j].key: tm for idx, got in zip(dealt, done) for j, tm in zip(idx, got)}
