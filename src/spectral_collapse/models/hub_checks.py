"""Checks of a user's diffusers folder, before any heavy work: weight files whole (safetensors headers only), weights
shaped as the config says (a network built on the meta device) and finite, and the memory a run needs (an estimate
that stops sizes off by orders of magnitude) within what the machine has or ``$SPECTRAL_COLLAPSE_MAX_MEMORY_GB``."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import torch

__all__ = ["ModelCheckError", "check_weight_files", "check_shapes", "check_finite", "check_memory", "memory_estimate",
           "fits", "MEMORY_ENV"]

MEMORY_ENV = "SPECTRAL_COLLAPSE_MAX_MEMORY_GB"
_GIB = 2 ** 30


class ModelCheckError(ValueError):
    """A user's model folder fails a check made before loading or running it; the message names the file and fix."""


def _shapes(path: Path) -> dict[str, tuple]:
    """{tensor name: shape} from a safetensors file's header; ModelCheckError for a file cut short or unreadable
    (safetensors checks that the header covers the whole file)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), "pt") as fh:
            return {k: tuple(fh.get_slice(k).get_shape()) for k in fh.keys()}
    except SafetensorError as err:
        raise ModelCheckError(f"{path} is truncated or not a safetensors file ({err}); download or save the model "
                              f"again") from None


def check_weight_files(folder: Path, parts, network: str | None = None) -> int:
    """Every ``*.safetensors`` under ``folder/<part>`` whole (headers only); returns the number of values in the
    safetensors files of ``network`` (the subfolder of the diffusers network; 0 when it has none)."""
    count = 0
    for part in parts:
        for f in sorted((folder / part).glob("*.safetensors")) if (folder / part).is_dir() else ():
            shapes = _shapes(f)
            if part == network:
                count += sum(math.prod(v) for v in shapes.values())
    return count


def check_shapes(sub: Path) -> None:
    """Each tensor of the safetensors files in the network folder ``sub`` shaped as a network built from its
    config.json expects (called just before the weights are loaded, after the loaders' own checks of the config)."""
    import diffusers

    files = sorted(sub.glob("*.safetensors"))
    if not files:
        return
    cfg = json.loads((sub / "config.json").read_text())
    cls = getattr(diffusers, str(cfg.get("_class_name")), None)
    try:
        with torch.device("meta"):
            expected = {k: tuple(v.shape) for k, v in cls.from_config(cfg).state_dict().items()}
    except Exception:   # a class this diffusers cannot build from the config: from_pretrained says why
        return
    for file in files:
        for key, got in _shapes(file).items():
            if key in expected and got != expected[key]:
                raise ModelCheckError(
                    f"{sub / 'config.json'} does not describe the weights in {file.name}: tensor {key} has shape "
                    f"{list(got)} in the file but {list(expected[key])} for the config; use the config.json saved "
                    f"with these weights (save_pretrained writes both)")


def check_finite(D: torch.nn.Module, where: str) -> None:
    """Every parameter of ``D`` finite; raises naming the tensors holding NaN or infinity."""
    bad = [name for name, p in D.named_parameters() if p.is_floating_point() and not bool(torch.isfinite(p).all())]
    if bad:
        names = ", ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise ModelCheckError(f"{where}: the weights hold NaN or infinite values ({len(bad)} tensors: {names}), so "
                              f"every output would be NaN; use weights saved before the training diverged")


def _side(cfg: dict) -> int | None:
    side = cfg.get("sample_size")
    side = side[0] if isinstance(side, (list, tuple)) else side
    return int(side) if isinstance(side, (int, float)) and side > 0 else None


def memory_estimate(cfg: dict, n_params: int, batch: int, itemsize: int = 4) -> tuple[float, float]:
    """(bytes of the weights, bytes of the activations of ``batch`` images) at ``itemsize`` bytes a value (4:
    float32), from a network config."""
    side = _side(cfg)
    per_image = 0.0
    if side and cfg.get("block_out_channels"):
        k = 4 * (int(cfg.get("layers_per_block") or 2) + 1)
        per_image = itemsize * k * sum(c * (side / 2 ** i) ** 2 for i, c in enumerate(cfg["block_out_channels"]))
    elif side and cfg.get("num_attention_heads") and cfg.get("attention_head_dim"):
        tokens = (side / int(cfg.get("patch_size") or 1)) ** 2
        width = int(cfg["num_attention_heads"]) * int(cfg["attention_head_dim"])
        per_image = itemsize * 8 * tokens * width * int(cfg.get("num_layers") or 1)
    return float(itemsize * n_params), per_image * batch


def _available(device) -> tuple[float, str]:
    """(bytes, in words) of the memory a run may use: ``$SPECTRAL_COLLAPSE_MAX_MEMORY_GB``, else what is free."""
    from ..environ import EnvironmentSettingError

    text = os.environ.get(MEMORY_ENV, "").strip()
    if text:
        try:
            gb = float(text)
        except ValueError:
            gb = -1.0
        if not gb > 0:
            raise EnvironmentSettingError(f"{MEMORY_ENV}={text!r} must be a number of GiB > 0, or unset")
        return gb * _GIB, f"{MEMORY_ENV}={text}"
    if torch.device(device).type == "cuda" and torch.cuda.is_available():
        return float(torch.cuda.mem_get_info(torch.device(device))[0]), "free on the GPU"
    import psutil

    return float(psutil.virtual_memory().available), "available memory"


def check_memory(cfg: dict, n_params: int, *, batch: int, where: str, device="cpu", itemsize: int = 4) -> None:
    """Refuse a run of ``batch`` images whose estimated memory (``memory_estimate``) exceeds what is available."""
    weights, acts = memory_estimate(cfg, n_params, batch, itemsize)
    bound, source = _available(device)
    if weights + acts <= bound:
        return
    side = _side(cfg)
    raise ModelCheckError(
        f"{where} declares sample_size {side}: a batch of {batch} needs about {(weights + acts) / _GIB:.0f} GiB "
        f"(weights {weights / _GIB:.1f} GiB), above the {bound / _GIB:.1f} GiB {source}. If the model was trained at "
        f"a smaller size, write that size as sample_size in {where}; else run it on a machine with more memory (set "
        f"{MEMORY_ENV} to allow more)")


def fits(D, *, batch: int, device="cpu") -> None:
    """``check_memory`` for a loaded denoiser of ``from_diffusers`` run on batches of ``batch`` images."""
    params = list(D.parameters())
    check_memory(dict(D.net.config), sum(p.numel() for p in params), batch=batch, where=f"{D.checkpoint}/config.json",
                 device=device, itemsize=params[0].element_size() if params else 4)
