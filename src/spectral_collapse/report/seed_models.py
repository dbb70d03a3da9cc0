"""The models behind the seed_spread study (``report.seeds``): one row per training seed and model, with the settings
they share said once, and the quality gate of each read from the report stored with its weights."""
from __future__ import annotations

import pandas as pd
import xarray as xr

__all__ = ["models_table", "model_gates"]


def models_table(ds: xr.Dataset) -> tuple[pd.DataFrame, str]:
    """(the models behind the results, one row per training seed and model, with only the columns that differ
    between them; one sentence with the settings they share), from ``report.ablations.trained_models``."""
    import json

    from .ablations import trained_models

    t = trained_models(ds)
    if t.empty:
        return t, ""
    from .ablations import arm_names

    names = arm_names(ds) if "axes" in ds.attrs else {}
    seeds = {names.get(tag, tag): int(a.get("seed", tag.rsplit("seed", 1)[-1]))
             if str(tag.rsplit("seed", 1)[-1]).isdigit() else tag for tag, a in json.loads(ds.attrs["per_arm"]).items()}
    t.insert(0, "training seed", t.pop("arm").map(lambda a: seeds.get(a, a)))
    same = [c for c in t.columns if c not in ("training seed", "model", "checkpoint") and t[c].nunique(dropna=False) == 1]
    words = {"backbone": "backbone", "parameters": "parameters", "shape": "input", "batch": "batch", "lr": "learning rate",
             "space": "", "steps": "training steps"}   # a space names itself ("pixel space")
    shared = ", ".join(f"{words.get(c, c)} {t[c].iloc[0]}".strip() for c in same)
    return t.drop(columns=same).set_index(["training seed", "model"]), (f"Shared by every model: {shared}." if shared else "")


def model_gates(ds: xr.Dataset, weights_root=None) -> pd.DataFrame:
    """The quality gate of every model behind the results, read from the report stored with its weights
    (``report.model_quality.stored_gate_table``: quality.json beside the checkpoint and its shipped copy)."""
    import json
    import os

    from .stored_gates import stored_gate_table

    folders = {}
    for tag, attrs in json.loads(ds.attrs["per_arm"]).items():
        for par, path in json.loads(attrs.get("models") or "{}").items():
            folders[f"{os.path.basename(str(path))}"] = str(path)
    return stored_gate_table(folders, weights_root)
