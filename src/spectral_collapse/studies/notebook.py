"""Helpers for the study notebooks: find the repo root, set up offline charts, coerce papermill parameters.

papermill types ``-p`` values itself: ``-p seeds "[1,2]"`` arrives as the *string* '[1,2]' and ``-p dataset 123``
as an int (ecosystem-facts.md 2). ``coerce_list`` / ``coerce_str`` accept those forms and raise a clear
TypeError for anything else, before any long work starts.
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

__all__ = ["setup_notebook", "coerce_list", "coerce_str", "repo_root"]


def repo_root(start: str | os.PathLike | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding pyproject.toml and data/."""
    p = Path(start or os.getcwd()).resolve()
    for q in (p, *p.parents):
        if (q / "pyproject.toml").exists() and (q / "src" / "spectral_collapse").exists():
            return q
    return p


def setup_notebook(chdir: bool = True) -> Path:
    """chdir to the repo root (relative data/ paths work from notebooks/ or book/studies/), SVG charts, quiet warnings."""
    root = repo_root()
    if chdir:
        os.chdir(root)
    from ..plotting.render import setup_altair

    setup_altair("svg")
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    return root


def coerce_list(value, item_type=str, name: str = "parameter"):
    """None -> None; a list/tuple; a JSON list string '[1,2]'; a comma list '1,2'; or one scalar -> list."""
    if value is None:
        return None
    given = value
    if isinstance(value, str):
        s = value.strip()
        if s.lower() in ("", "none", "null"):
            return None
        if s.startswith("["):
            try:
                value = json.loads(s)
            except json.JSONDecodeError as e:
                raise TypeError(f"{name}={value!r} is not a valid list; write it as '[1, 2]' or '1,2'") from e
        else:
            value = [v.strip() for v in s.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)):
        value = [value]
    try:
        return [item_type(v) for v in value]
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name}={given!r}: every item must be of type {item_type.__name__}; "
                        f"write it as '[1, 2]' or '1,2'") from e


def coerce_str(value, name: str = "parameter") -> str:
    """Accept str (and ints, which papermill makes of names like '123'); reject lists / None with a clear error."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, tuple, dict)):
        raise TypeError(f"{name} must be a string, got {value!r}")
    return str(value)
