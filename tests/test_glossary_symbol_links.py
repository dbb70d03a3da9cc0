"""Glossary links show the symbol typeset: a math term links as ``[$S_{HF}$](#label)`` to the label its entry carries,
never as a ``{term}`` role whose text Sphinx prints untypeset ("S_HF")."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "book" / "glossary.md"


def test_every_math_term_of_the_glossary_carries_its_label():
    from spectral_collapse.pipeline.chapters import glossary

    maths = {t: lab for t, lab in glossary(GLOSSARY).items() if t.startswith("$")}
    assert {"$S_G$", "$S_{DC}$", "$S_{HF}$", "$S_{LF}$"} <= set(maths)
    for term, label in maths.items():   # S_{HF} -> glossary-s-hf
        want = "glossary-" + re.sub(r"[^a-z0-9]+", "-", term.strip("$").lower()).strip("-")
        assert label == want, f"{term}: its definition must open with ({want})="


def test_a_math_term_links_with_its_symbol_typeset_and_a_word_with_the_term_role(tmp_path):
    import nbformat

    from spectral_collapse.pipeline.chapters import link_glossary

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("S_G and S_DC of spectral collapse.")])
    shown = nbformat.v4.new_code_cell("verdict()")
    shown.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": "$S_{HF}$ is high.",
                                                                  "text/plain": "<Markdown>"})]
    nb.cells.append(shown)
    assert link_glossary(nb, GLOSSARY) == 4
    assert nb.cells[0].source == ("[$S_G$](#glossary-s-g) and [$S_{DC}$](#glossary-s-dc) of "
                                  "{term}`spectral collapse <Spectral collapse>`.")
    assert shown.outputs[0]["data"]["text/markdown"] == "[$S_{HF}$](#glossary-s-hf) is high."


def test_a_math_term_without_a_label_keeps_the_term_role(tmp_path):
    import nbformat

    from spectral_collapse.pipeline.chapters import link_glossary

    glossary = tmp_path / "glossary.md"
    glossary.write_text("# Glossary\n\n```{glossary}\n$S_{HF}$\n  texture.\n```\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("S_HF is high.")])
    assert link_glossary(nb, glossary) == 1
    assert nb.cells[0].source == "{term}`S_HF <S_{HF}>` is high."


def test_no_page_links_a_symbol_through_the_term_role():
    """A hand-written page (front pages, methods pages) links a symbol as typeset maths, and each label it links to
    is one the glossary defines."""
    from spectral_collapse.pipeline.chapters import glossary

    labels = {lab for lab in glossary(GLOSSARY).values() if lab}
    pages = [*sorted((ROOT / "book").glob("*.md")), *sorted((ROOT / "book" / "methods").glob("*.md"))]
    for page in pages:
        text = page.read_text()
        assert not re.findall(r"\{term\}`[^`<]*[_{\\][^`<]*<[^>]*>`", text), page.name
        for label in re.findall(r"\]\(#(glossary-[\w-]+)\)", text):
            assert label in labels, f"{page.name} links to #{label}, which the glossary does not define"
