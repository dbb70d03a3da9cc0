"""The suite's papermill engine (``papermill.engine`` entry point), loaded in every papermill run: it also makes the
``papermill`` command end a study error shown message first (``notebook.message_first``) with that message and its
cell, without papermill's traceback (a ``sys.excepthook``: papermill has no setting for it)."""
from __future__ import annotations

import re
import sys

__all__ = ["StudyEngine", "shown_message_first", "report_study_error"]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _NBClientLater(type):
    """Every attribute papermill's ``NBClientEngine``'s, looked up when used (not importable while this loads)."""

    def __getattr__(cls, name):
        from papermill.engines import NBClientEngine

        return getattr(NBClientEngine, name)


class StudyEngine(metaclass=_NBClientLater):
    """Papermill's default engine (nbclient) under the suite's name (``papermill --engine spectral_collapse``)."""


def shown_message_first(err: BaseException) -> bool:
    """Whether ``err`` is papermill's error for a kernel error rendered message first (``<class>: <message>``)."""
    from papermill.exceptions import PapermillExecutionError

    if not isinstance(err, PapermillExecutionError) or not err.traceback:
        return False
    return _ANSI.sub("", err.traceback[0]).strip() == f"{err.ename}: {err.evalue}".strip()


def report_study_error(kind, err, tb, previous=None) -> None:
    """The papermill command's ``sys.excepthook``: a study error as its cell showed it; else ``previous``'s."""
    if shown_message_first(err):
        lines = [_ANSI.sub("", line) for line in err.traceback]
        sys.stderr.write(f"The notebook stopped at cell [{err.exec_count}] (the executed copy keeps its outputs):\n"
                         + "\n".join(lines) + "\n")
        return
    (previous or sys.__excepthook__)(kind, err, tb)


def _install() -> None:
    """Put ``report_study_error`` before the hook in place (once, however often the module is loaded)."""
    if getattr(sys.excepthook, "_spectral_collapse", False):
        return
    previous = sys.excepthook

    def hook(kind, err, tb):
        report_study_error(kind, err, tb, previous)

    hook._spectral_collapse = True
    sys.excepthook = hook


def _is_papermill_command(argv0: str, orig_argv: list[str]) -> bool:
    """``papermill ...`` or ``python -m papermill ...`` (its engines load before argv[0] names it)."""
    from pathlib import Path

    module = any(a == "-m" and b == "papermill" for a, b in zip(orig_argv, orig_argv[1:]))
    return Path(argv0).name == "papermill" or module


if _is_papermill_command(sys.argv[0] if sys.argv else "", getattr(sys, "orig_argv", [])):   # a session keeps its hook
    _install()
