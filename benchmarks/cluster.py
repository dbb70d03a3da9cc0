"""The studies on a Dask LocalCluster with their cells as tasks, against the ordinary side-by-side run, on this
machine: the same studies from the shipped weights, each way once, into fresh results and cell folders, timed and
their stored results compared.

    python -m benchmarks.cluster --profile quick --jobs 2 --out benchmarks/results/<machine>-cluster.json
    python -m benchmarks.cluster --profile smoke --study velocity --dataset ihc-sr    # a minute's check

    python -m benchmarks.cluster --profile quick --mode jobs --against data/results --out R   # one run, later the
    python -m benchmarks.cluster --profile quick --mode cluster --against data/results --out R  # other, one record

The ordinary run is ``studies --jobs N``; the cluster run adds ``--cluster local``. The record holds both wall times,
their ratio and each variable whose stored results differ (``store.compare_folders``). ``--mode`` runs one of the two
(an hour or two each on the quick profile), joining the other's run in an ``--out`` record of the same settings.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

MODES = {"jobs": [], "cluster": ["--cluster", "local"]}   # the ordinary run, then the one on the cluster


def studies_command(profile: str, jobs: int, work: Path, mode: str, studies=None, datasets=None) -> list[str]:
    """The CLI call of one run (``mode`` in ``MODES``) into ``work/<mode>``."""
    cmd = [sys.executable, "-m", "spectral_collapse.cli", "studies", "--profile", profile, "--jobs", str(jobs),
           "--results-root", str(work / mode / "results"), "--book-dir", str(work / mode / "book"), "--quiet",
           *MODES[mode]]
    if studies:
        cmd += ["--study", *studies]
    if datasets:
        cmd += ["--dataset", *datasets]
    return cmd


def run_mode(profile: str, jobs: int, work: Path, mode: str, studies=None, datasets=None) -> dict:
    """One run into a fresh ``work/<mode>``: its wall time and exit status."""
    shutil.rmtree(work / mode, ignore_errors=True)
    cmd = studies_command(profile, jobs, work, mode, studies, datasets)
    print(f"{mode}: {' '.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    rc = subprocess.call(cmd)
    wall = time.perf_counter() - t0
    print(f"{mode}: {wall:.0f} s, exit status {rc}", flush=True)
    return {"wall_s": round(wall, 1), "returncode": rc, "command": " ".join(cmd[1:])}


def record(profile: str, jobs: int, runs: dict, files: list[str], diffs: list, studies, datasets,
           compared: str = "the two runs") -> dict:
    """The benchmark's record: each run, the cluster run's time over the ordinary run's, the comparison of results."""
    from .common import environment

    base, other = (runs.get(m, {}).get("wall_s") for m in MODES)
    return {"benchmark": "cluster", "profile": profile, "jobs": jobs, "studies": studies or "all",
            "datasets": datasets or "each study's", "runs": runs,
            "cluster_over_jobs": round(other / base, 3) if base and other else None,
            "compared": compared, "files_compared": len(files), "identical": bool(files) and not diffs,
            "differences": [d._asdict() for d in diffs], "environment": environment()}


def earlier_runs(out, profile: str, jobs: int, studies, datasets) -> dict:
    """The runs (each with its environment) of an existing record at ``out`` of the same settings; else {}."""
    path = Path(out) if out else None
    if path is None or not path.is_file():
        return {}
    old = json.loads(path.read_text())
    same = (old.get("benchmark"), old.get("profile"), old.get("jobs"), old.get("studies"), old.get("datasets")) == \
        ("cluster", profile, jobs, studies or "all", datasets or "each study's")
    return {m: {"environment": old.get("environment"), **r} for m, r in old.get("runs", {}).items()} if same else {}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.cluster", description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes of both runs (default 2)")
    ap.add_argument("--study", nargs="*", default=None, help="only these studies (default: all)")
    ap.add_argument("--dataset", nargs="*", default=None, help="only these datasets (default: each study's)")
    ap.add_argument("--work", default="data/cache/cluster-benchmark", help="scratch folder of the two runs")
    ap.add_argument("--out", default=None, help="the record (JSON); default: print only")
    ap.add_argument("--mode", nargs="+", choices=list(MODES), default=list(MODES),
                    help="the runs to make (default: both); one joins the other's in the --out record")
    ap.add_argument("--against", default=None,
                    help="results folder a run alone is compared with (e.g. data/results); default: none")
    a = ap.parse_args(argv)

    from spectral_collapse.framework.store import compare_folders, describe

    work = Path(a.work)
    runs = earlier_runs(a.out, a.profile, a.jobs, a.study, a.dataset)
    runs.update({mode: run_mode(a.profile, a.jobs, work, mode, a.study, a.dataset) for mode in a.mode})
    names = {"jobs": "the ordinary run", "cluster": "the cluster run"}
    if all((work / m / "results").is_dir() for m in MODES):
        compared, pair = "the two runs", [work / m / "results" for m in MODES]
        files, diffs = compare_folders(*pair, names=tuple(names.values()))
    elif a.against:
        mode = a.mode[-1]
        compared = f"the {names[mode].split()[1]} run and {a.against}"
        files, diffs = compare_folders(work / mode / "results", a.against, names=(names[mode], a.against))
    else:
        compared, files, diffs = "nothing (one run; pass --against)", [], []
    rec = record(a.profile, a.jobs, runs, files, diffs, a.study, a.dataset, compared)
    text = json.dumps(rec, indent=1) + "\n"
    if a.out:
        from spectral_collapse.train.cache import atomic_write_bytes

        atomic_write_bytes(a.out, text.encode())
    print(*describe(diffs)[:20], sep="\n")
    print(", ".join(f"{names[m].split()[1]} {runs[m]['wall_s']} s" for m in MODES if m in runs)
          + f" (ratio {rec['cluster_over_jobs']}); identical results ({compared}): {rec['identical']} "
          f"({len(files)} files)" + (f"; record: {a.out}" if a.out else ""))
    return 0 if (rec["identical"] or not files) and all(r["returncode"] == 0 for r in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
