"""Which printed row of the paper is the copy, decided once for every page that shows a row of the pair.

Of two rows of the paper's tables that carry the same numbers for different settings or methods, the copy is the
row whose own setting and method other tables report with other numbers (``studies.paper_copies``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from spectral_collapse.studies.paper_copies import copy_groups

def _paper(rows) -> pd.DataFrame:
    out = []
    for table, space, method, values in rows:
        for metric, v in zip(("psnr", "ms_ssim", "lpips", "fid", "s_hf"), values):
            out.append(dict(table=table, dataset="bbbc021", scale="x16", backbone="unet", space=space, method=method,
                            metric=metric, mean=v, std=np.nan))
    return pd.DataFrame(out)


def _key(table, space, method):
    return dict(table=table, dataset="bbbc021", scale="x16", backbone="unet", space=space, method=method)


def test_the_contradicted_row_is_the_copy():
    base, pixel = [10.0, 0.5, 0.3, 12.0, 0.9], [18.0, 0.7, 0.2, 105.0, 0.8]
    p = _paper([("table9", "latent", "taba", base), ("table4", "latent", "taba", base),
                ("table4", "pixel", "taba", pixel), ("table5", "latent", "taba", pixel)])
    groups = copy_groups(p)
    assert len(groups) == 1 and groups[0]["decided"]
    assert groups[0]["copies"] == [_key("table5", "latent", "taba")]
    assert groups[0]["source"] == _key("table4", "pixel", "taba")
    # the other direction: make Table 4's pixel row the contradicted one
    q = pd.concat([p, _paper([("table3", "pixel", "taba", [1.0, 0.1, 0.1, 1.0, 0.1])])], ignore_index=True)
    q = q[~((q.table == "table9") | ((q.table == "table4") & (q.space == "latent")))]
    flipped = copy_groups(q)
    assert [g["copies"] for g in flipped if g["decided"]] == [[_key("table4", "pixel", "taba")]]


def test_a_pair_that_no_table_settles_is_undecided():
    same = [18.0, 0.7, 0.2, 105.0, 0.8]
    p = _paper([("table4", "pixel", "taba", same), ("table5", "latent", "taba", same)])
    (g,) = copy_groups(p)
    assert not g["decided"]
    assert g["partners"] == []                          # no other table reports either setting
