"""What the your-model, flow, velocity, training-seed and model-quality chapters say, from synthetic results: OVG
step sizes that no sweep could choose, a choice on the edge of a grid, the velocity summary's quarters and the cells
above 0, the crops a table rests on, a training run far outside the others, and models named without their
checkpoint hash."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spectral_collapse.pipeline.parameters import run_notes
from spectral_collapse.plotting.reader import short_model_names
from spectral_collapse.tables.latents import positive_cells, velocity_summary
from spectral_collapse.tables.seeds import outlier_runs

NO_POINT = "ovg: no grid point without failed samples; no operating point chosen"


# --------------------------------------------------------------------------------- OVG without a chosen point

def test_a_calibration_that_chooses_nothing_says_so_in_one_sentence(monkeypatch):
    from spectral_collapse.studies import pareto_calibrate as calibrate, pareto
    from spectral_collapse.framework.user_models import UserModels

    grid = {"eta_hf": [1e-7, 1e-5], "eta_lf": [1e-3, 1e-1]}
    empty = xr.Dataset(attrs={"choices": "{}", "grid": json.dumps(grid), "n_images": 4})
    monkeypatch.setattr(pareto, "pareto_results", lambda *a, **kw: empty)
    reason = "defaults (the suite's step sizes, tuned on a model): no Pareto sweep stored for folder:x, smoke"
    given = UserModels({"eps": object()}, None, {"model": {"path": "m"}}, 16)
    op = calibrate.calibrate_ovg(None, type("D", (), {"name": "folder"})(), given, "smoke", reason=reason)
    src = op["source"]
    assert src.startswith("defaults (the suite's step sizes, tuned on a model): no Pareto sweep stored")
    assert src.count("defaults") == 1 and "(defaults" not in src           # the reason is not nested in itself
    assert "found no step sizes free of failed samples" in src and "wider grid" in src


# ------------------------------------------------------------------------------------- names in tables

def test_tables_show_checkpoint_folders_by_model_name_and_keep_the_full_name():
    full = "data/checkpoints/ihc-x-eps-quick-0123456789ab"
    frame = pd.DataFrame({"model": ["eps", "edm"], "checkpoint": [full, "given-folder"], "n": [1, 2]})
    shown = short_model_names(frame)
    assert shown["checkpoint"].tolist() == ["ihc-x-eps-quick", "given-folder"]
    assert frame["checkpoint"].tolist()[0] == full                       # the table itself is unchanged
    indexed = short_model_names(frame.set_index(["model", "checkpoint"]))
    assert "ihc-x-eps-quick" in indexed.index.get_level_values(1)
    gates = pd.DataFrame({"gate": ["passes"]}, index=pd.Index(["m-edm-seed1-quick-abcdef012345"], name="model"))
    assert short_model_names(gates).index.tolist() == ["m-edm-seed1-quick"]
    plain = pd.DataFrame({"a": [1.0], "b": ["no-hash-here"]})
    assert short_model_names(plain).equals(plain)


def test_the_notebook_table_display_drops_the_hash():
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    from spectral_collapse.pipeline.notebook import show_missing_as_dash

    shell = InteractiveShell.instance()
    try:
        assert show_missing_as_dash()
        frame = pd.DataFrame({"checkpoint": ["m-eps-quick-0123456789ab"], "v": [np.nan]})
        html = shell.display_formatter.formatters["text/html"](frame)
        assert "m-eps-quick" in html and "0123456789ab" not in html and "—" in html
    finally:
        InteractiveShell.clear_instance()


# ---------------------------------------------------------------------------------------------- velocity

def _velocity(power: dict[str, np.ndarray], sig_step: dict[str, float] | None = None) -> xr.Dataset:
    """Velocity results: log10 power (step, freq) per method; each method's sigma grid in steps of sig_step."""
    methods = list(power)
    steps, freqs = next(iter(power.values())).shape
    sig_step = sig_step or {}
    width = np.array([sig_step.get(m, 0.1) for m in methods])[:, None]
    sf = np.arange(steps)[None, :] * width
    return xr.Dataset({"log_power": (("method", "step", "freq"), np.stack([power[m] for m in methods])),
                       "sigma_from": (("method", "step"), sf),
                       "sigma_to": (("method", "step"), sf + width)},
                      coords={"method": methods, "step": np.arange(steps), "freq": np.linspace(0, 0.7, freqs)},
                      attrs={"space": "vp"})


