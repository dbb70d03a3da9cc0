"""The book's generated markdown about cost: each method page's cost paragraph, the reproducing page's tables, the
quick profile's description and the GPU measurement of the paper's scale. The benchmark measurements come in as
dicts; the only file read here is the suite's own timing reference (``report.reproducing.TIMING_FILE``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..report.reproducing import (GPU_TFLOPS, TIMING_FILE, basis_text, error_text, gpu_against_estimate,
                                  machine_text, paper_scale_estimate, profile_text, replicates_text, run_words)
from ..studies.method_labels import VARIANT_NAMES
from ..text import large, listed
from ..text import percent as text_percent
from ..report.tables import md_table


# The benchmarks time, beside the methods, variants of three of them. Each variant row has a short name (a table row,
# a chart label; prose quotes it in italics, ``row_ref``) and words for a page that shows no table (``bench_words``).
# A method's own label is named by ``studies.method_labels.method_name``.
BENCH_NAMES = VARIANT_NAMES   # the benchmark rows' names, as tables, prose and charts show them
BENCH_WORDS = {"heun": "EDM with Heun's second-order step",
               "ovg_batched": "OVG with both VJPs in one backward call", "ovg_separate": "OVG with the VJPs in two calls",
               "ovg_naive": "OVG as the authors' released code computes it",
               "renoise": "ReNoise with 1 renoising step", "renoise_r9": "ReNoise with the authors' 9 renoising steps"}
RANGE = "\u2013"   # an en dash: "3.34–3.37", a range of values, never a subtraction
_JOIN = "\u2060"   # a word joiner: a range in a table cell does not wrap at its dash


def bench_name(label) -> str:
    """The name of a benchmark row as its table and chart show it ("ovg_naive" -> "OVG, released code", "ovg" ->
    "OVG")."""
    from ..studies.method_labels import method_name

    return BENCH_NAMES.get(str(label)) or method_name(label)


def row_ref(label) -> str:
    """A benchmark row named in prose beside its table: a variant's short name in italics, so that its comma reads
    as part of the name ("*EDM, Heun steps*"), a method by its name."""
    return f"*{BENCH_NAMES[str(label)]}*" if str(label) in BENCH_NAMES else bench_name(label)


def bench_words(label) -> str:
    """A benchmark row in words, for a page that shows no table ("heun" -> "EDM with Heun's second-order step")."""
    return BENCH_WORDS.get(str(label)) or bench_name(label)


def variants_sentence(labels) -> str:
    """One sentence saying what the benchmark's variant rows among ``labels`` are, each by its row name ("" when
    there are none)."""
    labels = set(map(str, labels))
    parts = []
    if "heun" in labels:
        parts.append(f"{row_ref('heun')} is EDM with Heun's second-order step (two network calls a step)")
    vjp = [k for k in ("ovg_batched", "ovg_separate") if k in labels]
    if vjp:
        parts.append(f"{listed([row_ref(k) for k in vjp])} compute OVG's two vector-Jacobian products (VJPs) "
                     + ("in one batched backward call or in two calls (the library default, as in the OVG row)"
                        if len(vjp) == 2 else "in one batched backward call" if vjp[0] == "ovg_batched" else
                        "in two calls (the library default, as in the OVG row)"))
    if "ovg_naive" in labels:
        parts.append(f"{row_ref('ovg_naive')} computes the OVG step as the authors' released code does (an extra "
                     "forward with graph, gradients for the network's weights)")
    rn = [k for k in ("renoise", "renoise_r9") if k in labels]
    if rn:
        runs = {"renoise": "with 1 renoising step per inversion step (R = 1, as the translation studies run it)",
                "renoise_r9": "with the authors' 9 (R = 9)" if len(rn) == 2 else
                              "with the authors' 9 renoising steps per inversion step (R = 9)"}
        parts.append(f"{listed([row_ref(k) for k in rn])} {'time' if len(rn) == 2 else 'times'} ReNoise "
                     + " and ".join(runs[k] for k in rn))
    if not parts:
        return ""
    return "Besides the methods, the table times variants of them: " + "; ".join(parts) + "."


def percent(fraction: float, digits: int = 0) -> str:
    """A fraction as the book writes a percentage, whole by default: 0.213 -> "21 %" (``text.percent``)."""
    return text_percent(fraction, digits)


def quartile_range(q25: float, q75: float, digits: int = 2, cell: bool = False) -> str:
    """Two quartiles as a range with an en dash, "3.34–3.37" (``cell``: kept on one line in a table cell)."""
    dash = f"{_JOIN}{RANGE}{_JOIN}" if cell else RANGE
    return f"{q25:.{digits}f}{dash}{q75:.{digits}f}"


def median_quartiles(st: dict | None, digits: int = 2, unit: str = "") -> str:
    """A median over repeats as prose states it, "3.37× (quartiles 3.34–3.37)" (``unit`` "×" or ""); the median alone
    without repeats; "n/a" without a value."""
    if not st or st.get("median") is None:
        return "n/a"
    text = f"{st['median']:.{digits}f}{unit}"
    if st.get("q25") is None or st.get("q75") is None or st.get("n", 1) < 2:
        return text
    return f"{text} (quartiles {quartile_range(st['q25'], st['q75'], digits)})"


COST_LABELS = {"ddim": ["ddim"], "edm": ["edm", "heun"], "taba": ["taba"], "ovg": ["ovg", "ovg_naive"],
                "null_class": ["null_class"], "direct_inversion": ["direct_inversion"], "renoise": ["renoise"],
                "edict": ["edict"], "bdia": ["bdia"]}


def cost_fragment(method: str, bench: dict | None) -> str:
    """A method chapter's cost paragraph from the parsed benchmarks/results/latest.json (None: point to the cost
    chapter).

    It says where and how the numbers were measured (device, date, the quick profile's U-Net with random weights,
    batch and number of inversion steps), names the book's cost quantity it gives (*OVG inversion step / DDIM step*;
    on the OVG page also *OVG translation / DDIM translation*), gives the network calls per step both at the
    benchmark's few steps and, where a method's count depends on the number of steps, at the studies' number from the
    method's definition, and states how far this run reads identical work (the ``ddim`` row, and the memory of the
    methods that keep DDIM's own tensors) from a ratio of 1."""
    from ..studies.profiles import get_profile

    cost = "{doc}`cost chapter </studies/cost-ihc-sr>`"
    rows = {r["label"]: r for r in ((bench or {}).get("benchmarks", {}).get("inversion", {}) or {}).get("rows", [])}
    have = [lab for lab in COST_LABELS.get(method, [method]) if lab in rows]
    if not have:
        return (f"No measured cost is stored yet for this method: see the {cost} (`python -m benchmarks` writes "
                "benchmarks/results/latest.json).\n")
    inv = bench["benchmarks"]["inversion"]
    machine = bench.get("machine") or {}
    on_gpu = str(machine.get("device", "cpu")).startswith("cuda")
    clock = inv.get("clock") or ("ratio_wall" if on_gpu else "ratio_cpu")
    word = "wall time" if clock == "ratio_wall" else "CPU time"
    if on_gpu:
        where = f"one {machine.get('gpu') or 'GPU'}"
    else:
        cpu = " ".join(w for w in str(machine.get("cpu", "")).replace("(R)", "").replace("(TM)", "").split()
                       if w not in ("Processor", "CPU"))
        n = machine.get("torch_threads")
        where = (f"{'one thread' if n == 1 else f'{n} threads' if n else 'the CPU'} of "
                 + (f"an {cpu} CPU" if cpu[:1].lower() in "aeiou" else f"a {cpu} CPU" if cpu else "a CPU")
                 if cpu or n else "a CPU")
    steps = inv.get("steps")
    try:
        n_studies = get_profile(inv.get("profile") or "quick").steps
    except (KeyError, ValueError):
        n_studies = None

    def calls_at(lab: str, n: int) -> float | None:
        """Calls per inversion step at ``n`` steps from the method's definition, where the count depends on n:
        Heun's correction is skipped on the step from sigma = 0, TABA's jump replaces its first steps."""
        if lab == "heun":
            return (2 * n - 1) / n
        if lab == "taba":
            from ..inversion import get_method
            from ..studies.translation import BASELINE_PARAMS

            return (n - get_method("taba", **BASELINE_PARAMS.get("taba", {})).jump_steps(n)) / n
        return None

    def ratio(st: dict) -> str:
        q = median_quartiles(st)
        q = f" ({q.split(' (', 1)[1]}" if " (" in q else ""
        return f"{st.get('median', float('nan')):.2f}× the {word} of a DDIM step{q}"

    parts = []
    for lab in have:
        r = rows[lab]
        st = r.get(clock) or r.get("ratio_cpu", {}) or {}
        mem = r.get("mem_ratio")
        calls = r.get("calls_per_step", float("nan"))
        at = calls_at(lab, n_studies) if steps and n_studies and n_studies != steps else None
        count = (f"{calls:.2f} network calls per inversion step"
                 + (f" at those {steps} steps ({at:.2f} at the studies' {n_studies}, from the method's definition)"
                    if at is not None and abs(at - calls) > 1e-9 else ""))
        if lab == "ddim":
            spread = abs(float(st.get("median", 1.0)) - 1.0)
            parts.append(f"DDIM: {count}. Timed against the reference DDIM step, the same DDIM reads {ratio(st)}: "
                         f"identical work reads {percent(spread)} away from 1 in this run, so a time ratio that "
                         "close to 1 does not differ from DDIM's")
            continue
        name = " (*OVG inversion step / DDIM step*)" if lab == "ovg" else ""
        w = r.get("cfg_scale", 1)
        scale = (f" at guidance scale $w = {w:g}$ (the studies translate at $w = 1$"
                 + (", where Null-Class skips its optimisation" if lab == "null_class" else "") + ")"
                 if isinstance(w, (int, float)) and w != 1 else "")
        parts.append(f"{bench_words(lab)}{name}{scale}: {count}, {r.get('backward_per_step', float('nan')):.0f} "
                     f"backward passes, {ratio(st)}"
                     + (f", {mem:.2f}× its peak memory" if isinstance(mem, (int, float)) and np.isfinite(mem) else ""))
    setting = (f"Measured by `python -m benchmarks` (see the {cost}) on {where}: the `{inv.get('profile')}` "
               f"profile's {inv.get('parameters', 0) / 1e6:.2f} M-parameter U-Net with random weights (cost does not "
               f"depend on the weights), batch {inv.get('batch')}"
               + (f", {steps} inversion steps" if steps else "") + ". ")
    text = setting + "; ".join(parts) + "."
    tr = ((inv.get("translation") or {}).get("ovg") or {}).get(clock)
    if "ovg" in have and tr:
        text += (f" A whole translation (*OVG translation / DDIM translation*: inversion with guidance, then plain "
                 f"sampling, {steps} + {steps} steps) takes {tr['median']:.2f}× the {word} of a DDIM translation on the "
                 "same device ({doc}`benchmarks chapter </studies/benchmarks-ihc-sr>`).")
    text += memory_note(method, rows, have)
    return text + "\n"


