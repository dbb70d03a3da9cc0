"""Soak run: a profile's studies, run back to back twice, must give identical results without memory growth.

    python scripts/soak.py --profile quick                                         # every study and dataset, twice
    python scripts/soak.py --profile smoke --study main_results --dataset ihc-sr   # a short run (a slow test)

Each round executes every (study, dataset) chapter into a fresh results folder (with the stored Pareto choices), reusing
the trained models. It passes when both rounds' results are equal (provenance aside) and no study's peak memory grows by
more than --rel and --abs-mb; the report goes to docs/soak.json, exit status 1 when a criterion fails. A quick soak
takes hours.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import platform
import shutil
import sys
import threading
import time
from pathlib import Path

import psutil  # a dependency of ipykernel, which runs the study notebooks

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mb(run) -> float:
    """Call ``run()``; the peak resident memory (MiB) of this process and its kernels while it ran (every 0.5 s)."""
    peak, stop = [], threading.Event()

    def sample():
        while not peak or not stop.wait(0.5):
            total = 0
            for proc in [psutil.Process(), *psutil.Process().children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # ended while being read
                    total += proc.memory_info().rss
            peak.append(total / 2**20)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        run()
    finally:
        stop.set()
        thread.join()
    return max(peak)


def run_round(r: int, pairs, profile: str, work: Path) -> dict:
    """Execute every (study, dataset) once into ``work/round<r>``; return its timings and memory peaks."""
    from spectral_collapse.pipeline.execute import execute_study

    base = work / f"round{r}"
    shutil.rmtree(base, ignore_errors=True)
    for f in sorted((ROOT / "data" / "results").glob(f"pareto/*-{profile}-choice.json")):
        (base / "results" / "pareto").mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, base / "results" / "pareto" / f.name)
    rows = []
    for study, dataset in pairs:
        t0 = time.time()
        peak = peak_rss_mb(lambda: execute_study(study, dataset, profile, root=ROOT, book_dir=base / "book",
                                                 results_root=str(base / "results"), force=True))
        rows.append({"study": study, "dataset": dataset, "wall_s": round(time.time() - t0, 1),
                     "peak_rss_mb": round(peak, 1)})
        print(f"round {r}: {study} / {dataset}: {rows[-1]['wall_s']} s, peak {rows[-1]['peak_rss_mb']} MB", flush=True)
    return {"round": r, "wall_s": round(sum(x["wall_s"] for x in rows), 1), "studies": rows}


def compare_results(a: Path, b: Path) -> tuple[list[str], list[str]]:
    """(files compared, differences in words) between the two rounds' results folders (``store.compare_folders``)."""
    from spectral_collapse.framework.store import compare_folders, describe

    files, diffs = compare_folders(a, b, names=("round 1", "round 2"))
    return files, describe(diffs)


def report(profile: str, rounds: list[dict], files: list[str], diffs: list[str], rel: float, abs_mb: float) -> dict:
    """The soak report: the rounds, whether their results are identical and their memory within the bound."""
    from spectral_collapse.framework.store import provenance

    growth = [f"{s1['study']}/{s1['dataset']} peak {s1['peak_rss_mb']} -> {s2['peak_rss_mb']} MB"
              for s1, s2 in zip(rounds[0]["studies"], rounds[1]["studies"])
              if s2["peak_rss_mb"] > s1["peak_rss_mb"] * (1 + rel) + abs_mb]
    prov = provenance()
    return {"profile": profile, "date": prov["created"], "commit": prov["git_commit"],
            "machine": f"{platform.machine()}, {psutil.cpu_count()} CPUs, Python {platform.python_version()}",
            "bound": {"rel": rel, "abs_mb": abs_mb}, "rounds": rounds,
            "files_compared": files, "identical": not diffs and bool(files), "differences": diffs,
            "within_bound": not growth, "growth": growth}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--study", nargs="*", default=None, help="studies (default: all)")
    ap.add_argument("--dataset", nargs="*", default=None, help="datasets (default: each study's own)")
    ap.add_argument("--work", default=None, help="scratch folder (default: data/cache/soak/<profile>)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "soak.json"))
    ap.add_argument("--rel", type=float, default=0.10, help="allowed relative growth of a study's peak memory")
    ap.add_argument("--abs-mb", type=float, default=100.0, help="allowed absolute growth (MB)")
    a = ap.parse_args(argv)

    from spectral_collapse.pipeline import graph
    from spectral_collapse.framework.profiles import get_profile
    from spectral_collapse.train.cache import atomic_write_bytes

    get_profile(a.profile)
    pairs = [(s, d) for s in graph.run_order(a.study) for d in (a.dataset or graph.datasets(s))]
    work = Path(a.work) if a.work else ROOT / "data" / "cache" / "soak" / a.profile
    rounds = [run_round(r, pairs, a.profile, work) for r in (1, 2)]
    files, diffs = compare_results(work / "round1" / "results", work / "round2" / "results")
    rep = report(a.profile, rounds, files, diffs, a.rel, a.abs_mb)
    atomic_write_bytes(a.out, (json.dumps(rep, indent=1) + "\n").encode())
    print(f"identical: {rep['identical']}, memory within bound: {rep['within_bound']}; report: {a.out}")
    return 0 if rep["identical"] and rep["within_bound"] else 1


if __name__ == "__main__":
    sys.exit(main())
