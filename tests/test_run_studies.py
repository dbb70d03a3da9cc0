"""The orchestrator (pipeline.execute, pipeline.graph): a chapter is executed again only when its source notebook,
its results or the results it reads changed (content hashes), so a fresh clone, which writes files in arbitrary
order, re-executes nothing; studies run side by side in the order of what they read."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from spectral_collapse.pipeline.chapters import file_hash, record_inputs, stale_reason
from spectral_collapse.pipeline.execute import execute_study
from spectral_collapse.studies import registry

COUNTER = '''
from pathlib import Path
p = Path(results_root) / "tiny" / f"{dataset}-{profile}.nc"
p.parent.mkdir(parents=True, exist_ok=True)
if not p.exists():
    p.write_text("results")
c = Path(results_root) / "executions.txt"
c.write_text(str(int(c.read_text()) + 1 if c.exists() else 1))
'''


@pytest.fixture
def tiny(monkeypatch):
    """A study "tiny" in the registry (no knobs, stores results, reads nothing); its notebook is in _tiny_repo."""
    study = registry.Study("tiny", "Tiny", {}, run=lambda spec, ctx: None, datasets=("ihc-sr",))
    monkeypatch.setitem(registry.STUDIES, "tiny", study)
    return study


def _tiny_repo(tmp_path: Path, name: str = "tiny", code: str = COUNTER) -> Path:
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = new_code_cell('dataset = "ihc-sr"\nprofile = "smoke"\nresults_root = "data/results"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell("# Tiny\n\nWhat it asks."), params, new_code_cell(code)]
    nbformat.write(nb, str(root / "notebooks" / f"{name}.ipynb"))
    return root


def _age_everything(root: Path, out: Path, seconds: float) -> None:
    """Make the executed notebook older than every other file (what a fresh clone may do)."""
    now = time.time()
    for p in root.rglob("*"):
        if p.is_file():
            os.utime(p, (now, now))
    os.utime(out, (now - seconds, now - seconds))


def test_hashes_not_mtimes_decide_and_changes_reexecute(tmp_path, tiny):
    root = _tiny_repo(tmp_path)
    results = str(tmp_path / "results")
    count = tmp_path / "results" / "executions.txt"
    out = execute_study("tiny", "ihc-sr", "smoke", root=root, results_root=results)
    assert out is not None and count.read_text() == "1"
    assert out.name == "tiny-ihc-sr-smoke.ipynb"
    title = nbformat.read(str(out), as_version=4).cells[0].source
    assert title.startswith("# Tiny: ihc-sr (smoke)\n")  # the executed copy's title names dataset and profile
    assert "# Tiny\n" in (root / "notebooks" / "tiny.ipynb").read_text().replace("\\n", "\n")  # source untouched
    inputs = json.loads(out.read_text())["metadata"]["spectral_collapse"]["inputs"]
    assert inputs["notebooks/tiny.ipynb"] == file_hash(root / "notebooks" / "tiny.ipynb")
    # nothing changed: not executed again, even when every input is newer than the executed notebook
    _age_everything(root, out, 3600)
    assert execute_study("tiny", "ihc-sr", "smoke", root=root, results_root=results) is None
    assert count.read_text() == "1"
    # the source changed: executed again
    src = root / "notebooks" / "tiny.ipynb"
    nb = nbformat.read(str(src), as_version=4)
    nb.cells.append(new_code_cell("x = 1"))
    nbformat.write(nb, str(src))
    assert execute_study("tiny", "ihc-sr", "smoke", root=root, results_root=results) is not None
    assert count.read_text() == "2"
    # the results changed: executed again
    (tmp_path / "results" / "tiny" / "ihc-sr-smoke.nc").write_text("other results")
    assert execute_study("tiny", "ihc-sr", "smoke", root=root, results_root=results) is not None
    assert count.read_text() == "3"


def test_a_chapter_is_stale_when_the_results_it_reads_change(tmp_path, tiny, monkeypatch):
    """A reader's chapter (its numbers depend on what it reads) is executed again when the read results change."""
    from spectral_collapse.pipeline.execute import chapter_inputs, run_reason

    reader = registry.Study("reader", "Reader", {}, run=lambda spec, ctx: None, datasets=("ihc-sr",),
                            reads=("tiny",))
    monkeypatch.setitem(registry.STUDIES, "reader", reader)
    root = _tiny_repo(tmp_path)
    _tiny_repo(tmp_path, "reader", COUNTER.replace('"tiny"', '"reader"'))
    results = str(tmp_path / "results")
    assert [p.name for p in chapter_inputs("reader", "ihc-sr", "smoke", root=root, results_root=results)] == [
        "reader.ipynb", "ihc-sr-smoke.nc", "ihc-sr-smoke.nc"]
    execute_study("tiny", "ihc-sr", "smoke", root=root, results_root=results)
    assert execute_study("reader", "ihc-sr", "smoke", root=root, results_root=results) is not None
    assert run_reason("reader", "ihc-sr", "smoke", root=root, results_root=results) is None
    (tmp_path / "results" / "tiny" / "ihc-sr-smoke.nc").write_text("new choice")
    assert run_reason("reader", "ihc-sr", "smoke", root=root, results_root=results).endswith(
        "results/tiny/ihc-sr-smoke.nc changed")


