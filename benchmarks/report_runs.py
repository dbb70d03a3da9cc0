"""Each benchmark target judged on the run that measured it, and the chapter's readings of whole runs: the runs stored
per CPU, the main command from scratch, the shipped models' training, the smoke profile and the soak; built from
stored results files (never typed).

A verdict comes from the run on the device named beside it: the default run's table holds that run's own values
(its extrapolations labelled so), and a ``--full`` run replaces those extrapolations only when it ran on the same
device; a full run on another device is shown and judged apart (``full_targets_table``).
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from spectral_collapse.text import counted, plural, verb

from spectral_collapse.pipeline.cost_pages import RANGE, quartile_range

from .report import LATEST, judge, load, short_date
from .report_clocks import clock_of, cpu_words, device_name, legend, method_row, nobreak, quartiles
# what a record leaves out, re-exported: the chapters read it from here
from .report_record import (main_command_note, model_name, recorded_size, shipped_sentence,  # noqa: F401
                            study_words, untimed_chapters, untimed_line)
__all__ = ["SMOKE_TARGET_S", "same_device", "targets_table", "full_targets_table", "targets_display", "model_name",
           "main_command_table", "shipped_training_table", "soak_line", "machine_runs", "machines_table",
           "machines_display", "machines_summary", "measured_elsewhere", "main_command_elsewhere",
           "side_by_side_line", "load_smoke", "goal_text", "smoke_table", "smoke_line", "verdict", "study_words",
           "device_words"]

SMOKE_TARGET_S = 60  # a smoke study (models it trains included): about a minute or less on 2 cores


def same_device(a: dict | None, b: dict | None) -> bool:
    """Whether two runs were measured on the same device, as ``device_name`` names it (the CPU model and its torch
    threads, or the GPU)."""
    return a is not None and b is not None and device_name(a) == device_name(b)


class _Rows(list):
    """Rows of a targets table: (target, goal, measured, quartiles, verdict, short label)."""

    def add(self, name, goal, st, judged=True, short=None, digits=2):
        """One row; ``digits``: the decimals its quantity has wherever the chapter states it (ratios 2, the
        trainer's throughput ratio 3 as in the training table, seconds 1 as in the metric section)."""
        q25, q75 = quartiles(st) if isinstance(st, dict) else (None, None)
        med = st.get("median") if isinstance(st, dict) else st
        verdict = judge(float(med), goal, q25, q75) if judged and med is not None else "—"
        self.append((name, goal, None if med is None else round(float(med), digits),
                     "" if q25 is None else quartile_range(q25, q75, digits), verdict, short or name, digits, q25, q75))

    def metrics(self, m: dict, where: str = ""):
        """The large metric targets of a metrics benchmark ``m``; ``where`` names the run when it is not the table's
        own ("full run 2026-11-22, AMD EPYC")."""
        p, i = m["pca_pixel"], m["image"]
        for label, key, short, goal, extra in (
                (f"PCA of 2,000 images × {p['d']:,} pixel values", "wall_s_2000", "pixel PCA (seconds", "< 60",
                 p["extrapolated_to_2000"]),
                ("S_HF + S_LF of 1,000 images of 256 × 256", "total_wall_s_1000", "S_HF + S_LF (seconds", "< 10",
                 i["extrapolated_to_1000"])):
            how = ", extrapolated" if extra and not where else ""
            self.add(f"{label} (seconds{how}{', ' + where if where else ''})", goal, (p if key == "wall_s_2000" else i)[key],
                     short=f"{short}{how})", digits=SECONDS_DIGITS)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self, columns=["target", "goal", "measured", "quartiles", "verdict", "row", "digits",
                                           "q25", "q75"]).set_index("target")


