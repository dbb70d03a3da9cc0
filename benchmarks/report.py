"""Tables and sentences for the book chapters, built from a stored benchmark results file (never typed)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .common import ROOT

__all__ = ["load", "latest_gpu", "fmt_ratio", "environment_md", "cost_table", "targets_table", "training_table", "metrics_table",
           "scaling_frame", "main_command_table", "latest_full", "floor_variants_table", "side_by_side_line",
           "machine_runs", "machines_table", "machines_summary", "main_command_elsewhere", "load_smoke", "smoke_table",
           "smoke_line", "SMOKE_TARGET_S", "verdict"]

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


def environment_md(res: dict) -> str:
    """One paragraph: where, when and with what the numbers were taken."""
    m, v = res["machine"], res["versions"]
    load = m.get("load_average")
    gpu = ("Every number is on CPU" + (f" (a {m['gpu']} was present but the benchmarks do not use it yet)."
                                        if m.get("gpu") else "; no GPU was available for this run."))
    return (f"Measured on `{m['hostname']}` ({m['cpu']}, {m['cpu_count']} cores, {m['memory_gb']} GB, torch threads "
            f"{m['torch_threads']}) on {res['date']}, mode `{res['mode']}`; torch {v.get('torch')}, diffusers "
            f"{v.get('diffusers')}, Python {v.get('python')}. Load average at the start "
            f"{', '.join(f'{x:.1f}' for x in load) if load else 'n/a'}. {gpu}")


def cost_table(res: dict, ratio: str = "ratio_cpu") -> pd.DataFrame:
    """Per-method cost per inversion step relative to DDIM."""
    inv = res["benchmarks"]["inversion"]
    other = "ratio_wall" if ratio == "ratio_cpu" else "ratio_cpu"
    rows = []
    for r in inv["rows"]:
        rows.append({
            "method": r["label"],
            "w": r["cfg_scale"],
            "network calls / step": round(r["calls_per_step"], 2),
            "NFE / step": round(r["nfe_per_step"], 2),
            "backward calls / step": round(r["backward_per_step"], 2),
            f"time vs DDIM ({'CPU' if ratio == 'ratio_cpu' else 'wall'})": fmt_ratio(r[ratio]),
            f"time vs DDIM ({'wall' if ratio == 'ratio_cpu' else 'CPU'})": fmt_ratio(r[other]),
            "ms / step (CPU)": round(1000 * r["cpu_s"]["median"], 1),
            "peak MiB": None if r.get("peak_mb") is None else round(r["peak_mb"], 1),
            "memory vs DDIM": None if r.get("mem_ratio") is None else round(r["mem_ratio"], 2),
            "what": r["note"],
        })
    return pd.DataFrame(rows).set_index("method")


def targets_table(res: dict, full: dict | None = None) -> pd.DataFrame:
    """Every benchmark target with the measured value and whether it is met (absent benchmarks are skipped);
    ``full``: a ``--full`` run (latest_full), whose metric measurements at full size are added as rows."""
    b = res["benchmarks"]
    rows = []
    if "inversion" in b:
        t = b["inversion"]["targets"]
        rows.append(("OVG inversion step / DDIM step", "<= 3", t["ovg_step"], t["ovg_step_met"]))
        self_row = _method_row(b["inversion"], "ddim")
        if self_row is not None:  # DDIM timed against itself: how far a ratio of 1 reads from 1 in this run
            rows.append(("DDIM step / DDIM step (this run's noise)", "(1 if no noise)",
                         self_row["ratio_cpu"]["median"], None))
        if "floor" in t:
            rows.append(("floor: forward with graph + 2 VJPs / DDIM step", "(reference)", t["floor"], None))
            rows.append(("OVG inversion step / floor", "(overhead)", t["ovg_over_floor"], None))
        rows.append(("OVG translation / DDIM translation", "<= 2", t["ovg_translation"], t["ovg_translation_met"]))
    if "training" in b:
        t = b["training"]["target"]
        rows.append(("trainer throughput / bare loop", ">= 0.95", t["ratio"], t["met"]))
    if "metrics" in b:
        m = b["metrics"]
        rows.append(("S_G + S_DC + PCA, 2000 x 4x32x32 (s)", "< 2", m["latent"]["total_warm_wall_s"], m["latent"]["met"]))
        p = m["pca_pixel"]
        rows.append((f"PCA 2000 x {p['d']} (s{', extrapolated' if p['extrapolated_to_2000'] else ''})", "< 60",
                     p["wall_s_2000"], p["met"]))
        i = m["image"]
        rows.append((f"S_HF + S_LF, 1000 x 256^2 (s{', extrapolated' if i['extrapolated_to_1000'] else ''})", "< 10",
                     i["total_wall_s_1000"], i["met"]))
    fm = (full or {}).get("benchmarks", {}).get("metrics")
    if fm is not None and fm is not b.get("metrics"):
        day = str(full.get("date", ""))[:10]
        p, i = fm["pca_pixel"], fm["image"]
        rows.append((f"PCA 2000 x {p['d']} (s, full run {day})", "< 60", p["wall_s_2000"], p["met"]))
        rows.append((f"S_HF + S_LF, 1000 x 256^2 (s, full run {day})", "< 10", i["total_wall_s_1000"], i["met"]))
    df = pd.DataFrame(rows, columns=["target", "goal", "measured", "met"])
    df["measured"] = df["measured"].map(lambda v: None if v is None else round(float(v), 2))
    return df.set_index("target")


def training_table(res: dict) -> pd.DataFrame:
    t = res["benchmarks"]["training"]
    rows = []
    for name, what in (("ours", "our trainer (Accelerate, EMA, clipping, schedule, label dropout)"),
                       ("bare_ema", "bare loop + EMA update only")):
        r = t[name]
        rows.append({"loop": what, "throughput vs bare (CPU)": fmt_ratio(r["throughput_ratio_cpu"], 3),
                     "throughput vs bare (wall)": fmt_ratio(r["throughput_ratio_wall"], 3),
                     "images / s (wall)": round(r["images_per_s_wall"], 1),
                     "bare images / s (wall)": round(r["bare_images_per_s_wall"], 1)})
    return pd.DataFrame(rows).set_index("loop")


def metrics_table(res: dict) -> pd.DataFrame:
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
    rows.append(("mu_HF, first call / cached", i["mu_hf_cold_cpu_s"], i["mu_hf_warm_cpu_s"]))
    df = pd.DataFrame(rows, columns=["metric", "CPU s", "wall s"]).set_index("metric")
    df["x reference product"] = df["CPU s"] / m["ref_s"]
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


def main_command_table(mc: dict | None, checkpoints: dict) -> pd.DataFrame:
    """Breakdown rows (seconds, minutes): the recorded main command if any, else the training times alone."""
    rows = []
    if mc:
        rows.append(("install", mc.get("install_s")))
        for k, v in (mc.get("train_s") or {}).items():
            rows.append((f"train {k}", v))
        for k, v in (mc.get("studies_s") or {}).items():
            rows.append((f"study {k}", v))
        rows.append(("book build", mc.get("book_s")))
        rows.append(("total", mc["total_s"]))
    else:
        for k, v in checkpoints.items():
            if v.get("seconds") is not None:
                part = "checkpoint log" if v.get("seconds_complete") else "checkpoint log, its last run only"
                rows.append((f"train {k} ({part})", v["seconds"]))
    df = pd.DataFrame(rows, columns=["part", "seconds"])
    df["minutes"] = df["seconds"] / 60
    return df.set_index("part").round(1)


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


def machines_summary(mt: pd.DataFrame) -> str:
    """One markdown line per CPU of ``machines_table``: runs, ranges of the OVG ratios, median DDIM step time."""
    def span(col: pd.Series) -> str:
        return f"{col.min():.2f}-{col.max():.2f}x"

    lines = []
    for cpu, g in mt.groupby("cpu"):
        floor = g["floor / DDIM"]
        lines.append(
            f"- {cpu}: {len(g)} run(s); OVG step {span(g['OVG step / DDIM'])} DDIM, "
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
                   f"{infer:.2f}x as long as on {cpu}, the CPU of this record; the same from-scratch run would take "
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
            f"({sbs['date']}). {sbs.get('note', '')}").strip()


def load_smoke(path: str | Path) -> dict | None:
    """The smoke profile's per-study record (``benchmarks.from_scratch --profile smoke``), or None when absent."""
    rec = load(path)
    return rec if rec and rec.get("profile") == "smoke" and rec.get("studies_s") else None


