"""Denoiser wrappers against the exact Gaussian denoiser (the analytic-model contract test).

Reference: for data ~ N(0, s^2 I), D*(x; sigma) = x s^2 / (sigma^2 + s^2) and eps* = (x - D*) / sigma, written
independently in conftest.closed_form. EDM preconditioning from Karras et al. (2022) Table 1 / paper Eq. 26-27.
"""
from __future__ import annotations

import math

import pytest
import torch
from conftest import KINDS, STDS, closed_form, oracle_denoiser
from torch import nn

from spectral_collapse.models.denoisers import EDMDenoiser, EpsDenoiser, make_denoiser
from spectral_collapse.models.base import Prediction
from oracle import GaussianOracleNet
from spectral_collapse.models.schedules import VPSchedule

TOL = dict(rtol=1e-10, atol=1e-12)


def _sigma_range(D, n=9):
    """Log-spaced sigmas inside the denoiser's range (off the VP integer grid on purpose)."""
    lo, hi = max(D.sigma_min, 2e-3) * 1.01, D.sigma_max * 0.99
    return torch.logspace(math.log10(lo), math.log10(hi), n, dtype=torch.float64)


def _all_denoisers():
    out = [(k, oracle_denoiser(k)) for k in ("eps", "x0", "v")]
    out += [("edm-c_noise", oracle_denoiser("edm", time_input="c_noise")),
            ("edm-sigma", oracle_denoiser("edm", time_input="sigma"))]
    out += [(f"{k}-linear", oracle_denoiser(k, schedule=VPSchedule("linear", 1e-4, 0.02))) for k in ("eps", "v")]
    out += [("x0-cosine", oracle_denoiser("x0", schedule=VPSchedule("cosine")))]
    return out


@pytest.mark.parametrize("name,D", _all_denoisers(), ids=lambda v: v if isinstance(v, str) else "")
def test_wrapper_matches_closed_form_over_sigmas_and_labels(name, D, rng):
    x = torch.randn(3, 2, 4, 4, generator=rng, dtype=torch.float64) * 3
    for sigma in _sigma_range(D):
        for label in range(3):
            pred = D(x, float(sigma), label)
            x0, eps = closed_form(x, float(sigma), STDS[label])
            torch.testing.assert_close(pred.x0, x0, **TOL)
            torch.testing.assert_close(pred.eps, eps, **TOL)
            torch.testing.assert_close(pred.x0 + float(sigma) * pred.eps, x, **TOL)  # x = x0 + sigma * eps


@pytest.mark.parametrize("name,D", _all_denoisers(), ids=lambda v: v if isinstance(v, str) else "")
def test_per_sample_sigmas_and_labels(name, D, rng):
    sig = _sigma_range(D, 6)
    label = torch.tensor([0, 1, 2, 2, 1, 0])
    x = torch.randn(6, 1, 3, 3, generator=rng, dtype=torch.float64)
    pred = D(x, sig, label)
    x0, eps = closed_form(x, sig, torch.tensor(STDS, dtype=torch.float64)[label])
    torch.testing.assert_close(pred.x0, x0, **TOL)
    torch.testing.assert_close(pred.eps, eps, **TOL)
    # per-sample evaluation equals the batched one
    for b in range(6):
        one = D(x[b:b + 1], float(sig[b]), int(label[b]))
        torch.testing.assert_close(one.eps, pred.eps[b:b + 1], **TOL)


def test_all_parameterizations_agree_with_each_other(rng):
    x = torch.randn(4, 3, 4, 4, generator=rng, dtype=torch.float64)
    label = torch.tensor([0, 1, 2, 0])
    preds = {k: oracle_denoiser(k) for k in KINDS}
    for sigma in (0.05, 0.3, 1.0, 4.0, 12.0):  # inside every VP table (sigma_max ~ 14.6)
        ref = preds["eps"](x, sigma, label)
        for k in ("x0", "v", "edm"):
            p = preds[k](x, sigma, label)
            torch.testing.assert_close(p.x0, ref.x0, **TOL)
            torch.testing.assert_close(p.eps, ref.eps, **TOL)