def targets_table(res: dict, full: dict | None = None) -> pd.DataFrame:
    """Every benchmark target of run ``res`` with the measured value, its quartiles where the run has repeats, and a
    three-way verdict (``judge``: met, not met, within noise; "—" for the reference rows, which have no goal). Absent
    benchmarks are skipped. Ratios are in the run's clock (``clock_of``); the translation row names its steps. The
    large metric targets are this run's own values (extrapolations labelled so), replaced by those of a ``--full``
    run (``full``, latest_full) only when it ran on the same device (``same_device``); one on another device is
    judged in ``full_targets_table``."""
    b = res["benchmarks"]
    rows = _Rows()
    if "inversion" in b:
        inv = b["inversion"]
        clock = clock_of(res)
        t = inv["targets"]
        ovg = method_row(inv, "ovg")
        rows.add("OVG inversion step / DDIM step", "<= 3", ovg[clock] if ovg else t["ovg_step"], short="OVG / DDIM step")
        self_row = method_row(inv, "ddim")
        if self_row is not None:  # DDIM timed against itself: how far a ratio of 1 reads from 1 in this run
            rows.add("DDIM step / DDIM step (the reference timed against itself)", "(1 if exact)", self_row[clock],
                     False, "DDIM / DDIM step")
        if "floor" in t:
            rows.add("floor: forward with graph + 2 VJPs / DDIM step", "(reference)", inv["floor"].get(clock, t["floor"]),
                     False, "floor / DDIM step")
            rows.add("OVG inversion step / floor", "(overhead)" if t["ovg_over_floor"] >= 1 else "(below 1: see note)",
                     t["ovg_over_floor"], False, "OVG step / floor")
        tr = (inv.get("translation") or {}).get("ovg", {}).get(clock)
        n = inv.get("steps")
        rows.add("OVG translation / DDIM translation" + (f" ({n} + {n} steps)" if n else ""), "<= 2",
                 tr if tr else t["ovg_translation"], short="OVG / DDIM translation" + (f", {n} + {n} steps" if n else ""))
    if "training" in b:
        t = b["training"]
        st = (t.get("ours") or {}).get("throughput_ratio_cpu") or t["target"]["ratio"]
        rows.add("trainer throughput / bare loop (CPU time)", ">= 0.95", st, short="trainer / bare loop",
                 digits=THROUGHPUT_DIGITS)
    fm = (full or {}).get("benchmarks", {}).get("metrics") if same_device(res, full) else None
    if fm is b.get("metrics"):
        fm = None
    if "metrics" in b:
        rows.add("S_G + S_DC + PCA of 2,000 latents of 4 × 32 × 32 (seconds)", "< 2",
                 b["metrics"]["latent"]["total_warm_wall_s"],
                 short="latent metrics (seconds)", digits=SECONDS_DIGITS)
        if fm is None:
            rows.metrics(b["metrics"])
    if fm is not None:
        rows.metrics(fm, f"full run {short_date(full.get('date'))}, {cpu_words(full.get('machine') or {})}")
    return rows.frame()


def full_targets_table(res: dict | None, full: dict | None) -> pd.DataFrame:
    """The large metric targets as a ``--full`` run measured them at full size, judged on that run's device, when it
    ran on another device than ``res`` (on the same device ``targets_table`` holds them); empty otherwise."""
    rows = _Rows()
    fm = (full or {}).get("benchmarks", {}).get("metrics")
    if fm is not None and not same_device(res, full):
        rows.metrics(fm, f"full run {short_date(full.get('date'))}, {cpu_words(full.get('machine') or {})}")
        rows[:] = [r[:5] + (r[5].replace(" (seconds)", " (seconds, full size)"),) + r[6:] for r in rows]
    return rows.frame()


