"""The model-quality chapter's loss charts fit their log axis to the data and title their legend."""
from __future__ import annotations

import numpy as np
import xarray as xr

from spectral_collapse.plotting.metric_charts import loss_chart


def test_the_loss_chart_uses_a_log_axis_and_titles_its_legend():
    steps = np.arange(1, 6) * 100.0
    ds = xr.Dataset({"train_step": (("model", "t"), [steps]), "train_loss": (("model", "t"), [[0.6, 0.3, 0.1, 0.06, 0.05]]),
                     "heldout_step": (("model", "h"), [steps]),
                     "heldout_loss": (("model", "h", "band"), [[[0.5], [0.2], [0.08], [0.04], [0.026]]])},
                    coords={"model": ["m"]})
    spec = loss_chart(ds, "m").to_dict()
    y = spec["encoding"]["y"]
    assert y["scale"]["type"] == "log"
    assert spec["encoding"]["color"]["title"]


def test_sample_rows_pair_each_labels_samples_with_real_crops():
    from spectral_collapse.plotting.metric_charts import sample_rows

    img = np.zeros((2, 2, 3, 4, 4))   # (model, label, C, H, W)
    ds = xr.Dataset({"samples": (("model", "label", "c", "h", "w"), img), "real": (("model", "label", "c", "h", "w"),
                     img + 1)}, coords={"model": ["m-eps", "m-vae"], "label": [0, 1]})
    assert list(sample_rows(ds, "m-eps")) == ["pure noise, source", "real, source", "pure noise, target", "real, target"]
    rows = sample_rows(ds, "m-vae")
    assert list(rows) == ["reconstructed, source", "held-out, source", "reconstructed, target", "held-out, target"]
    assert (rows["held-out, target"] == 1).all() and (rows["reconstructed, source"] == 0).all()
