"""A chapter's parameters table reads a default knob's value from the results; the run's notes are listed as
stored."""
import json

import xarray as xr

from spectral_collapse.pipeline.parameters import DEFAULT, GIVEN, HEADING, parameters_table, run_notes


def _rows(table: str) -> dict[str, tuple[str, str]]:
    cells = [line.strip("| ").split(" | ") for line in table.splitlines()[2:]]
    return {c[0]: (c[1], c[2]) for c in cells}


def test_default_knobs_show_the_models_task_and_step_sizes_the_results_hold():
    spec = {"study": "main_results", "dataset": "ihc-sr", "profile": "quick",
            "params": {"model": None, "models": None, "data_options": None, "eta_hf": None, "seed": 3}}
    ds = xr.Dataset(attrs={
        "checkpoints": json.dumps({"eps": "data/checkpoints/ihc-sr-x4-eps-quick-7e26214ebd7e",
                                   "edm": "data/checkpoints/ihc-sr-x4-edm-quick-0123456789ab"}),
        "task": json.dumps({"kind": "sr", "factor": 4, "blur": None}),
        "ovg": json.dumps({"eta_hf": 1e-6, "eta_lf": 1e-3, "source": "given to the study"})})
    rows = _rows(parameters_table(spec, ds))
    assert rows["model"] == ("ihc-sr-x4-eps-quick, ihc-sr-x4-edm-quick", DEFAULT)   # one row for the models
    assert "models" not in rows
    assert rows["data_options"] == ("kind = sr; factor = 4", DEFAULT)
    assert rows["eta_hf"] == ("10⁻⁶", GIVEN)      # the stored source says it was given
    assert rows["seed"] == ("3", GIVEN)


def test_a_default_knob_without_results_shows_the_registry_description():
    from spectral_collapse.studies.registry import get_study

    spec = {"study": "main_results", "dataset": "ihc-sr", "profile": "quick", "params": {"methods": None}}
    doc = get_study("main_results").params["methods"].doc
    assert "None: " in doc
    assert _rows(parameters_table(spec))["methods"] == (doc.split("None: ", 1)[1].rstrip("."), DEFAULT)


def test_run_notes_list_each_stored_warning_once():
    notes = ["ovg: 2 of 8 test crops of seed 0 failed", "null_class at guidance scale w = 1", "ovg: 2 of 8 test "
             "crops of seed 0 failed"]
    attrs = {"run_warnings": json.dumps(notes)}
    assert run_notes(attrs) == f"{HEADING}\n\n- {notes[0]}\n- {notes[1]}\n"
    assert run_notes({}) == run_notes({"run_warnings": "not json"}) == run_notes({"run_warnings": "{}"}) == ""


def test_the_pareto_input_of_a_run_without_an_ovg_method_is_marked_unused():
    """A study that reads the Pareto sweep but runs no OVG method does not show step sizes it never used."""
    inputs = {"pareto": {"eta_hf": 1e-8, "eta_lf": 1e-2}}
    without = {"study": "pca_collapse", "dataset": "ihc-sr", "profile": "quick", "inputs": inputs,
               "params": {"methods": "ddim,edm"}}
    with_ovg = {**without, "params": {"methods": "ddim,ovg"}}
    assert _rows(parameters_table(without))["from pareto"][0] == "not used (no OVG method)"
    assert _rows(parameters_table(with_ovg))["from pareto"][0] != "not used (no OVG method)"
