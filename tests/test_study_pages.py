"""One book page per study (pipeline.study_pages): two small executed chapters made here with nbformat, combined
into one page; the book's pages are the ones its chapters give."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from markdown_it import MarkdownIt

from spectral_collapse.pipeline.study_pages import (PAGE_KEY, chapter_paths, chapters_by_page, combine,
                                                    demote_headings, page_files)

ROOT = Path(__file__).resolve().parents[1]


def _glue(name: str, value: str):
    """A display output as myst-nb's glue(name, value, display=False) writes it."""
    return nbformat.v4.new_output("display_data", data={"application/papermill.record/text/plain": repr(value)},
                                  metadata={"scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}})


def chapter(dataset: str, answer: str, profile: str = "quick") -> nbformat.NotebookNode:
    """An executed chapter as the pipeline writes one: the title with the dataset appended, the parameter cells,
    a hidden cell that glues a value, the answer (a Markdown output), then sections with headings."""
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [md(f"# Pareto sweep: {dataset}\n\nWhat the paper claims."),
             code('dataset = "ihc-sr"'), code(f'dataset = "{dataset}"'),
             code("answers = Answers(...)", outputs=[_glue("n_grid", "12")]),
             code("answers.markdown(...)", outputs=[nbformat.v4.new_output(
                 "execute_result", data={"text/markdown": answer, "text/plain": answer}, execution_count=2)]),
             md("## Evidence\n\n```python\n# a comment, not a heading\n```\n\nSub\n---\n\n"
                "Over {glue:text}`n_grid` points ({glue:}`studies/cost::n`)\n```{glue:figure} chart\n```"),
             code("table(ds)", outputs=[nbformat.v4.new_output(
                 "display_data", data={"text/markdown": "### Per model\n\nrows", "text/plain": "rows"})])]
    cells[1].metadata["tags"] = ["parameters", "remove-cell"]
    cells[2].metadata["tags"] = ["injected-parameters", "remove-cell"]
    for i, cell in enumerate(cells):
        cell.id = f"c{i}"    # the same ids in both chapters: they come from one source notebook
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                        "display_name": "Python 3"}})
    nb.metadata["spectral_collapse"] = {"params": {"dataset": dataset, "profile": profile}}
    nbformat.validate(nb)
    return nb


def _write(folder: Path, name: str, nb) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")
    return folder / f"{name}.ipynb"


def _levels(text: str) -> list[int]:
    return [int(t.tag[1]) for t in MarkdownIt("commonmark").parse(text) if t.type == "heading_open"]


def test_demote_headings_moves_each_heading_one_level_and_leaves_code_alone():
    text = "# A\n\n```\n# code\n```\n\n###### F\n\nSet\n===\n\n  ## Indented"
    out = demote_headings(text)
    assert _levels(text) == [1, 6, 1, 2] and _levels(out) == [2, 6, 2, 3]
    assert "# code" in out.split("```")[1] and "## Set" in out and "Set\n===" not in out


def test_two_chapters_make_one_page_answers_first_then_a_section_each(tmp_path):
    folder = tmp_path / "studies"
    # written in the other order, so the page's order is the registry's (ihc-sr, ihc-edges), not the file names'
    _write(folder, "pareto-ihc-edges", chapter("ihc-edges", "**Answer.** Edges:\nyes.\n\nWhy, on edges."))
    _write(folder, "pareto-ihc-sr", chapter("ihc-sr", "**Answer.** SR: no.\n\n- why\n- on SR"))
    pages = chapters_by_page(folder)
    assert [c.dataset for c in pages["pareto"]] == ["ihc-sr", "ihc-edges"]
    page = nbformat.reads(page_files(folder)[folder / "pareto.ipynb"].decode(), as_version=4)
    nbformat.validate(page)
    ids = [c.id for c in page.cells]
    assert len(ids) == len(set(ids))
    shown = [c.source if c.cell_type == "markdown" else c.outputs[0]["data"].get("text/markdown", "")
             for c in page.cells if c.cell_type == "markdown" or c.outputs]
    # the title once, without a dataset; the answers before any section, each under its dataset in bold
    assert shown[0] == "# Pareto sweep\n\nWhat the paper claims."
    # (an answer's first paragraph; the rest of its Markdown opens its dataset's section)
    assert shown[1:5] == ["**ihc-sr**", "**Answer.** SR: no.", "**ihc-edges**", "**Answer.** Edges:\nyes."]
    sections = [s for s in shown if "## ihc-" in s]
    assert sections == ["(pareto-ihc-sr)=\n## ihc-sr", "(pareto-ihc-edges)=\n## ihc-edges"]
    at = [shown.index(s) for s in sections]
    assert 4 < at[0] < shown.index("- why\n- on SR") < at[1] < shown.index("Why, on edges.")
    # every heading of a chapter one level down, in Markdown cells and Markdown outputs; the title alone is level 1
    levels = [lv for s in shown for lv in _levels(s)]
    assert levels == [1, 2, 3, 3, 4, 2, 3, 3, 4]
    # no parameter cell, no answer twice, and every glued name once, prefixed with its dataset
    assert not any(c.source.startswith("dataset =") for c in page.cells)
    assert sum("SR: no." in s for s in shown) == 1
    glued = [o.metadata["scrapbook"]["name"] for c in page.cells for o in c.get("outputs", [])
             if "scrapbook" in o.get("metadata", {})]
    assert glued == ["ihc-sr.n_grid", "ihc-edges.n_grid"]
    # and the Markdown that quotes a glued name of its own page quotes the prefixed one; another page's, as it was
    quoted = [s for s in shown if "Over {glue" in s]
    assert len(quoted) == 2 and "Over {glue:text}`ihc-edges.n_grid` points ({glue:}`studies/cost::n`)" in quoted[1]
    assert "```{glue:figure} ihc-sr.chart\n" in quoted[0]
    assert page.metadata["spectral_collapse"][PAGE_KEY] == ["pareto-ihc-sr", "pareto-ihc-edges"]
    assert page.metadata["kernelspec"]["name"] == "python3"


