"""Execute the study notebooks of a profile with papermill into book/studies/ (one chapter per study and dataset).

A chapter is executed when it is missing, or when one of its inputs changed since it was executed: its source
notebook (``notebooks/<study>.ipynb``), its results file, the results files of the studies it reads, and for a
study that stores no results the files its ``*_file`` parameters name. The notebook itself computes results only
when they are missing or out of date (``pipeline.runner``), so rerunning with nothing changed does no work.
"Changed" compares content hashes stored in the executed notebook's metadata (``spectral_collapse.inputs``), not
modification times: a fresh clone writes files in arbitrary order and must not re-execute every chapter. Chapters
without stored hashes fall back to modification times. Studies, datasets and order: ``pipeline.graph``.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from . import graph
from .parallel import _cores, recorded_costs, resolve_jobs, run_side_by_side  # noqa: F401 (re-exported)

__all__ = ["run_studies", "execute_study", "needs_run", "chapter_inputs", "notebook_path", "stamp", "restamp",
           "file_hash", "strip_progress", "hide_parameter_cells", "title_with_dataset", "resolve_jobs", "run_side_by_side",
           "recorded_costs"]


def file_hash(path: Path) -> str | None:
    """sha256 of a file's bytes (None when it does not exist)."""
    import hashlib

    if not path.exists():
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _inputs(out: Path) -> dict | None:
    try:
        return json.loads(out.read_text())["metadata"]["spectral_collapse"]["inputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _stale(out: Path, deps: list[Path], root: Path | None = None, params: dict | None = None) -> bool:
    """Whether ``out`` must be executed again: missing, a dependency changed since (hashes, else mtimes), or the
    run's resolved parameters differ from those recorded (``params``; see ``stale_reason``)."""
    return stale_reason(out, deps, root, params) is not None


def stale_reason(out: Path, deps: list[Path], root: Path | None = None, params: dict | None = None) -> str | None:
    """Why ``out`` must be executed again, in words (None: it is up to date)."""
    if not out.exists():
        return "no chapter yet"
    if params is not None:
        try:
            recorded = json.loads(out.read_text())["metadata"]["spectral_collapse"].get("params")
        except (OSError, ValueError, KeyError, TypeError):
            recorded = None
        # a chapter stamped without parameters (by hand, or before they were recorded) is judged by its files
        if recorded is not None and recorded != json.loads(json.dumps(params, sort_keys=True, default=str)):
            changed = sorted(k for k in set(params) | set(recorded or {})
                             if (recorded or {}).get(k) != json.loads(json.dumps(params.get(k), default=str)))
            return f"its parameters changed ({', '.join(changed) or 'none recorded'})"
    stored = _inputs(out)
    if stored is not None:
        changed = [_key(d, root) for d in deps if stored.get(_key(d, root)) != file_hash(d)]
        return f"{', '.join(changed)} changed" if changed else None
    t = out.stat().st_mtime
    newer = [d.name for d in deps if d.exists() and d.stat().st_mtime > t]
    return f"{', '.join(newer)} newer than the chapter" if newer else None


def _key(path: Path, root: Path | None) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve())) if root else path.name
    except ValueError:
        return str(path)


_PROGRESS = re.compile(r"\d+%\|.*\|.*(it/s|s/it|\?it/s)|^\s*$")


def strip_progress(nb) -> int:
    """Drop progress-bar lines (tqdm) from stderr stream outputs of an executed notebook; returns lines removed.

    A long study writes thousands of bar updates, which would fill its chapter; warnings and errors stay.
    """
    removed = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        keep = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                lines = re.split(r"[\r\n]", out["text"])
                kept = [ln for ln in lines if not _PROGRESS.search(ln)]
                removed += sum(1 for ln in lines if ln.strip()) - len(kept)
                if not kept:
                    continue
                out["text"] = "\n".join(kept) + "\n"
            keep.append(out)
        cell["outputs"] = keep
    return removed


