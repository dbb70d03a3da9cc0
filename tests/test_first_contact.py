"""Hostile-user probes of first contact: what a newcomer reads first (the Pareto chapter's grid table, the main
results' words where a data set has no block grid, ``make lab``'s output, a notebook whose data is not prepared, the
README). Each is a ``@probe`` of the record (tests/probes.py)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from probes import probe

ROOT = Path(__file__).resolve().parents[1]


@probe("unclear", "the Pareto chapter's grid table (61 rows by 15 columns, values such as `156795.5010`)",
       "the chosen points and the fronts in the columns that fit the text column, each number to 4 significant digits; "
       "every point and column behind a collapsed block")
def test_the_pareto_grid_shows_the_chosen_points_and_fronts_readably():
    from spectral_collapse.studies.pareto_choice import readable_grid

    table = pd.DataFrame({"OVG variant": ["OVG"] * 4, "KID_wav": [156795.50104, 0.0123456, float("nan"), 13.7312],
                          "on its variant's S_HF / S_LF front": ["yes", "", "", ""], "chosen": ["", "yes", "", ""]})
    shown = readable_grid(table)
    assert shown["KID_wav"].tolist() == ["156800", "0.01235"]   # the two marked rows, 4 significant digits
    assert readable_grid(table, every=True)["KID_wav"].tolist() == ["156800", "0.01235", "—", "13.73"]
    import xarray as xr

    import table_rule
    from spectral_collapse.studies.pareto import grid_table
    from test_table_widths import frame_chars

    with xr.open_dataset(STORED_SWEEP) as ds:   # the stored sweep's 15 columns: the subset fits the text column
        grid = grid_table(ds)
    assert grid.shape[1] == 15 and frame_chars(readable_grid(grid)) <= table_rule.TABLE_CHARS < frame_chars(grid)
    nb = json.loads((ROOT / "notebooks" / "pareto.ipynb").read_text())
    full = [c for c in nb["cells"] if "readable_grid(grid, every=True)" in "".join(c["source"])]
    assert full and "hide-output" in full[0]["metadata"]["tags"]   # the whole grid collapsed under the subset


@probe("unclear", "ihc-edges main results: \"the summed drift changes n/a (no block grid) times more\"",
       "a sentence in words where the data set has no block grid")
def test_the_block_edge_sentence_is_words_where_there_is_no_grid():
    nb = json.loads((ROOT / "notebooks" / "main_results.ipynb").read_text())
    import ast

    from jinja2 import Environment, meta

    from spectral_collapse.pipeline.answers import fill

    src = next("".join(c["source"]) for c in nb["cells"] if "{% if has_block_grid %}" in "".join(c["source"]))
    text = ast.literal_eval(src[len("answers.markdown("):-1])
    values = {n: f"<{n}>" for n in meta.find_undeclared_variables(Environment().parse(text))}
    no_grid = fill(text, {**values, "has_block_grid": False, "has_oracle_drift": True})
    assert "no block edges to compare" in no_grid and "<block_edge_ratio>" not in no_grid
    assert "<block_edge_ratio> times" in fill(text, {**values, "has_block_grid": True})


@probe("unclear", "`make lab` (about 300 lines of pip output before the lab's URL)",
       "the installs run quietly; the lines a user reads name notebooks/ and the URL")
def test_make_lab_installs_quietly():
    if shutil.which("make") is None:
        pytest.skip("make not installed")
    out = subprocess.run(["make", "-n", "-B", "lab"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    installs = [line for line in out.splitlines() if "pip install" in line]
    assert installs and all("--quiet" in line for line in installs), installs
    assert any("notebooks/" in line and "URL" in line for line in out.splitlines() if line.startswith("echo"))


@probe("late", "`papermill notebooks/pareto.ipynb out.ipynb -p dataset edges2shoes` (60 lines of traceback, ending "
       "with a different fix)", "the message with one fix, spelled with the running interpreter, and no traceback "
       "in the notebook's error nor on the terminal (papermill's own)")
def test_a_data_set_to_prepare_shows_one_fix_and_no_traceback():
    import sys

    from spectral_collapse.data.download import not_prepared
    from spectral_collapse.pipeline import notebook

    try:
        raise not_prepared("edges2shoes", ROOT / "data" / "raw" / "edges2shoes", Path("/x/prepared.json"))
    except Exception as err:  # noqa: BLE001 - what open_study catches
        shown = notebook.message_first(err)._render_traceback_()
    text = "\n".join(shown)
    fixes = re.findall(r"(\S+) -m spectral_collapse(?:\.cli)? download edges2shoes", text)
    assert fixes == [notebook.interpreter()] and Path(fixes[0]).resolve() == Path(sys.executable).resolve()
    assert "Traceback" not in text and "load_dataset" not in text and "-p dataset ihc-edges" in text


def _papermill_error(traceback_lines, ename="DatasetNotPreparedError",
                     evalue="the edges2shoes dataset is not prepared"):
    from papermill.exceptions import PapermillExecutionError

    return PapermillExecutionError(cell_index=3, exec_count=3, source="ds = open_study(...)", ename=ename,
                                   evalue=evalue, traceback=traceback_lines)


def test_the_papermill_command_ends_a_study_error_with_its_message_and_no_papermill_traceback(capsys):
    """Papermill loads the suite's engine (entry point); its hook prints a message-first study error as the cell
    showed it and hands every other error (IPython's usual traceback, any other exception) to the hook before it."""
    from importlib.metadata import entry_points

    from spectral_collapse.pipeline import papermill_engine as pe

    assert "spectral_collapse" in {e.name for e in entry_points(group="papermill.engine")}
    assert pe._is_papermill_command("/x/.venv/bin/papermill", ["/x/python", "/x/.venv/bin/papermill"])
    assert pe._is_papermill_command("-m", ["python", "-m", "papermill", "a.ipynb"])
    assert not pe._is_papermill_command("/x/bin/pytest", ["python", "-m", "pytest", "papermill"])
    passed = []
    ours = _papermill_error(["\x1b[0;31mDatasetNotPreparedError\x1b[0m: the edges2shoes dataset is not prepared"])
    pe.report_study_error(type(ours), ours, None, previous=lambda *a: passed.append(a))
    err = capsys.readouterr().err
    assert not passed and "cell [3]" in err and "DatasetNotPreparedError: the edges2shoes" in err
    assert "Traceback" not in err and "\x1b" not in err
    ipython = _papermill_error(["-" * 75, "ValueError  Traceback (most recent call last)", "Cell In[3], line 1"],
                               ename="ValueError", evalue="bad")
    for other in (ipython, KeyError("x")):
        pe.report_study_error(type(other), other, None, previous=lambda *a: passed.append(a))
    assert len(passed) == 2 and passed[0][1] is ipython and isinstance(passed[1][1], KeyError)
    assert capsys.readouterr().err == ""
    from papermill.engines import NBClientEngine, papermill_engines

    assert papermill_engines.get_engine("spectral_collapse").execute_notebook == NBClientEngine.execute_notebook


@probe("unclear", "the README: three test times, `models/ ... quality.py`, a pyflakes wheel at the root",
       "one measured test time naming where it was measured; quality.py under framework/; no wheel")
def test_the_readme_says_one_test_time_and_where_files_are():
    readme, makefile = (ROOT / "README.md").read_text(), (ROOT / "Makefile").read_text()
    costs = (ROOT / "notebooks" / "benchmarks.ipynb").read_text()
    assert "command_markdown(here)" in costs   # the time, on the cost page, read from the records
    for text in (readme, makefile):   # and only there: the README and the Makefile point to it
        times = re.findall(r"(?:about|at most) \d+ min|\d+ min \d+ s", text.split("## Where the book")[0])
        assert times == [] and "notebooks/benchmarks.ipynb" in text, times
    layout = readme.split("## What is where")[1]
    assert (ROOT / "src" / "spectral_collapse" / "framework" / "quality.py").is_file()
    assert "quality.py" not in next(line for line in layout.splitlines() if line.strip().startswith("models/"))
    assert "quality.py" in layout.split("framework/")[1].split("studies/")[0]
    rooms = [p.name for p in (ROOT / "src" / "spectral_collapse").iterdir() if (p / "__init__.py").is_file()]
    assert [r for r in rooms if f"  {r}/" not in layout] == []   # every subpackage has its line
    assert not list(ROOT.glob("*.whl"))


TEXT_COLUMN_PX = 752   # the book's text column at a 1280 px window (tests/test_table_widths.py)
STORED_SWEEP = ROOT / "data" / "results" / "pareto" / "ihc-sr-quick.nc"


@probe("unclear", "the Pareto chapter's heat maps (cell labels about 6 px high once fitted to the text column)",
       "the chart is as wide as the text column holds, its cell labels 12 px")
def test_the_grid_heat_maps_fit_the_text_column_at_a_readable_size():
    import vl_convert as vlc

    from spectral_collapse.plotting.labels import reader_spec
    from spectral_collapse.plotting.pareto import grid_heatmaps
    from spectral_collapse.framework.store import load_results

    chart = grid_heatmaps(load_results(STORED_SWEEP), metrics=("kid_wav", "delta_log_e_hf_chroma_ref", "s_lf"))
    spec = chart.to_dict()
    width = float(re.search(r'<svg[^>]*\swidth="([\d.]+)"', vlc.vegalite_to_svg(reader_spec(spec)))[1])

    def text_marks(node):  # the cell labels: every text mark of the nested spec
        if isinstance(node, dict):
            mark = node.get("mark")
            yield from ([mark] if isinstance(mark, dict) and mark.get("type") == "text" else [])
            for v in node.values():
                yield from text_marks(v)
        elif isinstance(node, list):
            for v in node:
                yield from text_marks(v)

    sizes = [m.get("fontSize", 11) for m in text_marks(spec)]
    shown = min(sizes) * min(1.0, TEXT_COLUMN_PX / width)   # as the browser scales a wider chart down
    assert sizes and shown >= 11, (width, shown)


def _label_boxes(spec: dict) -> tuple[list, list]:
    """(name, box in pixels) of each text layer of a Pareto chart and the (x, y, radius) of each point marker, from
    the spec's own domains, size and mark properties (0.6 em a character, 1 em high)."""
    import numpy as np

    w, h = spec["width"], spec["height"]
    xdom = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    ydom = spec["layer"][0]["encoding"]["y"]["scale"]["domain"]
    px = lambda x, y: ((x - xdom[0]) / (xdom[1] - xdom[0]) * w, h - (y - ydom[0]) / (ydom[1] - ydom[0]) * h)  # noqa
    rows = lambda layer: spec["datasets"][layer["data"]["name"]]  # noqa: E731
    boxes, marks = [], []
    for layer in spec["layer"]:
        mark = layer.get("mark", {})
        if mark.get("type") == "point":
            r = np.sqrt(mark["size"] / 1.3 / np.pi)
            marks += [(*px(p["s_hf"], p["s_lf"]), r) for p in rows(layer)]
        if mark.get("type") == "text":
            size = mark.get("fontSize", 11)
            for p in rows(layer):
                x, y = px(p["s_hf"], p["s_lf"])
                tw = 0.6 * size * len(p["name"])
                left = x + mark.get("dx", 0) - {"left": 0, "center": tw / 2, "right": tw}[mark.get("align", "center")]
                top = y + mark.get("dy", 0) - {"top": 0, "middle": size / 2, "bottom": size}[
                    mark.get("baseline", "middle")]
                boxes.append((p["name"], (left, top, left + tw, top + size)))
    return boxes, marks


@probe("unclear", "the Pareto chart's EDM and TABA names drawn on the markers of the grid",
       "each baseline's name beside its diamond on a spot free of markers")
def test_the_pareto_charts_baseline_names_sit_off_the_markers():
    from spectral_collapse.plotting.pareto import pareto_chart
    from spectral_collapse.framework.store import load_results

    boxes, marks = _label_boxes(pareto_chart(load_results(STORED_SWEEP)).to_dict())
    assert {name for name, _ in boxes} >= {"EDM", "TABA", "DDIM"}
    for name, (x0, y0, x1, y1) in boxes:
        hit = [(round(x), round(y)) for x, y, r in marks if x0 - r < x < x1 + r and y0 - r < y < y1 + r]
        assert not hit, f"{name} is drawn over the markers at {hit}"
