"""Execute the study notebooks of a profile with papermill into book/studies/ (one chapter per study and dataset),
then the book's pages into book/, each only when it is missing or one of its inputs' content changed."""
from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path
from unittest import mock

import nbformat
import xarray as xr

from . import graph
from ..data import check_dataset, dataset_key, split_dataset
from ..plotting.reader import reader_cells
from ..framework.content import content_inputs
from ..framework.profiles import get_profile, study_params
from ..studies.registry import get_study, study_spec
from ..framework.spec import profile_values
from ..framework.store import results_path
from ..train.shipped import HASHES, shipped_dir
from .chapters import file_hash, hide_parameter_cells, record_inputs, stale_reason, strip_progress, title_with_dataset
from .notebook import ECHO_ENV, repo_root
from .parameters import json_attr
from .cluster import SCHEDULER_ENV, STUDY_SLOT, on_worker, open_cluster
from .cluster_checks import check_cluster
from .parallel import (StudiesFailed, StudyError, failure_line, kernel_threads, notebook_traceback, record_failure,
                       resolve_jobs, run_graph, thread_env, upstream_failed)
from .runner import cells_root, check_can_store

__all__ = ["run_studies", "show_again", "execute_study", "run_reason", "chapter_inputs", "notebook_path", "PAGES",
           "page_inputs", "page_reason", "execute_page"]

# in the order of the book: the introduction opens it, the others close it (book/_toc.yml)
PAGES = ("intro", "scorecard", "claims", "figures", "conclusions", "errata")


def _papermill(src: Path, out: Path, params: dict, root: Path, retries: int = 2) -> None:
    """papermill.execute_notebook in ``root``, retried when the kernel dies while starting (a race for a port)."""
    import papermill as pm

    for attempt in range(retries + 1):
        try:
            with mock.patch.dict(os.environ, {ECHO_ENV: "0"}):   # the command prints a study's error itself
                pm.execute_notebook(str(src), str(out), parameters=params, kernel_name="python3", cwd=str(root),
                                    progress_bar=False, extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
            return
        except RuntimeError as err:
            if "before replying to kernel_info" not in str(err) or attempt == retries:
                raise
            print(f"{src.name}: the kernel died at start-up ({err}); retrying", file=sys.stderr, flush=True)
            time.sleep(3 + 4 * random.random())


def _execute(src: Path, out: Path, params: dict, root: Path, finish, what: str, reason: str) -> Path:
    """papermill ``src`` into ``out`` through a hidden temporary copy; ``finish(nb)`` stamps it before it is moved."""
    print(f"{what}: executing ({reason})", flush=True)
    t0 = time.time()
    tmp = out.with_name(f".{out.name}.tmp.ipynb")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        _papermill(src, tmp, params, root)
        nb = nbformat.read(str(tmp), as_version=4)
        hide_parameter_cells(nb)
        strip_progress(nb)
        finish(nb)
        nbformat.write(nb, str(tmp))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"{what}: executed in {time.time() - t0:.0f} s -> {out}", flush=True)
    return out


def notebook_path(study: str, dataset: str, profile: str, root: Path, book_dir: Path | None = None) -> Path:
    """Where the executed chapter of (study, dataset, profile) is written."""
    suffix = "" if profile == "quick" else f"-{profile}"
    return ((Path(book_dir) if book_dir else Path(root) / "book" / "studies")
            / f"{study}-{dataset_key(dataset)}{suffix}.ipynb")


def _spec(study: str, dataset: str, profile: str, extra: dict | None):
    """The study spec of a chapter: the profile's knobs of the study, then ``extra`` (raises before any work)."""
    return study_spec(study, dataset=dataset, profile=profile, **{**study_params(profile, study), **(extra or {})})


def _params(study: str, dataset: str, profile: str, results_root: str, extra: dict | None) -> dict:
    """The papermill parameters of a chapter, checked against the study's knobs (raises before any work)."""
    _spec(study, dataset, profile, extra)
    stores = {"results_root": results_root} if get_study(study).run is not None else {}
    return {"dataset": dataset, "profile": profile, **stores, **study_params(profile, study), **(extra or {})}


def chapter_inputs(study: str, dataset: str, profile: str, *, root: Path, results_root: str = "data/results",
                   extra: dict | None = None) -> list[Path]:
    """The files whose content decides whether a chapter is up to date: its notebook, its results (second), those it
    reads and shows and its weights' hash files; else the files its ``*_file`` knobs name and the JSON beside them."""
    root = Path(root)
    src = root / graph.source_notebook(study)
    shown = [p for s, d in graph.shown_pairs(study, dataset)
             if (p := root / results_path(s, dataset_key(d), profile, results_root)).is_file()]
    if get_study(study).run is None:
        spec = _spec(study, dataset, profile, extra)
        named = [root / v for k, v in spec.params if k.endswith("_file") and isinstance(v, str)]
        beside = sorted({p for f in named if f.parent.is_dir() for p in f.parent.glob("*.json")} - set(named))
        return [src, *named, *beside, *shown]
    own = root / results_path(study, dataset_key(dataset), profile, results_root)
    read = [root / results_path(s, dataset_key(dataset), profile, results_root) for s in graph.prerequisites(study)]
    return [src, own, *read, *shown, *shipped_weights(own, root)]


