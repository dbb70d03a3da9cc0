"""VP schedules, sigma <-> t maps, Karras and DDIM grids against diffusers and the papers' formulas.

References: diffusers DDPMScheduler / DDIMScheduler (the model zoo's conventions), Karras et al. (2022) Eq. 5 =
paper Eq. 25, paper Eq. 16 sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler

from spectral_collapse.models.schedules import VPSchedule, ddim_sigmas, ddim_timesteps, karras_sigmas

CASES = [("linear", 1e-4, 0.02, "linear"), ("scaled_linear", 0.00085, 0.012, "scaled_linear"),
         ("cosine", 1e-4, 0.02, "squaredcos_cap_v2")]


@pytest.mark.parametrize("kind,b0,b1,hf", CASES)
def test_alphas_cumprod_equal_diffusers(kind, b0, b1, hf):
    """diffusers works in float32, we in float64: agree to float32 round-off (and cumprod accumulation)."""
    ours = VPSchedule(kind, b0, b1)
    ref = DDPMScheduler(num_train_timesteps=1000, beta_start=b0, beta_end=b1, beta_schedule=hf)
    assert ours.betas().dtype == torch.float64 and ours.alphas_cumprod().shape == (1000,)
    torch.testing.assert_close(ours.betas(), ref.betas.double(), rtol=3e-7, atol=1e-9)
    torch.testing.assert_close(ours.alphas_cumprod(), ref.alphas_cumprod.double(), rtol=2e-5, atol=1e-8)
    # float64 cumprod of diffusers' own (float32-rounded) betas
    torch.testing.assert_close(ours.alphas_cumprod(), torch.cumprod(1 - ref.betas.double(), 0), rtol=1e-5, atol=1e-9)


def test_sigmas_paper_eq16_and_unknown_kind():
    s = VPSchedule()
    ab = s.alphas_cumprod()
    torch.testing.assert_close(s.sigmas(), ((1 - ab) / ab).sqrt(), rtol=1e-14, atol=0)
    assert (s.sigmas().diff() > 0).all()
    assert s.sigma_min() == float(s.sigmas()[0]) and s.sigma_max() == float(s.sigmas()[-1])
    with pytest.raises(ValueError, match="linear, scaled_linear or cosine"):
        VPSchedule("sigmoid").betas()


@pytest.mark.parametrize("kind,b0,b1,hf", CASES)
def test_sigma_to_t_exact_on_grid_and_inverse(kind, b0, b1, hf):
    s = VPSchedule(kind, b0, b1)
    sig = s.sigmas()
    t = s.sigma_to_t(sig)
    assert t.dtype == torch.float64
    assert torch.equal(t, torch.arange(1000, dtype=torch.float64))  # exact integers on the training grid
    torch.testing.assert_close(s.t_to_sigma(torch.arange(1000.0)), sig, rtol=1e-13, atol=0)
    # off the grid: round trips both ways
    g = torch.Generator().manual_seed(0)
    tt = torch.rand(500, generator=g, dtype=torch.float64) * 999
    torch.testing.assert_close(s.sigma_to_t(s.t_to_sigma(tt)), tt, rtol=0, atol=1e-9)
    lo, hi = float(sig[0].log()), float(sig[-1].log())
    ss = torch.exp(torch.empty(500, dtype=torch.float64).uniform_(lo, hi, generator=g))
    torch.testing.assert_close(s.t_to_sigma(s.sigma_to_t(ss)), ss, rtol=1e-12, atol=0)
    # documented interpolation: log sigma linear in t, so the geometric midpoint sits at k + 1/2
    k = torch.tensor([0, 10, 500, 998])
    mid = (sig[k] * sig[k + 1]).sqrt()
    torch.testing.assert_close(s.sigma_to_t(mid), k.double() + 0.5, rtol=0, atol=1e-9)
    # clamped outside the table; shape kept
    assert float(s.sigma_to_t(torch.tensor(0.0))) == 0.0
    assert float(s.sigma_to_t(torch.tensor(1e6))) == 999.0
    assert s.sigma_to_t(sig[:6].reshape(2, 3)).shape == (2, 3)


def _karras_reference(n, smin, smax, rho):
    """Paper Eq. 25 in plain Python: sigma_i = (smax^(1/rho) + i/(n-1) (smin^(1/rho) - smax^(1/rho)))^rho, then 0."""
    out = []
    for i in range(n):
        out.append((smax ** (1 / rho) + i / (n - 1) * (smin ** (1 / rho) - smax ** (1 / rho))) ** rho)
    return np.array(out + [0.0])


@pytest.mark.parametrize("n,smin,smax,rho", [(18, 0.002, 80.0, 7.0), (50, 0.002, 80.0, 7.0), (5, 0.01, 10.0, 3.0),
                                             (2, 0.002, 80.0, 7.0)])
def test_karras_sigmas_eq25(n, smin, smax, rho):
    s = karras_sigmas(n, smin, smax, rho)
    assert s.dtype == torch.float64 and len(s) == n + 1 and float(s[-1]) == 0.0
    np.testing.assert_allclose(s.numpy(), _karras_reference(n, smin, smax, rho), rtol=1e-13, atol=0)
    np.testing.assert_allclose([float(s[0]), float(s[n - 1])], [smax, smin], rtol=1e-12)
    assert (s.diff() < 0).all()


def test_karras_sigmas_one_step_and_errors():
    assert karras_sigmas(1, 0.002, 80.0).tolist() == [80.0, 0.0]
    for bad in (0, -3):
        with pytest.raises(ValueError, match="steps"):
            karras_sigmas(bad)
        with pytest.raises(ValueError, match="steps"):
            ddim_timesteps(bad)


def _diffusers_timesteps(n, spacing, offset=0):
    sch = DDIMScheduler(num_train_timesteps=1000, timestep_spacing=spacing, steps_offset=offset)
    sch.set_timesteps(n)
    return sch.timesteps.long()


@pytest.mark.parametrize("spacing,offset", [("leading", 0), ("leading", 1), ("trailing", 0)])
def test_ddim_timesteps_equal_diffusers(spacing, offset):
    for n in list(range(1, 101)) + [128, 250, 333, 500, 999, 1000]:
        ours = ddim_timesteps(n, 1000, spacing, offset)
        # Two diffusers quirks we do not copy: leading with offset 1 and n = 1000 gives t = 1000 (outside its
        # table; we clamp to T - 1), and trailing for some n (61, 103, ...) appends an (n+1)-th level t = -1
        # because numpy's arange overshoots; we keep exactly n levels.
        ref = _diffusers_timesteps(n, spacing, offset).clamp(max=999)[:n]
        assert len(ours) == n
        assert torch.equal(ours, ref), (n, ours.tolist()[:8], ref.tolist()[:8])


def test_ddim_sigmas_and_spacing_errors():
    s = VPSchedule()
    grid = ddim_sigmas(s, 50)
    ts = _diffusers_timesteps(50, "leading")
    assert len(grid) == 51 and float(grid[-1]) == 0.0  # set_alpha_to_one: the last level is the clean image
    torch.testing.assert_close(grid[:-1], s.sigmas()[ts], rtol=0, atol=0)
    assert (grid.diff() < 0).all()
    with pytest.raises(ValueError, match="leading or trailing"):
        ddim_timesteps(10, spacing="linspace")
