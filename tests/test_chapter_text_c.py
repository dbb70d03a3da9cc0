"""Chapter text rules: the VP mean's shrink rate, the norms' spread, the subsample behind a k90, paired wins over the
input, the ground truth scoring below every method, and the grids' default tags."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import xarray as xr

from spectral_collapse.report.velocity import positive_cells_text, vp_mean_rate, vp_mean_rate_text


# ---------------------------------------------------------------------------------------------- velocity

def test_the_vp_mean_rate_peaks_at_one_over_root_two_and_the_text_gives_the_fractions_at_the_ends():
    s = np.linspace(0.05, 6, 2000)
    assert abs(s[np.argmax(vp_mean_rate(s))] - 1 / math.sqrt(2)) < 0.01
    lo, hi = 0.5, 4.0
    text = vp_mean_rate_text(lo, hi)
    peak = vp_mean_rate(1 / math.sqrt(2))
    pcts = [int(p) for p in re.findall(r"(\d+) % ", text)]
    assert pcts == [round(100 * vp_mean_rate(lo) / peak), round(100 * vp_mean_rate(hi) / peak)]
    assert "half that rate" not in text and "includes that peak" in text
    assert "includes that peak" not in vp_mean_rate_text(1.5, 3.0)


def _velocity(power: dict[str, np.ndarray], sig_step: dict[str, float]) -> xr.Dataset:
    methods = list(power)
    steps, freqs = next(iter(power.values())).shape
    width = np.array([sig_step.get(m, 0.1) for m in methods])[:, None]
    sf = np.arange(steps)[None, :] * width
    return xr.Dataset({"log_power": (("method", "step", "freq"), np.stack([power[m] for m in methods])),
                       "sigma_from": (("method", "step"), sf), "sigma_to": (("method", "step"), sf + width)},
                      coords={"method": methods, "step": np.arange(steps), "freq": np.linspace(0, 0.7, freqs)},
                      attrs={"space": "vp"})


def test_each_at_most_in_the_cells_text_names_its_quantity():
    quiet = np.repeat(np.linspace(-3, -6, 20)[:, None], 8, axis=1)
    dc = quiet.copy()
    dc[5:8, 0] = 0.4
    guided = quiet.copy()
    guided[0, 1:3] = 0.8
    text = positive_cells_text(_velocity({"ddim": quiet, "edm": dc, "ovg": guided, "ovg_edm": dc.copy()},
                                         {"edm": 0.3, "ovg_edm": 0.3}))
    hits = re.findall(r"\(([^()]*?)at most", text)
    assert hits and all(h.strip() for h in hits), text   # every "at most" is preceded by what it bounds
    assert "$\\log_{10}$ power at most" in text and "Δσ" in text.split("stay below 0")[-1]


def test_the_velocity_summary_names_its_bands_in_words_and_keeps_the_numbers():
    from spectral_collapse.report.latents import velocity_summary
    from spectral_collapse.report.velocity import SUMMARY_COLUMNS, summary_table

    quiet = np.repeat(np.linspace(-3, -6, 20)[:, None], 8, axis=1)
    ds = _velocity({"ddim": quiet, "edm": quiet + 1.0}, {})
    shown, raw = summary_table(ds), velocity_summary(ds).set_index("method")
    assert list(shown.columns) == [SUMMARY_COLUMNS[c] for c in raw.columns]
    assert not any("_" in c for c in shown.columns)
    np.testing.assert_allclose(shown.to_numpy(), raw.round(3).to_numpy())
    assert shown.loc["edm"].iloc[0] > shown.loc["ddim"].iloc[0]


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


def test_the_gaussianity_text_tells_a_scale_error_from_a_spread_error():
    from spectral_collapse.report.latents import failure_modes_text, gaussianity_table

    ds = _gauss({"scaled": (0.9, 1.0), "narrow": (1.0, 0.2), "both": (1.1, 3.0), "fine": (1.0, 1.0)})
    tab = gaussianity_table(ds)
    assert tab.loc["narrow", "norm_sd_ratio"] < 0.5 < tab.loc["scaled", "norm_sd_ratio"]
    assert abs(tab.loc["gaussian (reference)", "norm_sd_ratio"] - 1) < 0.2
    text = failure_modes_text(ds)
    parts = re.split(r"(?<=\))\. ", text.split("per rejected method: ")[1].rstrip("."))   # one sentence per mode
    groups = {k.lower(): v for k, v in (part.split(": ", 1) for part in parts)}
    assert "scaled" in groups["scale only"] and "narrow" in next(v for k, v in groups.items() if k.startswith("spread"))
    assert "both" in groups["scale and spread"] and "fine" not in text.split("per rejected method: ")[1]
    assert failure_modes_text(_gauss({"fine": (1.0, 1.0)})) == ""


# ---------------------------------------------------------------------------------------------- pca_collapse

def test_the_k90_of_subsamples_is_said_to_be_not_the_tables():
    from spectral_collapse.report.latents import k90_subsample_note

    series = ["ddim", "gaussian"]
    draws = np.array([[50, 52, 51], [80, 81, 79]])
    ds = xr.Dataset({"k90": (("series",), [70, 100]), "n": (("series",), [128, 128]),
                     "k90_draws": (("series", "draw"), draws)}, coords={"series": series},
                    attrs={"k90_subsample": 96})
    text = k90_subsample_note(ds)
    assert "3 subsamples of 96 of the 128 latents" in text and "not differences of the table's k90" in text
    assert "DDIM 51.0" in text and "Gaussian 80.0" in text
    assert k90_subsample_note(ds.assign_attrs(k90_subsample=128)) == ""
    assert k90_subsample_note(ds.drop_vars("k90_draws")) == ""


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

    from spectral_collapse.pipeline.notebook import parameters_table
    from spectral_collapse.plotting.labels import step_size, step_sizes
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


def test_a_pareto_choice_input_reads_its_step_sizes_and_variants_in_words():
    """The "from pareto" row of a parameters table: step sizes as the book writes them, the per-variant choices
    under a name in words, no "1e-06" and no "per_base"."""
    from spectral_collapse.pipeline.notebook import parameters_table

    choice = {"eta_hf": 1e-6, "eta_lf": 1e-3, "per_base": {"ovg": {"eta_hf": 1e-6, "eta_lf": 1e-3},
                                                          "ovg_edm": {"eta_hf": 1e-7, "eta_lf": 0.1}}}
    spec = {"study": "main_results", "dataset": "ihc-sr", "profile": "quick", "params": {},
            "inputs": {"pareto": choice}}
    row = next(line for line in parameters_table(spec).splitlines() if line.startswith("| from pareto"))
    assert "per_base" not in row and "e-0" not in row
    assert "ovg_edm at eta_hf 10⁻⁷" in row and "10⁻³" in row and "0.1" not in row
