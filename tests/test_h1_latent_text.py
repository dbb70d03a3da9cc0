"""The latent and metric-validation chapters' words: the unfiltered S_HF the verdict cites is a row of the filter
table, a correlation over points piled at a bound of S_G says so, and no sentence names the norm z-score by its key."""
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


def test_no_sentence_of_the_gaussianity_chapter_names_the_norm_z_score_by_its_key():
    from spectral_collapse.report.latent_columns import HEADERS
    from spectral_collapse.report.latents import failure_modes_text, verdict

    ds = _gauss()
    for text in (verdict(ds), failure_modes_text(ds)):
        assert text and "norm_z" not in text
    assert HEADERS["norm_z"] in verdict(ds).lower() and HEADERS["norm_z"] in failure_modes_text(ds)
