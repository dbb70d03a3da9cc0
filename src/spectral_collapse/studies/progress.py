"""Progress of a study's long cells, on the terminal of the command that runs it."""
from __future__ import annotations

import contextlib
import contextvars
import os
import sys

__all__ = ["ENV", "enabled", "running", "current", "CellBar", "cell_bar"]

ENV = "SPECTRAL_COLLAPSE_PROGRESS"
DELAY_S = 2.0  # a cell done sooner draws no bar: only the long ones are shown
_STUDY: contextvars.ContextVar[str] = contextvars.ContextVar("spectral_collapse_study", default="")
_TERMINAL = None


def enabled() -> bool:
    """Whether cells draw progress bars (``$SPECTRAL_COLLAPSE_PROGRESS`` set to anything but "" or "0")."""
    return os.environ.get(ENV, "").strip() not in ("", "0")


@contextlib.contextmanager
def running(name: str):
    """Within the block, bars are named after study ``name`` (e.g. "main_results/folder-mine")."""
    token = _STUDY.set(str(name))
    try:
        yield
    finally:
        _STUDY.reset(token)


def current() -> str:
    """The name of the study running in this context ("" outside ``running``)."""
    return _STUDY.get()


def _terminal():
    """The process's own stderr: in an IPython kernel the descriptor it had before the kernel captured it."""
    global _TERMINAL
    fd = getattr(sys.stderr, "_original_stdstream_copy", None)
    if fd is None:
        return sys.stderr
    if _TERMINAL is None:
        _TERMINAL = os.fdopen(os.dup(fd), "w", buffering=1)
    return _TERMINAL


class CellBar:
    """A bar over the network steps of one cell: ``update(n)`` after each step (the integration loop calls it),
    ``images_done(k)`` after each batch."""

    def __init__(self, what: str, images: int, steps: int):
        from tqdm import tqdm

        name = current()
        self.images = int(images)
        self.bar = tqdm(total=int(steps), desc=f"{name} · {what}" if name else what, unit="step", leave=True,
                        file=_terminal(), mininterval=1.0, delay=DELAY_S, dynamic_ncols=True)
        self.images_done(0)

    def update(self, n: int = 1) -> None:
        self.bar.update(n)

    def images_done(self, k: int) -> None:
        self.bar.set_postfix_str(f"images {int(k)}/{self.images}", refresh=False)

    def close(self) -> None:
        self.bar.close()


@contextlib.contextmanager
def cell_bar(what: str, images: int, steps: int):
    """A ``CellBar`` while progress is ``enabled()``, else None; closed when the block ends."""
    if not enabled():
        yield None
        return
    bar = CellBar(what, images, steps)
    try:
        yield bar
    finally:
        bar.close()
