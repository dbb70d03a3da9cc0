"""The main-results and ablation chapters' tables, charts and grids read in words: no result key as a header
("ours_mean", "ks_p", "noise_s_hf"), no axis that calls S_LF better when higher, arms named by what they are
("ε-prediction, ×4", not "eps 4")."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]
RAW = re.compile(r"\b(?:ours_mean|paper_mean|ours_std|paper_std|noise_s_hf|ks_p|delta_log_e_hf|mean_norm_ratio)\b")


def _stored(study: str, dataset: str = "ihc-sr") -> xr.Dataset:
    path = ROOT / "data" / "results" / study / f"{dataset}-quick.nc"
    if not path.exists():
        pytest.skip(f"no stored {study} results")
    return xr.load_dataset(path)


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_main_results_tables_have_reader_headers():
    from spectral_collapse.reference import paper_tables
    from spectral_collapse.tables.main_results import beside_table, latent_gaussianity_table, noise_sample_table
    from spectral_collapse.plotting.reader import reader_table
    from spectral_collapse.tables.main_results import paper_comparison

    ds = _stored("main_results")
    cmp = paper_comparison(ds)
    wide = beside_table(ds, cmp)
    assert {w for _, w in wide.columns} == {"ours", "paper"}
    assert list(wide.index) == [str(m) for m in ds["method"].values]
    shown = [_text(reader_table(t)) for t in (wide, latent_gaussianity_table(ds, int(ds["seed"].values[0])),
                                                noise_sample_table(ds))]
    for text in shown:
        assert not RAW.search(text), RAW.search(text).group(0)
    assert "p-value" in shown[1]
    # the paper's numbers and ours with the table's 3 decimals
    p = paper_tables()
    row = p[(p.table == "table9") & (p.method == "ddim") & (p.metric == "s_hf")]["mean"].iloc[0]
    assert wide.loc["ddim", ("s_hf", "paper")] == f"{row:.3f}"
    assert re.fullmatch(r"\d+\.\d{3}", wide.loc["ddim", ("s_hf", "ours")])


def test_main_results_notebook_names_its_keys():
    nb = json.loads((ROOT / "notebooks" / "main_results.ipynb").read_text())
    md = " ".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    code = " ".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "`delta_log_e_hf`" not in md and "eta_HF =" not in code
    assert "to_dataframe().round" not in code and 'values=["ours_mean", "paper_mean"]' not in code
    assert 'f"{m} model"' not in code          # the noise samples' rows name the model ("ε-prediction model")


def _texts(spec) -> list[str]:
    out = []
    if isinstance(spec, dict):
        for k, v in spec.items():
            if k in ("title", "subtitle", "text") and isinstance(v, (str, list)):
                out += [v] if isinstance(v, str) else [x for x in v if isinstance(x, str)]
            if k not in ("data", "datasets"):
                out += _texts(v)
    elif isinstance(spec, list):
        for v in spec:
            out += _texts(v)
    return out


def test_no_chart_calls_s_lf_better_when_higher():
    """S_LF measures how much of the input's structure an output keeps (the untranslated input scores highest):
    a chart's axis states no direction, and its subtitle never puts S_LF among the higher-is-better metrics."""
    from spectral_collapse.plotting.main_results import paper_bars, reading_lines
    from spectral_collapse.tables.main_results import paper_comparison

    ds = _stored("main_results")
    spec = paper_bars(paper_comparison(ds), order=list(ds["method"].values)).to_dict()
    texts = _texts(spec)
    joined = " ".join(texts)
    assert "(higher is better)" not in joined                  # no axis title states a direction for all panels
    lines = reading_lines(["s_hf", "s_lf", "s_dc"])
    assert not [x for x in lines if "higher is better" in x and "S_LF" in x]
    assert any(x.startswith("S_LF: higher is more of the input's structure kept") for x in lines)
    assert "S_LF: higher is more" in joined and "S_HF, S_DC: higher is better." in joined


@pytest.mark.parametrize("study", ["eps_vs_x0", "scale_factor", "space_ablation"])
def test_ablation_rows_are_named_in_words(study, monkeypatch):
    import spectral_collapse.plotting.ablations as abl
    from spectral_collapse.tables.ablations import arm_names, trained_models

    ds = _stored(study)
    seen = {}
    monkeypatch.setattr(abl, "image_grid", lambda rows, **kw: seen.update(rows) or None)
    abl.translations_grid(ds)
    abl.latents_grid(ds)
    labels = list(seen)
    bare = re.compile(r"^(?:source )?(?:eps|x0|pixel|latent|unet|dit)?\s?\d*\s?[a-z_]*$")
    assert not [x for x in labels if bare.fullmatch(x) and x not in ("source", "ground truth")], labels
    names = set(arm_names(ds).values())
    assert names and all(any(n in x for n in names) for x in labels if x not in ("source", "ground truth"))
    assert set(trained_models(ds)["arm"]) <= names
    if study == "eps_vs_x0":
        assert "source (ε-prediction, ×4)" in labels and "ε-prediction, ×4, DDIM" in labels
