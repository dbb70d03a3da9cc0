"""Computed cells that studies share: an inversion's latents, a translation's outputs."""
from __future__ import annotations

import contextlib
import contextvars
import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import torch
import xarray as xr

from ..inversion import default_sigmas, invert, sample_seeds, translate
from ..inversion.loop import primary
from .spec import CACHE_VERSION

__all__ = ["StudyContext", "NoCache", "translate_cell", "invert_cell", "translate_batched", "sharding_active",
           "translate_sharded", "ENV", "running", "cell_bar", "tasks_bar"]

# --- progress bars of the long cells, on the terminal of the command that runs the study ---
ENV = "SPECTRAL_COLLAPSE_PROGRESS"   # set (not "" or "0") by `cli studies` / `report` for the kernels they start
DELAY_S = 2.0  # a cell done sooner draws no bar: only the long ones are shown
_STUDY: contextvars.ContextVar[str] = contextvars.ContextVar("spectral_collapse_study", default="")
_TERMINAL = None


@contextlib.contextmanager
def running(name: str):
    """Within the block, bars are named after study ``name`` (e.g. "main_results/folder-mine")."""
    token = _STUDY.set(str(name))
    try:
        yield
    finally:
        _STUDY.reset(token)


def _terminal():
    """The process's own stderr: in an IPython kernel the descriptor it had before the kernel captured it."""
    global _TERMINAL
    fd = getattr(sys.stderr, "_original_stdstream_copy", None)
    if fd is None:
        return sys.stderr
    if _TERMINAL is None:
        _TERMINAL = os.fdopen(os.dup(fd), "w", buffering=1)
    return _TERMINAL


@contextlib.contextmanager
def _bar(what: str, total: int, unit: str, **kw):
    """A tqdm bar named after the running study, on the command's terminal, while ``ENV`` is set; else None."""
    if os.environ.get(ENV, "").strip() in ("", "0"):
        yield None
        return
    from tqdm import tqdm

    name = _STUDY.get()
    with tqdm(total=int(total), desc=f"{name} · {what}" if name else what, unit=unit, leave=True, file=_terminal(),
              mininterval=1.0, dynamic_ncols=True, **kw) as bar:
        yield bar


@contextlib.contextmanager
def cell_bar(what: str, images: int, steps: int):
    """A bar over the network steps of one cell, with ``images_done(k)`` for the images done (``_bar``)."""
    with _bar(what, steps, "step", delay=DELAY_S) as bar:
        if bar is not None:
            bar.images_done = lambda k: bar.set_postfix_str(f"images {int(k)}/{int(images)}", refresh=False)
            bar.images_done(0)
        yield bar


def tasks_bar(n: int):
    """A bar over ``n`` cells computed as tasks on a cluster (their step bars are drawn where the workers run)."""
    return _bar("cells on the cluster", n, "cell")


@dataclass
class NoCache:
    """A cache that stores nothing: every cell is computed (``hits`` stays 0)."""

    hits: int = 0
    misses: int = 0

    def cell(self, key: Mapping, compute: Callable[[], xr.Dataset]) -> xr.Dataset:
        self.misses += 1
        return compute()

    def map(self, fn: Callable, items) -> list:
        """``fn`` of each item, one after another (a cache on a cluster computes their cells side by side)."""
        return [fn(item) for item in items]

    def train_rounds(self, make_rounds: Callable[[], list]) -> None:
        """Nothing: each model trains as it loads (a cache on a cluster trains ``make_rounds()`` side by side)."""


@dataclass
class StudyContext:
    """What a study function gets besides its spec: the cell cache, the results of the studies it reads, progress."""

    cache: object = field(default_factory=NoCache)   # .cell(key, compute) -> xr.Dataset, .map(fn, items), .train_rounds
    inputs: dict = field(default_factory=dict)        # study name -> its xr.Dataset (resolved by the orchestrator)
    progress: bool = False


