"""Scale-out of translation studies over processes with Hugging Face Accelerate (ARCHITECTURE.md: Scale-out).

Launch a script that runs a study under ``torchrun --nproc_per_node K`` or ``accelerate launch`` (several GPUs or
nodes; on CPU use torchrun). Each process then translates a contiguous share of the test
samples (``PartialState.split_between_processes``), and the shares are gathered back in sample order on every
process (``accelerate.utils.gather``: tensors only, nothing is pickled), so every process scores and stores the
same full result. Per-sample seeds are keyed by the global sample index (``sample_seeds``), so the gathered
numbers equal a single-process run's up to the float round-off of a different batch composition.

In a single process (no ``WORLD_SIZE`` > 1 in the environment) nothing changes and Accelerate is not touched.
The hook is ``studies.cells.translate_cell``, which hands its batch loop to ``translate_sharded``.
Stores: every process writes the same cell and results files; writes are atomic (temp file + rename), so the last
one wins. All processes must see the same cell cache (one filesystem): a process that found a cell cached which
another did not would skip a collective the others wait in.
"""
from __future__ import annotations

import os
import threading
from typing import Callable

import torch

__all__ = ["world_size", "sharding_active", "translate_sharded"]

_local = threading.local()


def world_size() -> int:
    """Number of processes of the launch (torchrun / accelerate set WORLD_SIZE); 1 when not launched."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def sharding_active() -> bool:
    """True in a multi-process launch, outside a shard already being computed."""
    return world_size() > 1 and not getattr(_local, "inside", False)


def _state():
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def translate_sharded(local: Callable, D, x_src: torch.Tensor, ms, seeds: list[int], steps: int, batch_size: int,
                      progress: bool):
    """Run ``local(D, x_src[share], ms, seeds[share], steps, batch_size, progress)`` on this process's share.

    ``local`` returns (outputs, latents, nonfinite_step, nfe) for its samples; the shares are gathered in sample
    order and ``nfe`` (network calls) is summed over processes.
    """
    from accelerate.utils import gather

    st = _state()
    n = x_src.shape[0]
    if n < st.num_processes:  # too few samples to share: every process does all of them
        _local.inside = True
        try:
            return local(D, x_src, ms, seeds, steps, batch_size, progress)
        finally:
            _local.inside = False
    # contiguous shares in rank order; the last share is padded with its last index to equal length
    with st.split_between_processes(list(range(n)), apply_padding=True) as idx:
        _local.inside = True
        try:
            out, lat, bad, nfe = local(D, x_src[idx], ms, [seeds[i] for i in idx], steps, batch_size, progress)
        finally:
            _local.inside = False
    dev = st.device
    out, lat, bad = (gather(t.contiguous().to(dev)).cpu()[:n] for t in (out, lat, bad))
    nfe = int(gather(torch.tensor([nfe], device=dev)).sum())
    return out, lat, bad, nfe
