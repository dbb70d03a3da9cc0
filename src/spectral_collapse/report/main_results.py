"""What the main-results chapter says about its results: the spectral-collapse verdict."""
from __future__ import annotations

import xarray as xr

__all__ = ["collapse_verdict"]


def _mean(ds, method, metric):
    v = ds[metric].sel({"method": method})
    return float(v.mean(skipna=True))


def collapse_verdict(ds: xr.Dataset) -> str:
    """One paragraph: does standard DDIM inversion show spectral collapse here (S_DC, S_HF below TABA / EDM)?"""
    methods = list(ds["method"].values)
    if "ddim" not in methods:
        return "DDIM was not run, so no verdict on spectral collapse."
    refs = [m for m in ("taba", "edm") if m in methods]
    parts, holds = [], []
    for metric in ("s_dc", "s_hf"):
        d = _mean(ds, "ddim", metric)
        cmp = {r: _mean(ds, r, metric) for r in refs}
        lower = all(d < v for v in cmp.values())
        holds.append(lower)
        parts.append(f"{metric.upper()} of DDIM is {d:.3f} against " + ", ".join(f"{r.upper()} {v:.3f}" for r, v in cmp.items())
                     + (" (lower: consistent with collapse)" if lower else " (not lower than all of them)"))
    g = ", ".join(f"{m} {float(ds['s_g'].sel({'method': m}).mean()):.3f}" for m in methods if "s_g" in ds)
    verdict = "shows" if all(holds) else ("partly shows" if any(holds) else "does not show")
    return (f"On this data, standard DDIM inversion {verdict} spectral collapse: " + "; ".join(parts)
            + f". S_G per method: {g}.")
