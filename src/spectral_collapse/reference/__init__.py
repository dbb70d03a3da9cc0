"""The paper's reported numbers (Tables 1, 3-6, 8-11; its Table 2 is Tables 9 and 11 combined) in long form, columns
table, dataset, scale, backbone, space, method, metric, mean, std, named as our results' coordinates."""
from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["paper_tables", "paper_counterpart", "paper_rows"]

# Which paper setting each of our datasets stands in for (bundled data are small analogues, not the same data).
_COUNTERPART = {
    "ihc-sr": ("bbbc021", "x16"), "bbbc021": ("bbbc021", "x16"),
    "ihc-edges": ("edges2shoes", ""), "edges2shoes": ("edges2shoes", ""),
}


def paper_tables() -> pd.DataFrame:
    """Every row of the paper's tables (``paper_tables.csv``)."""
    with resources.files(__package__).joinpath("paper_tables.csv").open() as f:
        df = pd.read_csv(f, keep_default_na=False, na_values=[""])
    df["scale"] = df["scale"].fillna("")
    return df


def paper_counterpart(dataset: str) -> tuple[str, str]:
    """(paper dataset, scale) that our dataset is compared with; ("", "") for a dataset with none."""
    return _COUNTERPART.get(dataset, ("", ""))


def paper_rows(dataset: str) -> pd.DataFrame:
    """The paper's main-results rows (Tables 8-11, U-Net in latent space) for our dataset's counterpart."""
    pds, sc = paper_counterpart(dataset)
    df = paper_tables()
    at = df.table.isin(("table8", "table9", "table10", "table11")) & (df.dataset == pds) & (df.scale == sc)
    return df[at & (df.backbone == "unet") & (df.space == "latent")].reset_index(drop=True)
