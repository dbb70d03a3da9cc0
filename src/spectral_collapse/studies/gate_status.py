"""The gate's verdict on a result's models as the reader is told it: the verdict of the gate report stored now with
the same weights (``current_status``), and the table of a result's models a chapter shows above its numbers
(``gate_table``)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .gate import GATE_FILE
from .quality import GATE_VERSION, GateReport

__all__ = ["current_status", "gate_table"]


def current_status(name: str, checkpoint_root=None, weights_root=None) -> tuple[bool, str] | None:
    """(passed, failures in words) of the gate report stored with checkpoint ``name`` (its folder under the
    checkpoint root, else its shipped copy) when that report was made by this version of the gate; None when there
    is none (a user's model, or a report of an older gate version)."""
    from ..train.shipped import shipped_dir
    from .models import CHECKPOINT_ROOT

    folder = Path(checkpoint_root or CHECKPOINT_ROOT) / name
    for f in (folder / GATE_FILE, shipped_dir(folder, weights_root) / GATE_FILE):
        try:
            d = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        try:
            kind = json.loads((f.parent / "config.json").read_text())["model"]["parameterization"]
        except (OSError, ValueError, KeyError, TypeError):
            kind = None
        if not isinstance(d, dict):
            continue
        if kind == "flow" and (d.get("settings") or {}).get("deterministic") != "Heun":
            continue  # a flow model is judged with Heun's steps (_sampler_setting); a report made otherwise is not
        if d.get("version") == GATE_VERSION and "passed" in d:
            rep = GateReport.from_dict(d)
            return bool(rep.passed), ("" if rep.passed else rep.describe_failures())
    return None


def gate_table(attrs: dict) -> pd.DataFrame:
    """The models a result was computed with, one row each: model (its name, without the content hash), gate
    ("passes" / "below the gate": the verdict of the gate report stored now with the same weights, else the one
    recorded with the result), recorded (the verdict recorded when the result was computed) and failures (the failed
    checks, thresholds in the book's notation). Empty when the result records no model."""
    try:
        used = json.loads(attrs.get("model_gate") or "null")
    except (TypeError, ValueError):
        used = None
    from ..text import notation   # "must be ≤ 0.3"
    from ..train.cache import model_name  # a model by its name; the checkpoint's content hash stays in the file

    rows = []
    for k, v in (used or {}).items():
        now = current_status(k)
        passed, failures = (now if now is not None else (bool(v.get("passed")), v.get("failures") or ""))
        rows.append({"model": model_name(k), "gate": _word(passed), "recorded": _word(v.get("passed")),
                     "failures": notation(str(failures or ""))})
    return pd.DataFrame(rows, columns=["model", "gate", "recorded", "failures"])


def _word(passed) -> str:
    return "passes" if passed else "below the gate"
