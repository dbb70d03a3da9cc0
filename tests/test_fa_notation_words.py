"""One notation for the noise ε, the latent x_T and a number: prose, maths and the hand-written pages."""
import json
import re
from pathlib import Path

import pytest

from spectral_collapse.plotting.reader import reader_text
from spectral_collapse.text import interval, latent_maths, notation, number, signed

ROOT = Path(__file__).resolve().parents[1]


# --- "eps" as a word --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("prose, read", [
    ("the main eps and EDM models", "the main ε-prediction and EDM models"),
    ("x0 minus eps", "x0 minus ε"),
    ("The eps arms beside the paper's eps U-Net rows", "The ε-prediction arms beside the paper's ε-prediction U-Net rows"),
    ("no per-case eps and x0 numbers", "no per-case ε and x0 numbers"),
    ("an eps model's x0 error", "an ε-prediction model's x0 error"),
])
@pytest.mark.parametrize("form", ["md", "html", "chart"])
def test_eps_as_a_word_reads_as_epsilon(prose, read, form):
    assert notation(prose, form) == read
    assert notation(read, form) == read


@pytest.mark.parametrize("kept", ["ihc-sr-x4-eps-quick", "`eps`", 'parameterization="eps"', "parameterization='eps'",
                                  "eps_vs_x0", "/studies/eps_vs_x0", "eps=1e-5", "eps(z)", "epsilon", "steps",
                                  "[x0 against eps](/studies/eps_vs_x0)"])
def test_eps_identifiers_and_code_stay(kept):
    out = reader_text(kept)
    assert "ε" not in out.split("](")[-1] and "eps" in out


# --- x_T in one form ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("maths, read", [
    ("$x_T$", r"$\mathbf{x}_T$"),
    (r"$\|x_T\|^2$", r"$\lVert\mathbf{x}_T\rVert^2$"),
    (r"$\|x_T\|^2/d$", r"$\lVert\mathbf{x}_T\rVert^2/d$"),
    (r"$\lVert \mathbf{x}_T \rVert_2^2 / d$", r"$\lVert\mathbf{x}_T\rVert^2/d$"),
])
def test_the_latent_in_maths_has_the_glossarys_form(maths, read):
    assert latent_maths(maths) == read and latent_maths(read) == read
    assert notation(f"the latents {maths} of DDIM") == f"the latents {read} of DDIM"


def test_other_maths_keeps_its_norms():
    loss = r"$L_{HF} = \lVert\hat{\boldsymbol\epsilon}\rVert_2^2$"
    assert notation(loss) == loss
    assert notation("`$x_T$`") == "`$x_T$`"   # code


def _markdown_cells(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown"]


_OFF = re.compile(r"\$x_T\$|₂²/d|_2\^2\s*/\s*d|\\\|x_T\\\|")


def test_no_chapter_shows_the_latent_another_way():
    """Every study notebook's Markdown as the executed chapter shows it (``reader_cells``: ``reader_text``)."""
    bad = {p.name: _OFF.findall(reader_text(md)) for p in sorted((ROOT / "notebooks").glob("*.ipynb"))
           for md in _markdown_cells(p) if _OFF.search(reader_text(md))}
    assert not bad, bad


def test_no_hand_written_page_writes_the_latent_another_way():
    pages = [*(ROOT / "book").glob("*.md"), *(ROOT / "docs").glob("*.md")]
    bad = {p.name: _OFF.findall(p.read_text()) for p in pages if _OFF.search(p.read_text())}
    assert not bad, bad


# --- numbers ------------------------------------------------------------------------------------------------

def test_a_number_keeps_its_sign_and_an_interval_its_bounds():
    assert number(-6e-4) == "-0.001" and signed(0.19) == "+0.190" and signed(-0.28) == "-0.280"
    assert interval(-0.002, 0.5) == "[-0.002, 0.500]" and interval(0.1, 0.2, lambda v: f"{v:.2f}") == "[0.10, 0.20]"


# --- hand-written pages ---------------------------------------------------------------------------------------

def test_methods_page_says_the_correlation_rule_the_code_applies():
    from spectral_collapse.claims.compare import correlation_verdict

    # the code: an interval wholly short of the threshold does not hold, even one that includes 0
    assert correlation_verdict(0.1, -0.2, 0.4, +1, 0.5) == "does not hold"
    assert correlation_verdict(-0.7, -0.9, -0.3, +1, 0.5) == "does not hold"
    text = (ROOT / "book" / "methods.md").read_text() + (ROOT / "book" / "glossary.md").read_text()
    assert "against the claimed direction, with an interval that excludes zero" not in text
    assert text.count("short of") >= 2


def test_methods_page_z_score_example_is_computed():
    import math

    text = (ROOT / "book" / "methods.md").read_text()
    said = re.search(r"20 % about (\d+)", text)
    assert said and int(said.group(1)) == round(0.2 * math.sqrt(64 * 3072 / 2))


def test_hand_written_pages_use_en_dash_ranges():
    from spectral_collapse.text import ranges

    for p in [*(ROOT / "book").glob("*.md"), ROOT / "docs" / "datasets.md"]:
        text = p.read_text()
        assert ranges(text) == text, p.name
    head = (ROOT / "docs" / "errors.md").read_text().split("<!-- table -->")[0]
    assert ranges(head) == head
    assert not re.search(r"\d\$-\$\d", (ROOT / "book" / "methods.md").read_text())


def test_one_listing_helper_lists_items_as_prose():
    from spectral_collapse.text import listed

    assert listed(["a"]) == "a" and listed(["a", "b"]) == "a and b" and listed(("a", "b", "c")) == "a, b and c"
