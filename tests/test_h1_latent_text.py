"""The metric-validation chapter's words (the unfiltered S_HF the verdict cites is a row of the filter table, a
correlation over points piled at a bound of S_G says so) and how the Gaussianity chapter tells scale from spread."""
from __future__ import annotations

import math

import numpy as np
import xarray as xr


def _mv(s_g: list[float], base: float = 0.93) -> xr.Dataset:
    """A metric-validation result: two cutoffs, and one run per method with the given S_G."""
    n = len(s_g)
    rng = np.random.default_rng(0)
    metrics = ["s_dc", "s_g", "s_hf"]
    pts = np.stack([rng.random(n), s_g, rng.random(n)], axis=1)
    return xr.Dataset({"slope": ("domain", [-3.0, -3.4]),
                       "filtered_s_hf": (("filter", "kappa", "held_out"), np.array([[[0.3, 0.3], [0.6, 0.6]],
                                                                                    [[0.9, 0.9], [0.88, 0.88]]])),
                       "unfiltered_s_hf": ("held_out", [base, base + 0.002]),
                       "points": (("point", "metric"), pts)},
                      coords={"domain": ["source", "target"], "filter": ["lowpass", "highpass"], "kappa": [0.1, 0.5],
                              "metric": metrics, "point": np.arange(n),
                              "point_method": ("point", [f"m{i}" for i in range(n)]),
                              "point_seed": ("point", [0] * n)},
                      attrs={"wavelet": "sym4"})


def _gauss(n: int = 200, d: int = 1024) -> xr.Dataset:
    import scipy.stats

    rng = np.random.default_rng(0)
    sd0 = math.sqrt(2 / d)
    scales = {"ddim": (0.8, 1.0), "taba": (1.0, 0.3), "edm": (0.85, 1.0)}
    ratio = np.stack([mu + k * sd0 * rng.standard_normal(n) for mu, k in scales.values()])
    ks = [scipy.stats.kstest(r * d, "chi2", args=(d,)) for r in ratio]
    z = (ratio.mean(1) * d - d) / math.sqrt(2 * d / n)
    return xr.Dataset({"norm_ratio": (("method", "latent"), ratio),
                       "gaussian_norm_ratio": (("latent",), 1 + sd0 * rng.standard_normal(n)),
                       "s_g": (("method",), [1 - k.statistic for k in ks]),
                       "ks_d": (("method",), [k.statistic for k in ks]), "ks_p": (("method",), [k.pvalue for k in ks]),
                       "mean_norm_ratio": (("method",), ratio.mean(1)), "norm_z": (("method",), z)},
                      coords={"method": list(scales), "latent": np.arange(n)},
                      attrs={"study": "gaussianity", "d": d, "gaussian_s_g": 0.9, "gaussian_ks_p": 0.5,
                             "gaussian_norm_z": 0.0})


def test_failure_modes_tell_scale_from_spread():
    """A set with its mean norm at 0.8 is off in scale (|norm_z| far above 2) with a Gaussian spread; a set centred
    on 1 with norms at 0.3 of chi2(d)'s spread is off in spread only (narrower); the Gaussian-spread sets' sd ratio
    lies within the range n Gaussian latents reach."""
    from spectral_collapse.tables.latents import failure_modes, sd_ratio_range

    modes = failure_modes(_gauss())
    assert bool(modes.loc["ddim", "scale_off"]) and modes.loc["ddim", "spread"] == ""
    assert modes.loc["taba", "spread"] == "narrower" and abs(modes.loc["taba", "norm_sd_ratio"] - 0.3) < 0.05
    lo, hi = sd_ratio_range(200)
    assert lo < modes.loc["edm", "norm_sd_ratio"] < hi and lo < 1 < hi
