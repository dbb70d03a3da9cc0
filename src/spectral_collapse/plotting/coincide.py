"""Series drawn over each other: which curves of a chart coincide (within a tolerance at every shared point), per group,
and the chart text that names them."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["coinciding_series", "coinciding_groups", "grouped_coincidence_note", "coincidence_note"]


def coinciding_series(frame: pd.DataFrame, series: str, x: str, y: str, by: Sequence[str] = (),
                      tol: float = 0.01) -> list[tuple]:
    """Pairs of ``series`` whose ``y`` against ``x`` (within each group of ``by``) differ by less than ``tol`` at every
    shared ``x``, in the frame's order."""
    names = list(dict.fromkeys(frame[series]))
    groups = [g for _, g in frame.groupby(list(by), sort=False)] if by else [frame]
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            same, shared = True, False
            for g in groups:
                ca = g[g[series] == a].set_index(x)[y]
                cb = g[g[series] == b].set_index(x)[y]
                ca, cb = ca[~ca.index.duplicated()], cb[~cb.index.duplicated()]
                common = ca.index.intersection(cb.index)
                if len(common) == 0:
                    continue
                shared = True
                if not np.all(np.abs(ca[common].to_numpy(float) - cb[common].to_numpy(float)) < tol):
                    same = False
                    break
            if same and shared:
                out.append((a, b))
    return out


def coinciding_groups(frame: pd.DataFrame, series: str, x: str, y: str, by: Sequence[str],
                      tol: float = 0.01) -> list[tuple[Any, list[list]]]:
    """Per group of ``by`` with coinciding series: (the group's value, the sets of series that coincide there)."""
    order = list(dict.fromkeys(frame[series]))
    out = []
    for key, g in frame.groupby(list(by) if len(by) > 1 else by[0], sort=False):
        sets: list[list] = []
        for a, b in coinciding_series(g, series, x, y, tol=tol):
            hit = [s for s in sets if a in s or b in s]
            merged = {a, b}.union(*hit)
            sets = [s for s in sets if s not in hit] + [sorted(merged, key=order.index)]
        if sets:
            out.append((key, sorted(sets, key=lambda s: order.index(s[0]))))
    return out


def grouped_coincidence_note(groups: Sequence[tuple[Any, list[list]]], n_groups: int, name=str,
                             what: str = "curves") -> list[str]:
    """Subtitle lines for ``coinciding_groups``: a head line and one line per group, or "every arm: ..." when every
    group has the same sets; [] when none."""
    if not groups:
        return []
    from ..studies.method_labels import method_name

    def sets(ss):
        return "; ".join(" = ".join(method_name(v) for v in s) for s in ss)

    head = f"{what.capitalize()} joined by = coincide (within 0.01) and are drawn over each other:"
    if len(groups) == n_groups and n_groups > 1 and all(g[1] == groups[0][1] for g in groups):
        return [head, f"every arm: {sets(groups[0][1])}."]
    return [head, *(f"{name(k)}: {sets(ss)}." for k, ss in groups)]


def coincidence_note(pairs: Sequence[tuple], what: str = "curves") -> str:
    """A sentence naming the ``coinciding_series`` pairs ("" when none)."""
    if not pairs:
        return ""
    from ..studies.method_labels import method_name   # a method by its reader name, any other series as it is

    return "; ".join(f"{method_name(a)} and {method_name(b)}" for a, b in pairs) + \
        f": {what} coincide (within 0.01), drawn over each other"
