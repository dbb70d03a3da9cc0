"""Trained weights shipped with the repository (``data/weights/<checkpoint folder>/``: EMA weights in float16, the JSON
files, ``sha256.json``): ``install`` builds a checkpoint from them, ``export`` writes them."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save, save_file

from ..digest import read_sha256
from .cache import CheckpointCorrupt, atomic_write_bytes, atomic_write_json, write_weight_hashes

__all__ = ["SHIPPED_ROOT", "DEFAULT_SHIPPED_ROOT", "shipped_root", "shipped_dir", "install", "export", "shipped_size",
           "shipping", "replaced", "refresh"]

DEFAULT_SHIPPED_ROOT = "data/weights"
SHIPPED_ROOT = os.environ.get("SPECTRAL_COLLAPSE_WEIGHTS", DEFAULT_SHIPPED_ROOT)
_MODEL = ("ema.safetensors", "ema.fp16.safetensors")
_VAE = ("vae/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.fp16.safetensors")
_KEEP = ("config.json", "log.json", "latent_space.json", "vae/config.json")
HASHES = "sha256.json"
INSTALLED_FROM = "shipped.sha256.json"  # in an installed checkpoint: the hashes of the shipped form it was built from


def shipped_dir(ckpt: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """Where the shipped form of checkpoint folder ``ckpt`` lives (found by the folder's name)."""
    return Path(shipped_root() if root is None else root) / Path(ckpt).name


def shipped_root() -> Path:
    """The folder of the shipped weights: ``$SPECTRAL_COLLAPSE_WEIGHTS`` (an existing folder, made when shipping),
    else ``SHIPPED_ROOT`` (read when called); trainers ask first, so a refused value leaves no folder behind."""
    from ..environ import env_folder

    given = os.environ.get("SPECTRAL_COLLAPSE_WEIGHTS", "").strip()
    if not given:
        return Path(SHIPPED_ROOT)
    if os.environ.get("SPECTRAL_COLLAPSE_SHIP_WEIGHTS", "") not in ("", "0"):
        Path(given).expanduser().mkdir(parents=True, exist_ok=True)
    return env_folder("SPECTRAL_COLLAPSE_WEIGHTS", DEFAULT_SHIPPED_ROOT)


def _weights(folder: Path) -> tuple[str, str]:
    """(full-precision name, float16 name) of the weight file of a checkpoint or shipped folder."""
    return _VAE if (folder / "vae").is_dir() else _MODEL


def shipping(ckpt: str | os.PathLike, root: str | os.PathLike | None = None) -> bool:
    """Whether ``ckpt`` is to be exported: ``$SPECTRAL_COLLAPSE_SHIP_WEIGHTS`` is set and it is not shipped yet."""
    flag = os.environ.get("SPECTRAL_COLLAPSE_SHIP_WEIGHTS", "")
    return flag not in ("", "0") and not (shipped_dir(ckpt, root) / HASHES).is_file()


def install(ckpt: str | os.PathLike, root: str | os.PathLike | None = None) -> bool:
    """Build the finished checkpoint ``ckpt`` from its shipped form, checked against ``sha256.json``; True if done."""
    ckpt, src = Path(ckpt), shipped_dir(ckpt, root)
    if not (src / HASHES).is_file():
        return False
    if ckpt.resolve() == src.resolve():  # installing would empty the shipped copy before reading it
        raise ValueError(f"the checkpoint folder {ckpt} is the shipped copy of its weights; train and load checkpoints "
                         f"under another root (the default is data/checkpoints), never under {src.parent}")
    recorded = json.loads((src / HASHES).read_text())
    for name, digest in recorded.items():
        if not (src / name).is_file() or read_sha256(src / name) != digest:
            raise CheckpointCorrupt(f"{src / name} is missing or does not match {src / HASHES}; restore it from the "
                                    f"repository (git checkout -- {src}) or delete {src} to train the model instead")
    full, half = _weights(src)
    ckpt.mkdir(parents=True, exist_ok=True)
    for p in ckpt.iterdir():  # emptied, except the lock file (held by the process installing into it)
        if p.name != ".lock":
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    _copy_kept(src, ckpt)
    atomic_write_bytes(ckpt / full, save({k: v.float().contiguous() for k, v in load_file(str(src / half)).items()}))
    write_weight_hashes(ckpt, (full,))
    shutil.copyfile(src / HASHES, ckpt / INSTALLED_FROM)
    atomic_write_bytes(ckpt / "DONE", b"")   # last: a folder without it is never loaded
    return True


def replaced(ckpt: str | os.PathLike, root: str | os.PathLike | None = None) -> bool:
    """Whether ``ckpt`` must be installed again: other weights are shipped under its name than it was built from."""
    ckpt, src = Path(ckpt), shipped_dir(ckpt, root)
    if not (src / HASHES).is_file() or not (ckpt / "DONE").exists():
        return False
    try:
        return (ckpt / INSTALLED_FROM).read_bytes() != (src / HASHES).read_bytes()
    except OSError:
        return True


def refresh(ckpt: str | os.PathLike, root: str | os.PathLike | None = None) -> bool:
    """Install ``ckpt`` again when ``replaced``; True when it did. Call it holding the checkpoint's lock."""
    return replaced(ckpt, root) and install(ckpt, root)


def _copy_kept(src: Path, dest: Path) -> None:
    """Copy the JSON files (``_KEEP``) that ``src`` has into ``dest``."""
    for name in _KEEP:
        if (src / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / name, dest / name)


def export(ckpt: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """Write the shipped form of the finished checkpoint ``ckpt`` and reinstall ``ckpt`` from it; its folder."""
    ckpt = Path(ckpt)
    if not (ckpt / "DONE").exists():
        raise FileNotFoundError(f"{ckpt} is not a finished checkpoint (no DONE file); train it first")
    full, half = _weights(ckpt)
    dest = shipped_dir(ckpt, root)
    shutil.rmtree(dest, ignore_errors=True)
    (dest / half).parent.mkdir(parents=True, exist_ok=True)
    tensors = load_file(str(ckpt / full))
    halves = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in tensors.items()}
    bad = [k for k, v in halves.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ValueError(f"weights {bad[:3]} are not finite in float16; they cannot be shipped in that precision")
    save_file(halves, str(dest / half))
    _copy_kept(ckpt, dest)
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    atomic_write_json(dest / HASHES, {name: read_sha256(dest / name) for name in files})
    install(ckpt, root)
    return dest


def shipped_size(root: str | os.PathLike | None = None) -> int:
    """Bytes of every shipped file under ``root``."""
    return sum(p.stat().st_size for p in Path(root or SHIPPED_ROOT).rglob("*") if p.is_file())
