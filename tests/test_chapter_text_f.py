"""Chapter text rules: the metric-validation chapter's one name per quantity."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr



# ----------------------------------------------------------------------------------- one name per quantity

def _validation(points: np.ndarray, metrics: list[str], methods: list[str]) -> xr.Dataset:
    pearson = np.corrcoef(points.T)
    return xr.Dataset({"points": (("point", "metric"), points), "point_method": (("point",), methods),
                       "point_seed": (("point",), [0] * len(methods)),
                       "pearson": (("metric_a", "metric_b"), pearson)},
                      coords={"metric": metrics, "metric_a": metrics, "metric_b": metrics})


def test_a_metric_that_is_one_minus_another_is_shown_once_and_the_relation_said_once():
    from spectral_collapse.report.metric_validation import complements, complements_text, correlation_points

    rng = np.random.default_rng(1)
    s_g, s_dc, psnr = rng.random(5), rng.random(5), 20 + rng.random(5)
    metrics = ["ks_d", "mean_norm_ratio", "psnr", "s_dc", "s_g"]
    ds = _validation(np.stack([1 - s_g, 1 - s_dc + 0.01, psnr, s_dc, s_g], 1), metrics, list("abcde"))
    assert complements(pd.DataFrame(ds["points"].values, columns=metrics)) == {"ks_d": "s_g"}
    shown = correlation_points(ds)
    assert "D_KS" not in shown.columns and {"S_G", "S_DC", "‖x_T‖²/d", "PSNR"} <= set(shown.columns)
    said = complements_text(ds)
    assert said.count("S_G = 1 − D_KS (Eq. 33; D_KS: ") == 1 and "Eq. 32" in said and "‖x_T‖²/d" not in said


def test_the_correlation_heatmap_names_metrics_as_the_table_does():
    from spectral_collapse.plotting.latents import correlation_heatmap
    from spectral_collapse.report.metric_validation import POINT_HEADERS

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
