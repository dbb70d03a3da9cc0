"""Execute the book's own pages (notebooks/book/<page>.ipynb) into book/<page>.ipynb: the introduction, the
scorecard, the claims, the paper's figures, the conclusions and the errata.

These pages read every stored result of a profile at once (``studies.evidence.load_evidence``), so they run
after the study chapters and compute nothing. A page is executed when it is missing, when its source notebook
changed, or when any results file of the profile under ``results_root`` changed (content hashes recorded in the
page's metadata, as for a study chapter: ``pipeline.chapters``). A page runs in seconds to a minute.

    python -m spectral_collapse studies --study claims conclusions   # these pages only
"""
from __future__ import annotations

import time
from pathlib import Path

from .chapters import hide_parameter_cells, record_inputs, stale_reason, strip_progress, write_atomic

__all__ = ["PAGES", "QUIET_KERNEL", "page_path", "page_inputs", "page_reason", "execute_page", "run_pages"]

# The kernel's own log ("Kernel is running over TCP without encryption", its connection file, "KeyboardInterrupt
# caught in kernel" as papermill stops it after a failed cell) is noise on the command's output: a study's error
# reaches the command through papermill, which prints it message first. The studies' progress bars reach the
# terminal on their own path (``studies.progress``), never the chapter.
QUIET_KERNEL = ("--IPKernelApp.log_level=CRITICAL",)

# in the order of the book: the introduction opens it, the others close it (book/_toc.yml)
PAGES = ("intro", "scorecard", "claims", "figures", "conclusions", "errata")


def page_path(page: str, profile: str, root: Path) -> Path:
    """Where the executed page is written: book/<page>.ipynb (book/<page>-<profile>.ipynb for another profile than
    quick, which the book does not list)."""
    suffix = "" if profile == "quick" else f"-{profile}"
    return Path(root) / "book" / f"{page}{suffix}.ipynb"


def page_inputs(page: str, profile: str, root: Path, results_root: str = "data/results") -> list[Path]:
    """The source notebook, then every stored results file of ``profile`` (<study>/<dataset>-<profile>.nc)."""
    if page not in PAGES:
        raise ValueError(f"unknown book page {page!r}; the pages are {', '.join(PAGES)}")
    results = Path(root) / results_root
    return [Path(root) / "notebooks" / "book" / f"{page}.ipynb", *sorted(results.glob(f"*/*-{profile}.nc"))]


def page_reason(page: str, profile: str, root: Path, results_root: str = "data/results") -> str | None:
    """Why ``execute_page`` would execute the page, in words (no page yet, an input changed); None when up to
    date."""
    return stale_reason(page_path(page, profile, root), page_inputs(page, profile, root, results_root), Path(root),
                        {"profile": profile, "results_root": results_root})


def execute_page(page: str, profile: str = "quick", *, root: Path, results_root: str = "data/results",
                 force: bool = False) -> Path | None:
    """Execute one page with papermill (the parameters its ``parameters`` cell declares, of ``profile`` and
    ``results_root``); returns the executed page, None when it is up to date."""
    import nbformat
    import papermill as pm

    root = Path(root)
    deps = page_inputs(page, profile, root, results_root)
    out = page_path(page, profile, root)
    reason = "forced" if force else page_reason(page, profile, root, results_root)
    if reason is None:
        return None
    print(f"book page {page} / {profile}: executing ({reason})", flush=True)
    t0 = time.time()
    declared = pm.inspect_notebook(str(deps[0]))
    params = {k: v for k, v in {"profile": profile, "results_root": results_root}.items() if k in declared}
    tmp = out.with_name(f".{out.name}.tmp.ipynb")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        pm.execute_notebook(str(deps[0]), str(tmp), parameters=params, kernel_name="python3", cwd=str(root),
                            progress_bar=False, extra_arguments=list(QUIET_KERNEL))
        nb = nbformat.read(str(tmp), as_version=4)
        hide_parameter_cells(nb)
        strip_progress(nb)
        record_inputs(nb, deps, root)
        nb.metadata["spectral_collapse"]["params"] = {"profile": profile, "results_root": results_root}
        write_atomic(nb, out)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"book page {page} / {profile}: executed in {time.time() - t0:.0f} s -> {out}", flush=True)
    return out


def run_pages(profile: str = "quick", pages=PAGES, *, root: Path, results_root: str = "data/results",
              force: bool = False) -> list[Path]:
    """Execute each of ``pages`` that is missing or stale (``execute_page``); returns those executed."""
    done = [execute_page(p, profile, root=root, results_root=results_root, force=force) for p in pages]
    return [p for p in done if p is not None]
