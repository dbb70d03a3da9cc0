"""The support leak of each method's stored latents, trained networks beside the exact model; computed from the
latents for files stored before the leak was."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import torch
import xarray as xr

from ..data.support import support_projector
from ..framework.aggregate import nan_mean
from ..framework.oracle_arm import arm_results
from ..framework.validity import failed_of
from ..metrics.intervals import MIN_EFFECT
from ..metrics.latent import support_leak

__all__ = ["leak_values", "leak_table", "leak_words", "LEAK_HEADERS", "FILL_SHOWN", "FILL_HEADERS", "fill_table",
           "fill_answers", "grid_table", "grid_answers", "GRID_RECORD", "fill_scale_table", "leak_control_table",
           "leak_control_answers"]

LEAK_HEADERS = {"trained": "leak, trained networks", "oracle": "leak, exact model",
                "runs": "per seed (its own test crops)", "crops": "crops per seed"}


def leak_values(ds: xr.Dataset, method: str) -> np.ndarray:
    """(seed, crop) support leaks of ``method``'s latents, stored or computed, failed samples NaN; empty where the task
    has no known support or the file keeps no latents."""
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


def leak_words(v: float, missing: str = "not measured") -> str:
    """A support leak in words: one significant digit below 10⁻³, two decimals above; ``missing`` for NaN."""
    return missing if v != v else f"{v:.1g}" if abs(v) < 1e-3 else f"{v:.2f}"


def leak_table(ds: xr.Dataset, methods=None) -> pd.DataFrame:
    """Per method: the mean support leak of the trained networks' latents (and each seed's), and the exact model's."""
    oracle = arm_results(ds)
    rows = {}
    for m in methods or ds["method"].values.tolist():
        v = leak_values(ds, m)
        if not v.size:
            continue
        per_run = [nan_mean(r) for r in v.reshape(-1, v.shape[-1])]   # each seed's crops
        row = {"trained": nan_mean(v), "runs": " / ".join(f"{x:.2f}" for x in per_run),
               "crops": int(v.shape[-1])}
        if oracle is not None and m in oracle["method"].values:
            row["oracle"] = nan_mean(leak_values(oracle, m))
        rows[m] = row
    return pd.DataFrame.from_dict(rows, orient="index")


FILL_SHOWN = ("ddim", "ovg", "taba", "ddim_fill", "ovg_fill")   # the fill beside the methods its claim names
FILL_HEADERS = {"kid_wav": "KID_wav (lower: more real)", "s_lf": "S_LF (structure)", "s_hf": "S_HF",
                "support_leak": "support leak", "s_dc": "S_DC", "failed": "failed samples"}


def fill_table(ds: xr.Dataset, methods=FILL_SHOWN) -> pd.DataFrame:
    """Per arm and method, the means of the fill's scores (failed samples left out) and failed samples."""
    rows = {}
    for arm, part in (("trained networks", ds), ("exact model", arm_results(ds))):
        if part is None:
            continue
        failed = failed_of(part)
        for m in (x for x in methods if x in part["method"].values):
            row = {k: nan_mean(part[k].sel({"method": m}).values) for k in FILL_HEADERS
                   if k in part and k != "failed"}
            row["failed"] = int(failed.sel({"method": m}).sum()) if failed is not None else 0
            rows[(arm, m)] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(["arm", "method"])


def fill_answers(ds: xr.Dataset, prefix: str = "") -> dict[str, object]:
    """The fill's values a page quotes: ``has_fill``, ``fill_scale`` and ``<arm>_<method>_<kid|slf|leak|failed>`` per
    arm and method of ``FILL_SHOWN`` ("n/a" where not run), each name after ``prefix``."""
    t = fill_table(ds) if "method" in ds.dims else pd.DataFrame()
    has = "ddim_fill" in t.index.get_level_values("method") if len(t) else False
    out = {"has_fill": bool(has),
           "fill_scale": f"{json.loads(ds.attrs.get('ovg', '{}')).get('fill_scale', 1.0):g}"}
    for arm, short in (("trained networks", "trained"), ("exact model", "exact")):
        for m in FILL_SHOWN:
            row = t.loc[(arm, m)] if (arm, m) in t.index else None
            for col, name, fmt in (("kid_wav", "kid", "{:.3g}"), ("s_lf", "slf", "{:.2f}"),
                                   ("support_leak", "leak", "{:.2f}"), ("failed", "failed", "{:d}")):
                v = None if row is None or col not in row or row[col] != row[col] else row[col]
                out[f"{short}_{m}_{name}"] = "n/a" if v is None else fmt.format(int(v) if col == "failed" else v)
    return {f"{prefix}{k}": v for k, v in out.items()}


GRID_RECORD = "benchmarks/results/support_grids.json"   # written by python -m benchmarks.support_leak --grids


