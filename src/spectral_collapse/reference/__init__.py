"""The paper's reported numbers (Tables 1, 3-6, 8-11) in long form, for joins with our results.

Columns: table, dataset, scale, backbone, space, method, metric, mean, std. Table 2 of the paper is Tables 9
(BBBC021 x16) and 11 (Edges2Shoes) combined. Method and metric names match our results' coordinates.
"""
from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["paper_tables", "paper_counterpart", "paper_rows", "row_relations", "SETTING", "ROW_KEYS",
           "METHOD_TABLES"]

# Which paper setting each of our datasets stands in for (bundled data are small analogues, not the same data).
_COUNTERPART = {
    "ihc-sr": ("bbbc021", "x16"), "bbbc021": ("bbbc021", "x16"),
    "ihc-edges": ("edges2shoes", ""), "edges2shoes": ("edges2shoes", ""),
}


def paper_tables() -> pd.DataFrame:
    with resources.files(__package__).joinpath("paper_tables.csv").open() as f:
        df = pd.read_csv(f, keep_default_na=False, na_values=[""])
    df["scale"] = df["scale"].fillna("")
    return df


def paper_counterpart(dataset: str, scale: str | None = None) -> tuple[str, str]:
    """(paper dataset, scale) that our dataset is compared with; SR scale overridable (x8, x16, x32)."""
    if dataset not in _COUNTERPART:
        return ("", "")
    ds, sc = _COUNTERPART[dataset]
    return ds, (scale if scale is not None and ds == "bbbc021" else sc)


def paper_rows(dataset: str, tables=("table8", "table9", "table10", "table11"), scale: str | None = None,
               backbone: str = "unet", space: str = "latent") -> pd.DataFrame:
    """The paper's main-results rows (mean, std per method and metric) for our dataset's counterpart."""
    pds, sc = paper_counterpart(dataset, scale)
    df = paper_tables()
    at = df.table.isin(tables) & (df.dataset == pds) & (df.scale == sc) & (df.backbone == backbone)
    return df[at & (df.space == space)].reset_index(drop=True)


# ------------------------------------------------------------------------------------ rows across tables

SETTING = ["dataset", "scale", "backbone", "space", "method"]    # what a row of a method table is about
ROW_KEYS = ["table", *SETTING]                                  # one row of one table
METHOD_TABLES = ("table3", "table4", "table5", "table8", "table9", "table10", "table11")  # rows per method


def row_relations(paper: pd.DataFrame | None = None, min_metrics: int = 4) -> pd.DataFrame:
    """How each row of the paper's method tables (Tables 3-5, 8-11) stands to the rows of its other tables.

    "same numbers": another setting or method with the same number on every shared metric (at least ``min_metrics``);
    "other numbers": the same setting and method with another number on a shared metric. Columns: ``ROW_KEYS``,
    ``relation``, ``other_<key>``, ``metrics`` (how many compared), ``differing``."""
    p = paper_tables() if paper is None else paper
    w = p[p["table"].isin(METHOD_TABLES)].pivot_table(index=ROW_KEYS, columns="metric", values="mean", sort=False)
    keys = list(w.index)
    vals = w.to_numpy(float)
    out = []
    for i, a in enumerate(keys):
        for j, b in enumerate(keys):
            if i == j or a[0] == b[0]:
                continue
            both = ~np.isnan(vals[i]) & ~np.isnan(vals[j])
            if both.sum() < min_metrics:
                continue
            differ = [m for m, k in zip(w.columns, both & (vals[i] != vals[j])) if k]
            same_setting = a[1:] == b[1:]
            if same_setting and differ:
                relation = "other numbers"
            elif not same_setting and not differ:
                relation = "same numbers"
            else:
                continue
            out.append({**dict(zip(ROW_KEYS, a)), "relation": relation,
                        **{f"other_{k}": v for k, v in zip(ROW_KEYS, b)}, "metrics": int(both.sum()),
                        "differing": ", ".join(differ)})
    cols = [*ROW_KEYS, "relation", *[f"other_{k}" for k in ROW_KEYS], "metrics", "differing"]
    return pd.DataFrame(out, columns=cols)
