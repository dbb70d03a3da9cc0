"""Which studies exist, on which datasets, in which order: all read from ``studies.registry.STUDIES``.

The book's order is the registry's; ``run_order`` puts each study after those it reads (``Study.reads``).
"""
from __future__ import annotations

from ..studies import registry

__all__ = ["study_names", "datasets", "source_notebook", "prerequisites", "upstream", "run_order"]


def study_names() -> list[str]:
    """Every study, in book order."""
    return list(registry.STUDIES)


def datasets(study: str) -> tuple[str, ...]:
    """The datasets the main command runs ``study`` on."""
    return tuple(registry.get_study(study).datasets)


def source_notebook(study: str) -> str:
    """The notebook a researcher edits, relative to the repository root."""
    registry.get_study(study)
    return f"notebooks/{study}.ipynb"


def prerequisites(study: str) -> tuple[str, ...]:
    """The studies (same dataset and profile) whose results ``study`` reads: they run first when both are pending."""
    return tuple(registry.get_study(study).reads)


def upstream(study: str) -> list[str]:
    """Every study ``study`` depends on, directly or through another, in run order (``study`` excluded)."""
    seen: list[str] = []
    todo = list(prerequisites(study))
    while todo:
        s = todo.pop()
        if s not in seen and s != study:
            seen.append(s)
            todo += prerequisites(s)
    return run_order(seen)


def run_order(studies=None) -> list[str]:
    """``studies`` (default: all; no prerequisite added), each after the studies it reads, else in book order.
    Raises ValueError for an unknown study or a cycle (named)."""
    names = study_names()
    book = {name: i for i, name in enumerate(names)}
    wanted = list(dict.fromkeys(names if studies is None else studies))
    for s in wanted:
        registry.get_study(s)
    selected = set(wanted)
    order: list[str] = []
    state: dict[str, str] = {}  # "visiting" on the current path, "done" once placed

    def visit(s: str, path: list[str]) -> None:
        if state.get(s) == "done":
            return
        if state.get(s) == "visiting":
            cycle = path[path.index(s):] + [s]
            raise ValueError(f"studies read each other in a cycle: {' -> '.join(cycle)}; fix `reads` in "
                             f"studies/registry.py")
        state[s] = "visiting"
        for dep in sorted(prerequisites(s), key=lambda d: book.get(d, len(book))):
            visit(dep, path + [s])
        state[s] = "done"
        if s in selected:
            order.append(s)

    for s in sorted(wanted, key=lambda d: book.get(d, len(book))):
        visit(s, [])
    return order
