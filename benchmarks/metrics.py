"""Metric throughput against its targets, and a machine-speed reference timed in the same run.

Targets: S_G + S_DC + PCA on 2000 latents of 4 x 32 x 32 under 2 s; PCA on 2000 x 196608 under 60 s (scaled by N^2
from ``pca_n`` unless ``full``); S_HF + S_LF on 1000 images of 256 x 256 under 10 s. A float64 1024^3 matrix product
(``ref_s``) carries the times to another machine.
"""
from __future__ import annotations

import numpy as np
import torch

from spectral_collapse.metrics import latent as lat
from spectral_collapse.metrics import spectral as spec

from .common import measure_peaks, stats, timed


def _time(fn, repeats: int) -> dict:
    walls, cpus = zip(*[timed(fn) for _ in range(repeats)])
    return {"wall_s": stats(walls), "cpu_s": stats(cpus)}


def _images(n: int, size: int, seed: int) -> torch.Tensor:
    """Smooth-ish test images in [-1, 1]: white noise low-passed, so S_HF / S_LF do real work."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((n, 3, size, size), generator=g)
    x = torch.nn.functional.avg_pool2d(x, 5, 1, 2)
    return (x / x.abs().amax()).clamp(-1, 1)


def pca_case(case: dict):
    """Memory-helper runner: N x d float32 data, the PCA call measured."""
    torch.set_num_threads(case.get("threads", 1))
    g = torch.Generator().manual_seed(0)
    x = torch.randn((case["n"], case["d"]), generator=g)
    return lambda: lat.pca_explained_variance(x)


def run_metrics(n_latents: int = 2000, pca_n: int = 500, pca_d: int = 196608, image_n: int = 100, image_size: int = 256,
                repeats: int = 3, full: bool = False) -> dict:
    """Metric timings (seconds and multiples of the reference product) against their targets."""
    a = np.random.default_rng(0).standard_normal((1024, 1024))
    out = {"ref_s": float(np.median([timed(lambda: a @ a)[1] for _ in range(3)])),
           "ref": "float64 1024 x 1024 @ 1024 x 1024 matrix product (numpy), CPU seconds"}
    # ---- latent metrics at 2000 x 4 x 32 x 32
    z = torch.randn((n_latents, 4, 32, 32), generator=torch.Generator().manual_seed(0))
    lat.TAU_CACHE.clear()
    cold_wall, cold_cpu = timed(lambda: lat.decorrelation_threshold(z.shape[1:]))
    parts = {"s_g": lambda: lat.gaussianity(z), "s_dc": lambda: lat.decorrelation(z),
             "pca": lambda: lat.pca_explained_variance(z)}
    res = {k: _time(f, repeats) for k, f in parts.items()}
    total, total_wall = (sum(r[k]["median"] for r in res.values()) for k in ("cpu_s", "wall_s"))
    out["latent"] = {"n": n_latents, "shape": [4, 32, 32], **res, "tau_cold_cpu_s": cold_cpu,
                     "tau_cold_wall_s": cold_wall, "total_warm_cpu_s": total, "total_warm_wall_s": total_wall,
                     "total_cold_cpu_s": total + cold_cpu, "target_s": 2.0, "met": bool(total_wall <= 2.0)}
    # ---- PCA in pixel space
    n = 2000 if full else pca_n
    x = torch.randn((n, pca_d), generator=torch.Generator().manual_seed(1))
    t = _time(lambda: lat.pca_explained_variance(x), 1)
    del x
    scale = (2000 / n) ** 2
    pca = {"n": n, "d": pca_d, "measured": t, "extrapolated_to_2000": not full,
           "cpu_s_2000": t["cpu_s"]["median"] * scale, "wall_s_2000": t["wall_s"]["median"] * scale,
           "torch_threads": torch.get_num_threads(), "target_s": 60.0}
    if full:
        case = {"n": 2000, "d": pca_d, "threads": torch.get_num_threads()}
        pca["peak_extra_mb"] = measure_peaks("benchmarks.metrics:pca_case", [case])[0]["peak_mb"]
        pca["input_mb"] = 2000 * pca_d * 4 / 2**20
    out["pca_pixel"] = {**pca, "met": bool(pca["wall_s_2000"] <= 60.0)}
    # ---- image metrics at 256 x 256
    n_img = 1000 if full else image_n
    gen, cond = _images(n_img, image_size, 2), _images(n_img, image_size, 3)
    spec.clear_reference_cache()
    mu_cold = timed(lambda: spec.hf_reference(cond, wavelet="sym4"))
    mu_warm = timed(lambda: spec.hf_reference(cond, wavelet="sym4"))
    mu = spec.hf_reference(cond, wavelet="sym4")
    img = {"s_hf": _time(lambda: spec.s_hf(gen, mu, wavelet="sym4"), repeats),
           "s_lf": _time(lambda: spec.s_lf(gen, cond, kappa=0.06), repeats)}
    total, total_wall = (sum(r[k]["median"] for r in img.values()) * 1000 / n_img for k in ("cpu_s", "wall_s"))
    out["image"] = {"n": n_img, "size": image_size, **img, "extrapolated_to_1000": not full,
                    "total_cpu_s_1000": total, "total_wall_s_1000": total_wall, "mu_hf_cold_cpu_s": mu_cold[1],
                    "mu_hf_warm_cpu_s": mu_warm[1], "target_s": 10.0, "met": bool(total_wall <= 10.0)}
    return out
