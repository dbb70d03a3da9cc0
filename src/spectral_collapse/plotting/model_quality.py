"""The model-quality chapter's per-model charts: the loss curves on a fitted log axis and the sample grids' rows."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import xarray as xr

from .charts import log_ticks

__all__ = ["fitted_log_axis", "loss_chart", "sample_rows"]

_NICE = (1, 2, 3, 5)   # the mantissas a fitted log axis ends on


def _nice_below(v: float) -> float:
    """The largest of 1, 2, 3, 5 times a power of ten at or below ``v`` (> 0)."""
    k = int(np.floor(np.log10(v)))
    return max(float(f"{m * 10.0 ** e:.12g}") for e in (k - 1, k) for m in _NICE if m * 10.0 ** e <= v * (1 + 1e-12))


def _nice_above(v: float) -> float:
    """The smallest of 1, 2, 3, 5 times a power of ten at or above ``v`` (> 0)."""
    k = int(np.floor(np.log10(v)))
    return min(float(f"{m * 10.0 ** e:.12g}") for e in (k, k + 1) for m in _NICE if m * 10.0 ** e >= v * (1 - 1e-12))


def fitted_log_axis(lo: float, hi: float) -> tuple[list[float], list[float]]:
    """A log-axis domain ending at the nearest 1, 2, 3, 5 × 10^k around [lo, hi], and its ``log_ticks``."""
    a, b = _nice_below(lo), _nice_above(hi)
    return [a, b], log_ticks(a, b)


def loss_chart(ds: xr.Dataset, key: str, width: int = 300, height: int = 180):
    """Training loss (every 50 steps) and held-out loss (mean over noise bands) against the training step."""
    m = ds.sel(model=key)
    tr = pd.DataFrame({"step": m["train_step"].values, "loss": m["train_loss"].values, "curve": "training"})
    he = pd.DataFrame({"step": m["heldout_step"].values, "loss": m["heldout_loss"].sel(band=0).values,
                       "curve": "held-out (EMA)"})
    frame = pd.concat([tr, he]).dropna()
    if frame.empty:
        return None
    domain, ticks = fitted_log_axis(float(frame["loss"].min()), float(frame["loss"].max()))
    # the model is named by the section heading above the chart, as typed (a title would begin it with a capital)
    return alt.Chart(frame, title="Training and held-out loss").mark_line(point=False).encode(
        x=alt.X("step:Q", title="training step"),
        y=alt.Y("loss:Q", title="loss (log scale)", scale=alt.Scale(type="log", domain=domain, nice=False),
                axis=alt.Axis(values=ticks, format="~g")),
        color=alt.Color("curve:N", title="loss of", scale=alt.Scale(range=["#0072B2", "#E69F00"]),
                        legend=alt.Legend(orient="bottom", labelLimit=0))
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
