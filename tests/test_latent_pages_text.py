"""The latent-analysis chapters (Gaussianity, PCA collapse, decorrelation): no table shows a stored key as a header,
and the decorrelation scatter draws no two methods' marks on one another."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "data" / "results"
SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


def _tables():
    from spectral_collapse.studies import latent_tables as R

    out = []
    for study, make in (("gaussianity", R.gaussianity_table), ("pca_collapse", R.pca_table),
                        ("decorrelation", R.decorrelation_table), ("decorrelation", R.decorrelation_runs)):
        for path in sorted((RESULTS / study).glob("*.nc")):
            with xr.open_dataset(path) as ds:
                out.append((f"{study}-{path.stem}-{make.__name__}", make(ds)))
    return out


TABLES = _tables()


@pytest.mark.parametrize("name, table", TABLES, ids=[t[0] for t in TABLES])
def test_tables_show_reader_headers(name, table):
    from spectral_collapse.studies.latent_tables import shown

    st = shown(table)
    st = st.reset_index() if st.index.name in table.columns else st   # a record table's label column leads
    assert not [h for h in map(str, st.columns) if SNAKE.match(h)], list(st.columns)


def _scatter_marks(ds):
    """Per method: (x pixel offset, low, high) of each run's interval bar at S_G = 0, from the chart's spec."""
    from spectral_collapse.plotting.latents import decorrelation_scatter

    spec = decorrelation_scatter(ds).to_dict()
    marks = []
    for lay in spec["layer"]:
        kind = lay["mark"]["type"] if isinstance(lay["mark"], dict) else lay["mark"]
        if kind != "rule":
            continue
        data = pd.DataFrame(spec["datasets"][lay["data"]["name"]])
        zero = data[data["s_g"] == 0]
        at = (lay["mark"].get("xOffset", 0), lay["mark"].get("yOffset", 0))
        marks += [(m, at, lo, hi) for m, lo, hi in zip(zero["method"], zero["lo"], zero["hi"])]
    return marks


@pytest.mark.parametrize("path", sorted((RESULTS / "decorrelation").glob("*.nc")), ids=lambda p: p.stem)
def test_the_scatter_never_draws_two_methods_overlapping_intervals_at_one_place(path):
    """Tied runs of different methods whose intervals overlap are set a few pixels apart (sideways, then up or down
    once the sideways room near their true S_G is used): never drawn at the same place."""
    with xr.open_dataset(path) as ds:
        marks = _scatter_marks(ds)
    assert len({m for m, *_ in marks}) >= 2
    for i, (m1, at1, lo1, hi1) in enumerate(marks):
        for m2, at2, lo2, hi2 in marks[i + 1:]:
            if m1 != m2 and at1 == at2:
                assert hi1 < lo2 or hi2 < lo1, (m1, m2, at1)


def test_overlapping_intervals_at_a_tie_are_set_apart_even_when_the_points_are_far():
    ds = xr.Dataset({"run_method": ("run", ["ddim", "edm"]), "run_steps": ("run", [10, 10]),
                     "run_seed": ("run", [0, 0]), "run_s_g": ("run", [0.0, 0.0]), "run_s_dc": ("run", [0.5, 0.62]),
                     "run_s_dc_lo": ("run", [0.4, 0.5]), "run_s_dc_hi": ("run", [0.6, 0.75])})
    offsets = {m: at for m, at, *_ in _scatter_marks(ds)}
    assert offsets["ddim"] == (0, 0) and offsets["edm"] != (0, 0)
