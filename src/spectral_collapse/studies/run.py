"""Run the studies of a profile: execute each study notebook with papermill into book/studies/ (a book chapter).

A (study, dataset) is executed when its executed notebook is missing or when its source notebook or its results
file changed since it was executed; the notebook itself computes results only when they are missing. So rerunning
with nothing changed does no work. "Changed" compares content hashes stored in the executed notebook's metadata
(``spectral_collapse.inputs``), not modification times: a fresh clone writes files in arbitrary order, and
must not re-execute every chapter. Notebooks without stored hashes fall back to modification times.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

__all__ = ["STUDIES", "discover_studies", "run_studies", "execute_study", "stamp", "file_hash", "strip_progress", "restamp"]



def discover_studies(root: str | os.PathLike | None = None) -> dict[str, tuple[str, tuple[str, ...]]]:
    """study -> (source notebook, default datasets), read from the metadata of notebooks/*.ipynb, in book order."""
    import json

    from .notebook import repo_root

    root = Path(root) if root else repo_root()
    found = []
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        meta = json.loads(nb.read_text()).get("metadata", {}).get("spectral_collapse")
        if meta:
            found.append((meta.get("order", 100), meta["study"], (f"notebooks/{nb.name}", tuple(meta["datasets"]))))
    return {name: v for _, name, v in sorted(found)}


STUDIES = discover_studies()


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
    import json

    try:
        return json.loads(out.read_text())["metadata"]["spectral_collapse"]["inputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _stale(out: Path, deps: list[Path], root: Path | None = None) -> bool:
    """Whether ``out`` must be executed again: missing, or a dependency changed since (hashes, else mtimes)."""
    if not out.exists():
        return True
    stored = _inputs(out)
    if stored is not None:
        return any(stored.get(_key(d, root)) != file_hash(d) for d in deps)
    t = out.stat().st_mtime
    return any(d.exists() and d.stat().st_mtime > t for d in deps)


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


def stamp(out: Path, deps: list[Path], root: Path | None = None) -> None:
    """Record the content hashes of ``deps`` in the executed notebook ``out`` (what ``_stale`` compares)."""
    import nbformat

    nb = nbformat.read(str(out), as_version=4)
    nb.metadata.setdefault("spectral_collapse", {})["inputs"] = {_key(d, root): file_hash(d) for d in deps}
    tmp = out.with_name(f".{out.name}.tmp.ipynb")
    nbformat.write(nb, str(tmp))
    os.replace(tmp, out)


def execute_study(study: str, dataset: str, profile: str, *, root: Path, book_dir: Path | None = None,
                  results_root: str = "data/results", force: bool = False, extra: dict | None = None) -> Path | None:
    """Execute one study notebook for one dataset; returns the executed notebook path (None if up to date)."""
    import nbformat
    import papermill as pm

    from .profiles import study_params
    from .store import results_path

    studies = discover_studies(root)
    if study not in studies:
        raise ValueError(f"unknown study {study!r}; valid studies: {', '.join(studies)}")
    src = root / studies[study][0]
    book_dir = book_dir or root / "book" / "studies"
    suffix = "" if profile == "quick" else f"-{profile}"
    out = book_dir / f"{study}-{dataset}{suffix}.ipynb"
    res = root / results_path(study, dataset, profile, results_root)
    if not force and not _stale(out, [src, res], root) and res.exists():
        return None
    t0 = time.time()
    src_hash = file_hash(src)  # before: a source edited during the run must leave the chapter stale
    tmp = out.with_name(f".{out.name}.tmp.ipynb")
    out.parent.mkdir(parents=True, exist_ok=True)
    params = {"dataset": dataset, "profile": profile, "results_root": results_root,
              **study_params(profile, study), **(extra or {})}
    pm.execute_notebook(str(src), str(tmp), parameters=params,
                        kernel_name="python3", cwd=str(root), progress_bar=False)
    nb = nbformat.read(str(tmp), as_version=4)
    for cell in nb.cells:  # page title: the first heading names the dataset
        if cell.cell_type == "markdown" and "{dataset}" in cell.source:
            cell.source = cell.source.replace("{dataset}", f"{dataset}" + (f" ({profile})" if suffix else ""))
            break
    strip_progress(nb)
    nb.metadata.setdefault("spectral_collapse", {})["inputs"] = {_key(src, root): src_hash, _key(res, root): file_hash(res)}
    nbformat.write(nb, str(tmp))
    os.replace(tmp, out)
    print(f"{study} / {dataset} / {profile}: executed in {time.time() - t0:.0f} s -> {out}")
    return out


def run_studies(profile: str = "quick", studies=None, datasets=None, *, root: str | os.PathLike | None = None,
                results_root: str = "data/results", force: bool = False) -> list[Path]:
    """Execute every (study, dataset) of the profile that is missing or stale."""
    from .notebook import repo_root
    from .profiles import get_profile

    get_profile(profile)
    root = Path(root) if root else repo_root()
    done = []
    from ..data import DATASETS

    known = discover_studies(root)
    for study in studies or known:  # check every name before the first notebook starts
        if study not in known:
            raise ValueError(f"unknown study {study!r}; valid studies: {', '.join(known)}")
    for ds in datasets or ():
        if ds not in DATASETS:
            raise ValueError(f"unknown dataset {ds!r}; valid datasets: {', '.join(sorted(DATASETS))}")
    for study in studies or known:
        for ds in datasets or known[study][1]:
            out = execute_study(study, ds, profile, root=root, results_root=results_root, force=force)
            if out is not None:
                done.append(out)
    return done


def restamp(profile: str = "quick", *, root: str | os.PathLike | None = None,
            results_root: str = "data/results") -> list[Path]:
    """Adopt chapters executed outside ``execute_study`` (papermill by hand, older versions): strip progress bars
    and record the hashes of their current source notebook and results, so they count as up to date."""
    import nbformat

    from .notebook import repo_root
    from .store import results_path

    root = Path(root) if root else repo_root()
    suffix = "" if profile == "quick" else f"-{profile}"
    done = []
    for study, (src, datasets) in discover_studies(root).items():
        for out in sorted((root / "book" / "studies").glob(f"{study}-*{suffix}.ipynb")):
            dataset = out.stem[len(study) + 1:len(out.stem) - len(suffix)]
            res = root / results_path(study, dataset, profile, results_root)
            if not res.exists() or (not suffix and any(out.stem.endswith(f"-{p}") for p in ("smoke", "paper"))):
                continue
            nb = nbformat.read(str(out), as_version=4)
            strip_progress(nb)
            nb.metadata.setdefault("spectral_collapse", {})["inputs"] = {
                _key(d, root): file_hash(d) for d in (root / src, res)}
            tmp = out.with_name(f".{out.name}.tmp.ipynb")
            nbformat.write(nb, str(tmp))
            os.replace(tmp, out)
            done.append(out)
    return done

