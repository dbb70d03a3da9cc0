"""Shared benchmark machinery: paired timing (baseline then candidate in each repeat, so a load change hits both), call
counting, peak memory as the operating system sees it (tracemalloc misses torch's allocations), provenance."""
from __future__ import annotations

import ctypes
import gc
import importlib
import json
import multiprocessing
import os
import platform
import re
import socket
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
_DEVICE = "cpu"  # where the inversion and scaling benchmarks put their models and inputs (set_device)


def set_device(name: str) -> str:
    """Select the device of the inversion and scaling benchmarks ("cpu", "cuda", "cuda:1"); returns its name. On a GPU
    every timed call is synchronised, so wall time is the GPU's time."""
    global _DEVICE
    if not re.fullmatch(r"cpu|cuda(:\d+)?", name):
        raise ValueError(f"unknown device {name!r}; valid: cpu, cuda, cuda:<index>")
    if name != "cpu" and not torch.cuda.is_available():
        raise RuntimeError(f"--device {name}: torch sees no CUDA GPU (torch.cuda.is_available() is False); "
                           "run on a GPU machine with a CUDA build of torch, or use --device cpu")
    _DEVICE = name
    return _DEVICE


def device() -> str:
    """The device selected by set_device (default "cpu")."""
    return _DEVICE


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call of ``fn``, garbage collected before, not during; a GPU synchronised."""
    sync = torch.cuda.synchronize if _DEVICE != "cpu" else lambda: None
    gc.collect()
    gc.disable()
    try:
        sync()
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        sync()
        return time.perf_counter() - w0, time.process_time() - c0
    finally:
        gc.enable()


def stats(values) -> dict:
    """Median, quartiles, min, max and count of a list of numbers (NaN-free)."""
    d = pd.Series(values, dtype=np.float64).describe()
    return {"median": d["50%"], "q25": d["25%"], "q75": d["75%"], "min": d["min"], "max": d["max"],
            "n": int(d["count"])}


def ratio_stats(candidate, baseline) -> dict:
    """Statistics of the per-repeat ratios candidate[i] / baseline[i]."""
    return stats(np.asarray(candidate, dtype=np.float64) / np.asarray(baseline, dtype=np.float64))


@dataclass
class Paired:
    """Per-repeat times (seconds) of a baseline and a candidate measured back to back."""

    base_wall: np.ndarray
    base_cpu: np.ndarray
    wall: np.ndarray
    cpu: np.ndarray

    def summary(self, per: float = 1.0) -> dict:
        """Ratios (candidate / baseline; wall and CPU) and absolute medians divided by ``per`` (e.g. steps)."""
        return {"ratio_wall": ratio_stats(self.wall, self.base_wall), "ratio_cpu": ratio_stats(self.cpu, self.base_cpu),
                **{f"{k}_s": stats(getattr(self, k) / per) for k in ("wall", "cpu", "base_wall", "base_cpu")}}


def paired(base: Callable[[], object], candidate: Callable[[], object], repeats: int, warmup: int = 1) -> Paired:
    """Time ``base`` then ``candidate``, ``repeats`` times (after ``warmup`` untimed rounds of both)."""
    for _ in range(warmup):
        base()
        candidate()
    return Paired(*np.array([[*timed(base), *timed(candidate)] for _ in range(repeats)]).reshape(repeats, 4).T)


@contextmanager
def count_calls(net):
    """Count forwards of ``net`` (calls and batch elements) and the backward calls that reach its output (a batched
    vector-Jacobian product over several cotangents is one call)."""
    counter = SimpleNamespace(calls=0, elements=0, backward=0)

    def on_backward(grad):
        counter.backward += 1

    def on_forward(module, args, kwargs, out):
        counter.calls += 1
        counter.elements += int((args[0] if args else next(iter(kwargs.values()))).shape[0])
        t = getattr(out, "sample", out)  # a diffusers output's tensor, else the output or its first element
        t = t[0] if isinstance(t, (tuple, list)) and t else t
        if torch.is_tensor(t) and t.requires_grad:
            t.register_hook(on_backward)

    handle = net.register_forward_hook(on_forward, with_kwargs=True)
    try:
        yield counter
    finally:
        handle.remove()


def peak_supported() -> bool:
    return os.path.exists("/proc/self/clear_refs") and hasattr(os, "fork")


def _vm_kib(field: str) -> int:
    """``field`` ("VmRSS", "VmHWM") of /proc/self/status, KiB."""
    return int(re.search(rf"^{field}:\s*(\d+)", Path("/proc/self/status").read_text(), re.M).group(1))


def _peak_child(runner: str, case: dict) -> dict:
    """In a fresh process: build the case, reset the high-water mark to RSS0, run the call; VmHWM - RSS0 (4 KiB)."""
    mod, name = runner.split(":")
    fn = getattr(importlib.import_module(mod), name)(case)  # setup: model, inputs, warm-up
    gc.collect()
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # freed heap back to the system: RSS0 is what is in use
    rss0 = _vm_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS (VmHWM) to the current RSS
    fn()
    return {"peak_mb": (_vm_kib("VmHWM") - rss0) / 1024, "rss0_mb": rss0 / 1024}


def allocation_case(case: dict):
    """Calibration runner: the measured call touches a fresh buffer of ``case["mb"]`` MiB (peak should equal it)."""
    n = int(case["mb"] * 2**20)
    return lambda: int(np.ones(n, dtype=np.uint8)[::4096].sum())  # ones: every page is written, so resident


def measure_peaks(runner: str, cases: list[dict]) -> list[dict]:
    """Peak extra memory (MiB) of each case in a fresh process (``runner``: "module:function" making the measured
    callable of a case); a case that fails (or whose process dies) gets NaN and its error."""
    if not peak_supported():
        return [{**c, "peak_mb": float("nan"), "error": "needs Linux /proc/self/clear_refs and fork"} for c in cases]
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([runner.split(":")[0]])  # the server imports the runner's module (torch) once
    out = []
    for case in cases:
        try:
            with ProcessPoolExecutor(1, mp_context=ctx) as child:
                res = child.submit(_peak_child, runner, case).result()
        except Exception as e:
            res = {"peak_mb": float("nan"), "error": f"{type(e).__name__}: {e}"}
        out.append({**case, **res})
    return out


def log_loglog_slope(x, y) -> float:
    """Least-squares slope of log(y) against log(x) (the exponent of a power law y ~ x^k)."""
    return float(np.polyfit(np.log(np.asarray(x, dtype=np.float64)), np.log(np.asarray(y, dtype=np.float64)), 1)[0])


def environment() -> dict:
    """Machine (with the CPU's model name), package versions, git commit and current load: stored with every result
    (runs on different CPUs are not comparable)."""
    import psutil

    from spectral_collapse.framework.store import provenance

    prov = provenance()
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = re.findall(r"^model name\s*:\s*(.*)$", info, re.M) or [platform.processor()]
    return {
        "machine": {"hostname": socket.gethostname(), "platform": platform.platform(), "cpu": cpu[0].strip(),
                    "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
                    "device": _DEVICE, "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                    "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None},
        "versions": json.loads(prov["versions"]) | {"torch": torch.__version__},
        "commit": prov["git_commit"], "dirty": bool(prov["git_dirty"] == 1),
        "date": prov["created"],
    }