def _mem(row: dict | None) -> float | None:
    m = (row or {}).get("mem_ratio")
    return float(m) if isinstance(m, (int, float)) and np.isfinite(m) else None


def memory_note(method: str, rows: dict, have: list[str]) -> str:
    """What a page's memory ratio means beside the band that methods holding DDIM's own tensors read in this run.

    The explanation (``same_memory_text``) is given once, on the EDM page; a page whose own ratio lies inside the
    band says so in one sentence that points there; any other page says nothing about the band."""
    keys = [k for k in ("edm", "heun", "taba") if _mem(rows.get(k)) is not None]
    if not keys:
        return ""
    same = [_mem(rows[k]) for k in keys]
    if method == "edm":
        names = [bench_words(k) for k in keys]
        return " " + same_memory_text(same, ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1])
    lo, hi = min(min(same), 1.0), max(max(same), 1.0)
    own = [m for k in have if k != "ddim" and (m := _mem(rows.get(k))) is not None]
    if not own or not all(lo <= m <= hi for m in own):
        return ""
    return (f" That memory ratio lies in the band from {lo:.2f}× to {hi:.2f}× that methods holding DDIM's own tensors "
            "read in this run, so this run does not tell it apart from DDIM's ({doc}`EDM page </methods/edm>` says why).")


