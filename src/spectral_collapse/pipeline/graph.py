"""Which studies exist, on which datasets, in which order: all read from ``studies.registry.STUDIES``.

The book's order is the registry's; ``run_order`` puts each study after those it reads (``Study.reads``).
"""
from __future__ import annotations

import graphlib

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
    wanted = set(names if studies is None else studies)
    for s in sorted(wanted, key=lambda s: book.get(s, len(book))):
        registry.get_study(s)
    sorter = graphlib.TopologicalSorter({s: prerequisites(s) for s in names})
    try:
        sorter.prepare()
    except graphlib.CycleError as err:  # args[1]: each node is read by the next, the first one repeated at the end
        ring = err.args[1][:0:-1]
        start = ring.index(min(ring, key=book.get))
        cycle = ring[start:] + ring[:start + 1]
        raise ValueError(f"studies read each other in a cycle: {' -> '.join(cycle)}; fix `reads` in "
                         f"studies/registry.py") from None
    order, ready = [], []
    while sorter.is_active():   # one at a time, the first ready study in book order
        ready = sorted([*ready, *sorter.get_ready()], key=book.get)
        s = ready.pop(0)
        sorter.done(s)
        if s in wanted:
            order.append(s)
    return order
