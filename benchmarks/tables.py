"""The stored benchmark records (benchmarks/results/*.json, data/weights/*/log.json) as the cost chapter shows them:
one DataFrame per benchmark or whole-run record, each run's device and clock, targets judged."""
from __future__ import annotations

import json
import operator
from functools import partial
from pathlib import Path

import pandas as pd

from spectral_collapse.framework.method_labels import VARIANT_NAMES
from spectral_collapse.reference.method_names import method_name
from spectral_collapse.train.cache import model_name

from .common import ROOT
from .inversion import calls_per_step_at

RESULTS = ROOT / "benchmarks" / "results"
SMOKE_TARGET_S = 60      # a smoke study (the models it trains included): about a minute or less on 2 cores
QUARTILES = "median (quartiles)"   # header words of a column whose cells ``fmt_iqr`` writes
# A counted network call, evaluation or backward pass per step agrees with its authors' (paper and code) when it lies
# in their range widened by TOLERANCE on each side: counts are exact numbers of calls averaged over a run's steps.
TOLERANCE = 0.01
# label -> (the authors' words, {count key: (low, high) as functions of the number of steps N})
PUBLISHED = {
    "ovg": ("one forward with graph plus two vector-Jacobian products",
            {"calls_per_step": (1, 1), "backward_per_step": (2, 2)}),
    "null_class": ("up to 1 + 10 + 2 forwards (×2 NFE under guidance) and up to 10 backward passes",
                   {"calls_per_step": (3, 13), "backward_per_step": (0, 10)}),
    "renoise": ("R + 1 forwards plus one reference forward; R = 1 here",
                {"calls_per_step": (3, 3), "backward_per_step": (0, 0)}),
    "renoise_r9": ("R + 1 forwards plus one reference forward; R = 9, 5 on the first steps",
                   {"calls_per_step": (5 + 2, 9 + 2), "backward_per_step": (0, 0)}),
    "edict": ("2 forwards", {"calls_per_step": (2, 2), "backward_per_step": (0, 0)}),
    "bdia": ("1 forward", {"calls_per_step": (1, 1), "backward_per_step": (0, 0)}),
    "heun": ("2 forwards, 1 on the step from σ = 0",
             {"calls_per_step": (lambda n: (2 * n - 1) / n, 2), "backward_per_step": (0, 0)}),
    "direct_inversion": ("1 forward of the DDIM inversion it follows plus one guided (2 NFE) forward",
                         {"calls_per_step": (2, 2), "nfe_per_step": (3, 3), "backward_per_step": (0, 0)}),
}


def load(path: str | Path | None = None) -> dict:
    """A results file (default benchmarks/results/latest.json; a relative path is read from the repository root)."""
    p = ROOT / (path or RESULTS / "latest.json")   # an absolute path stays as it is
    if not p.exists():
        raise FileNotFoundError(f"no benchmark results at {p}: run `python -m benchmarks` (a few minutes on 2 cores)")
    return json.loads(p.read_text())


def newest(results_dir: str | Path | None = None, pattern: str = "*.json", date=lambda r: r.get("date", "")):
    """The results file matching ``pattern`` with the latest recorded ``date`` (not file time), or None."""
    runs = [json.loads(f.read_text()) for f in Path(results_dir or RESULTS).glob(pattern)]
    return max(runs, key=lambda r: str(date(r))) if runs else None


# the newest --full run (it holds the N = 2000 pixel PCA measured, not extrapolated) and --device cuda run, or None
latest_full = partial(newest, pattern="*-full.json")
latest_gpu = partial(newest, pattern="*-cuda.json")
# the newest record of ``python -m benchmarks.cluster``, by the date it was written, or None
newest_cluster = partial(newest, pattern="*-cluster.json", date=lambda r: r["environment"]["date"])


def bench_name(label) -> str:
    """A benchmark row's name: a variant's short name ("ovg_naive" -> "OVG, released code"), else the method's."""
    return VARIANT_NAMES.get(str(label)) or method_name(label)


