"""Tables and sentences for the book chapters, built from a stored benchmark results file (never typed)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from spectral_collapse.text import counted, plural

from .common import ROOT

__all__ = ["load", "latest_gpu", "fmt_ratio", "environment_md", "cost_table", "targets_table", "training_table", "metrics_table",
           "scaling_frame", "main_command_table", "latest_full", "floor_variants_table", "side_by_side_line",
           "machine_runs", "machines_table", "machines_summary", "main_command_elsewhere", "load_smoke", "smoke_table",
           "smoke_line", "SMOKE_TARGET_S", "verdict", "device_name", "clock_of", "short_date", "judge", "what_list",
           "calls_per_step_at", "reference_line", "memory_resolution_line", "floor_note", "shipped_training_table",
           "soak_line", "model_name", "renoise_first_steps", "fmt_iqr", "targets_display", "floor_variants_display",
           "training_legend", "TRAINING_LOOPS", "machines_display", "shown", "nobreak"]

SMOKE_TARGET_S = 60  # a smoke study (models it trains included): about a minute or less on 2 cores

LATEST = ROOT / "benchmarks" / "results" / "latest.json"


def _method_row(inv: dict, label: str) -> dict | None:
    """The inversion benchmark's row of one method (e.g. "ddim", timed against itself), or None."""
    return next((r for r in inv.get("rows", []) if r["label"] == label), None)


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


def fmt_ratio(st: dict | None, digits: int = 2) -> str:
    """'2.81 [2.75-2.90]': median and quartiles of a ratio statistic."""
    if not st or st.get("median") is None:
        return "n/a"
    m, a, b = st["median"], st.get("q25"), st.get("q75")
    if a is None or b is None or st.get("n", 1) < 2:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} [{a:.{digits}f}-{b:.{digits}f}]"


def nobreak(text: str) -> str:
    """``text`` that a table cell keeps on one line: no-break spaces and non-breaking hyphens."""
    return str(text).replace(" ", "\u00a0").replace("-", "\u2011")


def fmt_iqr(st: dict | None, digits: int = 2) -> str:
    """'2.81 (2.75-2.90)': a ratio statistic as the tables print it, median then quartiles, on one line."""
    return nobreak(fmt_ratio(st, digits).replace(" [", " (").replace("]", ")"))


def short_date(iso) -> str:
    """'2026-11-23' from a recorded ISO timestamp (the day is what a reader needs)."""
    return str(iso or "")[:10]


def _cpu_words(machine: dict) -> str:
    """The CPU's model name without trademark marks ("Intel(R) Xeon(R) Processor" -> "Intel Xeon")."""
    words = str(machine.get("cpu", "")).replace("(R)", "").replace("(TM)", "").split()
    return " ".join(w for w in words if w not in ("Processor", "CPU")) or "unnamed"


def device_name(res: dict) -> str:
    """Where a run's inversion ratios were measured, in words: "one NVIDIA H100 80GB HBM3" on a GPU run,
    "1 thread of an Intel Xeon CPU" on a CPU run."""
    m = res.get("machine") or {}
    if str(m.get("device", "cpu")).startswith("cuda"):
        return f"one {m.get('gpu') or 'GPU'}"
    n = m.get("torch_threads")
    cpu = _cpu_words(m)
    art = "an" if cpu[:1].lower() in "aeiou" else "a"
    return f"{n} thread{'s' if n and n > 1 else ''} of {art} {cpu} CPU" if n else f"{art} {cpu} CPU"


def clock_of(res: dict) -> str:
    """The ratio a run is read by: "ratio_wall" on a GPU (synchronised wall time), "ratio_cpu" on a CPU."""
    inv = (res.get("benchmarks") or {}).get("inversion") or {}
    if inv.get("clock"):
        return inv["clock"]
    return "ratio_wall" if str((res.get("machine") or {}).get("device", "cpu")).startswith("cuda") else "ratio_cpu"


def _clock_word(clock: str) -> str:
    return "wall time" if clock == "ratio_wall" else "CPU time"


