"""How translation cost grows with resolution and batch size, for DDIM and OVG (paired repeats, log-log slopes).

One translation is ``steps`` inversion plus ``steps`` sampling steps of the profile's backbone (random weights); each
point is also a ratio to the DDIM translation at its sweep's smallest point, timed in the same run.
"""
from __future__ import annotations

from functools import partial

import numpy as np
import torch

from spectral_collapse.inversion import OVG, Euler, translate

from .common import log_loglog_slope, stats, timed
from .inversion import bench_inputs, make_model


def _sweep(points: list[tuple[int, int]], profile: str, steps: int, repeats: int) -> list[dict]:
    """points: (size, batch); each repeat times every (point, method) once, in order, then the next repeat."""
    models = {size: make_model(profile, size=size) for size in sorted({s for s, _ in points})}
    fns = {}
    for size, batch in points:
        x = bench_inputs(profile, batch, size=size)
        for name, g in (("ddim", None), ("ovg", OVG())):
            fns[(size, batch, name)] = partial(translate, models[size], x, Euler(), guidance=g, steps=steps)
    fns[points[0] + ("ddim",)]()  # warm-up
    times = np.array([[timed(fn) for fn in fns.values()] for _ in range(repeats)])  # (repeat, run, wall / CPU)
    base_wall, base_cpu = times[:, 0].T  # the first point's DDIM translation
    return [{"size": size, "batch": batch, "method": name, "pixels": size * size, "wall_s": stats(wall),
             "cpu_s": stats(cpu), "ratio_cpu": stats(cpu / base_cpu), "ratio_wall": stats(wall / base_wall)}
            for (size, batch, name), (wall, cpu) in zip(fns, times.transpose(1, 2, 0))]


def _slopes(rows: list[dict], x_key: str) -> dict:
    by = {m: [r for r in rows if r["method"] == m] for m in ("ddim", "ovg")}
    return {m: {c: log_loglog_slope([r[x_key] for r in sel], [r[f"{c}_s"]["median"] for r in sel])
                for c in ("cpu", "wall")} for m, sel in by.items()}


def run_scaling(profile: str = "quick", sizes=(32, 64, 128), batches=(1, 4, 16), size_batch: int = 2,
                batch_size_px: int = 32, steps: int = 1, repeats: int = 2) -> dict:
    """Resolution sweep at batch ``size_batch`` and batch sweep at ``batch_size_px`` px, DDIM and OVG."""
    torch.manual_seed(0)
    res = _sweep([(s, size_batch) for s in sizes], profile, steps, repeats)
    bat = _sweep([(batch_size_px, b) for b in batches], profile, steps, repeats)
    return {"profile": profile, "steps": steps, "repeats": repeats, "resolution": res, "batch": bat,
            "slope_pixels": _slopes(res, "pixels"), "slope_batch": _slopes(bat, "batch"),
            "note": "time per translation; slope = d log(time) / d log(pixels) resp. d log(batch)"}
