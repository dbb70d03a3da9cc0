"""The gate's verdicts read from the reports kept with the weights (``studies.gate`` writes quality.json beside each
checkpoint and in its shipped copy): the table of a result's models a chapter shows above its numbers (``gate_table``),
and the gate tables, in the columns of ``gate_frame``, of the models a study names by folder and of the training-seed
replicates."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..text import notation
from ..train.cache import model_name
from ..train.shipped import shipped_dir
from .gate import GATE_FILE, read_json
from .quality import CHECKS, GATE_VERSION, THRESHOLDS, GateReport

__all__ = ["current_status", "gate_table", "stored_gate_table", "replicate_gate_table", "stored_report",
           "GATE_HEADERS", "gate_row", "column_digits", "most_digits", "gate_frame"]


def stored_report(folder: str, weights_root=None) -> tuple[GateReport | None, dict]:
    """(gate report, config) of a checkpoint folder, else of its shipped copy; (None, {}) when neither exists."""
    rep, cfg = None, {}
    for d in (Path(folder), shipped_dir(folder, weights_root)):
        try:
            rep = rep or GateReport.from_dict(read_json(d / GATE_FILE))
        except (TypeError, KeyError):
            pass
        cfg = cfg or read_json(d / "config.json") or {}
    return rep, cfg


def current_status(name: str, checkpoint_root=None, weights_root=None) -> tuple[bool, str] | None:
    """(passed, failures in words) of the gate report stored with checkpoint ``name`` (its folder under the
    checkpoint root, else its shipped copy) when that report was made by this version of the gate; None when there
    is none (a user's model, or a report of an older gate version)."""
    from .models import CHECKPOINT_ROOT

    folder = Path(checkpoint_root or CHECKPOINT_ROOT) / name
    for d in (folder, shipped_dir(folder, weights_root)):
        d_rep = read_json(d / GATE_FILE)
        if not isinstance(d_rep, dict):
            continue
        kind = ((read_json(d / "config.json") or {}).get("model") or {}).get("parameterization")
        if kind == "flow" and (d_rep.get("settings") or {}).get("deterministic") != "Heun":
            continue  # a flow model is judged with Heun's steps (gate.trained_report); a report made otherwise is not
        if d_rep.get("version") == GATE_VERSION and "passed" in d_rep:
            rep = GateReport.from_dict(d_rep)
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
    rows = []
    for k, v in (used or {}).items():
        now = current_status(k)
        passed, failures = (now if now is not None else (bool(v.get("passed")), v.get("failures") or ""))
        rows.append({"model": model_name(k), "gate": _word(passed), "recorded": _word(v.get("passed")),
                     "failures": notation(str(failures or ""))})
    return pd.DataFrame(rows, columns=["model", "gate", "recorded", "failures"])


def _word(passed) -> str:
    return "passes" if passed else "below the gate"


def stored_gate_table(folders: dict[str, str], weights_root=None) -> pd.DataFrame:
    """The gate table of {name: checkpoint folder} from their stored reports; "not stored" where none is."""
    rows = []
    for key, folder in folders.items():
        rep, cfg = stored_report(folder, weights_root)
        steps = (cfg.get("train") or {}).get("steps")
        rows.append(gate_row(key, rep, steps) if rep is not None else {"model": key, "steps": steps,
                                                                        "gate": "not stored"})
    return gate_frame(rows).fillna("—")


def replicate_gate_table(profile: str, weights_root=None, checkpoint_root=None) -> pd.DataFrame:
    """The stored gate of every training-seed replicate (``SEED_REPLICATES``), without training any."""
    from .models import CHECKPOINT_ROOT, SEED_REPLICATES, checkpoint_name

    root = Path(checkpoint_root or CHECKPOINT_ROOT)

    folders = {r.key: str(root / checkpoint_name(profile, r)) for r in SEED_REPLICATES}
    return stored_gate_table({model_name(f): f for f in folders.values()}, weights_root)


GATE_HEADERS = {"memorisation": "nearest crop"}


def gate_row(key: str, rep: GateReport, steps) -> dict:
    """A gate-table row, unformatted: the verdict, the model's training steps and per check (worst value, passed)."""
    t = rep.table().set_index("check")
    return {"model": key, "gate": "passes" if rep.passed else "fails", "steps": steps,
            **{c: (t.loc[c, "worst"], t.loc[c, "passed"]) if c in t.index else None for c in CHECKS}}


def column_digits(values, figures: int = 2, most: int = 4) -> int:
    """A column's decimals: ``figures`` significant figures of its smallest non-zero value, 2 to ``most``."""
    v = np.abs(np.asarray([x for x in values if isinstance(x, (int, float)) and np.isfinite(x) and x != 0], float))
    if not len(v):
        return 2
    return int(min(most, max(2, figures - 1 - int(np.floor(np.log10(v.min()))))))


def most_digits(check: str) -> int:
    """Two decimals beyond the check's threshold's own (0.1 -> 3, 0.02 -> 4, 2 -> 2)."""
    text = f"{THRESHOLDS[check]:g}"
    return (len(text.split(".")[1]) if "." in text else 0) + 2


def gate_frame(rows: list[dict]) -> pd.DataFrame:
    """``gate_row``s as shown: the verdict, then each check's worst value at one precision per column, a failure
    marked "✗", "n/a" where not judged, "∞" if infinite, "—" where the model has no such check."""
    nb = "\u00a0"
    out = [{k: r.get(k) for k in ("model", "gate")} for r in rows]
    for c in CHECKS:
        cells = [r.get(c) for r in rows]
        digits = column_digits([x[0] for x in cells if x is not None and x[1] is not None], most=most_digits(c))
        for o, x in zip(out, cells):
            if x is None:
                o[c] = "—"
            elif x[1] is None or (isinstance(x[0], float) and np.isnan(x[0])):
                o[c] = "n/a"
            else:
                o[c] = ("∞" if np.isinf(x[0]) else f"{x[0]:.{digits}f}") + ("" if x[1] else f"{nb}✗")
    return (pd.DataFrame(out, columns=["model", "gate", *CHECKS]).set_index("model")
            .rename(columns=GATE_HEADERS))
