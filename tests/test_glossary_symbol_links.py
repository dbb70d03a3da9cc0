"""Hand-written pages link a glossary symbol as typeset maths, ``[$S_{HF}$](#label)``, never through a ``{term}``
role whose text Sphinx prints untypeset ("S_HF"), and each label they link to is one the glossary defines."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "book" / "glossary.md"


def test_no_page_links_a_symbol_through_the_term_role():
    labels = set(re.findall(r"^\s+\((glossary-[\w-]+)\)=\s*$", GLOSSARY.read_text(), re.M))
    assert {"glossary-s-g", "glossary-s-dc", "glossary-s-hf", "glossary-s-lf"} <= labels
    pages = sorted((ROOT / "book").glob("*.md"))
    for page in pages:
        text = page.read_text()
        assert not re.findall(r"\{term\}`[^`<]*[_{\\][^`<]*<[^>]*>`", text), page.name
        for label in re.findall(r"\]\(#(glossary-[\w-]+)\)", text):
            assert label in labels, f"{page.name} links to #{label}, which the glossary does not define"
