"""Soak run: a profile's full set of studies, run back to back twice, must give identical results
without memory growth beyond a stated bound.

    python scripts/soak.py --profile quick                     # every study and dataset of the profile, twice
    python scripts/soak.py --profile smoke --study main_results --dataset ihc-sr   # a short run (tests/test_reliability.py)
    python scripts/soak.py --profile quick --lanes 2 --work W --resume LOG >> LOG   # finish a soak that was cut off

Each round executes every (study, dataset) notebook with papermill, as `python -m spectral_collapse.cli studies`
does, into a fresh results folder (``<work>/round<r>/results``) so that every number is computed again; trained
models are reused from the checkpoint root ($SPECTRAL_COLLAPSE_CHECKPOINTS or data/checkpoints), and are trained
in round 1 when missing. Measured per study: wall time and the peak resident memory of this process plus all its
children (the kernel), sampled every ``--interval`` seconds; per round: this process's resident memory at the end.

Pass criteria (written to the report): every results file of round 2 equals round 1 (all variables, coordinates
and attributes except the provenance stamps); for every study, peak memory in round 2 <= peak in round 1 x (1 +
``--rel``) + ``--abs-mb``; this process grows by at most ``--abs-mb`` between the end of round 1 and of round 2.
The report goes to ``--out`` (JSON, default docs/soak.json; the benchmarks chapter reads it). Exit status 1 when a
criterion fails.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROVENANCE_ATTRS = ("created", "git_commit", "git_dirty", "versions", "content_sha256")  # the checksum covers the stamps


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MB (from /proc; 0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def descendants(pid: int) -> list[int]:
    """Process ids of all descendants of ``pid`` (from /proc/<p>/stat parent ids)."""
    parent = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            parent[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    out, frontier = [], [pid]
    while frontier:
        kids = [p for p, pp in parent.items() if pp in frontier]
        out += kids
        frontier = kids
    return out


class PeakMemory:
    """Samples the resident memory of this process and its descendants in a thread; ``peak_mb`` is the maximum."""

    def __init__(self, interval: float = 0.5):
        self.interval, self.peak_mb, self._stop = interval, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> float:
        me = os.getpid()
        return rss_mb(me) + sum(rss_mb(p) for p in descendants(me))

    def _run(self):
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._sample())


def seed_inputs(results: Path, profile: str, source: Path | None) -> list[str]:
    """Copy into a fresh round's results folder the stored Pareto choices: main results, analyses and ablations take
    OVG's step sizes from them, so a lane need not wait for the lane that reruns the Pareto sweep (which then
    overwrites them; the comparison with the stored results checks that it chose the same). Nothing else is seeded:
    a stored results file would be loaded instead of recomputed. Returns the files copied."""
    if source is None or not source.exists():
        return []
    copied = []
    for f in sorted(source.glob(f"pareto/*-{profile}-choice.json")):
        dst = results / f.relative_to(source)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dst)
        copied.append(str(f.relative_to(source)))
    return copied


def run_round(r: int, pairs, profile: str, work: Path, interval: float, seed_from: Path | None = None,
              done: dict | None = None) -> dict:
    """Execute every (study, dataset) once into ``work/round<r>``; return its timings and memory figures.
    ``done`` (resuming a soak that was cut off): the pairs of this round a log records as finished, mapped to their
    logged rows; they are not run again, their results stay in place and their rows are reported as logged."""
    from spectral_collapse.pipeline.execute import execute_study

    base = work / f"round{r}"
    if done is None or not base.exists():
        shutil.rmtree(base, ignore_errors=True)
        seed_inputs(base / "results", profile, seed_from)
    done = done or {}
    rows, t_round = [], time.time()
    for study, dataset in pairs:
        if (study, dataset) in done:
            rows.append({**done[(study, dataset)], "from_log": True})
            continue
        settle = time.time() + 60  # the previous study's kernel may still be exiting: do not count it in this one
        while descendants(os.getpid()) and time.time() < settle:
            time.sleep(0.2)
        t0 = time.time()
        with PeakMemory(interval) as mem:  # execute_study retries a kernel that dies at start-up (port races)
            execute_study(study, dataset, profile, root=ROOT, book_dir=base / "book",
                          results_root=str(base / "results"), force=True)
        rows.append({"study": study, "dataset": dataset, "wall_s": round(time.time() - t0, 1),
                     "peak_rss_mb": round(mem.peak_mb, 1)})
        print(f"round {r}: {study} / {dataset}: {rows[-1]['wall_s']} s, peak {rows[-1]['peak_rss_mb']} MB", flush=True)
    return {"round": r, "wall_s": round(time.time() - t_round, 1), "parent_rss_mb": round(rss_mb(os.getpid()), 1),
            "studies": rows}


def compare_results(a: Path, b: Path, only_common: bool = False, tag: str = "") -> tuple[list[str], list[str]]:
    """(files compared, differences) between two results folders: every .nc and .json, provenance stamps aside
    (``only_common``: the files present in both; ``tag``: only files whose path contains it)."""
    import numpy as np
    import xarray as xr

    na, nb = ({p.relative_to(x) for p in x.rglob("*") if p.is_file() and p.suffix in (".nc", ".json")} for x in (a, b))
    names = sorted(n for n in (na & nb if only_common else na | nb) if tag in str(n))
    diffs = []
    for rel in names:
        pa, pb = a / rel, b / rel
        if not (pa.exists() and pb.exists()):
            diffs.append(f"{rel}: only in round {1 if pa.exists() else 2}")
            continue
        if rel.suffix == ".json":
            ja, jb = (({k: v for k, v in json.loads(q.read_text()).items() if k not in PROVENANCE_ATTRS}) for q in (pa, pb))
            if ja != jb:
                diffs.append(f"{rel}: contents differ")
            continue
        da, db = (xr.load_dataset(p, engine="h5netcdf") for p in (pa, pb))
        for ds in (da, db):
            ds.attrs = {k: v for k, v in ds.attrs.items() if k not in PROVENANCE_ATTRS}
        if da.identical(db):
            continue
        for v in sorted(set(da.variables) | set(db.variables)):
            if v not in da.variables or v not in db.variables:
                diffs.append(f"{rel}:{v}: missing in one round")
            elif not da[v].identical(db[v]):
                x, y = np.asarray(da[v].values), np.asarray(db[v].values)
                gap = (float(np.nanmax(np.abs(x.astype(float) - y.astype(float))))
                       if x.shape == y.shape and x.dtype.kind in "fiub" and x.size else "n/a")
                diffs.append(f"{rel}:{v}: differs (max abs difference {gap})")
        keys = sorted(k for k in set(da.attrs) | set(db.attrs) if str(da.attrs.get(k)) != str(db.attrs.get(k)))
        if keys:
            diffs.append(f"{rel}: attributes differ ({', '.join(keys)})")
    return [str(n) for n in names], diffs


ROUND_LINE = re.compile(r"^round (?P<r>\d+): (?P<study>[\w-]+) / (?P<dataset>[\w.-]+): (?P<s>[\d.]+) s, peak (?P<mb>[\d.]+) MB")


def log_rows(log: Path) -> dict[int, dict]:
    """The runs a soak log records as finished: {round: {(study, dataset): row}}."""
    rows: dict[int, dict] = {}
    for m in map(ROUND_LINE.match, log.read_text(errors="replace").splitlines()):
        if m:
            rows.setdefault(int(m["r"]), {})[(m["study"], m["dataset"])] = {
                "study": m["study"], "dataset": m["dataset"], "wall_s": float(m["s"]), "peak_rss_mb": float(m["mb"])}
    return rows


LANE_LINE = re.compile(r"^lane (?P<k>\d+): (?P<pairs>.+)$")


def log_lanes(log: Path) -> list[list[tuple[str, str]]]:
    """The lanes a soak log announced (``lane k: study/dataset, ...``), in lane order; [] for a one-lane soak."""
    lanes = {}
    for m in map(LANE_LINE.match, log.read_text(errors="replace").splitlines()):
        if m:
            lanes[int(m["k"])] = [tuple(p.split("/", 1)) for p in m["pairs"].split(", ")]
    return [lanes[k] for k in sorted(lanes)]


CHAINED = ("pareto", "main_results", "metric_validation")  # read each other's results file of the same dataset


def balanced_lanes(pairs, n: int, cost: dict) -> list[list]:
    """Split (study, dataset) pairs into ``n`` lanes of similar total cost (longest first, to the lightest lane);
    each lane keeps the pairs' original order. The studies of ``CHAINED`` on one dataset stay in one lane (the
    Pareto sweep takes its baselines from the main results when they exist, the metric validation its
    correlations). ``cost`` maps "study/dataset" to seconds (unknown: 60)."""
    units: dict = {}
    for p in pairs:
        units.setdefault(("chain", p[1]) if p[0] in CHAINED else p, []).append(p)
    lanes, load = [[] for _ in range(n)], [0.0] * n
    for unit in sorted(units.values(), key=lambda u: -sum(cost.get("/".join(p), 60.0) for p in u)):
        i = load.index(min(load))
        lanes[i] += unit
        load[i] += sum(cost.get("/".join(p), 60.0) for p in unit)
    order = {p: k for k, p in enumerate(pairs)}
    return [sorted(lane, key=order.get) for lane in lanes if lane]


def run_lanes(a, pairs, work: Path, assigned: list[list] | None = None) -> list[dict]:
    """Run the soak as ``a.lanes`` child processes side by side, each its own share of the pairs, all rounds,
    in its own scratch folder; returns each lane's report. Costs to balance come from the last measured main
    command (benchmarks/results/main_command.json), else equal. ``assigned``: the lanes of a soak being resumed."""
    import subprocess

    cost_file = ROOT / "benchmarks" / "results" / "main_command.json"
    cost = json.loads(cost_file.read_text()).get("studies_s", {}) if cost_file.exists() else {}
    procs = []
    for k, lane in enumerate(assigned or balanced_lanes(pairs, a.lanes, cost)):
        out = work / f"lane{k}.json"
        cmd = [sys.executable, __file__, "--profile", a.profile, "--rounds", str(a.rounds), "--work",
               str(work / f"lane{k}"), "--out", str(out), "--rel", str(a.rel), "--abs-mb",
               str(a.abs_mb), "--interval", str(a.interval), "--seed-from", a.seed_from, "--pairs", *["/".join(p) for p in lane]]
        if a.threads:
            cmd += ["--threads", str(a.threads)]
        if a.no_seed:
            cmd += ["--no-seed"]
        if a.resume:
            cmd += ["--resume", a.resume]
        print(f"lane {k}: {', '.join('/'.join(p) for p in lane)}", flush=True)
        procs.append((subprocess.Popen(cmd), out))
    lanes = []
    for proc, out in procs:
        proc.wait()
        if not out.exists():
            raise RuntimeError(f"soak lane exited with status {proc.returncode} and no report ({out})")
        lanes.append(json.loads(out.read_text()))
    return lanes


def report(a, lanes: list[dict]) -> dict:
    """The soak report from one or more lanes (each: rounds, files_compared, differences)."""
    growth, diffs, files, stored = [], [], [], {"files": [], "differences": []}
    for k, lane in enumerate(lanes):
        rounds = lane["rounds"]
        tag = f"lane {k}, " if len(lanes) > 1 else ""
        diffs += [tag + d for d in lane["differences"]]
        files += lane["files_compared"]
        for key in stored:
            stored[key] += lane.get("vs_stored", {}).get(key, [])
        for r in rounds[1:]:
            for s1, s2 in zip(rounds[0]["studies"], r["studies"]):
                if s2["peak_rss_mb"] > s1["peak_rss_mb"] * (1 + a.rel) + a.abs_mb:
                    growth.append(f"round {r['round']}: {s1['study']}/{s1['dataset']} peak {s1['peak_rss_mb']} -> "
                                  f"{s2['peak_rss_mb']} MB")
            if all(x.get("from_log") for x in rounds[0]["studies"]):
                continue  # a resumed lane ran none of round 1: its start-up memory is no round-1 baseline
            if r["parent_rss_mb"] > rounds[0]["parent_rss_mb"] + a.abs_mb:
                growth.append(f"{tag}the soak process grew from {rounds[0]['parent_rss_mb']} MB (round 1) to "
                              f"{r['parent_rss_mb']} MB (round {r['round']})")
    resumed = sum(bool(x.get("from_log")) for lane in lanes for r in lane["rounds"] for x in r["studies"])
    merged = []
    for i in range(len(lanes[0]["rounds"])):
        parts = [lane["rounds"][i] for lane in lanes]
        # a resumed round's wall time: the second process's plus the logged times of the runs taken from the log
        walls = [p["wall_s"] + sum(x["wall_s"] for x in p["studies"] if x.get("from_log")) for p in parts]
        merged.append({"round": i + 1, "wall_s": round(max(walls), 1),
                       "parent_rss_mb": max(p["parent_rss_mb"] for p in parts),
                       "studies": [s for p in parts for s in p["studies"]]})
    return {**_header(a, len(lanes)), "rounds": merged,
            "files_compared": files, "identical": not diffs and bool(files), "differences": diffs, "vs_stored": stored,
            "within_bound": not growth, "growth": growth, "resumed_runs": resumed}


def _header(a, lanes: int) -> dict:
    """The fields every soak report starts with."""
    return {"profile": a.profile, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            "commit": _commit(), "lanes": lanes, "bound": {"rel": a.rel, "abs_mb": a.abs_mb}}


def _commit() -> str:
    import subprocess

    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--study", nargs="*", default=None, help="studies (default: all)")
    ap.add_argument("--dataset", nargs="*", default=None, help="datasets (default: each study's own)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--work", default=None, help="scratch folder (default: data/cache/soak/<profile>)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "soak.json"))
    ap.add_argument("--rel", type=float, default=0.10, help="allowed relative growth of a study's peak memory")
    ap.add_argument("--abs-mb", type=float, default=100.0, help="allowed absolute growth (MB)")
    ap.add_argument("--interval", type=float, default=0.5, help="memory sampling period (s)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads in this process")
    ap.add_argument("--seed-from", default=str(ROOT / "data" / "results"),
                    help="results folder whose Pareto choices and main results start every round")
    ap.add_argument("--no-seed", action="store_true", help="start every round from an empty results folder")
    ap.add_argument("--lanes", type=int, default=1, help="run the pairs as this many processes side by side")
    ap.add_argument("--report-from-lanes", action="store_true",
                    help="do not run: rebuild the report of a finished soak from the lane reports in --work")
    ap.add_argument("--pairs", nargs="*", default=None, help="study/dataset pairs (instead of --study/--dataset)")
    ap.add_argument("--resume", default=None, metavar="LOG",
                    help="continue the soak that wrote LOG into --work (same lanes): runs LOG records as finished are "
                         "not repeated; append this run's output to LOG")
    a = ap.parse_args(argv)
    if a.rounds < 2:
        ap.error("--rounds must be >= 2 (the rounds are compared)")

    from spectral_collapse.studies.profiles import get_profile
    from spectral_collapse.pipeline import graph

    get_profile(a.profile)
    if a.threads:
        import torch
        torch.set_num_threads(a.threads)
    known = graph.study_names()
    unknown = [s for s in a.study or () if s not in known]
    if unknown:
        ap.error(f"unknown studies {unknown}; valid: {', '.join(known)}")
    if a.pairs:
        pairs = [tuple(p.split("/", 1)) for p in a.pairs]
        bad = [p for p in a.pairs if "/" not in p or p.split("/", 1)[0] not in known]
        if bad:
            ap.error(f"--pairs takes study/dataset with a known study; got {bad}")
    else:
        pairs = [(s, d) for s in (a.study or known) for d in (a.dataset or graph.datasets(s))]
    work = Path(a.work) if a.work else ROOT / "data" / "cache" / "soak" / a.profile
    if a.resume and not Path(a.resume).exists():
        ap.error(f"--resume: no soak log at {a.resume}")
    done = log_rows(Path(a.resume)) if a.resume else None
    assigned = log_lanes(Path(a.resume)) if a.resume and not a.pairs else None
    if a.report_from_lanes:
        files = sorted(work.glob("lane*.json"), key=lambda f: int(f.stem[4:]))
        if not files:
            ap.error(f"--report-from-lanes: no lane reports (lane<k>.json) in {work}")
        lanes = [json.loads(f.read_text()) for f in files]
    elif a.lanes > 1 or assigned:
        lanes = run_lanes(a, pairs, work, assigned)
    else:
        seed_from = None if a.no_seed else Path(a.seed_from)
        rounds = [run_round(r, pairs, a.profile, work, a.interval, seed_from,
                            None if done is None else done.get(r, {})) for r in range(1, a.rounds + 1)]
        files, diffs = [], []
        for r in rounds[1:]:
            f, d = compare_results(work / "round1" / "results", work / f"round{r['round']}" / "results")
            files, diffs = f, diffs + [f"round {r['round']}: {x}" for x in d]
        committed = ([], [])
        if seed_from is not None and seed_from.exists():  # does a fresh run reproduce the stored results?
            committed = compare_results(seed_from, work / "round1" / "results", only_common=True)
        lanes = [{"rounds": rounds, "files_compared": files, "differences": diffs,
                  "vs_stored": {"files": committed[0], "differences": committed[1]}}]
    rep = report(a, lanes)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(rep, indent=1) + "\n")
    print(f"identical: {rep['identical']}, memory within bound: {rep['within_bound']}; report: {a.out}")
    for line in rep["differences"][:20] + rep["growth"]:
        print("  " + line)
    return 0 if rep["identical"] and rep["within_bound"] else 1


if __name__ == "__main__":
    sys.exit(main())
