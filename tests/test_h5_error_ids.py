"""The errors page names each case by an id that reads as the bad input a user meets ("empty-image-folder",
"checkpoint-of-another-model"), not by a name from the code ("papermill-str", "nan-raise", "wrong-dtype"): words
joined by hyphens, tied to the case's own description, no code shorthand, and one id for one thing on the page."""
from __future__ import annotations

import json
import re

import pytest

from test_reliability import BAD_INPUTS, DOC, RECORD, SILENT_BEFORE

# code shorthand a reader of the page does not meet as a word: a module, a type, an abbreviation of a parameter
SHORTHAND = {"cli", "nan", "str", "int", "dtype", "papermill", "doc", "eta", "arg", "args", "cfg", "tmp", "kw",
             "param", "params", "ckpt", "dir", "bool", "none"}
ENTRIES = [(c.id, c.what) for c in BAD_INPUTS] + [(p.id, p.fault) for p in SILENT_BEFORE]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", re.sub(r"(?<=[A-Za-z])-(?=\d)", "", text.lower()))   # "SHA-256" -> "sha256"


def _shared(word: str, words: list[str]) -> bool:
    return any(w[:4] == word[:4] for w in words if len(w) >= 3)


@pytest.mark.parametrize("ident, described", ENTRIES, ids=[i for i, _ in ENTRIES])
def test_an_id_reads_as_the_bad_input_it_names(ident, described):
    assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", ident), ident
    words = ident.split("-")
    assert not SHORTHAND & set(words), f"{ident}: code shorthand {sorted(SHORTHAND & set(words))}"
    assert any(_shared(w, _words(described)) for w in words if len(w) >= 3), \
        f"{ident} shares no word with what it names: {described!r}"


def test_one_id_names_one_thing_on_the_page():
    ids = [i for i, _ in ENTRIES]
    assert len(set(ids)) == len(ids), sorted({i for i in ids if ids.count(i) > 1})


def test_the_page_and_the_record_carry_the_ids():
    text, record = DOC.read_text(), json.loads(RECORD.read_text())
    assert [r["id"] for r in record["cases"]] == [c.id for c in BAD_INPUTS]
    assert [r["id"] for r in record["silent_before"]["cases"]] == [p.id for p in SILENT_BEFORE]
    assert all(f"(`{i}`)" in text for i, _ in ENTRIES)
    # a fault's proof that names a case names one of the list above
    cases = {c.id for c in BAD_INPUTS}
    assert all(t in cases for p in SILENT_BEFORE for t in p.proof if "::" not in t)


def test_the_check_fails_on_names_from_the_code():
    for ident, described in (("papermill-str", "papermill name parameter that is a list"),
                             ("nan-raise", "values that stop being finite, with on_nonfinite='raise'"),
                             ("hidden-chapter-copy", "interrupt a CLI study (Ctrl-C or SIGTERM)")):
        with pytest.raises(AssertionError):
            test_an_id_reads_as_the_bad_input_it_names(ident, described)
