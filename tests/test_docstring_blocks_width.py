"""The API page's literal blocks fit its text column: a docstring's literal block (the indented lines after a
paragraph ending in "::", a displayed formula or table that the page sets the same way, a ``.. code-block::``) is
shown in a fixed-width font that holds about 86 characters a line, and a longer line hides behind a scroll bar.
Every module the page documents (scripts/make_toc.py's ``package_modules``) is read as the page reads it: each class,
function and method defined in it, its docstring through napoleon and the page's own docstring hook
(pipeline.sphinx_docstrings), and each line of a block measured as shown, without the block's indent."""
from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import re
from pathlib import Path

import pytest

import spectral_collapse
from spectral_collapse.pipeline.sphinx_docstrings import (displayed_blocks, list_continuations, literal_line,
                                                         rst_lists)

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(spectral_collapse.__file__).resolve().parent
WIDTH = 84  # characters a literal-block line may hold: the column shows about 86

_CODE_DIRECTIVE = re.compile(r"^\s*\.\. (?:code-block|code|sourcecode)::")


def _package_modules() -> list[str]:
    spec = importlib.util.spec_from_file_location("make_toc", ROOT / "scripts" / "make_toc.py")
    make_toc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_toc)
    return make_toc.package_modules(PACKAGE)


def _napoleon(lines: list[str], what: str, obj) -> list[str]:
    """``lines`` as napoleon hands them on (the book turns on its Google and NumPy styles)."""
    try:
        from sphinx.ext.napoleon import Config, GoogleDocstring, NumpyDocstring
    except ImportError:  # without Sphinx: the docstring as written
        return lines
    config = Config(napoleon_google_docstring=True, napoleon_numpy_docstring=True)
    lines = NumpyDocstring(lines, config, what=what, obj=obj).lines()
    return GoogleDocstring(lines, config, what=what, obj=obj).lines()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def literal_blocks(doc: str, what: str = "function", obj=None) -> list[list[str]]:
    """The literal blocks of docstring ``doc`` as the API page shows them: each a list of its lines, less the block's
    indent and the double backquotes a literal block shows as typed; a displayed block (indented under a paragraph)
    counts, as the page sets it as a literal block; prose, lists and other directives do not."""
    lines = displayed_blocks(list_continuations(rst_lists(_napoleon(doc.split("\n"), what, obj))))
    blocks: list[list[str]] = []
    i = 0
    while i < len(lines):
        opener = lines[i]
        stripped = opener.strip()
        code = bool(_CODE_DIRECTIVE.match(opener))
        i += 1
        if not (code or (stripped.endswith("::") and not stripped.startswith(".."))):
            continue
        body: list[str] = []
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > _indent(opener)):
            body.append(lines[i])
            i += 1
        if code:  # the directive's options (":linenos:") come before its text
            while body and body[0].strip().startswith(":"):
                body.pop(0)
        else:
            body = [literal_line(line) for line in body]
        while body and not body[0].strip():
            body.pop(0)
        while body and not body[-1].strip():
            body.pop()
        if body:
            cut = min(_indent(line) for line in body if line.strip())
            blocks.append([line[cut:] for line in body])
    return blocks


def overlong(doc: str, what: str = "function", obj=None, width: int = WIDTH) -> list[tuple[int, str]]:
    """(line number in ``doc``, counted from 1, or 0 if not found; the line as shown) for each line of a literal block
    of ``doc`` longer than ``width``."""
    source = [literal_line(line).strip() for line in doc.split("\n")]
    found = []
    for block in literal_blocks(doc, what, obj):
        for line in block:
            if len(line) > width:
                number = source.index(line.strip()) + 1 if line.strip() in source else 0
                found.append((number, line))
    return found


def _documented(module):
    """(dotted name, object, autodoc's kind) of ``module`` and of each class, function and method defined in it."""
    yield module.__name__, module, "module"
    for name, obj in vars(module).items():
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            yield f"{module.__name__}.{name}", obj, "function"
        elif inspect.isclass(obj):
            yield f"{module.__name__}.{name}", obj, "class"
            for attr, member in vars(obj).items():
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                elif isinstance(member, functools.cached_property):
                    member = member.func
                if inspect.isfunction(member):
                    yield f"{module.__name__}.{name}.{attr}", member, "method"
                elif isinstance(member, property):
                    yield f"{module.__name__}.{name}.{attr}", member, "property"


@pytest.mark.parametrize("module_name", _package_modules())
def test_literal_blocks_fit_the_api_page_column(module_name):
    module = importlib.import_module(module_name)
    problems = []
    for name, obj, what in _documented(module):
        doc = inspect.cleandoc(obj.__doc__ or "") if what == "module" else inspect.getdoc(obj)
        for number, line in overlong(doc or "", what, obj):
            where = f"line {number} of its docstring" if number else "a line of its docstring"
            problems.append(f"{name}, {where} ({len(line)} characters): {line}")
    assert not problems, (f"literal-block lines longer than {WIDTH} characters (the API page hides the rest behind "
                          "a scroll bar):\n" + "\n".join(problems))


def test_the_package_modules_are_walked():
    modules = _package_modules()
    assert "spectral_collapse.inversion.methods.edict" in modules
    assert not any(part.startswith("_") for m in modules for part in m.split("."))


SAMPLE = """A summary line whose prose runs on past the width of the column, which the page wraps as it wraps any text.

The update::

    x' = x + dt eps(y, sigma);   y' = y + dt eps(x', sigma)                               (affine coupling)
    short line with ``code``

A model is used through

    x~ = x / sqrt(alpha_bar),      sigma = sqrt((1 - alpha_bar) / alpha_bar)

- a list item whose text is long enough to run past the column, which the page wraps like any other prose line
  and its continuation line.

.. note::

    A note's text, long enough to run past the column, is prose that the page wraps like any other line of text.
"""


def test_extractor_finds_the_blocks_and_leaves_prose_alone():
    blocks = literal_blocks(SAMPLE)
    assert [block[0][:6] for block in blocks] == ["x' = x", "x~ = x"]
    assert blocks[0][1] == "short line with code"       # shown as typed, without the inline-literal markup
    assert overlong(SAMPLE) == [(5, blocks[0][0])]   # the overlong block line alone, not the long prose lines
    assert overlong(SAMPLE.replace(" " * 31 + "(affine", " (affine")) == []


def test_extractor_reads_a_code_block_and_a_block_ending_at_the_text():
    doc = ("Run it:\n\n.. code-block:: bash\n    :linenos:\n\n    " + "a" * 90 + "\n\nAfter the block::\n\n"
           "    kept\nback to the text, " + "b" * 90)
    assert literal_blocks(doc) == [["a" * 90], ["kept"]]
    assert overlong(doc) == [(6, "a" * 90)]
