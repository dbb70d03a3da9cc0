"""Offline policy for the pretrained networks behind LPIPS (``$TORCH_HOME/hub/checkpoints/``) and FID (/tmp or
``$SPECTRAL_COLLAPSE_INCEPTION``), downloaded only where allowed (ARCHITECTURE.md: Offline)."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import torch

from ..data.download import OFFLINE_ENV, is_offline

__all__ = [
    "ALEXNET_FILE", "ALEXNET_URL", "INCEPTION_FILE", "INCEPTION_URL", "INCEPTION_ENV", "ON_MISSING",
    "MissingWeightsError", "WeightStatus", "hub_checkpoint", "inception_file", "ensure_weights", "lpips_model",
    "inception_model", "plain_status",
]

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
ALEXNET_URL = f"https://download.pytorch.org/models/{ALEXNET_FILE}"
INCEPTION_FILE = "inception-2015-12-05.pt"
INCEPTION_URL = f"https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/{INCEPTION_FILE}"
INCEPTION_ENV = "SPECTRAL_COLLAPSE_INCEPTION"  # a file, or a folder holding inception-2015-12-05.pt
ON_MISSING = ("nan", "raise")


class MissingWeightsError(RuntimeError):
    """A pretrained metric network is not on disk and could not (or may not) be downloaded (on_missing="raise")."""


@dataclass(frozen=True)
class WeightStatus:
    """Whether a weights file is usable; ``reason`` is the text stored beside NaN metrics when it is not."""

    name: str        # what the file is for, e.g. "LPIPS AlexNet backbone"
    path: str        # where it was looked for
    available: bool
    reason: str      # "ok: ..." or "unavailable: ..."

    def __str__(self) -> str:
        return self.reason


def hub_checkpoint(filename: str) -> Path:
    """``$TORCH_HOME/hub/checkpoints/<filename>`` (torch.hub's cache, read from the environment at call time)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def inception_file(path: str | os.PathLike | None = None) -> Path:
    """The Inception file: ``path``, else $SPECTRAL_COLLAPSE_INCEPTION, else clean-fid's place in /tmp."""
    p = Path(path or os.environ.get(INCEPTION_ENV) or Path("/tmp") / INCEPTION_FILE).expanduser()
    return p / INCEPTION_FILE if p.is_dir() else p


def _shown(folder: Path) -> str:
    """A folder as a reason shows it: under the home folder as ~/..., so published pages name no account's path."""
    try:
        return "~/" + folder.resolve().relative_to(Path.home().resolve()).as_posix()
    except ValueError:
        return str(folder)


def _fail(status: WeightStatus, on_missing: str) -> WeightStatus:
    if on_missing == "raise":
        raise MissingWeightsError(f"{status.reason}. Put the file there (see spectral_collapse.metrics.weights) "
                                  f"or allow downloads ({OFFLINE_ENV}=0 / allow_download=True)")
    return status


def ensure_weights(path: str | os.PathLike, url: str, *, name: str, allow_download: bool | None = None,
                   on_missing: str = "nan", timeout: float = 30.0, hash_prefix: str | None = None) -> WeightStatus:
    """Find ``path``, or download ``url`` to it when allowed; a WeightStatus, or MissingWeightsError in strict mode.
    ``hash_prefix`` is checked on download (torch.hub's SHA-256 prefix check); an existing file is trusted."""
    if on_missing not in ON_MISSING:
        raise ValueError(f"on_missing must be one of {ON_MISSING}, got {on_missing!r}")
    path = Path(path)
    where = f"{path.name} not in {_shown(path.parent)}"
    if path.is_file():
        return WeightStatus(name, str(path), True, f"ok: {name} from {path}")
    allowed = not is_offline() if allow_download is None else bool(allow_download)
    if not allowed:
        why = "allow_download=False" if allow_download is False else f"offline: {OFFLINE_ENV}=1"
        return _fail(WeightStatus(name, str(path), False, f"unavailable: {where} ({why})"), on_missing)
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # urllib in torch.hub has none: a network dropping packets would hang it
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(path), hash_prefix=hash_prefix, progress=False)
    except Exception as err:  # any network / HTTP / hash failure (torch.hub removes its own .partial file)
        reason = f"unavailable: {where}; download from {url} failed ({type(err).__name__}: {err})"
        return _fail(WeightStatus(name, str(path), False, reason), on_missing)
    finally:
        socket.setdefaulttimeout(old)
    return WeightStatus(name, str(path), True, f"ok: {name} downloaded to {path}")


_MODELS: dict[tuple, object] = {}


def lpips_model(*, allow_download: bool | None = None, on_missing: str = "nan"):
    """(lpips.LPIPS with the pretrained AlexNet backbone, cached, or None when missing; status)."""
    status = ensure_weights(hub_checkpoint(ALEXNET_FILE), ALEXNET_URL, name="LPIPS AlexNet backbone",
                            allow_download=allow_download, on_missing=on_missing, hash_prefix="7be5be79")
    key = ("lpips", status.path)
    if status.available and key not in _MODELS:
        import warnings

        import lpips

        with warnings.catch_warnings():  # torchvision's "pretrained is deprecated" warning
            warnings.simplefilter("ignore")
            _MODELS[key] = lpips.LPIPS(net="alex", pretrained=True, verbose=False).eval()
    return (_MODELS[key] if status.available else None), status


def inception_model(path: str | os.PathLike | None = None, *, allow_download: bool | None = None,
                    on_missing: str = "nan", device: str | torch.device = "cpu"):
    """(TorchScript Inception of clean-fid, status), or (None, status) when the file is missing or unreadable."""
    f = inception_file(path)
    status = ensure_weights(f, INCEPTION_URL, name="clean-fid Inception", allow_download=allow_download,
                            on_missing=on_missing)
    key = ("inception", str(f), str(device))
    if status.available and key not in _MODELS:
        try:
            _MODELS[key] = torch.jit.load(str(f), map_location=device).eval()
        except RuntimeError as err:  # a truncated or foreign file: "PytorchStreamReader failed reading zip archive"
            why = f"unavailable: {f} is not a readable TorchScript file ({err})"
            return None, _fail(WeightStatus(status.name, str(f), False, why), on_missing)
    return (_MODELS[key] if status.available else None), status


def plain_status(reason) -> str:
    """A stored weights status as a page shows it: "computed", "not computed (weights unreadable)" or "not computed
    (weights not available offline)"; other text (e.g. "not computed: no ground truth") is returned as it is."""
    text = str(reason or "").strip()
    if text.startswith("ok"):
        return "computed"
    if not text.startswith("unavailable"):
        return text
    return "not computed (weights unreadable)" if "not a readable" in text else \
        "not computed (weights not available offline)"
