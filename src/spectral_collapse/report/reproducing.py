"""The reproducing page's sentences around the estimate of ``studies.reproducing`` (the numbers live there):
what a profile trains, where a timing was measured, a GPU measurement against the estimate. They serve
``pipeline.cost_pages``' reproducing fragments only.
"""
from __future__ import annotations

from ..studies.profiles import get_profile
from ..studies.reproducing import GPU_TFLOPS, PAPER_LABEL_PASSES, TIMING_FILE, gpu_rate, paper_scale_estimate
from ..text import TIMES, listed

__all__ = ["TIMING_FILE", "PAPER_LABEL_PASSES", "GPU_TFLOPS", "paper_scale_estimate", "profile_text", "machine_text",
           "error_text", "gpu_against_estimate", "replicates_text", "run_words", "basis_text", "gpu_words"]


def count_text(n: int) -> str:
    """A count as the pages write it: four digits without a separator ("6000", as the hand-written pages say it),
    larger counts grouped by thousands ("120,000")."""
    return f"{n}" if abs(n) < 10_000 else f"{n:,}"


def profile_text(name: str = "quick") -> str:
    """One sentence on what a profile trains, read from the profile itself: crop size, U-Net size, and the steps and
    batch of its eps and EDM models."""
    from ..models.backbones import build_backbone, count_parameters

    prof = get_profile(name)
    eps, edm = prof.train_eps, prof.train_edm
    n = count_text
    if eps.batch_size != edm.batch_size:
        steps = (f"{n(eps.steps)} steps of batch {eps.batch_size} (ε-prediction) or {n(edm.steps)} of batch "
                 f"{edm.batch_size} (EDM)")
    elif eps.steps != edm.steps:
        steps = f"{n(eps.steps)} steps (ε-prediction) or {n(edm.steps)} (EDM) of batch {eps.batch_size}"
    else:
        steps = f"{n(eps.steps)} steps of batch {eps.batch_size}"
    return (f"bundled {prof.image_size} {TIMES} {prof.image_size}-pixel crops and, per model, a "
            f"{count_parameters(build_backbone(prof.backbone)) / 1e6:.2f} M-parameter U-Net trained {steps}")


def replicates_text(replicates=None) -> str:
    """How often each model is trained, read from ``studies.models.SEED_REPLICATES`` (or ``replicates``, roles with
    ``key`` and ``seed``): 'the main eps and EDM models of both datasets (4 models) are trained three times, from
    training seeds 0, 1 and 2 (`studies.models.SEED_REPLICATES`), every other model once'."""
    from ..studies.models import MODEL_SET, SEED_REPLICATES

    reps = SEED_REPLICATES if replicates is None else replicates
    if not reps:
        return "every model is trained once"
    seeds = sorted({0} | {int(r.seed) for r in reps})
    bases = sorted({r.key.rsplit("-seed", 1)[0] for r in reps})
    main = {r.key: r for r in MODEL_SET}
    order = [r.key for r in MODEL_SET]
    params = list(dict.fromkeys(main[b].parameterization for b in sorted(bases, key=lambda k: order.index(k)
                                                                           if k in order else len(order))
                                if b in main))
    datasets = sorted({main[b].dataset for b in bases if b in main})
    which = (f"the main {listed([_PARAM_WORDS.get(p, p) for p in params])} models of "
             + ("both datasets" if len(datasets) == 2 else listed(datasets)) if params else "the main models")
    times = {1: "once", 2: "twice", 3: "three times", 4: "four times"}.get(len(seeds), f"{len(seeds)} times")
    return (f"{which} ({len(bases)} models) are trained {times}, from training seeds {listed([str(k) for k in seeds])} "
            "(`studies.models.SEED_REPLICATES`), every other model once")


_PARAM_WORDS = {"eps": "eps", "edm": "EDM", "x0": "x0", "flow": "flow-matching"}
_BACKBONE_WORDS = {"unet": "U-Net", "dit": "DiT"}
_DATASET_WORDS = {"bbbc021": "BBBC021", "edges2shoes": "Edges2Shoes"}


def run_words(row: dict) -> str:
    """A GPU training row's run in words: {'backbone': 'unet', 'space': 'latent', 'parameterization': 'eps',
    'dataset': 'bbbc021'} -> 'latent-space U-Net, ε-prediction, BBBC021'."""
    par = str(row.get("parameterization", ""))
    par = {"eps": "ε-prediction", "x0": "x0-prediction"}.get(par, _PARAM_WORDS.get(par, par))
    back = _BACKBONE_WORDS.get(str(row.get("backbone", "")), str(row.get("backbone", "")))
    data = _DATASET_WORDS.get(str(row.get("dataset", "")), str(row.get("dataset", "")))
    return f"{row.get('space', '')}-space {back}, {par}, {data}"


