"""Tables and charts of the model-quality chapter (results of ``studies.model_quality``)."""
from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import xarray as xr

from ..models.quality import CHECKS, THRESHOLDS, GateReport

__all__ = ["CHECK_TEXT", "thresholds_table", "gate_table", "loss_chart", "sample_rows", "reports", "verdict_text",
           "start_table", "spectrum_failures"]

CHECK_TEXT = {
    "spectrum": "largest |log10 power ratio| of samples to real crops over radial bands up to Nyquist",
    "mean": "largest relative error of a channel's mean intensity ([0, 1] scale)",
    "std": "largest relative error of a channel's standard deviation",
    "patches": "sliced Wasserstein distance of 4 x 4 patches to training crops, relative to held-out real crops'",
    "memorisation": "median distance to the nearest training crop, relative to held-out real crops'",
    "plateau": "relative fall of the held-out loss over the last fifth of training",
}


def thresholds_table() -> pd.DataFrame:
    """Each check, what it measures and its rule."""
    rules = {c: ("at least" if c == "memorisation" else "below" if c == "plateau" else "at most") for c in CHECKS}
    return pd.DataFrame([{"check": c, "measures": CHECK_TEXT[c], "passes when": f"{rules[c]} {THRESHOLDS[c]:g}"}
                         for c in CHECKS])


def reports(ds: xr.Dataset) -> dict[str, GateReport]:
    return {k: GateReport.from_dict(v) for k, v in json.loads(ds.attrs["gate_reports"]).items()}


def gate_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per model: its training steps, the worst value of each check (over samplers and labels) and the
    verdict; a check that cannot be judged (no training log) reads "n/a", an infinite value "∞". (Each model's role
    is under its loss curves.)"""
    info = json.loads(ds.attrs["models"])
    rows = []
    for key, rep in reports(ds).items():
        t = rep.table().set_index("check")
        row = {"model": key, "steps": info[key].get("steps")}
        for c in CHECKS:
            if c not in t.index:
                row[c] = "—"
                continue
            v, ok = t.loc[c, "worst"], t.loc[c, "passed"]
            row[c] = "n/a" if ok is None or (isinstance(v, float) and np.isnan(v)) else \
                f"{'∞' if np.isinf(v) else f'{v:.3g}'} {'✓' if ok else '✗'}"
        row["gate"] = "passes" if rep.passed else "fails"
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def start_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per model and label, the deterministic sampler's channel-mean and std errors begun from the training data's
    Gaussian plus noise (what the gate judges) and from pure noise (recorded, not judged)."""
    rows = []
    for key, rep in reports(ds).items():
        r = rep.rows
        for u in rep.info.get("unit_start", []):
            judged = r[(r["sampler"] == u["sampler"]) & (r["label"] == u["label"])].set_index("check")["value"]
            rows.append({"model": key, "label": int(u["label"]), "sampler": u["sampler"],
                         "mean error, gate start": judged.get("mean"), "mean error, pure noise": u["mean"],
                         "std error, gate start": judged.get("std"), "std error, pure noise": u["std"]})
    cols = ["model", "label", "sampler", "mean error, gate start", "mean error, pure noise", "std error, gate start",
            "std error, pure noise"]
    return pd.DataFrame(rows, columns=cols).set_index(["model", "label"]).round(3)


def spectrum_failures(ds: xr.Dataset) -> pd.DataFrame:
    """Where each failed spectrum check fails: per model, label and sampler, the radial bands (1 = lowest non-zero
    frequency, 16 = Nyquist on 32-pixel crops) whose log10 power ratio leaves the threshold, with the ratio. Too much
    power across the upper bands is static, too little is blur; isolated bands at the spectral zeros of
    nearest-neighbour upsampling are notches the model fills."""
    rows = []
    for key, rep in reports(ds).items():
        r = rep.rows
        bad = r[(r["check"] == "spectrum") & (r["passed"] == False)]  # noqa: E712 (None: not judged)
        for _, b in bad.iterrows():
            bands = np.asarray(b.get("bands") if isinstance(b.get("bands"), (list, np.ndarray)) else [], float)
            out = [f"{k + 1}: {v:+.2f}" for k, v in enumerate(bands) if abs(v) > THRESHOLDS["spectrum"]]
            rows.append({"model": key, "label": int(b["label"]), "sampler": b["sampler"],
                         "bands over the rule (band: log10 ratio)": ", ".join(out) or "—"})
    cols = ["model", "label", "sampler", "bands over the rule (band: log10 ratio)"]
    return pd.DataFrame(rows, columns=cols).set_index(["model", "label"])


def verdict_text(ds: xr.Dataset) -> str:
    """One sentence: how many models pass, and which fail on what."""
    reps = reports(ds)
    bad = {k: r for k, r in reps.items() if not r.passed}
    text = f"{len(reps) - len(bad)} of {len(reps)} models pass the gate."
    if bad:
        text += " Below it: " + "; ".join(f"`{k}` ({r.describe_failures(2)})" for k, r in bad.items()) + "."
    return text


def loss_chart(ds: xr.Dataset, key: str, width: int = 300, height: int = 180):
    """Training loss (every 50 steps) and held-out loss (mean over noise bands) against the training step."""
    m = ds.sel(model=key)
    tr = pd.DataFrame({"step": m["train_step"].values, "loss": m["train_loss"].values, "curve": "training"})
    he = pd.DataFrame({"step": m["heldout_step"].values, "loss": m["heldout_loss"].sel(band=0).values,
                       "curve": "held-out (EMA)"})
    frame = pd.concat([tr, he]).dropna()
    if frame.empty:
        return None
    lo, hi = float(frame["loss"].min()), float(frame["loss"].max())
    return alt.Chart(frame, title=f"{key}: loss").mark_line(point=False).encode(
        x=alt.X("step:Q", title="training step"),
        y=alt.Y("loss:Q", title="loss", scale=alt.Scale(type="log", domain=[lo * 0.9, hi * 1.1])),
        color=alt.Color("curve:N", title=None, scale=alt.Scale(range=["#0072B2", "#E69F00"]))
    ).properties(width=width, height=height)


def sample_rows(ds: xr.Dataset, key: str) -> dict:
    """Image-grid rows: samples from noise (or reconstructions) and real crops of each label."""
    m = ds.sel(model=key)
    vae = "vae" in key
    out = {}
    for lab in (0, 1):
        name = "source" if lab == 0 else "target"
        out[f"{'reconstructed' if vae else 'sampled'}, {name}"] = m["samples"].sel(label=lab).values
        out[f"{'held-out' if vae else 'real'}, {name}"] = m["real"].sel(label=lab).values
    return out
