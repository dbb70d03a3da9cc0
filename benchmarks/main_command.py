"""The main command's wall time and its breakdown: what is recorded, read back for the book.

Training times come from the checkpoints themselves (``data/checkpoints/*/log.json``: ``seconds_total``, the time
of every step kept, the runs a killed training resumed from included; checkpoints that predate it record only
``seconds_this_run``, the run that finished the model). The whole command's numbers
(install, training per model, studies, book build) are written by whoever times the main command to
``benchmarks/results/main_command.json``::

    {"install_s": 120, "train_s": {"ihc-sr-x4-eps-quick": 480, ...}, "studies_s": {"main_results": 900, ...},
     "book_s": 60, "cores": 2, "device": "cpu", "note": "..."}
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .common import ROOT, cpu_model

__all__ = ["checkpoint_times", "load_main_command", "MAIN_COMMAND_FILE", "GPU_GOAL_S", "studies_times", "record"]

MAIN_COMMAND_FILE = ROOT / "benchmarks" / "results" / "main_command.json"
# The whole quick book from scratch, training included, on one GPU (an H100): 15 minutes. On a CPU the time is a
# measurement with no goal: the models train to the quality gate however long that takes, and the shipped weights
# spare a fresh clone the training.
GPU_GOAL_S = 15 * 60


def checkpoint_times(root: str | Path = ROOT / "data" / "checkpoints") -> dict[str, dict]:
    """Per finished checkpoint: training seconds (``seconds``: all its runs when recorded, else its last run, with
    ``seconds_complete`` saying which), steps, and the profile named in its folder."""
    out = {}
    for log in sorted(Path(root).glob("*/log.json")):
        try:
            d = json.loads(log.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        name = log.parent.name
        cfg = {}
        if (log.parent / "config.json").exists():
            cfg = json.loads((log.parent / "config.json").read_text())
        total = d.get("seconds_total")
        out[name] = {"seconds_this_run": d.get("seconds_this_run"),
                     "seconds": total if total is not None else d.get("seconds_this_run"),
                     "seconds_complete": total is not None or (d.get("steps_this_run") is not None
                                                                 and d["steps_this_run"] == cfg.get("train", {}).get("steps")),
                     "steps": cfg.get("train", {}).get("steps"), "batch_size": cfg.get("train", {}).get("batch_size"),
                     "profile": next((p for p in ("smoke", "quick", "paper") if f"-{p}-" in name + "-"), None)}
    return out


def load_main_command(path: str | Path = MAIN_COMMAND_FILE) -> dict | None:
    """The recorded main-command timings with a computed total, or None when not measured yet."""
    path = Path(path)
    if not path.exists():
        return None
    d = json.loads(path.read_text())
    parts = {"install": d.get("install_s") or 0, "training": sum((d.get("train_s") or {}).values()),
             "studies": sum((d.get("studies_s") or {}).values()), "book": d.get("book_s") or 0}
    d["total_s"] = d.get("total_s") or sum(parts.values())
    d["parts_s"] = parts
    on_gpu = str(d.get("device", "cpu")).startswith("cuda")
    d["goal_s"] = GPU_GOAL_S if on_gpu else None        # no goal on a CPU
    d["met"] = bool(d["total_s"] <= GPU_GOAL_S) if on_gpu else None
    return d


STUDY_LINE = re.compile(r"^(?P<study>[\w-]+) / (?P<dataset>[\w.-]+) / (?P<profile>\w+): executed in (?P<s>\d+) s")


def studies_times(log_text: str) -> dict[str, float]:
    """Per executed chapter ("<study>/<dataset>"), the seconds printed by ``cli studies`` (pipeline/execute.py)."""
    return {f"{m['study']}/{m['dataset']}": float(m["s"])
            for m in map(STUDY_LINE.match, log_text.splitlines()) if m}


def record(path: str | Path = MAIN_COMMAND_FILE, **fields) -> Path:
    """Write the main command's timings (install_s, train_s, studies_s, book_s, wall_s, note, ...) atomically."""
    import os
    import platform

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    d = {"cores": os.cpu_count(), "device": "cpu", "machine": platform.machine(), "cpu": cpu_model(), **fields}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(d, indent=1, sort_keys=True))
    os.replace(tmp, path)
    return path
