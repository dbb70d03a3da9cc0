"""Every value a chapter's prose cites ({glue:text}`name`) is glued by the chapter itself; the your-model chapter
names the stored Pareto sweep's step sizes, its run's gate verdict, and no temporary folder."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from spectral_collapse.pipeline.study_pages import chapter_paths

from tests.test_glued_verdicts import glued as glued_values

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = chapter_paths(ROOT / "book" / "studies")   # the executed chapters, not the study pages
CITED = re.compile(r"\{glue:(?:text|md)?\}`([^`<]+?)(?::[^`]*)?`|\{\{\s*(\w+)")
YOUR_MODEL = ROOT / "book" / "studies" / "your_model-ihc-sr.ipynb"


def cited(nb: dict) -> set[str]:
    """Names a chapter's prose cites: roles in markdown cells, ``{{ name }}`` in its answer paragraphs."""
    prose = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"
             or "".join(c["source"]).startswith("answers.markdown(")]
    return {m.group(1) or m.group(2) for text in prose for m in CITED.finditer(text)}


def test_cited_names_are_read_from_markdown_and_glued_values_from_outputs():
    out = {"output_type": "display_data", "metadata": {"scrapbook": {"name": "n", "mime_prefix": "p/"}},
           "data": {"p/text/plain": "'12'"}}
    nb = {"cells": [{"cell_type": "markdown", "source": "a {glue:text}`n` b {glue:}`m` {glue:text}`k:.2f`"},
                    {"cell_type": "code", "source": 'answers.markdown("on {{ runs }} runs")', "outputs": []},
                    {"cell_type": "code", "source": "", "outputs": [out]}]}
    assert cited(nb) == {"n", "m", "k", "runs"} and glued_values(nb) == {"n": "12"}


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_cited_value_is_glued_by_the_chapter(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    missing = cited(nb) - set(glued_values(nb))
    assert not missing, f"{path.name} cites values it does not glue: {sorted(missing)}"


def _number(text: str) -> float:
    """A step size as the book writes it ("10⁻⁶", "2.5 × 10⁻⁶") or as Python does ("0.001")."""
    power = re.fullmatch(r"(?:([\d.]+)[ \u00a0]×[ \u00a0])?10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", text)
    if not power:
        return float(text)
    exp = int(power.group(2).translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
    return float(power.group(1) or 1) * 10.0 ** exp


def test_the_your_model_chapter_glues_the_sweeps_step_sizes_and_its_runs_gate_verdict():
    sweep_file = ROOT / "data" / "results" / "pareto" / "ihc-sr-quick.nc"
    if not YOUR_MODEL.exists() or not sweep_file.exists():
        pytest.skip("the executed chapter or the stored Pareto sweep is not in this checkout")
    from spectral_collapse.studies.pareto_choice import ovg_choice
    from spectral_collapse.framework.store import load_results

    nb = json.loads(YOUR_MODEL.read_text(encoding="utf-8"))
    got = glued_values(nb)
    chosen = ovg_choice(load_results(sweep_file))
    assert (_number(got["eta_hf"]), _number(got["eta_lf"])) == (chosen["eta_hf"], chosen["eta_lf"])
    assert got["eta_source"] == chosen["source"]
    assert int(got["failed"]) <= int(got["total"]) and int(got["held_out"]) < int(got["pool"])
    assert "must be" in got["gate"]               # the random network is below the gate, each check's threshold
    shown = json.dumps(nb)
    assert "/tmp/" not in shown and "your-model-" not in json.dumps(got)   # temporary folders by what they are
