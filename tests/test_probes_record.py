"""The reliability record of the probes (benchmarks/results/reliability-probes.json, docs/probes.md) lists exactly the
tests marked ``@probe`` in the probe files, with their markers' words; it stays in docs/, out of the book's errors
page (a user's page)."""
from __future__ import annotations

import importlib
import json

from probes import DOC, FILES, RECORD, ROOT, markdown


def _marked() -> dict:
    """{test name: the probe marker's words} read from the probe files' test functions."""
    found = {}
    for path in FILES:
        module = importlib.import_module(path.split("/")[-1].removesuffix(".py"))
        for name, fn in vars(module).items():
            for mark in getattr(fn, "pytestmark", []) if name.startswith("test_") else []:
                if mark.name == "probe":
                    found[f"{path}::{name}"] = dict(mark.kwargs)
    return found


def test_the_record_lists_every_probe_with_its_markers_words():
    record = json.loads(RECORD.read_text())
    cases = {c["test"]: {k: c[k] for k in ("kind", "fault", "outcome")} for c in record["cases"]}
    assert cases == _marked(), "the record is stale: run `python tests/probes.py`"
    assert record["total"] == len(cases) and record["passing"] == len(cases)
    assert all(c["result"] == "passed" for c in record["cases"])


def test_the_page_is_the_record_in_words_and_stays_out_of_the_users_error_page():
    assert DOC.read_text() == markdown(json.loads(RECORD.read_text()))
    assert "probes.md" not in (ROOT / "book" / "errors.md").read_text()
