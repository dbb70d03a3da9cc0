"""The paper profile's compute, estimated from a timing of the paper U-Net (``python -m benchmarks.paper_unet``):
numbers only."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..text import TIMES
from ..framework.profiles import get_profile

__all__ = ["TIMING_FILE", "PAPER_LABEL_PASSES", "GPU_TFLOPS", "paper_scale_estimate", "gpu_rate", "profile_table",
           "timing_table", "gpu_train_table", "gpu_table"]

TIMING_FILE = Path("reproducing") / "paper-unet-cpu.json"   # under the results root
# (inversion forwards, sampling forwards, OVG steps) per translation of the six paper labels
PAPER_LABEL_PASSES = {"ddim": (50, 50, 0), "taba": (48, 50, 0), "edm": (50, 50, 0),
                      "ovg": (50, 50, 50), "ovg_taba": (48, 50, 48), "ovg_edm": (50, 50, 50)}
GPU_TFLOPS = 50.0  # the sustained rate the estimate assumes: a third of an A100's dense TF32 peak


def _quantities(rows: dict) -> pd.DataFrame:
    return pd.DataFrame({"quantity": list(rows), "value": [str(v) for v in rows.values()]})


def paper_scale_estimate(timing: dict, *, gpu_tflops: float = GPU_TFLOPS, ovg_step_ratio: float | None = None,
                         datasets: int = 2, models_per_dataset: int = 2) -> pd.DataFrame:
    """Estimated forwards, CPU and GPU hours (at a sustained ``gpu_tflops``) of the paper profile's training and
    translations (``PAPER_LABEL_PASSES``; an OVG step costing ``ovg_step_ratio`` forwards, None: from the timing)."""
    prof = get_profile("paper")
    f_cpu, fb_cpu = timing["forward"]["cpu_s_per_image"], timing["forward_backward"]["cpu_s_per_image"]
    flops = float(timing["forward_flops"])
    ratio = ovg_step_ratio if ovg_step_ratio is not None else 2 * fb_cpu / f_cpu - 1.0
    cfg = prof.train_eps
    n_train = datasets * models_per_dataset
    train = n_train * cfg.steps * cfg.batch_size                 # training images, each a forward + backward
    per_image = sum(inv + smp + ovg * (ratio - 1) for inv, smp, ovg in PAPER_LABEL_PASSES.values())
    trans = datasets * prof.n_test * len(prof.seeds) * per_image  # translation forwards
    frame = pd.DataFrame({
        "work": [f"training, {n_train} models (each {cfg.steps:,} steps of batch {cfg.batch_size:,})",
                 f"translations: {len(PAPER_LABEL_PASSES)} methods {TIMES} {prof.n_test:,} images {TIMES} "
                 f"{len(prof.seeds)} seeds {TIMES} {datasets} datasets, {prof.steps} + {prof.steps} steps"],
        "forward_equivalents": [train * fb_cpu / f_cpu, trans],
        "cpu_hours": [train * fb_cpu / 3600, trans * f_cpu / 3600],
        "gpu_hours": [train * 3 * flops / (gpu_tflops * 1e12) / 3600, trans * flops / (gpu_tflops * 1e12) / 3600]})
    frame.loc[len(frame)] = ["total", *frame.iloc[:, 1:].sum()]
    return frame


def gpu_rate(gpu: dict, timing: dict, *, gpu_tflops: float = GPU_TFLOPS) -> dict | None:
    """The latent U-Net training runs of a GPU measurement beside the estimate; None without them."""
    rows = [r for r in (gpu.get("paper_scale") or {}).get("train", [])
            if r.get("backbone") == "unet" and r.get("space") == "latent" and "step_s" in r]
    if not rows or not timing.get("forward_flops"):
        return None
    step_s = sorted(float(r["step_s"]) for r in rows)[len(rows) // 2]
    batch = int(rows[0].get("batch") or get_profile("paper").train_eps.batch_size)
    flops = float(timing["forward_flops"])
    estimate = float(paper_scale_estimate(timing, gpu_tflops=gpu_tflops, models_per_dataset=1,
                                          datasets=len(rows))["gpu_hours"].iloc[0])
    return {"runs": len(rows), "measured_hours": sum(float(r.get("projected_gpu_hours") or 0.0) for r in rows),
            "estimate_hours": estimate, "step_s": step_s, "batch": batch, "gflop": flops / 1e9,
            "tflops": batch * 3 * flops / step_s / 1e12, "assumed_tflops": gpu_tflops}


def profile_table(name: str = "quick") -> pd.DataFrame:
    """What a profile trains, as (quantity, value) rows: crop size, U-Net size, steps and batch, replicate seeds."""
    from ..models.backbones import build_backbone, count_parameters
    from ..framework.model_set import SEED_REPLICATES

    prof = get_profile(name)
    seeds = sorted({0} | {int(r.seed) for r in SEED_REPLICATES}) if name != "paper" else [0]
    reps = {r.key.rsplit("-seed", 1)[0] for r in SEED_REPLICATES} if name != "paper" else set()
    rows = {"profile": name, "crop (px)": prof.image_size,
            "U-Net parameters (M)": f"{count_parameters(build_backbone(prof.backbone)) / 1e6:.2f}",
            "ε-prediction: steps, batch": f"{prof.train_eps.steps}, {prof.train_eps.batch_size}",
            "EDM: steps, batch": f"{prof.train_edm.steps}, {prof.train_edm.batch_size}",
            "models trained more than once": len(reps), "their training seeds": ", ".join(map(str, seeds))}
    return _quantities(rows)


def timing_table(timing: dict, ovg_step_ratio: float | None = None) -> pd.DataFrame:
    """The timing the estimate scales, as (quantity, value) rows."""
    m = timing.get("machine", {})
    f, fb = timing["forward"]["cpu_s_per_image"], timing["forward_backward"]["cpu_s_per_image"]
    rows = {"CPU": m.get("cpu", ""), "CPU cores": m.get("cpu_count", ""), "torch threads": timing.get("threads", 1),
            "PyTorch": str(m.get("torch", "")).split("+")[0], "measured": str(timing.get("created", ""))[:10],
            "parameters (M)": f"{timing['parameters'] / 1e6:.0f}",
            "input shape": " × ".join(map(str, timing["shape"])),
            "forward, CPU s per image": f"{f:.3f}", "forward + backward, CPU s per image": f"{fb:.3f}",
            "one forward, GFLOP": f"{timing['forward_flops'] / 1e9:.1f}",
            "forward + backward in forwards (CPU columns)": f"{fb / f:.2f}",
            "forward + backward in forwards (GPU column, FLOPs)": "3",
            "OVG inversion step in forwards": f"{ovg_step_ratio if ovg_step_ratio else 2 * fb / f - 1:.2f}",
            "OVG step ratio measured by the benchmarks": "yes" if ovg_step_ratio else "no",
            "assumed sustained GPU TFLOP/s": f"{GPU_TFLOPS:.0f}"}
    return _quantities(rows)


def gpu_train_table(gpu: dict) -> pd.DataFrame:
    """The GPU's training runs at the paper's scale (Table 7), one row each; a run that did not fit names its error."""
    rows = []
    for r in (gpu.get("paper_scale") or {}).get("train", []):
        fit = "step_s" in r
        rows.append({"run": ", ".join(str(r.get(k, "")) for k in ("backbone", "space", "parameterization", "dataset")),
                     "s per step": f"{r['step_s']:.2f}" if fit else "", "steps": f"{r['steps']:,}" if fit else "",
                     "projected GPU hours": f"{r['projected_gpu_hours']:,.1f}" if fit else "",
                     "parameters (M)": r.get("params_M", ""), "peak GiB": f"{r['peak_GiB']:.0f}" if fit else "",
                     "error": "" if fit else str(r.get("error", "")).split(":")[0].split(" at ")[0]})
    return pd.DataFrame(rows)


def gpu_table(gpu: dict, timing: dict | None = None, ovg_step_ratio: float | None = None) -> pd.DataFrame:
    """The GPU measurement beside the estimate, as (quantity, value) rows."""
    ps = gpu.get("paper_scale") or {}
    rows = {"GPU": gpu.get("gpu", ""), "projected GPU hours of the runs that fit":
            f"{ps.get('total_projected_gpu_hours', 0):,.0f}"}
    r = gpu_rate(gpu, timing) if timing else None
    if r:
        rows |= {f"latent U-Net runs ({r['runs']}), measured GPU hours": f"{r['measured_hours']:,.1f}",
                 "the same runs, estimated GPU hours": f"{r['estimate_hours']:.1f}",
                 "measured / estimated": f"{r['measured_hours'] / r['estimate_hours']:.1f}",
                 "training step, s (batch)": f"{r['step_s']:.2f} ({r['batch']})",
                 "sustained TFLOP/s reached": f"{r['tflops']:.0f}", "TFLOP/s assumed": f"{r['assumed_tflops']:.0f}"}
    tr = ps.get("translation") or {}
    if "ovg_s" in tr:
        rows |= {f"OVG translation of {tr['batch']} latents, s": f"{tr['ovg_s']:.2f}",
                 "DDIM translation, s": f"{tr['ddim_s']:.2f}",
                 "OVG / DDIM on the GPU": f"{tr['ovg_s'] / tr['ddim_s']:.2f}"}
        if ovg_step_ratio:
            rows["OVG / DDIM by the estimate's step cost"] = f"{(ovg_step_ratio + 1) / 2:.2f}"
    return _quantities(rows)
