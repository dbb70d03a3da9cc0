"""The book's stylesheet keeps every code block inside the text column: a chapter's code cells and the pages'
command lines wrap at the column's edge instead of running past it (where the theme would hide their ends)."""
import re
from pathlib import Path

CSS = (Path(__file__).resolve().parents[1] / "book" / "_static" / "book.css").read_text()


def _rules() -> dict[str, str]:
    """Selector text -> declarations, comments dropped."""
    text = re.sub(r"/\*.*?\*/", "", CSS, flags=re.S)
    return {sel.strip(): body for sel, body in re.findall(r"([^{}]+)\{([^}]*)\}", text)}


def test_code_cells_and_command_lines_wrap_inside_the_column():
    wrapped = [sel for sel, body in _rules().items() if re.search(r"white-space:\s*pre-wrap", body)]
    selectors = " ".join(wrapped)
    assert ".cell_input" in selectors, "a chapter's code cells must wrap (pre-wrap) inside the column"
    assert "highlight-bash" in selectors, "the pages' command lines must wrap inside the column"


def test_a_nowrap_rule_never_applies_to_a_code_cell():
    for sel, body in _rules().items():
        if re.search(r"white-space:\s*nowrap", body):
            assert ".cell_input" not in sel, sel
