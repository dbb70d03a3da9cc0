"""Chapter text rules: the metric-validation chapter's one name per quantity."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr



# ----------------------------------------------------------------------------------- one name per quantity

def _validation(points: np.ndarray, metrics: list[str], methods: list[str]) -> xr.Dataset:
    pearson = np.corrcoef(points.T)
    return xr.Dataset({"points": (("point", "metric"), points), "point_method": (("point",), methods),
                       "point_seed": (("point",), [0] * len(methods)),
                       "pearson": (("metric_a", "metric_b"), pearson)},
                      coords={"metric": metrics, "metric_a": metrics, "metric_b": metrics})


def test_the_correlation_heatmap_names_metrics_as_the_table_does():
    from spectral_collapse.plotting.metric_charts import correlation_heatmap
    from spectral_collapse.studies.metric_validation import POINT_HEADERS

    rng = np.random.default_rng(2)
    s_g = rng.random(6)
    metrics = ["delta_log_e_hf", "ks_d", "s_g", "s_lf_gt"]
    ds = _validation(np.stack([rng.random(6), 1 - s_g, s_g, rng.random(6)], 1), metrics, list("abcdef"))
    spec = correlation_heatmap(ds).to_dict()
    labels = {r["metric"] for rows in spec["datasets"].values() for r in rows} | \
             {r["against"] for rows in spec["datasets"].values() for r in rows}
    assert labels == {POINT_HEADERS[m] for m in ("delta_log_e_hf", "s_g", "s_lf_gt")}
    text = json.dumps(spec)
    assert '"title": null' in text and "Pearson r" in text and '"title": "pearson' not in text
    assert "metric_a" not in text and "metric_b" not in text
