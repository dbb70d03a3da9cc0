"""The notebooks in notebooks/ are the source a researcher edits: committed without outputs, one `parameters` cell
that papermill parses, exactly the parameters the registry declares for the study, and a saved edit (as
JupyterLab writes it) passes every check and makes the orchestrator run the chapter again."""
from __future__ import annotations

import ast
import json
import logging
from pathlib import Path

import nbformat
import pytest

from spectral_collapse.studies import registry

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
COMMON = {"dataset", "profile"}
STORED = {"results_root", "rerun"}  # studies that store results also take these


def _parameters_cell(nb: Path) -> str:
    cells = [c for c in json.loads(nb.read_text())["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{nb.name}: expected one cell tagged 'parameters', found {len(cells)}"
    return "".join(cells[0]["source"])


def _defaults(nb: Path) -> dict:
    """name -> value of every assignment in the parameters cell (literals only)."""
    return {t.id: ast.literal_eval(node.value) for node in ast.parse(_parameters_cell(nb)).body
            if isinstance(node, ast.Assign) for t in node.targets}


def expected_parameters(study: str) -> set[str]:
    s = registry.get_study(study)
    return COMMON | set(s.params) | (STORED if s.run is not None else set())


def check_notebook(nb: Path) -> None:
    """Every rule for a committed notebook; raises AssertionError naming the notebook and the rule."""
    raw = json.loads(nb.read_text())
    node = nbformat.reads(nb.read_text(), as_version=4)
    nbformat.validate(node)
    ids = [c.get("id") for c in raw["cells"]]   # nbformat.reads makes up missing ids, so read them raw
    assert None not in ids and len(set(ids)) == len(ids), (
        f"{nb.name}: cell {ids.index(None) if None in ids else 'ids'} needs a unique id (nbformat 4.5; "
        f"nbformat.validator.normalize adds them, JupyterLab on save)")
    for i, c in enumerate(raw["cells"]):
        if c["cell_type"] == "code":
            assert c.get("outputs") == [] and c.get("execution_count") is None, (
                f"{nb.name}: cell {i} has outputs or an execution count; clear them before committing "
                f"(JupyterLab: Edit > Clear Outputs of All Cells, then save)")
    assert raw["metadata"].get("kernelspec", {}).get("name") == "python3", f"{nb.name}: kernelspec is not python3"
    first = raw["cells"][0]
    assert first["cell_type"] == "markdown" and "".join(first["source"]).startswith("# "), \
        f"{nb.name}: the first cell must be the markdown title '# ...'"
    assert "{dataset}" not in "".join(first["source"]), f"{nb.name}: the orchestrator appends the dataset to the title"
    params = set(_defaults(nb))
    want = expected_parameters(nb.stem)
    assert params == want, (f"{nb.name}: parameters {sorted(params)} differ from the registry's "
                            f"{sorted(want)} (missing {sorted(want - params)}, extra {sorted(params - want)})")
    defaults = _defaults(nb)
    knobs = {k: v for k, v in defaults.items() if k not in COMMON | STORED}
    spec = registry.study_spec(nb.stem, dataset=defaults["dataset"], profile=defaults["profile"], **knobs)
    plain = registry.study_spec(nb.stem, dataset=defaults["dataset"], profile=defaults["profile"])
    differ = [k for k in knobs if spec.get(k) != plain.get(k)]
    assert not differ, (f"{nb.name}: the parameters cell's defaults of {differ} are not the registry's "
                        f"({ {k: plain.get(k) for k in differ} }): a run by hand would store other results")
    if registry.get_study(nb.stem).run is not None:   # the study's knobs reach it: open_study(..., knob=knob, ...)
        code = "".join("".join(c["source"]) for c in raw["cells"] if c["cell_type"] == "code")
        call = code[code.index("open_study("):]
        call = call[:call.index(")") + 1]
        lost = sorted(k for k in want - COMMON if f"{k}={k}" not in call)
        assert not lost, f"{nb.name}: open_study does not receive {lost}, so -p {lost[0]} ... would change nothing"


def test_every_registered_study_has_a_notebook_and_every_notebook_a_study():
    assert len(NOTEBOOKS) >= 10
    assert sorted(nb.stem for nb in NOTEBOOKS) == sorted(registry.STUDIES)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean_with_the_registrys_parameters(nb):
    check_notebook(nb)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_parses_every_parameter_line(nb, caplog):
    """papermill's own parser returns every assigned name (a comment holding '=' makes it drop the line)."""
    from papermill.translators import PythonTranslator

    src = _parameters_cell(nb)
    assigned = [t.id for node in ast.parse(src).body if isinstance(node, ast.Assign) for t in node.targets]
    with caplog.at_level(logging.WARNING):
        parsed = [p.name for p in PythonTranslator.inspect({"source": src})]
    assert parsed == assigned, caplog.text
    assert {"dataset", "profile"} <= set(parsed)
    assert "Unable to parse" not in caplog.text


def test_a_saved_edit_passes_the_checks_and_runs_at_the_next_build(tmp_path):
    """Edit a notebook as a researcher would (a sentence, a new chart cell, the parameters' comments), save it
    the way Jupyter does, and nothing breaks: the checks pass, and the chapter becomes stale so `make book` runs it."""
    from nbformat.v4 import new_code_cell

    from spectral_collapse.pipeline.chapters import record_inputs
    from spectral_collapse.pipeline.execute import chapter_inputs, chapter_params, run_reason

    study, results = "benchmarks", "data/results"
    src = tmp_path / "notebooks" / f"{study}.ipynb"
    src.parent.mkdir(parents=True)
    src.write_bytes((ROOT / "notebooks" / f"{study}.ipynb").read_bytes())
    out = tmp_path / "book" / "studies" / f"{study}-ihc-sr.ipynb"
    out.parent.mkdir(parents=True)
    chapter = nbformat.read(str(src), as_version=4)
    record_inputs(chapter, chapter_inputs(study, "ihc-sr", "quick", root=tmp_path, results_root=results), tmp_path)
    chapter.metadata["spectral_collapse"]["params"] = chapter_params(study, "ihc-sr", "quick", results, None)
    nbformat.write(chapter, str(out))
    assert run_reason(study, "ihc-sr", "quick", root=tmp_path, results_root=results) is None

    nb = nbformat.read(str(src), as_version=4)
    nb.cells[0].source += "\n\nA sentence added in JupyterLab."
    nb.cells.append(new_code_cell("display(Markdown('a new table'))", metadata={"tags": ["remove-input"]}))
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source = params.source.replace("# only names the page", "# names the page only")
    nbformat.write(nb, str(src))  # what Jupyter's save does (nbformat, indent 1, new cell ids)
    check_notebook(src)
    assert run_reason(study, "ihc-sr", "quick", root=tmp_path, results_root=results) == "notebooks/benchmarks.ipynb changed"


def test_parameters_table_shows_knobs_defaults_and_resolved_inputs():
    from spectral_collapse.pipeline.parameters import parameters_table

    spec = registry.study_spec("main_results", dataset="ihc-sr", profile="quick", seeds="[0, 1]").with_inputs(
        pareto={"eta_hf": 0.3, "eta_lf": 0.05, "source": "Pareto sweep (maximin)"})
    table = parameters_table(json.loads(spec.to_json()))
    lines = table.splitlines()
    assert lines[:4] == ["| parameter | value | set by |", "|---|---|---|", "| dataset | ihc-sr | given for this chapter |",
                         "| profile | quick | given for this chapter |"]
    assert "| seeds | 0, 1 | given for this chapter |" in lines
    assert "| methods | the study's default set | the default |" in lines   # the registry's description
    from spectral_collapse.text import step_size  # step sizes in the book's one form
    assert f"| from pareto | eta_hf = {step_size(0.3)}; eta_lf = {step_size(0.05)} | read by the run |" in lines
    key = registry.study_spec("metric_validation").with_inputs(main_results="ab" * 32)
    # another study's results by the first 12 hex digits of their key
    assert "| from main_results | abababababab | read by the run |" in parameters_table(key.to_dict()).splitlines()
    assert parameters_table({"dataset": "a|b", "profile": "quick"}).splitlines()[2] == \
        "| dataset | a\\|b | given for this chapter |"


def test_parameters_table_shows_the_values_a_default_knob_took_in_the_results():
    """A knob left at its default reads the values the results hold (a dimension coordinate, the distinct values of
    a variable, a dimension's size, an attribute), not the word "default"; a per-series coordinate counts its
    distinct values, the N(0, I) reference left out."""
    import numpy as np
    import xarray as xr

    from spectral_collapse.pipeline.parameters import parameters_table

    spec = json.loads(registry.study_spec("main_results", dataset="ihc-sr", profile="quick").to_json())
    ds = xr.Dataset({"psnr": (("method", "seed"), np.zeros((2, 3)))},
                    coords={"method": ["ddim", "ovg"], "seed": [0, 1, 2]})
    lines = parameters_table(spec, ds).splitlines()
    assert "| methods | ddim, ovg | the default |" in lines and "| seeds | 0, 1, 2 | the default |" in lines
    dec = json.loads(registry.study_spec("decorrelation", dataset="ihc-sr", profile="quick").to_json())
    runs = xr.Dataset({"run_steps": ("run", [10, 50, 10, 50]), "run_seed": ("run", [0, 0, 1, 1]),
                       "s_dc": (("method", "latent"), np.zeros((1, 5)))}, coords={"method": ["ddim"]})
    lines = parameters_table(dec, runs).splitlines()
    assert "| steps_grid | 10, 50 | the default |" in lines and "| n_latents | 5 | the default |" in lines
    assert "| seeds | 0, 1 | the default |" in lines
    pca = json.loads(registry.study_spec("pca_collapse", dataset="ihc-sr", profile="quick").to_json())
    series = xr.Dataset(coords={"method": ("series", ["ddim", "ddim", "gaussian"]), "series": [0, 1, 2]})
    assert "| methods | ddim | the default |" in parameters_table(pca, series).splitlines()
    nested = registry.study_spec("main_results", dataset="ihc-sr", profile="quick").with_inputs(
        pareto={"eta_hf": 1e-6, "per_base": {"ovg": {"eta_hf": 1e-6, "eta_lf": 1e-4}, "ovg_edm": {"eta_hf": 1e-7}},
                "source": "sweep"}, data="ebec2d401e0bf416")
    lines = parameters_table(json.loads(nested.to_json())).splitlines()
    row = next(line for line in lines if line.startswith("| from pareto |"))
    assert row == ("| from pareto | eta_hf = 10⁻⁶; per_base = (ovg = (eta_hf = 10⁻⁶; eta_lf = 10⁻⁴); "
                   "ovg_edm = (eta_hf = 10⁻⁷)) | read by the run |")
    assert "| from data | ebec2d401e0b | read by the run |" in lines   # a content signature by its first 12 digits


def test_saving_from_make_lab_clears_outputs_and_kernel_versions():
    """`make lab` runs JupyterLab with strip_outputs as its pre-save hook: what it saves passes the checks."""
    from spectral_collapse.pipeline.notebook import strip_outputs

    nb = json.loads((ROOT / "notebooks" / "benchmarks.ipynb").read_text())
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.11.7", "mimetype": "text/x-python"}
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code.update(outputs=[{"output_type": "stream", "name": "stdout", "text": "x\n"}], execution_count=7)
    code["metadata"]["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    model = {"type": "notebook", "content": nb}
    assert strip_outputs(model=model, path="benchmarks.ipynb", contents_manager=None) is model
    assert code["outputs"] == [] and code["execution_count"] is None and "execution" not in code["metadata"]
    assert nb["metadata"]["language_info"] == {"name": "python"}
    text = {"type": "file", "content": "x"}
    assert strip_outputs(model=text) == {"type": "file", "content": "x"}


def test_misspelled_parameters_are_found_and_a_readers_own_names_left_alone():
    from spectral_collapse.pipeline.notebook import misspelled_parameters

    known = ["dataset", "profile", "seeds", "methods", "results_root", "rerun"]
    assert misspelled_parameters(["datset", "seed", "profile", "rows", "table", "x"], known) == {
        "datset": "dataset", "seed": "seeds"}


def _refused_run(tmp_path, notebook: str, *params: str) -> str:
    """Execute a study notebook on the smoke profile with papermill's command line and extra ``-p`` pairs; it must
    fail before computing anything. Returns the executed notebook's text (where the error is)."""
    import subprocess
    import sys

    out = tmp_path / "out.ipynb"
    proc = subprocess.run([sys.executable, "-m", "papermill", str(ROOT / "notebooks" / f"{notebook}.ipynb"), str(out),
                           "-k", "python3", "--no-progress-bar", *params, "-p", "profile", "smoke",
                           "-p", "results_root", str(tmp_path / "results")], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert proc.returncode != 0
    assert not (tmp_path / "results").exists()  # nothing computed
    return out.read_text()


def test_a_misspelled_papermill_parameter_stops_the_study_before_any_work(tmp_path):
    """-p datset ihc-edges would otherwise run the default dataset without a trace."""
    text = _refused_run(tmp_path, "main_results", "-p", "datset", "ihc-edges")
    assert "unknown parameter of main_results: 'datset' (did you mean 'dataset'?)" in text
    assert ("its parameters: dataset, profile, seeds, methods, data_options, model, models, allow_weak_model, "
            "oracle_arm, results_root, rerun") in text


def test_a_parameter_the_study_does_not_have_stops_it_before_any_work(tmp_path):
    """-p steps 0 on a notebook without a steps parameter would run the defaults with only papermill's warning."""
    text = _refused_run(tmp_path, "velocity", "-p", "steps", "0")
    assert "unknown parameter of velocity: 'steps'; its parameters: dataset, profile, methods" in text


def test_chapter_titles_name_the_dataset_and_a_question_keeps_its_mark():
    """The executed chapter's heading names its dataset (and a profile other than quick); a question is not
    followed by a colon."""
    import nbformat

    from spectral_collapse.pipeline.chapters import title_with_dataset

    def titled(head, profile):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"{head}\n\nText.")])
        assert title_with_dataset(nb, "ihc-sr", profile)
        return nb.cells[0].source.split("\n")[0]

    assert titled("# Main results", "quick") == "# Main results: ihc-sr"
    assert titled("# Main results", "smoke") == "# Main results: ihc-sr (smoke)"
    assert titled("# Are the models good enough?", "quick") == "# Are the models good enough? — ihc-sr"
    assert titled("# Training seeds: how far", "quick") == "# Training seeds: how far — ihc-sr"   # never two colons
    assert not title_with_dataset(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("No heading.")]),
                                  "ihc-sr", "quick")