def environment_md(res: dict) -> str:
    """One paragraph: where, when and with what the numbers were taken."""
    m, v = res["machine"], res["versions"]
    load = m.get("load_average")
    on_gpu = str(m.get("device", "cpu")).startswith("cuda")
    where = (f"Measured on {device_name(res)} (host CPU {_cpu_words(m)}, {m['cpu_count']} cores)" if on_gpu else
             f"Measured on {device_name(res)} ({m['cpu_count']} cores, {m['memory_gb']} GB)")
    dev = ("The inversion ratios of this run are of the GPU's synchronised wall time." if on_gpu else
           "This run used the CPU only; its ratios are of CPU time"
           + (f" (a {m['gpu']} was present and not used)." if m.get("gpu") else ".")
           + " Runs on a GPU are stored apart and shown in their own section.")
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


def _quartiles(st: dict | None) -> tuple[float | None, float | None]:
    if not st or st.get("n", 1) < 2:
        return None, None
    return st.get("q25"), st.get("q75")


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
        row = {"method": r["label"],
               f"network calls / step ({n} steps)": nobreak(f"{calls:.2f}" + (f" ({nfe:.2f} NFE)" if nfe != calls else ""))}
        if studies_steps and studies_steps != n:
            at = calls_per_step_at(r["label"], studies_steps, inv.get("profile", "quick"))
            row[f"calls / step ({studies_steps} steps)"] = f"{calls:.2f}" if at is None else f"{at:.2f}"
        row.update({"backward / step": round(r["backward_per_step"], 2),
                    f"time / DDIM step ({_clock_word(ratio)})": fmt_iqr(r[ratio]),
                    "memory / DDIM": _mib_ratio(r)})
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


def what_list(res: dict) -> str:
    """Markdown bullets: what each row of the cost table runs (the benchmark's description of its label,
    ``inversion.LABELS``, else the note recorded with the run) and its guidance scale."""
    from .inversion import LABELS

    inv = res["benchmarks"]["inversion"]
    out = []
    for r in inv["rows"]:
        note = LABELS.get(r["label"], r.get("note", ""))
        w = r.get("cfg_scale", 1)
        out.append(f"- `{r['label']}`: {note}" + (f" (guidance w = {w:g})" if w != 1 and "w =" not in note else ""))
    return "\n".join(out)


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
    row = _method_row(inv, "ddim")
    text = (f"Every ratio divides a method's time by that of a DDIM inversion of the same batch on the same model, "
            f"timed just before it in each of the {inv['repeats']} paired repeats ({_clock_word(clock)}, "
            f"{device_name(res)}).")
    if row is not None:
        st = row[clock]
        text += (f" The `ddim` row is DDIM timed against that reference: {fmt_ratio(st)}, not exactly 1: the same work, "
                 "timed second in each pair, reads that far from it (order, caches, memory allocation). A "
                 "difference of that size between two rows is not resolved by this run.")
    return text


_SAME_STATE = ("edm", "heun", "taba")  # keep the same tensors as DDIM: their memory ratio would be 1 if exact


def memory_resolution_line(res: dict) -> str:
    """How finely the memory ratios resolve: the spread of the ratio over the methods that keep the same tensors
    as DDIM (``_SAME_STATE``), whose true ratio is 1."""
    inv = res["benchmarks"]["inversion"]
    vals = [r["mem_ratio"] for r in inv["rows"] if r["label"] in _SAME_STATE and r.get("mem_ratio") is not None]
    ddim = _method_row(inv, "ddim") or {}
    if not vals:
        return ""
    return (f"Methods that keep the same tensors as DDIM ({', '.join(_SAME_STATE)}) read {min(vals):.2f}-"
            f"{max(vals):.2f}x DDIM's peak memory, whose own peak is {ddim.get('peak_mb', float('nan')):.0f} MiB: "
            "memory ratios within that range of 1 do not differ from DDIM's in this measurement.")


def floor_note(res: dict) -> str:
    """A note when the OVG step reads below its floor (which it contains): the floor, timed as its own loop, is then
    no lower bound on this device, and the ratio is not an overhead. "" otherwise."""
    inv = res["benchmarks"].get("inversion") or {}
    t = inv.get("targets") or {}
    if not t.get("ovg_over_floor") or t["ovg_over_floor"] >= 1:
        return ""
    clock = clock_of(res)
    fl, ovg = inv["floor"][clock], (_method_row(inv, "ovg") or {}).get(clock, {})
    return (f"On {device_name(res)} the OVG step reads {t['ovg_over_floor']:.2f}x its floor although it contains that "
            f"work: the floor, timed as its own loop, took {fmt_ratio(fl)}x a DDIM step (range "
            f"{fl.get('min', float('nan')):.2f}-{fl.get('max', float('nan')):.2f} over {fl.get('n', '?')} repeats) "
            f"against {fmt_ratio(ovg)}x for the OVG step. A step of this small model on a GPU is bound by kernel "
            "launches and synchronisation rather than arithmetic, so the floor is no lower bound there; the ratio is "
            "flagged, not read as OVG's overhead.")


