"""Shared benchmark machinery: paired timing against a baseline, ratio statistics, call counting, provenance.

Every figure is a ratio against a baseline timed in the same run. Each repeat times the baseline and then the
candidate back to back (a load change hits both); the ratio of each pair is one sample, reported as median and
quartiles, in wall time (``perf_counter``) and process CPU time (``process_time``, the steadier on a shared machine).
"""
from __future__ import annotations

import gc
import json
import os
import platform
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["ROOT", "timed", "paired", "stats", "ratio_stats", "CallCounter", "count_calls", "environment",
           "log_loglog_slope", "set_device", "device"]

_DEVICE = "cpu"  # where the inversion and scaling benchmarks put their models and inputs (set_device)


def set_device(name: str) -> str:
    """Select the device of the inversion and scaling benchmarks ("cpu", "cuda", "cuda:1"); returns its name. On a
    GPU every timed call is synchronised, so wall time is the GPU's time."""
    global _DEVICE
    import torch

    try:
        dev = torch.device(name)
    except RuntimeError as err:
        raise ValueError(f"unknown device {name!r}; valid: cpu, cuda, cuda:<index>") from err
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {name!r}; valid: cpu, cuda, cuda:<index>")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"--device {name}: torch sees no CUDA GPU (torch.cuda.is_available() is False); "
                           "run on a GPU machine with a CUDA build of torch, or use --device cpu")
    _DEVICE = str(dev)
    return _DEVICE


def device() -> str:
    """The device selected by set_device (default "cpu")."""
    return _DEVICE


def _sync() -> None:
    if _DEVICE != "cpu":
        import torch

        torch.cuda.synchronize()


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call of ``fn``; garbage collected before, not during."""
    gc.collect()
    gc.disable()
    try:
        _sync()
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        _sync()
        return time.perf_counter() - w0, time.process_time() - c0
    finally:
        gc.enable()


def stats(values) -> dict:
    """Median, quartiles, min, max and count of a list of numbers (NaN-free)."""
    v = np.asarray(list(values), dtype=np.float64)
    if v.size == 0:
        return {"median": float("nan"), "q25": float("nan"), "q75": float("nan"), "min": float("nan"),
                "max": float("nan"), "n": 0}
    q25, med, q75 = np.percentile(v, [25, 50, 75])
    return {"median": float(med), "q25": float(q25), "q75": float(q75), "min": float(v.min()), "max": float(v.max()),
            "n": int(v.size)}


@dataclass
class Paired:
    """Per-repeat times of a baseline and a candidate measured back to back."""

    base_wall: list = field(default_factory=list)
    wall: list = field(default_factory=list)
    base_cpu: list = field(default_factory=list)
    cpu: list = field(default_factory=list)

    def summary(self, per: float = 1.0) -> dict:
        """Ratios (candidate / baseline; wall and CPU) and absolute medians divided by ``per`` (e.g. steps)."""
        return {
            "ratio_wall": ratio_stats(self.wall, self.base_wall),
            "ratio_cpu": ratio_stats(self.cpu, self.base_cpu),
            "wall_s": stats(np.asarray(self.wall) / per),
            "cpu_s": stats(np.asarray(self.cpu) / per),
            "base_wall_s": stats(np.asarray(self.base_wall) / per),
            "base_cpu_s": stats(np.asarray(self.base_cpu) / per),
        }


def ratio_stats(candidate, baseline) -> dict:
    """Statistics of the per-repeat ratios candidate[i] / baseline[i]."""
    c, b = np.asarray(candidate, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
    return stats(c / b)


def paired(base: Callable[[], object], candidate: Callable[[], object], repeats: int, warmup: int = 1) -> Paired:
    """Time ``base`` then ``candidate``, ``repeats`` times (after ``warmup`` untimed rounds of both)."""
    for _ in range(warmup):
        base()
        candidate()
    out = Paired()
    for _ in range(repeats):
        bw, bc = timed(base)
        w, c = timed(candidate)
        out.base_wall.append(bw)
        out.base_cpu.append(bc)
        out.wall.append(w)
        out.cpu.append(c)
    return out


@dataclass
class CallCounter:
    """Network calls, batch elements fed to the network, and backward calls through the network's output."""

    calls: int = 0
    elements: int = 0
    backward: int = 0


def _output_tensor(out):
    """The network output's tensor: the output itself, its ``.sample`` (diffusers) or its first element."""
    import torch

    t = getattr(out, "sample", out)
    t = t[0] if isinstance(t, (tuple, list)) and t else t
    return t if torch.is_tensor(t) else None


@contextmanager
def count_calls(net):
    """Count forwards of ``net`` (calls and batch elements) and the backward calls that reach its output (a
    batched vector-Jacobian product over several cotangents is one call)."""
    counter = CallCounter()

    def on_backward(grad):
        counter.backward += 1
        return None

    def on_forward(module, args, kwargs, out):
        counter.calls += 1
        x = args[0] if args else next(iter(kwargs.values()))
        counter.elements += int(x.shape[0])
        t = _output_tensor(out)
        if t is not None and t.requires_grad:
            t.register_hook(on_backward)
        return None

    handle = net.register_forward_hook(on_forward, with_kwargs=True)
    try:
        yield counter
    finally:
        handle.remove()


def log_loglog_slope(x, y) -> float:
    """Least-squares slope of log(y) against log(x) (the exponent of a power law y ~ x^k)."""
    x, y = np.log(np.asarray(x, dtype=np.float64)), np.log(np.asarray(y, dtype=np.float64))
    return float(np.polyfit(x, y, 1)[0])


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo, else platform.processor()): runs on different CPUs are not comparable."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def environment() -> dict:
    """Machine, package versions, git commit and current load: stored with every result."""
    import torch

    from spectral_collapse.studies.store import provenance

    prov = provenance()
    try:
        import psutil
        mem_gb = psutil.virtual_memory().total / 2**30
    except ImportError:  # pragma: no cover
        mem_gb = float("nan")
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    cpu = cpu_model()
    return {
        "machine": {"hostname": socket.gethostname(), "platform": platform.platform(), "cpu": cpu,
                    "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "memory_gb": round(mem_gb, 1),
                    "device": _DEVICE, "gpu": gpu,  # inversion and scaling run on `device`; the rest on CPU
                    "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None},
        "versions": json.loads(prov["versions"]) | {"torch": torch.__version__},
        "commit": prov["git_commit"], "dirty": bool(prov["git_dirty"] == 1),
        "date": prov["created"],
    }