def test_parameters_are_checked_against_the_registry_before_papermill_starts(tmp_path, tiny, monkeypatch):
    import spectral_collapse.pipeline.execute as execute

    monkeypatch.setattr(execute, "_papermill", lambda *a, **k: pytest.fail("papermill started"))
    root = _tiny_repo(tmp_path)
    with pytest.raises(TypeError, match="tiny has no parameter"):
        execute_study("tiny", "ihc-sr", "smoke", root=root, results_root=str(tmp_path), extra={"bogus": 1})
    with pytest.raises(ValueError, match="valid values: vp, sigma"):
        execute_study("velocity", "ihc-sr", "smoke", root=root, results_root=str(tmp_path), extra={"space": "x"})
    with pytest.raises(ValueError, match="unknown study 'nope'"):
        execute_study("nope", "ihc-sr", "smoke", root=root)
    assert not (root / "book").exists()


def test_studies_that_store_no_results_depend_on_the_files_their_parameters_name(tmp_path):
    from spectral_collapse.pipeline.execute import _params, chapter_inputs

    root = tmp_path
    deps = chapter_inputs("benchmarks", "ihc-sr", "quick", root=root)
    assert sorted(deps) == sorted([root / "notebooks/benchmarks.ipynb", root / "benchmarks/results/main_command.json",
                                   root / "benchmarks/results/latest.json", root / "benchmarks/results/smoke_studies.json"])
    (root / "benchmarks/results").mkdir(parents=True)   # the records beside them count too (the command times)
    (root / "benchmarks/results/commands.json").write_text("{}")
    (root / "benchmarks/results/notes.txt").write_text("")
    assert chapter_inputs("benchmarks", "ihc-sr", "quick", root=root)[4:] == [root / "benchmarks/results/commands.json"]
    deps = chapter_inputs("benchmarks", "ihc-sr", "quick", root=root, extra={"results_file": "x.json"})
    assert root / "x.json" in deps and root / "benchmarks/results/latest.json" not in deps
    assert _params("benchmarks", "ihc-sr", "quick", "data/results", None) == {"dataset": "ihc-sr", "profile": "quick"}
    assert _params("gaussianity", "ihc-sr", "quick", "r", None)["results_root"] == "r"


def test_a_chapter_without_recorded_hashes_is_stale_and_recorded_hashes_decide(tmp_path):
    dep, out = tmp_path / "dep.txt", tmp_path / "out.ipynb"
    dep.write_text("a")
    nb = new_notebook()
    nbformat.write(nb, str(out))
    assert stale_reason(out, [dep]) == "no inputs recorded in the chapter"
    record_inputs(nb, [dep], None)
    nbformat.write(nb, str(out))
    os.utime(dep, (time.time() + 200, time.time() + 200))
    assert stale_reason(out, [dep]) is None                   # hashes recorded: same content is not stale
    dep.write_text("b")
    assert stale_reason(out, [dep]) == "dep.txt changed"
    assert stale_reason(tmp_path / "missing.ipynb", [dep]) == "no chapter yet"


