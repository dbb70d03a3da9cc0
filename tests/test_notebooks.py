"""The study notebooks as papermill sees them: a tagged parameters cell papermill can parse, the parameters every
study takes, and generated notebooks in step with their cell modules in scripts/cells/."""
from __future__ import annotations

import ast
import json
import logging
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _parameters_cell(nb: Path) -> str:
    cells = [c for c in json.loads(nb.read_text())["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{nb.name}: expected one cell tagged 'parameters', found {len(cells)}"
    return "".join(cells[0]["source"])


def test_there_are_study_notebooks():
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_parses_every_parameter_line(nb, caplog):
    """papermill's own parser returns every assigned name (a comment holding '=' makes it drop the line)."""
    from papermill.translators import PythonTranslator

    src = _parameters_cell(nb)
    assigned = [t.id for node in ast.parse(src).body if isinstance(node, ast.Assign) for t in node.targets]
    with caplog.at_level(logging.WARNING):
        parsed = [p.name for p in PythonTranslator.inspect({"source": src})]
    assert parsed == assigned, caplog.text
    assert {"dataset", "profile"} <= set(parsed)
    assert "Unable to parse" not in caplog.text


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_matches_its_cell_module(nb):
    """notebooks/<study>.ipynb is exactly what scripts/make_notebooks.py writes from scripts/cells/<study>.py."""
    import importlib.util

    import nbformat

    spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "scripts" / "make_notebooks.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    modules = mod.notebooks()
    assert nb.stem in modules, f"{nb.name} has no cell module in scripts/cells/"
    want = nbformat.writes(mod.build(nb.stem, modules[nb.stem]))
    assert nb.read_text() == want, f"{nb.name} is stale: run `python scripts/make_notebooks.py`"