def method_row(inv: dict, label: str) -> dict | None:
    """The inversion benchmark's row of one method (e.g. "ddim", timed against itself), or None."""
    return next((r for r in inv["rows"] if r["label"] == label), None)


def cpu_words(machine: dict) -> str:
    """The CPU's model name without trademark marks ("Intel(R) Xeon(R) Processor" -> "Intel Xeon")."""
    words = machine["cpu"].replace("(R)", "").replace("(TM)", "").split()
    return " ".join(w for w in words if w not in ("Processor", "CPU"))


def device_name(res: dict) -> str:
    """Where a run's ratios were measured: "one NVIDIA H100 80GB HBM3", or "1 thread of an Intel Xeon CPU"."""
    m = res["machine"]
    if m["device"].startswith("cuda"):
        return f"one {m['gpu']}"
    n, cpu = m["torch_threads"], cpu_words(m)
    return f"{n} thread{'s' * (n > 1)} of {'an' if cpu[:1].lower() in 'aeiou' else 'a'} {cpu} CPU"


def same_device(a: dict | None, b: dict | None) -> bool:
    return a is not None and b is not None and device_name(a) == device_name(b)


def clock_of(res: dict) -> str:
    """The ratio a run is read by: "ratio_wall" on a GPU (synchronised wall time), "ratio_cpu" on a CPU."""
    return res["benchmarks"]["inversion"]["clock"]


def clock_word(res: dict) -> str:
    return "wall time" if clock_of(res) == "ratio_wall" else "CPU time"


def judge(median: float, goal: str, q25: float | None = None, q75: float | None = None) -> str:
    """A measurement against a goal "<= x", "< x", ">= x" or "> x": "met" when the median and its quartiles lie on
    the goal's side, "not met" when they lie on the other, "within noise" when the quartiles cross the goal."""
    op, x = goal.split()
    ok = lambda v: {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}[op](v, float(x))
    if q25 is not None and q75 is not None and ok(q25) != ok(q75):
        return "within noise"
    return "met" if ok(median) else "not met"


def fmt_iqr(st: dict, digits: int = 2) -> str:
    """'2.81 (2.75–2.90)': a median with its quartiles over repeats; the median alone without repeats."""
    m, a, b = st["median"], st.get("q25"), st.get("q75")
    if a is None or st.get("n", 2) < 2:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} ({a:.{digits}f}–{b:.{digits}f})"


