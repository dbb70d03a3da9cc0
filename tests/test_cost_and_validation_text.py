"""What the reproducing tables, the benchmarks and cost chapters and the metric-validation chapter
say, each from synthetic inputs: every number in the text follows from the inputs, and each sentence says what its
numbers are."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from benchmarks.tables import agreement
from spectral_collapse.tables import reproducing as rp

TIMING = {"forward": {"cpu_s_per_image": 2.0}, "forward_backward": {"cpu_s_per_image": 7.0}, "forward_flops": 1e11,
          "parameters": 6e8, "shape": [4, 32, 32], "machine": {"cpu": "x86_64", "cpu_count": 2}, "threads": 1,
          "created": "2026-01-02T00:00:00"}


def test_the_estimates_columns_count_a_training_image_as_the_timing_table_says():
    t = dict(TIMING)
    fb = TIMING["forward_backward"]["cpu_s_per_image"] / TIMING["forward"]["cpu_s_per_image"]
    said = rp.timing_table(t, 3.37).set_index("quantity")["value"]
    assert said["forward + backward in forwards (CPU columns)"] == f"{fb:.2f}"
    assert said["OVG inversion step in forwards"] == "3.37"
    est = rp.paper_scale_estimate(t)
    train = est.iloc[0]
    # the columns' bases as stated: forward passes x fb/f on the CPU, 3 forwards of FLOPs on the GPU
    assert train["forward_equivalents"] / (train["gpu_hours"] * 3600 * rp.GPU_TFLOPS * 1e12 / t["forward_flops"]) \
        == pytest.approx(fb / 3)


def test_gpu_table_compares_only_the_runs_the_estimate_covers_and_rounds_consistently():
    train = [{"backbone": "unet", "space": "latent", "parameterization": p, "dataset": d, "step_s": 2.0,
              "steps": 80000, "projected_gpu_hours": 44.4, "params_M": 600, "peak_GiB": 40.0}
             for d in ("bbbc021", "edges2shoes") for p in ("eps", "edm")]
    train.append({"backbone": "dit", "space": "latent", "parameterization": "eps", "dataset": "bbbc021",
                  "step_s": 1.0, "steps": 120000, "projected_gpu_hours": 33.3, "params_M": 500, "peak_GiB": 70.0})
    gpu = {"gpu": "GPU X", "paper_scale": {"train": train, "total_projected_gpu_hours": 210.9,
                                           "translation": {"batch": 4, "steps": 50, "ovg_s": 24.746,
                                                           "ddim_s": 8.974, "ratio": 9.99}}}
    said = rp.gpu_table(gpu, TIMING, 3.0).set_index("quantity")["value"]
    assert said["latent U-Net runs (4), measured GPU hours"] == "177.6"
    a, b, r = (float(said[k]) for k in ("OVG translation of 4 latents, s", "DDIM translation, s",
                                         "OVG / DDIM on the GPU"))
    assert r == pytest.approx(a / b, abs=0.006)           # the ratio is that of the times shown, not a stored one
    assert len(rp.gpu_train_table(gpu)) == 5


def test_published_counts_agree_within_the_tolerance_and_say_when_not():
    ok = {"label": "edict", "calls_per_step": 2.0, "backward_per_step": 0.0}
    bad = {"label": "edict", "calls_per_step": 2.5, "backward_per_step": 0.0}
    assert agreement(ok, 3) == (True, [])
    flag, off = agreement(bad, 3)
    assert not flag and off == ["calls 2.50 against 2"]
    heun = {"label": "heun", "calls_per_step": 5 / 3, "backward_per_step": 0.0}
    assert agreement(heun, 3)[0] and not agreement(heun, 50)[0]


def _validation(size=32, band=(0.005, 0.4)):
    freqs = np.linspace(0, np.sqrt(2) / 2, size * 3 // 4)
    ds = xr.Dataset(coords={"freq": freqs, "x": np.arange(size)})
    ds.attrs.update(band=list(band), filters="lowpass keeps |omega| <= kappa * 0.5 cycles/px (x); highpass is its "
                                              "complement", versions='{"torch": "2.0", "python": "3.1"}')
    return ds
