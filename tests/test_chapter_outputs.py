"""What the executed chapters show a reader: no Python dict printed as its repr (a table or a sentence instead)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book" / "studies").glob("*.ipynb"))


def _outputs(nb: dict):
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            yield out


def _dict_reprs(nb: dict) -> list[str]:
    """Outputs shown only as the plain-text repr of a dict."""
    found = []
    for out in _outputs(nb):
        data = out.get("data", {})
        if set(data) == {"text/plain"} and "".join(data["text/plain"]).lstrip().startswith("{"):
            found.append("".join(data["text/plain"])[:80])
    return found


def test_dict_reprs_are_found():
    nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "execute_result",
                                                        "data": {"text/plain": "{'network': 'UNet2DModel'}"}}]},
                    {"cell_type": "code", "outputs": [{"output_type": "execute_result",
                                                        "data": {"text/plain": "x", "text/html": "<table/>"}}]}]}
    assert _dict_reprs(nb) == ["{'network': 'UNet2DModel'}"]


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.stem)
def test_no_chapter_prints_a_dict(page):
    assert not _dict_reprs(json.loads(page.read_text(encoding="utf-8")))