def shipped_weights(results: Path, root: Path) -> list[Path]:
    """The hash files (``sha256.json``) of the shipped weights (data/weights) stored ``results`` were computed from."""
    if not Path(results).is_file():
        return []
    try:
        with xr.open_dataset(results) as ds:
            recorded = json_attr(ds.attrs, "checkpoint_sha256", {})
    except (OSError, ValueError):  # unreadable results: the chapter is judged by the file's hash
        return []
    hashes = {Path(root) / shipped_dir(path) / HASHES for path in recorded}   # an absolute folder stays as it is
    return sorted(h for h in hashes if h.is_file())


def chapter_params(study: str, dataset: str, profile: str, results_root: str, extra: dict | None) -> dict:
    """Every value a chapter depends on besides files: parameters, content signatures, the profile's digest."""
    params = _params(study, dataset, profile, results_root, extra)
    spec = _spec(study, dataset, profile, extra)
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


def execute_study(study: str, dataset: str, profile: str, *, root: Path | None = None, book_dir: Path | None = None,
                  results_root: str = "data/results", force: bool = False, extra: dict | None = None) -> Path | None:
    """Execute one study notebook for one dataset; returns the executed notebook path (None if up to date)."""
    root = Path(root) if root else repo_root()
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
    src_hash = file_hash(src)  # before: a source edited during the run must leave the chapter stale

    def finish(nb):
        title_with_dataset(nb, dataset, profile)
        reader_cells(nb)   # the chapter's prose in the book's one notation, as its outputs are
        deps = chapter_inputs(study, dataset, profile, root=root, results_root=results_root, extra=extra)
        record_inputs(nb, deps, root, {src: src_hash})
        nb.metadata["spectral_collapse"].update(params=chapter_params(study, dataset, profile, results_root, extra),
                                                executed_because=reason)   # build history: metadata, not the page

    return _execute(src, out, params, root, finish, f"{study} / {dataset} / {profile}", reason)


def page_inputs(page: str, profile: str, root: Path, results_root: str = "data/results") -> list[Path]:
    """The page's source notebook, then every stored results file of ``profile`` (<study>/<dataset>-<profile>.nc)."""
    if page not in PAGES:
        raise ValueError(f"unknown book page {page!r}; the pages are {', '.join(PAGES)}")
    results = Path(root) / results_root
    return [Path(root) / "notebooks" / "book" / f"{page}.ipynb", *sorted(results.glob(f"*/*-{profile}.nc"))]


def _page_path(page: str, profile: str, root: Path) -> Path:
    """book/<page>.ipynb (book/<page>-<profile>.ipynb for a profile other than quick, which the book does not list)."""
    return Path(root) / "book" / f"{page}{'' if profile == 'quick' else f'-{profile}'}.ipynb"


def page_reason(page: str, profile: str, root: Path, results_root: str = "data/results") -> str | None:
    """Why ``execute_page`` would execute the page, in words; None when it is up to date."""
    return stale_reason(_page_path(page, profile, root), page_inputs(page, profile, root, results_root), Path(root),
                        {"profile": profile, "results_root": results_root})


def execute_page(page: str, profile: str = "quick", *, root: Path, results_root: str = "data/results",
                 force: bool = False) -> Path | None:
    """Execute one book page with papermill; returns the executed page, None when it is up to date."""
    import papermill as pm

    root = Path(root)
    deps = page_inputs(page, profile, root, results_root)
    out = _page_path(page, profile, root)
    reason = "forced" if force else page_reason(page, profile, root, results_root)
    if reason is None:
        return None
    declared = pm.inspect_notebook(str(deps[0]))
    params = {k: v for k, v in {"profile": profile, "results_root": results_root}.items() if k in declared}

    def finish(nb):
        record_inputs(nb, deps, root)
        nb.metadata["spectral_collapse"]["params"] = {"profile": profile, "results_root": results_root}

    return _execute(deps[0], out, params, root, finish, f"book page {page} / {profile}", reason)


def _study_task(pair, *_after, profile: str, root: str, book_dir, results_root: str, force: bool, extras: dict,
                env: dict, cells: bool):
    """``run_graph``'s task: one chapter, its kernel given ``env`` (``cells``: the thread left to its cells); a
    failure raises ``StudyError``."""
    if cells:
        from distributed import secede

        secede()
    try:
        on_worker()
        with mock.patch.dict(os.environ, env):
            out = execute_study(pair[0], pair[1], profile, root=Path(root), book_dir=book_dir,
                                results_root=results_root, force=force, extra=extras.get(pair[0]))
    except Exception as err:
        raise StudyError(failure_line(err), notebook_traceback(err)) from None
    return None if out is None else str(out)