def test_a_one_dataset_study_keeps_its_chapter_as_its_page_and_pages_are_not_chapters(tmp_path):
    folder = tmp_path / "studies"
    one = _write(folder, "cost-ihc-sr", chapter("ihc-sr", "**Answer.** x"))
    _write(folder, "pareto-ihc-sr", chapter("ihc-sr", "a"))
    _write(folder, "pareto-ihc-edges", chapter("ihc-edges", "b"))
    _write(folder, "pareto-ihc-sr-smoke", chapter("ihc-sr", "c", profile="smoke"))
    files = page_files(folder)
    assert sorted(p.name for p in files) == ["cost.ipynb", "pareto-smoke.ipynb", "pareto.ipynb"]
    assert files[folder / "cost.ipynb"] == one.read_bytes()
    for path, data in files.items():
        path.write_bytes(data)
    # the pages written beside the chapters are not read as chapters: the same pages again, the same chapters
    assert page_files(folder) == files
    assert [p.name for p in chapter_paths(folder)] == [
        "cost-ihc-sr.ipynb", "pareto-ihc-edges.ipynb", "pareto-ihc-sr-smoke.ipynb", "pareto-ihc-sr.ipynb"]


def test_a_one_dataset_page_drops_the_dataset_from_its_title_only_when_its_first_screen_names_it(tmp_path):
    """"# Pareto sweep: ihc-sr" becomes "# Pareto sweep" on the page when the answer says "on ihc-sr"; a model key
    such as ihc-sr-x4-eps does not name the dataset, nor does text below the first screen."""
    from spectral_collapse.pipeline.study_pages import FIRST_SCREEN, names_dataset

    folder = tmp_path / "studies"
    _write(folder, "cost-ihc-sr", chapter("ihc-sr", "**Answer.** It holds on ihc-sr."))
    _write(folder, "velocity-ihc-sr", chapter("ihc-sr", "**Answer.** Model ihc-sr-x4-eps holds."))
    files = page_files(folder)
    titled = nbformat.reads(files[folder / "cost.ipynb"].decode(), as_version=4)
    assert titled.cells[0].source.startswith("# Pareto sweep\n\nWhat the paper claims.")
    assert titled.cells[1:] == nbformat.read(folder / "cost-ihc-sr.ipynb", as_version=4).cells[1:]
    assert files[folder / "velocity.ipynb"] == (folder / "velocity-ihc-sr.ipynb").read_bytes()
    late = chapter("ihc-sr", "x" * FIRST_SCREEN + " on ihc-sr")
    assert not names_dataset(late, "ihc-sr") and names_dataset(chapter("ihc-sr", "on ihc-sr"), "ihc-sr")


def test_a_page_of_a_study_that_stores_no_results_drops_the_dataset_from_its_title(tmp_path):
    """The benchmarks page reads the benchmark records whatever its dataset: its title does not name one."""
    from spectral_collapse.studies.registry import STUDIES

    folder = tmp_path / "studies"
    _write(folder, "benchmarks-ihc-sr", chapter("ihc-sr", "**Answer.** A run costs this much."))
    _write(folder, "velocity-ihc-sr", chapter("ihc-sr", "**Answer.** A run costs this much."))
    files = page_files(folder)
    assert STUDIES["benchmarks"].run is None and STUDIES["velocity"].run is not None
    titled = nbformat.reads(files[folder / "benchmarks.ipynb"].decode(), as_version=4)
    assert titled.cells[0].source.startswith("# Pareto sweep\n")
    assert files[folder / "velocity.ipynb"] == (folder / "velocity-ihc-sr.ipynb").read_bytes()


