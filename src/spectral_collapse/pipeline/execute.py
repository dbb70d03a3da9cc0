"""Execute the study notebooks of a profile with papermill into book/studies/ (one chapter per study and dataset).

A chapter is executed when it is missing or one of its inputs changed since (content hashes in its metadata,
``pipeline.chapters``): its source notebook, its results file, those of the studies it reads, the files its
``*_file`` parameters name (a study that stores no results) and the hash files of the shipped weights its results
came from. The notebook computes results only when they are missing or stale (``pipeline.runner``). Every root
(``root``, ``book_dir``, ``results_root``) is a parameter, so a report (``pipeline.report``) runs the same code.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import xarray as xr

from . import graph
from ..data import check_dataset, dataset_key, split_dataset
from ..plotting.reader import reader_cells
from ..studies.content import content_inputs
from ..studies.profiles import get_profile, study_params
from ..studies.registry import get_study, study_spec
from ..studies.spec import profile_values
from ..studies.store import load_results, results_path
from ..text import plural
from ..train.shipped import HASHES, shipped_dir
from .book_pages import PAGES, papermill as _papermill, run_pages
from .chapters import (file_hash, hide_parameter_cells, link_glossary, stale_reason, stamp,  # noqa: F401
                       strip_progress, title_with_dataset)
from .chapters import record_inputs as _record, write_atomic as _write_atomic
from .notebook import repo_root
from .notes import FAILED_LIST, failure_lines, run_notes
from .parallel import (StudiesFailed, environment, failure_line, kernel_threads, notebook_traceback,  # noqa: F401
                       recorded_costs, resolve_jobs, run_side_by_side, thread_env)
from .runner import check_can_store

__all__ = ["run_studies", "execute_study", "needs_run", "chapter_inputs", "notebook_path", "stamp", "restamp",
           "file_hash", "strip_progress", "hide_parameter_cells", "title_with_dataset", "resolve_jobs",
           "run_side_by_side", "recorded_costs", "StudiesFailed", "failure_line", "notebook_traceback"]


def _root(root) -> Path:
    return Path(root) if root else repo_root()


def notebook_path(study: str, dataset: str, profile: str, root: Path, book_dir: Path | None = None) -> Path:
    """Where the executed chapter of (study, dataset, profile) is written."""
    suffix = "" if profile == "quick" else f"-{profile}"
    return ((Path(book_dir) if book_dir else Path(root) / "book" / "studies")
            / f"{study}-{dataset_key(dataset)}{suffix}.ipynb")


def _params(study: str, dataset: str, profile: str, results_root: str, extra: dict | None) -> dict:
    """The papermill parameters of a chapter, checked against the study's knobs (raises before any work)."""
    knobs = {**study_params(profile, study), **(extra or {})}
    study_spec(study, dataset=dataset, profile=profile, **knobs)
    base = {"dataset": dataset, "profile": profile}
    if get_study(study).run is not None:
        base["results_root"] = results_root
    return {**base, **knobs}


def chapter_inputs(study: str, dataset: str, profile: str, *, root: Path, results_root: str = "data/results",
                   extra: dict | None = None) -> list[Path]:
    """The files whose content decides whether a chapter is up to date (see the module's doc); the chapter's own
    results file, when the study stores one, comes second."""
    root = Path(root)
    src = root / graph.source_notebook(study)
    if get_study(study).run is None:
        spec = study_spec(study, dataset=dataset, profile=profile, **{**study_params(profile, study), **(extra or {})})
        return [src, *(root / v for k, v in spec.params if k.endswith("_file") and isinstance(v, str))]
    own = root / results_path(study, dataset_key(dataset), profile, results_root)
    read = [root / results_path(s, dataset_key(dataset), profile, results_root) for s in graph.prerequisites(study)]
    return [src, own, *read, *shipped_weights(own, root)]


