"""The reproducing chapter's estimate: compute of the paper profile's main results from a measured timing.

The timing (``<results root>/reproducing/paper-unet-cpu.json``) is measured by ``python -m benchmarks.paper_unet``
(benchmarks/paper_unet.py: ``measure_paper_unet``); this module only turns it into hours.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..studies.profiles import get_profile

__all__ = ["TIMING_FILE", "PAPER_LABEL_PASSES", "paper_scale_estimate"]

TIMING_FILE = Path("reproducing") / "paper-unet-cpu.json"   # under the results root
# Translations per table cell in the paper profile: n_test images x seeds; the six paper labels per dataset.
PAPER_LABEL_PASSES = {"ddim": (50, 50, 0), "taba": (48, 50, 0), "edm": (50, 50, 0),      # (inversion forwards,
                      "ovg": (50, 50, 50), "ovg_taba": (48, 50, 48), "ovg_edm": (50, 50, 50)}  # sampling, OVG steps)


def paper_scale_estimate(timing: dict, *, gpu_tflops: float = 50.0, ovg_step_ratio: float | None = None,
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
    rows.append({"work": f"training, {n_train} models ({cfg.steps} steps x batch {cfg.batch_size})",
                 "forward_equivalents": n_train * cfg.steps * cfg.batch_size * fb_cpu / f_cpu,
                 "cpu_hours": n_train * cfg.steps * cfg.batch_size * fb_cpu / 3600,
                 "gpu_hours": n_train * cfg.steps * cfg.batch_size * 3 * flops / (gpu_tflops * 1e12) / 3600})
    per_image = sum(inv + smp + ovg * (ratio - 1) for inv, smp, ovg in PAPER_LABEL_PASSES.values())
    n_trans = datasets * prof.n_test * len(prof.seeds)
    rows.append({"work": f"translations: {len(PAPER_LABEL_PASSES)} methods x {prof.n_test} images x "
                         f"{len(prof.seeds)} seeds x {datasets} datasets, {prof.steps} + {prof.steps} steps",
                 "forward_equivalents": n_trans * per_image, "cpu_hours": n_trans * per_image * f_cpu / 3600,
                 "gpu_hours": n_trans * per_image * flops / (gpu_tflops * 1e12) / 3600})
    frame = pd.DataFrame(rows)
    total = frame[["forward_equivalents", "cpu_hours", "gpu_hours"]].sum()
    return pd.concat([frame, pd.DataFrame([{"work": "total", **total}])], ignore_index=True)
