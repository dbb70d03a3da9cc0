"""Run the studies of a profile: execute each study notebook with papermill into book/studies/ (a book chapter).

A (study, dataset) is executed when its executed notebook is missing or older than its results file or its
source notebook; the notebook itself computes results only when they are missing. So rerunning with nothing
changed does no work.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["STUDIES", "discover_studies", "run_studies", "execute_study"]



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


def _stale(out: Path, deps: list[Path]) -> bool:
    if not out.exists():
        return True
    t = out.stat().st_mtime
    return any(d.exists() and d.stat().st_mtime > t for d in deps)


def execute_study(study: str, dataset: str, profile: str, *, root: Path, book_dir: Path | None = None,
                  results_root: str = "data/results", force: bool = False, extra: dict | None = None) -> Path | None:
    """Execute one study notebook for one dataset; returns the executed notebook path (None if up to date)."""
    import nbformat
    import papermill as pm

    from .store import results_path

    studies = discover_studies(root)
    if study not in studies:
        raise ValueError(f"unknown study {study!r}; valid studies: {', '.join(studies)}")
    src = root / studies[study][0]
    book_dir = book_dir or root / "book" / "studies"
    suffix = "" if profile == "quick" else f"-{profile}"
    out = book_dir / f"{study}-{dataset}{suffix}.ipynb"
    res = root / results_path(study, dataset, profile, results_root)
    if not force and not _stale(out, [src, res]) and res.exists():
        return None
    t0 = time.time()
    tmp = out.with_name(f".{out.name}.tmp.ipynb")
    out.parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(str(src), str(tmp), parameters={"dataset": dataset, "profile": profile,
                                                        "results_root": results_root, **(extra or {})},
                        kernel_name="python3", cwd=str(root), progress_bar=False)
    nb = nbformat.read(str(tmp), as_version=4)
    for cell in nb.cells:  # page title: the first heading names the dataset
        if cell.cell_type == "markdown" and "{dataset}" in cell.source:
            cell.source = cell.source.replace("{dataset}", f"{dataset}" + (f" ({profile})" if suffix else ""))
            break
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
