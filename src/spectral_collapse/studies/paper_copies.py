"""The paper's printed rows that carry another row's numbers, and which of the two is the copy.

``reference.row_relations`` finds two kinds of relation between rows of the paper's method tables: two rows about
different settings or methods with the same numbers ("same numbers"), and two rows about the same setting and method
with different numbers ("other numbers"). Of a pair with the same numbers, the copy is the row whose own setting and
method another table reports with other numbers; the row no table contradicts is the one the numbers belong to.
:func:`copy_groups` decides that once, and :func:`copy_notes` says it in one sentence per copied row (several tables
copying the same row in one sentence), the same sentence in every chapter, whichever row of
the pair a page shows.
"""
from __future__ import annotations

import pandas as pd

__all__ = ["copy_groups", "copy_notes", "copy_sentence", "setting_words"]

_DATASETS = {"bbbc021": "BBBC021", "edges2shoes": "Edges2Shoes"}
_BACKBONES = {"unet": "U-Net", "dit": "DiT"}


def _keys():
    from ..reference import ROW_KEYS

    return ROW_KEYS


def _key(row) -> tuple:
    return tuple(str(row[k]) for k in _keys())


def _row(key: tuple) -> dict:
    return dict(zip(_keys(), key))


def setting_words(row: dict) -> str:
    """A row's setting in words: "BBBC021 ×16, U-Net, latent space" (the dataset, its SR scale where it has one,
    the backbone and the data space)."""
    from ..text import notation

    data = _DATASETS.get(str(row["dataset"]), str(row["dataset"]))
    scale = notation(str(row.get("scale") or ""), "md")
    return ", ".join(p for p in (f"{data} {scale}".strip(), _BACKBONES.get(str(row["backbone"]), str(row["backbone"])),
                                 f"{row['space']} space") if p)


def copy_groups(paper: pd.DataFrame | None = None) -> list[dict]:
    """Every copied row of the paper's method tables, grouped by the row copied and the setting and method of the
    copies: ``source`` (the row whose numbers are copied), ``copies`` (the rows that carry them, same setting and
    method, one per table), ``metrics`` (how many the rows share), ``partners`` (the rows of other tables about the
    copies' own setting and method, which give other numbers) and ``decided`` (False where neither or both rows of
    a pair are contradicted: then ``copies`` holds the other row and the tables do not say which is right)."""
    from ..reference import ROW_KEYS, paper_tables, row_relations

    p = paper_tables() if paper is None else paper
    rel = row_relations(p)
    other = [f"other_{k}" for k in ROW_KEYS]
    same = rel[rel["relation"] == "same numbers"]
    contra = rel[rel["relation"] == "other numbers"]
    contradicted = {_key(r) for r in contra[ROW_KEYS].to_dict("records")}
    groups: dict[tuple, dict] = {}
    seen = set()
    for r in same.to_dict("records"):
        a, b = _key(r), tuple(str(r[k]) for k in other)
        if (b, a) in seen:
            continue
        seen.add((a, b))
        if (a in contradicted) != (b in contradicted):
            copy, source = (a, b) if a in contradicted else (b, a)
            decided = True
        else:
            copy, source = sorted((a, b), key=lambda k: (int(k[0].replace("table", "")), k))[::-1]
            decided = False
        g = groups.setdefault((source, copy[1:], decided), {"source": _row(source), "copies": [], "partners": [],
                                                           "metrics": 0, "decided": decided})
        g["copies"].append(_row(copy))
        g["metrics"] = max(g["metrics"], int(r["metrics"]))
    copies = {_key(c) for g in groups.values() for c in g["copies"] if g["decided"]}
    for g in groups.values():
        mine = {_key(c) for c in g["copies"]}
        part = contra[[(_key(r) in mine) for r in contra[ROW_KEYS].to_dict("records")]]
        found = {tuple(str(x[k]) for k in other) for x in part.to_dict("records")}
        g["partners"] = [_row(k) for k in sorted(found - copies - mine,
                                                 key=lambda k: int(k[0].replace("table", "")))]
        g["copies"].sort(key=lambda c: int(str(c["table"]).replace("table", "")))
    return list(groups.values())


