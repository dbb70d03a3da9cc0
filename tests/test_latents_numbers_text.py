"""Reader numbers on the latent and metric-validation chapters: ranges use an en dash, the PCA table does not
repeat raw-latent columns equal to its own, and tables name the Gaussian rows as the charts do."""
from __future__ import annotations

import numpy as np
import xarray as xr


def test_the_pca_table_leaves_out_raw_columns_equal_to_its_own():
    from spectral_collapse.tables.latents import pca_table, raw_same

    base = {"k90": ("series", np.array([10, 20])), "auc": ("series", np.array([0.61, 0.72])),
            "n": ("series", np.array([8, 8]))}
    same = xr.Dataset({**base, "k90_raw": ("series", np.array([10, 20])),
                       "auc_raw": ("series", np.array([0.6101, 0.7202]))}, coords={"series": ["ddim", "gaussian"]})
    assert "k90_raw" not in pca_table(same) and "auc_raw" not in pca_table(same)
    assert raw_same(same) == ["k90_raw", "auc_raw"]
    differ = same.assign(k90_raw=("series", np.array([11, 20])))
    assert "k90_raw" in pca_table(differ) and "auc_raw" not in pca_table(differ)
    assert raw_same(differ) == ["auc_raw"]
    apart = differ.assign(auc_raw=("series", np.array([0.65, 0.72])))
    assert raw_same(apart) == [] and "auc_raw" in pca_table(apart)


def test_the_filter_section_says_whose_images_it_filters():
    import json
    from pathlib import Path

    cells = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "metric_validation.ipynb").read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "same IHC tissue" in text and "held-out real images" in text
    assert "Figs. 11-12" not in text and "log10" not in text


def test_tables_name_the_gaussian_rows_as_the_charts_do():
    import pandas as pd

    from spectral_collapse.tables.latents import shown

    t = shown(pd.DataFrame({"k90": [1, 2, 3]}, index=["ddim", "gaussian", "gaussian (reference)"]))
    assert list(t.index) == ["ddim", "Gaussian", "Gaussian (reference)"]
