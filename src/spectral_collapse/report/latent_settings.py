"""The settings table of the latent chapters and the metric-validation chapter (``settings``): the named attrs of a
run in words, when it was computed and with which packages."""
from __future__ import annotations

import re

import pandas as pd
import xarray as xr

from ..text import typeset

__all__ = ["settings"]


def _uses_ovg(ds: xr.Dataset) -> bool:
    """Whether any method (or series) of the results is OVG-guided (its label names OVG)."""
    labels = [str(v) for c in ("method", "series") if c in ds.coords for v in ds[c].values]
    return any("ovg" in v for v in labels)


def settings(ds: xr.Dataset, keys) -> pd.DataFrame:
    """The chapter's "settings of this run": the named attrs, when they were computed and with which packages.

    Values a reader could not read as stored are put in words: ``model_factor`` as the SR factor the model was trained
    at (0: none), the definitions' ASCII formulas typeset; OVG's step sizes are left out when no method of the run is
    OVG-guided (the run never used them)."""
    from ..studies.settings import settings_table

    keys = [k for k in keys if k != "ovg" or _uses_ovg(ds)]
    table = settings_table(ds, keys)
    if "model_factor" in table.index:
        f = int(ds.attrs.get("model_factor") or 0)
        table.loc["model_factor", "value"] = (
            f"x{f}: every factor is inverted with the model trained at x{f}" if f
            else "none: the model has no SR factor (the task is not super-resolution)")
    for k in ("definition", "s_dc_definition"):
        if k in table.index:
            table.loc[k, "value"] = typeset(str(table.loc[k, "value"])).replace("flagged-patch ratio", "flagged share")
    if "pca" in table.index:   # the chart draws the unit-variance curves; the latents as inverted feed the raw columns
        table.loc["pca", "value"] = str(table.loc["pca", "value"]).replace(
            "(cev; raw latents: cev_raw)", "(the charted curves; a second PCA, of the latents as inverted and not scaled, "
            "is compared with it in the table's raw columns or, where it gives the same numbers, in the line under the "
            "table)")
    if "gaussian" in table.index:   # the reference's seed offset, in words
        table.loc["gaussian", "value"] = re.sub(
            r"seeded with the run's seed \+ \d+|seed \+ \d+$", "drawn from a random stream of their own, never the "
            "inversions' noise", str(table.loc["gaussian", "value"]))
    return table