def targets_table(res: dict, full: dict | None = None) -> pd.DataFrame:
    """Every benchmark target with the measured value, its quartiles where the run has repeats, and a three-way
    verdict (``judge``: met, not met, within noise; "—" for the reference rows, which have no goal). Absent
    benchmarks are skipped. Ratios are in the run's clock (``clock_of``). One row per target: a ``--full`` run
    (``full``, latest_full) measures the large metric targets at full size and replaces the default run's
    extrapolations of them."""
    b = res["benchmarks"]
    rows = []

    def add(name, goal, st, judged=True, short=None):
        q25, q75 = _quartiles(st) if isinstance(st, dict) else (None, None)
        med = st.get("median") if isinstance(st, dict) else st
        verdict = judge(float(med), goal, q25, q75) if judged and med is not None else "—"
        rows.append((name, goal, None if med is None else round(float(med), 2),
                     "" if q25 is None else f"{q25:.2f}-{q75:.2f}", verdict, short or name))

    if "inversion" in b:
        inv = b["inversion"]
        clock = clock_of(res)
        t = inv["targets"]
        ovg = _method_row(inv, "ovg")
        add("OVG inversion step / DDIM step", "<= 3", ovg[clock] if ovg else t["ovg_step"], short="OVG / DDIM step")
        self_row = _method_row(inv, "ddim")
        if self_row is not None:  # DDIM timed against itself: how far a ratio of 1 reads from 1 in this run
            add("DDIM step / DDIM step (the reference timed against itself)", "(1 if exact)", self_row[clock], False,
                "DDIM / DDIM step")
        if "floor" in t:
            add("floor: forward with graph + 2 VJPs / DDIM step", "(reference)", inv["floor"].get(clock, t["floor"]),
                False, "floor / DDIM step")
            add("OVG inversion step / floor", "(overhead)" if t["ovg_over_floor"] >= 1 else "(below 1: see note)",
                t["ovg_over_floor"], False, "OVG step / floor")
        tr = (inv.get("translation") or {}).get("ovg", {}).get(clock)
        add("OVG translation / DDIM translation", "<= 2", tr if tr else t["ovg_translation"],
            short="OVG / DDIM translation")
    if "training" in b:
        t = b["training"]
        st = (t.get("ours") or {}).get("throughput_ratio_cpu") or t["target"]["ratio"]
        add("trainer throughput / bare loop (CPU time)", ">= 0.95", st, short="trainer / bare loop")
    fm = (full or {}).get("benchmarks", {}).get("metrics")
    if fm is b.get("metrics"):
        fm = None
    if "metrics" in b:
        m = b["metrics"]
        add("S_G + S_DC + PCA, 2000 x 4x32x32 (s)", "< 2", m["latent"]["total_warm_wall_s"], short="latent metrics (s)")
        if fm is None:
            p, i = m["pca_pixel"], m["image"]
            add(f"PCA 2000 x {p['d']} (s{', extrapolated' if p['extrapolated_to_2000'] else ''})", "< 60",
                p["wall_s_2000"], short="pixel PCA (s)")
            add(f"S_HF + S_LF, 1000 x 256^2 (s{', extrapolated' if i['extrapolated_to_1000'] else ''})", "< 10",
                i["total_wall_s_1000"], short="S_HF + S_LF (s)")
    if fm is not None:
        day = f"{short_date(full.get('date'))}, {_cpu_words(full.get('machine') or {})}"
        p, i = fm["pca_pixel"], fm["image"]
        add(f"PCA 2000 x {p['d']} (s, full run {day})", "< 60", p["wall_s_2000"], short="pixel PCA (s)")
        add(f"S_HF + S_LF, 1000 x 256^2 (s, full run {day})", "< 10", i["total_wall_s_1000"], short="S_HF + S_LF (s)")
    df = pd.DataFrame(rows, columns=["target", "goal", "measured", "quartiles", "verdict", "row"])
    return df.set_index("target")


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame as a chapter displays it: the index's name moved to the columns' name, so the HTML table carries
    it in the header row's first cell instead of a second, otherwise empty, header row."""
    return frame.rename_axis(index=None, columns=frame.index.name)