def basis_text(timing: dict, ovg_step_ratio: float | None = None, ovg_source: str | None = None) -> str:
    """What one forward pass stands for in each column of ``paper_scale_estimate``: the forward + backward of a
    training image as the CPU times' ratio (forward-pass and CPU-hour columns) or as three forwards of FLOPs (GPU
    column), and the OVG inversion step in every column (``ovg_source``: where its ratio was measured)."""
    fb = timing["forward_backward"]["cpu_s_per_image"] / timing["forward"]["cpu_s_per_image"]
    ovg = (f"{ovg_step_ratio:.2f} forwards in every column ({ovg_source or 'a measured ratio'})" if ovg_step_ratio
           else f"{2 * fb - 1:.2f} forwards in every column (one forward plus two vector-Jacobian products at "
                "backward cost)")
    return (f"A training image's forward + backward counts as {fb:.2f} forwards in the forward-pass and CPU-hour "
            "columns (the CPU times' ratio above) and as 3 forwards in the GPU-hour column (FLOPs: a backward pass "
            f"costs two forwards); a guided OVG inversion step counts as {ovg}.")


def machine_text(timing: dict) -> str:
    """Where a timing was measured, in words: 'an x86-64 CPU with 2 cores, one torch thread (PyTorch 2.14.1,
    21 November 2026)'."""
    from datetime import datetime

    m = timing.get("machine", {})
    cpu = str(m.get("cpu") or "a").replace("x86_64", "x86-64").replace("aarch64", "ARM64")
    cores = m.get("cpu_count")
    threads = int(timing.get("threads", 1))
    when = ""
    try:
        d = datetime.fromisoformat(str(timing.get("created")))
        when = f", {d.day} {d:%B %Y}"
    except ValueError:
        pass
    torch = str(m.get("torch", "")).split("+")[0]
    return (f"an {cpu} CPU" + (f" with {cores} cores" if cores else "")
            + f", {'one torch thread' if threads == 1 else f'{threads} torch threads'}"
            + (f" (PyTorch {torch}{when})" if torch else (f" ({when[2:]})" if when else "")))


def gpu_words(device: str | None) -> str:
    """One GPU as prose names it, its memory in brackets: "NVIDIA H100 80GB HBM3" -> "one NVIDIA H100 GPU (80 GB)";
    a name with no memory size gives "one NVIDIA H100 GPU", none at all "one GPU"."""
    import re

    if not device:
        return "one GPU"
    mem = re.search(r"\b(\d+)\s*([GM])B\b", str(device), re.I)
    words = [w for w in str(device).split() if not re.fullmatch(r"\d+\s*[GM]B|HBM\d*e?|PCIe|SXM\d*|NVL", w, re.I)]
    name = " ".join(words) or "GPU"
    return f"one {name if name.upper().endswith('GPU') else f'{name} GPU'}" + (f" ({mem.group(1)} {mem.group(2).upper()}B)" if mem else "")


_ERRORS = {"OutOfMemoryError": "ran out of GPU memory", "CUDA out of memory": "ran out of GPU memory"}


def error_text(error: str) -> str:
    """A benchmark's recorded error in words: 'OutOfMemoryError at the paper's batch ...' -> 'ran out of GPU memory
    at the paper's batch ...'; an error without a wording is given as recorded."""
    for raw, words in _ERRORS.items():
        if error.startswith(raw):
            rest = error[len(raw):].lstrip(": ")
            return f"{words} {rest}".strip() if rest else words
    return error


def gpu_against_estimate(gpu: dict, timing: dict, *, gpu_tflops: float = GPU_TFLOPS) -> str | None:
    """``studies.reproducing.gpu_rate`` in a sentence: the measured GPU hours of the latent U-Net runs against the
    estimate's training row, and the FLOP rate the measured step reached against the assumed one."""
    r = gpu_rate(gpu, timing, gpu_tflops=gpu_tflops)
    if r is None:
        return None
    which = (f"The {r['runs']} latent-space U-Net runs, the only ones the estimate above covers, come to"
             if r["runs"] > 1 else "The latent-space U-Net run, the only one the estimate above covers, comes to")
    return (f"{which} {r['measured_hours']:,.1f} GPU hours measured against the estimate's {r['estimate_hours']:.1f} "
            f"for training them ({r['measured_hours'] / r['estimate_hours']:.1f} times as many) because a training "
            f"step of the paper U-Net (batch {r['batch']}, about three forwards of {r['gflop']:.1f} GFLOP per image) "
            f"took {r['step_s']:.2f} s on this GPU, a sustained {r['tflops']:.0f} TFLOP/s, where the estimate assumes "
            f"{gpu_tflops:.0f} TFLOP/s.")
