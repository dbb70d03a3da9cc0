"""``--cluster`` and ``--jobs`` checked before any client, cluster or job is made (``check_cluster``): an address by
its form, local workers against memory and cores, a dask-jobqueue system by its configuration and submit command."""
from __future__ import annotations

import os
import re
import shutil
import warnings

from .parallel import cpu_cores

__all__ = ["check_cluster", "check_jobqueue", "WORKER_GB", "JOBQUEUE_CONFIG"]

JOBQUEUE = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "lsf": "LSFCluster", "sge": "SGECluster",
            "htcondor": "HTCondorCluster", "moab": "MoabCluster", "oar": "OARCluster"}


def import_jobqueue(name: str = "slurm"):
    """dask_jobqueue, this process's Ctrl-C handler kept (its SLURM module makes SIGINT call ``sys.exit``)."""
    import signal
    import threading

    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main else None
    try:
        import dask_jobqueue
    except ImportError:
        raise ImportError(f"--cluster {name} needs dask-jobqueue: pip install 'spectral-collapse[cluster]'") from None
    finally:
        if main and previous is not None and signal.getsignal(signal.SIGINT) is not previous:
            signal.signal(signal.SIGINT, previous)
    return dask_jobqueue


WORKER_GB = 2.5   # memory of one local worker running a quick study (pipeline.parallel.resolve_jobs)
JOBQUEUE_CONFIG = "~/.config/dask/jobqueue.yaml"
_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")
_ADDRESS = re.compile(r"^(?:(?P<scheme>[A-Za-z][\w+.-]*)(?P<sep>:/*))?(?P<host>\[[0-9A-Fa-f:.]+\]|[\w.-]+):"
                      r"(?P<port>\d+)/?$")


def _check_address(cluster: str) -> str:
    """``cluster`` as a scheduler address with its scheme (tcp:// when none is given); raises naming what is wrong."""
    m = _ADDRESS.match(cluster.strip())
    if m is None:
        raise ValueError(f"--cluster {cluster!r} is not a scheduler address; write it as tcp://host:8786")
    scheme, sep, host, port = (m.group(k) for k in ("scheme", "sep", "host", "port"))
    if scheme is not None and scheme.lower() in ("http", "https"):
        raise ValueError(f"--cluster {cluster!r} is a web address (the dashboard's, port 8787 by default); give the "
                         f"scheduler's, tcp://{host}:8786 unless it was started on another port")
    if scheme is not None and (scheme.lower() not in _SCHEMES or sep != "://"):
        raise ValueError(f"--cluster {cluster!r} is not a scheduler address ({scheme}{sep} where a scheme such as "
                         f"tcp:// belongs); write tcp://{host}:{port}")
    if not 1 <= int(port) <= 65535:
        raise ValueError(f"--cluster {cluster!r}: port {port} is out of range (1-65535); the scheduler listens on "
                         f"8786 unless it was started on another")
    return f"{(scheme or 'tcp').lower()}://{host}:{port}"


def _memory_gb() -> float | None:
    """This machine's physical memory in GB (None where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (AttributeError, OSError, ValueError):
        return None


def _check_local(jobs: int) -> None:
    """Refuse more local workers than this machine's memory holds (``WORKER_GB`` each); warn about more than cores."""
    cores, memory = cpu_cores(), _memory_gb()
    need = f"about {jobs * WORKER_GB:,.0f} GB of memory at about {WORKER_GB:g} GB each"
    if memory is not None and jobs * WORKER_GB > memory:
        raise ValueError(f"--jobs {jobs} asks for {jobs} worker processes on this machine ({need}; it has "
                         f"{memory:,.0f} GB and {cores} cores); pass --jobs {cores} or fewer ('auto' picks), or run "
                         f"on a batch system (--cluster slurm)")
    if jobs > cores:
        warnings.warn(f"--jobs {jobs} runs {jobs} worker processes on this machine's {cores} cores ({need}): they "
                      f"share the cores, each study slower; --jobs {cores} runs as fast", UserWarning, stacklevel=3)


def check_jobqueue(name: str) -> None:
    """Refuse a dask-jobqueue system with cores or memory unset or its submit command not on PATH."""
    dask_jobqueue = import_jobqueue(name)
    import dask

    unset = [k for k in ("cores", "memory") if dask.config.get(f"jobqueue.{name}.{k}", None) in (None, "")]
    if unset:
        raise ValueError(f"--cluster {name}: no `jobqueue: {name}:` section with {' and '.join(unset)} in the Dask "
                         f"configuration ({JOBQUEUE_CONFIG}); book/cluster.md shows one")
    command = getattr(getattr(getattr(dask_jobqueue, JOBQUEUE[name]), "job_cls", None), "submit_command", None)
    if command and shutil.which(str(command).split()[0]) is None:
        raise ValueError(f"--cluster {name}: its submit command `{str(command).split()[0]}` is not on this machine's "
                         f"PATH, so no job could start; run from a login node of the {name} system, or pass --cluster "
                         f"local")


def check_cluster(cluster: str, jobs: int) -> str:
    """``cluster`` ("local", a scheduler address returned with its scheme, or a dask-jobqueue name) checked; raises
    ValueError naming the value and the fix."""
    cluster = str(cluster)
    if cluster == "local":
        _check_local(jobs)
        return cluster
    if cluster in JOBQUEUE:
        check_jobqueue(cluster)
        return cluster
    if ":/" in cluster or re.search(r":\d+/?$", cluster):   # meant as a scheduler's address
        return _check_address(cluster)
    raise ValueError(f"--cluster {cluster!r} is not local, a scheduler address (tcp://host:8786) nor a "
                     f"dask-jobqueue name ({', '.join(JOBQUEUE)})")
