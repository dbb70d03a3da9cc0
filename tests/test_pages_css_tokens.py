"""Inline code on the hand-written pages breaks between words, never inside one, except a word longer than the
column; and the API page's signatures show defaults as written in the source."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CSS = (ROOT / "book" / "_static" / "book.css").read_text()


def _rules() -> dict[str, str]:
    text = re.sub(r"/\*.*?\*/", "", CSS, flags=re.S)
    rules: dict[str, str] = {}
    for sel, body in re.findall(r"([^{}]+)\{([^}]*)\}", text):
        for one in sel.split(","):
            rules[one.strip()] = rules.get(one.strip(), "") + body
    return rules


def test_an_inline_code_word_moves_whole_and_only_a_longer_than_column_word_breaks():
    body = _rules()[".bd-article code.literal span.pre"]
    assert re.search(r"display:\s*inline-block", body), "a word of inline code must be kept whole (inline block)"
    # the column less the padding and border the theme puts around inline code, so its grey box stays inside too
    width = re.search(r"max-width:\s*(100%|calc\(100% - ([\d.]+)rem\))", body)
    assert width, "a word longer than the column must still fit it"
    assert width.group(2) is None or 0.5 <= float(width.group(2)) <= 1.5, width.group(0)
    assert re.search(r"overflow-wrap:\s*anywhere", body), "a word longer than the column must break inside"


def test_api_signatures_preserve_source_defaults():
    config = (ROOT / "_config.yml").read_text()
    assert re.search(r"^\s+autodoc_preserve_defaults:\s*true\s*$", config, re.M)
