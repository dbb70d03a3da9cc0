"""Running study notebooks side by side on a Dask cluster (``pipeline.cluster``), each after the studies it reads,
with each kernel's torch threads set (torch's default can make a study many times slower on busy cores)."""
from __future__ import annotations

import os
import re
import sys
import time
import uuid

from . import graph
from ..environ import env_whole, whole
from ..text import plural

__all__ = ["resolve_jobs", "run_graph", "StudyError", "StudiesFailed", "failure_line", "notebook_traceback",
           "kernel_threads", "thread_env", "torch_threads", "THREADS_ENV", "upstream_failed", "record_failure"]

THREADS_ENV = "SPECTRAL_COLLAPSE_THREADS"


class StudiesFailed(RuntimeError):
    """Some studies ``failed`` ({(study, dataset): one line}) and those reading them were not started (``skipped``)."""

    def __init__(self, failed: dict, skipped: list):
        self.failed, self.skipped = dict(failed), list(skipped)
        what = ", ".join(f"{s}/{d} ({why})" for (s, d), why in self.failed.items())
        left = (f"; not started because a study they read failed: {', '.join(f'{s}/{d}' for s, d in self.skipped)}"
                if self.skipped else "")
        super().__init__(f"{plural(len(self.failed), 'study notebook')} failed: {what}{left}. Their errors are printed "
                         f"above; rerun the same command to resume (finished studies and cached cells are kept), or "
                         f"run one alone with `python -m spectral_collapse studies --study S --dataset D`")


def failure_line(err: BaseException) -> str:
    """One line for a study that failed: a notebook's error name and value (papermill's), else the exception's."""
    name, value = getattr(err, "ename", None), getattr(err, "evalue", None)
    text = f"{name}: {value}" if name else f"{type(err).__name__}: {err}"
    return " ".join(text.split())[:400]


def notebook_traceback(err: BaseException) -> str:
    """A failed notebook's own traceback (papermill's ``traceback``), without terminal colours; "" for other errors."""
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(getattr(err, "traceback", None) or []))


def kernel_threads(jobs: int = 1) -> int:
    """Torch threads per study of ``jobs``: $SPECTRAL_COLLAPSE_THREADS, else $OMP_NUM_THREADS, else cores / jobs."""
    return env_whole(THREADS_ENV) or whole(os.environ.get("OMP_NUM_THREADS")) or max(1, cpu_cores() // max(1, int(jobs)))


def thread_env(threads: int) -> dict:
    """The environment that gives a study process (and its kernel) ``threads`` torch threads."""
    n = str(int(threads))
    return {THREADS_ENV: n, "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n}


def torch_threads() -> int:
    """Set this process's torch threads to ``kernel_threads()`` and return the number (a notebook's first call)."""
    import torch

    n = kernel_threads(1)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def resolve_jobs(jobs: int | str) -> int:
    """``jobs`` as a number: "auto" is 1 with a GPU (one device), else the cores, at most 4 (about 2.5 GB each)."""
    if jobs == "auto":
        import torch

        return 1 if torch.cuda.is_available() else max(1, min(cpu_cores(), 4))
    n = None if isinstance(jobs, bool) else whole(jobs)
    if n is None:
        raise ValueError(f"jobs must be a whole number >= 1 or 'auto', got {jobs!r}")
    return n


def cpu_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class StudyError(Exception):
    """A study that failed on a Dask worker, as one line and its notebook's traceback (plain strings travel back)."""

    def __init__(self, line: str, trace: str = ""):
        super().__init__(line, trace)
        self.line, self.traceback_text = line, trace

    def __str__(self) -> str:
        return self.line


def run_graph(client, pairs: list, task, *, resources: dict | None = None) -> list:
    """Run ``task(pair, *its upstream futures)`` for each (study, dataset) of ``pairs``; returns those that finished.
    What reads a failed study is skipped; failures raise ``StudiesFailed`` after the rest has run; interrupted, the
    futures are cancelled."""
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]
    futures, t0 = {}, time.time()
    for pair in pairs:
        after = [futures[(s, pair[1])] for s in graph.upstream(pair[0]) if (s, pair[1]) in futures]
        futures[pair] = client.submit(task, pair, *after, key=f"{pair[0]}-{pair[1]}-{token}", pure=False,
                                      resources=resources or None)
    print(f"{plural(len(pairs), 'study notebook')} submitted to the cluster", flush=True)
    pair_of = {f.key: pair for pair, f in futures.items()}
    finished, erred = [], {}
    try:
        for fut in as_completed(list(futures.values()), loop=client.loop):
            pair = pair_of[fut.key]
            if fut.status == "finished":
                finished.append(pair)
                print(f"[{len(finished)}/{len(pairs)}] {pair[0]} / {pair[1]}: done at {time.time() - t0:.0f} s",
                      flush=True)
            else:
                erred[pair] = fut.exception()
    except BaseException:  # interrupted (Ctrl-C): nothing more starts; the caller's cluster stops what runs
        client.cancel(list(futures.values()), force=True)
        raise
    failed, skipped = {}, []
    for pair in (p for p in pairs if p in erred):  # run order: an upstream failure is known before what reads it
        if upstream_failed(pair, failed, skipped):
            skipped.append(pair)
        else:
            err = erred[pair]
            record_failure(failed, pair, err.line if isinstance(err, StudyError) else failure_line(err),
                           getattr(err, "traceback_text", ""))
    if failed or skipped:
        raise StudiesFailed(failed, skipped)
    return finished


def upstream_failed(pair: tuple, failed: dict, skipped: list) -> bool:
    """Whether a study that (study, dataset) ``pair`` reads, directly or not, failed or was skipped."""
    return any((s, pair[1]) in failed or (s, pair[1]) in skipped for s in graph.upstream(pair[0]))


def record_failure(failed: dict, pair: tuple, line: str, trace: str = "") -> None:
    """``failed[pair] = line``, printed on stderr with the notebook's traceback ``trace`` after it (when any)."""
    failed[pair] = line
    print(f"{pair[0]} / {pair[1]}: FAILED ({line})", file=sys.stderr, flush=True)
    if trace:
        print(f"the traceback of {pair[0]} / {pair[1]}:\n{trace}", file=sys.stderr, flush=True)