def test_a_report_chapter_is_titled_as_its_study_and_names_its_data_once(tmp_path):
    """A report's chapter: "# Pareto sweep: folder:/x/mine (smoke)" reads "# Pareto sweep", the data named under it
    unless the first screen names it; a second run changes nothing."""
    from spectral_collapse.pipeline.study_pages import study_titled

    data = "folder:/x/mine"
    nb = chapter(data, "**Answer.** x")
    nb.cells[0].source = f"# Pareto sweep: {data} (smoke)\n\nWhat the paper claims."
    path = _write(tmp_path, "pareto-folder-mine-0a1b", nb)
    study_titled(path, data, "smoke")
    once = path.read_bytes()
    assert nbformat.reads(once.decode(), as_version=4).cells[0].source == (
        f"# Pareto sweep\n\nYour data: `{data}`.\n\nWhat the paper claims.")
    study_titled(path, data, "smoke")
    assert path.read_bytes() == once
    named = chapter(data, f"**Answer.** On {data} it holds.")
    path = _write(tmp_path, "cost-folder-mine-0a1b", named)
    study_titled(path, data, "quick")
    assert nbformat.read(path, as_version=4).cells[0].source == "# Pareto sweep\n\nWhat the paper claims."


def test_a_chapter_without_a_title_is_named():
    nb = chapter("ihc-sr", "a")
    nb.cells[0].source = "No heading here."
    from spectral_collapse.pipeline.study_pages import Chapter

    with pytest.raises(ValueError, match=r"pareto-ihc-sr\.ipynb: no level-1 heading"):
        combine([(Chapter("pareto-ihc-sr", "pareto", "ihc-sr", "quick", Path("pareto-ihc-sr.ipynb")), nb)])


def test_an_unreadable_file_is_named_with_what_to_do(tmp_path):
    (tmp_path / "pareto-ihc-sr.ipynb").write_text("{ half a notebook")
    with pytest.raises(ValueError, match=r"pareto-ihc-sr\.ipynb is not a readable notebook .*--study pareto"):
        chapters_by_page(tmp_path)


def test_the_book_lists_one_page_per_study_and_the_build_writes_each_page():
    """The toc lists each study's page, never a chapter; the pages are not committed: the book's Sphinx extension
    (pipeline.sphinx_pages) writes every page the toc lists from the committed chapters before the toc is read;
    every study that ran on two datasets has one page."""
    import subprocess

    folder = ROOT / "book" / "studies"
    files = page_files(folder)
    toc = (ROOT / "_toc.yml").read_text()
    for path in chapter_paths(folder):
        assert f"file: studies/{path.stem}\n" not in toc, f"{path.name} is a chapter; the toc lists its page"
    for path in files:
        assert f"file: studies/{path.stem}\n" in toc
        ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT).returncode == 0
        assert ignored, f"{path.name} is build output: .gitignore must leave it out"
    assert "spectral_collapse.pipeline.sphinx_pages" in (ROOT / "_config.yml").read_text()
    two = {p.stem for p, data in files.items() if len(json.loads(data)["metadata"]["spectral_collapse"].get(
        PAGE_KEY, [])) == 2}
    assert {"main_results", "pareto", "velocity"} <= two


def test_the_extension_writes_only_the_pages_the_toc_lists(tmp_path):
    """A book whose toc lists the page gets it written (and rewritten when stale); one whose toc lists the chapters
    themselves (a report book) gets no page."""
    from spectral_collapse.pipeline.sphinx_pages import listed_docs, write_listed_pages

    studies = tmp_path / "studies"
    for ds in ("ihc-sr", "ihc-edges"):
        _write(studies, f"pareto-{ds}", chapter(ds, f"Answer for {ds}."))
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: studies/pareto-ihc-sr\n")
    assert listed_docs(tmp_path / "_toc.yml") == {"intro", "studies/pareto-ihc-sr"}
    assert write_listed_pages(tmp_path) == [] and not (studies / "pareto.ipynb").exists()
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: studies/pareto\n")
    assert write_listed_pages(tmp_path) == [studies / "pareto.ipynb"]
    page = nbformat.read(studies / "pareto.ipynb", as_version=4)
    assert [c for c in page.cells if "Answer for ihc-edges." in json.dumps(c)]
    assert write_listed_pages(tmp_path) == []   # current: left alone
    page.cells.append(nbformat.v4.new_markdown_cell("from an older chapter"))   # stale
    nbformat.write(page, studies / "pareto.ipynb")
    assert write_listed_pages(tmp_path) == [studies / "pareto.ipynb"]
    assert "from an older chapter" not in (studies / "pareto.ipynb").read_text()
