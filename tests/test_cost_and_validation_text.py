"""What the reproducing page, the cost paragraphs, the benchmarks and cost chapters and the metric-validation chapter
say, each from synthetic inputs: every number in the text follows from the inputs, and each sentence says what its
numbers are."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from benchmarks import published
from spectral_collapse.pipeline import cost_pages
from spectral_collapse.report import reproducing as rp

TIMING = {"forward": {"cpu_s_per_image": 2.0}, "forward_backward": {"cpu_s_per_image": 7.0}, "forward_flops": 1e11,
          "parameters": 6e8, "shape": [4, 32, 32], "machine": {"cpu": "x86_64", "cpu_count": 2}, "threads": 1,
          "created": "2026-01-02T00:00:00"}


@dataclass
class _Role:
    key: str
    seed: int


def test_replicates_text_follows_the_replicate_roles():
    from spectral_collapse.studies.models import SEED_REPLICATES

    said = rp.replicates_text()
    seeds = sorted({0} | {r.seed for r in SEED_REPLICATES})
    assert f"from training seeds {', '.join(map(str, seeds[:-1]))} and {seeds[-1]}" in said
    assert "three times" in said and "every other model once" in said and "each once" not in said
    two = rp.replicates_text([_Role("ihc-sr-x4-eps-seed5", 5)])
    assert "twice" in two and "seeds 0 and 5" in two
    assert rp.replicates_text(()) == "every model is trained once"
    assert "each once" not in cost_pages.profile_fragment("quick")


def test_estimate_states_the_basis_of_each_column():
    t = dict(TIMING)
    text = rp.basis_text(t, 3.37, "measured somewhere")
    fb = TIMING["forward_backward"]["cpu_s_per_image"] / TIMING["forward"]["cpu_s_per_image"]
    assert f"{fb:.2f} forwards in the forward-pass and CPU-hour columns" in text
    assert "3 forwards in the GPU-hour column" in text and "3.37 forwards in every column" in text
    est = rp.paper_scale_estimate(t)
    train = est.iloc[0]
    # the columns' bases as stated: forward passes x fb/f on the CPU, 3 forwards of FLOPs on the GPU
    assert train["forward_equivalents"] / (train["gpu_hours"] * 3600 * rp.GPU_TFLOPS * 1e12 / t["forward_flops"]) \
        == pytest.approx(fb / 3)


def test_gpu_paragraph_compares_only_the_runs_the_estimate_covers_and_rounds_consistently():
    train = [{"backbone": "unet", "space": "latent", "parameterization": p, "dataset": d, "step_s": 2.0,
              "steps": 80000, "projected_gpu_hours": 44.4, "params_M": 600, "peak_GiB": 40.0}
             for d in ("bbbc021", "edges2shoes") for p in ("eps", "edm")]
    train.append({"backbone": "dit", "space": "latent", "parameterization": "eps", "dataset": "bbbc021",
                  "step_s": 1.0, "steps": 120000, "projected_gpu_hours": 33.3, "params_M": 500, "peak_GiB": 70.0})
    gpu = {"gpu": "GPU X", "paper_scale": {"train": train, "total_projected_gpu_hours": 210.9,
                                           "translation": {"batch": 4, "steps": 50, "ovg_s": 24.746,
                                                           "ddim_s": 8.974, "ratio": 9.99}}}
    text = cost_pages.gpu_fragment(gpu, TIMING, 3.0)
    assert "The 4 latent-space U-Net runs, the only ones the estimate above covers, come to 177.6 GPU hours" in text
    assert "unet /" not in text and "latent-space U-Net, ε-prediction, BBBC021" in text
    assert "latent-space DiT, EDM" not in text and "latent-space DiT, ε-prediction, BBBC021" in text
    shown = re.search(r"takes ([\d.]+) s against ([\d.]+) s for DDIM \(([\d.]+)×\)", text)
    a, b, r = (float(g) for g in shown.groups())
    assert r == pytest.approx(a / b, abs=0.006)           # the ratio is that of the times shown, not a stored one
    assert "benchmarks' small U-Net" in text


def test_published_counts_agree_within_the_tolerance_and_say_when_not():
    ok = {"label": "edict", "calls_per_step": 2.0, "backward_per_step": 0.0}
    bad = {"label": "edict", "calls_per_step": 2.5, "backward_per_step": 0.0}
    assert published.agreement(ok, 3) == (True, [])
    flag, off = published.agreement(bad, 3)
    assert not flag and off == ["calls 2.50 against 2"]
    heun = {"label": "heun", "calls_per_step": 5 / 3, "backward_per_step": 0.0}
    assert published.agreement(heun, 3)[0] and not published.agreement(heun, 50)[0]


def _validation(size=32, band=(0.005, 0.4)):
    freqs = np.linspace(0, np.sqrt(2) / 2, size * 3 // 4)
    ds = xr.Dataset(coords={"freq": freqs, "x": np.arange(size)})
    ds.attrs.update(band=list(band), filters="lowpass keeps |omega| <= kappa * 0.5 cycles/px (x); highpass is its "
                                              "complement", versions='{"torch": "2.0", "python": "3.1"}')
    return ds


def test_a_headword_set_as_code_is_its_text(tmp_path):
    from spectral_collapse.pipeline.chapters import glossary_terms

    g = tmp_path / "glossary.md"
    g.write_text("```{glossary}\nNorm z-score\n`norm_z`\n  A definition.\n```\n")
    assert glossary_terms(g) == ["Norm z-score", "norm_z"]