def show_again(finished: list, reason, execute) -> list:
    """Execute again and return the finished pairs whose chapter shows another that ran and is stale (``reason``)."""
    again = [(s, ds) for s, ds in finished if any(p in finished for p in graph.shown_pairs(s, ds)) and reason(s, ds)]
    for s, ds in again:
        execute(s, ds)
    return again


def run_studies(profile: str = "quick", studies=None, datasets=None, *, root: str | os.PathLike | None = None,
                results_root: str = "data/results", force: bool = False, jobs: int | str = 1,
                knobs: dict | None = None, book_dir: str | os.PathLike | None = None,
                keep_going: bool = False, threads: int | None = None, cluster: str | None = None) -> list[Path]:
    """Execute every missing or stale (study, dataset) of the profile after the studies it reads, then the book's pages
    (unless ``book_dir`` or ``datasets`` is given); ``jobs`` > 1 or ``cluster``: on Dask (``pipeline.cluster``), cells
    too with ``cluster``.
    keep_going (serial): a failure skips only what reads it. Failures raise ``StudiesFailed`` at the end."""
    get_profile(profile)
    root = Path(root) if root else repo_root()
    jobs = resolve_jobs(jobs)
    pages = [s for s in studies or PAGES if s in PAGES] if book_dir is None and not datasets else []
    studies = None if studies is None else [s for s in studies if s not in PAGES]

    def run_pages() -> list[Path]:
        done = [execute_page(p, profile, root=root, results_root=results_root, force=force) for p in pages]
        return [p for p in done if p is not None]

    if studies == [] and pages:
        return run_pages()
    order = graph.run_order(studies)  # checks every name before the first notebook starts
    for ds in datasets or ():
        check_dataset(ds)  # a registered name or folder:<path>
    knobs = {k: v for k, v in (knobs or {}).items() if v is not None}

    def wanted(study: str, ds: str) -> bool:
        """Without a study list, a user's model skips the ablations and a folder dataset the pages without results."""
        s = get_study(study)
        ablation = {"model", "models"} & set(knobs) and "model" in s.params and not s.takes_model
        return studies is not None or not (ablation or (split_dataset(ds)[1] is not None and s.run is None))

    def extra(study: str) -> dict | None:
        return {k: v for k, v in knobs.items() if k in get_study(study).params} or None

    book_dir = Path(book_dir) if book_dir else None
    where = {"root": root, "book_dir": book_dir, "results_root": results_root}

    def reason(study: str, ds: str) -> str | None:
        return run_reason(study, ds, profile, **where, extra=extra(study))

    def run_one(study: str, ds: str, force: bool = False) -> Path | None:
        return execute_study(study, ds, profile, **where, force=force, extra=extra(study))

    pairs = [(study, ds) for study in order for ds in datasets or graph.datasets(study) if wanted(study, ds)]
    threads = threads or kernel_threads(jobs)
    if jobs > 1 or cluster:
        check_cluster(cluster or "local", jobs)   # also when every chapter turns out to be up to date
        pending: list = []
        for study, ds in pairs:  # run order: a pair whose prerequisite is pending may find new inputs then
            if force or any((s, ds) in pending for s in graph.prerequisites(study)) or reason(study, ds) is not None:
                pending.append((study, ds))
        if not pending:
            return run_pages()
        for study, ds in pending:   # the serial path's refusal of a folder it cannot write, before any worker
            check_can_store(study, ds, profile, results_root, root)
        shared = [root / results_root, root / cells_root(results_root)] if cluster else []
        with open_cluster(cluster or "local", jobs, threads, shared=shared) as client:
            env = {**thread_env(threads), **({SCHEDULER_ENV: client.scheduler.address} if cluster else {})}
            task = functools.partial(_study_task, profile=profile, root=str(root), book_dir=book_dir, env=env,
                                     results_root=results_root, force=force, cells=bool(cluster),
                                     extras={s: extra(s) for s, _ in pending})
            finished = run_graph(client, pending, task, resources={STUDY_SLOT: 1})
        with mock.patch.dict(os.environ, thread_env(threads)):
            show_again(finished, reason, run_one)
        return [notebook_path(study, ds, profile, root, book_dir) for study, ds in finished] + run_pages()
    done, failed, skipped = [], {}, []
    with mock.patch.dict(os.environ, thread_env(threads)):  # the kernels started below inherit it
        for pair in pairs:
            if upstream_failed(pair, failed, skipped):
                skipped.append(pair)
                continue
            try:
                out = run_one(*pair, force=force)
            except Exception as err:
                if not keep_going:
                    raise
                record_failure(failed, pair, failure_line(err), notebook_traceback(err))
                continue
            if out is not None:
                done.append(out)
    if failed or skipped:
        raise StudiesFailed(failed, skipped)
    return done + run_pages()
