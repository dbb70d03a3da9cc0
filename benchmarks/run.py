"""Run every benchmark and write benchmarks/results/<machine>-<date>.json and latest.json.

    python -m benchmarks                 # quick-profile U-Net, small batches: a few minutes on 2 cores
    python -m benchmarks --full          # full metric sizes: <machine>-<date>-full.json (latest.json unchanged)
    python -m benchmarks --smoke         # seconds: smoke U-Net, 1 repeat (tests)
    python -m benchmarks --device cuda   # inversion and scaling on a GPU: <machine>-<date>-cuda.json
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import time
from pathlib import Path

import torch

from spectral_collapse.train.cache import atomic_write_bytes

from . import common

RESULTS_DIR = common.ROOT / "benchmarks" / "results"
BENCHMARKS = ("inversion", "training", "metrics", "scaling")
GPU_BENCHMARKS = ("inversion", "scaling")  # the ones that run on --device; training and metrics are CPU work

CONFIGS = {
    "smoke": {
        "inversion": dict(profile="smoke", batch=2, steps=2, repeats=1),
        "training": dict(profile="smoke", batch=4, steps=2, repeats=1),
        "metrics": dict(n_latents=200, pca_n=50, pca_d=4096, image_n=4, image_size=64, repeats=1),
        "scaling": dict(profile="smoke", sizes=(16, 32), batches=(1, 2), size_batch=1, batch_size_px=16, steps=1,
                        repeats=1),
    },
    "default": {
        "inversion": dict(profile="quick", batch=8, steps=3, repeats=3),
        "training": dict(profile="quick", batch=16, steps=8, repeats=3),
        "metrics": dict(n_latents=2000, pca_n=500, image_n=100, repeats=3),
        "scaling": dict(profile="quick", sizes=(32, 64, 128), batches=(1, 4, 16), size_batch=2, steps=1, repeats=2),
    },
    "full": {
        "inversion": dict(profile="quick", batch=16, steps=10, repeats=5),
        "training": dict(profile="quick", batch=32, steps=30, repeats=5),
        "metrics": dict(n_latents=2000, image_n=1000, repeats=5, full=True),
        "scaling": dict(profile="quick", sizes=(32, 64, 128), batches=(1, 4, 16, 64), size_batch=4, steps=2, repeats=3),
    },
}


def run(mode: str = "default", only=None, out_dir: str | os.PathLike = RESULTS_DIR, threads: int | None = 1,
        log=print, device: str = "cpu") -> Path:
    """Run the selected benchmarks in ``mode`` (smoke | default | full) on ``device`` (inversion and scaling; on a GPU
    only those run by default); the results file's path."""
    if mode not in CONFIGS:
        raise ValueError(f"unknown mode {mode!r}; valid: {', '.join(CONFIGS)}")
    dev = common.set_device(device)
    on_gpu = dev != "cpu"
    valid = GPU_BENCHMARKS if on_gpu else BENCHMARKS
    only = list(only or valid)
    if not set(only) <= set(valid):
        raise ValueError(f"no benchmark {sorted(set(only) - set(valid))} runs on {dev}; valid: {', '.join(valid)}")
    if threads:
        torch.set_num_threads(threads)
    cfg = CONFIGS[mode]
    env = common.environment()
    result = {**env, "mode": mode, "config": {k: cfg.get(k, {}) for k in only}, "benchmarks": {}, "seconds": {}}
    t_all = time.perf_counter()
    for name in only:
        t0 = time.perf_counter()
        log(f"[{name}]")
        module = importlib.import_module(f".{name}", __package__)
        result["benchmarks"][name] = getattr(module, f"run_{name}")(**cfg[name])
        result["seconds"][name] = time.perf_counter() - t0
    result["seconds"]["total"] = time.perf_counter() - t_all
    result["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    out_dir = Path(out_dir)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    host = env["machine"]["hostname"].split(".")[0] or "machine"
    tags = ([] if mode == "default" else [mode]) + (["cuda"] if on_gpu else [])
    path = out_dir / f"{host}-{stamp}{''.join('-' + t for t in tags)}.json"
    text = json.dumps(json.loads(json.dumps(result), parse_constant=lambda _: None), indent=1)  # NaN, inf -> null
    atomic_write_bytes(path, text.encode())
    latest = mode != "full" and not on_gpu  # the book reads latest.json; full and GPU runs by name (tables.latest_*)
    if latest:
        atomic_write_bytes(out_dir / "latest.json", text.encode())
    log(f"wrote {path}{' and latest.json' if latest else ''} in {result['seconds']['total']:.0f} s")
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--full", action="store_true",
                   help="the full sizes of the metric targets (PCA 2000 x 196608: minutes)")
    g.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat (tests)")
    ap.add_argument("--only", default=None, help=f"comma list of benchmarks: {','.join(BENCHMARKS)}")
    ap.add_argument("--out", default=str(RESULTS_DIR), help="results folder (default benchmarks/results)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1; 0 = leave torch's default)")
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda[:k]: where inversion and scaling run")
    a = ap.parse_args(argv)
    mode = "full" if a.full else "smoke" if a.smoke else "default"
    only = [s.strip() for s in a.only.split(",") if s.strip()] if a.only else None
    try:
        run(mode, only, a.out, a.threads or None, device=a.device)
    except (ValueError, RuntimeError) as err:
        ap.error(str(err))
    return 0
