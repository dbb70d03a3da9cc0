"""The training-seeds chapter's own tables: the models behind it with the settings they share said once, the gate
report each keeps with its weights, and what its S_G cells are (a mean ± std over translation seeds, zero where S_G
has saturated)."""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

from spectral_collapse.studies.quality import THRESHOLDS
from spectral_collapse.report.seeds import model_gates, models_table, s_g_note


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
        per_arm[f"train_seed{k}"] = {"models": json.dumps(models), "latent_space": "null"}
    return xr.Dataset({"s_g": (("train_seed", "method", "seed"), s_g)},
                      coords={"train_seed": [0, 1], "method": ["ddim", "taba"], "seed": [0, 1, 2]},
                      attrs={"per_arm": json.dumps(per_arm), "axes": json.dumps(["train_seed"])})


def test_models_table_keeps_what_differs_and_states_what_is_shared(tmp_path):
    ds = _results(tmp_path, np.zeros((2, 2, 3)))
    table, shared = models_table(ds)
    assert list(table.index.names) == ["training seed", "model"]
    assert set(table.index.get_level_values(0)) == {0, 1}
    assert "steps" in table.columns and "lr" not in table.columns and "space" not in table.columns
    assert "batch 32" in shared and "learning rate 0.001" in shared and "pixel space" in shared


def test_model_gates_read_each_models_stored_report(tmp_path):
    ds = _results(tmp_path, np.zeros((2, 2, 3)), failing="m-edm-seed1-quick-0123456789ab")
    gates = model_gates(ds, weights_root=tmp_path / "no-shipped-copies")
    assert len(gates) == 4
    assert gates.loc["m-edm-seed1-quick-0123456789ab", "gate"] == "fails"
    assert (gates.drop(index="m-edm-seed1-quick-0123456789ab")["gate"] == "passes").all()
    assert "steps" not in gates     # the models table above it gives the steps


def test_s_g_note_names_the_seeds_and_the_methods_that_read_zero(tmp_path):
    rng = np.random.default_rng(0)
    s_g = np.stack([np.full((2, 3), 1e-9), rng.uniform(0.4, 0.7, (2, 3))], axis=1)   # ddim saturated, taba not
    text = s_g_note(_results(tmp_path, s_g))
    assert "over the 3 translation seeds (0, 1, 2)" in text
    assert "For `ddim`, every set" in text and "`taba`" not in text
    assert "0.000 ± 0.000" not in text and "its cells read “0.000 (spread < 0.001)”" in text   # as the table shows them
    s_g[0, 0, 1] = 0.01                                                    # one set of one run reads 0.010
    (tmp_path / "again").mkdir()
    assert "For `ddim`" not in s_g_note(_results(tmp_path / "again", s_g))


def test_run_zero_is_compared_with_the_main_results_it_stands_for():
    """Training run 0 uses the main results' models: the page says nothing when its means equal the main results'
    and names the largest gap, with both values, when they were computed apart and differ."""
    import numpy as np
    import xarray as xr

    from spectral_collapse.report.seeds import main_results_agreement

    rng = np.random.default_rng(2)
    main = xr.Dataset({"psnr": (("method", "seed", "sample"), 20 + rng.standard_normal((2, 2, 5)))},
                      coords={"method": ["ddim", "ovg"], "seed": [0, 1]})
    runs = xr.concat([main, main + 1.0, main - 1.0], dim="train_seed").assign_coords(train_seed=[0, 1, 2])
    assert main_results_agreement(runs, main) == ""
    moved = runs.copy(deep=True)
    moved["psnr"].loc[{"train_seed": 0, "method": "ovg"}] += 0.25
    said = main_results_agreement(moved, main)
    want = float(main["psnr"].sel({"method": "ovg"}).mean())
    assert "of the 2 means over crops (one per method and metric), 1 is the same in both to 3 decimals" in said
    assert f"PSNR of ovg, {want + 0.25:.3f} here against {want:.3f}" in said


def test_run_zero_against_main_results_names_the_software_of_each_when_it_differs():
    """When the two results record different PyTorch or Python versions, the page names both and says that the
    comparison differs by the training seed and the software at once; with the same versions it says neither."""
    from spectral_collapse.report.seeds import main_results_agreement, software_text

    rng = np.random.default_rng(3)
    main = xr.Dataset({"psnr": (("method", "seed", "sample"), 20 + rng.standard_normal((2, 2, 5)))},
                      coords={"method": ["ddim", "ovg"], "seed": [0, 1]},
                      attrs={"versions": json.dumps({"torch": "9.1.0", "python": "3.99.1", "numpy": "1"})})
    runs = xr.concat([main, main + 1.0, main - 1.0], dim="train_seed").assign_coords(train_seed=[0, 1, 2])
    runs.attrs = {"versions": json.dumps({"torch": "9.2.5", "python": "3.98.0", "numpy": "2"})}
    said = main_results_agreement(runs, main)
    assert "PyTorch 9.2.5 and Python 3.98.0" in said and "PyTorch 9.1.0 and Python 3.99.1" in said
    assert "by the training seed and by the software at once" in said and "equal the main results' nonetheless" in said
    brief = software_text(runs, main, brief=True)
    assert "9.2.5" in brief and "9.1.0" in brief and "by seed and by software" in brief
    moved = runs.copy(deep=True)
    moved["psnr"].loc[{"train_seed": 0, "method": "ovg"}] += 0.25
    assert "what the other software does" in main_results_agreement(moved, main)
    same = runs.copy()
    same.attrs = dict(main.attrs, versions=json.dumps({"torch": "9.1.0", "python": "3.99.1", "numpy": "2"}))
    assert software_text(same, main) == "" and main_results_agreement(same, main) == ""
    moved.attrs = same.attrs
    text = main_results_agreement(moved, main)
    assert "mixes" not in text and "with the same software (PyTorch 9.1.0 and Python 3.99.1)" in text
    assert software_text(runs, None) == ""
