"""Execute the book's own pages (notebooks/book/<page>.ipynb) into book/<page>.ipynb: the introduction, the
scorecard, the claims, the paper's figures, the conclusions and the errata.

They read every stored result of a profile (``studies.evidence.load_evidence``) and compute nothing, so they run
after the study chapters, in seconds to a minute each. A page is executed when it is missing or its source notebook
or any results file of the profile changed (content hashes, as for a chapter: ``pipeline.chapters``).

    python -m spectral_collapse studies --study claims conclusions   # these pages only
"""
from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from .chapters import hide_parameter_cells, record_inputs, stale_reason, strip_progress, write_atomic

__all__ = ["PAGES", "QUIET_KERNEL", "papermill", "page_path", "page_inputs", "page_reason", "execute_page",
           "run_pages"]

# The kernel's own log (its connection, "KeyboardInterrupt caught in kernel") is noise on the command's output:
# papermill reports a notebook's error, message first.
QUIET_KERNEL = ("--IPKernelApp.log_level=CRITICAL",)

# in the order of the book: the introduction opens it, the others close it (book/_toc.yml)
PAGES = ("intro", "scorecard", "claims", "figures", "conclusions", "errata")


def papermill(src: Path, out: Path, params: dict, root: Path, retries: int = 2) -> None:
    """papermill.execute_notebook in ``root`` with a quiet kernel, retried when the kernel dies while starting
    (kernels starting at the same moment can race for a port), never when the notebook fails."""
    import papermill as pm

    from .notebook import ECHO_ENV
    from .parallel import environment

    for attempt in range(retries + 1):
        try:
            with environment({ECHO_ENV: "0"}):   # the command prints a study's error itself, message first
                pm.execute_notebook(str(src), str(out), parameters=params, kernel_name="python3", cwd=str(root),
                                    progress_bar=False, extra_arguments=list(QUIET_KERNEL))
            return
        except RuntimeError as err:
            if "before replying to kernel_info" not in str(err) or attempt == retries:
                raise
            print(f"{src.name}: the kernel died at start-up ({err}); retrying", file=sys.stderr, flush=True)
            time.sleep(3 + 4 * random.random())


def page_path(page: str, profile: str, root: Path) -> Path:
    """book/<page>.ipynb (book/<page>-<profile>.ipynb for a profile other than quick, which the book does not list)."""
    suffix = "" if profile == "quick" else f"-{profile}"
    return Path(root) / "book" / f"{page}{suffix}.ipynb"


def page_inputs(page: str, profile: str, root: Path, results_root: str = "data/results") -> list[Path]:
    """The source notebook, then every stored results file of ``profile`` (<study>/<dataset>-<profile>.nc)."""
    if page not in PAGES:
        raise ValueError(f"unknown book page {page!r}; the pages are {', '.join(PAGES)}")
    results = Path(root) / results_root
    return [Path(root) / "notebooks" / "book" / f"{page}.ipynb", *sorted(results.glob(f"*/*-{profile}.nc"))]


def page_reason(page: str, profile: str, root: Path, results_root: str = "data/results") -> str | None:
    """Why ``execute_page`` would execute the page, in words; None when it is up to date."""
    return stale_reason(page_path(page, profile, root), page_inputs(page, profile, root, results_root), Path(root),
                        {"profile": profile, "results_root": results_root})


def execute_page(page: str, profile: str = "quick", *, root: Path, results_root: str = "data/results",
                 force: bool = False) -> Path | None:
    """Execute one page with papermill (``profile`` and ``results_root``, where its parameters cell declares them);
    returns the executed page, None when it is up to date."""
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
        papermill(deps[0], tmp, params, root)
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
