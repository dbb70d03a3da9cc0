"""The gate tables of models read from the report each keeps with its weights (``studies.gate`` writes quality.json
beside the checkpoint and in its shipped copy), in the columns of ``report.model_quality.gate_frame``: the models a
study names by folder, and the training-seed replicates."""
from __future__ import annotations

import json

import pandas as pd

from ..studies.quality import GateReport
from .model_quality import _gate_row, gate_frame

__all__ = ["stored_gate_table", "replicate_gate_table"]


def _stored_report(folder: str, weights_root=None) -> tuple[GateReport | None, dict]:
    """(gate report, config) a checkpoint folder keeps: its own quality.json and config.json, else its shipped
    copy's (data/weights/<name>); (None, {}) when neither exists."""
    from pathlib import Path

    from ..studies.gate import GATE_FILE
    from ..train.shipped import shipped_dir

    rep, cfg = None, {}
    for d in (Path(folder), shipped_dir(folder, weights_root)):
        try:
            rep = rep or GateReport.from_dict(json.loads((d / GATE_FILE).read_text()))
        except (OSError, ValueError, KeyError):
            pass
        try:
            cfg = cfg or json.loads((d / "config.json").read_text())
        except (OSError, ValueError):
            pass
    return rep, cfg


def stored_gate_table(folders: dict[str, str], weights_root=None) -> pd.DataFrame:
    """The gate table of models given as {name: checkpoint folder}, read from the gate report each keeps with its
    weights (``studies.gate`` writes quality.json beside the checkpoint and its shipped copy): the same columns as
    ``gate_table``, and "not stored" for a model whose report is not there."""
    rows = []
    for key, folder in folders.items():
        rep, cfg = _stored_report(folder, weights_root)
        steps = (cfg.get("train") or {}).get("steps")
        rows.append(_gate_row(key, rep, steps) if rep is not None else {"model": key, "steps": steps,
                                                                        "gate": "not stored"})
    return gate_frame(rows).fillna("—")


def replicate_gate_table(profile: str, weights_root=None, checkpoint_root=None) -> pd.DataFrame:
    """The gate of every training-seed replicate (``studies.models.SEED_REPLICATES``: the main eps and EDM models of
    each bundled dataset trained again from seeds 1 and 2), read from the report stored with its weights; the
    folder of each is computed from its configuration (``checkpoint_name``), without training it."""
    from pathlib import Path

    from ..studies.models import CHECKPOINT_ROOT, SEED_REPLICATES, checkpoint_name

    root = Path(checkpoint_root or CHECKPOINT_ROOT)
    from .settings import model_name

    folders = {r.key: str(root / checkpoint_name(profile, r)) for r in SEED_REPLICATES}
    return stored_gate_table({model_name(f): f for f in folders.values()}, weights_root)
