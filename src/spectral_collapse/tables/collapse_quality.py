"""Collapse against model quality from ``benchmarks.collapse_quality``'s record. Costs: reading one JSON file."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

__all__ = ["QUALITY_RECORD", "QUALITY_MEASURES", "CHROMA", "read_quality", "quality_frame", "quality_table",
           "quality_answers"]

QUALITY_RECORD = "benchmarks/results/collapse_quality.json"   # written by python -m benchmarks.collapse_quality
CHROMA = "chroma share of OVG's drift"
# (method, key in the record, column): what the chart and the table show of each point
QUALITY_MEASURES = (("ddim", "leak_mean", "support leak"), ("ovg", "leak_mean", "support leak"),
                    ("ddim", "s_dc", "S_DC"), ("ovg", "s_dc", "S_DC"), ("ovg", "drift_chroma_share", CHROMA))


def read_quality(path=QUALITY_RECORD) -> dict | None:
    """The record at ``path``, or None when it is not there."""
    p = Path(path)
    return json.loads(p.read_text()) if p.exists() else None


def quality_frame(record: dict) -> pd.DataFrame:
    """One row per (point, method, measure): point, step (NaN: exact model), heldout_loss, method, measure, value."""
    points = [(f"step {s['step']}", s["step"], s) for s in record.get("snapshots", [])]
    if record.get("shipped"):
        points.append((f"shipped (step {record['shipped']['step']})", record["shipped"]["step"], record["shipped"]))
    if record.get("oracle"):
        points.append(("exact model", np.nan, record["oracle"]))
    rows = [{"point": name, "step": step, "heldout_loss": p["heldout_loss"], "method": m, "measure": col,
             "value": p[m][key]} for name, step, p in points for m, key, col in QUALITY_MEASURES
            if m in p and key in p[m]]
    return pd.DataFrame(rows)


def quality_table(record: dict) -> pd.DataFrame:
    """The chart's numbers as text, one row per point in run order: held-out loss and each (method, measure)."""
    f = quality_frame(record)
    f["column"] = f["method"].str.upper() + " " + f["measure"].str.replace("chroma share of OVG's drift",
                                                                              "drift chroma share")
    t = f.pivot_table(index="point", columns="column", values="value", sort=False)
    t.insert(0, "held-out loss", f.groupby("point", sort=False)["heldout_loss"].first())
    cols = [f"{m.upper()} {c.replace(CHROMA, 'drift chroma share')}" for m, _, c in QUALITY_MEASURES]
    t = t[["held-out loss", *cols]].map(lambda v: f"{v:.3g}")   # as text: 0.668 beside 4.89e-32, each as it reads
    t.columns.name, t.index.name = None, None
    return t


def _at(f: pd.DataFrame, point: str, method: str, measure: str) -> float:
    v = f[(f["point"] == point) & (f["method"] == method) & (f["measure"] == measure)]["value"]
    return float(v.iloc[0]) if len(v) else float("nan")


def quality_answers(record: dict | None, dataset: str) -> dict[str, object]:
    """The values the chapter quotes: the measures at both ends and of the exact model, rho and the peak leak."""
    if not record or record.get("dataset") != dataset or not record.get("snapshots") or not record.get("shipped"):
        return {"has_quality": False}
    f = quality_frame(record)
    trained = f[f["step"].notna()]
    first, last = f"step {record['snapshots'][0]['step']}", f"shipped (step {record['shipped']['step']})"
    out = {"has_quality": True, "q_points": str(trained["point"].nunique()),
           "q_first_step": str(record["snapshots"][0]["step"]), "q_last_step": str(record["shipped"]["step"]),
           "q_same_run": all(s.get("logged_heldout_loss") is None
                             or np.isclose(s["heldout_loss"], s["logged_heldout_loss"], rtol=1e-6)
                             for s in record["snapshots"])}
    for tag, point in (("first", first), ("last", last), ("exact", "exact model")):
        rows = f[f["point"] == point]
        out[f"q_{tag}_loss"] = f"{float(rows['heldout_loss'].iloc[0]):.4f}" if len(rows) else "n/a"
        for m in ("ddim", "ovg"):
            leak = _at(f, point, m, "support leak")
            out[f"q_{tag}_{m}_leak"] = f"{leak:.2g}" if abs(leak) < 1e-3 else f"{leak:.2f}"
            out[f"q_{tag}_{m}_sdc"] = f"{_at(f, point, m, 'S_DC'):.2f}"
        out[f"q_{tag}_chroma"] = f"{_at(f, point, 'ovg', CHROMA):.2f}"
        for name, col in (("leak", "support leak"), ("sdc", "S_DC")):
            out[f"q_{tag}_gain_{name}"] = f"{_at(f, point, 'ovg', col) - _at(f, point, 'ddim', col):+.3f}"
    leak = trained[(trained["method"] == "ddim") & (trained["measure"] == "support leak")]
    rho = spearmanr(leak["heldout_loss"], leak["value"]).statistic if len(leak) > 2 else float("nan")
    out["q_rho"] = f"{rho:+.2f}".replace("-", "−")
    peak = leak.loc[leak["value"].idxmax()]   # the trained point where DDIM leaks most
    out.update(q_peak_point=str(peak["point"]), q_peak_loss=f"{peak['heldout_loss']:.4f}",
               q_peak_ddim_leak=f"{peak['value']:.2f}")
    return out
