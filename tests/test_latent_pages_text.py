"""The latent-analysis chapters (Gaussianity, PCA collapse, decorrelation): the legend under a table names the
headers the table shows, no table shows a stored key as a header, the PCA chapter says what its chart shows as
computed from the curves, and the decorrelation scatter draws no two methods' marks on one another."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "data" / "results"
SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")
KEEP = {"norm_z"}     # the glossary's own name for the norm z-score


def _tables():
    from spectral_collapse.report import latents as R

    out = []
    for study, make in (("gaussianity", R.gaussianity_table), ("pca_collapse", R.pca_table),
                        ("decorrelation", R.decorrelation_table), ("decorrelation", R.decorrelation_runs)):
        for path in sorted((RESULTS / study).glob("*.nc")):
            with xr.open_dataset(path) as ds:
                out.append((f"{study}-{path.stem}-{make.__name__}", make(ds)))
    return out


TABLES = _tables()


@pytest.mark.parametrize("name, table", TABLES, ids=[t[0] for t in TABLES])
def test_tables_show_reader_headers_and_the_legend_names_them(name, table):
    from spectral_collapse.report.latents import column_legend, shown
    from spectral_collapse.plotting.reader import reader_label

    st = shown(table)
    st = st.reset_index() if st.index.name in table.columns else st   # a record table's label column leads
    headers = [reader_label(str(c)) for c in st.columns]
    assert not [h for h in headers if SNAKE.match(h) and h not in KEEP], headers
    legend = column_legend(table)
    keys = [str(c) for c in table.columns]
    # every column the legend explains is named by its header, never by a stored key the table no longer shows
    for key, head in zip(keys, headers):
        if key in ("method",):
            continue
        assert f"{head}: " in legend, (head, legend)
        if key != head:
            assert not re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", legend), (key, legend)


def test_the_gaussianity_notebook_legend_is_made_from_the_table():
    cells = json.loads((ROOT / "notebooks" / "gaussianity.ipynb").read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells)
    assert "column_legend(table" in text and "report.shown(table)" in text
    assert not any(c["cell_type"] == "markdown" and "`s_g`" in "".join(c["source"]) for c in cells)
    intro = "".join(cells[0]["source"])
    # every parenthesis of the intro holds a whole clause: a verb after "even a small scale error"
    assert "with enough latents even a small scale error," not in intro and "rejects even a small scale error" in intro


def test_pca_reading_states_what_the_curves_show():
    from spectral_collapse.report.latents import pca_reading, uniform_auc

    m = 50
    k = np.arange(1, m + 1)
    even = k / m
    bent = 1 - (1 - even) ** 1.6           # a curve above the straight line
    ds = xr.Dataset({"cev": (("series", "component"), np.stack([bent ** 0.5, bent, bent + 1e-4 * np.sin(k)]).clip(0, 1))},
                    coords={"series": ["ddim", "gaussian", "taba"], "component": k})
    text = pca_reading(ds)
    gap = float(np.max(bent - even))
    assert f"by up to {gap:.3f}" in text and "lies above the cumulative share of an exactly even spread" in text and "the dotted line" in text
    assert f"{float(np.mean(bent)):.3f} against {uniform_auc(m):.3f}" in text
    assert "DDIM above it at every component" in text and "TABA on it" in text
    flat = ds.assign(cev=(("series", "component"), np.stack([bent, even, even])))
    assert "lies on" in pca_reading(flat) and pca_reading(ds.sel(series=["ddim"])) == ""


def test_the_pca_intro_does_not_call_noise_evenly_spread():
    cells = json.loads((ROOT / "notebooks" / "pca_collapse.ipynb").read_text())["cells"]
    intro = "".join(cells[0]["source"])
    assert "evenly over all components (a nearly straight line)" not in intro
    assert any("pca_reading(ds)" in "".join(c["source"]) for c in cells)


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
