"""A chapter's "settings of this run" as a readable two-column table."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

__all__ = ["settings_table", "readable"]

_PROVENANCE_PACKAGES = ("spectral-collapse", "python", "torch", "diffusers", "numpy")


def readable(value, depth: int = 0) -> str:
    """A stored setting as text a reader can take in: JSON text is parsed, mappings read "key = value" (nested ones
    in parentheses), lists comma-joined, floats in short form, missing values "—"."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            value = json.loads(value)
        except ValueError:
            pass
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "—"
    if isinstance(value, dict):
        body = "; ".join(f"{k} = {readable(v, depth + 1)}" for k, v in value.items())
        return f"({body})" if depth else body
    if isinstance(value, (list, tuple, np.ndarray)):
        body = ", ".join(readable(v, depth + 1) for v in value)
        return f"({body})" if depth else body
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _guidance(g) -> str:
    """A guidance spec by its type and step sizes (the full spec stays in the results file)."""
    if not isinstance(g, dict):
        return readable(g)
    steps = ", ".join(f"{k} {readable(g[k])}" for k in ("eta_hf", "eta_lf") if k in g)
    return f"{g.get('type', 'guidance')} {steps}".strip()


def _methods(value) -> str:
    """The ``methods`` attr (a JSON list of method specs) as "label: Method (parameterization, guidance)"."""
    try:
        specs = json.loads(value) if isinstance(value, str) else value
        return "; ".join(f"{m['label']}: {m.get('method', '?')} ({m.get('parameterization', '?')}"
                         + (f", {_guidance(m['guidance'])}" if m.get("guidance") else "") + ")" for m in specs)
    except (ValueError, TypeError, KeyError):
        return readable(value)


def settings_table(ds, keys, extra: dict | None = None) -> pd.DataFrame:
    """The named attrs of a results dataset, one row each (those it lacks are left out), then ``extra`` rows
    ({setting: value}), then when it was computed and with which versions of the main packages. Commit hashes and
    other provenance stay in the results file."""
    rows = [(k, _methods(ds.attrs[k]) if k == "methods" else readable(ds.attrs[k])) for k in keys if k in ds.attrs]
    rows += [(k, readable(v)) for k, v in (extra or {}).items()]
    if "created" in ds.attrs:
        rows.append(("computed", str(ds.attrs["created"]).replace("T", " ")[:16] + " UTC"))
    versions = ds.attrs.get("versions")
    if isinstance(versions, str):
        try:
            versions = json.loads(versions)
        except ValueError:
            versions = None
    if isinstance(versions, dict):
        shown = [f"{p} {versions[p]}" for p in _PROVENANCE_PACKAGES if p in versions]
        if shown:
            rows.append(("package versions", ", ".join(shown)))
    return pd.DataFrame(rows, columns=["setting", "value"]).set_index("setting")
