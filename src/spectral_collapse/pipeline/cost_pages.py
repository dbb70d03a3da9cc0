"""The reproducing page's generated markdown: the estimate of the paper's compute, the quick profile's description
and the GPU measurement of the paper's scale. The benchmark measurements come in as dicts; the only file read here is
the suite's own timing reference (``report.reproducing.TIMING_FILE``). Each method's measured cost is in the cost
chapter (notebooks/cost.ipynb)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..report.reproducing import (GPU_TFLOPS, TIMING_FILE, basis_text, error_text, gpu_against_estimate,
                                  machine_text, paper_scale_estimate, profile_text, replicates_text, run_words)
from ..text import large
from ..report.tables import md_table


def paper_timing(root: str | Path) -> dict | None:
    """The stored CPU timing of the paper U-Net (``python -m benchmarks.paper_unet``), or None."""
    path = Path(root) / TIMING_FILE
    return json.loads(path.read_text()) if path.exists() else None


def bench_ovg_step_ratio(bench: dict | None) -> float | None:
    """The CPU cost of one OVG inversion step in DDIM steps, as the benchmarks measured it (None: not measured)."""
    rows = {r["label"]: r for r in ((bench or {}).get("benchmarks", {}).get("inversion", {}) or {}).get("rows", [])}
    if "ovg" in rows and (rows["ovg"].get("ratio_cpu") or {}).get("median"):
        return float(rows["ovg"]["ratio_cpu"]["median"])
    return None


_TRAINED_ON = {"smoke": "in seconds", "paper": "on GPUs",
               "quick": "on one CPU core (the trained weights ship in `data/weights`, so "
                        "building the book does not train them again; the benchmarks chapter times a training from "
                        "scratch)"}


def _ovg_source(bench: dict | None) -> str:
    """Where the OVG step ratio of ``bench_ovg_step_ratio`` was measured, and the assumption that carries it over."""
    inv = ((bench or {}).get("benchmarks", {}).get("inversion", {}) or {})
    size = f"{inv['parameters'] / 1e6:.2f} M-parameter " if inv.get("parameters") else ""
    prof = f"the `{inv['profile']}` profile's " if inv.get("profile") else "a small "
    return (f"the CPU time of an OVG inversion step over a DDIM step, measured in the cost chapter on {prof}{size}"
            "U-Net and assumed to carry over to the paper U-Net")


def profile_fragment(profile: str = "quick") -> str:
    """The reproducing page's opening: what the book's profile trains (read from the profile and, for the CPU
    profiles, ``studies.models.SEED_REPLICATES``) and on what."""
    where = _TRAINED_ON.get(profile)
    runs = f" {replicates_text()[0].upper()}{replicates_text()[1:]}." if profile != "paper" else ""
    return (f"This book is built on the `{profile}` profile: {profile_text(profile)}"
            + (f", {where}" if where else "") + f".{runs}\n")


def reproducing_fragment(root: str | Path, bench: dict | None = None) -> str:
    """The reproducing page's estimate: measured paper-U-Net timing -> compute of the paper's main results."""
    t = paper_timing(root)
    if t is None:
        return ("```{note}\nNo timing of the paper U-Net is stored yet. Measure it (a minute on one CPU core) with\n"
                "`python -m benchmarks.paper_unet` (benchmarks/paper_unet.py: `measure_paper_unet`)"
                "\nand rebuild the pages with `python scripts/make_toc.py`.\n```\n")
    ratio = bench_ovg_step_ratio(bench)
    est = paper_scale_estimate(t, ovg_step_ratio=ratio)
    est = est.assign(forward_equivalents=[large(v) for v in est["forward_equivalents"]],
                     cpu_hours=[f"{v:,.0f}" for v in est["cpu_hours"]],
                     gpu_hours=[f"{v:,.1f}" for v in est["gpu_hours"]])
    head = (f"**Estimate, not a measurement.** It scales one measurement: on {machine_text(t)}, the paper U-Net "
            f"({t['parameters'] / 1e6:.0f} M parameters, input {' × '.join(map(str, t['shape']))}) takes "
            f"{t['forward']['cpu_s_per_image']:.3f} CPU seconds per image for a forward pass and "
            f"{t['forward_backward']['cpu_s_per_image']:.3f} CPU seconds for forward + backward; one forward is "
            f"{t['forward_flops'] / 1e9:.1f} GFLOP. " + basis_text(t, ratio, _ovg_source(bench) if ratio else None)
            + f" GPU hours assume a sustained {GPU_TFLOPS:.0f} TFLOP/s (a third of an A100's dense TF32 peak); VAE encoding and decoding, data loading and evaluation metrics are left out.\n\n")
    return head + md_table(est.rename(columns={"forward_equivalents": "forward passes (equivalent)",
                                               "cpu_hours": "CPU hours (1 thread)",
                                               "gpu_hours": "GPU hours (assumed)"}))


def gpu_fragment(gpu: dict | None, timing: dict | None = None, ovg_step_ratio: float | None = None) -> str:
    """The reproducing page's GPU paragraph: measured training-step times at the paper's scale and batch, projected
    to the GPU-hours of each of the paper's training runs (Table 7), and the cost of an OVG translation there.

    With the CPU ``timing`` of the paper U-Net it says why the measured hours differ from the FLOP-based estimate
    (the FLOP rate the step reached); with the CPU benchmarks' ``ovg_step_ratio`` it sets the GPU's OVG/DDIM ratio
    of a whole translation beside the one the estimate's per-step cost implies."""
    if not gpu or "paper_scale" not in gpu:
        return ("```{note}\nNo GPU measurement is stored yet: `python -m benchmarks.gpu_extras` on a GPU machine "
                "writes one.\n```\n")
    ps = gpu["paper_scale"]
    rows = []
    for r in ps.get("train", []):
        run = run_words(r)
        if "step_s" in r:
            rows.append([run, f"{r['step_s']:.2f}", f"{r['steps']:,}", f"{r['projected_gpu_hours']:,.1f}",
                         f"{r['params_M']} M, {r['peak_GiB']:.0f} GiB"])
        else:
            rows.append([run, "did not fit", "", "", error_text(r.get("error", ""))])
    table = md_table(pd.DataFrame(rows, columns=["training run (Table 7)", "s per step", "steps",
                                                 "projected GPU hours", "parameters, peak memory"]))
    from ..report.reproducing import gpu_words

    text = (f"Measured on {gpu_words(gpu.get('gpu'))} (`python -m benchmarks.gpu_extras`, "
            f"`benchmarks/results/`): one optimiser step at the paper's batch, random inputs of the paper's shape, "
            f"median of three after two warm-ups; the projection is that time multiplied by the run's steps.\n\n"
            f"{table}\n\nThe runs that fit come to about {ps.get('total_projected_gpu_hours', 0):,.0f} GPU hours "
            f"on this GPU.")
    why = gpu_against_estimate(gpu, timing) if timing else None
    if why:
        text += " " + why
    tr = ps.get("translation") or {}
    if "ovg_s" in tr:
        gpu_ratio = tr["ovg_s"] / tr["ddim_s"]
        text += (f" One OVG translation of {tr['batch']} latents (DDIM base, {tr['steps']} steps each way) takes "
                 f"{tr['ovg_s']:.2f} s against {tr['ddim_s']:.2f} s for DDIM ({gpu_ratio:.2f}×).")
        if ovg_step_ratio:
            # a translation: `steps` guided inversion steps (ratio DDIM steps each) and `steps` plain sampling steps
            cpu = (ovg_step_ratio + 1) / 2
            text += (f" That ratio is for a whole translation, whose sampling half is unguided; the estimate above "
                     f"counts a guided inversion step as {ovg_step_ratio:.2f} forwards (the CPU ratio measured on the "
                     f"benchmarks' small U-Net), which "
                     f"makes a translation {cpu:.2f}× DDIM's there"
                     + (f": the guidance costs relatively {'more' if gpu_ratio > cpu else 'less'} on this GPU."
                        if abs(gpu_ratio - cpu) > 0.05 * cpu else ", about the same."))
    return text + "\n"