def grid_table(record: dict) -> pd.DataFrame:
    """DDIM's support leak and S_DC per arm, network and grid of ``benchmarks.support_leak --grids``."""
    rows = {}
    runs = {"exact model": {"": record.get("oracle", [])},
            "trained networks": record.get("trained", {})}
    for arm, by_seed in runs.items():
        cells: dict = {}
        for rows_of_seed in by_seed.values():
            for r in rows_of_seed:
                cells.setdefault((r["network"], r["grid"]), []).append(r)
        for (net, grid), rs in cells.items():
            leak = [r["leak_mean"] for r in rs]
            rows[(arm, net, grid)] = {"leak": float(np.mean(leak)), "s_dc": float(np.mean([r["s_dc"] for r in rs])),
                                      "per training seed": " / ".join(f"{v:.2f}" for v in leak) if len(rs) > 1 else "",
                                      "clamped": any(r["clamped"] for r in rs)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(["arm", "network", "grid"])


def grid_answers(record: dict | None, dataset: str) -> dict[str, object]:
    """The network-or-grid values a chapter quotes (``has_grids`` False without a record of ``dataset``): the exact
    model's largest leak on any (network, grid) and the trained networks' mean leak ``grid_<network>_<grid>``."""
    if not record or record.get("dataset") != dataset:
        return {"has_grids": False}
    t = grid_table(record)
    exact = t["leak"][t.index.get_level_values("arm") == "exact model"]
    out = {"has_grids": True, "grid_exact_max": f"{float(exact.max()):.1g}" if len(exact) else "n/a",
           "grid_seeds": str(len(record.get("trained", {})))}
    for (arm, net, grid), row in t.iterrows():
        if arm == "trained networks":
            out[f"grid_{net}_{grid}"] = f"{row['leak']:.2f}"
    return out


def fill_scale_table(ds: xr.Dataset, suffix: str = "") -> pd.DataFrame:
    """The Pareto sweep's fill axis per scale (``suffix``: an arm's); empty without one."""
    if f"fill_kid_wav{suffix}" not in ds:
        return pd.DataFrame()
    crops = f"sample{suffix}"
    cols = {"kid_wav": "KID_wav", "s_lf": "S_LF", "s_hf": "S_HF", "delta_log_e_hf_luma_ref": "luma detail",
            "delta_log_e_hf_chroma_ref": "chroma detail"}
    t = pd.DataFrame({name: ds[f"fill_{k}{suffix}"].mean(crops).values if crops in ds[f"fill_{k}{suffix}"].dims
                      else ds[f"fill_{k}{suffix}"].values for k, name in cols.items() if f"fill_{k}{suffix}" in ds},
                     index=pd.Index(ds[f"fill_scale{suffix}"].values, name="scale"))
    t["failed samples"] = ds[f"fill_failed{suffix}"].sum(crops).values.astype(int)
    t["chosen"] = np.where(ds[f"fill_chosen{suffix}"].values, "chosen", "")
    return t


CONTROL_NAMES = {"white_noise": "white noise N(0, I)", "input": "the input itself",
                 "taba_stored": "TABA (stored latents)",
                 "ddim_exact": "DDIM, exact model", "variance_term_exact": "OVG's variance term alone, exact model"}


def leak_control_table(ds: xr.Dataset) -> pd.DataFrame:
    """The metric-validation study's leak controls: per control, its support leak and S_DC (empty without them)."""
    if "leak_control_leak" not in ds:
        return pd.DataFrame()
    return pd.DataFrame({"support leak": ds["leak_control_leak"].values, "S_DC": ds["leak_control_s_dc"].values},
                        index=pd.Index([CONTROL_NAMES.get(str(c), str(c)) for c in ds["leak_control"].values],
                                       name="control"))


def leak_control_answers(ds: xr.Dataset) -> dict[str, object]:
    """``has_leak_controls`` and ``lc_<control>_<leak|sdc>`` in words, and the variance term's step size."""
    if "leak_control_leak" not in ds:
        return {"has_leak_controls": False}
    out = {"has_leak_controls": True, "lc_eta": f"{float(ds['leak_control_eta_hf']):.0e}",
           "lc_n": str(int(ds["leak_control_n"]))}
    for c in ds["leak_control"].values:
        leak, sdc = (float(ds[f"leak_control_{k}"].sel(leak_control=c)) for k in ("leak", "s_dc"))
        out[f"lc_{c}_leak"] = leak_words(leak, "n/a")
        out[f"lc_{c}_sdc"] = "n/a" if sdc != sdc else f"{sdc:.2f}"
    sdc = {c: float(ds["leak_control_s_dc"].sel(leak_control=c)) for c in ("ddim_exact", "variance_term_exact")}
    out["lc_sdc_rises"] = bool(sdc["variance_term_exact"] - sdc["ddim_exact"] > MIN_EFFECT["s_dc"])
    return out
