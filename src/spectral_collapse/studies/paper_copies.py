"""The paper's printed rows that carry another row's numbers, and which of the two is the copy.

``reference.row_relations`` finds two kinds of relation between rows of the paper's method tables: two rows about
different settings or methods with the same numbers ("same numbers"), and two rows about the same setting and method
with different numbers ("other numbers"). Of a pair with the same numbers, the copy is the row whose own setting and
method another table reports with other numbers; the row no table contradicts is the one the numbers belong to.
:func:`copy_groups` decides that once, for every page that shows a row of a pair.
"""
from __future__ import annotations

import pandas as pd

from ..reference import ROW_KEYS, paper_tables, row_relations

__all__ = ["copy_groups"]


def _key(row, prefix: str = "") -> tuple:
    return tuple(str(row[f"{prefix}{k}"]) for k in ROW_KEYS)


def _row(key: tuple) -> dict:
    return dict(zip(ROW_KEYS, key))


def _table(key: tuple) -> int:
    return int(str(key[0]).replace("table", ""))


def copy_groups(paper: pd.DataFrame | None = None) -> list[dict]:
    """Every copied row of the paper's method tables, grouped by the row copied and the setting and method of the
    copies: ``source`` (the row whose numbers are copied), ``copies`` (the rows that carry them, same setting and
    method, one per table), ``metrics`` (how many the rows share), ``partners`` (the rows of other tables about the
    copies' own setting and method, which give other numbers) and ``decided`` (False where neither or both rows of
    a pair are contradicted: then ``copies`` holds the other row and the tables do not say which is right)."""
    rel = row_relations(paper_tables() if paper is None else paper)
    same = rel[rel["relation"] == "same numbers"]
    contra = rel[rel["relation"] == "other numbers"]
    contradicted = {_key(r) for r in contra.to_dict("records")}
    groups: dict[tuple, dict] = {}
    seen = set()
    for r in same.to_dict("records"):
        a, b = _key(r), _key(r, "other_")
        if (b, a) in seen:
            continue
        seen.add((a, b))
        decided = (a in contradicted) != (b in contradicted)
        if decided:
            copy, source = (a, b) if a in contradicted else (b, a)
        else:
            copy, source = sorted((a, b), key=lambda k: (_table(k), k))[::-1]
        g = groups.setdefault((source, copy[1:], decided), {"source": _row(source), "copies": [], "partners": [],
                                                           "metrics": 0, "decided": decided})
        g["copies"].append(_row(copy))
        g["metrics"] = max(g["metrics"], int(r["metrics"]))
    copies = {_key(c) for g in groups.values() for c in g["copies"] if g["decided"]}
    for g in groups.values():
        mine = {_key(c) for c in g["copies"]}
        found = {_key(x, "other_") for x in contra.to_dict("records") if _key(x) in mine}
        g["partners"] = [_row(k) for k in sorted(found - copies - mine, key=_table)]
        g["copies"].sort(key=lambda c: _table((c["table"],)))
    return list(groups.values())
