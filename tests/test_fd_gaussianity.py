"""The gaussianity charts: the mean ||x_T||^2/d is drawn as points on an axis fitted to them and to 1 (Gaussian
noise's value), with a rule at 1."""
from __future__ import annotations

import json

import numpy as np
import xarray as xr


def _study():
    rng = np.random.default_rng(0)
    m = ["ddim", "ovg", "ovg_edm"]
    u = np.stack([0.997 + 0.01 * rng.standard_normal(64), 1.002 + 0.01 * rng.standard_normal(64),
                  1.047 + 0.01 * rng.standard_normal(64)])
    return xr.Dataset({"s_g": ("method", [0.2, 0.9, 0.95]), "norm_ratio": (("method", "latent"), u),
                       "gaussian_norm_ratio": ("latent", 1 + 0.01 * rng.standard_normal(64))},
                      coords={"method": m}, attrs={"gaussian_s_g": 0.93, "d": 3072})


def _layers(spec):
    for ly in spec.get("layer", []):
        yield ly
        yield from _layers(ly)


def test_the_norm_is_points_round_one():
    from spectral_collapse.plotting.latents import gaussianity_bars

    spec = json.loads(gaussianity_bars(_study()).to_json())
    right = spec["hconcat"][1]
    marks = [ly["mark"]["type"] if isinstance(ly["mark"], dict) else ly["mark"] for ly in _layers(right)
             if "mark" in ly]
    assert "bar" not in marks and "point" in marks and "rule" in marks
    dom = next(ly["encoding"]["y"]["scale"]["domain"] for ly in _layers(right)
               if "scale" in ly.get("encoding", {}).get("y", {}))
    assert 0.5 < dom[0] < 0.997 and 1.047 < dom[1] < 1.5   # fitted, not from 0, and holds 1
