"""Checkpoint folders ``<name>-<hash12>/`` named by a hash of the full configuration: config.json, weights, their
``weights.sha256.json``, log.json, DONE, each written atomically, one build at a time; resume snapshots."""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import torch

from ..digest import file_sha256, read_sha256
from .losses import BANDS

__all__ = ["config_hash", "checkpoint_dir", "atomic_write_bytes", "atomic_write_json", "is_complete",
           "checkpoint_lock", "CheckpointCorrupt", "read_json", "retrain_fix", "WEIGHT_FILES", "HASH_FILE",
           "write_weight_hashes", "check_weight_hashes", "checkpoint_digest", "DAMAGED",
           "HASHED_NAME", "model_name", "save_weights", "read_weights", "write_resume", "resume",
           "restore_generator"]

FORMAT_VERSION = 1
WEIGHT_FILES = ("model.safetensors", "ema.safetensors")
HASH_FILE = "weights.sha256.json"


class CheckpointCorrupt(ValueError):
    """A file of a checkpoint folder cannot be read, or its content is not what was written."""


def retrain_fix(ckpt: str | os.PathLike) -> str:
    """How to get rid of a broken checkpoint: delete its folder and run again (it is trained again)."""
    return (f"delete the folder {ckpt} and run the same command again (python -m spectral_collapse.cli train, or "
            "the study that needs the model): the model is trained again")


def read_json(path: str | os.PathLike, fix: str):
    """The JSON content of ``path``; a file that cannot be read or parsed raises CheckpointCorrupt naming it."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise CheckpointCorrupt(f"{path} cannot be read ({type(err).__name__}: {err}); {fix}") from None


def write_weight_hashes(ckpt: str | os.PathLike, names=WEIGHT_FILES) -> dict:
    """Write ``weights.sha256.json`` ({weight file: SHA-256}) for the weight files ``names`` present in ``ckpt``."""
    ckpt = Path(ckpt)
    hashes = {name: read_sha256(ckpt / name) for name in names if (ckpt / name).exists()}
    atomic_write_json(ckpt / HASH_FILE, hashes)
    return hashes


def check_weight_hashes(ckpt: str | os.PathLike, names=None) -> dict:
    """Check the weight files ``names`` (None: every recorded and every ``*.safetensors`` file) against
    ``weights.sha256.json``, returned; anything missing or different raises CheckpointCorrupt naming it."""
    ckpt = Path(ckpt)
    if not (ckpt / HASH_FILE).exists():
        raise CheckpointCorrupt(f"{ckpt} has no {HASH_FILE}, so its weights cannot be verified and are not used; "
                                f"{retrain_fix(ckpt)}")
    recorded = read_json(ckpt / HASH_FILE, retrain_fix(ckpt))
    if not isinstance(recorded, dict) or not recorded:
        raise CheckpointCorrupt(f"{ckpt / HASH_FILE} does not hold a table of hashes; {retrain_fix(ckpt)}")
    if names is None:   # every recorded file, and every weight file present: a trimmed record hides none
        names = sorted(set(recorded) | {f.name for f in ckpt.glob("*.safetensors")})
    for name in names:
        if name not in recorded:
            raise CheckpointCorrupt(f"{ckpt / HASH_FILE} records no hash for {name}; {retrain_fix(ckpt)}")
        if not (ckpt / name).exists():
            raise CheckpointCorrupt(f"{ckpt / name} is missing (recorded in {HASH_FILE}); {retrain_fix(ckpt)}")
        got = file_sha256(ckpt / name)
        if got != recorded[name]:
            raise CheckpointCorrupt(
                f"{ckpt / name} is not the file written when training finished: its SHA-256 is {got}, "
                f"{HASH_FILE} records {recorded[name]} (the file was damaged or altered); {retrain_fix(ckpt)}"
            )
    return recorded


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
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def atomic_write_json(path: str | os.PathLike, obj) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=2, sort_keys=True, default=str).encode())


def is_complete(ckpt: Path) -> bool:
    """Whether ``ckpt`` is finished: DONE is written last, after every weight file."""
    return (Path(ckpt) / "DONE").exists()


@contextlib.contextmanager
def checkpoint_lock(ckpt: Path, what: str = ""):
    """Hold an exclusive lock on ``ckpt/.lock`` while ``ckpt`` is built (none in a distributed launch; POSIX)."""
    import fcntl

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


def checkpoint_digest(folder: str | os.PathLike) -> str | None:
    """Digest of a checkpoint's verified weight hashes; ``DAMAGED``; None without weights or for diffusers folders."""
    folder = Path(folder)
    if (folder / HASH_FILE).is_file():
        try:
            check_weight_hashes(folder)
        except CheckpointCorrupt:
            return DAMAGED
        return hashlib.sha256((folder / HASH_FILE).read_bytes()).hexdigest()
    with contextlib.suppress(OSError, ValueError, TypeError):  # a diffusers folder: config.json has _diffusers_version
        if "_diffusers_version" in json.loads((folder / "config.json").read_text()):
            return None
    return DAMAGED if any(folder.glob("*.safetensors")) or any(folder.glob("*/*.safetensors")) else None


