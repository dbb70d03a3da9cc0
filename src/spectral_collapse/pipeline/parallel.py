"""Running several study notebooks at once: how many, in which order, each after the studies it reads, and the
torch threads of each kernel (always set: torch's default can make a study many times slower on busy cores)."""
from __future__ import annotations

import os
import re
import sys
import time

from . import graph
from ..environ import env_whole, whole
from ..text import plural

__all__ = ["resolve_jobs", "run_side_by_side", "StudiesFailed", "failure_line", "notebook_traceback",
           "kernel_threads", "thread_env", "torch_threads", "THREADS_ENV"]

THREADS_ENV = "SPECTRAL_COLLAPSE_THREADS"


class StudiesFailed(RuntimeError):
    """Some studies failed (``failed``: {(study, dataset): one line}) and the studies reading them were not started
    (``skipped``: [(study, dataset)]); the others ran."""

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
    """Torch threads for each of ``jobs`` studies side by side: ``$SPECTRAL_COLLAPSE_THREADS`` (checked), else
    ``$OMP_NUM_THREADS``, else cores // jobs (at least 1)."""
    return env_whole(THREADS_ENV) or whole(os.environ.get("OMP_NUM_THREADS")) or max(1, _cores() // max(1, int(jobs)))


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

        return 1 if torch.cuda.is_available() else max(1, min(_cores(), 4))
    n = None if isinstance(jobs, bool) else whole(jobs)
    if n is None:
        raise ValueError(f"jobs must be a whole number >= 1 or 'auto', got {jobs!r}")
    return n


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_side_by_side(pairs: list, jobs: int, start, poll_s: float = 0.5, stagger_s: float = 2.0) -> list:
    """Run (study, dataset) pairs, at most ``jobs`` at once (``start(pair)`` returns a handle with ``poll()``), each
    once its pending prerequisites have finished, starts ``stagger_s`` apart; returns the pairs that finished. A pair
    whose prerequisite failed is skipped; failures raise ``StudiesFailed`` after the rest has run."""
    waiting = list(pairs)
    running, finished, failed, skipped = {}, [], {}, []
    t_start, last_start = {}, -1e9

    def blocked_by(pair):
        return [p for p in waiting + list(running) + list(failed) + skipped
                if p != pair and p[1] == pair[1] and p[0] in graph.prerequisites(pair[0])]

    try:
        while waiting or running:
            for pair, handle in list(running.items()):
                rc = handle.poll()
                if rc is None:
                    continue
                del running[pair]
                if rc == 0:
                    finished.append(pair)
                    print(f"[{len(finished)}/{len(pairs)}] {pair[0]} / {pair[1]}: done in "
                          f"{time.time() - t_start[pair]:.0f} s", flush=True)
                else:
                    failed[pair] = rc
                    print(f"{pair[0]} / {pair[1]}: FAILED (exit status {rc})", file=sys.stderr, flush=True)
            for pair in list(waiting):
                deps = blocked_by(pair)
                if any(p in failed or p in skipped for p in deps):
                    waiting.remove(pair)
                    skipped.append(pair)
                    continue
                if deps or len(running) >= jobs:
                    continue
                time.sleep(max(0.0, stagger_s - (time.time() - last_start)))
                waiting.remove(pair)
                running[pair] = start(pair)
                t_start[pair] = last_start = time.time()
                print(f"started {pair[0]} / {pair[1]}", flush=True)
            if running:
                time.sleep(poll_s)
    except BaseException:  # interrupted (Ctrl-C) or failed to start one: stop the studies already started
        for handle in running.values():
            if hasattr(handle, "terminate"):
                handle.terminate()
        raise
    if failed or skipped:
        raise StudiesFailed({pair: f"exit status {rc}" for pair, rc in failed.items()}, skipped)
    return finished
