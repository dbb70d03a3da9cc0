"""The message first: an error raised inside a study shows its class and message (and the fix) before any
traceback, under papermill run by hand, under ``python -m spectral_collapse studies`` and under the report's
orchestration; a study's parameters are checked before the kernel imports or loads anything heavy."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from papermill.exceptions import PapermillExecutionError

from probes import probe
from spectral_collapse.pipeline import execute, notebook

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp: Path) -> dict:
    """No prepared real data (an empty data root) and checkpoints in the test's folder."""
    env = {**os.environ, "SPECTRAL_COLLAPSE_DATA": str(tmp / "raw"), "SPECTRAL_COLLAPSE_CHECKPOINTS": str(tmp / "ck")}
    env.pop("PYTEST_CURRENT_TEST", None)   # a kernel under pytest leaves its descriptors uncaptured; a user's does not
    return env


def _above_traceback(text: str) -> list[str]:
    """The lines above the first traceback, without the kernel's own log lines ("[IPKernelApp] WARNING | ...", which
    may come at any moment)."""
    lines = [line for line in text.splitlines() if not line.startswith("[IPKernelApp]")]
    end = next((i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")), len(lines))
    return lines[:end]


@probe("late", "`papermill notebooks/pareto.ipynb out.ipynb -p dataset edges2shoes` without its data",
       "one short message naming `-p dataset ihc-edges` and how to prepare edges2shoes, and no traceback (papermill's "
       "own included): the command ends with the cell it stopped at and the same message")
def test_papermill_by_hand_shows_the_short_message_and_no_traceback(tmp_path):
    cmd = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / "pareto.ipynb"), str(tmp_path / "out.ipynb"),
           "-p", "dataset", "edges2shoes", "-p", "profile", "smoke", "-p", "results_root", str(tmp_path / "results"),
           "--cwd", str(ROOT), "--no-progress-bar"]
    proc = subprocess.run(cmd, env=_env(tmp_path), capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-4000:]
    head = _above_traceback(proc.stdout + proc.stderr)
    start = [i for i, line in enumerate(head) if line.startswith("DatasetNotPreparedError: the edges2shoes dataset "
                                                                 "is not prepared")]
    assert start, proc.stdout + proc.stderr[:4000]
    rest = head[start[0]:]
    stop = next(i for i, line in enumerate(rest) if line.startswith("The notebook stopped at cell [3]"))
    message = rest[:stop]
    assert len(message) <= 5 and rest[stop + 1:stop + 1 + len(message)] == message, rest
    text = "\n".join(message)
    assert "-p dataset ihc-edges" in text and "python -m spectral_collapse download edges2shoes" in text
    assert not (tmp_path / "ck").exists() and not (tmp_path / "results").exists()   # nothing trained or computed
    import nbformat

    error = next(o for c in nbformat.read(str(tmp_path / "out.ipynb"), as_version=4).cells if c.cell_type == "code"
                 for o in c.get("outputs", []) if o.get("output_type") == "error")
    assert error["traceback"][0] == text   # the notebook's own error output starts with the message too


@probe("late", "`python -m spectral_collapse studies` with a study that fails in its notebook",
       "the first line of the error output is the notebook's error class and message")
def test_the_command_prints_a_notebooks_error_first(tmp_path):
    cmd = [sys.executable, "-m", "spectral_collapse", "studies", "--profile", "smoke", "--study", "pareto",
           "--dataset", "edges2shoes", "--results-root", str(tmp_path / "results"), "--book-dir", str(tmp_path / "book")]
    proc = subprocess.run(cmd, env=_env(tmp_path), capture_output=True, text=True, timeout=600, cwd=str(ROOT))
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("error: DatasetNotPreparedError: the edges2shoes dataset is not prepared"), lines[:3]
    assert "-p dataset ihc-edges" in lines[0] and "Traceback" not in proc.stderr   # the traceback behind --debug


def _notebook_error() -> PapermillExecutionError:
    return PapermillExecutionError(2, 3, "open_study(...)", "ValueError", "seeds=-1 must be >= 0",
                                   ["\x1b[0;31mValueError\x1b[0m Traceback (most recent call last)", "Cell In[3]",
                                    "ValueError: seeds=-1 must be >= 0"])


def test_debug_prints_the_message_before_the_notebooks_traceback(monkeypatch, capsys):
    from spectral_collapse import cli

    monkeypatch.setattr(execute, "run_studies", lambda *a, **k: (_ for _ in ()).throw(_notebook_error()))
    assert cli.main(["studies", "--profile", "smoke"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == ["error: ValueError: seeds=-1 must be >= 0 (in a study notebook; --debug shows its traceback)"]
    with pytest.raises(PapermillExecutionError):
        cli.main(["--debug", "studies", "--profile", "smoke"])
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: ValueError: seeds=-1") and err[1] == "ValueError Traceback (most recent call last)"


@probe("late", "a study failing inside `make report` (the other studies run on)",
       "each failure's line (study, error class and message) printed before its traceback")
def test_a_failed_study_is_named_before_its_traceback(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(execute, "execute_study", lambda *a, **k: (_ for _ in ()).throw(_notebook_error()))
    with pytest.raises(execute.StudiesFailed):
        execute.run_studies("smoke", ["pareto"], ["ihc-sr"], root=ROOT, results_root=str(tmp_path), keep_going=True,
                            book_dir=tmp_path / "book")
    err = capsys.readouterr().err.splitlines()
    failed = err.index("pareto / ihc-sr: FAILED (ValueError: seeds=-1 must be >= 0)")
    assert failed < err.index("ValueError Traceback (most recent call last)")


@probe("late", "a bad study parameter given to a notebook (`open_study`)",
       "refused before the kernel sets up charts or loads anything, message first in the notebook's error")
def test_open_study_checks_the_parameters_before_any_work(monkeypatch):
    monkeypatch.setattr(notebook, "setup_notebook", lambda *a, **k: pytest.fail("set up before the check"))
    with pytest.raises(ValueError) as err:
        notebook.open_study("main_results", dataset="ihc-sr", profile="smoke", seeds="[99999999999999999999]")
    shown = err.value._render_traceback_()
    assert shown[0] == "ValueError: seeds=99999999999999999999 is out of range; give a value from 0 up to 4294967295"
    assert any(line.startswith("Traceback (most recent call last)") for line in shown[1:])
