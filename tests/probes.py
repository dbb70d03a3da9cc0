"""The reliability record of the hostile-user probes: every test marked ``@probe(kind, fault, outcome)`` is one
probe, and the record lists each with how it ends and whether its test passes.

``python tests/probes.py`` runs the marked tests of ``FILES`` (one process, about a minute) and writes
``benchmarks/results/reliability-probes.json`` and ``docs/probes.md`` (a record for the developers, kept out of the
book's errors page). Nothing in the record is typed by hand: a probe is its test's marker, its result the test's
outcome.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = ("tests/test_param_crashes.py", "tests/test_user_model_checks.py", "tests/test_env_settings.py",
         "tests/test_message_first.py",
         "tests/test_realism_inputs.py", "tests/test_results_checksum.py", "tests/test_folder_reading.py",
         "tests/test_probes_rest.py", "tests/test_first_contact.py", "tests/test_oracle_inputs.py",
         "tests/test_verdict_inputs.py", "tests/test_cluster_edges.py", "tests/test_stored_results_edges.py")
# probe files whose cases the page lists under a heading of their own (the others: under the page's heading)
SECTIONS = {"Realism scores, results files and folder data": ("tests/test_realism_inputs.py",
                                                              "tests/test_results_checksum.py",
                                                              "tests/test_folder_reading.py"),
            "Training, storing and settings": ("tests/test_probes_rest.py",),
            "First contact: what a newcomer reads first": ("tests/test_first_contact.py",),
            "The oracle, the verdicts, the cluster's edges and stored results": (
                "tests/test_oracle_inputs.py", "tests/test_verdict_inputs.py", "tests/test_cluster_edges.py",
                "tests/test_stored_results_edges.py")}
RECORD = ROOT / "benchmarks" / "results" / "reliability-probes.json"
DOC = ROOT / "docs" / "probes.md"
KINDS = {"crash": "crashed (a raw exception, a killed kernel)", "unclear": "stopped with an unclear message",
         "silent": "gave a wrong value without a word", "late": "showed its message late or after heavy work"}


def probe(kind: str, fault: str, outcome: str):
    """Mark a test as the probe of ``fault`` (what a user did), of ``kind`` (how it ended before: ``KINDS``), whose
    ``outcome`` (how it ends now, in words) the test asserts."""
    if kind not in KINDS:
        raise ValueError(f"probe kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    return pytest.mark.probe(kind=kind, fault=fault, outcome=outcome)


class _Recorder:
    """A pytest plugin collecting each probe's marker and its test's result."""

    def __init__(self):
        self.rows, self.results = {}, {}

    def pytest_collection_modifyitems(self, items):
        for item in items:
            mark = item.get_closest_marker("probe")
            if mark is not None:
                self.rows[item.nodeid] = dict(mark.kwargs)

    def pytest_runtest_logreport(self, report):
        if report.nodeid in self.rows and (report.when == "call" or report.outcome != "passed"):
            self.results.setdefault(report.nodeid, report.outcome)
            if report.outcome != "passed":
                self.results[report.nodeid] = report.outcome


def record(rows: dict, results: dict) -> dict:
    """The record: one case per probe (tests parametrised over one probe count once, passing when all pass)."""
    cases = {}
    for nodeid, mark in rows.items():
        test = nodeid.split("[")[0]
        case = cases.setdefault(test, {**mark, "before": KINDS[mark["kind"]], "test": test, "result": "passed"})
        if results.get(nodeid) != "passed":
            case["result"] = results.get(nodeid, "not run")
    cases = list(cases.values())
    return {"what": "hostile-user probes, one test each (tests/probes.py: the tests marked @probe)",
            "total": len(cases), "passing": sum(c["result"] == "passed" for c in cases),
            "by_kind_before": dict(Counter(c["kind"] for c in cases)), "cases": cases}


def markdown(rec: dict) -> str:
    """docs/probes.md: a heading, the counts, and one line per probe (those of ``SECTIONS``' files under their own
    headings)."""
    lines = ["## Probes of a hostile user", "",
             f"{rec['total']} probes, {rec['passing']} of them passing their test (the record: "
             "`benchmarks/results/reliability-probes.json`, written by `python tests/probes.py` from the tests marked "
             "`@probe`). Each names what a user did, how it ended before, and how it ends now.", ""]
    def line(c: dict) -> str:
        return f"- **{c['fault']}**: {c['before']} before; now {c['outcome']} (`{c['test']}`: {c['result']})."

    section = lambda c: c["test"].split("::")[0]  # noqa: E731 - the probe's file
    headed = {f for files in SECTIONS.values() for f in files}
    lines += [line(c) for c in rec["cases"] if section(c) not in headed]
    for title, files in SECTIONS.items():
        own = [line(c) for c in rec["cases"] if section(c) in files]
        lines += ["", f"### {title}", "", *own] if own else []
    return "\n".join(lines) + "\n"


def main() -> int:
    rec = _Recorder()
    code = pytest.main([*FILES, "-n", "0", "-q", "-p", "no:cacheprovider"], plugins=[rec])
    out = record(rec.rows, rec.results)
    RECORD.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    DOC.write_text(markdown(out))
    print(f"{out['passing']} of {out['total']} probes pass -> {RECORD}, {DOC}")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