def test_strip_progress_drops_bars_and_keeps_warnings():
    from nbformat.v4 import new_output

    from spectral_collapse.pipeline.chapters import strip_progress

    bars = "".join(f"\rinvert:  {p}%|##        | {p // 2}/50 [00:0{p % 10}<00:10,  2.58s/it]" for p in (0, 2, 4))
    warn = "/x/translation.py:129: RuntimeWarning: 1 of 8 samples became non-finite"
    cell = new_code_cell("x")
    cell.outputs = [new_output("stream", name="stderr", text=bars + "\n" + warn + "\n"),
                    new_output("stream", name="stderr", text="sample: 100%|##########| 50/50 [00:25<00:00, 1.98it/s]\n"),
                    new_output("stream", name="stdout", text="10%| kept: stdout is the study's own text\n")]
    nb = new_notebook(cells=[cell])
    assert strip_progress(nb) == 4
    texts = [o["text"] for o in nb.cells[0].outputs]
    assert texts == [warn + "\n", "10%| kept: stdout is the study's own text\n"]


def test_strip_progress_drops_the_runners_recompute_line_and_keeps_the_rest_of_stdout():
    """A stored result recomputed while a chapter runs prints a log line naming its file: not chapter content."""
    from nbformat.v4 import new_output

    from spectral_collapse.pipeline.chapters import strip_progress

    log = "data/results/velocity/ihc-edges-quick.nc: stored results are stale (changed: inputs.pareto.source); recomputing them"
    cell = new_code_cell("x")
    cell.outputs = [new_output("stream", name="stdout", text=f"{log}\ntable\n\n  row 1\n"),
                    new_output("stream", name="stdout", text=log + "\n"),
                    new_output("stream", name="stdout", text="untouched\n\n")]
    nb = new_notebook(cells=[cell])
    assert strip_progress(nb) == 2
    assert [o["text"] for o in nb.cells[0].outputs] == ["table\n\n  row 1\n", "untouched\n\n"]


def test_committed_quick_chapters_were_run_with_the_profiles_study_parameters():
    """The main command must reproduce the committed book: every quick chapter's injected parameters, beyond
    dataset / profile / results_root, are exactly what `study_params("quick", study)` passes."""
    import ast

    from spectral_collapse.framework.profiles import STUDY_PARAMS, study_params
    from spectral_collapse.pipeline.graph import study_names

    root = Path(__file__).resolve().parents[1]
    seen = set()
    for study in study_names():
        for out in sorted((root / "book" / "studies").glob(f"{study}-ihc-*.ipynb")):
            if out.stem.endswith(("-smoke", "-paper")):
                continue
            nb = nbformat.read(str(out), as_version=4)
            cell = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
            injected = {t.targets[0].id: ast.literal_eval(t.value) for t in ast.parse(cell.source).body}
            extra = {k: v for k, v in injected.items() if k not in ("dataset", "profile", "results_root")}
            assert extra == study_params("quick", study), out.name
            seen.add(study)
    assert set(STUDY_PARAMS["quick"]) <= seen


def test_study_params_rejects_unknown_profile_and_returns_copies():
    import pytest

    from spectral_collapse.framework.profiles import study_params

    with pytest.raises(ValueError, match="valid profiles"):
        study_params("fast", "gaussianity")
    a = study_params("quick", "eps_vs_x0")
    a["factors"].append(8)
    assert 8 not in study_params("quick", "eps_vs_x0")["factors"]
    assert study_params("smoke", "eps_vs_x0") == {}


# ------------------------------------------------------------------ studies side by side (cli studies --jobs N)

PAIRS = [("pareto", "a"), ("pareto", "b"), ("main_results", "a"), ("gaussianity", "a"), ("metric_validation", "a"),
         ("main_results", "b"), ("benchmarks", "a")]


@pytest.fixture(scope="module")
def threads_cluster():
    """A Dask LocalCluster of 2 single-threaded workers in this process (threads, quick to start), each with the
    study slot the studies hold."""
    from spectral_collapse.pipeline.cluster import open_cluster

    with open_cluster("local", 2, 1, processes=False) as client:
        yield client


_LOGS: dict = {}   # the logs of ``_logged``, by name (tasks travel pickled, by reference to this module)


def _logged(name, seconds, fail, pair, *after):
    """A study task that logs ("start", pair, the pairs running then) and ("end", pair), taking ``seconds[pair]``."""
    log, running, lock = _LOGS[name]
    with lock:
        log.append(("start", pair, frozenset(running)))
        running.add(pair)
    time.sleep(seconds.get(pair, 0.05))
    with lock:
        running.discard(pair)
        log.append(("end", pair))
    if pair in fail:
        from spectral_collapse.pipeline.parallel import StudyError
        raise StudyError("ValueError: the study broke", "its traceback")
    return str(pair)


