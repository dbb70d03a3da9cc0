"""The model-quality chapter's per-model charts: the loss curves on a log axis and the sample grids' rows."""
from __future__ import annotations

import altair as alt
import pandas as pd
import xarray as xr

__all__ = ["loss_chart", "sample_rows"]


def loss_chart(ds: xr.Dataset, key: str, width: int = 300, height: int = 180):
    """Training loss (every 50 steps) and held-out loss (mean over noise bands) against the training step."""
    m = ds.sel(model=key)
    tr = pd.DataFrame({"step": m["train_step"].values, "loss": m["train_loss"].values, "curve": "training"})
    he = pd.DataFrame({"step": m["heldout_step"].values, "loss": m["heldout_loss"].sel(band=0).values,
                       "curve": "held-out (EMA)"})
    frame = pd.concat([tr, he]).dropna()
    if frame.empty:
        return None
    # the model is named by the section heading above the chart, as typed (a title would begin it with a capital)
    return alt.Chart(frame, title="Training and held-out loss").mark_line(point=False).encode(
        x=alt.X("step:Q", title="training step"),
        y=alt.Y("loss:Q", title="loss (log scale)", scale=alt.Scale(type="log"), axis=alt.Axis(format="~g")),
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