def test_wrappers_are_finite_at_sigma_zero(rng):
    """Sampling ends at sigma = 0: no wrapper may divide by zero there (sigma is clamped to sigma_min)."""
    x = torch.randn(2, 1, 4, 4, generator=rng, dtype=torch.float64)
    for k in KINDS:
        p = oracle_denoiser(k)(x, 0.0, 0)
        assert torch.isfinite(p.x0).all() and torch.isfinite(p.eps).all(), k


class _Recorder(nn.Module):
    """Records what the wrapper feeds the network; returns a fixed output F."""

    def __init__(self, F: torch.Tensor):
        super().__init__()
        self.F, self.seen = F, []

    def forward(self, x, t, class_labels=None):
        self.seen.append((x.clone(), torch.as_tensor(t).clone(), class_labels.clone()))
        return self.F


@pytest.mark.parametrize("time_input", ["c_noise", "sigma"])
def test_edm_preconditioning_formulas(time_input, rng):
    """D = c_skip x + c_out F(c_in x, c_noise), Karras et al. 2022 Table 1, with sigma_data = 0.7."""
    sd = 0.7
    x = torch.randn(2, 1, 4, 4, generator=rng, dtype=torch.float64)
    F = torch.randn(2, 1, 4, 4, generator=rng, dtype=torch.float64)
    net = _Recorder(F)
    D = EDMDenoiser(net, sigma_data=sd, time_input=time_input)
    sigma = torch.tensor([0.1, 7.0], dtype=torch.float64)
    pred = D(x, sigma, torch.tensor([1, 2]))
    s = sigma.reshape(-1, 1, 1, 1)
    c_skip, c_out, c_in = sd**2 / (s**2 + sd**2), s * sd / (s**2 + sd**2).sqrt(), 1 / (s**2 + sd**2).sqrt()
    xin, t, lab = net.seen[0]
    torch.testing.assert_close(xin, c_in * x, **TOL)
    torch.testing.assert_close(t, sigma.log() / 4 if time_input == "c_noise" else sigma, **TOL)
    assert lab.tolist() == [1, 2]
    torch.testing.assert_close(pred.x0, c_skip * x + c_out * F, **TOL)
    torch.testing.assert_close(pred.eps, (x - pred.x0) / s, **TOL)
    torch.testing.assert_close(D.time_label(sigma), t, **TOL)


def test_edm_time_input_mismatch_is_detected(rng):
    """A c_noise network read with raw sigma (or vice versa) must NOT reproduce the oracle: the option matters.

    Label 1 (s = 1 != sigma_data): for s = sigma_data the ideal F is 0 and the time input would not matter.
    """
    x = torch.randn(2, 1, 4, 4, generator=rng, dtype=torch.float64)
    for ours, theirs in (("sigma", "c_noise"), ("c_noise", "sigma")):
        wrong = oracle_denoiser("edm", time_input=ours, net_time_input=theirs)
        x0, _ = closed_form(x, 2.0, STDS[1])
        assert (wrong(x, 2.0, 1).x0 - x0).abs().max() > 1e-3


@pytest.mark.parametrize("kind", ["eps", "x0", "v"])
def test_vp_wrapper_feeds_scaled_input_and_integer_time_on_grid(kind, rng):
    """The network sees x_t = x~ sqrt(alpha_bar_t) and the integer label t when sigma is a grid level (paper Eq. 16)."""
    sched = VPSchedule()
    ab = sched.alphas_cumprod()
    x = torch.randn(3, 1, 4, 4, generator=rng, dtype=torch.float64)
    ts = torch.tensor([0, 417, 999])
    sigma = ((1 - ab[ts]) / ab[ts]).sqrt()
    net = _Recorder(torch.zeros_like(x))
    make_denoiser(net, kind, schedule=sched)(x, sigma, 0)
    xin, t, _ = net.seen[0]
    torch.testing.assert_close(xin, x * ab[ts].sqrt().reshape(-1, 1, 1, 1), **TOL)
    assert torch.equal(t.double(), ts.double())


