"""The gate's verdict on a result's models as the reader is told it: the verdict of the gate report stored now with
the same weights (``current_status``), and the banner a chapter shows above its numbers (``gate_banner``)."""
from __future__ import annotations

import json
from pathlib import Path

from .gate import GATE_FILE, GATE_LABEL
from .quality import GATE_VERSION, GateReport

__all__ = ["current_status", "gate_banner"]


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


def gate_banner(attrs: dict, label: str = GATE_LABEL) -> str:
    """Markdown naming the models a result was computed with and their gate status, with a warning when a model
    below the gate was allowed; '' when the result records none. It links to the page that carries the target
    ``label`` (the chapter *Are the models good enough?*, or a report's *Is your model good enough?*), whatever
    that page's file is called."""
    try:
        used = json.loads(attrs.get("model_gate") or "null")
    except (TypeError, ValueError):
        used = None
    if not used:
        return ""
    from ..train.cache import model_name  # a model by its name; the checkpoint's content hash stays in the file

    now = {model_name(k): current_status(k) for k in used}
    used = {model_name(k): v for k, v in used.items()}
    changed = {k: v for k, v in used.items() if now[k] is not None and now[k][0] != bool(v.get("passed"))}
    for k in changed:  # the gate's current report on the same weights decides what the reader is told
        used[k] = {**used[k], "passed": now[k][0], "failures": now[k][1]}
    weak = {k: v for k, v in used.items() if not v.get("passed")}
    parts = [f"`{k}` ({'passes' if v.get('passed') else 'below the gate'})" for k, v in used.items()]
    text = f"**Models** (see {{ref}}`Are the models good enough? <{label}>`): " + ", ".join(parts) + "."
    if changed:
        text += "".join(
            f" `{k}`: the gate's current report on the same weights {'passes it' if used[k]['passed'] else 'has it below the gate'}; "
            f"the report recorded when these results were computed, made under other gate settings, "
            f"{'passed it' if v.get('passed') else 'had it below the gate'}."
            for k, v in changed.items())
    if weak:
        from ..text import notation   # the failed checks' thresholds in the book's notation ("must be ≤ 0.3")

        text = ("```{caution}\nComputed with a model below the quality gate (allowed for this run): "
                + "; ".join(f"{k}: {notation(str(v.get('failures')))}" for k, v in weak.items())
                + ". Its numbers describe an under-trained model, not the data.\n```\n\n" + text)
    return text
