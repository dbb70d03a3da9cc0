"""The fill (inversion/methods/fill.py) on the exact Gaussian model of a block-decimated source: its latent keeps
DDIM's component in the support S and draws the rest as white noise, per sample seed."""
from __future__ import annotations

import math

import pytest
import torch

from spectral_collapse.data.degrade import nearest_downup
from spectral_collapse.data.support import BlockProjector
from spectral_collapse.data.unpaired import Task, UnpairedDomains
from spectral_collapse.inversion import OVG, Euler, default_sigmas, invert, translate
from spectral_collapse.inversion.methods import Fill, get_method
from spectral_collapse.metrics import latent as lat
from spectral_collapse.models.oracle import fit_oracle
from spectral_collapse.reference.method_names import method_name
from spectral_collapse.framework.method_labels import method_specs

SHAPE = (3, 32, 32)      # d = 3,072
FACTOR = 4               # dim S = 192
P = BlockProjector(FACTOR, SHAPE)


@pytest.fixture(scope="module")
def oracle():
    """The exact model of 32 px smooth colour images (target) and their x4 block decimations (source)."""
    def smooth(n, seed):
        g = torch.Generator().manual_seed(seed)
        low = torch.rand((n, 3, 8, 8), generator=g) * 1.6 - 0.8
        x = torch.nn.functional.interpolate(low, size=32, mode="bilinear", align_corners=False)
        return (x + 0.1 * (torch.rand((n, *SHAPE), generator=g) * 2 - 1)).clamp(-1, 1)
    test = smooth(8, 5)
    # 400 crops: 3,200 dihedral views, more than the 3,072 elements, so the oracle fits the full covariance
    data = UnpairedDomains("toy", 32, nearest_downup(smooth(400, 3), FACTOR), smooth(400, 0),
                           nearest_downup(test, FACTOR), test, task=Task("sr", FACTOR))
    return data, fit_oracle(data, "eps")


def _latent(D, x, method, guidance=None, seeds=None):
    sig = default_sigmas(D, 10)
    tr = invert(D, x.double(), sig, method, guidance=guidance, seeds=seeds or list(range(len(x))))
    return D.to_noise(tr.x, float(sig[0])), tr


def test_fill_keeps_ddims_support_component_and_draws_white_noise_off_it(oracle):
    data, D = oracle
    x = data.test_source
    z_ddim, tr_ddim = _latent(D, x, Euler())
    z_fill, tr = _latent(D, x, Fill(P))
    assert torch.equal(tr.ctx.state["fill_on"], P(tr_ddim.x))          # the kept component: DDIM's, bit for bit
    assert torch.allclose(P(z_fill), P(z_ddim), rtol=0, atol=1e-13)
    k, d = P.dim, P.d
    off = P.complement(z_fill).pow(2).flatten(1).sum(1) / (d - k)    # white noise's off-support energy per element
    assert abs(float(off.mean()) - 1) < 4 * math.sqrt(2 / (d - k)) / math.sqrt(len(off))   # chi2(d - k) / (d - k)
    # the leak is a share: near 1, off by how far DDIM's on-support energy is from noise's (exact model: within 5 %)
    assert abs(float(lat.support_leak(z_fill, P).mean()) - 1) < 0.05
    assert lat.support_leak(z_ddim, P).max() < 1e-20


def test_fill_scale_sets_the_off_support_energy(oracle):
    data, D = oracle
    z1, _ = _latent(D, data.test_source, Fill(P))
    zh, _ = _latent(D, data.test_source, Fill(P, scale=0.5))
    off = lambda z: P.complement(z).pow(2).flatten(1).sum(1)  # noqa: E731
    assert torch.allclose(off(zh), 0.25 * off(z1), rtol=1e-12)
    with pytest.raises(ValueError, match="finite number >= 0"):
        Fill(P, scale=-1.0)


def test_fill_is_seeded_per_sample(oracle):
    data, D = oracle
    x = data.test_source[:4]
    a = translate(D, x, Fill(P), steps=10, seeds=[1, 2, 3, 4], warn_norm=False)
    b = translate(D, x, Fill(P), steps=10, seeds=[1, 2, 3, 4], warn_norm=False)
    c = translate(D, x, Fill(P), steps=10, seeds=[5, 6, 7, 8], warn_norm=False)
    part = translate(D, x[2:], Fill(P), steps=10, seeds=[3, 4], warn_norm=False)   # another batch: same draws
    assert torch.equal(a.output, b.output)
    assert not torch.allclose(a.output, c.output)
    assert torch.allclose(a.output[2:], part.output, rtol=0, atol=1e-10)   # the draws: the sample's own seed


def test_ovg_fill_composes_and_labels(oracle):
    data, D = oracle
    specs = {m.label: m for m in method_specs(["ddim_fill", "ovg_fill"], eta_hf=1e-6, eta_lf=1e-2, projector=P)}
    assert isinstance(specs["ovg_fill"].method, Fill) and isinstance(specs["ovg_fill"].guidance, OVG)
    assert method_name("ovg_fill") == "OVG + fill" and method_name("ddim_fill") == "DDIM + fill"
    z, _ = _latent(D, data.test_source, specs["ovg_fill"].method, specs["ovg_fill"].guidance)
    z_ovg, _ = _latent(D, data.test_source, Euler(), specs["ovg_fill"].guidance)
    assert torch.allclose(P(z), P(z_ovg), atol=1e-13)
    with pytest.raises(ValueError, match="need the support"):
        method_specs(["ddim_fill"], eta_hf=0.0, eta_lf=0.0, check_support=True)
    with pytest.raises(ValueError, match="needs the projector"):
        _latent(D, data.test_source, get_method("fill"))


def test_a_fill_cell_is_keyed_by_its_support_and_scale():
    """The cell cache keys a fill by its projector's description and its scale (pipeline/memo.py)."""
    from spectral_collapse.pipeline.memo import fingerprint

    def key(projector, scale=1.0):
        ms = method_specs(["ddim_fill"], eta_hf=0.0, eta_lf=0.0, projector=projector, fill_scale=scale)[0]
        return fingerprint(ms.describe())
    assert key(P) == key(BlockProjector(FACTOR, SHAPE))
    assert len({key(P), key(BlockProjector(2, SHAPE)), key(P, 0.5)}) == 3
    assert "block" in str(method_specs(["ddim_fill"], eta_hf=0.0, eta_lf=0.0, projector=P)[0].describe())
