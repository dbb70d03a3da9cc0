"""Flow matching's claims, decided from the flow_collapse study's per-crop numbers (``studies.flow_collapse``)."""
from __future__ import annotations

import numpy as np
import xarray as xr

from ..framework.aggregate import crop_values
from ..metrics.intervals import MIN_EFFECT, bootstrap_ci, three_way
from ..studies.flow_collapse import SCALED_LABEL
from ..text import signed
from .compare import FAILS, Finding, combine, compare, texture_check
from .evidence import long_frame

__all__ = ["findings"]

def _below_zero(ds: xr.Dataset, method: str) -> tuple[str, str] | None:
    """Whether ``method``'s signed HF error lies below 0 beyond MIN_EFFECT (bootstrap interval over crops)."""
    v = crop_values(ds, "delta_log_e_hf", method)
    if not len(v):
        return None
    ci = bootstrap_ci(v)
    verdict = three_way(ci, MIN_EFFECT["delta_log_e_hf"], higher_is_claimed=False)
    return verdict, (f"Δlog E_HF of {method} {signed(ci.mean)} [{signed(ci.lo)}, {signed(ci.hi)}], {ci.n} crops "
                     f"(below 0: too smooth) → {verdict}")


def _s_dc_up(f, ds: xr.Dataset, method: str) -> tuple[str, str] | None:
    """S_DC of ``method`` above ddim's, paired over crops; equal on every crop (a scaled latent): does not hold."""
    a, b = crop_values(ds, "s_dc", method), crop_values(ds, "s_dc", "ddim")
    if len(a) and len(a) == len(b) and np.allclose(a, b, rtol=0.0, atol=1e-9):
        why = (": S_DC is measured on each latent scaled to unit variance, which a scalar multiple leaves as it was"
               if method == SCALED_LABEL else "")
        return FAILS, f"S_DC {method} − ddim {signed(0.0)} on each of {len(a)} crops{why} → {FAILS}"
    return compare(f, method, "ddim", "s_dc", higher=True)


def findings(ds: xr.Dataset) -> dict[str, Finding]:
    """The study's claims "collapse", "ovg" and "scaled" from its per-crop numbers; a claim whose methods were not
    run is "not testable here"."""
    f = long_frame(ds, "flow_collapse", str(ds.attrs.get("dataset", "")), per_crop=True)
    methods = [str(m) for m in ds["method"].values]
    has = lambda *ms: all(m in methods for m in ms)  # noqa: E731
    out = {"collapse": combine([compare(f, "ddim", "taba", "s_dc", higher=False), _below_zero(ds, "ddim")]
                               if has("ddim", "taba") else [], "needs the ddim and taba labels")}
    for key, m in (("ovg", "ovg"), ("scaled", SCALED_LABEL)):
        out[key] = combine([_s_dc_up(f, ds, m), texture_check(f, m, "ddim")] if has(m, "ddim") else [],
                           f"needs the {m} and ddim labels")
    return out
