"""Which printed row of the paper each page sets beside ours, and the paper's rows that its other tables contradict.

A chapter's "paper" columns name their table (``paper_table``) and come from exactly that table's row; the
scorecard and the chapters say where a printed row carries another row's numbers or where the tables reporting one
setting disagree (``reference.row_relations``). Also the counts and names the settings tables, the Gaussianity
chapter and the model-quality chapter show.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spectral_collapse.reference import ROW_KEYS, paper_row, paper_tables, row_relations
from spectral_collapse.studies.method_labels import method_name

ROOT = Path(__file__).resolve().parents[1]
ABLATION_CHAPTERS = ("backbone_ablation", "space_ablation", "scale_factor", "eps_vs_x0")


def _stored(study: str, dataset: str = "ihc-sr") -> xr.Dataset:
    path = ROOT / "data" / "results" / study / f"{dataset}-quick.nc"
    if not path.exists():
        pytest.skip(f"no stored {study} results")
    return xr.load_dataset(path)


@pytest.mark.parametrize("study", ABLATION_CHAPTERS)
def test_each_chapters_paper_numbers_are_the_row_of_the_table_it_names(study):
    from spectral_collapse.report.ablations import ablation_comparison, paper_lead, paper_rows_shown, paper_table
    from spectral_collapse.studies.ablations import ABLATIONS
    from spectral_collapse.studies.evidence import MAIN_TABLE

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
    # every row the chapter shows is one printed row (its full key), with the numbers the comparison shows
    for row in paper_rows_shown(ds):
        printed = paper_row(**row)
        shown = cmp[(cmp.paper_table == row["table"]) & (cmp[col] == row[axis]) & (cmp.method == row["method"])]
        assert len(shown) and all(printed[m] == v for m, v in zip(shown.metric, shown.paper_mean))
    shown = paper_table(ds)
    names = {f"Table {t.replace('table', '')}" for t in want}
    if "paper's table" in shown.index.names:     # rows from more than one table name theirs
        assert set(shown.index.get_level_values("paper's table")) == names
    else:                                        # one table for every row: the lead names it
        assert len(names) == 1 and next(iter(names)) in paper_lead(ds)
    assert not any(str(n).startswith("paper_") for n in shown.index.names)
    assert {w for _, w in shown.columns} <= {"ours", "paper"}


def test_the_chapters_name_a_row_another_table_contradicts():
    """The x16 TABA row that scale_factor shows as Table 5 prints it is said to carry Table 4's pixel-space numbers,
    with the value the other tables give that setting, all read from the paper's tables; every row of Table 5 that
    carries another row's numbers is named as a copy, with its setting."""
    from spectral_collapse.report.ablations import paper_lead, paper_notes
    from spectral_collapse.studies.paper_copies import setting_words

    ds = _stored("scale_factor")
    notes = paper_notes(ds)
    p = paper_tables()
    rel = row_relations(p)
    for r in rel[(rel.table == "table5") & (rel.relation == "same numbers")].itertuples():
        row = {k: getattr(r, k) for k in ROW_KEYS}
        named = (f"Table 5's {method_name(r.method)} row ({setting_words(row)})" in notes
                 or re.search(rf"The {re.escape(method_name(r.method))} rows of Tables [\d, ]+and 5 "
                              rf"\({re.escape(setting_words(row))}\)", notes))
        assert named, (r.scale, r.method)
    latent = paper_row("table9", "bbbc021", "x16", "unet", "latent", "taba", p)
    assert f"PSNR {latent['psnr']:.2f}" in notes and "Table 4's pixel-space TABA row" in notes
    assert "Table 5" in paper_lead(ds)
    eps = _stored("eps_vs_x0")
    assert "Table 9" in paper_lead(eps) and "Table 5" not in paper_lead(eps)


def _paper(rows) -> pd.DataFrame:
    out = []
    for table, scale, space, method, values in rows:
        for metric, v in zip(("psnr", "ms_ssim", "lpips", "fid", "s_hf"), values):
            out.append(dict(table=table, dataset="d", scale=scale, backbone="unet", space=space, method=method,
                            metric=metric, mean=v, std=np.nan))
    return pd.DataFrame(out)


def test_row_relations_find_copied_rows_and_disagreeing_tables():
    base = [10.0, 0.5, 0.3, 12.0, 0.9]
    pixel = [18.0, 0.7, 0.2, 105.0, 0.8]
    p = _paper([("table9", "x16", "latent", "taba", base),
                ("table4", "x16", "latent", "taba", base),
                ("table4", "x16", "pixel", "taba", pixel),
                ("table5", "x16", "latent", "taba", pixel),          # a copy of another setting's row
                ("table5", "x16", "latent", "ddim", [1, 2, 3, 4, 5]),
                ("table9", "x16", "latent", "ddim", [1, 2, 3, 4, 5.5])])   # one metric apart
    rel = row_relations(p)
    copied = rel[(rel.table == "table5") & (rel.method == "taba") & (rel.relation == "same numbers")]
    assert copied[["other_table", "other_space"]].values.tolist() == [["table4", "pixel"]]
    other = rel[(rel.table == "table5") & (rel.method == "taba") & (rel.relation == "other numbers")]
    assert sorted(other.other_table) == ["table4", "table9"]
    ddim = rel[(rel.table == "table5") & (rel.method == "ddim")]
    assert ddim.relation.tolist() == ["other numbers"] and ddim.differing.tolist() == ["s_hf"]
    assert rel[(rel.table == "table9") & (rel.method == "taba") & (rel.other_table == "table4")].empty  # agree


