"""Which printed row of the paper is the copy, said once and the same way on every page that shows a row of the pair.

Of two rows of the paper's tables that carry the same numbers for different settings or methods, the copy is the
row whose own setting and method other tables report with other numbers (``studies.paper_copies``). The data-space
and scale-factor chapters, the eps-vs-x0 chapter and the scorecard all show a row of Table 5's ×16 TABA pair, so
they all say the same sentence about it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spectral_collapse.reference import ROW_KEYS, paper_tables
from spectral_collapse.studies.paper_copies import copy_groups, copy_notes

ROOT = Path(__file__).resolve().parents[1]


def _paper(rows) -> pd.DataFrame:
    out = []
    for table, space, method, values in rows:
        for metric, v in zip(("psnr", "ms_ssim", "lpips", "fid", "s_hf"), values):
            out.append(dict(table=table, dataset="bbbc021", scale="x16", backbone="unet", space=space, method=method,
                            metric=metric, mean=v, std=np.nan))
    return pd.DataFrame(out)


def _key(table, space, method):
    return dict(table=table, dataset="bbbc021", scale="x16", backbone="unet", space=space, method=method)


def test_the_contradicted_row_is_the_copy_whichever_row_a_page_shows():
    base, pixel = [10.0, 0.5, 0.3, 12.0, 0.9], [18.0, 0.7, 0.2, 105.0, 0.8]
    p = _paper([("table9", "latent", "taba", base), ("table4", "latent", "taba", base),
                ("table4", "pixel", "taba", pixel), ("table5", "latent", "taba", pixel)])
    groups = copy_groups(p)
    assert len(groups) == 1 and groups[0]["decided"]
    assert groups[0]["copies"] == [_key("table5", "latent", "taba")]
    assert groups[0]["source"] == _key("table4", "pixel", "taba")
    said = {tuple(copy_notes([_key(*k)], p)) for k in (("table5", "latent", "taba"), ("table4", "pixel", "taba"),
                                                         ("table9", "latent", "taba"))}
    assert len(said) == 1                               # one sentence, whichever row of the pair is shown
    (text,) = next(iter(said))
    assert text.startswith("Table 5's TABA row") and "Table 4's pixel-space TABA row" in text
    assert "Table 5's row is the copy" in text and "PSNR 10.00" in text
    # the other direction: make Table 4's pixel row the contradicted one
    q = pd.concat([p, _paper([("table3", "pixel", "taba", [1.0, 0.1, 0.1, 1.0, 0.1])])], ignore_index=True)
    q = q[~((q.table == "table9") | ((q.table == "table4") & (q.space == "latent")))]
    flipped = copy_groups(q)
    assert [g["copies"] for g in flipped if g["decided"]] == [[_key("table4", "pixel", "taba")]]


def test_a_pair_that_no_table_settles_says_so():
    same = [18.0, 0.7, 0.2, 105.0, 0.8]
    p = _paper([("table4", "pixel", "taba", same), ("table5", "latent", "taba", same)])
    (g,) = copy_groups(p)
    assert not g["decided"]
    (text,) = copy_notes([_key("table4", "pixel", "taba")], p)
    assert "do not say which row is right" in text and "copy" not in text.split(";")[-1]


def _stored(study: str) -> xr.Dataset:
    path = ROOT / "data" / "results" / study / "ihc-sr-quick.nc"
    if not path.exists():
        pytest.skip(f"no stored {study} results")
    return xr.load_dataset(path)


def test_the_chapters_tell_one_truth_about_table_5s_taba_row():
    """Table 5's ×16 TABA row carries the numbers of Table 4's pixel-space TABA row; Tables 3, 4 and 9 give TABA in
    Table 5's setting other numbers, so Table 5's row is the copy: every chapter whose table carries the copy says
    this one sentence (a chapter that shows only the row copied does not), never that Table 4's pixel row is the
    copy."""
    from spectral_collapse.report.ablations import paper_notes

    p = paper_tables()
    taba = [g for g in copy_groups(p) if g["copies"][0]["method"] == "taba"]
    assert len(taba) == 1 and taba[0]["copies"][0]["table"] == "table5"
    assert taba[0]["source"]["table"] == "table4" and taba[0]["source"]["space"] == "pixel"
    sentence = copy_notes([taba[0]["source"]], p)[0]
    from spectral_collapse.report.ablation_paper import paper_rows_shown

    def key(r):
        return tuple(str(r[k]) for k in ROW_KEYS)

    copies = {key(c) for c in taba[0]["copies"]}
    chapters = {study: _stored(study) for study in ("scale_factor", "space_ablation", "eps_vs_x0")}
    pages = {study: paper_notes(ds) for study, ds in chapters.items()}
    for page, text in pages.items():
        shows_copy = any(key(r) in copies for r in paper_rows_shown(chapters[page]))
        assert (sentence in text) == shows_copy, page
        assert "Table 4's pixel-space TABA row: its numbers are those of" not in text, page
    assert sentence in pages["scale_factor"] and sentence not in pages["space_ablation"]
    # every copy group is said in the same words wherever a row of it is shown
    for g in copy_groups(p):
        said = copy_notes([g["source"]], p)[0]
        for c in g["copies"]:
            assert said in copy_notes([c], p)
