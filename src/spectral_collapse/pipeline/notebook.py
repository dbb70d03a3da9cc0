"""What a study notebook calls: ``open_study("pareto", dataset=..., profile=...)`` computes or loads its results."""
from __future__ import annotations

import contextlib
import os
import sys
import warnings
from pathlib import Path

from IPython import get_ipython

from ..framework.store import folder_parameter
from .notes import notes_block
from .parameters import json_attr, parameters_table

__all__ = ["repo_root", "setup_notebook", "short_warning", "open_study", "profile_caution", "run_record",
           "folder_parameter", "strip_outputs", "message_first", "interpreter", "ECHO_ENV"]


def repo_root(start: str | os.PathLike | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding pyproject.toml and src/spectral_collapse."""
    p = Path(start or os.getcwd()).resolve()
    for q in (p, *p.parents):
        if (q / "pyproject.toml").exists() and (q / "src" / "spectral_collapse").exists():
            return q
    return p


def setup_notebook() -> Path:
    """chdir to the repo root (put on sys.path) and set torch threads, charts, warnings and the tables' display."""
    from .parallel import torch_threads

    torch_threads()
    root = repo_root()
    os.chdir(root)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from ..plotting.render import setup_altair

    setup_altair("svg")
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a kernel without widgets
    # a study's own warnings, handed on by run_study: the chapter shows them in its run notes at the end
    warnings.filterwarnings("ignore", module=r"spectral_collapse\.pipeline\.runner$")
    warnings.formatwarning = short_warning
    show_missing_as_dash()
    return root


def short_warning(message, category, filename, lineno, line=None) -> str:
    """A warning as a chapter shows it, without this machine's paths: "RuntimeWarning (numpy): overflow in exp"."""
    parts = Path(str(filename)).with_suffix("").parts
    inside = [i for i, p in enumerate(parts) if p in ("site-packages", "dist-packages", "src")]
    where = parts[inside[-1] + 1] if inside and inside[-1] + 1 < len(parts) else Path(str(filename)).stem
    return f"{category.__name__} ({where}): {message}\n"


def show_missing_as_dash() -> bool:
    """In a kernel, show tables and Markdown as the book does (``plotting.reader``); returns whether one was found."""
    ip = get_ipython()
    if ip is None:
        return False
    import pandas as pd

    def numbered(df) -> bool:  # a plain 0, 1, 2, ... row index carries nothing a reader needs
        return isinstance(df.index, pd.RangeIndex) and df.index.name is None and df.index.start == 0

    from IPython.display import Markdown

    from ..plotting.reader import reader_table, reader_text, short_model_names
    from ..framework.method_labels import name_quoted_methods
    from ..tables.settings import MISSING
    from ..text import ranges, spaced_percents  # en-dash ranges, "2.2 %"

    shown = ip.display_formatter.formatters
    shown["text/html"].for_type(pd.DataFrame, lambda df: reader_table(one_header_row(short_model_names(df)),
                                                                      na_rep=MISSING, index=not numbered(df)))
    shown["text/markdown"].for_type(Markdown, lambda md: spaced_percents(ranges(reader_text(name_quoted_methods(
        md.data or "")))))
    shown["text/plain"].for_type(pd.DataFrame, lambda df, p, cycle: p.text(short_model_names(df).to_string(
        na_rep=MISSING, index=not numbered(df))))
    return True


def one_header_row(df):
    """The table with a plain named row index's name moved into the header row (HTML shows one header row)."""
    import pandas as pd

    columns = df.columns
    last = columns.names[-1] if isinstance(columns, pd.MultiIndex) else columns.name
    if isinstance(df.index, pd.MultiIndex) or df.index.name is None or last is not None:
        return df
    out = df.copy()
    names = list(columns.names)
    names[-1] = df.index.name
    out.columns = columns.set_names(names)
    out.index = out.index.rename(None)
    return out


def misspelled_parameters(names, known) -> dict:
    """{name: the known parameter it is close to} for names that look like a misspelled one (``-p datset x``)."""
    import difflib

    return {n: close[0] for n in names
            if n not in known and (close := difflib.get_close_matches(n, known, n=1, cutoff=0.75))}


def _injected_names() -> list[str]:
    """The names papermill injected into the running kernel (its last "# Parameters" cell); [] when none."""
    import ast

    ip = get_ipython()
    cells = [src for src in (ip.user_ns.get("In", []) if ip else []) if src.lstrip().startswith("# Parameters")]
    tree = ast.parse(cells[-1] if cells else "")   # papermill's own code: it parses
    return [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)]


def open_study(name: str, *, results_root: str | os.PathLike = "data/results", rerun=False, **params):
    """The results of study ``name`` (computed, or loaded when stored) with a caution for a model below the gate;
    ``params``: dataset, profile and knobs (unknown names raise before any work); an error shows its message first."""
    try:
        return _open_study(name, folder_parameter("results_root", results_root), rerun, **params)
    except Exception as err:
        shown = message_first(err)
        if shown is err:
            raise
        raise shown from err