def smoke_table(rec: dict) -> pd.DataFrame:
    """One row per smoke study (its time includes the models it trained first), slowest first."""
    rows = [(k, v, v <= SMOKE_TARGET_S) for k, v in rec["studies_s"].items()]
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


def verdict(res: dict | None, full: dict | None, mc: dict | None, smoke: dict | None) -> str:
    """The chapter's closing paragraph: which targets are met, the main command's time (against its goal on a GPU),
    the smoke studies."""
    parts = []
    if res is not None:
        t = targets_table(res, full)
        judged = t[t["met"].notna()]
        missed = [f"{k} ({v['measured']} against {v['goal']})" for k, v in judged[~judged["met"].astype(bool)].iterrows()]
        parts.append(f"{int(judged['met'].astype(bool).sum())} of {len(judged)} speed and memory targets are met"
                     + (f"; missed: {'; '.join(missed)}." if missed else "."))
    else:
        parts.append("No benchmark run is stored yet (`python -m benchmarks`).")
    if mc is not None:
        where = f" ({mc['cpu']})" if mc.get("cpu") else ""
        size = (f" with the quick profile as it was on {str(mc.get('date', ''))[:10]} ({mc['profile_size']}; today's "
                f"quick models train far longer, see the README's costs)") if mc.get("profile_size") else ""
        took = (f"The main command from scratch took {mc['total_s'] / 60:.1f} min on {mc.get('cores', '?')} "
                f"cores{where}{size}")
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
    return " ".join(parts)
