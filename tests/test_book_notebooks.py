"""The book's own pages (notebooks/book/*.ipynb): committed clean, every glued name they cite computed by a cell, and
executed into book/ by `cli studies` when missing or stale, their verdicts those of the claims' rule."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from spectral_collapse.pipeline import execute as B
from spectral_collapse.claims.paper import CLAIMS

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "notebooks" / "book").glob("*.ipynb"))
CITED = re.compile(r"\{glue:text\}`([\w]+)|\{\{\s*(\w+)")   # a role in markdown, or a name in an answer paragraph
ANSWER = "answers.markdown("


def _cells(path: Path, kind: str) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == kind]


def test_every_page_has_its_source_and_no_other():
    assert sorted(p.stem for p in SOURCES) == sorted(B.PAGES)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_a_page_source_is_clean_and_glues_every_name_it_cites(path):
    raw = json.loads(path.read_text())
    assert "".join(raw["cells"][0]["source"]).startswith("# ") and raw["cells"][0]["cell_type"] == "markdown"
    for c in raw["cells"]:
        if c["cell_type"] == "code":
            assert c["outputs"] == [] and c["execution_count"] is None, f"{path.name}: clear the outputs"
            src = "".join(c["source"])    # an answer paragraph's lines are prose, wrapped as markdown is
            assert src.startswith(ANSWER) or all(len(line) <= 84 for line in src.splitlines()), path.name
    code = "\n".join(s for s in _cells(path, "code") if not s.startswith(ANSWER))
    # each name a cell glues: a literal, or an f-string whose {fields} stand for any word ("claim_{key}")
    glued = [re.sub(r"\{[^}]*\}", r"\\w+", n) if f else re.escape(n)
             for f, n in re.findall(r'(?:glue\(|answers\[)(f?)"([^"]+)"', code)]
    executed = ROOT / "book" / path.name    # names a library call sets: those the executed page glued
    if executed.exists():
        from tests.test_glued_verdicts import glued as glued_values

        glued += [re.escape(n) for n in glued_values(json.loads(executed.read_text()))]
    keys = {c.key for c in CLAIMS}
    prose = "\n".join([*_cells(path, "markdown"), *(s for s in _cells(path, "code") if s.startswith(ANSWER))])
    for name in {a or b for a, b in CITED.findall(prose)}:
        assert any(re.fullmatch(g, name) for g in glued), (path.name, name)
        assert not name.startswith("claim_") or name[len("claim_"):] in keys, (path.name, name)


def test_a_page_runs_after_the_chapters_only_when_its_inputs_changed(tmp_path, monkeypatch):
    """A page is stale when missing, when its source changes or when a results file of the profile changes; it is
    executed with only the parameters its notebook declares (the errata page declares none)."""
    (tmp_path / "notebooks" / "book").mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / "book" / "errata.ipynb", tmp_path / "notebooks" / "book")
    results = tmp_path / "data" / "results" / "main_results"
    results.mkdir(parents=True)
    (results / "ihc-sr-quick.nc").write_bytes(b"one")
    (results / "ihc-sr-smoke.nc").write_bytes(b"other profile")
    deps = B.page_inputs("errata", "quick", tmp_path)
    assert [p.name for p in deps] == ["errata.ipynb", "ihc-sr-quick.nc"]
    with pytest.raises(ValueError, match="unknown book page 'nope'"):
        B.page_inputs("nope", "quick", tmp_path)

    out = B.execute_page("errata", "quick", root=tmp_path)
    assert out == tmp_path / "book" / "errata.ipynb"
    nb = json.loads(out.read_text())
    glued = {o["metadata"]["scrapbook"]["name"] for c in nb["cells"] for o in c.get("outputs", [])
             if "scrapbook" in o.get("metadata", {})}
    assert {"table1_verdict", "table1_numbers"} <= glued
    assert not any(c["cell_type"] == "code" and "injected-parameters" in c["metadata"].get("tags", [])
                   for c in nb["cells"])
    assert B.execute_page("errata", "quick", root=tmp_path) is None          # up to date
    (results / "ihc-sr-smoke.nc").write_bytes(b"changed")                     # another profile: still up to date
    assert B.execute_page("errata", "quick", root=tmp_path) is None
    calls = []
    monkeypatch.setattr(B, "execute_page", lambda page, profile, **kw: calls.append((page, profile)) or None)
    from spectral_collapse.pipeline.execute import run_studies

    assert run_studies("quick", ["errata"], root=tmp_path) == [] and calls == [("errata", "quick")]
    monkeypatch.undo()
    (results / "ihc-sr-quick.nc").write_bytes(b"two")
    assert B.execute_page("errata", "quick", root=tmp_path) == out


def test_the_executed_conclusions_glue_the_claims_verdicts():
    """Every claim_<key> the executed conclusions page glues is the claims' verdict on the stored results."""
    from spectral_collapse.claims.paper import evaluate_claims
    from spectral_collapse.claims.evidence import load_evidence

    page = ROOT / "book" / "conclusions.ipynb"
    if not page.exists() or not (ROOT / "data" / "results" / "main_results").is_dir():
        pytest.skip("no executed conclusions page or no stored results")
    nb = json.loads(page.read_text())
    glued = {o["metadata"]["scrapbook"]["name"]: o["data"]["application/papermill.record/text/plain"].strip("'")
             for c in nb["cells"] for o in c.get("outputs", []) if "scrapbook" in o.get("metadata", {})}
    if B.page_reason("conclusions", "quick", ROOT):
        pytest.skip("the executed conclusions page is stale: `python -m spectral_collapse studies` runs it again")
    claims = evaluate_claims(load_evidence(ROOT / "data" / "results", "quick"))
    want = {f"claim_{k}": v for k, v in zip(claims["claim"], claims["verdict"])}
    assert {k: v for k, v in glued.items() if k.startswith("claim_")} == want
