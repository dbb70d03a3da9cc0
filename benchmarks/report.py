"""Tables and sentences for the book chapters, built from a stored benchmark results file (never typed): loading,
devices and clocks, the inversion and metric tables. Each target's verdict on the run that measured it, the runs
stored per CPU, the main command and the smoke profile: ``benchmarks.report_runs``."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from spectral_collapse.pipeline.cost_pages import (bench_name, median_quartiles, percent, quartile_range, row_ref,
                                                    variants_sentence)

from .common import ROOT
from .report_clocks import QUARTILES, clock_of, clock_word, cpu_words, device_name, fmt_iqr, legend, method_row, nobreak
# the cost rows' words and the training tables, re-exported: the chapters read them from here
from .report_cost import ROW_WORDS, beyond_calls_line, calls_note, memory_words, what_list  # noqa: F401
from .report_training import TRAINING_LOOPS, training_clocks_note, training_legend, training_table  # noqa: F401

__all__ = ["load", "latest_gpu", "fmt_ratio", "environment_md", "cost_table", "training_table", "metrics_table",
           "scaling_frame", "latest_full", "floor_variants_table", "device_name", "clock_of", "short_date", "judge",
           "what_list", "calls_per_step_at", "reference_line", "memory_resolution_line", "floor_note",
           "renoise_first_steps", "fmt_iqr", "floor_variants_display", "training_legend", "TRAINING_LOOPS", "shown",
           "nobreak", "bench_name", "variants_sentence", "naive_line", "QUARTILES", "quartile_range", "FLOOR_NAMES",
           "row_ref", "memory_words", "calls_note", "beyond_calls_line", "ROW_WORDS", "training_clocks_note"]

LATEST = ROOT / "benchmarks" / "results" / "latest.json"


def load(path: str | Path | None = None) -> dict | None:
    """The results file (default benchmarks/results/latest.json), or None when nothing was measured yet."""
    p = Path(path) if path else LATEST
    if not p.is_absolute():
        p = ROOT / p
    return json.loads(p.read_text()) if p.exists() else None


def _newest(results_dir, pattern: str) -> dict | None:
    """The results file matching ``pattern`` with the latest recorded date (file times are checkout times)."""
    d = Path(results_dir) if results_dir else LATEST.parent
    runs = [json.loads(f.read_text()) for f in d.glob(pattern)]
    return max(runs, key=lambda r: str(r.get("date", ""))) if runs else None


def latest_full(results_dir: str | Path | None = None) -> dict | None:
    """The newest results file of a ``--full`` run (it holds the N = 2000 PCA measurement), or None."""
    return _newest(results_dir, "*-full.json")


def latest_gpu(results_dir: str | Path | None = None) -> dict | None:
    """The newest results file of a ``--device cuda`` run (inversion and scaling on a GPU), or None."""
    return _newest(results_dir, "*-cuda.json")


def fmt_ratio(st: dict | None, digits: int = 2, unit: str = "") -> str:
    """'2.81× (quartiles 2.75–2.90)' with ``unit`` "×": a ratio statistic as prose states it, its median and its
    quartiles over repeats (``cost_pages.median_quartiles``: the book's one form of a median with quartiles)."""
    return median_quartiles(st, digits, unit)


def short_date(iso) -> str:
    """'2026-11-23' from a recorded ISO timestamp (the day is what a reader needs)."""
    return str(iso or "")[:10]


def environment_md(res: dict, gpu_where: str = "in their own section") -> str:
    """One paragraph: where, when and with what the numbers were taken; ``gpu_where`` says where the page shows the
    runs on a GPU (which a CPU run's paragraph points to)."""
    m, v = res["machine"], res["versions"]
    load = m.get("load_average")
    on_gpu = str(m.get("device", "cpu")).startswith("cuda")
    where = (f"Measured on {device_name(res)} (host CPU {cpu_words(m)}, {m['cpu_count']} cores)" if on_gpu else
             f"Measured on {device_name(res)} ({m['cpu_count']} cores, {m['memory_gb']} GB)")
    dev = ("The inversion ratios of this run are of the GPU's synchronised wall time." if on_gpu else
           "This run used the CPU only; its ratios are of CPU time"
           + (f" (a {m['gpu']} was present and not used)." if m.get("gpu") else ".")
           + f" Runs on a GPU are stored apart and shown {gpu_where}.")
    return (f"{where} on {short_date(res['date'])}; torch {v.get('torch')}, diffusers {v.get('diffusers')}, "
            f"Python {v.get('python')}. Load average at the start "
            f"{', '.join(f'{x:.1f}' for x in load) if load else 'n/a'}. {dev}")


def judge(median: float, goal: str, q25: float | None = None, q75: float | None = None) -> str:
    """Three-way reading of a measurement against a goal "<= x", "< x", ">= x" or "> x": "met" when the median and
    its quartile range lie on the goal's side, "not met" when they lie on the other side, "within noise" when the
    quartile range crosses the goal (a median alone, without quartiles, is met or not met)."""
    op, x = goal.split()
    x = float(x)
    ok = {"<=": lambda v: v <= x, "<": lambda v: v < x, ">=": lambda v: v >= x, ">": lambda v: v > x}[op]
    if q25 is not None and q75 is not None and ok(q25) != ok(q75):
        return "within noise"
    return "met" if ok(median) else "not met"


def _mib_ratio(r: dict):
    return None if r.get("mem_ratio") is None else round(r["mem_ratio"], 2)


def cost_table(res: dict, ratio: str | None = None, studies_steps: int | None = None) -> pd.DataFrame:
    """Per-method cost per inversion step relative to DDIM, in the run's clock (CPU time on a CPU run, wall time on a
    GPU run; ``ratio`` overrides). Network calls are counted at the run's number of steps; ``studies_steps`` adds
    the count at that many steps where it differs, from the method's definition (``calls_per_step_at``). The notes
    on what each row runs are in ``what_list``."""
    inv = res["benchmarks"]["inversion"]
    ratio = ratio or clock_of(res)
    n = inv["steps"]
    rows = []
    for r in inv["rows"]:
        calls, nfe = r["calls_per_step"], r["nfe_per_step"]
        row = {"method": bench_name(r["label"]),
               f"network calls / step ({n} steps)": nobreak(f"{calls:.2f}" + (f" ({nfe:.2f} NFE)" if nfe != calls else ""))}
        if studies_steps and studies_steps != n:
            at = calls_per_step_at(r["label"], studies_steps, inv.get("profile", "quick"))
            row[f"calls / step ({studies_steps} steps)"] = f"{calls:.2f}" if at is None else f"{at:.2f}"
        row.update({"backward / step": f"{r['backward_per_step']:.2f}",
                    f"time / DDIM step ({clock_word(ratio)}), {QUARTILES}": fmt_iqr(r[ratio]),
                    "memory / DDIM": _mib_ratio(r)})
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


def calls_per_step_at(label: str, steps: int, profile: str = "quick") -> float | None:
    """Network calls per inversion step of a benchmark label at ``steps`` steps, from the method's definition; None
    when the count per step does not depend on the number of steps.

    The benchmark counts calls at its own few steps; three methods count differently per step at the studies' 50:
    Heun makes two calls a step but one on the step that starts at sigma = 0 (its correction is skipped there), so
    (2N - 1) / N; TABA replaces its first ``jump_steps(N)`` steps by one forward-diffusion jump with no call, so
    (N - K) / N; ReNoise makes R + 1 calls a step (its first-step R on the steps that end below the authors' time
    250 on the model's schedule) plus one for its KL reference when it regularises."""
    from spectral_collapse.inversion import Heun, default_sigmas
    from spectral_collapse.inversion.methods.renoise import ReNoise
    from spectral_collapse.inversion.methods.taba import TABA

    from .inversion import build_case, make_model

    method, _, _, par = build_case(label)
    if isinstance(method, Heun):
        return (2 * steps - 1) / steps
    if isinstance(method, TABA):
        return (steps - method.jump_steps(steps)) / steps
    if isinstance(method, ReNoise):
        if method.first_step_renoise_steps >= method.renoise_steps:  # the same R on every step
            return None
        D = make_model(profile, par)
        levels = sorted(float(v) for v in default_sigmas(D, steps))
        top, ref = method.first_step_sigma(D), int(method.regularization_steps > 0)
        return sum((method.first_step_renoise_steps if nxt < top else method.renoise_steps) + 1 + ref
                   for nxt in levels[1:]) / steps
    return None


def renoise_first_steps(label: str, steps: int, profile: str = "quick") -> int | None:
    """How many of ``steps`` inversion steps of a ReNoise benchmark label end below the authors' time 250 on the
    model's schedule, and so run the first-step R (fewer re-evaluations); None for a label that is not ReNoise with a
    first-step R of its own."""
    from spectral_collapse.inversion import default_sigmas
    from spectral_collapse.inversion.methods.renoise import ReNoise

    from .inversion import build_case, make_model

    method, _, _, par = build_case(label)
    if not isinstance(method, ReNoise) or method.first_step_renoise_steps >= method.renoise_steps:
        return None
    D = make_model(profile, par)
    levels = sorted(float(v) for v in default_sigmas(D, steps))
    top = method.first_step_sigma(D)
    return sum(nxt < top for nxt in levels[1:])


def reference_line(res: dict) -> str:
    """What a ratio of 1 is: the DDIM step timed just before each repeat, and the ``ddim`` row, the same DDIM
    timed against it, which shows how far this run reads identical work from 1."""
    inv = res["benchmarks"]["inversion"]
    clock = clock_of(res)
    row = method_row(inv, "ddim")
    text = (f"Every ratio divides a method's time by that of a DDIM inversion of the same batch on the same model, "
            f"timed just before it in each of the {inv['repeats']} paired repeats ({clock_word(clock)}, "
            f"{device_name(res)}).")
    if row is not None:
        st = row[clock]
        text += (f" The DDIM row is DDIM timed against that reference: {fmt_ratio(st)}, not exactly 1: the same work, "
                 "timed second in each pair, reads that far from it (order, caches, memory allocation). A "
                 "difference of that size between two rows is not resolved by this run.")
    return text


_SAME_STATE = ("edm", "heun", "taba")  # keep the same tensors as DDIM: their memory ratio would be 1 if exact


def memory_resolution_line(res: dict) -> str:
    """How finely the memory ratios resolve: the spread of the ratio over the methods that keep the same tensors
    as DDIM (``_SAME_STATE``), whose true ratio is 1."""
    inv = res["benchmarks"]["inversion"]
    vals = [r["mem_ratio"] for r in inv["rows"] if r["label"] in _SAME_STATE and r.get("mem_ratio") is not None]
    ddim = method_row(inv, "ddim") or {}
    if not vals:
        return ""
    from spectral_collapse.pipeline.cost_pages import same_memory_text

    return (f"DDIM's own peak is {ddim.get('peak_mb', float('nan')):.0f} MiB. "
            + same_memory_text(vals, names=", ".join(row_ref(k) for k in _SAME_STATE[:-1])
                               + f" and {row_ref(_SAME_STATE[-1])}",
                               device="gpu" if str((res.get("machine") or {}).get("device", "cpu")).startswith("cuda")
                               or inv.get("clock") == "ratio_wall" else "cpu"))


def naive_line(res: dict) -> str:
    """The released code's way of computing an OVG step against the library's, on the run's device and in its clock:
    both as multiples of a DDIM step, and the saving of sharing the base step's forward stated against its base (the
    released code's step) and its device; the whole translations' ratio where the run timed both. '' without both
    rows."""
    inv = res["benchmarks"]["inversion"]
    clock = clock_of(res)
    naive, ovg = method_row(inv, "ovg_naive"), method_row(inv, "ovg")
    if naive is None or ovg is None:
        return ""
    a, b = naive[clock]["median"], ovg[clock]["median"]
    tr = inv.get("translation") or {}
    whole = [((tr.get(k) or {}).get(clock) or {}).get("median") for k in ("ovg_naive", "ovg")]
    return (f"{row_ref('ovg_naive')} (an extra forward with graph, gradients for the network's weights, two "
            f"backward calls) takes {a:.2f}× a DDIM step against {b:.2f}× for the library's OVG, in "
            f"{clock_word(clock)} on {device_name(res)}: sharing the base step's forward makes the library's OVG step "
            f"{percent(1 - b / a)} cheaper than the released code's step on that device"
            + (f" (a whole translation {percent(1 - whole[1] / whole[0])} cheaper than the released code's)"
               if all(whole) else "") + ".")


def floor_note(res: dict) -> str:
    """A note when the OVG step reads below its floor (which it contains): the floor, timed as its own loop, is then
    no lower bound on this device, and the ratio is not an overhead. "" otherwise."""
    inv = res["benchmarks"].get("inversion") or {}
    t = inv.get("targets") or {}
    if not t.get("ovg_over_floor") or t["ovg_over_floor"] >= 1:
        return ""
    clock = clock_of(res)
    fl, ovg = inv["floor"][clock], (method_row(inv, "ovg") or {}).get(clock, {})
    return (f"On {device_name(res)} the OVG step reads {t['ovg_over_floor']:.2f}× its floor although it contains that "
            f"work: the floor, timed as its own loop, took {fmt_ratio(fl, unit='×')} a DDIM step (range "
            f"{quartile_range(fl.get('min', float('nan')), fl.get('max', float('nan')))} over {fl.get('n', '?')} "
            f"repeats) against {fmt_ratio(ovg, unit='×')} for the OVG step. A step of this small model on a GPU is bound by kernel "
            "launches and synchronisation rather than arithmetic, so the floor is no lower bound there; the ratio is "
            "flagged, not read as OVG's overhead.")


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame as a chapter displays it: the index's name moved to the columns' name, so the HTML table carries
    it in the header row's first cell instead of a second, otherwise empty, header row."""
    return frame.rename_axis(index=None, columns=frame.index.name)


def floor_variants_display(t: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """``floor_variants_table`` with each variant named short ("default", "standard layout", ...), and the
    legend sentence saying what each changes."""
    def split(v: str) -> tuple[str, str]:
        if ": " in v:
            return tuple(v.split(": ", 1))
        if " (" in v and v.endswith(")"):
            return tuple(v[:-1].split(" (", 1))
        return v, ""

    pairs = [split(str(v)) for v in t.index]
    shown = t.set_axis(pd.Index([a for a, _ in pairs], name=t.index.name), axis=0)
    return shown, (legend(pairs) + " " + FLOOR_COLUMNS).strip()


# why a floor variant's columns do not multiply out (``inversion.run_floor_variants`` times each pair on its own)
FLOOR_COLUMNS = ("Each column is timed on its own, as the median of its own paired repeats (the variant's floor "
                 "against its own DDIM step; its DDIM step against the default one; its floor against the default "
                 "DDIM step), so the third column is not the product of the first two: the gap between that product "
                 "and the third column is the spread between separate timings.")


def gpu_vjp_line(gpu: dict, cpu: dict | None = None) -> str:
    """The choice between one batched VJP call and two separate ones on a GPU run, against the library default
    (one setting for every device): the paired wall-time ratio batched / separate with its quartiles, which of the
    two is faster beyond them (or neither), and the CPU run's answer when ``cpu`` is given. '' without the ratio."""
    v = ((gpu.get("benchmarks") or {}).get("inversion") or {}).get("vjp") or {}
    st = v.get("batched_over_separate_wall")
    if not st or v.get("default") is None:
        return ""
    q25, q75 = st.get("q25", st["median"]), st.get("q75", st["median"])
    reading = ("batched is faster" if q75 < 1 else "separate is faster" if q25 > 1 else
               "neither is faster beyond the spread of the repeats")
    cv = (((cpu or {}).get("benchmarks") or {}).get("inversion") or {}).get("vjp") or {}
    on_cpu = (f", the faster on {device_name(cpu)} (section *Inversion and translation*)"
              if cv.get("faster") == v["default"] else "")
    return (f"Batched over separate VJPs on {device_name(gpu)}: {fmt_ratio(st, unit='×')} in wall time, paired in the "
            f"same repeats, so {reading} here (the method table's rows {row_ref('ovg_batched')} and "
            f"{row_ref('ovg_separate')} are timed in separate loops and are not this paired comparison). The "
            f"library default, `vjp=\"{v['default']}\"`, is "
            f"one setting for every device{on_cpu}; `OVG(vjp=\"batched\")` selects the other.")


def metrics_table(res: dict) -> pd.DataFrame:
    """Seconds per metric evaluation, and each as a multiple of a reference computation timed in the same run (a
    float64 1024 x 1024 matrix product), which carries the figures from this machine to another."""
    m = res["benchmarks"]["metrics"]
    rows = []
    for k, label in (("s_g", "S_G"), ("s_dc", "S_DC (threshold τ cached)"), ("pca", "PCA")):
        r = m["latent"][k]
        rows.append((f"{label}, {m['latent']['n']:,} latents of 4 × 32 × 32", r["cpu_s"]["median"],
                     r["wall_s"]["median"]))
    rows.append(("S_DC threshold τ, first call (cold)", m["latent"]["tau_cold_cpu_s"], m["latent"]["tau_cold_wall_s"]))
    p = m["pca_pixel"]
    rows.append((f"PCA {p['n']:,} × {p['d']:,} (measured)", p["measured"]["cpu_s"]["median"],
                 p["measured"]["wall_s"]["median"]))
    i = m["image"]
    for k, label in (("s_hf", "S_HF"), ("s_lf", "S_LF")):
        rows.append((f"{label}, {i['n']:,} images of {i['size']} × {i['size']}", i[k]["cpu_s"]["median"],
                     i[k]["wall_s"]["median"]))
    rows.append(("μ_HF of an image set, first call", i["mu_hf_cold_cpu_s"], None))
    rows.append(("μ_HF of the same set, from the cache", i["mu_hf_warm_cpu_s"], None))
    df = pd.DataFrame(rows, columns=["metric", "CPU s", "wall s"]).set_index("metric")
    df["wall s"] = df["wall s"].astype(float)
    df["× reference matrix product (CPU)"] = df["CPU s"] / m["ref_s"]
    return df.round(3)


def scaling_frame(res: dict) -> pd.DataFrame:
    s = res["benchmarks"]["scaling"]
    rows = []
    for sweep in ("resolution", "batch"):
        for r in s[sweep]:
            rows.append({"sweep": sweep, "method": r["method"], "size": r["size"], "batch": r["batch"],
                         "pixels": r["pixels"], "x": r["pixels"] if sweep == "resolution" else r["batch"],
                         "cpu_s": r["cpu_s"]["median"], "ratio_cpu": r["ratio_cpu"]["median"],
                         "wall_s": r["wall_s"]["median"]})
    return pd.DataFrame(rows)


# the floor variants' keys (``inversion.FLOOR_VARIANTS``) as a reader reads them
FLOOR_NAMES = {"standard_layout": "standard layout", "input_grad_conv": "input gradient as a convolution"}


def floor_variants_table(res: dict) -> pd.DataFrame:
    """One row per floor variant: its floor over its own DDIM step, and DDIM / floor over the default DDIM step."""
    fv = res["benchmarks"]["inversion"].get("floor_variants") or {}
    default = res["benchmarks"]["inversion"]["floor"]["ratio_cpu"]["median"]
    rows = [("default (channels-last batches, autograd's convolution backward)", default, 1.0, default)]
    rows += [(f"{FLOOR_NAMES.get(k, k.replace('_', ' '))}: {v['what']}", v["floor_over_own_ddim"],
              v["ddim_over_default_ddim"], v["floor_over_default_ddim"]) for k, v in fv.items()]
    return pd.DataFrame(rows, columns=["variant", "floor / own DDIM step", "DDIM step / default DDIM step",
                                       "floor / default DDIM step"]).set_index("variant").round(2)

