"""The oracle (models/oracle.py): the exact denoiser of a Gaussian per label, checked against closed forms computed
independently (dense solves), Monte-Carlo estimates with their standard errors, and the project's own loop and OVG."""
from __future__ import annotations

import math

import pytest
import torch

from spectral_collapse.data.unpaired import dihedral
from spectral_collapse.inversion.guidance import OVG, ovg_gradients
from spectral_collapse.inversion.loop import Context, invert, sample
from spectral_collapse.inversion.methods import get_method
from spectral_collapse.models.gaussian import FullGaussian, StationaryGaussian, fit_gaussian
from spectral_collapse.models.oracle import GaussianPair, OracleDenoiser, OracleEDMDenoiser

SHAPE = (3, 2, 2)  # d = 12


def _gaussian(seed: int, lo: float = 0.05, hi: float = 1.0) -> FullGaussian:
    g = torch.Generator().manual_seed(seed)
    d = math.prod(SHAPE)
    Q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    lam = torch.linspace(lo, hi, d, dtype=torch.float64)
    mu = 0.3 * torch.randn(SHAPE, generator=g, dtype=torch.float64)
    return FullGaussian(mu, (Q * lam) @ Q.T)


@pytest.fixture(scope="module")
def pair():
    return GaussianPair(_gaussian(0), _gaussian(1))


def _dense(G):
    return G.mu.flatten(), G.covariance()