def test_the_scorecard_says_which_rows_the_papers_tables_contradict():
    from spectral_collapse.studies.scorecard import paper_row_notes, scorecard
    from spectral_collapse.studies.evidence import Evidence

    p = _paper([("table3", "x16", "latent", "ovg", [16.5, 0.65, 0.28, 13.1, 0.96]),
                ("table9", "x16", "latent", "ovg_taba", [16.5, 0.65, 0.28, 13.1, 0.96]),
                ("table9", "x16", "latent", "ovg", [16.7, 0.66, 0.28, 18.6, 0.95])])
    said = paper_row_notes("table3", p)
    assert "Table 3's OVG row (d ×16, U-Net, latent space) carries the numbers of Table 9's OVG + TABA row on all 5 " \
           "metrics" in said
    assert "Table 9 gives OVG in that setting PSNR 16.70, MS-SSIM 0.660, FID 18.60, S_HF 0.95" in said
    assert "Table 3's row is the copy" in said
    apart = paper_row_notes("table3", p.assign(mean=p["mean"] + np.arange(len(p)) * 1e-3))   # no longer a copy
    assert "carries the numbers of" not in apart
    assert "Table 3's OVG row (d ×16, U-Net, latent space) and Table 9 report the same setting and method with other " \
           "numbers: Table 9 gives PSNR" in apart
    assert paper_row_notes("table3", p[p.method != "ovg_taba"].iloc[:0]) == ""
    # the scorecard's paper numbers are the paper's rows on their own keys
    card = scorecard(Evidence(frame=pd.DataFrame(columns=["study", "dataset", "method", "metric", "value"])), paper=p)
    assert card.set_index(ROW_KEYS + ["metric"])["paper_mean"].equals(p.set_index(ROW_KEYS + ["metric"])["mean"])


def test_the_gaussian_reference_row_has_every_column():
    from spectral_collapse.report.latents import gaussianity_table

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
    from spectral_collapse.report.metric_validation import POINT_HEADERS

    assert POINT_HEADERS["ks_d"] == "D_KS"
    sources = list((ROOT / "src" / "spectral_collapse").rglob("*.py")) + list((ROOT / "notebooks").glob("*.ipynb"))
    for path in sources:
        text = path.read_text()
        assert not re.search(r"\bKS D\b", text), path
        # D_KS is defined in Eq. 32 and S_G = 1 − D_KS in Eq. 33 (paper App. B.2): no other equation is cited for them
        for m in re.finditer(r"D_KS[^.;\n]{0,40}?\(Eq\. (\d+)\)", text):
            assert m.group(1) in ("32", "33"), (path, m.group(0))


def test_settings_show_the_count_the_verdicts_use():
    from spectral_collapse.report.settings import reader_view, settings_table

    crops = np.arange(12).reshape(3, 4)                    # 3 seeds, each its own 4 crops
    ds = xr.Dataset({"crop": (("seed", "sample"), crops)}, attrs={"n_test": 4, "study": "x"})
    shown = reader_view(settings_table(ds, ("n_test",)))
    assert shown.loc["test crops", "value"] == "4 per seed (12 distinct crops over the 3 seeds)"
    same = ds.assign(crop=(("seed", "sample"), np.tile(np.arange(4), (3, 1))))   # every seed the same crops
    assert reader_view(settings_table(same, ("n_test",))).loc["test crops", "value"] == "4"
    runs = xr.Dataset(coords={"run": np.arange(7)}, attrs={"n_run": 5, "study": "x"})
    assert reader_view(settings_table(runs, ("n_run",))).loc["test inputs per run", "value"] == "5 (7 runs)"


def test_the_model_quality_chapter_names_models_as_the_other_chapters_do():
    from spectral_collapse.report.model_quality import _named, shown_name
    from spectral_collapse.report.settings import model_name

    folder = "data/checkpoints/ihc-sr-x4-eps-quick-0123456789ab"
    ds = xr.Dataset(attrs={"checkpoints": json.dumps({"ihc-sr-x4-eps": folder})})
    assert shown_name(ds, "ihc-sr-x4-eps") == model_name(folder) == "ihc-sr-x4-eps-quick"
    assert shown_name(ds, "other") == "other"
    frame = pd.DataFrame({"model": ["ihc-sr-x4-eps"], "label": [0], "v": [1]}).set_index(["model", "label"])
    assert _named(ds, frame).index.get_level_values("model").tolist() == ["ihc-sr-x4-eps-quick"]


def test_several_copied_rows_of_one_table_are_listed_one_an_item():
    """Table 5 carries three rows copied from other tables: each is an item of a list, not a sentence run into one
    paragraph; a table with one copied row keeps it in the sentence."""
    from spectral_collapse.studies.scorecard import paper_row_notes

    five = paper_row_notes("table5")
    items = [line for line in five.splitlines() if line.startswith("- ")]
    assert len(items) >= 2 and all(re.search(r"carr(y|ies) the numbers of|report the same setting", i) for i in items)
    single = [t for t in ("table3", "table4", "table8", "table9", "table10")
              if paper_row_notes(t) and "\n- " not in paper_row_notes(t)]
    assert all(paper_row_notes(t).count("\n") == 1 for t in single)
