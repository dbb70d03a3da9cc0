"""The your-model chapter numbers its images from 1, words the gate rule of a profile as the suite states it, names the
folder loader's held-out share in words, and drops a crop-numbering note when no crop numbers follow."""
from __future__ import annotations

import json
import re
from pathlib import Path

NB = Path(__file__).parents[1] / "notebooks" / "your_model.ipynb"


def _source() -> str:
    return "\n".join("".join(c["source"]) for c in json.loads(NB.read_text())["cells"])


def _defs(*names):
    """The notebook's helper functions ``names``, run on their own."""
    src = _source()
    out = {}
    for name in names:
        m = re.search(rf"^def {name}\(.*?(?=^\S)", src + "\nEND", re.S | re.M)
        out[name] = m.group(0)
    return out


def test_the_image_grid_numbers_images_from_one():
    src = _source()
    assert 'f"image {i + 1}"' in src and 'f"image {i}"' not in src


def test_the_gate_rule_of_a_profile_is_the_suites_one_plain_statement():
    from spectral_collapse.studies.gate import weak_model_rule
    from spectral_collapse.studies.profiles import get_profile

    src = _source()
    assert "from spectral_collapse.studies.gate import weak_model_rule as gate_rule" in src
    assert "def gate_rule" not in src and "even below the gate" not in src
    quick = weak_model_rule("quick")
    assert "only when" in quick and all(f"`{k}`" in quick for k in get_profile("quick").allow_weak_models)


def test_plain_words_the_held_out_share_and_drops_an_empty_numbering_note():
    src = _source()
    ns = {"re": re, "in_words": {}, "table_numbers": lambda t: t}
    exec(re.search(r'^NUMBERED = .*$', src, re.M).group(0), ns)
    exec(_defs("plain")["plain"], ns)
    said = ns["plain"]("5 of 24 source images drawn (seed 0, test_fraction 0.2) as test inputs")
    assert "test_fraction" not in said and "held-out share of 0.2" in said
    empty = "Failed samples" + ns["NUMBERED"] + ":\n\nDDIM: 5 of 5 test crops failed"
    assert ns["NUMBERED"] not in ns["plain"](empty)
    listed = "Failed samples" + ns["NUMBERED"] + ":\n\nDDIM: 2 of 5 test crops failed: crops 1, 4"
    assert ns["NUMBERED"] in ns["plain"](listed)


def test_the_scores_sentence_does_not_promise_a_table():
    assert "the\nlines under the table say" not in _source() and "lines under the table" not in _source()
