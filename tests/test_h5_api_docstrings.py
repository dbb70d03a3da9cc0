"""The API page's docstrings read as written: the autodoc hook (pipeline.sphinx_docstrings.prepare) turns what
reStructuredText would misread into markup it reads as meant. Each sample is parsed by docutils, as the page is."""
from __future__ import annotations

import re

import pytest
from docutils import nodes
from docutils.core import publish_doctree
from docutils.parsers.rst import roles

from spectral_collapse.pipeline.sphinx_docstrings import (displayed_blocks, escape_stars, glued_code,
                                                         list_continuations, prepare)

# Sphinx's roles, which plain docutils does not know, read as literals
for _role in ("func", "class", "mod"):
    roles.register_generic_role(_role, nodes.literal)


def _tree(lines: list[str]) -> nodes.document:
    return publish_doctree("\n".join(lines), settings_overrides={"report_level": 5, "halt_level": 5})


def _parsed(doc: str) -> nodes.document:
    return _tree(prepare(doc.split("\n")))


def _kinds(tree: nodes.document, kind) -> list[str]:
    return [n.astext() for n in tree.findall(kind)]


def _text(tree: nodes.document) -> str:
    """The running text outside code."""
    return " ".join(n.astext() for n in tree.findall(nodes.Text)
                    if not isinstance(n.parent, (nodes.literal, nodes.literal_block)))


DOC = """Prepared data as unpaired x``factor`` SR into the `dest` folder; ``_gate_row``s as the chapter shows them
(``column_digits``, at most ``_most_digits``). A builder fn(*, size, **kw) -> U keeps *no* offset, **all** of
it, z*_N, a * b and 2**22; |x| and ||x_T||^2; the raw form s_dc_raw_ of x_T; :func:`load` and
`the site <https://example.org>`_ stay.

Losses:
- "edm": E lambda(sigma) ||D(x; sigma) - x0||^2,
         lambda = (sigma^2 + sigma_data^2)
- "flow": a velocity network

A model is used through

    x~ = x / sqrt(alpha_bar),      sigma = sqrt((1 - alpha_bar) / alpha_bar)

and the labels become prompts::

    label 2 (null)  ->  (``force_zeros_for_empty_prompt``, its default)
"""


def test_nothing_is_misread_as_markup():
    tree = _parsed(DOC)
    assert not list(tree.findall(nodes.problematic))
    assert not [m.astext() for m in tree.findall(nodes.system_message) if m["level"] >= 2]
    assert not _kinds(tree, nodes.title_reference)                        # `dest` is code, not an italic title
    assert not _kinds(tree, nodes.definition_list) and not _kinds(tree, nodes.block_quote)
    assert _kinds(tree, nodes.emphasis) == ["no"] and _kinds(tree, nodes.strong) == ["all"]
    text = _text(tree)
    assert "`" not in text and "\\" not in text                            # no backquote or escape shows
    for kept in ("fn(*, size, **kw)", "z*_N, a * b and 2**22", "|x| and ||x_T||^2", "s_dc_raw_ of x_T", "SR",
                 "s as the chapter shows them"):
        assert kept in text.replace("\n", " "), kept


def test_code_reads_as_code():
    tree = _parsed(DOC)
    assert {"factor", "dest", "_gate_row", "column_digits", "_most_digits", "load"} <= set(_kinds(tree, nodes.literal))
    assert [r.get("refuri") for r in tree.findall(nodes.reference)] == ["https://example.org"]


def test_displayed_lines_keep_their_columns_and_literal_blocks_show_no_markup():
    blocks = _kinds(_parsed(DOC), nodes.literal_block)
    assert blocks[0].startswith("x~ = x / sqrt(alpha_bar),      sigma")      # a displayed formula: fixed width
    assert blocks[1] == "label 2 (null)  ->  (force_zeros_for_empty_prompt, its default)"
    items = _kinds(_parsed(DOC), nodes.list_item)
    assert items[0].startswith('"edm": E lambda(sigma)') and "lambda = (sigma^2" in items[0]


def test_each_step_on_its_own():
    assert glued_code("x``factor`` and ``a``s") == "x\\ ``factor`` and ``a``\\ s"
    assert glued_code("(``a``, ``b``)") == "(``a``, ``b``)"                # punctuation needs no escape
    assert escape_stars("fn(*, **kw) and *a* and **b**") == "fn(\\*, \\*\\*kw) and *a* and **b**"
    assert escape_stars("another *how\nfar* it goes") == "another *how\nfar* it goes"
    assert list_continuations(["- a:", "       b", "", "   c"]) == ["- a:", "  b", "", "   c"]
    assert displayed_blocks(["Through", "", "    x = 1"]) == ["Through", "", "::", "", "    x = 1"]
    assert displayed_blocks(["As code::", "", "    x = 1"]) == ["As code::", "", "    x = 1"]
    assert displayed_blocks([":param x: a", "", "    b"]) == [":param x: a", "", "    b"]


@pytest.mark.parametrize("doc", ["Plain text, no markup at all.", "- one\n- two\n\nText.", "*emphasis* and ``code``."])
def test_text_without_such_things_parses_as_before(doc):
    assert _parsed(doc).pformat() == _tree(doc.split("\n")).pformat()


def test_dataclass_signatures_show_what_a_factory_default_makes():
    """The API page's signatures: a field defaulting to a factory reads as the value it makes (or the call that
    makes it), never "<factory>", whatever its annotation (commas inside brackets included)."""
    import dataclasses
    import inspect

    from spectral_collapse.pipeline.sphinx_docstrings import _signature

    @dataclasses.dataclass
    class Knobs:
        extra: dict[str, float] = dataclasses.field(default_factory=dict)
        sizes: tuple = dataclasses.field(default_factory=lambda: (16, 32))
        big: list = dataclasses.field(default_factory=lambda: list(range(100)))
        plain: int = 3

    sig, _ = _signature(None, "class", "Knobs", Knobs, {}, str(inspect.signature(Knobs)), None)
    assert "<factory>" not in sig
    shown = re.sub(r"'", "", sig)  # annotations may come quoted
    assert "extra: dict[str, float] = {}" in shown and "sizes: tuple = (16, 32)" in shown and "plain: int = 3" in shown
    assert "big: list = list(...)" in shown                      # too long to show: what kind of value it makes
    assert _signature(None, "function", "f", len, {}, "(x)", None) is None
