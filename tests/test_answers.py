"""A chapter's answers (pipeline.answers): named values glued once, paragraphs filled from them as Markdown outputs;
what a JupyterLab reader sees after Run All in every executed chapter and page: no role left unevaluated."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

import myst_nb

from spectral_collapse.pipeline.answers import Answers, fill
from spectral_collapse.tables.seeds import OUTLIER_FACTOR, seed_spread_answers

ROOT = Path(__file__).resolve().parents[1]
# an inline role that a notebook viewer shows as typed unless a kernel-backed renderer fills it in
RAW_ROLE = re.compile(r"\{(?:glue|eval)(?::[\w-]*)?\}`")


def template_names(text: str) -> set[str]:
    """The names a paragraph template quotes (``{{ name }}``, and names used in ``{% if %}`` blocks)."""
    from jinja2 import Environment, meta

    return set(meta.find_undeclared_variables(Environment().parse(text)))
EXECUTED = sorted([*(ROOT / "book" / "studies").glob("*.ipynb"), *(ROOT / "book").glob("*.ipynb")])
SOURCES = sorted([*(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "notebooks" / "book").glob("*.ipynb")])


@pytest.fixture
def glued(monkeypatch):
    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display=True: calls.append((name, value, display)))
    return calls


def test_a_paragraph_takes_the_values_and_leaves_roles_and_maths_as_typed(glued):
    a = Answers({"n_same": "9", "ratio": 4.73})
    text = "Of {{ n_same }} claims, see {ref}`the gate <model-quality>`; $g_{HF} = \\sigma^2$ at {{ratio}} times."
    got = a.markdown(text)
    assert got.data == text.replace("{{ n_same }}", "9").replace("{{ratio}}", "4.73")
    assert repr(got) == got.data                    # a plain-text viewer shows the paragraph, not an object
    assert glued == [("n_same", "9", False), ("ratio", 4.73, False)]


def test_each_value_is_glued_once_when_set_and_a_second_setting_raises(glued):
    a = Answers()
    a["claim_x"] = "holds"
    assert glued == [("claim_x", "holds", False)]
    with pytest.raises(ValueError, match="'claim_x' is set twice"):
        a["claim_x"] = "does not hold"
    with pytest.raises(ValueError, match="'n runs' is not a word"):
        a["n runs"] = "3"
    assert dict(a) == {"claim_x": "holds"}


def test_a_name_the_chapter_does_not_set_raises_naming_it_and_the_names_there_are(glued):
    with pytest.raises(KeyError, match=r"'n_runz'.*quote one of: n_runs"):
        Answers({"n_runs": "3"}).markdown("on {{ n_runz }} runs")
    with pytest.raises(ValueError, match="not a valid template"):
        fill("on {{ n_runs runs", {"n_runs": "3"})
    assert template_names("{{ a }} and {% if b %}{{ c }}{% endif %}") == {"a", "b", "c"}


def test_the_raw_role_pattern_finds_glue_and_eval_roles_and_nothing_else():
    assert RAW_ROLE.search("a {glue:text}`n` b") and RAW_ROLE.search("{eval}`x + 1`") and RAW_ROLE.search("{glue}`n`")
    assert not RAW_ROLE.search("{ref}`x` and {{ n }} and $g_{HF}$")


def test_the_seed_spread_answers_count_the_tables_they_are_given():
    ds = xr.Dataset(coords={"train_seed": [0, 1, 2]})
    spread = pd.DataFrame({"method": ["ddim", "ovg", "ovg", "taba"], "metric": ["s_hf", "s_hf", "s_lf", "s_g"],
                           "ratio": [0.5, 2.0, 1.0, float("nan")]})
    claims = pd.DataFrame({"claim": ["A", "B", "C", "D"], "same": ["yes", "no", "—", "yes"]})
    outliers = pd.DataFrame({"run": [1]})
    got = seed_spread_answers(ds, spread, claims, outliers)
    assert got == {"n_runs": "3", "n_claims": "3", "n_same": "2", "claims_differ": "B", "n_ratio_1": "2 of 3",
                   "top_ratio": "2.00", "top_ratio_at": "s_hf of ovg", "n_outliers": "1",
                   "outlier_factor": f"{OUTLIER_FACTOR:g}"}


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_a_source_notebook_has_no_role_that_only_the_book_fills(path):
    """JupyterLab shows a markdown cell as typed: a {glue} or {eval} role there would be read raw."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    raw = [RAW_ROLE.search("".join(c["source"])).group(0) for c in cells
           if c["cell_type"] == "markdown" and RAW_ROLE.search("".join(c["source"]))]
    assert raw == [], f"{path.name}: write the paragraph as answers.markdown(...) (book/extending.md)"


