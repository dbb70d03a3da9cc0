"""The metric-validation verdict says by what rule S_HF "agrees" with the paper: the threshold and the measured change
stand beside each word, and the word follows the threshold."""
from __future__ import annotations


import numpy as np
import xarray as xr


def _ds(high: list[float], low: list[float], base: float = 0.9) -> xr.Dataset:
    return xr.Dataset({"slope": ("domain", [-3.0, -3.4]),
                       "filtered_s_hf": (("filter", "kappa", "held_out"), np.array([[[v, v] for v in low],
                                                                                    [[v, v] for v in high]])),
                       "unfiltered_s_hf": ("held_out", [base, base])},
                      coords={"domain": ["source", "target"], "filter": ["lowpass", "highpass"],
                              "kappa": list(range(len(high)))},
                      attrs={"wavelet": "sym4"})


def test_the_filter_table_names_the_cutoff_in_words_in_one_header_row():
    from spectral_collapse.studies.metric_validation import filter_table
    from spectral_collapse.plotting.reader import reader_table

    t = filter_table(_ds(high=[0.9, 0.88], low=[0.3, 0.6]))
    assert "κ" in t.columns.name and t.index.name is None
    html = reader_table(t)
    assert "kappa" not in html and html.count("<tr") == len(t) + 1   # one header row