def _logging_task(log, seconds=None, fail=()):
    import functools
    import threading

    name = f"log-{len(_LOGS)}"
    _LOGS[name] = (log, set(), threading.Lock())
    return functools.partial(_logged, name, dict(seconds or {}), set(fail))


def test_side_by_side_respects_what_each_study_reads_and_the_job_limit(threads_cluster):
    from spectral_collapse.pipeline.parallel import run_graph
    from spectral_collapse.pipeline.graph import prerequisites

    log = []
    task = _logging_task(log, {("pareto", "a"): 0.6, ("main_results", "a"): 0.5})
    done = run_graph(threads_cluster, PAIRS, task, resources={"study": 1})
    assert sorted(done) == sorted(PAIRS)
    for i, (kind, pair, *rest) in enumerate(log):
        if kind != "start":
            continue
        assert len(rest[0]) < 2  # never more than 2 at once (one study slot per worker)
        for dep in prerequisites(pair[0]):
            if (dep, pair[1]) in PAIRS:  # a pending prerequisite finished before this one started
                assert log.index(("end", (dep, pair[1]))) < i, (pair, dep)
    starts = [e for e in log if e[0] == "start"]
    assert any(len(others) == 1 for _, _, others in starts)  # two did run side by side
    assert prerequisites("metric_validation") == ("main_results",) and prerequisites("benchmarks") == ()
    assert prerequisites("main_results") == ("pareto",)


def test_side_by_side_skips_what_reads_a_failed_study_and_says_so(threads_cluster, capsys):
    from spectral_collapse.pipeline.parallel import StudiesFailed, run_graph

    log = []
    with pytest.raises(StudiesFailed) as err:
        run_graph(threads_cluster, PAIRS, _logging_task(log, fail={("pareto", "a")}), resources={"study": 1})
    started = {e[1] for e in log if e[0] == "start"}
    assert started == {("pareto", "a"), ("pareto", "b"), ("main_results", "b"), ("benchmarks", "a")}
    assert err.value.skipped == [("main_results", "a"), ("gaussianity", "a"), ("metric_validation", "a")]
    msg = str(err.value)
    assert "pareto/a (ValueError: the study broke)" in msg and "main_results/a, gaussianity/a, metric_validation/a" in msg
    assert "rerun the same command to resume" in msg
    assert "its traceback" in capsys.readouterr().err   # the failed study's own traceback is printed


def test_studies_side_by_side_get_the_knobs_the_serial_run_gets(monkeypatch, tmp_path):
    """Each study task executes its chapter with the knobs that apply to it and the parameters of the command."""
    import contextlib
    from spectral_collapse.pipeline import execute

    calls = []
    monkeypatch.setattr(execute, "run_reason", lambda *a, **k: "no chapter yet")
    monkeypatch.setattr(execute, "execute_study", lambda *a, **k: calls.append((a, k)))
    monkeypatch.setattr(execute, "open_cluster", lambda *a, **k: contextlib.nullcontext(None))
    monkeypatch.setattr(execute, "run_graph", lambda client, pending, task, **kw: [p for p in pending if not task(p)])
    knobs = {"allow_weak_model": True, "data_options": {"task": "sr", "factor": 4}, "model": "/my/pipeline"}
    execute.run_studies("smoke", ["pareto"], ["ihc-sr"], root=tmp_path, jobs=2, knobs=knobs, book_dir=tmp_path / "b")
    (args, kw), = calls
    assert args == ("pareto", "ihc-sr", "smoke") and kw["book_dir"] == tmp_path / "b"
    assert kw["extra"] == {k: v for k, v in knobs.items() if k in registry.get_study("pareto").params}
    assert kw["extra"]["data_options"] == knobs["data_options"]


