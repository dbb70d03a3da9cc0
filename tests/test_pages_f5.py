"""Hand-written and generated pages: methods' paragraphs on configurations that do not ship quote no measurement
of them, glossary headwords are reader words, the studies index lists every chapter, the model-quality chapter's
noise levels come from the schedule and its values never print as the threshold they break, and reader prose
says ε-prediction."""
from __future__ import annotations

import re
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def _unshipped_section() -> str:
    text = (BOOK / "methods.md").read_text()
    return text[text.index("*The next three paragraphs say why"):text.index("A study run refuses a model below")]


def test_methods_paragraphs_on_unshipped_models_quote_only_settings_and_computed_shares():
    section = _unshipped_section()
    # settings of the recipes (decays, P_mean, P_std, logit std) and the shares of training noise levels they put
    # above a level, recomputed here from the distributions the paragraphs name
    above = lambda mu, sd, level: 100 * (1 - NormalDist(mu, sd).cdf(np.log(level)))  # noqa: E731
    computed = {f"{above(-1.2, 1.2, 10):.1f}", f"{above(0, 1, 16):.1f}"}
    settings = {"0.999", "0.995", "1.2", "2.0"}
    decimals = set(re.findall(r"(?<![\d.])\d+\.\d+", section))
    assert decimals <= computed | settings, decimals - computed - settings
    assert f"{above(0, 2, 16):.0f} %" in section and f"{above(-1.2, 2, 16):.0f} %" in section


def test_glossary_headwords_are_reader_words():
    lines = (BOOK / "glossary.md").read_text().splitlines()
    inside = False
    heads = []
    for line in lines:
        if line.startswith("```{glossary}"):
            inside = True
        elif inside and line.startswith("```"):
            inside = False
        elif inside and line.strip() and not line[0].isspace():
            heads.append(line.strip())
    assert heads
    for head in heads:
        assert not head.startswith("`"), f"{head}: a code key as a headword"
        assert not re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", head), head
        assert not head.lower().startswith("rule "), f"{head}: a code rule name as a headword"
    assert "eps-prediction" not in heads and "ε-prediction" in heads


def test_studies_index_lists_one_link_per_study_with_its_datasets_and_line(tmp_path):
    from spectral_collapse.pipeline.graph import STUDY_LINES, studies_index, study_pages
    from spectral_collapse.studies.registry import STUDIES

    assert set(STUDY_LINES) == set(STUDIES)       # a new study needs its line on the index page
    (tmp_path / "studies").mkdir()
    for name in ("main_results-ihc-edges", "main_results-ihc-sr", "benchmarks-ihc-sr", "newstudy-ihc-sr"):
        (tmp_path / "studies" / f"{name}.ipynb").write_text("{}")
    pages = study_pages(tmp_path)
    assert list(pages) == ["studies/main_results", "studies/benchmarks", "studies/newstudy"]
    page = studies_index(pages)
    for doc in pages:
        assert page.count(f"</{doc}>`") == 1, doc
    assert f"{STUDIES['main_results'].title} </studies/main_results>` (ihc-sr, ihc-edges)" in page
    assert STUDY_LINES["benchmarks"] in page
    assert "## Other studies" in page and "pca_collapse" not in page


def test_book_studies_index_is_the_generated_one():
    from spectral_collapse.pipeline.graph import studies_index, study_pages

    assert (BOOK / "studies" / "index.md").read_text() == studies_index(study_pages(BOOK))


def test_a_value_past_its_threshold_never_prints_as_the_threshold():
    from spectral_collapse.framework.quality import THRESHOLDS
    from spectral_collapse.tables import quality as M

    t = THRESHOLDS["spectrum"]
    just_over = t * 1.013
    assert float(M.check_value(just_over, "spectrum")) != float(f"{t:g}")
    assert float(M.check_value(-just_over, "spectrum", signed=True)) != -t

    class Rep:
        rows = pd.DataFrame([{"check": "spectrum", "passed": False, "label": 1, "sampler": "DDIM",
                              "bands": [0.0, just_over, -just_over]}])

    orig = M.reports
    M.reports = lambda ds: {"m": Rep()}
    try:
        cell = M.spectrum_failures(type("D", (), {"attrs": {}})()).iloc[0, -1]
    finally:
        M.reports = orig
    shown = [float(v) for v in re.findall(r": ([+−-]\d\.\d+)", cell)]
    assert len(shown) == 2 and all(abs(v) > t for v in shown), cell
