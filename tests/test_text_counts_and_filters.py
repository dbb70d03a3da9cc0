"""Counts and symbols as the book writes them, and the metric-validation chapter's filtered-S_HF chart and latent grids
drawn from small hand-made results."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spectral_collapse.text import interval, large, symbol, trend


def test_large_counts_read_as_words_or_powers_of_ten():
    assert large(12400) == "12,400" and large(-12400) == "-12,400"
    assert large(2.914e6) == "2.91 million" and large(1.4249e9) == "1.42 billion"
    assert large(1.39e15) == "1.39 × 10¹⁵" and large(float("nan")) == "nan"


@pytest.mark.parametrize("values, words", [
    ([0.30, 0.34, 0.40], "up"),                        # +0.10, every step forward
    ([0.40, 0.30], "down"),
    ([0.36, 0.39, 0.40, 0.40], "still (all within 0.05: 0.36 to 0.40)"),   # +0.04: no trend
    ([0.30, 0.50, 0.36], "still (moving by up to 0.20 with no trend: 0.30 to 0.50)"),   # ends 0.06 apart, steps back
    ([0.60, 0.66, 0.62], "still (moving by up to 0.06 with no trend: 0.60 to 0.66)"),
])
def test_a_trend_is_named_only_for_a_change_beyond_the_tolerance_in_one_direction(values, words):
    assert trend(values, "up", "down", "still") == words


def test_a_symbol_names_its_key_and_form_or_refuses():
    assert symbol("s_hf") == "$S_{HF}$" and symbol("s_g") == "$S_G$" and symbol("eta_lf", "chart") == "η_LF"
    with pytest.raises(ValueError, match="unknown form 'tex'"):
        symbol("s_hf", "tex")
    with pytest.raises(ValueError, match="unknown symbol 'psnr'"):
        symbol("psnr")
    assert interval(float("nan"), 1.0) == "" and interval(-0.25, 0.5) == "[-0.250, 0.500]"


def test_the_filtered_s_hf_chart_draws_mean_and_one_sd_per_cutoff():
    from spectral_collapse.plotting.metric_charts import filtered_s_hf_chart

    values = np.array([[[0.2, 0.4], [0.5, 0.7]], [[0.9, 0.9], [0.6, 1.0]]])   # (filter, kappa, image)
    ds = xr.Dataset({"filtered_s_hf": (("filter", "kappa", "image"), values),
                     "unfiltered_s_hf": ("image", [0.8, 0.9])},
                    coords={"filter": ["lowpass", "highpass"], "kappa": [0.1, 0.5]})
    spec = filtered_s_hf_chart(ds).to_dict()
    rows = pd.concat([pd.DataFrame(v) for v in spec["datasets"].values() if v and "mean" in v[0]]).drop_duplicates()
    low = rows[(rows["filter"] == "low-pass (HF removed)") & (rows["kappa"] == 0.1)].iloc[0]
    assert low["mean"] == pytest.approx(0.3) and low["hi"] - low["lo"] == pytest.approx(2 * np.std([0.2, 0.4], ddof=1))
    assert any(v and v[0].get("y") == pytest.approx(0.85) for v in spec["datasets"].values())   # the unfiltered mean


def test_latent_grids_hold_a_row_per_series_and_flag_mask():
    import io

    from PIL import Image

    from spectral_collapse.plotting.latents import flag_masks, pca_images

    z = np.zeros((2, 2, 3, 8, 8))
    ds = xr.Dataset({"latents": (("method", "image", "channel", "y", "x"), z),
                     "mask": (("method", "image", "y", "x"), np.ones((2, 2, 8, 8)))},
                    coords={"method": ["ddim", "ovg"]})
    masks = Image.open(io.BytesIO(flag_masks(ds, cell=10).data))
    series = xr.Dataset({"latents": (("series", "image", "channel", "y", "x"), z),
                         "inputs": (("series", "image", "channel", "y", "x"), z)},
                        coords={"series": ["ddim", "gaussian"]})
    pcs = Image.open(io.BytesIO(pca_images(series, cell=10).data))
    # rows of 10 px cells, 2 px apart: two methods' latents and masks; a series' input and latent, and noise's latent
    assert masks.height == 4 * 12 + 2 and pcs.height == 3 * 12 + 2