DAMAGED = "damaged: weights do not match their recorded hashes"


HASHED_NAME = re.compile(r"^(?P<name>[\w.+-]+?)-[0-9a-f]{12}$")   # a checkpoint folder: name + 12-digit content hash


def model_name(path) -> str:
    """A checkpoint folder (path or name) as a reader knows the model: without the 12-digit content hash."""
    text = str(path).rstrip("/")
    m = HASHED_NAME.match(Path(text).name)
    return m.group("name") if m else text


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


def write_resume(ckpt: Path, net, ema, opt, sched, step, gen, log, heldout, seconds: float) -> None:
    """Write a resume point: fill a temp folder, swap it in (the old kept as resume.old); seconds: time to ``step``."""
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


_STATE_KEYS = {"step", "optimizer", "scheduler", "rng", "log", "heldout", "seconds"}


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


def resume(ckpt: Path, net, ema, opt, gen: torch.Generator, sched=None) -> tuple[int, list, list, float]:
    """Load the newest readable resume snapshot (else the one before, warning) into the networks, optimizer, scheduler
    and generator: (step, loss log, held-out log, seconds so far), or (0, [], [], 0.0) without one."""
    fix = f"delete {ckpt / 'resume'} and {ckpt / 'resume.old'} to restart this training from step 0"
    problems = []
    for res in (ckpt / "resume", ckpt / "resume.old"):
        if not res.is_dir():
            continue
        try:
            net_sd, ema_sd, st = _read_resume(res, fix)
        except CheckpointCorrupt as err:
            problems.append(str(err).removesuffix(f"; {fix}"))
            continue
        if problems:
            warnings.warn(f"{problems[0]}; resuming from the previous snapshot {res} (step {int(st['step'])})",
                          RuntimeWarning, stacklevel=2)
        net.load_state_dict(net_sd)
        ema.load_state_dict(ema_sd)
        opt.load_state_dict(st["optimizer"])
        if sched is not None:
            sched.load_state_dict(st["scheduler"])
        restore_generator(gen, st["rng"])
        return (int(st["step"]), [tuple(r) for r in st["log"].tolist()], [list(r) for r in st["heldout"].tolist()],
                float(st["seconds"]))
    if problems:
        raise CheckpointCorrupt(f"cannot resume the training in {ckpt}: {'; '.join(problems)}; {fix}")
    return 0, [], [], 0.0


def restore_generator(gen: torch.Generator, state: torch.Tensor) -> None:
    """Put a snapshot's random state back into ``gen``; another kind of generator's seeds it from a hash, warning."""
    if state.numel() == gen.get_state().numel():
        gen.set_state(state)
        return
    seed = int.from_bytes(hashlib.blake2b(state.numpy().tobytes(), digest_size=8).digest(), "little") >> 1
    warnings.warn(f"the resume snapshot's random state ({state.numel()} bytes) is from another kind of generator than "
                  f"this run's {gen.device.type} one; its draws continue from a seed derived from it", RuntimeWarning,
                  stacklevel=2)
    gen.manual_seed(seed)
