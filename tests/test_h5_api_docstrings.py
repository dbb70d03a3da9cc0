"""The API page's docstrings read as written: the autodoc hook (pipeline.sphinx_docstrings) sets each one as a
plain-text block, so nothing in it is read as reStructuredText markup. Each sample is parsed by docutils, as the
page is."""
from __future__ import annotations

from docutils import nodes
from docutils.core import publish_doctree

from spectral_collapse.pipeline.sphinx_docstrings import as_text_block

DOC = """Prepared data as unpaired x``factor`` SR into the `dest` folder; ``_gate_row``s as the chapter shows them.
A builder fn(*, size, **kw) -> U keeps *no* offset, z*_N, a * b and 2**22; |x| and ||x_T||^2; the raw form
s_dc_raw_ of x_T; :func:`load` and `the site <https://example.org>`_ stay.
Losses:
- "edm": E lambda(sigma) ||D(x; sigma) - x0||^2,
         lambda = (sigma^2 + sigma_data^2)

A model is used through

    x~ = x / sqrt(alpha_bar),      sigma = sqrt((1 - alpha_bar) / alpha_bar)

.. note:: a directive stays text too"""


def _tree(lines: list[str]) -> nodes.document:
    return publish_doctree("\n".join(lines), settings_overrides={"report_level": 1, "halt_level": 5,
                                                                 "warning_stream": False})


def test_a_docstring_is_one_block_of_its_text_as_typed():
    tree = _tree(as_text_block(DOC.split("\n")))
    assert not list(tree.findall(nodes.system_message)) and not list(tree.findall(nodes.problematic))
    blocks = [n.astext() for n in tree.findall(nodes.literal_block)]
    assert blocks == [DOC]
    assert not list(tree.findall(nodes.paragraph))           # no text outside the block, no markup parsed


def test_the_same_docstring_unprocessed_would_be_misread():
    """The hook is needed: docutils reads the raw docstring with errors and markup it does not mean."""
    tree = _tree(DOC.split("\n"))
    assert list(tree.findall(nodes.system_message)) or list(tree.findall(nodes.problematic))


def test_an_empty_docstring_adds_nothing():
    assert as_text_block([]) == [] and as_text_block(["", "  "]) == []
