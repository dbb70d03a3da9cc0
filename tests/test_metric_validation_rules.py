"""The metric-validation verdict says by what rule S_HF "agrees" with the paper: the threshold and the measured change
stand beside each word, and the word follows the threshold."""
from __future__ import annotations

import re

import numpy as np
import pytest
import xarray as xr


def _ds(high: list[float], low: list[float], base: float = 0.9) -> xr.Dataset:
    return xr.Dataset({"slope": ("domain", [-3.0, -3.4]),
                       "filtered_s_hf": (("filter", "kappa", "held_out"), np.array([[[v, v] for v in low],
                                                                                    [[v, v] for v in high]])),
                       "unfiltered_s_hf": ("held_out", [base, base])},
                      coords={"domain": ["source", "target"], "filter": ["lowpass", "highpass"],
                              "kappa": list(range(len(high)))},
                      attrs={"wavelet": "sym4"})


@pytest.mark.parametrize("shift, word", [(0.02, "agrees"), (0.15, "does not agree")])
def test_insensitivity_to_low_frequencies_states_its_threshold_and_the_change(shift, word):
    from spectral_collapse.report.metric_validation import _STABLE, metric_validation_verdict

    said = metric_validation_verdict(_ds(high=[0.9 - shift, 0.9], low=[0.3, 0.6]))
    part = said.split("insensitive to low frequencies")[1].split(". ")[0]
    assert f"less than {_STABLE:g}" in part and f"largest change here is {shift:.3f}" in part
    assert part.endswith(f": {word}")


@pytest.mark.parametrize("low, word", [([0.3, 0.6], "agrees"), ([0.8, 0.85], "does not agree")])
def test_sensitivity_to_high_frequencies_states_its_threshold_and_the_drop(low, word):
    from spectral_collapse.report.metric_validation import _DROPS, metric_validation_verdict

    said = metric_validation_verdict(_ds(high=[0.9, 0.9], low=low))
    part = said.split("sensitive to high frequencies")[1].split(". ")[0]
    assert f"more than {_DROPS:g}" in part and f"largest drop here is {0.9 - min(low):.3f}" in part
    assert part.endswith(f": {word}")


def test_every_agrees_in_the_verdict_follows_a_stated_rule():
    from spectral_collapse.report.metric_validation import metric_validation_verdict

    said = metric_validation_verdict(_ds(high=[0.88, 0.9], low=[0.3, 0.6]))
    clauses, depth, cur = [], 0, ""
    for i, ch in enumerate(said):   # the sentences: the text cut at each ". " outside brackets
        depth += (ch == "(") - (ch == ")")
        if ch == "." and said[i + 1:i + 2] == " " and depth == 0:
            clauses, cur = [*clauses, cur.strip()], ""
        else:
            cur += ch
    assert sum(bool(re.search(r": (agrees|does not agree)$", c.rstrip("."))) for c in [*clauses, cur]) == 3
    for clause in [*clauses, cur.strip()]:
        if re.search(r": (agrees|does not agree)$", clause.rstrip(".")):
            assert "judged by" in clause, clause


def test_the_filter_table_names_the_cutoff_in_words_in_one_header_row():
    from spectral_collapse.report.metric_validation import filter_table
    from spectral_collapse.plotting.reader import reader_table

    t = filter_table(_ds(high=[0.9, 0.88], low=[0.3, 0.6]))
    assert "κ" in t.columns.name and t.index.name is None
    html = reader_table(t)
    assert "kappa" not in html and html.count("<tr") == len(t) + 1   # one header row
