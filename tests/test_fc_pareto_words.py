"""The Pareto chapter's wording: the variants the rule picks a point for, one name for the sweep's crops, one order."""
import numpy as np
import xarray as xr

BASES = ["ovg", "ovg_taba", "ovg_edm"]


def _sweep(**attrs) -> xr.Dataset:
    failed = np.zeros((3, 2, 2, 4), bool)
    failed[1, 0, 0, :3] = True
    ds = xr.Dataset({"failed": (("base", "eta_hf", "eta_lf", "sample"), failed),
                     "failure": (("base", "eta_hf", "eta_lf", "sample"), np.where(failed, "non-finite", ""))},
                    coords={"base": BASES, "eta_hf": [1e-7, 1e-6], "eta_lf": [1e-3, 1e-2]})
    ds.attrs.update({"study": "pareto", "primary": "ovg", "rule": "maximin", **attrs})
    return ds