def shown(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame as a chapter displays it: the index's name in the header row's first cell, methods by their names."""
    return frame.rename_axis(index=None, columns=frame.index.name)


def cost_table(res: dict, studies_steps: int | None = None) -> pd.DataFrame:
    """Per-method cost per inversion step relative to DDIM, in the run's clock; ``studies_steps`` adds the calls per
    step at that many steps (``inversion.calls_per_step_at``)."""
    inv, clock = res["benchmarks"]["inversion"], clock_of(res)
    n, rows = inv["steps"], []
    for r in inv["rows"]:
        calls, nfe = r["calls_per_step"], r["nfe_per_step"]
        row = {"method": bench_name(r["label"]),
               f"calls / step ({n} steps)": f"{calls:.2f}" + (f" ({nfe:.2f} NFE)" if nfe != calls else "")}
        if studies_steps and studies_steps != n:
            at = calls_per_step_at(r["label"], studies_steps, inv["profile"])
            row[f"calls / step ({studies_steps} steps)"] = f"{calls if at is None else at:.2f}"
        row.update({"backward / step": f"{r['backward_per_step']:.2f}",
                    f"time / DDIM step, {QUARTILES}": fmt_iqr(r[clock]),
                    "memory / DDIM": None if r.get("mem_ratio") is None else round(r["mem_ratio"], 2)})
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


def agreement(row: dict, steps: int) -> tuple[bool, list[str]] | None:
    """(whether a row's counts agree with ``PUBLISHED`` within ``TOLERANCE``, those that do not in words), or None."""
    if row["label"] not in PUBLISHED:
        return None
    off = []
    for key, spec in PUBLISHED[row["label"]][1].items():
        lo, hi = (float(v(steps) if callable(v) else v) for v in spec)
        v = float(row[key])
        if not lo - TOLERANCE <= v <= hi + TOLERANCE:
            want = f"{lo:g}" if lo == hi else f"{lo:g} to {hi:g}"
            words = {"calls_per_step": "calls", "nfe_per_step": "NFE", "backward_per_step": "backward calls"}[key]
            off.append(f"{words} {v:.2f} against {want}")
    return not off, off


def published_table(res: dict) -> pd.DataFrame:
    """Each row with published counts: counted calls, NFE and backward calls per step, the authors', ``agreement``."""
    inv = res["benchmarks"]["inversion"]
    found = [(r, *agreement(r, inv["steps"])) for r in inv["rows"] if r["label"] in PUBLISHED]
    return pd.DataFrame([{"method": bench_name(r["label"]), "calls": round(r["calls_per_step"], 2),
                          "NFE": round(r["nfe_per_step"], 2), "backward": round(r["backward_per_step"], 2),
                          "authors": PUBLISHED[r["label"]][0], "agrees": "yes" if ok else "no: " + "; ".join(off)}
                         for r, ok, off in found]).set_index("method")


def targets_table(res: dict, full: dict | None = None) -> pd.DataFrame:
    """Every target of run ``res`` (goal, measured median and quartiles, ``judge``'s verdict), in the run's clock; the
    large metric targets from ``full`` (a ``--full`` run) when it ran on the same device."""
    b, rows = res["benchmarks"], []

    def add(name, goal, st, digits=2):   # goal: "<= 3", "< 60 s" (judged), or a reference's words in parentheses
        st = st if isinstance(st, dict) else {"median": st}
        judged = goal[0] in "<>"
        verdict = judge(st["median"], " ".join(goal.split()[:2]), st.get("q25"), st.get("q75")) if judged else "—"
        rows.append((name, goal.replace("<=", "≤").replace(">=", "≥"), fmt_iqr(st, digits), verdict))

    if "inversion" in b:
        inv, clock = b["inversion"], clock_of(res)
        n = inv["steps"]
        add("OVG / DDIM step", "<= 3", method_row(inv, "ovg")[clock])
        add("DDIM / DDIM step", "(1 if exact)", method_row(inv, "ddim")[clock])
        add("floor / DDIM step", "(reference)", inv["floor"][clock])
        add("OVG step / floor", "(overhead)", inv["targets"]["ovg_over_floor"])
        add(f"OVG / DDIM translation, {n} + {n} steps", "<= 2", inv["translation"]["ovg"][clock])
    if "training" in b:
        add("trainer / bare loop", ">= 0.95", b["training"]["ours"]["throughput_ratio_cpu"], 3)
    if "metrics" in b:
        add("latent metrics, 2,000 latents", "< 2 s", b["metrics"]["latent"]["total_warm_wall_s"], 1)
        m = (full["benchmarks"]["metrics"] if same_device(res, full) and "metrics" in full.get("benchmarks", {})
             else b["metrics"])
        p, i = m["pca_pixel"], m["image"]
        add("pixel PCA, 2,000 images" + (", extrapolated" if p["extrapolated_to_2000"] else ""), "< 60 s",
            p["wall_s_2000"], 1)
        add("S_HF + S_LF, 1,000 images" + (", extrapolated" if i["extrapolated_to_1000"] else ""), "< 10 s",
            i["total_wall_s_1000"], 1)
    return pd.DataFrame(rows, columns=["target", "goal", f"measured, {QUARTILES}", "verdict"]).set_index("target")


def verdict_counts(t: pd.DataFrame) -> dict[str, int]:
    """How many targets of a ``targets_table`` are met, within noise and not met, and how many have a goal."""
    v = t["verdict"]
    return {"judged": int((v != "—").sum()), **{k: int((v == k).sum()) for k in ("met", "within noise", "not met")}}


def training_table(res: dict) -> pd.DataFrame:
    """Our trainer and the bare loop with EMA, each against its own paired bare-loop runs: throughput ratios."""
    t, rows = res["benchmarks"]["training"], []
    for key, name in (("ours", "our trainer"), ("bare_ema", "bare + EMA")):
        r = t[key]
        rows.append({"loop": name, f"throughput / bare (CPU), {QUARTILES}": fmt_iqr(r["throughput_ratio_cpu"], 3),
                     f"throughput / bare (wall), {QUARTILES}": fmt_iqr(r["throughput_ratio_wall"], 3),
                     "images / s (wall)": round(r["images_per_s_wall"], 1),
                     "bare images / s (wall)": round(r["bare_images_per_s_wall"], 1)})
    return pd.DataFrame(rows).set_index("loop")


def metrics_table(res: dict) -> pd.DataFrame:
    """Seconds per metric evaluation, and as a multiple of the reference product timed in the same run."""
    m = res["benchmarks"]["metrics"]
    lat, p, i = m["latent"], m["pca_pixel"], m["image"]
    rows = [(f"{label}, {lat['n']:,} latents of 4 × 32 × 32", lat[k]["cpu_s"]["median"], lat[k]["wall_s"]["median"])
            for k, label in (("s_g", "S_G"), ("s_dc", "S_DC (threshold τ cached)"), ("pca", "PCA"))]
    rows.append(("S_DC threshold τ, first call", lat["tau_cold_cpu_s"], lat["tau_cold_wall_s"]))
    rows.append((f"PCA {p['n']:,} × {p['d']:,} (measured)", p["measured"]["cpu_s"]["median"],
                 p["measured"]["wall_s"]["median"]))
    rows += [(f"{label}, {i['n']:,} images of {i['size']} × {i['size']}", i[k]["cpu_s"]["median"],
              i[k]["wall_s"]["median"]) for k, label in (("s_hf", "S_HF"), ("s_lf", "S_LF"))]
    rows.append(("μ_HF of an image set, first call", i["mu_hf_cold_cpu_s"], None))
    rows.append(("μ_HF of the same set, from the cache", i["mu_hf_warm_cpu_s"], None))
    df = pd.DataFrame(rows, columns=["metric", "CPU s", "wall s"]).set_index("metric").astype(float)
    df["× reference product (CPU)"] = df["CPU s"] / m["ref_s"]
    return df.round(3)


def floor_variants_table(res: dict) -> pd.DataFrame:
    """One row per floor variant (``inversion.FLOOR_VARIANTS``): floor and DDIM step over own and default DDIM step."""
    inv = res["benchmarks"]["inversion"]
    rows = [("default", inv["floor"]["ratio_cpu"]["median"], 1.0, inv["floor"]["ratio_cpu"]["median"])]
    rows += [(k.replace("_", " "), v["floor_over_own_ddim"], v["ddim_over_default_ddim"], v["floor_over_default_ddim"])
             for k, v in (inv.get("floor_variants") or {}).items()]
    return pd.DataFrame(rows, columns=["variant", "floor / own DDIM step", "DDIM step / default DDIM",
                                       "floor / default DDIM"]).set_index("variant").round(2)


# ------------------------------------------------------------------------------------------ whole-run records

def checkpoint_times(root: str | Path) -> dict[str, dict]:
    """Per finished checkpoint folder: training ``seconds`` (all runs if ``seconds_complete``), steps, device."""
    out = {}
    for log in sorted(Path(root).glob("*/log.json")):
        d, cfg = json.loads(log.read_text()), log.parent / "config.json"
        steps = json.loads(cfg.read_text())["train"]["steps"] if cfg.exists() else None
        total = d.get("seconds_total")
        out[log.parent.name] = {"seconds": d["seconds_this_run"] if total is None else total, "steps": steps,
                                "seconds_complete": total is not None or d.get("steps_this_run", -1) == steps,
                                "device": d.get("device", "")}
    return out


def machines_table(results_dir: str | Path | None = None) -> pd.DataFrame:
    """One row per stored default CPU run (not latest.json), oldest first: CPU, DDIM step time, target ratios."""
    rows = []
    for f in sorted(Path(results_dir or RESULTS).glob("*.json")):
        r = json.loads(f.read_text())
        if f.name == "latest.json" or r.get("mode") != "default" or r["machine"]["device"] != "cpu":
            continue
        inv, tr = r["benchmarks"]["inversion"], r["benchmarks"]["training"]
        rows.append({"date": r["date"][:16].replace("T", " "), "cpu": cpu_words(r["machine"]),
                     "DDIM step (ms)": round(1e3 * method_row(inv, "ddim")["base_cpu_s"]["median"], 1),
                     "OVG step / DDIM": inv["targets"]["ovg_step"], "floor / DDIM": inv["targets"].get("floor"),
                     "OVG translation / DDIM": inv["targets"]["ovg_translation"],
                     "trainer / bare": tr["target"]["ratio"], "bare images / s": tr["ours"]["bare_images_per_s_wall"]})
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows).sort_values("date").set_index("date")
    df[df.columns[2:]] = df[df.columns[2:]].astype(float).round(2)
    return df


def _chapters(mc: dict, studies: bool) -> dict[str, float]:
    """{chapter: seconds} of the main command's record: the study chapters, else the pages."""
    return {k: v["seconds"] for k, v in mc["chapters"].items() if k.startswith("studies/") == studies}


def main_command_table(mc: dict) -> pd.DataFrame:
    """The recorded main command by part: install, study chapters and pages (summed), book build, total."""
    studies, pages = _chapters(mc, True), _chapters(mc, False)
    rows = [("install", mc["install_s"]), (f"study chapters, {len(studies)} (summed)", sum(studies.values())),
            (f"pages, {len(pages)} (summed)", sum(pages.values())), ("book build", mc["book_s"]),
            ("total (wall time)", mc["total_s"])]
    s = pd.Series(dict(rows), dtype=float).rename_axis("part")
    return pd.DataFrame({"seconds": s.round().astype("Int64"), "minutes": (s / 60).round(1)})


def main_command_chapters(mc: dict) -> pd.DataFrame:
    """One row per study chapter of the recorded main command (study, dataset, minutes), slowest first."""
    rows = [(*k.removeprefix("studies/").split("-", 1), round(v / 60, 1)) for k, v in _chapters(mc, True).items()]
    df = pd.DataFrame(rows, columns=["study", "dataset", "minutes"])
    return df.sort_values("minutes", ascending=False, kind="stable").set_index("study")


def results_agreement(mc: dict, rounding: float = 1e-6) -> str:
    """How the main command's results compare with the stored ones, in words (differences below ``rounding`` pooled)."""
    r = mc["results"]
    if r["identical"]:
        return f"identical in all {r['files_compared']} files"
    d = cluster_differences_table(r, ordered=False)
    small = d["relative difference"] < rounding
    rest = [f"{v or f} ({x:.1g})" if pd.notna(x) else f"{v or f} ({w})"
            for f, v, x, w in d.loc[~small].itertuples(index=False)]
    largest = d.loc[small, "relative difference"].max()
    within = f", their values by at most {largest:.0e} relative" if small.any() else ""
    return (f"{d['file'].nunique()} of {r['files_compared']} files differ{within}"
            + (f"{' except' if within else ':'} {', '.join(rest)}" if rest else ""))


def shipped_training_table(weights: str | Path) -> pd.DataFrame:
    """One row per shipped model under ``weights``: steps, device, hours, and whether its log holds every run."""
    rows = [{"model": model_name(folder), "steps": v["steps"], "trained on": v["device"],
             "hours": round(v["seconds"] / 3600, 2),
             "log records": "all runs" if v["seconds_complete"] else "last run only"}
            for folder, v in sorted(checkpoint_times(weights).items())]
    return pd.DataFrame(rows).set_index("model")


def smoke_table(rec: dict) -> pd.DataFrame:
    """One row per smoke study, slowest first, against the ``SMOKE_TARGET_S`` goal."""
    rows = [(k, v, "met" if v <= SMOKE_TARGET_S else "not met") for k, v in rec["studies_s"].items()]
    df = pd.DataFrame(rows, columns=["study / dataset", "seconds", f"≤ {SMOKE_TARGET_S} s"])
    return df.sort_values("seconds", ascending=False).set_index("study / dataset").round(1)


# the reference script's float32 variants at batch 32 that time the device check's figures
SAME_WORK = {"eager": "K=1 eager", "cuda_graph": "K=1 cuda graphs", "inversion_forward_eager": "DDIM sampling eager",
             "inversion_forward_graph": "DDIM sampling cuda graphs", "ovg_like_step_eager": "OVG-guided steps eager",
             "ovg_like_step_graph": "OVG-guided steps cuda graphs"}


def device_check_table(rec: dict) -> pd.DataFrame:
    """The device check's figures, eager and with CUDA graphs, beside the reference script's for the same work."""
    dc, ceil = rec["device_check"], {}
    for b in rec.get("ceiling", []):
        if b["variant"] == "graphs_on_streams":
            ceil[f"K={b['K']} cuda graphs"] = b["model_steps_per_s"]
        elif b["variant"] in SAME_WORK and b.get("batch") == 32 and not b.get("bf16"):
            ceil.setdefault(SAME_WORK[b["variant"]], b.get("steps_per_s", b.get("nfe_per_s")))
    rows = [{"work": section, "figure": name, "per second": round(v, 1),
             "unit": "model-steps" if section == "training" else ("NFE" if "sampling" in name else "steps"),
             "reference script": round(ceil[name], 1) if name in ceil else None}
            for section in ("training", "inversion") for name, v in dc[section].items() if v is not None]
    return pd.DataFrame(rows).set_index("work")


# what the benchmarks chapter shows before any cluster benchmark was recorded: no run, nothing compared
NO_CLUSTER_RECORD = {"profile": "quick", "jobs": 2, "runs": {}, "cluster_over_jobs": None, "compared": "no run",
                     "files_compared": 0, "differences": []}


def cluster_runs_table(rec: dict) -> pd.DataFrame:
    """One row per run of a cluster benchmark record: wall time, exit status, and its environment at its end."""
    names = {"jobs": f"--jobs {rec['jobs']}", "cluster": f"--cluster local --jobs {rec['jobs']}"}
    rows = []
    for mode, run in rec["runs"].items():
        env = run.get("environment") or rec["environment"]
        load = (env["machine"].get("load_average") or [None])[0]
        rows.append({"run": names.get(mode, mode), "minutes": round(run["wall_s"] / 60, 1),
                     "exit status": run["returncode"], "date": str(env["date"])[:10], "commit": env["commit"][:7],
                     "cpu": env["machine"].get("cpu"), "cores": env["machine"]["cpu_count"],
                     "load at end": None if load is None else round(load, 1)})
    cols = ["run", "minutes", "exit status", "date", "commit", "cpu", "cores", "load at end"]
    return pd.DataFrame(rows, columns=cols).set_index("run")


def cluster_cpus(rec: dict) -> list[str]:
    """The CPU models a cluster record's runs were measured on (their wall times compare only on one)."""
    envs = [run.get("environment") or rec["environment"] for run in rec["runs"].values()]
    return sorted({str(env["machine"].get("cpu")) for env in envs})


def cluster_which(rec: dict) -> str:
    """What a cluster record ran, in words: the profile's studies, or those ``--study`` and ``--dataset`` chose."""
    studies, datasets = rec.get("studies", "all"), rec.get("datasets", "each study's")
    what = (f"the {rec['profile']} studies" if studies == "all" else
            f"the {rec['profile']} studies {', '.join(studies)}")
    return what if isinstance(datasets, str) else f"{what} on {', '.join(datasets)}"


def cluster_differences_table(rec: dict, ordered: bool = True) -> pd.DataFrame:
    """A record's comparison of stored results (``store.Difference``), one row per file and variable: its largest
    relative difference, or what differs in words; ``ordered``: numbers largest first."""
    frame = pd.DataFrame(rec["differences"], columns=["file", "variable", "relative", "what"]) \
        .astype({"relative": float}).rename(columns={"relative": "relative difference"})
    if not ordered:
        return frame
    return frame.sort_values("relative difference", ascending=False, na_position="last", kind="stable") \
        .reset_index(drop=True)
