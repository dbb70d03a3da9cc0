"""The suite's environment variables: a set one holds a valid value or the command stops naming it and what it takes;
an unset or empty one means the default."""
from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

__all__ = ["EnvironmentSettingError", "whole", "env_whole", "env_folder", "env_device", "writable"]


class EnvironmentSettingError(ValueError):
    """An environment variable of the suite holds a value it cannot use."""


def whole(text, minimum: int = 1) -> int | None:
    """``text`` as a whole number >= minimum; None when it is not one."""
    try:
        n = int(text)
    except (TypeError, ValueError):
        return None
    return n if n >= minimum else None


def env_whole(name: str, minimum: int = 1) -> int | None:
    """``$name`` as a whole number >= minimum; None when unset."""
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    n = whole(text, minimum)
    if n is None:
        raise EnvironmentSettingError(f"{name}={text!r} must be a whole number >= {minimum}; set it so "
                                      f"(e.g. {name}=1) or unset it for the default")
    return n


def env_folder(name: str, default: str) -> Path:
    """``$name`` as a folder that exists (``default`` when unset, which need not exist yet)."""
    text = os.environ.get(name, "").strip()
    if not text:
        return Path(default)
    if not Path(text).expanduser().is_dir():
        raise EnvironmentSettingError(f"{name}={text!r} is not a folder; point it at an existing folder or unset it "
                                      f"for the default ({default})")
    return Path(text).expanduser()


def env_device(name: str) -> str | None:
    """``$name`` as a torch device ("cpu", "cuda", "cuda:1", "mps"); None when unset."""
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    import torch

    try:
        torch.device(text)
    except (RuntimeError, ValueError):
        raise EnvironmentSettingError(f"{name}={text!r} is not a device; valid values: cpu, cuda, cuda:<index>, mps "
                                      f"(or unset it: a GPU when one is visible, else the CPU)") from None
    return text


@contextlib.contextmanager
def writable(name: str, folder: str | os.PathLike):
    """Within the block, a folder that cannot be written raises a PermissionError naming ``folder`` and the variable
    ``name`` that moves it; a file where the folder belongs, an EnvironmentSettingError naming both."""
    try:
        yield
    except OSError as err:
        if err.errno in (errno.ENOTDIR, errno.EEXIST) and not Path(folder).expanduser().is_dir():
            raise EnvironmentSettingError(f"{name}: {folder} is not a folder (a file stands on its path); point "
                                          f"{name} at a folder (one that does not exist yet is made) or unset it "
                                          f"for the default") from err
        if err.errno not in (errno.EPERM, errno.EACCES, errno.EROFS):
            raise
        raise PermissionError(f"cannot write under {folder} ({err.strerror}: {err.filename}); set {name} to a "
                              f"folder you can write (e.g. {name}=$HOME/spectral-collapse/{Path(str(folder)).name})"
                              ) from err
