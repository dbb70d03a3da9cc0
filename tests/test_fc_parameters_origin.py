"""The parameters table's "set by" column says where an OVG step size read from the results came from."""
import json

import numpy as np
import xarray as xr


def _ds(source: str) -> xr.Dataset:
    ds = xr.Dataset({"x": ("method", np.zeros(2))}, coords={"method": ["ddim", "ovg"]})
    ds.attrs["ovg"] = json.dumps({"eta_hf": 1e-8, "eta_lf": 0.1, "source": source})
    return ds


def _set_by(table: str, name: str) -> str:
    row = next(line for line in table.splitlines() if line.startswith(f"| {name} |"))
    return row.strip("| ").split(" | ")[-1]


def test_step_sizes_from_a_pareto_sweep_say_so():
    from spectral_collapse.pipeline.parameters import parameters_table

    spec = {"study": "flow_collapse", "dataset": "ihc-sr", "profile": "quick",
            "params": {"eta_hf": None, "eta_lf": None}}
    src = "Pareto sweep of OVG on the flow model (ovg, rule maximin, 12 validation images, seed 0)"
    table = parameters_table(spec, _ds(src))
    for name in ("eta_hf", "eta_lf"):
        assert "Pareto sweep" in _set_by(table, name), table
        assert _set_by(table, name) != "the default"


def test_step_sizes_origin_follows_the_source():
    from spectral_collapse.pipeline.parameters import DEFAULT, GIVEN, parameters_table

    spec = {"study": "flow_collapse", "dataset": "ihc-sr", "profile": "quick",
            "params": {"eta_hf": None, "eta_lf": None}}
    table = parameters_table(spec, _ds("defaults (the suite's fallback step sizes): no Pareto sweep stored"))
    assert _set_by(table, "eta_hf") == DEFAULT
    mixed = "eta_hf = 1e-08 given to the study; the rest from the Pareto sweep of OVG on the flow model (ovg, ...)"
    table = parameters_table(spec, _ds(mixed))
    assert _set_by(table, "eta_hf") == GIVEN
    assert "Pareto sweep" in _set_by(table, "eta_lf")