def test_side_by_side_stops_the_started_studies_when_interrupted(tmp_path):
    """Ctrl-C while two studies run on a LocalCluster of worker processes: the studies not started never start, and
    the worker processes running the others are stopped with the cluster."""
    import _thread
    import threading

    from spectral_collapse.pipeline.cluster import open_cluster
    from spectral_collapse.pipeline.parallel import run_graph

    import signal

    # interrupt_main calls this process's SIGINT handler: another library's (dask-jobqueue's sys.exit) would not raise
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, signal.getsignal(signal.SIGINT)
    folder = str(tmp_path)

    def task(pair, *after):   # a nested function: sent to the workers by value
        import os as os_, time as time_
        from pathlib import Path as Path_
        Path_(folder, f"{pair[0]}-{pair[1]}.pid").write_text(str(os_.getpid()))
        time_.sleep(120)

    def interrupt_when_two_run():   # once both run (a loaded machine starts the cluster's processes slowly)
        deadline = time.time() + 300
        while len(list(tmp_path.glob("*.pid"))) < 2 and time.time() < deadline:
            time.sleep(0.1)
        _thread.interrupt_main()

    threading.Thread(target=interrupt_when_two_run, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        with open_cluster("local", 2, 1) as client:
            run_graph(client, PAIRS, task, resources={"study": 1})
    pids = {p.stem: int(p.read_text()) for p in tmp_path.glob("*.pid")}
    assert len(pids) == 2 and set(pids) <= {"pareto-a", "pareto-b", "cost-a"}
    time.sleep(1.0)
    for pid in pids.values():   # the processes that ran them are gone
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.parametrize("bad", [0, -1, "x", "1.5", True, None])
def test_jobs_must_be_a_whole_number_or_auto(bad):
    from spectral_collapse.pipeline.parallel import resolve_jobs

    with pytest.raises(ValueError, match="jobs must be a whole number >= 1 or 'auto'"):
        resolve_jobs(bad)


def test_jobs_auto_and_numbers():
    from spectral_collapse.pipeline.parallel import resolve_jobs
    from spectral_collapse.pipeline.parallel import cpu_cores

    assert resolve_jobs("3") == 3 and resolve_jobs(2) == 2
    assert resolve_jobs("auto") == max(1, min(cpu_cores(), 4))  # no GPU in the test environment


THREADS = '''
import os
from pathlib import Path
Path(f"threads-{dataset}-{profile}.txt").write_text(os.environ.get("OMP_NUM_THREADS", "unset"))
'''


def test_run_studies_with_two_jobs_executes_each_chapter_in_its_own_process(tmp_path, monkeypatch):
    """Each child is `python -m spectral_collapse studies --study benchmarks --dataset D --root <tiny repo>`: a registered
    study (children do not see a test's registry), whose notebook in the tiny repo records its thread count."""
    for name in ("SPECTRAL_COLLAPSE_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)  # the default: the cores shared out between the jobs
    from spectral_collapse.pipeline.execute import run_studies
    from spectral_collapse.pipeline.parallel import cpu_cores

    root = _tiny_repo(tmp_path, "benchmarks", THREADS)
    results = tmp_path / "results"
    done = run_studies("smoke", ["benchmarks"], ["ihc-sr", "ihc-edges"], root=root, results_root=str(results), jobs=2)
    assert sorted(p.name for p in done) == ["benchmarks-ihc-edges-smoke.ipynb", "benchmarks-ihc-sr-smoke.ipynb"]
    assert all(p.exists() for p in done)
    for ds in ("ihc-sr", "ihc-edges"):  # each child ran with its share of the cores
        assert (root / f"threads-{ds}-smoke.txt").read_text() == str(max(1, cpu_cores() // 2))
    # nothing stale: nothing runs
    assert run_studies("smoke", ["benchmarks"], ["ihc-sr", "ihc-edges"], root=root, results_root=str(results), jobs=2) == []


# ------------------------------------------------------------------ the study graph (from the registry)

def test_run_order_puts_what_a_study_reads_first_and_keeps_book_order_otherwise():
    from spectral_collapse.pipeline import graph

    order = graph.run_order()
    assert order == list(registry.STUDIES) or sorted(order) == sorted(registry.STUDIES)
    for s in order:
        for dep in graph.prerequisites(s):
            assert order.index(dep) < order.index(s), (dep, s)
    assert graph.run_order(["metric_validation", "pareto", "benchmarks"]) == ["pareto", "metric_validation", "benchmarks"]
    assert graph.upstream("metric_validation") == ["pareto", "main_results"]
    assert graph.datasets("eps_vs_x0") == ("ihc-sr",) and graph.source_notebook("pareto") == "notebooks/pareto.ipynb"
    with pytest.raises(ValueError, match="unknown study 'paretto'; valid studies: model_quality, pareto"):
        graph.run_order(["paretto"])


def test_a_cycle_of_reads_is_named(monkeypatch):
    from spectral_collapse.pipeline import graph

    for name, reads in (("a", ("b",)), ("b", ("c",)), ("c", ("a",))):
        monkeypatch.setitem(registry.STUDIES, name, registry.Study(name, name, {}, reads=reads))
    with pytest.raises(ValueError, match="cycle: a -> b -> c -> a"):
        graph.run_order(["a"])
    with pytest.raises(ValueError, match="cycle"):
        graph.run_order()


def test_python_m_spectral_collapse_is_the_command_line():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "spectral_collapse", "studies", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "--jobs" in out and "--book-dir" in out


def test_executed_chapters_hide_the_parameter_cells_once():
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from spectral_collapse.pipeline.chapters import hide_parameter_cells

    nb = new_notebook(cells=[new_code_cell("a = 1"), new_code_cell("dataset = 'x'"), new_code_cell("dataset = 'y'")])
    nb.cells[1].metadata["tags"] = ["parameters"]
    nb.cells[2].metadata["tags"] = ["injected-parameters"]
    assert hide_parameter_cells(nb) == 2 and hide_parameter_cells(nb) == 0
    assert [c.metadata.get("tags", []) for c in nb.cells] == [[], ["parameters", "remove-cell"],
                                                              ["injected-parameters", "remove-cell"]]
    nbformat.validate(nb)


def test_cli_errors_are_one_line_and_the_traceback_needs_debug(capsys):
    from spectral_collapse.cli import main

    assert main(["studies", "--study", "no_such_study"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: unknown study 'no_such_study'") and "--debug" in err[0]
    with pytest.raises(ValueError, match="unknown study"):
        main(["--debug", "studies", "--study", "no_such_study"])


def test_another_model_or_data_options_make_the_chapter_stale_and_say_why(tmp_path, monkeypatch, capsys):
    """The main command run again with another --model or --data-options executes the chapter again (its files
    unchanged), and says which parameters changed; the same parameters find it up to date."""
    from spectral_collapse.framework.spec import Param

    knobs = {"model": Param("str", None, ""), "data_options": Param("json", None, "")}
    study = registry.Study("tiny", "Tiny", knobs, run=lambda spec, ctx: None, datasets=("ihc-sr",))
    monkeypatch.setitem(registry.STUDIES, "tiny", study)
    root = _tiny_repo(tmp_path)
    nb = nbformat.read(str(root / "notebooks" / "tiny.ipynb"), as_version=4)
    nb.cells[1].source += "\nmodel = None\ndata_options = None"
    nbformat.write(nb, str(root / "notebooks" / "tiny.ipynb"))
    a, b = tmp_path / "a", tmp_path / "b"
    for m in (a, b):
        (m / "unet").mkdir(parents=True)
        (m / "unet" / "config.json").write_text("{}")
    monkeypatch.setattr("spectral_collapse.models.hub.pipeline_folder", lambda p: Path(p))
    results = str(tmp_path / "results")
    run = lambda **extra: execute_study("tiny", "ihc-sr", "smoke", root=root, results_root=results,  # noqa: E731
                                        extra=extra)
    assert run(model=str(a)) is not None
    assert run(model=str(a)) is None
    capsys.readouterr()
    assert run(model=str(b)) is not None
    assert "parameters changed (content, model)" in capsys.readouterr().out
    out = run(model=str(b), data_options={"task": "sr", "factor": 2})
    # other options build other bundled crops: both the options and the data's content signature changed
    assert "parameters changed (content, data_options)" in capsys.readouterr().out
    chapter = json.loads(out.read_text())
    assert chapter["metadata"]["spectral_collapse"]["executed_because"] == \
        "its parameters changed (content, data_options)"
    # build history stays in the metadata (and the command's output): no cell of the page says why it ran again
    assert not any("executed again" in "".join(c["source"]) for c in chapter["cells"])


def test_an_interrupted_chapter_leaves_no_hidden_copy(tmp_path, tiny, monkeypatch):
    """Ctrl-C during papermill used to leave book/studies/.<chapter>.ipynb.tmp.ipynb behind."""
    from spectral_collapse.pipeline import execute

    root = _tiny_repo(tmp_path)

    def interrupted(src, out, params, root):
        out.write_text("{}")  # papermill has started writing its copy
        raise KeyboardInterrupt

    monkeypatch.setattr(execute, "_papermill", interrupted)
    with pytest.raises(KeyboardInterrupt):
        execute_study("tiny", "ihc-sr", "smoke", root=root, results_root=str(tmp_path / "results"))
    assert [p.name for p in (root / "book" / "studies").iterdir()] == []


def test_an_interruption_after_papermill_finished_leaves_no_hidden_copy(tmp_path, tiny, monkeypatch):
    """Ctrl-C while the executed copy is being titled, stamped and moved into place (after papermill returned) also
    leaves book/studies/ without a hidden half-finished chapter."""
    from spectral_collapse.pipeline import execute

    root = _tiny_repo(tmp_path)

    def executed(src, out, params, root):
        out.write_text(src.read_text())  # papermill's finished copy

    def interrupted(nb):
        raise KeyboardInterrupt

    monkeypatch.setattr(execute, "_papermill", executed)
    monkeypatch.setattr(execute, "strip_progress", interrupted)
    with pytest.raises(KeyboardInterrupt):
        execute_study("tiny", "ihc-sr", "smoke", root=root, results_root=str(tmp_path / "results"))
    assert [p.name for p in (root / "book" / "studies").iterdir()] == []


TERMINATED_CHILD = '''
import sys, time
from pathlib import Path
from spectral_collapse import cli
from spectral_collapse.pipeline import execute
from spectral_collapse.studies import registry

registry.STUDIES["tiny"] = registry.Study("tiny", "Tiny", {}, run=lambda spec, ctx: None, datasets=("ihc-sr",))

def slow(src, out, params, root):
    out.write_text(src.read_text())  # papermill has written its copy and runs the next cell
    time.sleep(600)

execute._papermill = slow
sys.exit(cli.main(["studies", "--profile", "smoke", "--study", "tiny", "--dataset", "ihc-sr", "--root", sys.argv[1],
                   "--results-root", sys.argv[2]]))
'''


def test_a_terminated_cli_study_leaves_no_hidden_copy(tmp_path):
    """SIGTERM (a job scheduler, `timeout`, or the side-by-side runner stopping its studies) cleans up like Ctrl-C:
    the command says it was interrupted and book/studies/ holds no hidden half-executed chapter."""
    import signal
    import subprocess
    import sys

    root = _tiny_repo(tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", TERMINATED_CHILD, str(root), str(tmp_path / "results")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    hidden = root / "book" / "studies" / ".tiny-ihc-sr-smoke.ipynb.tmp.ipynb"
    deadline = time.time() + 120
    while not hidden.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    assert hidden.exists(), proc.communicate(timeout=30)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "terminated" in err, (proc.returncode, err[-2000:])
    assert [p.name for p in (root / "book" / "studies").iterdir()] == []


def test_an_unwritable_results_root_stops_the_chapter_before_papermill_starts(tmp_path, tiny, monkeypatch):
    """The main command checks the results root before it starts a kernel: one line naming the folder and the
    option, instead of a notebook traceback after the kernel and the study's imports have started."""
    from spectral_collapse import cli
    from spectral_collapse.pipeline import execute

    monkeypatch.setattr(execute, "_papermill", lambda *a, **k: pytest.fail("papermill started"))
    root = _tiny_repo(tmp_path)
    (tmp_path / "taken").write_text("a file where the results root's parent would be")
    with pytest.raises(PermissionError, match=r"cannot write results under the results root \S*taken/results "
                                              r"\(\S*taken is not a folder\); nothing was computed\. Pass a "
                                              r"results_root \(CLI: --results-root\)"):
        execute_study("tiny", "ihc-sr", "smoke", root=root, results_root=str(tmp_path / "taken" / "results"))
    assert not (root / "book").exists()
    assert cli.main(["studies", "--profile", "smoke", "--study", "tiny", "--dataset", "ihc-sr", "--root", str(root),
                     "--results-root", str(tmp_path / "taken" / "results")]) == 1


def test_a_profile_edit_makes_the_chapter_stale_and_says_why(tmp_path, tiny, monkeypatch):
    """A chapter records a digest of its profile's resolved values: editing the profile (here the test crops)
    executes it again, and the reason names what changed."""
    from dataclasses import replace

    from spectral_collapse.pipeline.execute import run_reason
    from spectral_collapse.framework import profiles

    root = _tiny_repo(tmp_path)
    results = str(tmp_path / "results")
    assert execute_study("tiny", "ihc-sr", "smoke", root=root, results_root=results) is not None
    assert run_reason("tiny", "ihc-sr", "smoke", root=root, results_root=results) is None
    monkeypatch.setitem(profiles.PROFILES, "smoke", replace(profiles.PROFILES["smoke"], n_test=6))
    assert run_reason("tiny", "ihc-sr", "smoke", root=root, results_root=results) == \
        "its parameters changed (profile_values)"


def test_a_read_only_results_root_that_holds_the_results_still_serves_the_chapter(tmp_path, tiny, monkeypatch):
    """The check before papermill asks for a writable results root only when the results must be computed: stored
    results in a read-only root can still be read into a chapter."""
    from spectral_collapse.pipeline.runner import check_can_store

    res = tmp_path / "results"
    (res / "tiny").mkdir(parents=True)
    (res / "tiny" / "ihc-sr-smoke.nc").write_text("stored")
    monkeypatch.setattr(os, "access", lambda *a, **k: False)  # nothing may be written
    check_can_store("tiny", "ihc-sr", "smoke", str(res))
    with pytest.raises(PermissionError, match=r"results root \S*results \(\S*results/tiny is not writable\)"):
        check_can_store("tiny", "ihc-edges", "smoke", str(res))


@pytest.mark.parametrize("chapter, shown", [("main_results", "seed_spread"), ("your_model", "pareto")])
def test_a_chapter_is_stale_when_the_stored_results_it_shows_change(tmp_path, chapter, shown):
    """The main-results chapter decides its claims over the seed-spread study's training seeds, where they exist; the
    your-model chapter (no results of its own) uses the step sizes the stored Pareto sweep chose."""
    from spectral_collapse.pipeline.execute import chapter_inputs

    results = tmp_path / "results"
    before = chapter_inputs(chapter, "ihc-sr", "quick", root=tmp_path, results_root=str(results))
    stored = results / shown / "ihc-sr-quick.nc"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"stored")
    after = chapter_inputs(chapter, "ihc-sr", "quick", root=tmp_path, results_root=str(results))
    assert stored not in before
    assert stored in after and len(after) == len(before) + 1


def test_a_shown_study_runs_before_the_chapter_that_shows_it():
    """Run order puts each study a chapter shows (graph.SHOWS) before that chapter's study, as it does the studies
    it reads; showing adds no upstream study (a failed seed spread skips nothing)."""
    from spectral_collapse.pipeline import graph

    order = graph.run_order()
    for study, shown in graph.SHOWS.items():
        assert all(order.index(s) < order.index(study) for s in shown), (study, shown)
        assert not set(shown) & set(graph.upstream(study)) - set(graph.prerequisites(study))


def test_side_by_side_a_chapter_that_finished_before_the_study_it_shows_is_executed_again():
    """Of the finished pairs, main_results on dataset a shows seed_spread, which also ran on a, and is stale: it is
    executed again. main_results on b (its seed spread did not run) and a stale gaussianity (it shows nothing) are not;
    neither is main_results on c, up to date though its seed spread ran."""
    from spectral_collapse.pipeline.execute import show_again

    finished = [("main_results", "a"), ("seed_spread", "a"), ("main_results", "b"), ("gaussianity", "a"),
                ("seed_spread", "c"), ("main_results", "c")]
    stale = {("main_results", "a"), ("main_results", "b"), ("gaussianity", "a")}
    executed = []
    again = show_again(finished, lambda s, ds: "inputs changed" if (s, ds) in stale else None,
                       lambda s, ds: executed.append((s, ds)))
    assert again == executed == [("main_results", "a")]


def test_the_model_quality_chapter_runs_after_every_study_and_again_when_one_ran_on_any_dataset(tmp_path):
    """The model-quality chapter names the claims each failing model decides from every stored result: it runs
    after every study, goes stale when another dataset's results change, and is executed again when a study on
    another dataset finished after it."""
    from spectral_collapse.pipeline import graph
    from spectral_collapse.pipeline.execute import chapter_inputs, show_again

    order = graph.run_order()
    assert all(order.index(s) < order.index("model_quality") for s in graph.shown("model_quality"))
    assert {"pareto", "main_results", "backbone_ablation"} <= set(graph.shown("model_quality"))
    stored = tmp_path / "data" / "results" / "pareto" / "ihc-edges-quick.nc"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"x")
    assert stored in chapter_inputs("model_quality", "ihc-sr", "quick", root=tmp_path)
    executed = []
    again = show_again([("model_quality", "ihc-sr"), ("pareto", "ihc-edges")], lambda s, ds: "inputs changed",
                       lambda s, ds: executed.append((s, ds)))
    assert again == executed == [("model_quality", "ihc-sr")]