def _open_study(name: str, results_root, rerun, **params):
    from ..studies.registry import get_study, study_spec
    from ..framework.spec import Param

    study_spec(name, **params)   # every value parsed and checked before the kernel imports or loads anything heavy
    setup_notebook()
    from .runner import run_study

    known = ["dataset", "profile", *get_study(name).params, "results_root", "rerun"]
    foreign = [n for n in _injected_names() if n not in known]   # every name papermill injected is a parameter
    if foreign:
        close = misspelled_parameters(foreign, known)
        raise TypeError(f"unknown parameter{'s' if len(foreign) > 1 else ''} of {name}: "
                        + ", ".join(f"{k!r} (did you mean {close[k]!r}?)" if k in close else repr(k) for k in foreign)
                        + f"; its parameters: {', '.join(known)}")
    rerun = Param("bool", False, optional=False).parse("rerun", rerun)
    ds = run_study(name, results_root=results_root, rerun=rerun, **params)
    from IPython.display import Markdown, display

    from ..tables.quality import result_gate_table

    smoke = profile_caution(ds.attrs.get("profile") or params.get("profile"))
    if smoke:
        display(Markdown(smoke))
    models = result_gate_table(ds.attrs)
    if not models.empty and (models["gate"] != "passes").any():
        display(Markdown(WEAK))
    return ds


WEAK = "```{caution}\nComputed with a model below the quality gate (its status: the models table at the end).\n```"


def profile_caution(profile) -> str | None:
    """The warning a chapter of the smoke profile opens with (its numbers mean nothing); None for other profiles."""
    if profile != "smoke":
        return None
    from ..framework.profiles import get_profile

    p = get_profile("smoke")
    return (f"```{{warning}}\nSmoke profile: numbers mean nothing here. {p.image_size}-pixel crops, {p.steps} sampling "
            f"steps, {len(p.seeds)} seeds of {p.n_test} test crops and models trained for {p.train_eps.steps} steps: "
            f"this run checks that the chapter runs, not what the study finds (the book's numbers: profile quick)."
            f"\n```")


def run_record(ds) -> None:
    """The end of a chapter: its models' quality-gate status, the run's notes and its parameters table."""
    from IPython.display import Markdown, display

    from ..framework.gate import GATE_LABEL
    from ..tables.quality import result_gate_table

    models = result_gate_table(ds.attrs)
    if not models.empty:
        display(Markdown(f"**Models** ({{ref}}`Are the models good enough? <{GATE_LABEL}>`)"))
        display(models)
    notes = notes_block(ds)
    if notes:
        display(Markdown(notes))
    display(Markdown(parameters_table(json_attr(ds.attrs, "spec"), ds)))


ECHO_ENV = "SPECTRAL_COLLAPSE_ECHO_ERRORS"   # "0": a study's error is not echoed on the kernel's terminal


def message_first(err: BaseException) -> BaseException:
    """``err`` made to show its class and message first in the notebook, echoed on papermill's terminal."""
    import re
    import traceback

    from ..data.download import DatasetNotPreparedError

    frames = "".join(traceback.format_exception(type(err), err, err.__traceback__)).splitlines()
    if isinstance(err, DatasetNotPreparedError):  # data to prepare: the message and its one fix are all to read
        text = re.sub(r"python -m spectral_collapse(\.cli)? download", f"{interpreter()} -m spectral_collapse download",
                      str(err))
        # the bundled alternative first, so a one-line display of the message (make report, the CLI) keeps it
        bundled = r"\nor use the bundled offline alternative: load_dataset\('([^']+)'\)$"
        text = re.sub(r"is missing\)\. Download (.*)" + bundled,
                      r"is missing). Run this study on the bundled data (-p dataset \2), or download \1", text,
                      flags=re.S)
        err, frames = DatasetNotPreparedError(text), []
    head = f"{type(err).__name__}: {err}"
    shown = [head, "", "The traceback:", *frames] if frames else [head]
    with contextlib.suppress(AttributeError):   # an exception type that takes no attributes: IPython's rendering
        err._render_traceback_ = lambda: shown
    if type(sys.stderr).__module__.startswith("ipykernel") and os.environ.get(ECHO_ENV) != "0":
        # in a kernel: the starting process's stderr (papermill's terminal); no descriptor at all: nothing
        fd = getattr(sys.stderr, "_original_stdstream_copy", None)
        with contextlib.suppress(OSError, TypeError, AttributeError):
            os.write(sys.__stderr__.fileno() if fd is None else fd, f"{head}\n".encode())
    return err


def interpreter() -> str:
    """The running Python as a user types it: relative to the working folder when inside it, else its full path."""
    exe = Path(sys.executable)
    with contextlib.suppress(ValueError):
        return str(exe.relative_to(Path.cwd()))
    return str(exe)


def strip_outputs(model: dict, **_) -> dict:
    """Clear a notebook contents model's outputs and execution counts in place (JupyterLab's pre-save hook)."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        meta = model["content"].setdefault("metadata", {})
        if isinstance(meta.get("language_info"), dict):  # the running kernel's versions: noise in a diff
            meta["language_info"] = {"name": meta["language_info"].get("name", "python")}
        for cell in model["content"].get("cells", []):
            if cell.get("cell_type") == "code":
                cell["outputs"] = []
                cell["execution_count"] = None
                cell.get("metadata", {}).pop("execution", None)
    return model
