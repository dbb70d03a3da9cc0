"""Which printed row of the paper each page sets beside ours.

A chapter's "paper" columns name their table (``paper_table``) and come from exactly that table's row. Also the
counts and names the settings tables, the Gaussianity chapter and the model-quality chapter show.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spectral_collapse.reference import paper_tables
from spectral_collapse.reference.method_names import method_name

ROOT = Path(__file__).resolve().parents[1]
ABLATION_CHAPTERS = ("backbone_ablation", "space_ablation", "scale_factor", "eps_vs_x0")


def _stored(study: str, dataset: str = "ihc-sr") -> xr.Dataset:
    path = ROOT / "data" / "results" / study / f"{dataset}-quick.nc"
    if not path.exists():
        pytest.skip(f"no stored {study} results")
    return xr.load_dataset(path)


@pytest.mark.parametrize("study", ABLATION_CHAPTERS)
def test_each_chapters_paper_numbers_are_the_row_of_the_table_it_names(study):
    from spectral_collapse.tables.ablations import ablation_comparison, paper_table
    from spectral_collapse.studies.ablations import ABLATIONS
    from spectral_collapse.claims.evidence import MAIN_TABLE

    ds = _stored(study)
    cmp = ablation_comparison(ds).dropna(subset=["paper_mean"])
    assert len(cmp)
    col = next(c for c in cmp.columns if c.startswith("paper_") and c not in ("paper_mean", "paper_std", "paper_table"))
    axis = col[len("paper_"):]
    p = paper_tables()
    for r in cmp.itertuples():
        hit = p[(p.table == r.paper_table) & (p.dataset == "bbbc021") & (p[axis] == getattr(r, col))
                & (p.method == r.method) & (p.metric == r.metric)]
        assert len(hit) == 1 and hit["mean"].iloc[0] == r.paper_mean, (r.paper_table, getattr(r, col), r.method)
    # the table named is the one the chapter replicates; eps_vs_x0 (Table 6, shares only) takes each scale's
    # main-results table, never another ablation's rows
    want = ({MAIN_TABLE[("bbbc021", v)] for v in cmp[col]} if study == "eps_vs_x0" else {ABLATIONS[study][1]})
    assert set(cmp["paper_table"]) == want
    shown = paper_table(ds)
    names = {f"Table {t.replace('table', '')}" for t in want}
    if "paper's table" in shown.index.names:     # rows from more than one table name theirs
        assert set(shown.index.get_level_values("paper's table")) == names
    else:                                        # one table for every row: the chapter's text names it
        assert len(names) == 1
    assert not any(str(n).startswith("paper_") for n in shown.index.names)
    assert {w for _, w in shown.columns} <= {"ours", "paper"}


def test_the_gaussian_reference_row_has_every_column():
    from spectral_collapse.tables.latents import gaussianity_table

    rng = np.random.default_rng(0)
    d, n = 64, 40
    ratios = rng.chisquare(d, n) / d
    ds = xr.Dataset({"s_g": (("method",), [0.5]), "ks_d": (("method",), [0.5]), "ks_p": (("method",), [0.01]),
                     "mean_norm_ratio": (("method",), [0.9]), "z_mean": (("method",), [-1.0]),
                     "norm_z": (("method",), [-6.0]), "norm_ratio": (("method", "latent"), [ratios * 0.9]),
                     "gaussian_norm_ratio": (("latent",), ratios)},
                    coords={"method": ["ddim"], "latent": np.arange(n)},
                    attrs={"d": d, "gaussian_s_g": 0.8, "gaussian_ks_p": 0.6, "gaussian_norm_z": 0.3})
    ref = gaussianity_table(ds).loc["gaussian (reference)"]
    assert ref.notna().all()
    assert ref["ks_d"] == pytest.approx(1 - 0.8) and ref["mean_norm_ratio"] == pytest.approx(ratios.mean())
    assert ref["z_mean"] == pytest.approx(0.3 / np.sqrt(n))


def test_one_name_for_the_ks_statistic_and_one_equation_for_each_relation():
    from spectral_collapse.studies.metric_validation import POINT_HEADERS

    assert POINT_HEADERS["ks_d"] == "D_KS"
    sources = list((ROOT / "src" / "spectral_collapse").rglob("*.py")) + list((ROOT / "notebooks").glob("*.ipynb"))
    for path in sources:
        text = path.read_text()
        assert not re.search(r"\bKS D\b", text), path
        # D_KS is defined in Eq. 32 and S_G = 1 − D_KS in Eq. 33 (paper App. B.2): no other equation is cited for them
        for m in re.finditer(r"D_KS[^.;\n]{0,40}?\(Eq\. (\d+)\)", text):
            assert m.group(1) in ("32", "33"), (path, m.group(0))


def test_the_model_quality_chapter_names_models_as_the_other_chapters_do():
    from spectral_collapse.tables.quality import _named, shown_name
    from spectral_collapse.train.cache import model_name

    folder = "data/checkpoints/ihc-sr-x4-eps-quick-0123456789ab"
    ds = xr.Dataset(attrs={"checkpoints": json.dumps({"ihc-sr-x4-eps": folder})})
    assert shown_name(ds, "ihc-sr-x4-eps") == model_name(folder) == "ihc-sr-x4-eps-quick"
    assert shown_name(ds, "other") == "other"
    frame = pd.DataFrame({"model": ["ihc-sr-x4-eps"], "label": [0], "v": [1]}).set_index(["model", "label"])
    assert _named(ds, frame).index.get_level_values("model").tolist() == ["ihc-sr-x4-eps-quick"]

