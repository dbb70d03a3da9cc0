"""The training-seeds chapter says what its tables show: S_G's saturated cells quoted as the table writes them, and
the training seed named in words wherever the results' key (train_seed) or a bare "seed k" would stand."""
from __future__ import annotations

import numpy as np
import pandas as pd

from spectral_collapse.report import seeds as R
from test_chapter_text_e import _seed_results as _plain


def _seed_results():
    ds = _plain()
    ds.attrs["axes"] = '["train_seed"]'   # the results' axis, as the study stores it
    return ds


def test_the_s_g_note_quotes_the_cells_the_per_run_table_shows():
    ds = _seed_results()
    ds["s_g"].loc[{"method": "a", "train_seed": 1}] = np.array([1e-5, 3e-5])   # a spread too small to print
    note = R.s_g_note(ds)
    cells = set(R.per_run_table(ds).set_index("method").loc["a", "s_g"])
    assert cells == {"0.000 (spread < 0.001)"}   # no spread and one too small to print read alike
    assert "± 0.000" not in note and all(f"“{c}”" in note for c in cells)


def test_the_per_run_table_names_the_training_seed_in_words():
    t = R.per_run_table(_seed_results())
    assert list(t.columns[:2]) == ["training seed", "method"] and "train_seed" not in map(str, t.columns)
    assert t.columns.name is None and isinstance(t.index, pd.RangeIndex)


def test_run_columns_and_the_verdict_name_the_training_seed():
    ds = _seed_results()
    shown = R.spread_shown(R.spread_table(ds, metrics=("psnr",)))
    assert [c for c in shown.columns if "seed" in c] == [f"training seed {k}" for k in range(4)]
    claims = pd.DataFrame({"claim": ["x"], "seed 0": ["holds"], "seed 1": ["inconclusive"], "seed 2": ["holds"],
                           "seed 3": ["holds"], "same verdict in every run": ["no"]})
    assert list(R.claims_shown(claims).columns[1:5]) == [f"training seed {k}" for k in range(4)]
    said = R.seed_verdict(ds, claims=claims, spread=R.spread_table(ds, metrics=("psnr", "s_g")))
    assert "(training seed 0: holds, training seed 1: inconclusive" in said


def test_the_claims_intro_says_why_seed_0_can_differ_from_the_claims_page():
    """The per-run claims read one dataset and the methods this study translates, the claims page every dataset and
    method: the chapter names its dataset and its methods, so a differing seed-0 verdict is explained, not a puzzle."""
    ds = _seed_results()
    ds.attrs["dataset"] = "ihc-sr"
    words = R.claims_intro(R.claims_by_seed(ds), ds)
    methods = [str(m) for m in ds["method"].values]
    assert "ihc-sr alone" in words and f"{len(methods)} method" in words
    assert all(m in words for m in methods)
    assert "Training seed 0" not in R.claims_intro(R.claims_by_seed(ds))   # without the results, no such claim


def test_the_scope_sentence_reads_without_a_method_coordinate():
    """Results without a method coordinate still give the sentence (with no list of names), not an error."""
    ds = _seed_results().drop_vars("method")
    ds.attrs["dataset"] = "ihc-sr"
    from spectral_collapse.report.seed_claims import scope_words

    words = scope_words(ds)
    assert "ihc-sr alone and 0 methods, so" in words
