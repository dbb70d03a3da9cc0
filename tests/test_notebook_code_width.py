"""The code the book shows fits the text column: in every study notebook, each code cell the book prints (every
cell not removed from the page; a `hide-input` cell shows its code once expanded) keeps its lines to
CODE_WIDTH characters, so no line wraps at the column's edge in the middle of a name or a string."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# the book's code font fits about 86 monospace characters per line of the text column
CODE_WIDTH = 84
# tags whose cells' code the book does not print (the parameters cell is removed from the book)
NOT_SHOWN = {"remove-input", "remove-cell", "parameters"}


def shown_code_cells(nb: dict) -> list[tuple[int, str]]:
    """(index, source) of every code cell whose code the book prints."""
    return [(i, "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for i, c in enumerate(nb["cells"])
            if c["cell_type"] == "code" and not NOT_SHOWN & set(c.get("metadata", {}).get("tags", []))]


def too_wide(nb: dict) -> list[str]:
    """'cell I, line J: N characters' for each shown code line longer than CODE_WIDTH."""
    return [f"cell {i}, line {j}: {len(line)} characters"
            for i, src in shown_code_cells(nb) for j, line in enumerate(src.split("\n"), 1)
            if len(line) > CODE_WIDTH]


def test_notebooks_found():
    """The check reads the study notebooks themselves."""
    assert NOTEBOOKS, "no notebooks under notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_shown_code_fits_the_text_column(path: Path):
    """Every code line the book prints for this notebook fits the text column without wrapping."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert not too_wide(nb), f"{path.name}: lines over {CODE_WIDTH} characters: {too_wide(nb)}"


def _nb(tags: list[str], source: str) -> dict:
    cell = {"cell_type": "code", "execution_count": None, "id": "c", "metadata": {"tags": tags} if tags else {},
            "outputs": [], "source": ["x = 1\n", source]}
    return {"cells": [{"cell_type": "markdown", "id": "m", "metadata": {}, "source": ["y" * 200]}, cell],
            "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def test_only_code_the_book_prints_is_measured():
    """A long line in a removed cell (or in prose) is not measured; the same line in a printed cell is,
    collapsed under `hide-input` or not."""
    long_line = "z = '" + "a" * 194 + "'"
    for tags in (["remove-input"], ["remove-cell"], ["parameters"]):
        assert too_wide(_nb(tags, long_line)) == []
    for tags in ([], ["hide-input"], ["remove-output"]):
        assert too_wide(_nb(tags, long_line)) == ["cell 1, line 2: 200 characters"]
    assert too_wide(_nb([], "z = '" + "a" * (CODE_WIDTH - 6) + "'")) == []
    assert too_wide(_nb([], "z = '" + "a" * (CODE_WIDTH - 5) + "'")) != []


# a fenced command block in a notebook's prose is set at the size of the pages' code blocks (book.css), which fits
# 76 characters of the text column (the hand-written pages' rule, tests/test_front_pages_text.py)
FENCE_WIDTH = 76


def prose_blocks_too_wide(nb: dict) -> list[str]:
    """'cell I: N characters' for each line of a fenced code block in a markdown cell longer than FENCE_WIDTH."""
    import re

    out = []
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] != "markdown":
            continue
        inside = False
        for line in ("".join(c["source"]) if isinstance(c["source"], list) else c["source"]).split("\n"):
            if re.match(r"^\s*`{3,}", line):
                inside = not inside
                continue
            if inside and len(line) > FENCE_WIDTH:
                out.append(f"cell {i}: {len(line)} characters")
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_command_blocks_in_the_prose_fit_the_text_column(path: Path):
    """A command line shown in a chapter's prose is broken (backslash continuations) to fit the text column."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert not prose_blocks_too_wide(nb), f"{path.name}: {prose_blocks_too_wide(nb)}"


def test_the_prose_check_reads_only_fenced_blocks():
    long = "p" * 90
    nb = {"cells": [{"cell_type": "markdown", "source": [long + "\n", "```bash\n", "ok\n", long + "\n", "```"]}]}
    assert prose_blocks_too_wide(nb) == ["cell 0: 90 characters"]
