"""The main command as a new user runs it: ``make book`` in a clone of this checkout's commit whose stored results and
executed chapters are removed and whose shipped weights are kept, so that every study and page is computed and no
model is trained. Timed by part (install, each chapter, book build) into the record the cost chapter shows, with
the clone's results compared bit for bit with the ones the commit stores; then ``make book`` again with nothing
changed, and on a fresh clone that keeps the stored results (install included).

    python -m benchmarks.main_command --out benchmarks/results/main_command.json   # 2-3 hours on a 2-core VM

Each chapter's time is papermill's; ``JOBS`` chapters run at a time, so their sum exceeds the wall time.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path


def removed() -> list[str]:
    """What a clone loses to compute everything: each study's stored results (not the benchmark records beside them) and
    every executed chapter and page."""
    from spectral_collapse.studies.registry import STUDIES

    return [*(f"data/results/{name}" for name, s in STUDIES.items() if s.run is not None), "book/studies/*.ipynb",
            "book/*.ipynb"]


def prepare(source: Path, clone: Path, remove: bool = True) -> None:
    """A fresh clone of ``source``'s HEAD at ``clone`` (removed first), without what ``removed()`` names if ``remove``
    (the shipped weights stay)."""
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "--quiet", str(source), str(clone)], check=True)
    if remove:
        subprocess.run(["git", "rm", "-r", "--quiet", "--ignore-unmatch", "--", *removed()], cwd=clone, check=True)


def timed_make(clone: Path, target: str) -> float:
    """Wall seconds of ``make target`` in ``clone`` (raises if it fails)."""
    t0 = time.perf_counter()
    subprocess.run(["make", target], cwd=clone, check=True)
    return time.perf_counter() - t0


def chapter_times(book: Path) -> dict[str, dict]:
    """{chapter: {start, end, seconds}} from papermill's metadata of every chapter (``studies/<study>-<dataset>``) and
    page (``<page>``) under ``book`` that papermill ran."""
    out = {}
    for nb in sorted([*book.glob("studies/*-*.ipynb"), *book.glob("*.ipynb")]):   # not the merged study pages
        pm = json.loads(nb.read_text()).get("metadata", {}).get("papermill", {})
        if pm.get("duration") is not None:
            out[str(nb.relative_to(book).with_suffix(""))] = {"start": pm["start_time"], "end": pm["end_time"],
                                                             "seconds": round(pm["duration"], 1)}
    return out


def trained_here(checkpoints: Path) -> list[str]:
    """The model folders under ``checkpoints`` that were trained, not installed from the shipped weights."""
    return sorted(d.name for d in checkpoints.glob("*") if d.is_dir() and not (d / "shipped.sha256.json").exists())


def record(clone: Path, install_s: float, book_wall_s: float, source_results: Path) -> dict:
    """The main command's record from a finished run in ``clone``: install, chapters, book build and total times, the
    models trained, and the comparison of the clone's results with ``source_results``."""
    from spectral_collapse.framework.store import compare_folders
    from spectral_collapse.pipeline.parallel import resolve_jobs

    from .common import environment

    chapters = chapter_times(clone / "book")
    last_end = max(datetime.fromisoformat(c["end"]).timestamp() for c in chapters.values())
    built = (clone / "book" / "_build" / "html" / "index.html").stat().st_mtime
    files, diffs = compare_folders(clone / "data" / "results", source_results, names=("the clone", "stored"))
    env = environment()
    return {"what": __doc__.split("\n\n")[0].replace("\n", " "), "command": "make book", "profile": "quick",
            "date": env["date"], "cpu": env["machine"]["cpu"], "cores": env["machine"]["cpu_count"],
            "commit": env["commit"], "jobs": resolve_jobs("auto"), "install_s": round(install_s), "chapters": chapters,
            "book_s": round(built - last_end), "total_s": round(install_s + book_wall_s),
            "trained": trained_here(clone / "data" / "checkpoints"),
            "results": {"files_compared": len(files), "identical": bool(files) and not diffs,
                        "differences": [d._asdict() for d in diffs]}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.main_command", description=__doc__.split("\n\n")[0])
    ap.add_argument("--clone", default="data/cache/main-command", help="the fresh clone (removed first)")
    ap.add_argument("--out", default=None, help="the record (JSON); default: print only")
    a = ap.parse_args(argv)
    source = Path(subprocess.check_output(["git", "rev-parse", "--show-toplevel"], text=True).strip())
    clone = Path(a.clone).resolve()
    prepare(source, clone)
    install_s = timed_make(clone, "setup")
    rec = record(clone, install_s, timed_make(clone, "book"), source / "data" / "results")
    rec["rerun_s"] = round(timed_make(clone, "book"))     # nothing changed: every chapter current
    prepare(source, clone, remove=False)                    # the stored results kept: what a fresh clone does
    rec["fresh_clone_s"] = round(timed_make(clone, "book"))
    from spectral_collapse.framework.store import Difference, describe
    from spectral_collapse.train.cache import atomic_write_bytes

    if a.out:
        atomic_write_bytes(a.out, (json.dumps(rec, indent=1) + "\n").encode())

    print(*describe([Difference(**d) for d in rec["results"]["differences"]])[:20], sep="\n")
    print(f"make book from the shipped weights: {rec['total_s']} s; results identical to the stored ones: "
          f"{rec['results']['identical']} ({rec['results']['files_compared']} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