def test_eps_is_the_posterior_means_closed_form(pair):
    """x - sigma eps (Tweedie) equals mu + C (C + sigma^2 I)^-1 (x - mu) from a dense solve, per label."""
    D = OracleDenoiser(pair)
    x = torch.randn(5, *SHAPE, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    for label in (0, 1):
        mu, C = _dense(pair.domain(label))
        for sigma in (0.05, 0.7, 9.0):
            pred = D(x, sigma, label)
            ref = mu + torch.linalg.solve(C + sigma**2 * torch.eye(len(mu), dtype=torch.float64),
                                          (x.flatten(1) - mu).T).T @ C
            assert torch.allclose(pred.x0.flatten(1), ref, rtol=0, atol=1e-12)
            assert torch.allclose(pair.domain(label).posterior_mean(x, sigma), pred.x0, atol=1e-12)


def test_posterior_mean_matches_a_monte_carlo_estimate(pair):
    """E[x0 | x] by self-normalised importance sampling from the prior, within 5 standard errors per element."""
    G = pair.domain(1)
    sigma = 0.8
    g = torch.Generator().manual_seed(7)
    x0s = G.sample(200_000, generator=g).flatten(1)
    x = (G.sample(1, generator=g) + sigma * torch.randn(1, *SHAPE, generator=g, dtype=torch.float64))
    logw = -((x.flatten(1) - x0s) ** 2).sum(1) / (2 * sigma**2)
    w = torch.softmax(logw, 0)
    est = (w[:, None] * x0s).sum(0)
    se = ((w[:, None] ** 2) * (x0s - est) ** 2).sum(0).sqrt()
    exact = (x - sigma * OracleDenoiser(pair)(x, sigma, 1).eps).flatten()
    assert 1 / (w**2).sum() > 500            # enough effective samples for the error estimate to hold
    assert ((est - exact).abs() / se).max() < 5


def test_ddim_inversion_converges_to_the_linear_odes_solution(pair):
    """The project's DDIM inversion (Euler in sigma) with the oracle approaches the closed-form ODE solution with
    first-order errors: falling strictly with the step count, about halving per doubling."""
    D = OracleDenoiser(pair)
    G = pair.domain(0)
    x0 = G.sample(4, generator=torch.Generator().manual_seed(2))
    lo, hi = 0.05, 10.0
    exact = G.ode_solution(x0, lo, hi)
    errs = []
    for n in (10, 20, 40, 80):
        sig = torch.logspace(math.log10(lo), math.log10(hi), n + 1, dtype=torch.float64)
        xT = invert(D, x0, sig, get_method("ddim"), label=0).x
        errs.append(float((xT - exact).norm() / exact.norm()))
    ratios = [a / b for a, b in zip(errs, errs[1:])]
    assert all(a > b for a, b in zip(errs, errs[1:])), errs
    assert all(1.6 < r < 2.5 for r in ratios), (errs, ratios)


@pytest.mark.parametrize("cls", [OracleDenoiser, OracleEDMDenoiser])
def test_ovg_gradient_is_the_closed_form(pair, cls):
    """OVG's variance gradient by autograd (guidance.ovg_gradients) and the drift OVG.drift adds equal
    4 r sigma^2 (C + sigma^2 I)^-2 (x - mu), r = ||eps||^2 - d, computed by dense solves."""
    D = cls(pair)
    G = pair.domain(0)
    mu, C = _dense(G)
    x = G.sample(3, generator=torch.Generator().manual_seed(4)) * 1.5
    sigma, sigma_next = 0.6, 0.9
    A = C + sigma**2 * torch.eye(len(mu), dtype=torch.float64)
    v = (x.flatten(1) - mu).T
    eps = sigma * torch.linalg.solve(A, v)
    r = (eps**2).sum(0) - len(mu)
    closed = (4 * r * sigma**2 * torch.linalg.solve(A, torch.linalg.solve(A, v))).T
    xin = x.clone().requires_grad_(True)
    pred = D(xin, sigma, 0)
    g_hf, _ = ovg_gradients(xin, pred.x0, pred.eps, torch.zeros_like(x), float(len(mu)))
    assert torch.allclose(g_hf.flatten(1), closed, rtol=1e-10, atol=0)
    assert torch.allclose(G.ovg_hf_gradient(x, sigma).flatten(1), closed, rtol=1e-10, atol=0)
    # the drift: u = -eta g_t / s_next with g_t = g~ / s (s = input_scale); eta_lf = 0 and no projection
    ctx = Context(label=torch.zeros(3, dtype=torch.long), direction="invert", seeds=[0, 1, 2], x_ref=x)
    xin = x.clone().requires_grad_(True)
    ctx.first = (xin, sigma, D(xin, sigma, 0))
    eta = 1e-3
    drift = OVG(eta_hf=eta, eta_lf=0.0, projection="none").drift(D, xin, x, sigma, sigma_next, ctx)
    s, s_next = float(D.input_scale(sigma)), float(D.input_scale(sigma_next))
    assert torch.allclose(drift.flatten(1), -eta * closed / (s * s_next), rtol=1e-10, atol=0)


def test_samples_reproduce_the_covariance(pair):
    """The project's sampler (Heun on the Karras grid) from N(0, sigma_max^2 I) gives samples whose covariance is
    the label's, within 5 standard errors per entry (Var C^_ij = (C_ii C_jj + C_ij^2) / n)."""
    D = OracleEDMDenoiser(pair)
    mu, C = _dense(pair.domain(1))
    n = 4000
    z = torch.randn(n, *SHAPE, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    sig = torch.cat([torch.logspace(math.log10(80.0), math.log10(0.002), 60, dtype=torch.float64),
                     torch.zeros(1, dtype=torch.float64)])
    out = sample(D, D.from_noise(z, 80.0), sig, get_method("heun"), label=1).x.flatten(1)
    Chat = torch.cov(out.T, correction=0)
    se = ((torch.outer(C.diag(), C.diag()) + C**2) / n).sqrt()
    assert ((Chat - C).abs() / se).max() < 5
    assert ((out.mean(0) - mu).abs() / (C.diag() / n).sqrt()).max() < 5


def test_fit_uses_the_eight_dihedral_views():
    """fit_gaussian(augment=True) equals the plain moments of the pool with its 8 views stacked."""
    pool = torch.randn(50, 3, 4, 4, generator=torch.Generator().manual_seed(6)).cumsum(-1)
    a = fit_gaussian(pool, augment=True, form="full")
    b = fit_gaussian(torch.cat([dihedral(pool, k) for k in range(8)]), augment=False, form="full")
    assert torch.allclose(a.covariance(), b.covariance(), atol=1e-10)
    assert torch.allclose(a.mu, b.mu, atol=1e-12)
    s = fit_gaussian(pool, augment=True, form="stationary")
    t = fit_gaussian(torch.cat([dihedral(pool, k) for k in range(8)]), augment=False, form="stationary")
    assert torch.allclose(s.spectrum(), t.spectrum(), atol=1e-10)


def _spectrum(H: int, W: int, seed: int) -> torch.Tensor:
    """A random Hermitian positive-definite 3 x 3 colour covariance per frequency with S(-k) = conj(S(k))."""
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(H, W, 3, 3, generator=g, dtype=torch.complex128)
    S = A @ A.conj().transpose(-1, -2) + 0.1 * torch.eye(3, dtype=torch.complex128)
    mirror = S.flip(0, 1).roll((1, 1), (0, 1))                     # S(-k)
    return (S + mirror.conj()) / 2


def test_stationary_form_equals_the_full_form_on_a_stationary_field():
    """A periodic Gaussian field given by its per-frequency colour covariance: its dense covariance is real and
    symmetric, and the full form built from it has the same eps, ODE solution and OVG gradient."""
    S = _spectrum(4, 4, 8)
    st = StationaryGaussian(torch.tensor([0.1, -0.2, 0.3]), S)
    C = st.covariance()
    assert torch.allclose(C, C.T, atol=1e-12)
    full = FullGaussian(st.mu.detach().clone(), C)
    x = torch.randn(3, 3, 4, 4, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    for sigma in (0.1, 1.0, 5.0):
        assert torch.allclose(st.eps(x, sigma), full.eps(x, sigma), atol=1e-10)
        assert torch.allclose(st.ovg_hf_gradient(x, sigma), full.ovg_hf_gradient(x, sigma), rtol=1e-9, atol=1e-9)
    assert torch.allclose(st.ode_solution(x, 0.1, 8.0), full.ode_solution(x, 0.1, 8.0), atol=1e-10)


def test_stationary_fit_recovers_a_known_spectrum():
    """Fitted from draws of a known periodic field, each S(k) entry lies within 5 standard errors
    (|S_ij| estimated from n draws: se = sqrt(S_ii S_jj / n))."""
    S = _spectrum(4, 4, 10)
    st = StationaryGaussian(torch.zeros(3), S)
    n = 20_000
    fit = fit_gaussian(st.sample(n, generator=torch.Generator().manual_seed(11)), augment=False, form="stationary")
    diag = S.diagonal(dim1=-2, dim2=-1).real
    se = (diag.unsqueeze(-1) * diag.unsqueeze(-2) / n).sqrt()
    z = (fit.spectrum() - S).abs() / se
    assert z.max() < 6, float(z.max())


def test_large_eigendecompositions_are_read_back_from_disk_by_the_matrixs_bytes(tmp_path, monkeypatch):
    from spectral_collapse.models import gaussian

    monkeypatch.setenv("SPECTRAL_COLLAPSE_CACHE", str(tmp_path / "cells"))
    monkeypatch.setattr(gaussian, "EIG_STORED", 8)
    A = torch.randn(12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    cov = A @ A.T
    lam, U = gaussian._eigh(cov)
    assert len(list((tmp_path / "eigh").glob("*.pt"))) == 1
    torch.testing.assert_close(U @ torch.diag(lam) @ U.T, cov)
    calls = []
    monkeypatch.setattr(torch.linalg, "eigh", lambda m: calls.append(m) or (_ for _ in ()).throw(AssertionError))
    lam2, U2 = gaussian._eigh(cov.clone())                      # same bytes: read back, not computed
    assert not calls and torch.equal(lam, lam2) and torch.equal(U, U2)
    (next((tmp_path / "eigh").glob("*.pt"))).write_bytes(b"damaged")
    monkeypatch.undo()
    monkeypatch.setenv("SPECTRAL_COLLAPSE_CACHE", str(tmp_path / "cells"))
    monkeypatch.setattr(gaussian, "EIG_STORED", 8)
    lam3, _ = gaussian._eigh(cov)                               # a damaged file is computed again
    torch.testing.assert_close(lam3, lam)
