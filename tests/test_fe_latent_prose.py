"""The latent and metric-validation chapters' prose: the χ² facts stated right, the numbers in the prose computed
from the values as the tables show them, and no storage talk where a reader reads it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]


def _markdown(notebook: str) -> str:
    nb = json.loads((ROOT / "notebooks" / notebook).read_text())
    cells = ["".join(c["source"]) for c in nb["cells"]]   # markdown cells and answer paragraphs (answers.markdown)
    return "\n".join(s for c, s in zip(nb["cells"], cells) if c["cell_type"] == "markdown"
                     or s.startswith("answers.markdown("))


def test_the_gaussianity_intro_gives_chi2_its_own_mean_and_sd_and_u_its_own():
    text = _markdown("gaussianity.ipynb")
    assert "(mean 1, sd √(2/d))" not in text           # those are u's, not χ²(d)'s
    assert "mean d and sd √(2d)" in text and "u has mean 1 and sd √(2/d)" in text
    assert "N(0, I_d)" not in text                       # I_d typeset


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
    from spectral_collapse.framework.quality import THRESHOLDS

    text = _markdown(notebook)
    assert "2 % or more" not in text and f"below {THRESHOLDS['plateau']:g}" in text
