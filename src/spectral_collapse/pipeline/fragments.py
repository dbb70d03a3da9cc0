"""The hand-written pages' tables from stored results, which scripts/make_toc.py writes into book/_generated/."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..plotting.reader import reader_text
from ..framework.method_labels import name_quoted_methods
from ..tables.reproducing import (TIMING_FILE, gpu_table, gpu_train_table, paper_scale_estimate, profile_table,
                                   timing_table)
from ..framework.store import load_results, results_path
from ..tables.costs import command_tables
from ..tables.main_results import md_table
from ..text import large, ranges

__all__ = ["paper_timing", "bench_ovg_step_ratio", "schedule_table", "book_fragments", "command_markdown"]

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


def schedule_table(root: str | Path, profile: str) -> pd.DataFrame:
    """The OVG page's schedules, one row per dataset with ``ovg_schedule`` results."""
    main = results_path("main_results", "ihc-sr", profile, root)
    seeds = int(load_results(main).sizes.get("seed", 1)) if main.exists() else None
    rows = []
    for d in ("ihc-sr", "ihc-edges"):
        if (p := results_path("ovg_schedule", d, profile, root)).exists():
            a = load_results(p).attrs
            rows.append({"dataset": d, "sampling seed": a.get("seed"), "test crops": a.get("n_test"),
                         "main results' seeds": seeds, "time budget (× DDIM)": f"{float(a['max_time_ratio']):g}",
                         "best schedule": str(a.get("best_schedule", "")) or "none",
                         "share of the gain": f"{float(a.get('best_gain_share', float('nan'))):.2f}"})
    return pd.DataFrame(rows)


def _note(text: str) -> str:
    return f"```{{note}}\n{text}\n```\n"


def _book_text(text: str) -> str:
    """``text`` in the book's one notation: keys, method labels and ASCII forms as the chapters show them."""
    return ranges(reader_text(name_quoted_methods(text)))


def command_markdown(records: str | Path = "benchmarks/results") -> str:
    """The cost chapter's command times as Markdown, a bold name and a table per machine (``tables.costs``)."""
    return _book_text("".join(f"**On {machine}**\n\n{md_table(table)}\n\n"
                              for machine, table in command_tables(records).items())
                      or _note("No benchmark record of the commands is stored (benchmarks/results/commands.json)."))


def book_fragments(results_root: str | Path = "data/results", profile: str = "quick",
                   bench: dict | None = None, gpu: dict | None = None) -> dict[str, str]:
    """{file name under book/_generated: a Markdown table}; ``bench``: benchmarks/results/latest.json parsed,
    ``gpu``: the newest GPU measurement of the paper's scale or None."""
    timing, ratio = paper_timing(results_root), bench_ovg_step_ratio(bench)
    if timing is None:
        estimate = _note("No timing of the paper U-Net is stored: measure it (a minute on one CPU core) with `python "
                         "-m benchmarks.paper_unet` (`measure_paper_unet`), then run `python scripts/make_toc.py`.")
    else:
        est = paper_scale_estimate(timing, ovg_step_ratio=ratio)
        est = est.assign(forward_equivalents=[large(v) for v in est["forward_equivalents"]],
                         cpu_hours=[f"{v:,.0f}" for v in est["cpu_hours"]],
                         gpu_hours=[f"{v:,.1f}" for v in est["gpu_hours"]])
        estimate = (md_table(timing_table(timing, ratio)) + "\n\n"
                    + md_table(est.rename(columns={"forward_equivalents": "forward passes (equivalent)",
                                                   "cpu_hours": "CPU hours (1 thread)",
                                                   "gpu_hours": "GPU hours (assumed)"})) + "\n")
    no_gpu = "No GPU measurement is stored: `python -m benchmarks.gpu_check --paper-scale` on a GPU machine writes one."
    fit = gpu if gpu and "paper_scale" in gpu else None
    schedule = schedule_table(results_root, profile)
    out = {
        "ovg-schedule.md": md_table(schedule) + "\n" if len(schedule) else _note(
            f"No `ovg_schedule` results are stored for the `{profile}` profile; `make book` runs the study."),
        "reproducing.md": estimate,
        "reproducing-profile.md": md_table(profile_table(profile)) + "\n",
        "reproducing-gpu.md": (md_table(gpu_train_table(fit)) + "\n\n" + md_table(gpu_table(fit, timing, ratio))
                               + "\n") if fit else _note(no_gpu)}
    return {name: _book_text(v) for name, v in out.items()}
