"""Parameter tables, the gate's rule and caution, run notes and the model-quality chapter's numbers, as a reader
reads them: values without tags appended, rules in plain words, the book's notation, clauses only where what they
describe follows, and numbers that follow the data."""
import json

import numpy as np
import xarray as xr

from spectral_collapse.studies import registry


def _cells(table: str) -> dict:
    """{parameter: (value, set by)} of a parameters table."""
    out = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        out[cells[0]] = tuple(cells[1:])
    return out


def test_a_default_value_reads_plainly_and_the_table_says_where_each_value_came_from():
    from spectral_collapse.pipeline.parameters import parameters_table

    spec = json.loads(registry.study_spec("main_results", dataset="ihc-sr", profile="quick", seeds="[0, 1]").to_json())
    ds = xr.Dataset({"psnr": (("method", "seed"), np.zeros((2, 2)))},
                    coords={"method": ["ddim", "ovg"], "seed": [0, 1]},
                    attrs={"checkpoints": json.dumps({"eps": "data/checkpoints/ihc-sr-x4-eps-quick-7e26214ebd7e"}),
                           "task": json.dumps({"kind": "sr", "factor": 4})})
    table = parameters_table(spec, ds)
    assert table.splitlines()[0] == "| parameter | value | set by |"
    assert "(default)" not in table, table
    rows = _cells(table)
    assert all(len(v) == 2 for v in rows.values()), rows          # every row has its "set by" cell
    assert rows["methods"] == ("ddim, ovg", "the default")
    assert rows["model"][0].endswith("ihc-sr-x4-eps-quick") and rows["model"][1] == "the default"
    assert rows["seeds"] == ("0, 1", "given for this chapter")
    assert not [v for v, _ in rows.values() if v.endswith("default)")]


def test_the_gate_caution_writes_its_thresholds_in_the_books_notation():
    from spectral_collapse.tables.quality import result_gate_table

    attrs = {"model_gate": json.dumps({"ihc-sr-x4-eps-dit-quick-0123456789ab": {
        "passed": False, "failures": "spectrum (DDIM, label 1) 0.414, must be <= 0.3; memorisation 0.5, must be >= 0.75"}})}
    text = result_gate_table(attrs).failures[0]
    assert "must be ≤ 0.3" in text and "must be ≥ 0.75" in text
    assert "<=" not in text and ">=" not in text


def _crops(scale: float, seed: int = 0) -> xr.Dataset:
    """Real crops whose per-channel brightness varies from crop to crop with sd ``scale`` x (1, 2, 3)."""
    rng = np.random.default_rng(seed)
    level = rng.standard_normal((2, 2, 8, 3, 1, 1)) * scale * np.array([1, 2, 3])[:, None, None]
    real = (level + 0.01 * rng.standard_normal((2, 2, 8, 3, 4, 4))).astype(np.float32)
    info = {"a-eps": {"parameterization": "eps", "space": "pixel"},
            "a-edm": {"parameterization": "edm", "space": "pixel"}}
    return xr.Dataset({"real": (("model", "label", "image", "channel", "y", "x"), real)},
                      coords={"model": list(info)}, attrs={"models": json.dumps(info),
                                                           "profile_values": json.dumps({"steps": 50})})
