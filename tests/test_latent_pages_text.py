"""The latent-analysis chapters (Gaussianity, PCA collapse, decorrelation): no table shows a stored key as a
header."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "data" / "results"
SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


def _tables():
    from spectral_collapse.tables import latents as R

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
    from spectral_collapse.tables.latents import shown

    st = shown(table)
    st = st.reset_index() if st.index.name in table.columns else st   # a record table's label column leads
    assert not [h for h in map(str, st.columns) if SNAKE.match(h)], list(st.columns)
