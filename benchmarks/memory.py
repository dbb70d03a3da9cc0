"""Peak memory of a piece of CPU work: resident-set high-water mark in a fresh forked process per case.

tracemalloc does not see torch's allocations, so the operating system's view is measured: a helper process
(``python -m benchmarks.memory``) forks a child per case, which builds its inputs, records RSS0, resets the kernel's
high-water mark (Linux: write 5 to /proc/self/clear_refs), runs the call and reads VmHWM; the peak is VmHWM - RSS0
(one page, 4 KiB, resolution). Without /proc/self/clear_refs the peak is NaN with the reason.
"""
from __future__ import annotations

import ctypes
import gc
import importlib
import json
import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

__all__ = ["measure_peaks", "peak_supported", "allocation_case"]

ROOT = Path(__file__).resolve().parents[1]


def peak_supported() -> bool:
    return os.path.exists("/proc/self/clear_refs") and hasattr(os, "fork")


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _trim() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _run_child(runner, case: dict) -> dict:
    fn = runner(case)               # setup: model, inputs, warm-up
    _trim()
    rss0 = _status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")                 # reset the peak RSS (VmHWM) to the current RSS
    fn()
    peak = _status_kib("VmHWM")
    return {"peak_mb": (peak - rss0) / 1024, "rss0_mb": rss0 / 1024}


def allocation_case(case: dict):
    """Calibration runner: the measured call touches a fresh buffer of ``case["mb"]`` MiB (peak should equal it)."""
    import numpy as np

    n = int(case["mb"] * 2**20)

    def fn():
        buf = np.ones(n, dtype=np.uint8)  # ones, not zeros: every page is written, so it is resident
        return int(buf[::4096].sum())
    return fn


def _serve(spec: dict) -> list[dict]:
    """Each case in a fresh child forked from this helper, so that no case reuses memory freed by another."""
    mod, name = spec["runner"].split(":")
    runner = getattr(importlib.import_module(mod), name)
    out = []
    for case in spec["cases"]:
        try:
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as child:
                res = child.submit(_run_child, runner, case).result()
        except BaseException as e:  # report (a child that died too), never raise into the helper's loop
            res = {"peak_mb": float("nan"), "error": f"{type(e).__name__}: {e}"}
        out.append({**case, **res})
    return out


def measure_peaks(runner: str, cases: list[dict], timeout: float = 1800) -> list[dict]:
    """Peak extra memory (MiB) of each case; ``runner`` is "module:function", function(case) -> measured callable."""
    if not peak_supported():
        return [{**c, "peak_mb": float("nan"), "error": "needs Linux /proc/self/clear_refs and fork"} for c in cases]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.memory"], input=json.dumps({"runner": runner, "cases": cases}),
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"memory helper failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(_serve(json.loads(sys.stdin.read()))))