@pytest.mark.parametrize("path", EXECUTED, ids=lambda p: p.name)
def test_what_a_lab_reader_sees_in_an_executed_chapter_holds_no_raw_role(path):
    """Markdown cells and every Markdown, HTML or text output of the executed notebook: no {glue} / {eval} role."""
    seen = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            seen.append("".join(cell["source"]))
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            seen += ["".join(data[m]) for m in ("text/markdown", "text/html", "text/plain") if m in data]
            seen.append("".join(out.get("text", "")))
    raw = sorted({m.group(0) for text in seen for m in RAW_ROLE.finditer(text)})
    assert raw == [], f"{path.name} shows {raw} unevaluated: execute it again from its converted source"
    unfilled = [c["id"] for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
                if c["cell_type"] == "code" and "".join(c["source"]).startswith("answers.markdown(")
                and not any("text/markdown" in o.get("data", {}) for o in c.get("outputs", []))]
    assert unfilled == [], f"{path.name}: answer cells without their paragraph: {unfilled}"


@pytest.mark.parametrize("path", EXECUTED, ids=lambda p: p.name)
def test_an_executed_chapter_prints_no_warning_of_the_suite(path):
    """A study's warnings belong in the chapter's run notes (collapsed at its end), not printed in its cells: a
    chapter executed while its study computed shows none of them (``setup_notebook`` hides what run_study hands on)."""
    printed = [line for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]
               for out in cell.get("outputs", []) if out.get("output_type") == "stream"
               for line in "".join(out.get("text", "")).splitlines() if "Warning (spectral_collapse)" in line]
    assert printed == [], f"{path.name} prints {printed[:2]}"


def test_verdict_answers_name_each_claims_verdict_and_effect_and_the_rules():
    from spectral_collapse.claims.paper import rules_text
    from spectral_collapse.tables.main_answers import verdict_answers

    table = pd.DataFrame({"claim": ["ovg_vs_ddim", "collapse_sdc"], "verdict": ["holds", "does not hold"],
                          "effect": ["closes 60 % of the gap", ""], "decided by": ["paired", "paired"]})
    got = verdict_answers(table)
    assert got == {"claim_ovg_vs_ddim": "holds", "effect_ovg_vs_ddim": "closes 60 % of the gap",
                   "claim_collapse_sdc": "does not hold", "effect_collapse_sdc": "no gap measured",
                   "claims_rule": rules_text(table)}


def test_a_branch_not_taken_may_name_a_value_the_chapter_does_not_set(glued):
    text = "{% if grid %}{{ ratio }} times more across edges{% else %}no block edges{% endif %}"
    assert fill(text, {"grid": False}) == "no block edges"
    with pytest.raises(KeyError, match="'ratio', which the chapter does not set"):
        fill(text, {"grid": True})


def test_a_drift_constant_on_blocks_reads_as_no_change_inside_them():
    """The block-edge ratio of a drift that is constant on each block is inf (the exact model's drift in the block
    support): the chapters say "0 (to rounding)" for its change inside blocks, and "n/a" only without a block grid."""
    import numpy as np

    from spectral_collapse.tables.closed_form_answers import inside_blocks

    assert inside_blocks(np.array([np.inf, 4.0])) == "0 (to rounding) / 0.25"
    assert inside_blocks(np.array([np.nan, 4.0])) == "n/a (no block grid)"
    assert inside_blocks(np.inf) == "0 (to rounding)" and inside_blocks(None) == inside_blocks(np.nan) == \
        "n/a (no block grid)"
