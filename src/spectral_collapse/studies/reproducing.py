"""The paper profile's compute, estimated from a measured timing of the paper U-Net: numbers only.

The timing (``<results root>/reproducing/paper-unet-cpu.json``) is measured by ``python -m benchmarks.paper_unet``
(benchmarks/paper_unet.py: ``measure_paper_unet``); ``paper_scale_estimate`` turns it into forward passes, CPU hours
and GPU hours, and ``gpu_rate`` sets a GPU measurement of the paper's training step beside the estimate.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..text import TIMES
from .profiles import get_profile

__all__ = ["TIMING_FILE", "PAPER_LABEL_PASSES", "GPU_TFLOPS", "paper_scale_estimate", "gpu_rate"]

TIMING_FILE = Path("reproducing") / "paper-unet-cpu.json"   # under the results root
# Translations per table cell in the paper profile: n_test images x seeds; the six paper labels per dataset.
PAPER_LABEL_PASSES = {"ddim": (50, 50, 0), "taba": (48, 50, 0), "edm": (50, 50, 0),      # (inversion forwards,
                      "ovg": (50, 50, 50), "ovg_taba": (48, 50, 48), "ovg_edm": (50, 50, 50)}  # sampling, OVG steps)


GPU_TFLOPS = 50.0  # the sustained rate the estimate assumes: a third of an A100's dense TF32 peak


def paper_scale_estimate(timing: dict, *, gpu_tflops: float = GPU_TFLOPS, ovg_step_ratio: float | None = None,
                         datasets: int = 2, models_per_dataset: int = 2) -> pd.DataFrame:
    """Estimated compute of the paper profile's main results (Table 2: BBBC021 x16 and Edges2Shoes) from a timing.

    Training: steps x batch images of forward + backward per model (``models_per_dataset`` = eps and EDM).
    Translation: per image the network passes of each paper label (PAPER_LABEL_PASSES), an OVG step costing
    ``ovg_step_ratio`` forwards (None: one forward plus two vector-Jacobian products each costing a backward pass,
    2 fb / f - 1 with f the forward and fb the forward + backward time; the benchmark chapter measures the real
    ratio, pass it when known), times n_test images x seeds. CPU hours use the measured one-thread
    CPU time; GPU hours divide FLOPs (forward FLOPs x passes; backward counted as 2 forwards) by an *assumed*
    sustained ``gpu_tflops``. Both are estimates, not measurements of a full run.
    """
    prof = get_profile("paper")
    f_cpu = timing["forward"]["cpu_s_per_image"]
    fb_cpu = timing["forward_backward"]["cpu_s_per_image"]
    flops = float(timing["forward_flops"])
    ratio = ovg_step_ratio if ovg_step_ratio is not None else 2 * fb_cpu / f_cpu - 1.0
    rows = []
    cfg = prof.train_eps
    n_train = datasets * models_per_dataset
    rows.append({"work": f"training, {n_train} models (each {cfg.steps:,} steps of batch {cfg.batch_size:,})",
                 "forward_equivalents": n_train * cfg.steps * cfg.batch_size * fb_cpu / f_cpu,
                 "cpu_hours": n_train * cfg.steps * cfg.batch_size * fb_cpu / 3600,
                 "gpu_hours": n_train * cfg.steps * cfg.batch_size * 3 * flops / (gpu_tflops * 1e12) / 3600})
    per_image = sum(inv + smp + ovg * (ratio - 1) for inv, smp, ovg in PAPER_LABEL_PASSES.values())
    n_trans = datasets * prof.n_test * len(prof.seeds)
    rows.append({"work": f"translations: {len(PAPER_LABEL_PASSES)} methods {TIMES} {prof.n_test:,} images {TIMES} "
                         f"{len(prof.seeds)} seeds {TIMES} {datasets} datasets, {prof.steps} + {prof.steps} steps",
                 "forward_equivalents": n_trans * per_image, "cpu_hours": n_trans * per_image * f_cpu / 3600,
                 "gpu_hours": n_trans * per_image * flops / (gpu_tflops * 1e12) / 3600})
    frame = pd.DataFrame(rows)
    total = frame[["forward_equivalents", "cpu_hours", "gpu_hours"]].sum()
    return pd.concat([frame, pd.DataFrame([{"work": "total", **total}])], ignore_index=True)


def gpu_rate(gpu: dict, timing: dict, *, gpu_tflops: float = GPU_TFLOPS) -> dict | None:
    """A GPU measurement of the paper's training runs beside the estimate: the latent-space U-Net runs the estimate
    covers (eps and EDM per dataset) as {runs, measured_hours (their projected GPU hours summed), estimate_hours
    (``paper_scale_estimate``'s training row for as many models), step_s (the median measured step), batch,
    gflop (one forward), tflops (the FLOP rate the step reached: three forwards per image and step),
    assumed_tflops}; None when the measurement holds no such step or the timing no FLOP count."""
    prof = get_profile("paper")
    rows = [r for r in (gpu.get("paper_scale") or {}).get("train", [])
            if r.get("backbone") == "unet" and r.get("space") == "latent" and "step_s" in r]
    if not rows or not timing.get("forward_flops"):
        return None
    step_s = sorted(float(r["step_s"]) for r in rows)[len(rows) // 2]
    batch = int(rows[0].get("batch") or prof.train_eps.batch_size)
    flops = float(timing["forward_flops"])
    estimate = float(paper_scale_estimate(timing, gpu_tflops=gpu_tflops, models_per_dataset=1,
                                          datasets=len(rows))["gpu_hours"].iloc[0])
    return {"runs": len(rows), "measured_hours": sum(float(r.get("projected_gpu_hours") or 0.0) for r in rows),
            "estimate_hours": estimate, "step_s": step_s, "batch": batch, "gflop": flops / 1e9,
            "tflops": batch * 3 * flops / step_s / 1e12, "assumed_tflops": gpu_tflops}