def _numbers(rows: list[dict], against: dict, paper: pd.DataFrame) -> str:
    """The numbers ``rows`` give where they differ from ``against`` (as the paper prints them), and how many of the
    rest agree: "PSNR 16.66, FID 18.62 (S_LF the same)"."""
    from ..reference import METRIC_TEXT, paper_number, paper_row

    mine = paper_row(**against, paper=paper)
    theirs = paper_row(**rows[0], paper=paper)
    both = [m for m in METRIC_TEXT if m in mine.index and m in theirs.index]
    differ = [m for m in both if mine[m] != theirs[m]]
    agree = [m for m in both if m not in differ]
    said = (f" ({METRIC_TEXT[agree[0]]} the same)" if len(agree) == 1 else
            f" (the other {len(agree)} the same)" if agree else "")
    return ", ".join(paper_number(m, float(theirs[m])) for m in differ) + said


def _tables(rows) -> str:
    from ..reference import tables_word

    return tables_word([r["table"] for r in rows])


def copy_sentence(group: dict, paper: pd.DataFrame | None = None) -> str:
    """One sentence on one group of ``copy_groups``: which row carries which row's numbers, what the tables that
    report the copy's own setting give, and which row is the copy."""
    from ..reference import paper_tables, row_label, table_word
    from .method_labels import method_name

    p = paper_tables() if paper is None else paper
    src, copies = group["source"], group["copies"]
    first = copies[0]
    method = method_name(first["method"])
    source = f"{table_word(src['table'])}'s {row_label(src, first)} row"
    if len(copies) == 1:
        who = f"{table_word(first['table'])}'s {method} row"
    else:
        who = f"The {method} rows of {_tables(copies)}"
    carry = "carries" if len(copies) == 1 else "carry"
    head = f"{who} ({setting_words(first)}) {carry} the numbers of {source} on all {group['metrics']} metrics"
    if not group["decided"]:
        why = ("other tables report both settings with other numbers" if group["partners"] else
               "no other table reports either setting")
        return f"{head}; {why}, so the paper's tables do not say which row is right."
    partners = group["partners"]
    given = (f", while {_tables(partners)} {'gives' if len(partners) == 1 else 'give'} {method} in that setting "
             f"{_numbers(partners, first, p)}" if partners else "")
    copy = (f"{table_word(first['table'])}'s row is the copy" if len(copies) == 1 else
            f"those rows are the copies")
    return f"{head}{given}: {copy}, not {table_word(src['table'])}'s {row_label(src, first)} row."


def copy_notes(rows, paper: pd.DataFrame | None = None) -> list[str]:
    """The sentences (``copy_sentence``) on every copy group that a row of ``rows`` (dicts of ``reference.ROW_KEYS``)
    takes part in, as the copy, the row copied or a row of the copy's own setting; each group once, in the order of
    ``rows``. The same group gets the same sentence on every page that shows one of its rows."""
    from ..reference import paper_tables

    p = paper_tables() if paper is None else paper
    shown = [_key(r) for r in rows]
    groups = copy_groups(p)
    out: list[str] = []
    explained = set()
    for g in groups:
        for c in g["copies"]:
            explained |= {(_key(c), _key(q)) for q in g["partners"]} | {(_key(q), _key(c)) for q in g["partners"]}
    for key in shown:
        for g in groups:
            members = {_key(g["source"]), *(_key(c) for c in g["copies"]), *(_key(c) for c in g["partners"])}
            if key in members:
                text = copy_sentence(g, p)
                if text not in out:
                    out.append(text)
        text = _disagreement(key, explained, p)
        if text and text not in out:
            out.append(text)
    return out


def _disagreement(key: tuple, explained: set, paper: pd.DataFrame) -> str:
    """A sentence on a row whose setting and method other tables report with other numbers where no copy explains it
    ("Table 3's OVG row (…) and Table 9's give the same setting and method other numbers: Table 9 gives …"); ''
    when there is none."""
    from ..reference import ROW_KEYS, row_relations, table_word
    from .method_labels import method_name

    rel = row_relations(paper)
    rel = rel[rel["relation"] == "other numbers"]
    mine = rel[[(_key(r) == key) for r in rel[ROW_KEYS].to_dict("records")]]
    others = [_row(tuple(str(r[f"other_{k}"]) for k in ROW_KEYS)) for r in mine.to_dict("records")]
    others = [o for o in others if (key, _key(o)) not in explained]
    if not others:
        return ""
    me = _row(key)
    return (f"{table_word(me['table'])}'s {method_name(me['method'])} row ({setting_words(me)}) and "
            f"{_tables(others)} report the same setting and method with other numbers: "
            f"{_tables(others)} {'gives' if len(others) == 1 else 'give'} {_numbers(others, me, paper)}.")
