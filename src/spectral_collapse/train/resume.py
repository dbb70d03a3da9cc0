"""The trainer's files: weights as safetensors, and the resume snapshots (``resume/``, the one before kept as
``resume.old/``) that make a killed training continue; the state is read with ``torch.load(weights_only=True)``."""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
import warnings
from pathlib import Path

import torch

from .cache import CheckpointCorrupt, atomic_write_bytes
from .heldout import BANDS


def save_weights(module: torch.nn.Module, path: Path) -> None:
    from safetensors.torch import save

    sd = {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items()}
    atomic_write_bytes(path, save(sd))


def read_weights(path: Path, fix: str) -> dict:
    """The tensors of a safetensors file; a truncated or damaged file raises CheckpointCorrupt naming it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:  # SafetensorError is no RuntimeError
        raise CheckpointCorrupt(f"{path} cannot be read ({type(err).__name__}: {err}); {fix}") from None


def write_resume(ckpt: Path, net, ema, opt, sched, step, gen, log, heldout=(), seconds: float = float("nan")) -> None:
    """Write a consistent resume point: fill a temp folder, then swap it in (the old one kept as resume.old).
    seconds: training time to reach ``step``, earlier runs included (NaN when unknown)."""
    tmp, cur, old = ckpt / ".resume.tmp", ckpt / "resume", ckpt / "resume.old"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_weights(net, tmp / "model.safetensors")
    save_weights(ema, tmp / "ema.safetensors")
    buf = io.BytesIO()
    torch.save({"step": step, "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                "rng": gen.get_state(), "log": torch.tensor(log, dtype=torch.float64).reshape(-1, 2),
                "heldout": torch.tensor(heldout, dtype=torch.float64).reshape(-1, 2 + BANDS),
                "seconds": torch.tensor(float(seconds), dtype=torch.float64)}, buf)
    atomic_write_bytes(tmp / "state.pt", buf.getvalue())
    if cur.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(cur, old)  # the previous snapshot stays as the fall-back
    os.replace(tmp, cur)


_STATE_KEYS = {"step", "optimizer", "scheduler", "rng", "log"}


def _read_resume(res: Path, fix: str) -> tuple[dict, dict, dict]:
    """(network weights, EMA weights, optimizer / RNG state) of one resume snapshot, or CheckpointCorrupt."""
    net_sd, ema_sd = (read_weights(res / f, fix) for f in ("model.safetensors", "ema.safetensors"))
    state = res / "state.pt"
    try:
        st = torch.load(state, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointCorrupt(f"{state} holds Python objects other than tensors and was refused (loading it could "
                                f"run code); {fix}") from err
    except (OSError, RuntimeError, EOFError, ValueError) as err:  # truncated zip, empty file, ...
        raise CheckpointCorrupt(f"{state} cannot be read ({type(err).__name__}: {err}); {fix}") from None
    if not isinstance(st, dict) or not _STATE_KEYS <= set(st):
        raise CheckpointCorrupt(f"{state} lacks the training state ({', '.join(sorted(_STATE_KEYS))}); {fix}")
    return net_sd, ema_sd, st


def resume_snapshot(ckpt: Path) -> tuple[dict, dict, dict] | None:
    """The newest readable resume snapshot (then the one before, with a warning), or None when there is none;
    CheckpointCorrupt naming every file when none can be read."""
    fix = f"delete {ckpt / 'resume'} and {ckpt / 'resume.old'} to restart this training from step 0"
    problems = []
    for res in (ckpt / "resume", ckpt / "resume.old"):
        if not res.is_dir():
            continue
        try:
            snapshot = _read_resume(res, fix)
        except CheckpointCorrupt as err:
            problems.append(str(err).removesuffix(f"; {fix}"))
            continue
        if problems:
            warnings.warn(f"{problems[0]}; resuming from the previous snapshot {res} (step {int(snapshot[2]['step'])})",
                          RuntimeWarning, stacklevel=3)
        return snapshot
    if problems:
        raise CheckpointCorrupt(f"cannot resume the training in {ckpt}: {'; '.join(problems)}; {fix}")
    return None


def resume(ckpt: Path, net, ema, opt, gen: torch.Generator, sched=None) -> tuple[int, list, list, float]:
    """Load the newest resume snapshot of ``ckpt`` into the networks, optimizer (and LR scheduler) and generator;
    (step, loss log, held-out log, training seconds so far), or a fresh start's (0, [], [], 0.0)."""
    snapshot = resume_snapshot(ckpt)
    if snapshot is None:
        return 0, [], [], 0.0
    net_sd, ema_sd, st = snapshot
    net.load_state_dict(net_sd)
    ema.load_state_dict(ema_sd)
    opt.load_state_dict(st["optimizer"])
    if sched is not None:
        sched.load_state_dict(st["scheduler"])
    restore_generator(gen, st["rng"])
    held = st.get("heldout", torch.zeros(0, 2 + BANDS))
    return (int(st["step"]), [tuple(r) for r in st["log"].tolist()], [list(r) for r in held.tolist()],
            float(st.get("seconds", torch.tensor(float("nan")))))  # NaN: a snapshot that did not record it


def restore_generator(gen: torch.Generator, state: torch.Tensor) -> None:
    """Put a snapshot's random state back into ``gen``; a state of another kind of generator (CUDA against CPU)
    seeds ``gen`` from a hash of it instead, with a warning."""
    if state.numel() == gen.get_state().numel():
        gen.set_state(state)
        return
    seed = int.from_bytes(hashlib.blake2b(state.numpy().tobytes(), digest_size=8).digest(), "little") >> 1
    warnings.warn(f"the resume snapshot's random state ({state.numel()} bytes) is from another kind of generator than "
                  f"this run's {gen.device.type} one; its draws continue from a seed derived from it", RuntimeWarning,
                  stacklevel=2)
    gen.manual_seed(seed)
