"""Where OVG's variance drift goes (``framework.realism.drift_diagnostics``, ``chroma_share``): closed forms for grey,
coloured and i.i.d. fields, a block-grid drift found by its edge ratio, and the main results recording the variance
term alone."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import xarray as xr

from spectral_collapse.metrics import realism as rl
from spectral_collapse.framework.realism import chroma_share, drift_diagnostics


def test_chroma_share_of_grey_coloured_and_white_fields():
    rng = np.random.default_rng(0)
    grey = np.repeat(rng.standard_normal((4, 1, 8, 8)), 3, axis=1)          # R = G = B: luminance only
    assert chroma_share(grey) == pytest.approx(0.0, abs=1e-12)
    y = np.zeros((4, 3, 8, 8))
    y[:, 1] = rng.standard_normal((4, 8, 8))                               # a field of pure Cb
    rgb = np.einsum("ck,bkhw->bchw", np.linalg.inv(rl.YCBCR_601), y)
    assert chroma_share(rgb) == pytest.approx(1.0, abs=1e-12)
    white = rng.standard_normal((64, 3, 16, 16))                           # i.i.d. per channel: the map's rows
    expect = (rl.YCBCR_601[1:] ** 2).sum() / (rl.YCBCR_601 ** 2).sum()
    assert chroma_share(white) == pytest.approx(expect, abs=0.01)


class _BlockDrift:
    """A guidance term whose drift is nearly constant on 4 x 4 blocks, in colour only (Cb), and halves each step."""

    def __init__(self):
        self.k = 0

    def drift(self, D, x, x_base, sigma, sigma_next, ctx):
        self.k += 1
        g = torch.Generator().manual_seed(self.k)
        blocks = torch.randn(x.shape[0], 1, x.shape[-2] // 4, x.shape[-1] // 4, generator=g, dtype=x.dtype)
        cb = blocks.repeat_interleave(4, -2).repeat_interleave(4, -1)
        cb = cb + 1e-3 * torch.randn(cb.shape, generator=g, dtype=x.dtype)   # a little within-block variation
        inv = torch.from_numpy(np.linalg.inv(rl.YCBCR_601)).to(x.dtype)
        return 0.5 ** self.k * torch.einsum("ck,bkhw->bchw", inv[:, 1:2], cb)


def test_a_blocky_colour_drift_is_found_in_colour_on_the_block_edges():
    from conftest import oracle_denoiser
    from spectral_collapse.inversion import Euler

    D = oracle_denoiser("eps", stds=(0.5, 0.5, 0.5))
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.5
    truth = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    out = drift_diagnostics(D, x, Euler(), _BlockDrift(), steps=6, block=4, truth=truth)
    assert out.attrs["ovg_drift_total_chroma_share"] == pytest.approx(1.0, abs=1e-9)
    assert out.attrs["ovg_drift_block_edge_ratio"] > 100                   # changes only across block edges
    norms = out["ovg_drift_norm"].values
    assert len(norms) == out.sizes["drift_step"] > 1 and np.all(np.diff(norms) < 0)   # halving each step
    assert 0.5 < out.attrs["truth_detail_chroma_share"] < 0.8               # i.i.d. truth: about the white share


def test_the_main_results_record_the_variance_term_alone(monkeypatch):
    """The drift diagnostics of the main results run OVG at its chosen eta_HF with eta_LF 0, so the structure term
    does not mix into where the variance drift goes."""
    from types import SimpleNamespace

    from spectral_collapse.studies import main_results as translation

    seen = {}

    def fake(D, x, method, guidance, steps, block=None, truth=None):
        seen.update(eta_hf=guidance.eta_hf, eta_lf=guidance.eta_lf, block=block)
        return xr.Dataset()

    monkeypatch.setattr(translation, "drift_diagnostics", fake)
    ds = xr.Dataset({"crop": (("seed", "sample"), np.array([[0, 1]]))}, coords={"method": ["ddim", "ovg"]})
    ds.attrs.update(ovg=json.dumps({"eta_hf": 1e-6, "eta_lf": 1e-2, "per_base": {"ovg": {"eta_hf": 3e-7,
                                                                                       "eta_lf": 1e-3}}}),
                    s_lf_kappa=0.25, steps=4)
    x = torch.zeros(2, 3, 8, 8)
    data = SimpleNamespace(test_source=x, test_target=x, task=SimpleNamespace(kind="sr", factor=4))
    ctx = SimpleNamespace(cache=SimpleNamespace(cell=lambda key, fn: fn()))
    translation._ovg_drift(ctx, ds, data, {"eps": object()}, None)
    assert seen == {"eta_hf": 3e-7, "eta_lf": 0.0, "block": 4}