def _falling(start: float, stop: float, steps: int = 20, freqs: int = 8) -> np.ndarray:
    return np.repeat(np.linspace(start, stop, steps)[:, None], freqs, axis=1)


def test_the_velocity_summary_reads_the_first_and_last_quarter_of_the_steps():
    line = np.linspace(-3, -7, 20)
    s = velocity_summary(_velocity({"ddim": _falling(-3, -7), "edm": _falling(-4, -5)}))
    assert list(s.index) == ["ddim", "edm"]
    assert s.loc["ddim", "hf_late"] == pytest.approx(line[15:].mean())
    assert s.loc["ddim", "hf_early"] == pytest.approx(line[:5].mean())
    assert s.loc["ddim", "lf_late"] == pytest.approx(line[15:].mean()) and s.loc["ddim", "min"] == pytest.approx(-7)


def test_cells_above_zero_are_listed_with_their_noise_levels():
    quiet = _falling(-3, -6)
    dc = quiet.copy()
    dc[5:8, 0] = 0.4                                   # the mean's bin only
    guided = quiet.copy()
    guided[0, 1:3] = 0.8                               # OVG's first step, low frequencies
    ds = _velocity({"ddim": quiet, "edm": dc, "ovg": guided}, sig_step={"edm": 0.3})
    cells = positive_cells(ds)
    assert set(cells["method"]) == {"edm", "ovg"} and len(cells) == 5
    edm = cells[cells["method"] == "edm"]
    assert list(edm["step"]) == [5, 6, 7] and set(edm["bin"]) == {0} and edm["log_power"].eq(0.4).all()
    assert edm["sigma_from"].tolist() == pytest.approx([1.5, 1.8, 2.1])
    assert positive_cells(_velocity({"ddim": quiet})).empty


# ---------------------------------------------------------------------------------------- training seeds

def _seeds(shift: float = 0.0, n: int = 24) -> xr.Dataset:
    """seed_spread results: 3 training runs x 3 methods x 1 translation seed x n crops of PSNR; method "b" of run 2
    shifted by ``shift``."""
    rng = np.random.default_rng(0)
    crops = rng.normal(15.0, 1.0, n)
    psnr = crops + rng.normal(0, 0.2, (3, 3, 1, n))
    psnr[2, 1] += shift
    crop = np.broadcast_to(np.arange(n), (3, 1, n))
    return xr.Dataset({"psnr": (("train_seed", "method", "seed", "sample"), psnr),
                       "crop": (("train_seed", "seed", "sample"), crop.copy())},
                      coords={"train_seed": [0, 1, 2], "method": ["a", "b", "c"], "seed": [0], "sample": np.arange(n)},
                      attrs={"dataset": "toy", "profile": "quick", "profile_values": json.dumps({"n_val": 16}),
                             "ovg": json.dumps({"eta_hf": 1e-6, "eta_lf": 1e-3, "source": "Pareto sweep for toy"})})


def test_a_training_run_far_outside_the_others_is_named_by_the_rule():
    out = outlier_runs(_seeds(shift=-4.0), metrics=("psnr",))
    assert len(out) == 1
    row = out.iloc[0]
    assert (row["method"], row["training seed"]) == ("b", 2) and row["gap"] < -3
    assert abs(row["gap"] - (row["mean"] - np.mean(row["other runs"]))) < 1e-9
    assert outlier_runs(_seeds(shift=0.0), metrics=("psnr",)).empty