def shipped_weights(results: Path, root: Path) -> list[Path]:
    """The hash files (``sha256.json``) of the shipped weights (data/weights) that stored ``results`` were computed
    from: weights shipped anew under the same folder name make the chapter (and its results) stale."""
    if not Path(results).is_file():
        return []
    try:
        with xr.open_dataset(results) as ds:
            recorded = json.loads(ds.attrs.get("checkpoint_sha256", "{}"))
    except (OSError, ValueError, TypeError):  # unreadable results: the chapter is judged by the file's hash
        return []
    found = set()
    for path in recorded if isinstance(recorded, dict) else ():
        folder = shipped_dir(path)
        folder = folder if folder.is_absolute() else Path(root) / folder
        if (folder / HASHES).is_file():
            found.add(folder / HASHES)
    return sorted(found)


def chapter_params(study: str, dataset: str, profile: str, results_root: str, extra: dict | None) -> dict:
    """Every resolved value a chapter depends on besides files: its papermill parameters, the content signatures
    of a folder dataset and of a user's models, and a digest of the profile's resolved values."""
    params = _params(study, dataset, profile, results_root, extra)
    spec = study_spec(study, **{k: v for k, v in params.items() if k != "results_root"})
    prof = hashlib.sha256(json.dumps(profile_values(profile), sort_keys=True).encode()).hexdigest()[:16]
    return json.loads(json.dumps({**params, "content": content_inputs(spec), "profile_values": prof},
                                 sort_keys=True, default=str))


def run_reason(study: str, dataset: str, profile: str, *, root: Path, book_dir: Path | None = None,
               results_root: str = "data/results", extra: dict | None = None) -> str | None:
    """Why ``execute_study`` would execute this (study, dataset), in words; None when it is up to date."""
    deps = chapter_inputs(study, dataset, profile, root=root, results_root=results_root, extra=extra)
    if get_study(study).run is not None and not deps[1].exists():
        return "no stored results"
    return stale_reason(notebook_path(study, dataset, profile, root, book_dir), deps, Path(root),
                        chapter_params(study, dataset, profile, results_root, extra))


def needs_run(study: str, dataset: str, profile: str, *, root: Path, book_dir: Path | None = None,
              results_root: str = "data/results", extra: dict | None = None) -> bool:
    """Whether ``execute_study`` would execute this (study, dataset) (``run_reason`` is not None)."""
    return run_reason(study, dataset, profile, root=root, book_dir=book_dir, results_root=results_root,
                      extra=extra) is not None


def _stamp_chapter(nb, deps, study, dataset, profile, root, results_root, extra, hashes=None) -> None:
    """Hide the parameter cells, strip progress bars, record the inputs' hashes and the chapter's parameters."""
    hide_parameter_cells(nb)
    strip_progress(nb)
    _record(nb, deps, root, hashes)
    nb.metadata["spectral_collapse"]["params"] = chapter_params(study, dataset, profile, results_root, extra)


def execute_study(study: str, dataset: str, profile: str, *, root: Path | None = None, book_dir: Path | None = None,
                  results_root: str = "data/results", force: bool = False, extra: dict | None = None) -> Path | None:
    """Execute one study notebook for one dataset; returns the executed notebook path (None if up to date).
    Its parameters (``_params``) are checked against the registry's knobs before papermill starts."""
    root = _root(root)
    params = _params(study, dataset, profile, results_root, extra)
    src = root / graph.source_notebook(study)
    if not src.exists():
        raise FileNotFoundError(f"{src} does not exist: every study of studies/registry.py needs its notebook")
    out = notebook_path(study, dataset, profile, root, book_dir)
    reason = "forced" if force else run_reason(study, dataset, profile, root=root, book_dir=book_dir,
                                               results_root=results_root, extra=extra)
    if reason is None:
        return None

    check_can_store(study, dataset, profile, results_root, root)  # as the notebook would, before a kernel starts
    print(f"{study} / {dataset} / {profile}: executing ({reason})", flush=True)
    t0 = time.time()
    src_hash = file_hash(src)  # before: a source edited during the run must leave the chapter stale
    tmp = out.with_name(f".{out.name}.tmp.ipynb")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        _papermill(src, tmp, params, root)
        nb = nbformat.read(str(tmp), as_version=4)
        title_with_dataset(nb, dataset, profile)
        link_glossary(nb, out.parent.parent / "glossary.md")   # a book without a glossary page keeps plain words
        reader_cells(nb)   # the chapter's prose in the book's one notation, as its outputs are
        deps = chapter_inputs(study, dataset, profile, root=root, results_root=results_root, extra=extra)
        _stamp_chapter(nb, deps, study, dataset, profile, root, results_root, extra, {src: src_hash})
        nb.metadata["spectral_collapse"]["executed_because"] = reason   # build history: metadata, not the page
        _write_atomic(nb, out)  # through the same temporary name papermill wrote
    finally:  # a failed or interrupted run (Ctrl-C, SIGTERM) leaves no hidden half-executed copy behind
        tmp.unlink(missing_ok=True)
    print(f"{study} / {dataset} / {profile}: executed in {time.time() - t0:.0f} s -> {out}")
    for line in _result_notes(study, dataset, profile, root, results_root):
        print(f"  {line}", file=sys.stderr, flush=True)
    return out


