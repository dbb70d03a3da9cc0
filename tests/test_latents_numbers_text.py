"""Reader numbers on the latent and metric-validation chapters: no negative zero, small nonzero differences keep their
sign and first digit, ranges use an en dash, and the PCA table does not repeat raw-latent columns equal to its own."""
from __future__ import annotations

import numpy as np
import xarray as xr


def test_signed_never_writes_a_negative_zero_and_keeps_small_signs():
    from spectral_collapse.report.latents import _signed

    assert _signed(-1e-17, 3, "+") == "0.000"
    assert _signed(-0.0004, 3) == "−0.0004"
    assert _signed(-0.636, 3) == "−0.636" and _signed(0.2, 3, "+") == "+0.200"
    words = [_signed(x, 3) for x in np.linspace(-1e-3, 1e-3, 41)]
    assert not [w for w in words if w.startswith("−") and float(w.replace("−", "-")) == 0], words


def test_the_pca_table_leaves_out_raw_columns_equal_to_its_own_and_says_so():
    from spectral_collapse.report.latents import pca_table, raw_note

    base = {"k90": ("series", np.array([10, 20])), "auc": ("series", np.array([0.61, 0.72])),
            "n": ("series", np.array([8, 8]))}
    same = xr.Dataset({**base, "k90_raw": ("series", np.array([10, 20])),
                       "auc_raw": ("series", np.array([0.6101, 0.7202]))}, coords={"series": ["ddim", "gaussian"]})
    assert "k90_raw" not in pca_table(same) and "auc_raw" not in pca_table(same)
    assert "same k90 and AUC" in raw_note(same)
    differ = same.assign(k90_raw=("series", np.array([11, 20])))
    assert "k90_raw" in pca_table(differ) and "auc_raw" not in pca_table(differ)
    assert "same AUC" in raw_note(differ)
    apart = differ.assign(auc_raw=("series", np.array([0.65, 0.72])))
    assert raw_note(apart) == "" and "auc_raw" in pca_table(apart)


def test_an_interval_is_written_at_one_precision():
    from spectral_collapse.metrics.intervals import Interval
    from spectral_collapse.report.latents import judged_text

    text = judged_text("S_G DDIM − EDM", Interval(-1.2e-4, -1.4e-4, -1.1e-5, 128), 0.01, higher=False)
    nums = text.split("EDM ")[1].split(" over")[0].replace("[", "").replace("]", "").replace(",", "").split()
    assert len({len(n.split(".")[1]) for n in nums}) == 1, nums


def test_the_filter_section_says_whose_images_it_filters():
    import json
    from pathlib import Path

    cells = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "metric_validation.ipynb").read_text())["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "same IHC tissue" in text and "held-out real images" in text
    assert "Figs. 11-12" not in text and "log10" not in text


def test_tables_name_the_gaussian_rows_as_the_charts_do():
    import pandas as pd

    from spectral_collapse.report.latents import shown

    t = shown(pd.DataFrame({"k90": [1, 2, 3]}, index=["ddim", "gaussian", "gaussian (reference)"]))
    assert list(t.index) == ["ddim", "Gaussian", "Gaussian (reference)"]
