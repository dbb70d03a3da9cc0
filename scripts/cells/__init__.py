"""One module per study notebook: CELLS (kind, source[, tags]), TITLE, DATASETS, ORDER.

Add a study by adding a module here and running `python scripts/make_notebooks.py`.
"""
import importlib
import pkgutil
from pathlib import Path


def notebooks() -> dict:
    out = {}
    for m in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not m.name.startswith("_"):
            out[m.name] = importlib.import_module(f"cells.{m.name}")
    return out
