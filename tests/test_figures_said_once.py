"""Each time and count of the suite is said once, on the cost page (notebooks/benchmarks.ipynb): the README and the
Makefile's comments point there instead of quoting a time, a test count or a study count that could drift from it."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# a duration ("17 min 2 s", "about 2.5 minutes", "1 h"), a test count ("2,117 tests") or a study count ("26 studies")
QUOTED = re.compile(r"\b\d+(?:[.,]\d+)? ?(?:min|minutes|h|hours|s|seconds)\b|\b\d[\d,]* tests\b|\b\d+ studies\b")


def quoted_figures(text: str) -> list[str]:
    """The times and counts ``text`` quotes."""
    return [m.group(0) for m in QUOTED.finditer(text)]


def test_the_pattern_finds_times_and_counts_and_leaves_sizes_alone():
    assert quoted_figures("make test  # 17 min 2 s for 2,117 tests; about 2.5 minutes; the 26 studies") == [
        "17 min", "2 s", "2,117 tests", "2.5 minutes", "26 studies"]
    assert quoted_figures("about 7 GB of disk; 32 px crops; Python 3.10+") == []


def test_readme_and_makefile_comments_leave_times_and_counts_to_the_cost_page():
    readme = (ROOT / "README.md").read_text()
    comments = "\n".join(line for line in (ROOT / "Makefile").read_text().splitlines() if line.lstrip().startswith("#"))
    assert quoted_figures(readme) == [] and quoted_figures(comments) == []
    assert "notebooks/benchmarks.ipynb" in readme and "notebooks/benchmarks.ipynb" in comments


def test_the_cost_page_reads_its_times_from_the_records_one_machine_a_table(tmp_path):
    """The cost page's command times come from the records: a run added to commands.json appears in its machine's
    table with its time written by ``text.duration``, and each table holds one machine's runs only."""
    import json

    from spectral_collapse.pipeline.fragments import command_markdown
    from spectral_collapse.tables.costs import command_tables
    from spectral_collapse.text import duration

    runs = [{"what": "`make test`", "machine": "a 2-core A VM", "wall_s": 1022, "detail": "2,117 tests"},
            {"what": "`make test`", "machine": "a 2-core B VM", "wall_s": 450, "detail": "2,104 tests"},
            {"what": "`make book`", "machine": "a 2-core A VM", "wall_s": 3 * 3600 + 59, "detail": ""}]
    (tmp_path / "commands.json").write_text(json.dumps({"runs": runs}))
    tables = command_tables(tmp_path)
    assert list(tables) == ["a 2-core A VM", "a 2-core B VM"]
    assert list(tables["a 2-core A VM"]["wall time"]) == ["17 min 2 s", "3 h 1 min"]
    assert list(tables["a 2-core B VM"]["wall time"]) == ["7 min 30 s"]
    page = command_markdown(tmp_path)
    assert page.count("**On ") == 2 and "17 min 2 s" in page
    stored = command_tables(ROOT / "benchmarks" / "results")
    record = json.loads((ROOT / "benchmarks" / "results" / "commands.json").read_text())["runs"]
    for run in record:   # every hand-timed run of the record is in its machine's table, in the book's words
        assert duration(run["wall_s"]) in list(stored[run["machine"]]["wall time"]), run
    assert "command_markdown(here)" in (ROOT / "notebooks" / "benchmarks.ipynb").read_text()


def test_the_cost_page_reads_the_main_command_from_its_record(tmp_path):
    """``benchmarks.main_command``'s record gives three rows on its machine's table: the studies from the shipped
    weights (with the chapter and page counts, the models trained and whether the results matched), a fresh clone
    with its stored results, and a rerun with nothing changed."""
    import json

    from spectral_collapse.tables.costs import command_tables

    rec = {"cpu": "AMD EPYC", "cores": 2, "jobs": 2, "install_s": 90, "book_s": 30, "total_s": 7300,
           "chapters": {"studies/pareto-ihc-sr": {"seconds": 3000}, "studies/velocity-ihc-sr": {"seconds": 60},
                        "claims": {"seconds": 20}}, "trained": [], "fresh_clone_s": 150, "rerun_s": 20,
           "results": {"identical": False, "files_compared": 2,
                       "differences": [{"file": "f.nc", "variable": "seconds", "relative": 0.2, "what": "values"}]}}
    (tmp_path / "main_command.json").write_text(json.dumps(rec))
    table = command_tables(tmp_path)["a 2-core AMD EPYC VM, no GPU"]
    assert list(table["wall time"]) == ["2 h 2 min", "2 min 30 s", "20 s"]
    detail = table["what it holds"][0]
    assert "2 study chapters and 1 pages, 2 at a time, no model trained" in detail and "compared with the stored" in detail


def test_durations_are_written_to_the_second_below_an_hour_and_to_the_minute_above():
    from spectral_collapse.text import duration

    assert [duration(x) for x in (18, 144, 1022, 1020, 8700, 7200, 3599.6, None)] == [
        "18 s", "2 min 24 s", "17 min 2 s", "17 min", "2 h 25 min", "2 h", "1 h", "nan"]


def test_the_scorecard_shows_a_table_only_where_we_have_a_counterpart_and_names_the_rest_in_one_line():
    """The executed scorecard: a side-by-side table for each paper table with at least one number of ours, the
    tables with none named in one "Not run here" line, and a sentence saying where MS-SSIM is computed."""
    import json

    import pytest

    from spectral_collapse.claims.evidence import load_evidence
    from spectral_collapse.claims.scorecard import TABLE_TITLES, scorecard

    page = ROOT / "book" / "scorecard.ipynb"
    if not (ROOT / "data" / "results").is_dir() or not page.is_file():
        pytest.skip("no stored results or executed scorecard")
    card = scorecard(load_evidence(ROOT / "data" / "results", "quick"))
    have = {t for t in set(card["table"]) if card.loc[card["table"] == t, "ours_mean"].notna().any()}
    none = {t for t in set(card["table"]) if t not in have}
    cells = json.loads(page.read_text())["cells"]
    outputs = [o.get("data", {}) for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
    shown = " ".join("".join(d.get("text/html", "")) + "".join(d.get("text/markdown", "")) for d in outputs)
    for t in have:
        assert f"<caption>{TABLE_TITLES[t]}</caption>" in shown, t
    for t in none:
        assert f"<caption>{TABLE_TITLES[t]}</caption>" not in shown and TABLE_TITLES[t] in shown, t
    assert none and "Not run here" in shown
    source = " ".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "MS-SSIM reads" in source and "metric_validation" in source
