"""Glossary entries read as sentences, use the book's symbols for their terms, and give a thing one name."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = " ".join((ROOT / "book" / "glossary.md").read_text().split())


def test_garbled_entries_are_gone():
    for garbled in ["than as many Gaussian noise samples need are collapsed", "smaller as our images are"]:
        assert garbled not in GLOSSARY


def test_sigma_term_uses_the_symbol():
    assert "\nσ coordinates\n" in (ROOT / "book" / "glossary.md").read_text()
    assert "Sigma coordinates" not in GLOSSARY


def test_the_seed_has_the_one_other_name_the_pages_use():
    """The glossary's other name for a seed is the one generated text uses; 'crop seed' appears nowhere."""
    other = re.search(r"Also called a (\w+ seed)", GLOSSARY).group(1)
    sources = [*(ROOT / "src").rglob("*.py"), *(ROOT / "book").glob("*.md")]
    text = " ".join(p.read_text() for p in sources)
    assert "crop seed" not in text
    assert other in (ROOT / "src" / "spectral_collapse" / "pipeline" / "fragments.py").read_text()


def test_errata_names_the_ks_statistic_and_states_the_table1_rule():
    cells = json.loads((ROOT / "notebooks" / "book" / "errata.ipynb").read_text())["cells"]
    errata = " ".join(" ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown").split())
    assert "report $D$," not in errata and "$D_{KS}$" in errata
    assert "The Table 1 line follows a rule of its own" in errata and "no interval" in errata
