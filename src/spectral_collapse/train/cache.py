"""Checkpoint folders named by a hash of the full configuration, reused when present.

Layout: data/checkpoints/<name>-<hash12>/{config.json, model.safetensors, ema.safetensors, state.pt, log.json, DONE}
Weights are safetensors; the optimizer / RNG state (state.pt) is read back with torch.load(weights_only=True).
Every write goes to a temporary file that is renamed, so a kill never leaves a half checkpoint.
Processes side by side (``cli studies --jobs N``) that need the same checkpoint take turns: the first trains it
under an exclusive lock on ``<name>-<hash12>/.lock``, the others wait and then load it (``checkpoint_lock``).
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

__all__ = ["config_hash", "checkpoint_dir", "atomic_write_bytes", "atomic_write_json", "is_complete",
           "checkpoint_lock"]

FORMAT_VERSION = 1


def config_hash(config: dict) -> str:
    """12 hex digits of SHA-256 over the canonical JSON of ``config`` (and the checkpoint format version)."""
    blob = json.dumps({"format": FORMAT_VERSION, **config}, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def checkpoint_dir(name: str, config: dict, root: str | os.PathLike = "data/checkpoints") -> Path:
    return Path(root) / f"{name}-{config_hash(config)}"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path: str | os.PathLike, obj) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=2, sort_keys=True, default=str).encode())


def is_complete(ckpt: Path) -> bool:
    return (Path(ckpt) / "DONE").exists() and (Path(ckpt) / "ema.safetensors").exists()


@contextmanager
def checkpoint_lock(ckpt: Path, what: str = ""):
    """Hold an exclusive lock on ``ckpt/.lock`` while the checkpoint folder ``ckpt`` is built.

    A second process asking for the same checkpoint waits here (and says so on stderr) instead of training it
    twice; on return the caller checks ``is_complete`` again. No lock is taken inside a distributed launch (every
    rank trains the same checkpoint together) or where ``fcntl`` is missing (Windows).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        yield
        return
    lock = Path(ckpt) / ".lock"  # inside the folder: listings of the checkpoint root see folders only
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another process that is training {what or Path(ckpt).name}", file=sys.stderr,
                  flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if (Path(ckpt) / "DONE").exists():  # finished: the folder holds the checkpoint's files only
                lock.unlink(missing_ok=True)     # (a waiter holds the old file open; it then finds DONE)
            fcntl.flock(f, fcntl.LOCK_UN)
