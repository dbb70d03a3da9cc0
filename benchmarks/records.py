"""Tables of whole-run records for the benchmarks chapter: the stored default runs per CPU, the main command from
scratch, the shipped models' training times and the smoke profile's studies (values only; the chapter says what
they mean)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .tables import RESULTS, SMOKE_TARGET_S, cpu_words, method_row


def machines_table(results_dir: str | Path | None = None) -> pd.DataFrame:
    """One row per stored default CPU run (not latest.json, --full or cuda files), oldest first: the CPU, its DDIM
    step time and the target ratios measured on it. The ratios are properties of a CPU as much as of the code."""
    rows = []
    for f in sorted(Path(results_dir or RESULTS).glob("*.json")):
        r = json.loads(f.read_text()) if f.name != "latest.json" else {}
        m = r.get("machine")
        if r.get("mode") != "default" or not isinstance(m, dict) or m.get("device", "cpu") != "cpu":
            continue
        inv, tr = r["benchmarks"].get("inversion", {}), r["benchmarks"].get("training", {})
        t, ddim = inv.get("targets", {}), method_row(inv, "ddim")
        rows.append({"date": str(r.get("date", ""))[:16].replace("T", " "), "cpu": cpu_words(m),
                     "DDIM step (ms)": None if ddim is None else round(1e3 * ddim["base_cpu_s"]["median"], 1),
                     "OVG step / DDIM": t.get("ovg_step"), "floor / DDIM": t.get("floor"),
                     "OVG translation / DDIM": t.get("ovg_translation"),
                     "trainer / bare": tr.get("target", {}).get("ratio"),
                     "bare images / s": tr.get("ours", {}).get("bare_images_per_s_wall")})
    cols = ["date", "cpu", "DDIM step (ms)", "OVG step / DDIM", "floor / DDIM", "OVG translation / DDIM",
            "trainer / bare", "bare images / s"]
    df = pd.DataFrame(rows, columns=cols).sort_values("date")
    df[cols[3:]] = df[cols[3:]].astype(float).round(2)
    return df.set_index("date")


def main_command_table(mc: dict) -> pd.DataFrame:
    """The recorded from-scratch main command by part: install, its study chapters (each chapter's own time,
    summed: two ran at a time, so the sum exceeds the wall time), the training inside them, book build, total."""
    train, studies = mc.get("train_s") or {}, mc.get("studies_s") or {}
    rows = [("install", mc.get("install_s")), (f"studies, {len(studies)} chapters (summed)", sum(studies.values())),
            (f"of which training, {len(train)} models", sum(train.values())), ("book build", mc.get("book_s")),
            ("total (wall time)", mc["total_s"])]
    df = pd.DataFrame(rows, columns=["part", "seconds"]).astype({"seconds": float})
    df["minutes"] = (df["seconds"] / 60).round(1)
    df["seconds"] = df["seconds"].round().astype("Int64")
    return df.set_index("part")


def model_name(folder: str) -> str:
    """A checkpoint folder's model name without its configuration hash ("ihc-sr-x4-eps-quick-7e26214ebd7e" ->
    "ihc-sr-x4-eps-quick")."""
    stem, _, tail = str(folder).rpartition("-")
    return stem if stem and len(tail) == 12 and all(c in "0123456789abcdef" for c in tail) else str(folder)


def shipped_training_table(weights: str | Path) -> pd.DataFrame:
    """One row per shipped model under ``weights``: training steps, the device its log names, hours from its own
    log, and whether the log holds every run the model took or only the run that finished it."""
    from .main_command import checkpoint_times

    rows = []
    for folder, v in sorted(checkpoint_times(weights).items()):
        if v.get("seconds") is None:
            continue
        try:
            device = json.loads((Path(weights) / folder / "log.json").read_text()).get("device", "")
        except (OSError, ValueError):
            device = ""
        kind, sep, rest = str(device).replace("1 thread(s)", "1 thread").replace("(s)", "s").partition(":")
        rows.append({"model": model_name(folder), "steps": v.get("steps"),
                     "trained on": {"cuda": "GPU", "cpu": "CPU"}.get(kind.strip(), kind) + sep + rest,
                     "hours": round(v["seconds"] / 3600, 2),
                     "log records": "all runs" if v.get("seconds_complete") else "last run only"})
    return pd.DataFrame(rows, columns=["model", "steps", "trained on", "hours", "log records"]).set_index("model")


def smoke_table(rec: dict) -> pd.DataFrame:
    """One row per smoke study (its time includes the models it trained first), slowest first, against the
    ``SMOKE_TARGET_S`` goal."""
    rows = [(k, v, "met" if v <= SMOKE_TARGET_S else "not met") for k, v in rec["studies_s"].items()]
    df = pd.DataFrame(rows, columns=["study / dataset", "seconds", f"≤ {SMOKE_TARGET_S} s"])
    return df.sort_values("seconds", ascending=False).set_index("study / dataset").round(1)
