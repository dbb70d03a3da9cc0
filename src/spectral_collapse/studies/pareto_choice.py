"""What a study reading the Pareto sweep takes from it: the primary OVG variant's chosen step sizes and their
source (``ovg_choice``), or the suite's fallback step sizes with the reason."""
from __future__ import annotations

import json

import xarray as xr

from .method_labels import OVG_DEFAULTS

__all__ = ["NO_CHOICE", "ovg_choice"]

NO_CHOICE = "defaults: no grid point"  # how ovg_choice's source starts when a sweep ran but chose nothing
_SAME = ("data_options", "model", "models")  # a sweep's choice serves a reader only under the same data and models


def _other_setting(ds: xr.Dataset, spec) -> str:
    """"" when the sweep ``ds`` ran on the reader's data options and models, else what differs."""
    if spec is None:
        return ""
    try:
        theirs = json.loads(ds.attrs.get("spec", "{}")).get("params", {})
    except (TypeError, ValueError):
        theirs = {}
    diff = [f"{k}={theirs.get(k)!r} (this study: {spec.get(k)!r})" for k in _SAME if theirs.get(k) != spec.get(k)]
    return ", ".join(diff)


def ovg_choice(ds: xr.Dataset | None, spec=None) -> dict:
    """What a study reading the sweep takes from it: the primary base's chosen step sizes and where they come from,
    or OVG_DEFAULTS with the reason (no sweep stored; the sweep ran on other data options or models; every grid
    point diverged)."""
    where = "" if spec is None else f" for {spec.dataset}, {spec.profile}"
    # the text starts with "defaults": readers of a source (studies.calibrate, the chapters) test for it
    defaults = "defaults (the suite's fallback step sizes, not a Pareto sweep's choice)"
    if ds is None:
        return {**OVG_DEFAULTS, "source": f"{defaults}: no Pareto sweep stored{where}"}
    other = _other_setting(ds, spec)
    if other:
        return {**OVG_DEFAULTS, "source": f"{defaults}: the stored Pareto sweep{where} ran with {other}; "
                                          f"run the pareto study with the same setting to tune OVG for it"}
    primary = ds.attrs.get("primary", "ovg")
    choice = json.loads(ds.attrs.get("choices", "{}")).get(primary)
    if not choice:
        return {**OVG_DEFAULTS, "source": f"{NO_CHOICE} of the {primary} sweep{where} was free of failed samples"}
    per_base = {b: {"eta_hf": float(c["eta_hf"]), "eta_lf": float(c["eta_lf"])}
                for b, c in json.loads(ds.attrs.get("choices", "{}")).items() if c}
    split = ds.attrs.get("tuning_split", "")
    return {"eta_hf": float(choice["eta_hf"]), "eta_lf": float(choice["eta_lf"]), "per_base": per_base,
            "source": f"Pareto sweep{where} ({primary}, rule {ds.attrs.get('rule')}, "
                      f"{ds.attrs.get('n_images')} {'validation ' if split else ''}images, seed {ds.attrs.get('seed')}; "
                      f"each OVG variant at its own choice)"}
