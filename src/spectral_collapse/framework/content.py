"""Signatures of the data and of the user's model folders, in each study's results key (``pipeline.runner``): editing
the data or a model makes stored results stale."""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from ..data import split_dataset
from ..digest import tree_sha256
from ..models.oracle import ORACLE
from .model_set import data_options, dataset_for
from .splits import SPLIT_SCHEME, SPLIT_STUDIES

__all__ = ["content_inputs"]

_BUNDLED = ("ihc-sr", "ihc-edges")


@functools.lru_cache(maxsize=16)
def _bundled_digest(profile: str, dataset: str, options: str) -> str:
    """16 hex digits of SHA-256 over the crops of a bundled dataset as this code builds them at the profile's size."""
    data = dataset_for(profile, dataset, options=json.loads(options))
    h = hashlib.sha256()
    for part in ("source", "target", "test_source", "test_target"):
        x = getattr(data, part, None)
        if x is not None:
            h.update(part.encode() + x.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def content_inputs(spec) -> dict:
    """Signatures (16 hex digits) of what a results file was computed from besides the spec's values: the data's
    images or crops ("data"), the split ("split") and the user's model folders ("model")."""
    out = {}
    kind, root = split_dataset(spec.dataset)
    if root is None and kind in _BUNDLED:
        out["data"] = _bundled_digest(spec.profile, spec.dataset, json.dumps(data_options(spec), sort_keys=True))
    elif root is not None:   # the names and bytes of the image files each folder holds
        from ..data.folder import IMAGE_EXTENSIONS

        opts = data_options(spec)
        folders = [Path(opts[k]) if opts.get(k) else Path(root).expanduser() / k
                   for k in ("source", "target", "test_source", "test_target")]
        sig = [(str(f), tree_sha256(f, [p for p in f.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS])
                if f.is_dir() else None) for f in folders]
        out["data"] = hashlib.sha256(repr(sig).encode()).hexdigest()[:16]
    if spec.study in SPLIT_STUDIES:
        out["split"] = SPLIT_SCHEME
    one, two = spec.get("model", None), spec.get("models", None)
    paths = [one] if one is not None else ([two.get("source"), two.get("target")] if isinstance(two, dict) else [])
    if paths == [ORACLE]:   # the exact Gaussian denoiser: fitted to the data, whose signature is above
        out["model"] = ORACLE
    elif paths:
        from ..models.hub import pipeline_folder

        sig = [(str(f), tree_sha256(f)) for f in (pipeline_folder(str(p)) for p in paths)]
        out["model"] = hashlib.sha256(repr(sig).encode()).hexdigest()[:16]
    return out