def hide_parameter_cells(nb) -> int:
    """Tag the parameters cell and papermill's injected-parameters cell ``remove-cell`` in an executed chapter (the
    page shows the run's parameters as a table instead); returns the cells tagged."""
    n = 0
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.cell_type == "code" and {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
            n += 1
    return n


def title_with_dataset(nb, dataset: str, profile: str) -> bool:
    """Append the dataset (and a profile other than quick) to the notebook's first markdown heading, in place:
    "# Main results" -> "# Main results: ihc-sr" or "# Main results: ihc-sr (smoke)". False when it has none."""
    suffix = f": {dataset}" + ("" if profile == "quick" else f" ({profile})")
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.split("\n")
        for i, line in enumerate(lines):
            if re.match(r"#+\s", line):
                lines[i] = line.rstrip() + suffix
                cell.source = "\n".join(lines)
                return True
    return False


def _write_atomic(nb, out: Path) -> None:
    """Write ``nb`` to ``out`` through a hidden copy beside it, which no failure or interruption leaves behind."""
    import nbformat
    tmp = out.with_name(f".{out.name}.tmp.ipynb")
    try:
        nbformat.write(nb, str(tmp))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def stamp(out: Path, deps: list[Path], root: Path | None = None) -> None:
    """Record the content hashes of ``deps`` in the executed notebook ``out`` (what ``_stale`` compares)."""
    import nbformat
    nb = nbformat.read(str(out), as_version=4)
    _record(nb, deps, root)
    _write_atomic(nb, out)


def _record(nb, deps: list[Path], root: Path | None, hashes: dict | None = None) -> None:
    """Store the content hashes of ``deps`` (``hashes`` where given) in ``nb``'s metadata."""
    hashes = hashes or {}
    nb.metadata.setdefault("spectral_collapse", {})["inputs"] = {
        _key(d, root): hashes[d] if d in hashes else file_hash(d) for d in deps}


def _papermill(src: Path, out: Path, params: dict, root: Path, retries: int = 2) -> None:
    """papermill.execute_notebook, retried when the kernel dies while starting (processes starting kernels at the
    same moment can race for a port), never when the notebook itself fails."""
    import random

    import papermill as pm
    for attempt in range(retries + 1):
        try:
            pm.execute_notebook(str(src), str(out), parameters=params, kernel_name="python3", cwd=str(root),
                                progress_bar=False)
            return
        except RuntimeError as err:
            if "before replying to kernel_info" not in str(err) or attempt == retries:
                raise
            print(f"{src.name}: the kernel died at start-up ({err}); retrying", file=sys.stderr, flush=True)
            time.sleep(3 + 4 * random.random())


def _root(root) -> Path:
    from .notebook import repo_root
    return Path(root) if root else repo_root()


def notebook_path(study: str, dataset: str, profile: str, root: Path, book_dir: Path | None = None) -> Path:
    """Where the executed chapter of (study, dataset, profile) is written."""
    from ..data import dataset_key

    suffix = "" if profile == "quick" else f"-{profile}"
    return ((Path(book_dir) if book_dir else Path(root) / "book" / "studies")
            / f"{study}-{dataset_key(dataset)}{suffix}.ipynb")


def _params(study: str, dataset: str, profile: str, results_root: str, extra: dict | None) -> dict:
    """The papermill parameters of a chapter, checked against the study's knobs (raises before any work)."""
    from ..studies.profiles import study_params
    from ..studies.registry import get_study, study_spec

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
    from ..studies.registry import get_study, study_spec
    from ..studies.store import results_path

    root = Path(root)
    src = root / graph.source_notebook(study)
    if get_study(study).run is None:
        from ..studies.profiles import study_params

        spec = study_spec(study, dataset=dataset, profile=profile, **{**study_params(profile, study), **(extra or {})})
        files = [v for k, v in spec.params if k.endswith("_file") and isinstance(v, str)]
        return [src, *(root / f for f in files)]
    from ..data import dataset_key

    own = root / results_path(study, dataset_key(dataset), profile, results_root)
    read = [root / results_path(s, dataset_key(dataset), profile, results_root) for s in graph.prerequisites(study)]
    return [src, own, *read]


def chapter_params(study: str, dataset: str, profile: str, results_root: str, extra: dict | None) -> dict:
    """Every resolved value a chapter depends on besides files: its papermill parameters, the content signatures
    of a folder dataset and of a user's models, and a digest of the profile's resolved values."""
    import hashlib

    from ..studies.models import content_inputs
    from ..studies.registry import study_spec
    from ..studies.spec import profile_values

    params = _params(study, dataset, profile, results_root, extra)
    spec = study_spec(study, **{k: v for k, v in params.items() if k != "results_root"})
    prof = hashlib.sha256(json.dumps(profile_values(profile), sort_keys=True).encode()).hexdigest()[:16]
    return json.loads(json.dumps({**params, "content": content_inputs(spec), "profile_values": prof},
                                 sort_keys=True, default=str))


def run_reason(study: str, dataset: str, profile: str, *, root: Path, book_dir: Path | None = None,
               results_root: str = "data/results", extra: dict | None = None) -> str | None:
    """Why ``execute_study`` would execute this (study, dataset), in words; None when it is up to date."""
    from ..studies.registry import get_study
    deps = chapter_inputs(study, dataset, profile, root=root, results_root=results_root, extra=extra)
    if get_study(study).run is not None and not deps[1].exists():
        return "no stored results"
    return stale_reason(notebook_path(study, dataset, profile, root, book_dir), deps, Path(root),
                        chapter_params(study, dataset, profile, results_root, extra))


def needs_run(study: str, dataset: str, profile: str, *, root: Path, book_dir: Path | None = None,
              results_root: str = "data/results", extra: dict | None = None) -> bool:
    """Whether ``execute_study`` would execute this (study, dataset): no results, a stale or missing chapter, or
    other parameters than the chapter was executed with (a model, data options, the profile's values)."""
    return run_reason(study, dataset, profile, root=root, book_dir=book_dir, results_root=results_root,
                      extra=extra) is not None


def execute_study(study: str, dataset: str, profile: str, *, root: Path | None = None, book_dir: Path | None = None,
                  results_root: str = "data/results", force: bool = False, extra: dict | None = None) -> Path | None:
    """Execute one study notebook for one dataset; returns the executed notebook path (None if up to date).

    Parameters: dataset, profile, results_root (studies that store results), the profile's ``study_params`` and
    ``extra``, all checked against the registry's knobs before papermill starts."""
    import nbformat

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
    from .runner import check_can_store

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
        hide_parameter_cells(nb)
        strip_progress(nb)
        _record(nb, chapter_inputs(study, dataset, profile, root=root, results_root=results_root, extra=extra), root,
                {src: src_hash})
        nb.metadata["spectral_collapse"]["params"] = chapter_params(study, dataset, profile, results_root, extra)
        nb.metadata["spectral_collapse"]["executed_because"] = reason
        _write_atomic(nb, out)  # through the same temporary name papermill wrote
    finally:  # a failed or interrupted run (Ctrl-C, SIGTERM) leaves no hidden half-executed copy behind
        tmp.unlink(missing_ok=True)
    print(f"{study} / {dataset} / {profile}: executed in {time.time() - t0:.0f} s -> {out}")
    for line in _result_notes(study, dataset, profile, root, results_root):
        print(f"  {line}", file=sys.stderr, flush=True)
    return out


def _result_notes(study: str, dataset: str, profile: str, root: Path, results_root: str) -> list[str]:
    """What the results of a chapter's run warned about, and the models below the quality gate it was allowed to
    use, one line each (printed by the main command after each chapter)."""
    from ..data import dataset_key
    from ..studies.registry import get_study
    from ..studies.store import results_path

    if get_study(study).run is None:
        return []
    path = Path(root) / results_path(study, dataset_key(dataset), profile, results_root)
    try:
        import xarray as xr

        with xr.open_dataset(path, engine="h5netcdf") as ds:
            attrs = dict(ds.attrs)
    except (OSError, ValueError):
        return []
    lines = []
    try:
        lines += [f"note: {n}" for n in json.loads(attrs.get("run_warnings") or "[]")]
        used = json.loads(attrs.get("model_gate") or "{}")
        lines += [f"below the quality gate (allowed): {k}: {v.get('failures')}" for k, v in used.items()
                  if not v.get("passed")]
    except (TypeError, ValueError):
        pass
    return lines


def run_studies(profile: str = "quick", studies=None, datasets=None, *, root: str | os.PathLike | None = None,
                results_root: str = "data/results", force: bool = False, jobs: int | str = 1,
                costs: dict | None = None, knobs: dict | None = None) -> list[Path]:
    """Execute every (study, dataset) of the profile that is missing or stale, each after the studies it reads.

    datasets: registered names or "folder:<path>" (a user's folders). knobs: parameters given to every study that
    declares them (the CLI's ``--data-options``, ``--model``, ``--models``: JSON text or values).

    jobs: how many run side by side, each in its own process with cores / jobs torch threads ("auto": see
    ``resolve_jobs``); a study starts once the studies it reads are done, the costliest first (``costs``: seconds
    per "study/dataset", e.g. ``recorded_costs`` of a timed main command). With 1 they run one after another in
    this process, in run order (book order, prerequisites first).
    """
    from ..data import check_dataset
    from ..studies.profiles import get_profile

    get_profile(profile)
    root = _root(root)
    jobs = resolve_jobs(jobs)
    order = graph.run_order(studies)  # checks every name before the first notebook starts
    for ds in datasets or ():
        check_dataset(ds)  # a registered name or folder:<path>
    from ..data import split_dataset
    from ..studies.registry import get_study

    knobs = {k: v for k, v in (knobs or {}).items() if v is not None}

    def wanted(study: str, ds: str) -> bool:
        """Without an explicit study list: a user's model skips the studies that cannot take one (the ablations),
        a folder dataset the pages that store no results (they only name a dataset)."""
        s = get_study(study)
        if studies is not None:
            return True
        if ({"model", "models"} & set(knobs)) and "model" in s.params and not s.takes_model:
            return False
        return not (split_dataset(ds)[1] is not None and s.run is None)

    pairs = [(study, ds) for study in order for ds in datasets or graph.datasets(study) if wanted(study, ds)]

    def extra(study: str) -> dict | None:
        own = {k: v for k, v in knobs.items() if k in get_study(study).params}
        return own or None

    if jobs > 1:
        pending: list = []
        for study, ds in pairs:  # run order: a pair whose prerequisite is pending may find new inputs then
            if force or any((s, ds) in pending for s in graph.prerequisites(study)) or \
                    needs_run(study, ds, profile, root=root, results_root=results_root, extra=extra(study)):
                pending.append((study, ds))
        threads = max(1, _cores() // jobs)

        def start(pair):
            cmd = [sys.executable, "-m", "spectral_collapse", "studies", "--profile", profile, "--study", pair[0],
                   "--dataset", pair[1], "--results-root", results_root, "--root", str(root),
                   *(["--force"] if force else []),
                   *[a for k, v in knobs.items() for a in (f"--{k.replace('_', '-')}",
                                                           v if isinstance(v, str) else json.dumps(v))]]
            env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
            return subprocess.Popen(cmd, cwd=str(root), env=env)

        print(f"{len(pending)} study notebook(s) to execute, {jobs} at a time with {threads} torch thread(s) each",
              flush=True)
        finished = run_side_by_side(pending, jobs, start, cost=costs)
        return [notebook_path(study, ds, profile, root) for study, ds in finished]
    done = []
    for study, ds in pairs:
        out = execute_study(study, ds, profile, root=root, results_root=results_root, force=force,
                            extra=extra(study))
        if out is not None:
            done.append(out)
    return done


def restamp(profile: str = "quick", *, root: str | os.PathLike | None = None,
            results_root: str = "data/results") -> list[Path]:
    """Adopt chapters executed outside ``execute_study`` (papermill by hand, older versions): strip progress bars
    and record the hashes of their current inputs (``chapter_inputs``) and the main command's parameters
    (``chapter_params``), so they count as up to date."""
    import nbformat

    from ..studies.registry import get_study

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
            strip_progress(nb)
            hide_parameter_cells(nb)
            _record(nb, deps, root)
            nb.metadata["spectral_collapse"]["params"] = chapter_params(study, dataset, profile, results_root, None)
            _write_atomic(nb, out)
            done.append(out)
    return done