def _legend(pairs) -> str:
    """'Rows: *a*: what a is; *b*: ...' for (short label, long label) pairs whose labels differ."""
    parts = [f"*{a}*: {b}" for a, b in pairs if b and b != a]
    return ("Rows: " + "; ".join(parts) + ".") if parts else ""


def targets_display(t: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """``targets_table`` as the chapter shows it, narrow enough for the text column: short row labels, the
    median and its quartiles in one cell ("3.37 (3.34-3.37)"); with the legend sentence naming each row in full."""
    measured = [nobreak(("" if pd.isna(m) else f"{m:.2f}") + (f" ({q})" if q else ""))
                for m, q in zip(t["measured"], t["quartiles"])]
    shown = pd.DataFrame({"goal": t["goal"].to_numpy(), "measured (quartiles)": measured,
                          "verdict": t["verdict"].to_numpy()}, index=pd.Index(t["row"].to_numpy(), name="target"))
    return shown, _legend(zip(t["row"], t.index))


def floor_variants_display(t: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """``floor_variants_table`` with each variant named by its key ("default", "standard_layout", ...), and the
    legend sentence saying what each changes."""
    def split(v: str) -> tuple[str, str]:
        if ": " in v:
            return tuple(v.split(": ", 1))
        if " (" in v and v.endswith(")"):
            return tuple(v[:-1].split(" (", 1))
        return v, ""

    pairs = [split(str(v)) for v in t.index]
    shown = t.set_axis(pd.Index([a for a, _ in pairs], name=t.index.name), axis=0)
    return shown, _legend(pairs)


# the training benchmark's loops: (row label, what the loop runs)
TRAINING_LOOPS = {"ours": ("our trainer", "Accelerate, EMA, clipping, schedule, label dropout"),
                  "bare_ema": ("bare + EMA", "the bare loop with the EMA update only")}


def training_legend() -> str:
    """What each row of ``training_table`` runs."""
    return _legend(TRAINING_LOOPS.values())


def training_table(res: dict) -> pd.DataFrame:
    t = res["benchmarks"]["training"]
    rows = []
    for name, what in TRAINING_LOOPS.items():
        r = t[name]
        rows.append({"loop": what[0], "throughput vs bare (CPU)": fmt_iqr(r["throughput_ratio_cpu"], 3),
                     "throughput vs bare (wall)": fmt_iqr(r["throughput_ratio_wall"], 3),
                     "images / s (wall)": round(r["images_per_s_wall"], 1),
                     "bare images / s (wall)": round(r["bare_images_per_s_wall"], 1)})
    return pd.DataFrame(rows).set_index("loop")


def metrics_table(res: dict) -> pd.DataFrame:
    """Seconds per metric evaluation, and each as a multiple of a reference computation timed in the same run (a
    float64 1024 x 1024 matrix product), which carries the figures from this machine to another."""
    m = res["benchmarks"]["metrics"]
    rows = []
    for k, label in (("s_g", "S_G"), ("s_dc", "S_DC (tau cached)"), ("pca", "PCA")):
        r = m["latent"][k]
        rows.append((f"{label}, {m['latent']['n']} latents 4x32x32", r["cpu_s"]["median"], r["wall_s"]["median"]))
    rows.append(("S_DC threshold tau, first call (cold)", m["latent"]["tau_cold_cpu_s"], m["latent"]["tau_cold_wall_s"]))
    p = m["pca_pixel"]
    rows.append((f"PCA {p['n']} x {p['d']} (measured)", p["measured"]["cpu_s"]["median"], p["measured"]["wall_s"]["median"]))
    i = m["image"]
    for k, label in (("s_hf", "S_HF"), ("s_lf", "S_LF")):
        rows.append((f"{label}, {i['n']} images {i['size']}x{i['size']}", i[k]["cpu_s"]["median"], i[k]["wall_s"]["median"]))
    rows.append(("μ_HF of an image set, first call", i["mu_hf_cold_cpu_s"], None))
    rows.append(("μ_HF of the same set, from the cache", i["mu_hf_warm_cpu_s"], None))
    df = pd.DataFrame(rows, columns=["metric", "CPU s", "wall s"]).set_index("metric")
    df["wall s"] = df["wall s"].astype(float)
    df["x reference matrix product (CPU)"] = df["CPU s"] / m["ref_s"]
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


def model_name(folder: str) -> str:
    """A checkpoint folder's model name without its configuration hash ("ihc-sr-x4-eps-quick-7e26214ebd7e" ->
    "ihc-sr-x4-eps-quick")."""
    stem, _, tail = str(folder).rpartition("-")
    return stem if stem and len(tail) == 12 and all(c in "0123456789abcdef" for c in tail) else str(folder)


def main_command_table(mc: dict | None, checkpoints: dict) -> pd.DataFrame:
    """Breakdown rows (seconds, minutes): the recorded from-scratch main command by part (install, training of all
    its models, its study chapters, book build, total) if a record exists, else the training times of the
    checkpoints present (``checkpoints``, benchmarks.main_command.checkpoint_times)."""
    rows = []
    if mc:
        train, studies = mc.get("train_s") or {}, mc.get("studies_s") or {}
        rows.append(("install", mc.get("install_s")))
        if studies:
            rows.append((f"studies, {len(studies)} chapters (sum of their times; two ran at a time)",
                         sum(studies.values())))
        if train:
            rows.append((f"of which training, {len(train)} models (each inside the study that first needed it)",
                         sum(train.values())))
        rows.append(("book build", mc.get("book_s")))
        rows.append(("total", mc["total_s"]))
    else:
        for k, v in checkpoints.items():
            if v.get("seconds") is not None:
                part = "checkpoint log" if v.get("seconds_complete") else "checkpoint log, its last run only"
                rows.append((f"train {k} ({part})", v["seconds"]))
    df = pd.DataFrame(rows, columns=["part", "seconds"])
    df["seconds"] = df["seconds"].astype(float)
    df["minutes"] = df["seconds"] / 60
    return df.set_index("part").round(1)


def shipped_training_table(checkpoints: dict, devices: dict | None = None) -> pd.DataFrame:
    """One row per shipped model (``checkpoints``: checkpoint_times of data/weights): its training steps, where it
    trained (``devices``: folder -> the device its log.json names) and its training time from its own log, labelled
    by what the log records: every run the model took ("all runs"), or only the run that finished it ("last run
    only": a log written before the total was recorded; a resumed training took longer)."""
    devices = devices or {}
    rows = []
    for folder, v in sorted(checkpoints.items()):
        if v.get("seconds") is None:
            continue
        rows.append({"model": model_name(folder), "steps": v.get("steps"), "trained on": counted(devices.get(folder, "")),
                     "hours": round(v["seconds"] / 3600, 2),
                     "what the log records": "all runs" if v.get("seconds_complete") else "last run only"})
    cols = ["model", "steps", "trained on", "hours", "what the log records"]
    df = pd.DataFrame(rows, columns=cols)
    df["steps"] = df["steps"].astype("Int64")
    return df.set_index("model")


def soak_line(soak: dict | None) -> str:
    """One sentence from a soak record (every study of a profile run twice back to back): whether the results were
    identical in both rounds and memory stayed within its bound. "" without a record."""
    if not soak:
        return ""
    yes = lambda v: "yes" if v else "no"  # noqa: E731
    n = len(soak["rounds"][0].get("studies") or []) if soak.get("rounds") else None
    return (f"Every study of the {soak.get('profile', '?')} profile was run twice back to back "
            f"({short_date(soak.get('date'))}" + (f", {n} study and dataset pairs per round" if n else "") + "). "
            f"Results identical in both rounds: {yes(soak.get('identical'))}. Peak memory of each study in the second "
            f"round within its bound: {yes(soak.get('within_bound'))}.")


def floor_variants_table(res: dict) -> pd.DataFrame:
    """One row per floor variant: its floor over its own DDIM step, and DDIM / floor over the default DDIM step."""
    fv = res["benchmarks"]["inversion"].get("floor_variants") or {}
    default = res["benchmarks"]["inversion"]["floor"]["ratio_cpu"]["median"]
    rows = [("default (channels-last batches, autograd's convolution backward)", default, 1.0, default)]
    rows += [(f"{k}: {v['what']}", v["floor_over_own_ddim"], v["ddim_over_default_ddim"], v["floor_over_default_ddim"])
             for k, v in fv.items()]
    return pd.DataFrame(rows, columns=["variant", "floor / own DDIM step", "DDIM step / default DDIM step",
                                       "floor / default DDIM step"]).set_index("variant").round(2)


def machine_runs(results_dir: str | Path | None = None) -> list[dict]:
    """Every stored default-mode CPU run (``<machine>-<date>.json``; not latest.json, --full, --smoke or cuda files),
    oldest first: the same benchmarks on each CPU the project has been measured on."""
    d = Path(results_dir) if results_dir else LATEST.parent
    runs = []
    for f in sorted(d.glob("*.json")):
        if f.name == "latest.json":  # a copy of the newest run
            continue
        r = json.loads(f.read_text())
        m = r.get("machine")
        if r.get("mode") == "default" and isinstance(m, dict) and m.get("device", "cpu") == "cpu" and "benchmarks" in r:
            runs.append({**r, "file": f.name})
    return sorted(runs, key=lambda r: str(r.get("date", "")))


def machines_table(results_dir: str | Path | None = None) -> pd.DataFrame:
    """One row per stored default CPU run: the CPU, its absolute DDIM step time, and the target ratios measured on
    it (OVG step, the floor, OVG translation, trainer). The ratio targets are properties of a CPU, not of the code:
    the same code can meet them on one machine and miss them on another."""
    rows = []
    for r in machine_runs(results_dir):
        b, m = r["benchmarks"], r["machine"]
        inv, tr = b.get("inversion", {}), b.get("training", {})
        t = inv.get("targets", {})
        ddim = _method_row(inv, "ddim")
        rows.append({
            "date": str(r.get("date", ""))[:16].replace("T", " "), "file": r["file"], "cpu": m.get("cpu"),
            "batch": inv.get("batch"),
            "DDIM step (ms, CPU)": None if ddim is None else round(1e3 * ddim["base_cpu_s"]["median"], 1),
            "OVG step / DDIM": t.get("ovg_step"), "floor / DDIM": t.get("floor"),
            "OVG translation / DDIM": t.get("ovg_translation"),
            "trainer / bare loop": tr.get("target", {}).get("ratio"),
            "bare images / s": tr.get("ours", {}).get("bare_images_per_s_wall")})
    df = pd.DataFrame(rows, columns=["date", "file", "cpu", "batch", "DDIM step (ms, CPU)", "OVG step / DDIM",
                                     "floor / DDIM", "OVG translation / DDIM", "trainer / bare loop",
                                     "bare images / s"])
    num = ["OVG step / DDIM", "floor / DDIM", "OVG translation / DDIM", "trainer / bare loop", "bare images / s"]
    df[num] = df[num].astype(float).round(2)
    return df.set_index("date")


def machines_display(mt: pd.DataFrame) -> pd.DataFrame:
    """``machines_table`` as the chapter shows it, narrow enough for the text column: no file column (the date
    names the run), the CPU in words ("Intel Xeon"), and a batch size shared by every run folded into the DDIM
    column's name."""
    shown = mt.drop(columns=["file"]).assign(cpu=[_cpu_words({"cpu": c}) for c in mt["cpu"]])
    batches = shown["batch"].dropna().unique()
    if len(batches) == 1:
        shown = shown.drop(columns=["batch"]).rename(
            columns={"DDIM step (ms, CPU)": f"DDIM step (ms, CPU, batch {int(batches[0])})"})
    return shown


def machines_summary(mt: pd.DataFrame) -> str:
    """One markdown line per CPU of ``machines_table``: runs, ranges of the OVG ratios, median DDIM step time."""
    def span(col: pd.Series) -> str:
        return f"{col.min():.2f}-{col.max():.2f}x"

    lines = []
    for cpu, g in mt.groupby("cpu"):
        floor = g["floor / DDIM"]
        lines.append(
            f"- {cpu}: {plural(len(g), 'run')}; OVG step {span(g['OVG step / DDIM'])} DDIM, "
            + (f"floor {span(floor)}, " if floor.notna().any() else "")
            + f"OVG translation {span(g['OVG translation / DDIM'])}, "
            f"DDIM step {g['DDIM step (ms, CPU)'].median():.0f} ms (median over runs).")
    return "\n".join(lines)


def measured_elsewhere(mc: dict | None) -> dict[str, dict]:
    """The record's from-scratch runs on other CPUs (``measured_elsewhere``), the last listed per CPU."""
    cpu = (mc or {}).get("cpu")
    return {m["cpu"]: m for m in (mc or {}).get("measured_elsewhere") or [] if m.get("cpu") != cpu and m.get("wall_s")}


def main_command_elsewhere(mc: dict | None, results_dir: str | Path | None = None) -> list[str]:
    """Sentences extrapolating the recorded from-scratch main command to every other CPU with stored runs.

    The record (``main_command.json``) names the CPU it was measured on (``cpu``). For each other CPU, its median
    bare-loop training throughput and DDIM step time over its stored runs are compared with the record CPU's; the
    recorded wall time (``from_scratch.wall_s``) is scaled by the two ratios (training by the first, studies by the
    second), which gives a range, not a measurement. A CPU with a from-scratch run of its own in the record
    (``measured_elsewhere``: cpu, wall_s, date, what differed) gets that measurement instead. Empty when the record
    names no CPU or no other CPU has runs or measurements."""
    rec = (mc or {}).get("from_scratch") or {}
    cpu, total = (mc or {}).get("cpu"), rec.get("wall_s")
    measured = measured_elsewhere(mc)
    out = [f"On {c} the main command from scratch was measured at {m['wall_s'] / 60:.1f} min ({m.get('date', '')}"
           + (f"; {m['what']}" if m.get("what") else "") + ")." for c, m in measured.items()]
    mt = machines_table(results_dir)
    if not cpu or not total or mt.empty or cpu not in set(mt["cpu"]):
        return out
    med = mt.groupby("cpu")[["bare images / s", "DDIM step (ms, CPU)"]].median()
    ref = med.loc[cpu]
    for other, row in med.drop(index=[cpu, *[c for c in measured if c in med.index]]).iterrows():
        train = ref["bare images / s"] / row["bare images / s"]          # > 1: training takes longer there
        infer = row["DDIM step (ms, CPU)"] / ref["DDIM step (ms, CPU)"]  # > 1: studies take longer there
        lo, hi = sorted((train, infer))
        out.append(f"On {other} (median of its stored benchmark runs) training takes {train:.2f}x and a DDIM step "
                   f"{infer:.2f}x as long as on {cpu}, the CPU of this record; the recorded from-scratch run would take "
                   f"about {total * lo / 3600:.1f}-{total * hi / 3600:.1f} h there (the {total / 3600:.1f} h "
                   f"measured here scaled by those two ratios; an extrapolation, not a measurement).")
    return out


def side_by_side_line(sbs: dict) -> str:
    """The measured effect of running studies side by side (``cli studies --jobs``) on the same chapters."""
    j1, j2 = sbs["jobs_1_s"], sbs["jobs_2_s"]
    return (f"Studies side by side (`cli studies --jobs 2`, what `make book` does on 2 cores): the same "
            f"{len(sbs['studies'])} chapters ({', '.join(sbs['studies'])}), computed from scratch with the trained "
            f"models reused, took {j1 / 60:.1f} min one after another ({sbs['threads_jobs_1']} torch threads) and "
            f"{j2 / 60:.1f} min two at a time ({sbs['threads_jobs_2']} thread each): {j2 / j1:.2f}x the wall time "
            f"({sbs['date']}).")


def load_smoke(path: str | Path) -> dict | None:
    """The smoke profile's per-study record (``benchmarks.from_scratch --profile smoke``), or None when absent."""
    rec = load(path)
    return rec if rec and rec.get("profile") == "smoke" and rec.get("studies_s") else None


def smoke_table(rec: dict) -> pd.DataFrame:
    """One row per smoke study (its time includes the models it trained first), slowest first."""
    rows = [(k, v, "met" if v <= SMOKE_TARGET_S else "not met") for k, v in rec["studies_s"].items()]
    df = pd.DataFrame(rows, columns=["study / dataset", "seconds", f"<= {SMOKE_TARGET_S} s"])
    return df.sort_values("seconds", ascending=False).set_index("study / dataset").round(1)


def smoke_line(rec: dict) -> str:
    """One sentence: how many smoke studies, the slowest, the total, the training share, the machine."""
    st = rec["studies_s"]
    worst = max(st, key=st.get)
    over = [k for k, v in st.items() if v > SMOKE_TARGET_S]
    failed = rec.get("failed") or {}
    return (f"{len(st)} smoke studies in {sum(st.values()):.0f} s one after another "
            f"({rec.get('cpu_threads', '?')} torch threads, {rec.get('device', 'cpu')}, {rec.get('date', '')[:10]}); "
            f"the slowest is {worst} at {st[worst]:.0f} s; training the smoke models took "
            f"{sum((rec.get('train_s') or {}).values()):.0f} s of that. "
            + (f"Over {SMOKE_TARGET_S} s: {', '.join(over)}. " if over else
               f"Every study took {SMOKE_TARGET_S} s or less. ")
            + (f"Failed: {', '.join(failed)}." if failed else ""))


def _targets_sentence(res: dict, full: dict | None = None, only_inversion: bool = False) -> str:
    """'On <device>: k of n speed targets are met; within noise: ...; not met: ...' from ``targets_table``."""
    t = targets_table(res, full)
    if only_inversion:
        t = t[t.index.str.startswith("OVG")]
    judged = t[t["verdict"] != "—"]
    if judged.empty:
        return ""

    def listed(v):
        sub = judged[judged["verdict"] == v]
        return "; ".join(f"{k} ({r['measured']}" + (f", quartiles {r['quartiles']}" if r["quartiles"] else "")
                         + f", goal {r['goal']})" for k, r in sub.iterrows())

    n_met = int((judged["verdict"] == "met").sum())
    text = f"On {device_name(res)} ({short_date(res.get('date'))}): {n_met} of {len(judged)} speed targets are met"
    for v in ("within noise", "not met"):
        if (judged["verdict"] == v).any():
            text += f"; {v}: {listed(v)}"
    return text + "."


def verdict(res: dict | None, full: dict | None, mc: dict | None, smoke: dict | None, gpu: dict | None = None,
            shipped: dict | None = None) -> str:
    """The chapter's closing paragraph: which targets are met on each device (``gpu``: a GPU run, latest_gpu), the
    main command's time (against its goal on a GPU; a record taken at an earlier, smaller profile says so, beside
    the shipped models' training from their logs, ``shipped``: checkpoint_times of data/weights), the smoke
    studies."""
    parts = []
    if res is not None:
        parts.append(_targets_sentence(res, full))
    else:
        parts.append("No benchmark run is stored yet (`python -m benchmarks`).")
    if gpu is not None and "inversion" in (gpu.get("benchmarks") or {}):
        parts.append(_targets_sentence(gpu, only_inversion=True))
    if mc is not None:
        where = f" ({mc['cpu']})" if mc.get("cpu") else ""
        if mc.get("profile_size"):
            steps = sorted({v["steps"] for v in (shipped or {}).values() if v.get("steps")})
            now = (f" The shipped models train {steps[0]}-{steps[-1]} steps each (their training times from their own "
                   f"logs are in the table above) and ship with the repository, so a fresh clone installs them "
                   f"instead of training." if steps else "")
            parts.append(f"The main command from scratch was last timed on {short_date(mc.get('date'))} at an earlier, "
                         f"smaller quick profile ({mc['profile_size']}): {mc['total_s'] / 60:.1f} min on "
                         f"{mc.get('cores', '?')} cores{where}, a measurement of that profile with no goal attached "
                         f"on a CPU; it does not time today's profile.{now}")
        else:
            took = f"The main command from scratch took {mc['total_s'] / 60:.1f} min on {mc.get('cores', '?')} cores{where}"
            if mc.get("goal_s"):
                parts.append(f"{took} and one GPU: the goal of under {mc['goal_s'] / 60:.0f} min is "
                             f"{'met' if mc['met'] else 'not met'}.")
            else:
                parts.append(f"{took}, a measurement with no goal attached on a CPU (the shipped weights spare a fresh "
                             f"clone the training).")
        for c, m in measured_elsewhere(mc).items():   # the same command timed on other CPUs
            parts.append(f"On {c} ({m.get('date', '')}) it took {m['wall_s'] / 60:.1f} min.")
    if smoke is not None:
        st = smoke["studies_s"]
        over = [k for k, v in st.items() if v > SMOKE_TARGET_S]
        parts.append(f"On the smoke profile {len(st) - len(over)} of {len(st)} studies ran in {SMOKE_TARGET_S} s or "
                     f"less" + (f"; slower: {', '.join(f'{k} ({st[k]:.0f} s)' for k in over)}." if over else "."))
    return " ".join(p for p in parts if p)
