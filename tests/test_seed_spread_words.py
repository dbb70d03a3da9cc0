"""The training-seeds chapter says what its tables show: S_G's saturated cells quoted as the table writes them, and
the training seed named in words wherever the results' key (train_seed) or a bare "seed k" would stand."""
from __future__ import annotations

import pandas as pd
import xarray as xr

from spectral_collapse.tables import seeds as R
from test_chapter_text_e import _seed_results as _plain


def _seed_results():
    ds = _plain()
    ds.attrs["axes"] = '["train_seed"]'   # the results' axis, as the study stores it
    ds["failed"] = xr.zeros_like(ds["psnr"], dtype=bool)   # the per-sample mask every stored result has
    return ds


def test_the_per_run_table_names_the_training_seed_in_words():
    t = R.per_run_table(_seed_results())
    assert list(t.columns[:2]) == ["training seed", "method"] and "train_seed" not in map(str, t.columns)
    assert t.columns.name is None and isinstance(t.index, pd.RangeIndex)