def translate_cell(ctx: StudyContext, D, x: torch.Tensor, ms, *, seed: int, steps: int, batch_size: int) -> xr.Dataset:
    """Translate ``x`` (invert under label 0, sample under label 1) with a MethodSpec, sample i seeded by
    ``sample_seeds(seed, [i])``: a cell of ``output``, ``latent``, ``nonfinite_step`` (-1: none) and ``nfe``."""
    def compute():
        torch.manual_seed(seed)
        seeds = sample_seeds(seed, range(len(x)))
        if sharding_active():  # launched on several processes: each translates its share (``translate_sharded``)
            out, latent, bad, nfe = translate_sharded(D, x, ms, seeds, steps, batch_size)
        else:
            batches = -(-len(x) // max(1, batch_size))
            with cell_bar(f"{ms.label} seed {seed}", len(x), 2 * steps * batches) as bar:
                out, latent, bad, nfe = translate_batched(D, x, ms, seeds, steps, batch_size, bar or bool(ctx.progress))
        return _arrays_cell(output=out, latent=latent, nonfinite_step=bad, nfe=nfe)

    key = {"cell": "translate", "version": CACHE_VERSION, "model": D, "inputs": x, "method": ms.describe(),
           "seed": int(seed), "steps": int(steps)}
    return ctx.cache.cell(key, compute)


def translate_batched(D, x_src, ms, seeds, steps, batch_size, progress):
    """Translate in batches (translate's latent-norm warning off: studies score failed samples themselves)."""
    outs, lats, bad, nfe = [], [], [], 0
    for i in range(0, x_src.shape[0], batch_size):
        tr = translate(D, x_src[i:i + batch_size], ms.method, guidance=ms.guidance, steps=steps,
                       seeds=seeds[i:i + batch_size], progress=progress, warn_norm=False)
        if hasattr(progress, "images_done"):
            progress.images_done(min(i + batch_size, x_src.shape[0]))
        outs.append(tr.output)
        lats.append(tr.latent)
        bad.append(tr.nonfinite_step)
        nfe += tr.nfe
    return torch.cat(outs), torch.cat(lats), torch.cat(bad), nfe


def invert_cell(ctx: StudyContext, D, x: torch.Tensor, ms, *, seed: int, steps: int, batch_size: int,
                offset: int = 0) -> xr.Dataset:
    """Invert ``x`` under label 0 on D's default grid: a cell of the unit-variance ``latent`` x_T and ``finite``.
    ``offset``: the index of ``x[0]`` in the inputs it was cut from (input i draws with ``offset + i``)."""
    def compute():
        sig = default_sigmas(D, steps)
        lats, ok = [], []
        batches = -(-len(x) // max(1, batch_size))
        with cell_bar(f"{ms.label} inversion seed {seed}", len(x), (len(sig) - 1) * batches) as bar:
            for i in range(0, len(x), batch_size):
                xb = x[i:i + batch_size]
                tr = invert(D, xb, sig, ms.method, guidance=ms.guidance, label=0, progress=bar or False,
                            seeds=sample_seeds(seed, range(offset + i, offset + i + len(xb))))
                lats.append(D.to_noise(primary(tr.x, ms.method), float(sig[0])).detach().float())
                ok.append(tr.finite)
                if bar is not None:
                    bar.images_done(min(i + batch_size, len(x)))
        return _arrays_cell(latent=torch.cat(lats), finite=torch.cat(ok))

    key = {"cell": "invert", "version": CACHE_VERSION, "model": D, "inputs": x, "method": ms.describe(),
           "seed": int(seed), "steps": int(steps), **({"offset": int(offset)} if offset else {})}
    return ctx.cache.cell(key, compute)


def _arrays_cell(**arrays) -> xr.Dataset:
    """An xr.Dataset of tensors (first axis ``sample``, the rest ``<name>_<i>``) and scalars."""
    out = xr.Dataset()
    for name, v in arrays.items():
        if isinstance(v, torch.Tensor):
            a = v.detach().cpu().numpy()
            out[name] = (("sample", *[f"{name}_{i}" for i in range(1, a.ndim)]), a)
        else:
            out[name] = ((), np.asarray(v))
    return out


def sharding_active() -> bool:
    """True in a multi-process launch (torchrun / accelerate set WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def translate_sharded(D, x_src: torch.Tensor, ms, seeds: list[int], steps: int, batch_size: int):
    """``translate_batched`` on this process's share of ``x_src``, gathered back in order on every process (``nfe``
    summed). Every process must see the same cell cache: one finding a cell cached would skip a collective."""
    from accelerate import PartialState
    from accelerate.utils import gather

    st = PartialState(cpu=not torch.cuda.is_available())
    n = x_src.shape[0]
    if n < st.num_processes:  # too few samples to share: every process does all of them
        return translate_batched(D, x_src, ms, seeds, steps, batch_size, False)
    with st.split_between_processes(list(range(n)), apply_padding=True) as idx:  # last share padded
        out, lat, bad, nfe = translate_batched(D, x_src[idx], ms, [seeds[i] for i in idx], steps, batch_size, False)
    out, lat, bad = (gather(t.contiguous().to(st.device)).cpu()[:n] for t in (out, lat, bad))
    return out, lat, bad, int(gather(torch.tensor([nfe], device=st.device)).sum())