# why a peak moves although the tensors held are the same, per device: the measure each device's runs take
_PEAK_MOVES = {
    "cpu": ("the measured peak (the resident memory a call needs above what the process already held) also moves "
            "with how the C allocator reuses freed pages and returns them to the operating system"),
    "gpu": ("the measured peak (`torch.cuda.max_memory_allocated` above what was allocated before the call) also "
            "moves with the order in which tensors are freed and with the block sizes PyTorch's caching allocator "
            "rounds each request up to"),
}


def same_memory_text(same: list[float], names: str = "EDM, Heun and TABA", device: str = "cpu") -> str:
    """The memory band: methods that hold the same tensors as DDIM (true ratio 1) read ``same`` in this run. The
    band is read from those rows themselves, so it is stated as what it is, a description of how far identical
    tensors read in this run (no DDIM-against-DDIM memory repeat is stored to test it against); ``device`` ("cpu" or
    "gpu") picks the words for what the peak measures and why it moves."""
    lo, hi = min(same), max(same)
    why = _PEAK_MOVES["gpu" if str(device).startswith(("gpu", "cuda")) else "cpu"]
    return (f"{names} hold the same tensors as DDIM, so their true memory ratio is 1; in this run they read from "
            f"{lo:.2f}× to {hi:.2f}× DDIM's peak memory, because {why}. That range describes this run's spread for "
            f"identical tensors, read from these rows themselves rather than from a repeated measurement: a memory "
            f"ratio between {min(lo, 1.0):.2f}× and {max(hi, 1.0):.2f}× is not told apart from DDIM's by this run.")


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
