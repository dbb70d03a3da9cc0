"""Prose names things as a reader knows them: the KS test's n said as what it counts, model kinds and study keys by
their names, a checkpoint id in words, every model an arm ran, the suite's version in words, a rule in sentences."""
from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]


def _results(study: str) -> xr.Dataset:
    from spectral_collapse.framework.store import load_results

    path = ROOT / "data" / "results" / study / "ihc-sr-quick.nc"
    if not path.exists():
        pytest.skip(f"no stored {study} results")
    return load_results(path)


def test_eps_prediction_study_keys_and_objectives_read_as_names():
    from spectral_collapse.plotting.reader import reader_text, study_name

    said = reader_text("x0-prediction beats eps-prediction; a model of the flow_collapse study and the "
                       "eps_vs_x0 study; `flow_collapse` and report.flow_collapse stay")
    assert "eps-prediction" not in said and "ε-prediction" in said
    assert "flow_collapse study" not in said and f"{study_name('flow_collapse')} study" in said
    assert "eps_vs_x0 study" not in said and "`flow_collapse`" in said and "report.flow_collapse" in said
    assert reader_text("ihc-sr-x4-eps-quick") == "ihc-sr-x4-eps-quick"   # an id is left as it is
