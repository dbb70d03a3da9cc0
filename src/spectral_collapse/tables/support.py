"""The support leak of each method's stored latents (``metrics.latent.support_leak``), trained networks beside the
exact model: a table the chapters show. Files computed before the leak was stored are read from their latents, which
the translation studies keep for every test crop of the main results (and the first 8 crops of each seed elsewhere)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import torch
import xarray as xr

from ..data.support import support_projector
from ..framework.oracle_arm import arm_results
from ..framework.validity import failed_of
from ..metrics.latent import support_leak

__all__ = ["leak_values", "leak_table", "LEAK_HEADERS"]

LEAK_HEADERS = {"trained": "leak, trained networks", "oracle": "leak, exact model", "runs": "training runs",
                "crops": "crops per run"}


def leak_values(ds: xr.Dataset, method: str) -> np.ndarray:
    """(seed, crop) support leaks of ``method``'s latents in results ``ds``: the stored ``support_leak`` where the file
    has it, else computed from the stored latents against the task's support (``data.support``); failed samples
    NaN. An empty array where the task has no known support or the file keeps no latents."""
    if "support_leak" in ds and np.isfinite(ds["support_leak"].sel({"method": method}).values).any():
        v = np.asarray(ds["support_leak"].sel({"method": method}).values, dtype=np.float64)
    elif "latents" in ds:
        lat = ds["latents"].sel({"method": method})
        task = json.loads(ds.attrs.get("task", "null"))
        try:
            proj = support_projector(task, lat.shape[-3:])
        except ValueError:
            return np.empty((0, 0))
        flat = torch.from_numpy(np.asarray(lat.values, dtype=np.float64).reshape(-1, *lat.shape[-3:]))
        v = support_leak(flat, proj).reshape(lat.shape[:-3])
    else:
        return np.empty((0, 0))
    failed = failed_of(ds)
    if failed is not None and "method" in failed.dims:
        f = np.asarray(failed.sel({"method": method}).values, dtype=bool)
        if f.shape == v.shape:
            v = np.where(f, np.nan, v)
    return np.atleast_2d(v)


def leak_table(ds: xr.Dataset, methods=None) -> pd.DataFrame:
    """Per method: the mean support leak of the trained networks' latents (with each training run's mean), and the
    exact model's (the oracle arm) where the file holds it."""
    oracle = arm_results(ds)
    rows = {}
    for m in methods or ds["method"].values.tolist():
        v = leak_values(ds, m)
        if not v.size:
            continue
        per_run = np.nanmean(v, axis=-1)
        row = {"trained": float(np.nanmean(v)), "runs": " / ".join(f"{x:.2f}" for x in per_run),
               "crops": int(v.shape[-1])}
        if oracle is not None and m in oracle["method"].values:
            w = leak_values(oracle, m)
            row["oracle"] = float(np.nanmean(w)) if w.size else np.nan
        rows[m] = row
    return pd.DataFrame.from_dict(rows, orient="index")
