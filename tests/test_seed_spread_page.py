"""The training-seeds chapter's own tables: the models behind it, one row per training seed and model, and the gate
report each keeps with its weights."""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

from spectral_collapse.framework.quality import THRESHOLDS
from spectral_collapse.tables.quality import stored_gate_table
from spectral_collapse.tables.seeds import model_folders, models_table


def _results(tmp_path, s_g: np.ndarray, failing: str | None = None) -> xr.Dataset:
    """A seed_spread results set: 2 training seeds x (eps, edm) models with configs and gate reports on disk."""
    per_arm = {}
    for k in (0, 1):
        models = {}
        for par, steps in (("eps", 6000), ("edm", 8000)):
            folder = tmp_path / f"m-{par}{f'-seed{k}' if k else ''}-quick-0123456789ab"
            folder.mkdir()
            (folder / "config.json").write_text(json.dumps({
                "parameters": 1000, "model": {"backbone": {"kind": "unet", "in_channels": 3, "sample_size": 8}},
                "train": {"steps": steps, "batch_size": 32, "lr": 1e-3}}))
            ok = folder.name != failing
            rows = [{"check": "mean", "sampler": "DDIM", "label": 1, "value": 0.05 if ok else 0.5,
                     "threshold": THRESHOLDS["mean"], "rule": "<=", "passed": ok, "bands": None}]
            (folder / "quality.json").write_text(json.dumps({"model": folder.name, "rows": rows}))
            models[par] = str(folder)
        per_arm[f"train_seed{k}"] = {"models": json.dumps(models), "latent_space": "null", "space": "pixel"}
    return xr.Dataset({"s_g": (("train_seed", "method", "seed"), s_g)},
                      coords={"train_seed": [0, 1], "method": ["ddim", "taba"], "seed": [0, 1, 2]},
                      attrs={"per_arm": json.dumps(per_arm), "axes": json.dumps(["train_seed"]),
                             "arms": json.dumps([{"train_seed": k, "tag": f"train_seed{k}"} for k in (0, 1)])})


def test_models_table_has_one_row_per_training_seed_and_model(tmp_path):
    ds = _results(tmp_path, np.zeros((2, 2, 3)))
    table = models_table(ds)
    assert list(table.index.names) == ["training seed", "model"]
    assert set(table.index.get_level_values(0)) == {0, 1} and len(table) == 4
    assert sorted(table["steps"]) == ["6,000", "6,000", "8,000", "8,000"]


def test_model_gates_read_each_models_stored_report(tmp_path):
    ds = _results(tmp_path, np.zeros((2, 2, 3)), failing="m-edm-seed1-quick-0123456789ab")
    gates = stored_gate_table(model_folders(ds), weights_root=tmp_path / "no-shipped-copies")
    assert len(gates) == 4
    assert gates.loc["m-edm-seed1-quick-0123456789ab", "gate"] == "fails"
    assert (gates.drop(index="m-edm-seed1-quick-0123456789ab")["gate"] == "passes").all()
    assert "steps" not in gates     # the models table above it gives the steps
