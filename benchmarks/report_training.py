"""The training benchmark's table and sentences for the benchmarks chapter: our trainer against a bare loop,
each throughput ratio in both clocks with its quartiles (re-exported by ``benchmarks.report``)."""
from __future__ import annotations

import pandas as pd

from .report_clocks import QUARTILES, fmt_iqr, legend

__all__ = ["TRAINING_LOOPS", "training_legend", "training_table", "training_clocks_note"]


# the training benchmark's loops: (row label, what the loop runs)
TRAINING_LOOPS = {"ours": ("our trainer", "Accelerate, EMA, clipping, schedule, label dropout"),
                  "bare_ema": ("bare + EMA", "the bare loop with the EMA update only")}


# how the training table's columns are formed (``training.run_training``: each loop paired with its own bare runs)
TRAINING_COLUMNS = ("Each row is paired with its own runs of the bare loop, so the bare images per second differ "
                    "from row to row; a throughput column is the median of the per-pair ratios, and the images per "
                    "second are the medians of each loop's own run times, so their quotient need not equal the "
                    "ratio shown.")


def training_legend() -> str:
    """What each row of ``training_table`` runs, and how its columns are formed."""
    return f"{legend(TRAINING_LOOPS.values())} {TRAINING_COLUMNS}"


def training_table(res: dict) -> pd.DataFrame:
    t = res["benchmarks"]["training"]
    rows = []
    for name, what in TRAINING_LOOPS.items():
        r = t[name]
        rows.append({"loop": what[0], f"throughput vs bare (CPU), {QUARTILES}": fmt_iqr(r["throughput_ratio_cpu"], 3),
                     f"throughput vs bare (wall), {QUARTILES}": fmt_iqr(r["throughput_ratio_wall"], 3),
                     "images / s (wall)": round(r["images_per_s_wall"], 1),
                     "bare images / s (wall)": round(r["bare_images_per_s_wall"], 1)})
    return pd.DataFrame(rows).set_index("loop")


def training_clocks_note(res: dict, digits: int = 3) -> str:
    """Why a row of ``training_table`` may read the same in its CPU and wall columns: each column is its own ratio
    (CPU time, wall time), and a loop that never waits (pure computation on one thread) spends as much CPU time as
    wall time, so the two agree; a loop whose wall time exceeds its CPU time waited (files, set-up). One sentence
    naming the rows whose two columns agree at ``digits`` decimals, with the unrounded ratios and the seconds each
    run waited; '' when none agree."""
    t = res["benchmarks"]["training"]
    same = []
    for name, (label, _) in TRAINING_LOOPS.items():
        r = t.get(name) or {}
        c, w = (r.get(k, {}).get("median") for k in ("throughput_ratio_cpu", "throughput_ratio_wall"))
        if c is None or w is None or f"{c:.{digits}f}" != f"{w:.{digits}f}":
            continue
        med = {k: (r.get(k) or {}).get("median", float("nan")) for k in ("wall_s", "cpu_s", "base_wall_s", "base_cpu_s")}
        wait = max(med["wall_s"] - med["cpu_s"], med["base_wall_s"] - med["base_cpu_s"])
        same.append(f"{label} ({c:.5f} in CPU time, {w:.5f} in wall time; in its runs and the bare loop's, wall "
                    f"time exceeds CPU time by at most {wait * 1000:.1f} ms)")
    if not same:
        return ""
    return ("The two throughput columns are separate measurements, and agree to the digits shown for "
            + "; ".join(same) + ": a loop that computes on one thread without waiting spends its wall time as CPU "
            "time, so both clocks give the same ratio.")