def test_v_wrapper_against_definition(rng):
    """v = sqrt(ab) eps - sqrt(1 - ab) x0 (Salimans & Ho 2022): a net that outputs the true v gives the truth back."""
    sched = VPSchedule()
    x0 = torch.randn(2, 1, 4, 4, generator=rng, dtype=torch.float64)
    eps = torch.randn(2, 1, 4, 4, generator=rng, dtype=torch.float64)
    ab = float(sched.alphas_cumprod()[300])
    a, b = math.sqrt(ab), math.sqrt(1 - ab)
    v = a * eps - b * x0
    D = make_denoiser(_Recorder(v), "v", schedule=sched)
    pred = D(x0 + (b / a) * eps, b / a, 0)
    torch.testing.assert_close(pred.x0, x0, **TOL)
    torch.testing.assert_close(pred.eps, eps, **TOL)


def test_noise_maps(rng):
    """to_noise gives the unit-variance prior variable: VP x~ sqrt(ab) = x~ / sqrt(1 + sigma^2), EDM x / sigma."""
    x = torch.randn(2, 1, 4, 4, generator=rng, dtype=torch.float64)
    vp, edm = oracle_denoiser("eps"), oracle_denoiser("edm")
    for D, scale in ((vp, 1 / math.sqrt(1 + 9.0)), (edm, 1 / 3.0)):
        torch.testing.assert_close(D.to_noise(x, 3.0), x * scale, **TOL)
        torch.testing.assert_close(D.from_noise(D.to_noise(x, 3.0), 3.0), x, **TOL)
    torch.testing.assert_close(float(vp.input_scale(3.0)), 1 / math.sqrt(10.0))
    assert float(edm.input_scale(3.0)) == 1.0


def test_float32_inputs_stay_float32_and_close(rng):
    x = torch.randn(2, 3, 4, 4, generator=rng)
    for k in KINDS:
        p = oracle_denoiser(k)(x, 0.8, 1)
        assert p.x0.dtype == torch.float32 and p.eps.dtype == torch.float32
        x0, eps = closed_form(x.double(), 0.8, STDS[1])
        torch.testing.assert_close(p.x0.double(), x0, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(p.eps.double(), eps, rtol=1e-5, atol=1e-5)


def test_gradients_flow_to_the_input(rng):
    """Guidance differentiates D w.r.t. x; d eps*/dx = sigma / (sigma^2 + s^2) for the oracle."""
    for k in KINDS:
        x = torch.randn(1, 1, 2, 2, generator=rng, dtype=torch.float64).requires_grad_(True)
        (g,) = torch.autograd.grad(oracle_denoiser(k)(x, 0.9, 0).eps.sum(), x)
        torch.testing.assert_close(g, torch.full_like(g, 0.9 / (0.81 + 0.25)), **TOL)


def test_bad_names_raise():
    with pytest.raises(ValueError, match="eps, x0, v, edm"):
        make_denoiser(GaussianOracleNet("eps"), "score")
    with pytest.raises(ValueError, match="time_input"):
        EDMDenoiser(GaussianOracleNet("edm"), time_input="log")
    with pytest.raises(ValueError, match="kind"):
        GaussianOracleNet("score")


def test_prediction_and_eps_native_path(rng):
    """EpsDenoiser returns the network's eps untouched (no x0 round trip), so tiny sigma loses nothing."""
    eps = torch.randn(1, 1, 4, 4, generator=rng, dtype=torch.float64)
    D = EpsDenoiser(_Recorder(eps), VPSchedule())
    pred = D(torch.zeros_like(eps), D.sigma_min, 0)
    assert isinstance(pred, Prediction) and torch.equal(pred.eps, eps)
