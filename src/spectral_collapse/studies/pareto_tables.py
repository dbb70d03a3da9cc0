"""The Pareto chapter's numbers: the sweep's grid as a table (``grid_table``) and the joint S_HF / S_LF front of
the grid points and the baselines, counted (``front_counts``)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from ..text import step_size
from .method_labels import method_name
from .pareto import baseline_summary, grid_summary, joint_front

__all__ = ["GRID_COLUMNS", "grid_table", "front_counts", "choices_table", "beats_baselines"]

GRID_COLUMNS = ["base", "eta_hf", "eta_lf", "kid_wav", "delta_log_e_hf_luma_ref", "delta_log_e_hf_chroma_ref",
                "in_band", "s_lf", "s_hf", "psnr", "s_dc", "s_g", "failed", "on_front", "chosen"]
_READ = {"kid_wav": "KID_wav", "delta_log_e_hf_luma_ref": "luma detail", "delta_log_e_hf_chroma_ref": "chroma detail",
         "in_band": "in the real band", "on_front": "on its variant's S_HF / S_LF front"}


def grid_table(ds: xr.Dataset, digits: int = 4) -> pd.DataFrame:
    """One row per (OVG variant, eta_HF, eta_LF): ``grid_summary``'s means (KID_wav and the luma / chroma detail
    the choice reads first) and failed count, "yes" where inside both real bands, on its variant's S_HF / S_LF front
    or chosen."""
    table = grid_summary(ds)
    shown = table[[c for c in GRID_COLUMNS if c in table]].round(
        {c: digits for c in ("s_hf", "s_lf", "psnr", "s_dc", "s_g", "kid_wav", "delta_log_e_hf_luma_ref",
                             "delta_log_e_hf_chroma_ref")})
    yes = {True: "yes", False: ""}
    flags = {c: shown[c].map(yes) for c in ("on_front", "chosen", "in_band") if c in shown}
    return shown.assign(base=shown["base"].map(method_name), eta_hf=shown["eta_hf"].map(step_size),
                        eta_lf=shown["eta_lf"].map(step_size), **flags).rename(
        columns={"base": "OVG variant", **_READ})


def front_counts(ds: xr.Dataset) -> dict:
    """Counts of ``joint_front``: grid points and baselines in all and on the front, variants on and off it,
    dominated baselines, the primary's choice, the best baselines on S_HF and S_LF, and ``holds``."""
    grid, base, front = joint_front(ds)
    n = len(grid)
    on = grid[front[:n]]
    swept = [str(b) for b in ds["base"].values if str(b) in set(map(str, grid["base"]))]
    primary = ds.attrs.get("primary", "ovg")
    best = {k: (str(base.loc[base[k].idxmax(), "method"]), float(base[k].max())) if base[k].notna().any() else None
            for k in ("s_hf", "s_lf")}   # None: no baseline scored (every sample failed, or none ran)
    return {"n_grid": n, "n_baselines": len(base), "front_ovg": int(front[:n].sum()),
            "front_baselines": int(front[n:].sum()),
            "front_bases": [b for b in swept if b in set(map(str, on["base"]))],
            "off_bases": [b for b in swept if b not in set(map(str, on["base"]))],
            "dominated": [str(m) for m, f in zip(base["method"], front[n:]) if not f],
            "choice": json.loads(ds.attrs.get("choices", "{}")).get(primary), "primary": primary,
            "best_hf": best["s_hf"], "best_lf": best["s_lf"], "holds": bool(front[:n].sum() > 0)}


def choices_table(ds: xr.Dataset) -> pd.DataFrame:
    """Each OVG variant's chosen point: step sizes, the means the choice read (KID_wav, luma and chroma detail,
    whether inside both real bands, whether its KID_wav is at most its unguided method's, S_LF), S_HF, and the grid
    edge it lies on ("eta_HF smallest")."""
    axes = {"eta_HF": sorted(map(float, ds["eta_hf"].values)), "eta_LF": sorted(map(float, ds["eta_lf"].values))}
    rows = {}
    for b, c in json.loads(ds.attrs.get("choices", "{}")).items():
        if not c:
            continue
        edge = [f"{name} {side}" for name, v in (("eta_HF", c["eta_hf"]), ("eta_LF", c["eta_lf"]))
                for side, end in (("smallest", axes[name][0]), ("largest", axes[name][-1]))
                if len(axes[name]) > 1 and np.isclose(v, end)]
        realism = {"KID_wav": round(c["kid_wav"], 4), "luma detail": round(c["luma"], 3),
                   "chroma detail": round(c["chroma"], 3), "in the real band": "yes" if c["in_band"] else "no",
                   "KID_wav ≤ unguided": "yes" if c.get("beats_base") else "no"} if "kid_wav" in c else {}
        rows[method_name(b)] = {"eta_HF": step_size(c["eta_hf"]), "eta_LF": step_size(c["eta_lf"]), **realism,
                                "S_LF": round(c["s_lf"], 3), "S_HF": round(c["s_hf"], 3),
                                "on the grid's edge": ", ".join(edge)}
    return pd.DataFrame.from_dict(rows, orient="index")


def beats_baselines(ds: xr.Dataset, baselines=("ddim", "taba"), banded: bool = True) -> pd.DataFrame:
    """The grid points free of failed crops, in both real bands (unless not ``banded``) and with KID_wav below
    every one of ``baselines``'; empty when none, or without KID_wav or baselines."""
    grid, base = grid_summary(ds), baseline_summary(ds)
    cols = ["base", "eta_hf", "eta_lf", "kid_wav", "s_lf", "s_hf"]
    if "kid_wav" not in grid or "in_band" not in grid or "kid_wav" not in base:
        return pd.DataFrame(columns=cols)
    kid = base.set_index("method")["kid_wav"]
    bar = min((float(kid[m]) for m in baselines if m in kid.index and np.isfinite(kid[m])), default=np.nan)
    if not np.isfinite(bar):
        return pd.DataFrame(columns=cols)
    ok = (grid["failed"] == 0) & (grid["in_band"].astype(bool) | (not banded)) & (grid["kid_wav"] < bar)
    return grid.loc[ok, cols].reset_index(drop=True)