# The one chapter whose code is its content: it shows a reader the calls that load their own model and data.
SHOWS_CODE = {"your_model"}


@pytest.mark.parametrize("nb", [n for n in NOTEBOOKS if n.stem not in SHOWS_CODE], ids=lambda p: p.stem)
def test_study_chapters_show_results_not_code(nb):
    """Every code cell of a study chapter hides its input (remove-input / remove-cell / hide-input) or is the
    parameters cell, which the orchestrator removes: the book shows what a cell computes, not the call."""
    hidden = {"remove-input", "remove-cell", "hide-input", "parameters"}
    shown = ["".join(c["source"])[:60] for c in json.loads(nb.read_text())["cells"]
             if c["cell_type"] == "code" and not hidden & set(c.get("metadata", {}).get("tags", []))]
    assert not shown, f"{nb.name}: code shown in the chapter: {shown}"


def test_a_hand_runs_files_are_git_ignored_and_the_books_results_are_not():
    """What a hand run of a notebook writes (papermill's output notebook at the repository root, results of a profile
    or dataset the book does not publish, the cell cache, smoke models) is git-ignored; the book's own results
    (ihc-sr / ihc-edges on the quick profile) are not, so `make book` can commit a new study's."""
    import shutil
    import subprocess

    from spectral_collapse.framework.store import results_path

    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    ignored = ["out.ipynb", str(results_path("pareto", "ihc-edges", "smoke")), str(results_path("pareto", "bbbc021",
               "quick")), str(results_path("main_results", "ihc-sr", "paper")), "data/cache/cells/00/x.nc",
               "data/checkpoints/ihc-sr-x4-eps-smoke-0/model.safetensors", "reports/x/book/index.md"]
    kept = [str(results_path("pareto", "ihc-edges", "quick")), str(results_path("new_study", "ihc-sr", "quick")),
            "notebooks/new_study.ipynb", "book/studies/new_study-ihc-sr.ipynb", "data/results/reproducing/x.json"]
    proc = subprocess.run(["git", "check-ignore", "--no-index", *ignored, *kept], cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.stdout.split() == ignored, f"ignored: {proc.stdout.split()}"


def roles_in_code(text: str) -> list[str]:
    """Inline code spans of MyST ``text`` that hold a role (``{glue:text}`...```): MyST never fills a role inside
    code, so the page would show it raw."""
    import re

    return [m for m in re.findall(r"(?<!`)`([^`\n]+)`(?!`)", re.sub(r"\{[\w:-]+\}`[^`\n]*`", "ROLE", text))
            if "ROLE" in m] + re.findall(r"`[^`\n]*\{[\w:-]+\}`[^`\n]*``", text)


def test_a_role_inside_inline_code_is_found():
    assert roles_in_code("with `--jobs {glue:text}`cl_jobs`` (studies") != []
    assert roles_in_code("with `--jobs N`, N = {glue:text}`cl_jobs` (studies") == []


@pytest.mark.parametrize("nb", sorted([*NOTEBOOKS, *(ROOT / "notebooks" / "book").glob("*.ipynb")]),
                         ids=lambda p: p.name)
def test_no_role_sits_inside_inline_code(nb):
    cells = nbformat.read(nb, as_version=4).cells
    assert [r for c in cells if c.cell_type == "markdown" for r in roles_in_code(c.source)] == []


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_no_results_attribute_is_glued_as_a_numpy_scalar(nb):
    """A netCDF attribute reads back as a numpy scalar, whose text is its repr (``np.int64(590)``) under numpy 2:
    an attribute is glued through int / float / str."""
    import re

    code = "\n".join(c.source for c in nbformat.read(nb, as_version=4).cells if c.cell_type == "code")
    assert re.findall(r"glue\([^,]+,\s*ds\.attrs(?:\.get\(|\[)[^)\n]*\)?\s*,", code) == []
    assert re.findall(r"answers\[[^\]]+\]\s*=\s*ds\.attrs(?:\.get\(|\[)[^)\n]*\)?\s*$", code, re.M) == []
