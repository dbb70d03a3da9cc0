"""The latent chapters and the metric-validation chapter say what their rows and numbers mean: the settings rows name
only what the page shows, a clamped wavelet is explained, the two chapters judging "S_DC correlates with S_G" say which
units each correlates, and tables and chart text read as words."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr


def _mv(slopes=(-0.6, -3.4), fid_status="unavailable: inception.pt not in /tmp; download failed (URLError)"):
    return xr.Dataset({"slope": ("domain", list(slopes))}, coords={"domain": ["source", "target"]},
                      attrs={"fid": "FID / KID of the stored outputs of each run against the real reference images",
                             "fid_status": fid_status,
                             "correlations": "Pearson and Spearman over one point per distinct method (its runs)"})




def test_a_table_of_records_is_shown_without_its_row_numbers():
    from spectral_collapse.tables.latents import shown

    t = shown(pd.DataFrame({"method": ["ddim", "edm"], "s_g": [0.1, 0.2]}))
    assert list(t.index) == ["ddim", "edm"] and "S_G" in t.columns


def test_gaussian_reference_is_capitalised_in_chart_text():
    from spectral_collapse.plotting.latents import series_name

    assert series_name("gaussian") == "Gaussian" and series_name("gaussian (reference)") == "Gaussian (reference)"