def targets_display(t: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """``targets_table`` as the chapter shows it, narrow enough for the text column: short row labels, the
    median and its quartiles in one cell ("3.37 (3.34–3.37)"); with the legend sentence naming each row in full."""
    digits = t["digits"] if "digits" in t else [2] * len(t)
    measured = [nobreak(("" if pd.isna(m) else f"{m:.{int(d)}f}")
                        + (f" ({q})".replace(RANGE, f"\u2060{RANGE}\u2060") if q else ""))
                for m, q, d in zip(t["measured"], t["quartiles"], digits)]
    shown = pd.DataFrame({"goal": [goal_text(g) for g in t["goal"]], "measured (quartiles)": measured,
                          "verdict": t["verdict"].to_numpy()}, index=pd.Index(t["row"].to_numpy(), name="target"))
    return shown, legend(zip(t["row"], t.index)) + noise_reasons(t)


def noise_reasons(t: pd.DataFrame) -> str:
    """Why each "within noise" row of a targets table is within noise: which quartile lies on which side of the goal,
    with one more decimal where the shown quartile rounds onto the goal ("its upper quartile, 2.002, lies past the
    goal of 2"). "" when no row is within noise."""
    out = []
    for _, r in t.iterrows():
        if r["verdict"] != "within noise" or "q25" not in r or pd.isna(r.get("q25")) or pd.isna(r.get("q75")):
            continue
        op, x = str(r["goal"]).split()
        x, d = float(x), int(r.get("digits", 2))
        upper_side = op.startswith("<")          # for "<= x" the upper quartile is the one past the goal
        past = float(r["q75"] if upper_side else r["q25"])
        shown = f"{past:.{d}f}"
        while float(shown) == x and d < 6:       # rounds onto the goal: show the digit that separates them
            d += 1
            shown = f"{past:.{d}f}"
        out.append(f"{r['row']} is within noise: its {'upper' if upper_side else 'lower'} quartile, {shown}, lies "
                   f"past the goal of {x:g} while its {'lower' if upper_side else 'upper'} quartile lies on the goal's "
                   "side.")
    return (" " + " ".join(out)) if out else ""


SECONDS_DIGITS = 1      # a metric benchmark's seconds, in the targets table and in the metric section's text
THROUGHPUT_DIGITS = 3   # the trainer's throughput ratio, in the targets table and in the training table


def goal_text(goal) -> str:
    """A goal as a reader sees it: "<= 3" -> "≤ 3", ">= 0.95" -> "≥ 0.95" (``judge`` reads the typed form)."""
    return str(goal).replace("<=", "≤").replace(">=", "≥")


# what the main-command table's rows sum, said under it (its row labels stay short so the table fits the column)
MAIN_COMMAND_NOTE = ("The studies row sums each chapter's own time; two chapters ran at a time, so that sum exceeds "
                     "the total wall time. Each model was trained inside the study that first needed it, so the "
                     "training row is part of the studies row.")


def main_command_table(mc: dict | None, checkpoints: dict) -> pd.DataFrame:
    """Breakdown rows (seconds, minutes): the recorded from-scratch main command by part (install, training of all
    its models, its study chapters, book build, total) if a record exists, else the training times of the
    checkpoints present (``checkpoints``, benchmarks.main_command.checkpoint_times)."""
    rows = []
    if mc:
        train, studies = mc.get("train_s") or {}, mc.get("studies_s") or {}
        rows.append(("install", mc.get("install_s")))
        if studies:
            # each chapter's time, summed: two chapters ran at a time, so this sum exceeds the total wall time
            # (MAIN_COMMAND_NOTE, printed under the table)
            rows.append((f"studies, {len(studies)} chapters (summed)", sum(studies.values())))
        if train:
            rows.append((f"of which training, {len(train)} models", sum(train.values())))
        rows.append(("book build", mc.get("book_s")))
        rows.append(("total (wall time)", mc["total_s"]))
    else:
        for k, v in checkpoints.items():
            if v.get("seconds") is not None:
                part = "checkpoint log" if v.get("seconds_complete") else "checkpoint log, its last run only"
                rows.append((f"train {k} ({part})", v["seconds"]))
    df = pd.DataFrame(rows, columns=["part", "seconds"])
    df["seconds"] = df["seconds"].astype(float)
    df["minutes"] = df["seconds"] / 60
    df["minutes"] = df["minutes"].round(1)
    df["seconds"] = df["seconds"].round().astype("Int64")   # whole seconds: a tenth of one is noise here
    return df.set_index("part")


def device_words(device: str) -> str:
    """A training log's device as a reader reads it: "cuda: NVIDIA H100" -> "GPU: NVIDIA H100", "cpu: AMD EPYC,
    1 thread" -> "CPU: AMD EPYC, 1 thread"; anything else as it is."""
    kind, sep, rest = str(device).partition(":")
    words = {"cuda": "GPU", "cpu": "CPU", "mps": "Apple GPU"}.get(kind.strip().lower())
    return f"{words}{sep}{rest}" if words and sep else str(device)


def shipped_training_table(checkpoints: dict, devices: dict | None = None) -> pd.DataFrame:
    """One row per shipped model (``checkpoints``: checkpoint_times of data/weights): its training steps, where it
    trained (``devices``: folder -> the device its log.json names) and its training time from its own log, labelled
    by what the log records: every run the model took ("all runs"), or only the run that finished it ("last run
    only": a log that keeps the finishing run's time alone; a training resumed from a checkpoint spent more)."""
    devices = devices or {}
    rows = []
    for folder, v in sorted(checkpoints.items()):
        if v.get("seconds") is None:
            continue
        steps = v.get("steps")
        rows.append({"model": model_name(folder), "steps": f"{int(steps):,}" if steps is not None else "",
                     "trained on": device_words(counted(devices.get(folder, ""))),
                     "hours": round(v["seconds"] / 3600, 2),
                     "what the log records": "all runs" if v.get("seconds_complete") else "last run only"})
    cols = ["model", "steps", "trained on", "hours", "what the log records"]
    return pd.DataFrame(rows, columns=cols).set_index("model")


def soak_line(soak: dict | None) -> str:
    """One sentence from a soak record (the studies of a profile run twice back to back): how many study and dataset
    pairs it ran and which chapters it left out, whether the results were identical in both rounds and memory stayed
    within its bound. "" without a record."""
    if not soak:
        return ""
    yes = lambda v: "yes" if v else "no"  # noqa: E731
    ran = [f"{r.get('study')}/{r.get('dataset')}" for r in (soak["rounds"][0].get("studies") or [])] \
        if soak.get("rounds") else []
    left = untimed_chapters(ran) if ran else []
    said = (f"{len(ran)} study and dataset pairs of the {soak.get('profile', '?')} profile were each run twice back "
            f"to back ({short_date(soak.get('date'))})" if ran else
            f"The studies of the {soak.get('profile', '?')} profile were run twice back to back "
            f"({short_date(soak.get('date'))})")
    said += (f"; not in that run: {'; '.join(map(study_words, left))}. " if left else ". ")
    return (said[0].upper() + said[1:] + f"Results identical in both rounds: {yes(soak.get('identical'))}. Peak memory "
            f"of each study in the second round within its bound: {yes(soak.get('within_bound'))}.")


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
        ddim = method_row(inv, "ddim")
        rows.append({
            "date": str(r.get("date", ""))[:16].replace("T", " "), "file": r["file"], "cpu": m.get("cpu"),
            "batch": inv.get("batch"), "steps": inv.get("steps"),
            "DDIM step (ms, CPU)": None if ddim is None else round(1e3 * ddim["base_cpu_s"]["median"], 1),
            "OVG step / DDIM": t.get("ovg_step"), "floor / DDIM": t.get("floor"),
            "OVG translation / DDIM": t.get("ovg_translation"),
            "trainer / bare loop": tr.get("target", {}).get("ratio"),
            "bare images / s": tr.get("ours", {}).get("bare_images_per_s_wall")})
    df = pd.DataFrame(rows, columns=["date", "file", "cpu", "batch", "steps", "DDIM step (ms, CPU)", "OVG step / DDIM",
                                     "floor / DDIM", "OVG translation / DDIM", "trainer / bare loop",
                                     "bare images / s"])
    num = ["OVG step / DDIM", "floor / DDIM", "OVG translation / DDIM", "trainer / bare loop", "bare images / s"]
    df[num] = df[num].astype(float).round(2)
    return df.set_index("date")


def machines_display(mt: pd.DataFrame) -> pd.DataFrame:
    """``machines_table`` as the chapter shows it, narrow enough for the text column: no file column (the date
    names the run), the CPU in words ("Intel Xeon"), a batch size shared by every run folded into the DDIM column's
    name and a number of steps shared by every run into the translation column's."""
    shown = mt.drop(columns=["file"]).assign(cpu=[cpu_words({"cpu": c}) for c in mt["cpu"]])
    batches = shown["batch"].dropna().unique()
    if len(batches) == 1:
        shown = shown.drop(columns=["batch"]).rename(
            columns={"DDIM step (ms, CPU)": f"DDIM step (ms, CPU, batch {int(batches[0])})"})
    steps = shown["steps"].dropna().unique()   # the translation ratio's length: inversion + sampling steps
    if len(steps) == 1:
        shown = shown.drop(columns=["steps"]).rename(
            columns={"OVG translation / DDIM": f"OVG translation / DDIM ({int(steps[0])} + {int(steps[0])} steps)"})
    return shown


def machines_summary(mt: pd.DataFrame) -> str:
    """One markdown line per CPU of ``machines_table``: runs, ranges of the OVG ratios, median DDIM step time."""
    def span(col: pd.Series) -> str:
        return f"{quartile_range(col.min(), col.max())}×"

    lines = []
    for cpu, g in mt.groupby("cpu"):
        floor = g["floor / DDIM"]
        lines.append(
            f"- {cpu_words({'cpu': cpu})}: {plural(len(g), 'run')}; OVG step {span(g['OVG step / DDIM'])} DDIM, "
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
        here = cpu_words({"cpu": cpu})
        out.append(f"On {cpu_words({'cpu': other})} (median of its stored benchmark runs) training takes {train:.2f}× "
                   f"and a DDIM step {infer:.2f}× as long as on {here}, the CPU of this record; the recorded "
                   f"from-scratch run would take about {quartile_range(total * lo / 60, total * hi / 60, 0)} min there (the "
                   f"{total / 60:.1f} min measured on {here} scaled by those two ratios; an extrapolation, not a "
                   "measurement).")
    return out


def side_by_side_line(sbs: dict) -> str:
    """The measured effect of running studies side by side (``cli studies --jobs``) on the same chapters."""
    j1, j2 = sbs["jobs_1_s"], sbs["jobs_2_s"]
    return (f"Studies side by side (`python -m spectral_collapse studies --jobs 2`, what `make book` does on 2 cores): the same "
            f"{len(sbs['studies'])} chapters ({'; '.join(map(study_words, sbs['studies']))}), computed from scratch with the trained "
            f"models reused, took {j1 / 60:.1f} min one after another ({sbs['threads_jobs_1']} torch threads) and "
            f"{j2 / 60:.1f} min two at a time ({sbs['threads_jobs_2']} thread each): {j2 / j1:.2f}× the wall time "
            f"({sbs['date']}).")


def load_smoke(path: str | Path) -> dict | None:
    """The smoke profile's per-study record (``benchmarks.from_scratch --profile smoke``), or None when absent."""
    rec = load(path)
    return rec if rec and rec.get("profile") == "smoke" and rec.get("studies_s") else None


def smoke_table(rec: dict) -> pd.DataFrame:
    """One row per smoke study (its time includes the models it trained first), slowest first."""
    rows = [(study_words(k), v, "met" if v <= SMOKE_TARGET_S else "not met") for k, v in rec["studies_s"].items()]
    df = pd.DataFrame(rows, columns=["study, dataset", "seconds", f"≤ {SMOKE_TARGET_S} seconds"])
    return df.sort_values("seconds", ascending=False).set_index("study, dataset").round(1)


def smoke_line(rec: dict) -> str:
    """One sentence: how many smoke studies, the slowest, the total, the training share, the machine."""
    st = rec["studies_s"]
    worst = max(st, key=st.get)
    over = [k for k, v in st.items() if v > SMOKE_TARGET_S]
    failed = rec.get("failed") or {}
    return (f"{len(st)} smoke studies in {sum(st.values()):.0f} s one after another "
            f"({rec.get('cpu_threads', '?')} torch threads, "
            f"{'on the CPU' if str(rec.get('device', 'cpu')).startswith('cpu') else 'on a GPU'}, "
            f"{rec.get('date', '')[:10]}); "
            f"the slowest is {study_words(worst)} at {st[worst]:.0f} s; training the smoke models took "
            f"{sum((rec.get('train_s') or {}).values()):.0f} s of that. "
            + (f"Over {SMOKE_TARGET_S} s: {'; '.join(map(study_words, over))}. " if over else
               f"Every study timed took {SMOKE_TARGET_S} s or less. ")
            + untimed_line(st)
            + (f"Failed: {', '.join(failed)}." if failed else ""))


def _judged_sentence(t: pd.DataFrame, where: str, what: str = "speed targets") -> str:
    """'<where>: k of n <what> are met; within noise: ...; not met: ...' from a targets table."""
    judged = t[t["verdict"] != "—"]
    if judged.empty:
        return ""

    def listed(v):
        sub = judged[judged["verdict"] == v]
        return "; ".join(f"{k} ({r['measured']:.{int(r.get('digits', 2))}f}"
                         + (f", quartiles {r['quartiles']}" if r["quartiles"] else "")
                         + f", goal {goal_text(r['goal'])})" for k, r in sub.iterrows())

    n_met = int((judged["verdict"] == "met").sum())
    text = f"{where}: {n_met} of {len(judged)} {what} {verb(n_met, 'is', 'are')} met"
    for v in ("within noise", "not met"):
        if (judged["verdict"] == v).any():
            text += f"; {v}: {listed(v)}"
    return text + "."


def _targets_sentence(res: dict, full: dict | None = None, only_inversion: bool = False) -> str:
    """'On <device> (<date>): k of n speed targets are met; ...' from ``targets_table``."""
    t = targets_table(res, full)
    if only_inversion:
        t = t[t.index.str.startswith("OVG")]
    return _judged_sentence(t, f"On {device_name(res)} ({short_date(res.get('date'))})")


def verdict(res: dict | None, full: dict | None, mc: dict | None, smoke: dict | None, gpu: dict | None = None,
            shipped: dict | None = None, profile: str = "quick") -> str:
    """The chapter's closing paragraph: which targets are met on each device (``full``: a --full run, judged on its
    own when it ran on another device; ``gpu``: a GPU run, latest_gpu), the main command's time (against its goal on
    a GPU; a record taken at an earlier profile says so, each of its sizes beside ``profile``'s, beside the shipped models' training from their
    logs, ``shipped``: checkpoint_times of data/weights), the smoke studies."""
    parts = []
    if res is not None:
        parts.append(_targets_sentence(res, full))
    else:
        parts.append("No benchmark run is stored yet (`python -m benchmarks`).")
    elsewhere = full_targets_table(res, full)
    if not elsewhere.empty:   # a full run on another device: its own verdict
        parts.append(_judged_sentence(elsewhere, f"At full size on {device_name(full)} ({short_date(full.get('date'))})",
                                      "metric targets"))
    if gpu is not None and "inversion" in (gpu.get("benchmarks") or {}):
        parts.append(_targets_sentence(gpu, only_inversion=True))
    if mc is not None:
        where = f" ({mc['cpu']})" if mc.get("cpu") else ""
        if mc.get("profile_size"):
            steps = sorted({v["steps"] for v in (shipped or {}).values() if v.get("steps")})
            now = (f" The shipped models train {steps[0]:,}{RANGE}{steps[-1]:,} steps each (their training times from their own "
                   f"logs are in the table above) and ship with the repository, so a fresh clone installs them "
                   f"instead of training." if steps else "")
            parts.append(f"The main command from scratch is timed at {recorded_size(mc, profile)} "
                         f"({short_date(mc.get('date'))}): {mc['total_s'] / 60:.1f} min on "
                         f"{mc.get('cores', '?')} cores{where}, a measurement of that size with no goal attached "
                         f"on a CPU; it does not time the profile of this book.{now}")
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
        left = len(untimed_chapters(st))
        parts.append(f"On the smoke profile {len(st) - len(over)} of the {len(st)} studies timed ran in "
                     f"{SMOKE_TARGET_S} s or less" + (f"; slower: {'; '.join(f'{study_words(k)} ({st[k]:.0f} s)' for k in over)}"
                                                      if over else "")
                     + (f" ({left} other chapters are not timed on the smoke profile)." if left else "."))
    return " ".join(p for p in parts if p)