def _result_notes(study: str, dataset: str, profile: str, root: Path, results_root: str) -> list[str]:
    """One line per failed-sample count, run warning and allowed model below the quality gate of a chapter's
    results (printed after each chapter)."""
    if get_study(study).run is None:
        return []
    try:
        ds = load_results(Path(root) / results_path(study, dataset_key(dataset), profile, results_root))
    except (OSError, ValueError):
        return []
    attrs = dict(ds.attrs)
    lines = failure_lines(ds)
    try:  # the run's own warnings, less its lists of failed samples when they are counted above
        lines += [f"note: {n[2:]}" for n in run_notes(attrs, ds).splitlines()
                  if n.startswith("- ") and not (lines and FAILED_LIST.search(n))]
        used = json.loads(attrs.get("model_gate") or "{}")
        lines += [f"below the quality gate (allowed): {k}: {v.get('failures')}" for k, v in used.items()
                  if not v.get("passed")]
    except (TypeError, ValueError):
        pass
    return lines


def run_studies(profile: str = "quick", studies=None, datasets=None, *, root: str | os.PathLike | None = None,
                results_root: str = "data/results", force: bool = False, jobs: int | str = 1,
                costs: dict | None = None, knobs: dict | None = None, book_dir: str | os.PathLike | None = None,
                keep_going: bool = False, threads: int | None = None) -> list[Path]:
    """Execute every (study, dataset) of the profile that is missing or stale, each after the studies it reads.

    datasets: registered names or "folder:<path>". knobs: parameters for every study that declares them (the CLI's
    ``--data-options``, ``--model``, ``--models``). jobs: how many run side by side, each in its own process
    ("auto": ``resolve_jobs``), the costliest ready one first (``costs``: seconds per "study/dataset"); with 1, one
    after another in this process, in run order. The book's own pages (``book_pages.PAGES``) run after the chapters
    when no study list is given or they are named in it, unless ``book_dir`` or ``datasets`` is given.
    keep_going: with one job, a failed study does not stop the others (those reading it are skipped); either way
    failures raise ``StudiesFailed`` at the end. threads: torch threads per kernel (default
    ``parallel.kernel_threads``), passed as ``$SPECTRAL_COLLAPSE_THREADS``.
    """
    get_profile(profile)
    root = _root(root)
    jobs = resolve_jobs(jobs)
    pages = [s for s in studies or PAGES if s in PAGES] if book_dir is None and not datasets else []
    studies = None if studies is None else [s for s in studies if s not in PAGES]
    if studies == [] and pages:
        return run_pages(profile, pages, root=root, results_root=results_root, force=force)
    order = graph.run_order(studies)  # checks every name before the first notebook starts
    for ds in datasets or ():
        check_dataset(ds)  # a registered name or folder:<path>
    knobs = {k: v for k, v in (knobs or {}).items() if v is not None}

    def wanted(study: str, ds: str) -> bool:
        """Without a study list, a user's model skips the studies that cannot take one (the ablations) and a folder
        dataset the pages that store no results."""
        s = get_study(study)
        if studies is not None:
            return True
        if ({"model", "models"} & set(knobs)) and "model" in s.params and not s.takes_model:
            return False
        return not (split_dataset(ds)[1] is not None and s.run is None)

    def extra(study: str) -> dict | None:
        return {k: v for k, v in knobs.items() if k in get_study(study).params} or None

    pairs = [(study, ds) for study in order for ds in datasets or graph.datasets(study) if wanted(study, ds)]
    book_dir = Path(book_dir) if book_dir else None
    threads = threads or kernel_threads(jobs)
    if jobs > 1:
        pending: list = []
        for study, ds in pairs:  # run order: a pair whose prerequisite is pending may find new inputs then
            if force or any((s, ds) in pending for s in graph.prerequisites(study)) or \
                    needs_run(study, ds, profile, root=root, book_dir=book_dir, results_root=results_root,
                              extra=extra(study)):
                pending.append((study, ds))

        def start(pair):
            cmd = [sys.executable, "-m", "spectral_collapse", "studies", "--profile", profile, "--study", pair[0],
                   "--dataset", pair[1], "--results-root", results_root, "--root", str(root),
                   *(["--book-dir", str(book_dir)] if book_dir else []), *(["--force"] if force else []),
                   *[a for k, v in knobs.items() for a in (f"--{k.replace('_', '-')}",
                                                           v if isinstance(v, str) else json.dumps(v))]]
            return subprocess.Popen(cmd, cwd=str(root), env={**os.environ, **thread_env(threads)})

        print(f"{plural(len(pending), 'study notebook')} to execute, {jobs} at a time with "
              f"{plural(threads, 'torch thread')} each", flush=True)
        finished = run_side_by_side(pending, jobs, start, cost=costs)
        return [notebook_path(study, ds, profile, root, book_dir) for study, ds in finished] + run_pages(
            profile, pages, root=root, results_root=results_root, force=force)
    done, failed, skipped = [], {}, []
    with environment(thread_env(threads)):  # the kernels started below inherit it
        for study, ds in pairs:
            if any((s, ds) in failed or (s, ds) in skipped for s in graph.upstream(study)):
                skipped.append((study, ds))
                continue
            try:
                out = execute_study(study, ds, profile, root=root, book_dir=book_dir, results_root=results_root,
                                    force=force, extra=extra(study))
            except Exception as err:
                if not keep_going:
                    raise
                failed[(study, ds)] = failure_line(err)
                print(f"{study} / {ds}: FAILED ({failed[(study, ds)]})", file=sys.stderr, flush=True)
                trace = notebook_traceback(err)   # after the message
                if trace:
                    print(f"the traceback of {study} / {ds}:\n{trace}", file=sys.stderr, flush=True)
                continue
            if out is not None:
                done.append(out)
    if failed or skipped:
        raise StudiesFailed(failed, skipped)
    return done + run_pages(profile, pages, root=root, results_root=results_root, force=force)


def restamp(profile: str = "quick", *, root: str | os.PathLike | None = None,
            results_root: str = "data/results") -> list[Path]:
    """Adopt chapters executed by hand (papermill): strip progress bars and record their current inputs' hashes and
    the main command's parameters, so they count as up to date. Returns the chapters adopted."""
    root = _root(root)
    suffix = "" if profile == "quick" else f"-{profile}"
    done = []
    for study in graph.study_names():
        for out in sorted((root / "book" / "studies").glob(f"{study}-*{suffix}.ipynb")):
            dataset = out.stem[len(study) + 1:len(out.stem) - len(suffix)]
            if not suffix and any(out.stem.endswith(f"-{p}") for p in ("smoke", "paper")):
                continue
            deps = chapter_inputs(study, dataset, profile, root=root, results_root=results_root)
            if get_study(study).run is not None and not deps[1].exists():
                continue
            nb = nbformat.read(str(out), as_version=4)
            _stamp_chapter(nb, deps, study, dataset, profile, root, results_root, None)
            _write_atomic(nb, out)
            done.append(out)
    return done
