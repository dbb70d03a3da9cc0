"""The schedule chapter prints a σ of 0 as "0" and the DDIM time with the cost table's precision."""
import numpy as np
import xarray as xr


def test_sigma_zero_reads_as_zero_and_others_keep_their_decimals():
    from spectral_collapse.report.schedule import SIGMA_DIGITS, sigma_text

    assert sigma_text(0.0) == "0"
    assert sigma_text(0.8917) == f"{0.8917:.{SIGMA_DIGITS}f}"


def test_the_overview_prints_the_ddim_time_as_the_table_does():
    from spectral_collapse.report.schedule import TABLE_DIGITS, overview

    ds = xr.Dataset({"x": ("sample", np.zeros(4))}, coords={"method": ["ddim", "ovg", "low"]},
                    attrs={"dataset": "d", "profile": "quick", "steps": 50, "timing_images": 8,
                           "ddim_time_s": 1.72896})
    assert f"DDIM {round(1.72896, TABLE_DIGITS):.{TABLE_DIGITS}f} s" in overview(ds)
