"""Chapter rules: the norms' scale and spread, paired wins over the input, the ground truth scoring below every
method, and the grids' default tags."""
from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr

# ---------------------------------------------------------------------------------------------- gaussianity

def _gauss(scales: dict[str, tuple[float, float]], n: int = 200, d: int = 1024) -> xr.Dataset:
    """Per-latent ‖x_T‖²/d per method with a given mean and sd relative to χ²(d)/d's; KS p and norm_z from them."""
    import scipy.stats

    rng = np.random.default_rng(0)
    methods = list(scales)
    sd0 = math.sqrt(2 / d)
    ratio = np.stack([mu + k * sd0 * rng.standard_normal(n) for mu, k in scales.values()])
    ks = [scipy.stats.kstest(r * d, "chi2", args=(d,)) for r in ratio]
    z = (ratio.mean(1) * d - d) / math.sqrt(2 * d / n)
    g = 1 + sd0 * rng.standard_normal(n)
    return xr.Dataset({"norm_ratio": (("method", "latent"), ratio), "gaussian_norm_ratio": (("latent",), g),
                       "s_g": (("method",), [1 - k.statistic for k in ks]), "ks_d": (("method",), [k.statistic for k in ks]),
                       "ks_p": (("method",), [k.pvalue for k in ks]), "mean_norm_ratio": (("method",), ratio.mean(1)),
                       "norm_z": (("method",), z)},
                      coords={"method": methods, "latent": np.arange(n)},
                      attrs={"d": d, "gaussian_s_g": 0.9, "gaussian_ks_p": 0.5, "gaussian_norm_z": 0.0})

def test_the_gaussianity_tables_tell_a_scale_error_from_a_spread_error():
    from spectral_collapse.tables.latents import failure_modes, gaussianity_table

    ds = _gauss({"scaled": (0.9, 1.0), "narrow": (1.0, 0.2), "both": (1.1, 3.0), "fine": (1.0, 1.0)})
    tab = gaussianity_table(ds)
    assert tab.loc["narrow", "norm_sd_ratio"] < 0.5 < tab.loc["scaled", "norm_sd_ratio"]
    assert abs(tab.loc["gaussian (reference)", "norm_sd_ratio"] - 1) < 0.2
    modes = failure_modes(ds)
    assert "fine" not in modes.index                                   # the KS test does not reject it
    assert bool(modes.loc["scaled", "scale_off"]) and modes.loc["scaled", "spread"] == ""
    assert not modes.loc["narrow", "scale_off"] and modes.loc["narrow", "spread"] == "narrower"
    assert bool(modes.loc["both", "scale_off"]) and modes.loc["both", "spread"] == "wider"
    assert failure_modes(_gauss({"fine": (1.0, 1.0)})).empty

# ---------------------------------------------------------------------------------------------- main_results

def _translations(psnr_means: dict[str, float], copy_psnr: float, s_lf_means: dict[str, float], gt_s_lf: float,
                  noise: float = 0.5, n: int = 24) -> xr.Dataset:
    """Per-sample PSNR and S_LF per method (one seed, crops 0..n-1), and the copy / ground-truth controls per crop;
    methods with equal means get the same draws (coinciding translations)."""
    rng = np.random.default_rng(1)
    base = rng.standard_normal(n)
    own = rng.standard_normal(n)
    own -= own.mean()                                                   # the copy's mean is copy_psnr exactly
    methods = list(psnr_means)
    psnr = np.stack([[psnr_means[m] + noise * base] for m in methods])
    s_lf = np.stack([[s_lf_means[m] + 0.01 * base] for m in methods])
    ctrl = {"control_psnr": (("control", "crop_index"), np.stack([copy_psnr + noise * own,
                                                                  np.full(n, np.nan)])),
            "control_s_lf": (("control", "crop_index"), np.stack([np.ones(n), np.full(n, gt_s_lf)]))}
    return xr.Dataset({"psnr": (("method", "seed", "sample"), psnr), "s_lf": (("method", "seed", "sample"), s_lf),
                       "crop": (("seed", "sample"), np.arange(n)[None, :]), **ctrl},
                      coords={"method": methods, "seed": [0], "sample": np.arange(n), "control": ["copy", "ground_truth"],
                              "crop_index": np.arange(n)})


# ---------------------------------------------------------------------------------------------- pareto

def test_a_grid_grown_past_the_profiles_default_is_not_tagged_default():
    import json

    from spectral_collapse.pipeline.parameters import parameters_table
    from spectral_collapse.text import step_size, step_sizes
    from spectral_collapse.studies.pareto import default_grid

    hf, lf = default_grid("quick")
    low = lf[0] / 10
    ds = xr.Dataset(coords={"eta_hf": hf, "eta_lf": [low, *lf]},
                    attrs={"profile": "quick", "grid_extended": json.dumps(["eta_lf low"])})
    spec = {"study": "pareto", "dataset": "ihc-sr", "profile": "quick", "params": {"eta_hf": None, "eta_lf": None}}
    rows = {line.split(" | ")[0].strip("| "): line for line in parameters_table(spec, ds).splitlines()[2:]}
    assert rows["eta_hf"].endswith("| the default |")                      # the "set by" column
    assert not rows["eta_lf"].endswith("| the default |") and f"{step_size(low)} added at the low end" in rows["eta_lf"]
    assert step_sizes(hf) in rows["eta_hf"] and "e-0" not in rows["eta_hf"]   # one step-size form, no "1e-06"
    ds.attrs["grid_extended"] = "[]"
    assert parameters_table(spec, ds.sel(eta_lf=lf)).split("eta_lf")[1].splitlines()[0].endswith("| the default |")


def test_a_pareto_choice_input_reads_its_step_sizes_as_the_book_writes_them():
    """The "from pareto" row of a parameters table: step sizes as the book writes them at every depth, no
    "1e-06"."""
    from spectral_collapse.pipeline.parameters import parameters_table

    choice = {"eta_hf": 1e-6, "eta_lf": 1e-3, "per_base": {"ovg": {"eta_hf": 1e-6, "eta_lf": 1e-3},
                                                          "ovg_edm": {"eta_hf": 1e-7, "eta_lf": 0.1}}}
    spec = {"study": "main_results", "dataset": "ihc-sr", "profile": "quick", "params": {},
            "inputs": {"pareto": choice}}
    row = next(line for line in parameters_table(spec).splitlines() if line.startswith("| from pareto"))
    assert "e-0" not in row and "ovg_edm = (eta_hf = 10⁻⁷; eta_lf = 10⁻¹)" in row
