"""The latent and metric-validation chapters' prose: the χ² facts stated right, one name per quantity (AUC), short
sentences in the verdicts, the numbers in the prose computed from the values as the tables show them, and no storage
talk where a reader reads it."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]


def _markdown(notebook: str) -> str:
    nb = json.loads((ROOT / "notebooks" / notebook).read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def _sentences(text: str) -> list[str]:
    """The text cut at each ". " outside brackets."""
    out, depth, cur = [], 0, ""
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        cur += ch
        if ch == "." and text[i + 1:i + 2] in (" ", "\n") and depth == 0:
            out, cur = [*out, cur.strip()], ""
    return [*out, cur.strip()] if cur.strip() else out


def _gauss(n: int = 128, d: int = 256) -> xr.Dataset:
    import scipy.stats

    rng = np.random.default_rng(0)
    scales = {"ddim": (0.8, 1.0), "taba": (1.0, 0.3), "edm": (0.85, 1.3)}
    sd0 = math.sqrt(2 / d)
    ratio = np.stack([mu + k * sd0 * rng.standard_normal(n) for mu, k in scales.values()])
    ks = [scipy.stats.kstest(r * d, "chi2", args=(d,)) for r in ratio]
    z = (ratio.mean(1) * d - d) / math.sqrt(2 * d / n)
    return xr.Dataset({"norm_ratio": (("method", "latent"), ratio),
                       "s_g": (("method",), [1 - k.statistic for k in ks]), "ks_p": (("method",), [k.pvalue for k in ks]),
                       "mean_norm_ratio": (("method",), ratio.mean(1)), "norm_z": (("method",), z)},
                      coords={"method": list(scales), "latent": np.arange(n)},
                      attrs={"d": d, "gaussian_s_g": 0.9, "study": "gaussianity"})


def test_the_gaussianity_intro_gives_chi2_its_own_mean_and_sd_and_u_its_own():
    text = _markdown("gaussianity.ipynb")
    assert "(mean 1, sd √(2/d))" not in text           # those are u's, not χ²(d)'s
    assert "mean d and sd √(2d)" in text and "u has mean 1 and sd √(2/d)" in text
    assert "N(0, I_d)" not in text                       # I_d typeset


def test_the_gaussianity_verdict_speaks_in_short_sentences_and_states_the_norm_z_rule():
    from spectral_collapse.report.latents import verdict

    said = verdict(_gauss())
    for paragraph in said.split("\n\n"):
        for s in _sentences(paragraph):
            assert len(s.split()) <= 70, s
    assert "by more than 1" in said and "one unit of its sd" not in said


def test_the_mean_z_gloss_says_it_is_the_norm_z_score_over_root_n():
    from spectral_collapse.report.latent_columns import COLUMN_NOTES

    assert "√n" in COLUMN_NOTES["z_mean"] and "norm z-score" in COLUMN_NOTES["z_mean"]


def _pca(n: int = 24, d: int = 64) -> xr.Dataset:
    rng = np.random.default_rng(1)
    k = np.arange(1, n + 1)
    g = np.minimum(1, k / n + 0.05 * np.sin(np.pi * k / n))
    a = np.minimum(1, g + 0.1 * np.sin(np.pi * k / n))
    lat = rng.standard_normal((2, 3, 1, 8, 8))
    return xr.Dataset({"cev": (("series", "component"), np.stack([a, g])), "k90": ("series", [10, 20]),
                       "auc": ("series", [a.mean(), g.mean()]), "n": ("series", [n, n]),
                       "latents": (("series", "image", "channel", "y", "x"), lat)},
                      coords={"series": ["ddim", "gaussian"], "component": k,
                              "method": ("series", ["ddim", "gaussian"]), "factor": ("series", [0, 0])},
                      attrs={"study": "pca_collapse", "model_factor": 0})


def test_the_pca_chapter_calls_the_curves_mean_auc_everywhere(monkeypatch):
    from spectral_collapse.report import latents
    from spectral_collapse.report.latents import pca_reading, verdict

    monkeypatch.setattr(latents, "_on_the_claims_page", lambda ds: "")

    said = pca_reading(_pca()) + " " + verdict(_pca())
    assert "AUC" in pca_reading(_pca()) and "AUC" in verdict(_pca())
    assert "mean cumulative variance" not in said and "mean of its curve" not in said


def test_a_zero_interval_bound_carries_no_sign():
    from spectral_collapse.text import unsigned_zero   # what the chapter's claims text goes through

    assert unsigned_zero("−0.9 [−2.0, +0.0] and [−0.0, 1.5]") == "−0.9 [−2.0, 0.0] and [0.0, 1.5]"
    assert unsigned_zero("[−0.05, +0.01]") == "[−0.05, +0.01]"


def test_the_noise_reference_text_has_no_storage_talk():
    from spectral_collapse.report.latent_pca import on_noise_text

    ds = _pca()
    ds["cev"].loc[{"series": "ddim"}] = ds["cev"].sel(series="gaussian").values
    text = on_noise_text(ds, ["ddim"])
    assert "stored" not in text and "Nor are they" not in text


def _mv(high, base=0.974) -> xr.Dataset:
    return xr.Dataset({"slope": ("domain", [-2.668, -0.597]),
                       "filtered_s_hf": (("filter", "kappa", "held_out"),
                                         np.array([[[0.5, 0.5]] * len(high), [[v, v] for v in high]])),
                       "unfiltered_s_hf": ("held_out", [base, base])},
                      coords={"domain": ["target", "source"], "filter": ["lowpass", "highpass"],
                              "kappa": list(range(len(high)))},
                      attrs={"wavelet": "sym3"})


@pytest.mark.parametrize("notebook", ["model_quality.ipynb"])
def test_the_plateau_rule_reads_as_the_gate_table_writes_it(notebook):
    from spectral_collapse.studies.quality import THRESHOLDS

    text = _markdown(notebook)
    assert "2 % or more" not in text and f"below {THRESHOLDS['plateau']:g}" in text
