"""Orthogonal Variance Guidance against the paper's Eq. 7-14 written out in closed form.

On the Gaussian oracle (data N(0, s^2 I)) in sigma coordinates x~: eps = c1 x~, x0 = c2 x~ with
c1 = sigma/(sigma^2+s^2), c2 = s^2/(sigma^2+s^2), so g~_HF = 4(||eps||^2 - d) c1 eps and g~_LF = 2 c2 (x0 - x0_ref)
exactly. The library differentiates w.r.t. the model state x_t = a x~ (a = sqrt(alpha_bar) = 1/sqrt(1+sigma^2)):
g = g~ / a, and adds the drift to x_{t+1}, i.e. u / a_next in x~ (ovg.py docstring). A nonlinear net checks the
gradients by finite differences.
"""
from __future__ import annotations

import math

import pytest
import torch
from conftest import STDS, CountingNet, SmoothNet, closed_form, oracle_denoiser, tiny_unet

from spectral_collapse.inversion import OVG, TABA, Euler, Heun, default_sigmas, integrate, invert
from spectral_collapse.inversion.guidance import orthogonal_drifts, ovg_gradients
from spectral_collapse.models.denoisers import EpsDenoiser, make_denoiser
from oracle import GaussianOracleNet
from spectral_collapse.models.schedules import VPSchedule

F64 = torch.float64
TOL = dict(rtol=1e-10, atol=1e-12)


def _dot(a, b):
    return (a * b).flatten(1).sum(1)


def _a(sigma):
    return 1 / math.sqrt(1 + sigma**2)


def _step(D, x, sigma, sigma_next, guidance, x_ref, label=0, method=Euler()):
    """One guided inversion step through the public loop."""
    return integrate(D, x, torch.tensor([sigma, sigma_next], dtype=F64), label, method, guidance=guidance,
                     x_ref=x_ref).x


def _paper(x, sigma, ref, s, d):
    """Closed-form g_HF, g_LF w.r.t. the VP model state (Eq. 8, 10) on the oracle."""
    c1, c2 = sigma / (sigma**2 + s**2), s**2 / (sigma**2 + s**2)
    eps, x0 = c1 * x, c2 * x
    g_hf = 4 * (_dot(eps, eps) - d).reshape(-1, 1, 1, 1) * c1 * eps / _a(sigma)
    g_lf = 2 * c2 * (x0 - ref) / _a(sigma)
    return g_hf, g_lf


def _conflict_case(alpha, n=1, shape=(3, 4, 4), seed=0):
    """x with ||eps||^2 < d (so g_HF points along -x) and a reference whose LF gradient has <x, .> of sign alpha:
    alpha > 0 gives <g_HF, g_LF> < 0 (conflict), alpha < 0 agreement; w adds a component orthogonal to x."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, *shape, generator=g, dtype=F64) * 0.3
    w = torch.randn(n, *shape, generator=g, dtype=F64)
    w = w - (_dot(w, x) / _dot(x, x)).reshape(-1, 1, 1, 1) * x
    sigma, s = 1.0, STDS[0]
    c2 = s**2 / (sigma**2 + s**2)
    ref = c2 * x * (1 - alpha) + 0.5 * w  # x0 - ref = alpha c2 x - 0.5 w
    return x, ref, sigma


# ------------------------------------------------------------------ the full guided step equals Eq. 7-14

@pytest.mark.parametrize("alpha", [1.0, -1.0], ids=["conflict", "agree"])
def test_guided_step_equals_paper_equations_on_oracle(alpha):
    D = oracle_denoiser("eps")
    x, ref, sigma = _conflict_case(alpha, n=2)
    sn, s, d = 1.3, STDS[0], float(x[0].numel())
    eta_hf, eta_lf = 2e-4, 3e-2
    g_hf, g_lf = _paper(x, sigma, ref, s, d)
    p = _dot(g_hf, g_lf)
    assert ((p < 0) == (alpha > 0)).all()
    m = (p < 0).to(F64).reshape(-1, 1, 1, 1)
    u_hf = -eta_hf * (g_hf - m * (p / _dot(g_lf, g_lf)).reshape(-1, 1, 1, 1) * g_lf)   # Eq. 11
    u_lf = -eta_lf * (g_lf - m * (p / _dot(g_hf, g_hf)).reshape(-1, 1, 1, 1) * g_hf)   # Eq. 12
    _, eps = closed_form(x, sigma, s)
    expected = x + (sn - sigma) * eps + (u_hf + u_lf) / _a(sn)                           # Eq. 14, back to x~
    out = _step(D, x, sigma, sn, OVG(eta_hf=eta_hf, eta_lf=eta_lf, x0_ref="raw"), ref)
    torch.testing.assert_close(out, expected, **TOL)


def test_zero_step_sizes_reproduce_the_base_method_exactly():
    D = oracle_denoiser("v")
    x0 = torch.randn(3, 3, 8, 8, generator=torch.Generator().manual_seed(2), dtype=F64) * 0.5
    sig = default_sigmas(D, 12)
    for method in (Euler(), Euler(time_label="destination"), Heun(), TABA(fraction=0.2)):
        base = invert(D, x0, sig, method, seeds=[1, 2, 3])
        for g in (OVG(eta_hf=0.0, eta_lf=0.0), OVG.released(eta_hf=0.0, eta_lf=0.0)):
            guided = invert(D, x0, sig, method, guidance=g, seeds=[1, 2, 3])
            assert torch.equal(guided.x, base.x), (method, g)
            assert guided.nfe == base.nfe


# ------------------------------------------------------------------ projection (Eq. 11-12)

def test_conflicting_gradients_are_projected_orthogonal():
    D = oracle_denoiser("eps")
    x, ref, sigma = _conflict_case(1.0, n=3)
    sn, s, d = 1.2, STDS[0], float(x[0].numel())
    g_hf, g_lf = _paper(x, sigma, ref, s, d)
    assert (_dot(g_hf, g_lf) < 0).all()
    base = _step(D, x, sigma, sn, None, ref)
    u_hf = (_step(D, x, sigma, sn, OVG(eta_hf=1e-3, eta_lf=0.0, x0_ref="raw"), ref) - base) * _a(sn)
    u_lf = (_step(D, x, sigma, sn, OVG(eta_hf=0.0, eta_lf=1e-2, x0_ref="raw"), ref) - base) * _a(sn)

    def rel(u, g):
        return (_dot(u, g).abs() / (u.flatten(1).norm(dim=1) * g.flatten(1).norm(dim=1))).max()

    assert u_hf.abs().max() > 0 and u_lf.abs().max() > 0
    assert rel(u_hf, g_lf) < 1e-10 and rel(u_lf, g_hf) < 1e-10
    # the pure function, on random float64 vectors with a forced conflict
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4, 2, 8, 8, generator=g, dtype=F64)
    b = -a + 0.7 * torch.randn(4, 2, 8, 8, generator=g, dtype=F64)
    assert (_dot(a, b) < 0).all()
    ua, ub = orthogonal_drifts(a, b, 0.3, 2.0)
    assert rel(ua, b) < 1e-10 and rel(ub, a) < 1e-10


def test_agreeing_gradients_are_not_projected():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(4, 2, 8, 8, generator=g, dtype=F64)
    b = a + 0.7 * torch.randn(4, 2, 8, 8, generator=g, dtype=F64)
    assert (_dot(a, b) > 0).all()
    ua, ub = orthogonal_drifts(a, b, 0.3, 2.0)
    torch.testing.assert_close(ua, -0.3 * a, **TOL)
    torch.testing.assert_close(ub, -2.0 * b, **TOL)
    ua, _ = orthogonal_drifts(a, b, 0.3, 2.0, projection="always")
    assert (_dot(ua, b).abs() / (ua.flatten(1).norm(dim=1) * b.flatten(1).norm(dim=1))).max() < 1e-10
    ua, _ = orthogonal_drifts(-a, b, 0.3, 2.0, projection="none")
    torch.testing.assert_close(ua, 0.3 * a, **TOL)


# ------------------------------------------------------------------ gradients (Eq. 8, 10)

def test_ovg_gradients_closed_form_on_oracle():
    D = oracle_denoiser("eps")
    x, ref, sigma = _conflict_case(1.0, n=2)
    d = float(x[0].numel())
    xg = x.clone().requires_grad_(True)
    pred = D(xg, sigma, 0)
    g_hf, g_lf = ovg_gradients(xg, pred.x0, pred.eps, ref, d)
    c1, c2 = sigma / (sigma**2 + STDS[0] ** 2), STDS[0] ** 2 / (sigma**2 + STDS[0] ** 2)
    eps, x0 = c1 * x, c2 * x
    torch.testing.assert_close(g_hf, 4 * (_dot(eps, eps) - d).reshape(-1, 1, 1, 1) * c1 * eps, **TOL)   # J = c1 I
    torch.testing.assert_close(g_lf, 2 * c2 * (x0 - ref), **TOL)                                         # J_x0 = c2 I


def _losses(D, x, sigma, label, ref, d):
    with torch.no_grad():
        p = D(x, sigma, label)
    return (_dot(p.eps, p.eps) - d) ** 2, _dot(p.x0 - ref, p.x0 - ref)


@pytest.mark.parametrize("vjp", ["batched", "separate"])
def test_ovg_gradients_match_finite_differences_on_a_nonlinear_net(vjp):
    D = EpsDenoiser(SmoothNet(channels=2), VPSchedule())
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 2, 4, 4, generator=g, dtype=F64)
    ref = torch.randn(2, 2, 4, 4, generator=g, dtype=F64) * 0.3
    sigma, label, d = 0.7, torch.tensor([0, 1]), 20.0
    xg = x.clone().requires_grad_(True)
    pred = D(xg, sigma, label)
    g_hf, g_lf = ovg_gradients(xg, pred.x0, pred.eps, ref, d, vjp=vjp)
    h, n = 1e-5, x[0].numel()
    for b in range(2):
        E = torch.eye(n, dtype=F64).reshape(n, *x.shape[1:]) * h
        xs = torch.cat([x[b] + E, x[b] - E])
        lh, ll = _losses(D, xs, sigma, label[b].expand(2 * n), ref[b], d)
        fd_hf = ((lh[:n] - lh[n:]) / (2 * h)).reshape(x.shape[1:])
        fd_lf = ((ll[:n] - ll[n:]) / (2 * h)).reshape(x.shape[1:])
        torch.testing.assert_close(g_hf[b], fd_hf, rtol=1e-6, atol=1e-6 * float(fd_hf.abs().max()))
        torch.testing.assert_close(g_lf[b], fd_lf, rtol=1e-6, atol=1e-6 * float(fd_lf.abs().max()))


@pytest.mark.parametrize("make", ["smooth", "unet"])
def test_batched_vjp_equals_separate_in_one_backward_call(make, monkeypatch):
    if make == "smooth":
        D, shape = EpsDenoiser(SmoothNet(channels=3), VPSchedule()), (2, 3, 8, 8)
    else:
        D, shape = EpsDenoiser(tiny_unet(), VPSchedule()), (2, 3, 16, 16)
    g = torch.Generator().manual_seed(5)
    x, ref = torch.randn(*shape, generator=g, dtype=F64), torch.randn(*shape, generator=g, dtype=F64)
    calls = []
    real = torch.autograd.grad

    def counting(*a, **k):
        calls.append(k.get("is_grads_batched", False))
        return real(*a, **k)

    monkeypatch.setattr(torch.autograd, "grad", counting)
    out = {}
    for vjp in ("separate", "batched"):
        calls.clear()
        xg = x.clone().requires_grad_(True)
        pred = D(xg, 2.0, torch.tensor([0, 1]))
        out[vjp] = ovg_gradients(xg, pred.x0, pred.eps, ref, float(x[0].numel()), vjp=vjp)
        assert calls == ([True] if vjp == "batched" else [False, False]), (vjp, calls)  # no silent fallback
    for a, b in zip(out["batched"], out["separate"]):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12 * float(b.abs().max()))
    with pytest.raises(ValueError, match="vjp"):
        ovg_gradients(xg, pred.x0, pred.eps, ref, 1.0, vjp="loop")


# ------------------------------------------------------------------ cost: one forward per step

@pytest.mark.parametrize("method,per_run", [(Euler(), lambda n: n), (Euler(time_label="destination"), lambda n: n),
                                            (Heun(), lambda n: 2 * n - 1), (TABA(fraction=0.2), lambda n: n - 2)])
def test_exactly_one_network_forward_per_guided_step(method, per_run):
    """OVG shares the base step's forward: a guided run makes exactly as many calls as the unguided one."""
    sched = VPSchedule()
    net = CountingNet(GaussianOracleNet("eps", schedule=sched))
    D = EpsDenoiser(net, sched)
    x0 = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0), dtype=F64) * 0.5
    n = 10
    for guidance in (None, OVG(eta_hf=1e-4, eta_lf=1e-2), OVG.released()):
        net.calls = net.elements = 0
        inv = invert(D, x0, default_sigmas(D, n), method, guidance=guidance)
        assert net.calls == per_run(n) == inv.nfe, (guidance, net.calls)
        assert net.elements == 2 * net.calls  # no hidden batch doubling either


# ------------------------------------------------------------------ released variant: dt scaling and clipping

def _drifts(D, x, sigma, sn, ref, **kw):
    """(u_hf, u_lf) in model coordinates from two runs that switch one term off (the clip is per term)."""
    base = _step(D, x, sigma, sn, None, ref)
    eh, el = kw.pop("eta_hf"), kw.pop("eta_lf")
    u_hf = (_step(D, x, sigma, sn, OVG.released(eta_hf=eh, eta_lf=0.0, **kw), ref) - base) * _a(sn)
    u_lf = (_step(D, x, sigma, sn, OVG.released(eta_hf=0.0, eta_lf=el, **kw), ref) - base) * _a(sn)
    both = (_step(D, x, sigma, sn, OVG.released(eta_hf=eh, eta_lf=el, **kw), ref) - base) * _a(sn)
    torch.testing.assert_close(both, u_hf + u_lf, **TOL)
    r_ref = (base * _a(sn) - x * _a(sigma)).flatten(1).norm(dim=1)  # ||x_base - x_t|| in model coordinates
    return u_hf, u_lf, r_ref


@pytest.mark.parametrize("clip_frac", [1.0, 0.25])
def test_released_clips_each_drift_to_the_base_step(clip_frac):
    D = oracle_denoiser("eps")
    x, ref, _ = _conflict_case(1.0, n=3)
    sched = VPSchedule()
    sigma, sn = float(sched.sigmas()[20]), float(sched.sigmas()[40])
    u_hf, u_lf, r = _drifts(D, x, sigma, sn, ref, eta_hf=1e3, eta_lf=1e2, clip_frac=clip_frac)
    for u in (u_hf, u_lf):
        n = u.flatten(1).norm(dim=1)
        assert (n <= clip_frac * r + 1e-6).all()           # the released code's +1e-6 guard allows this much
        torch.testing.assert_close(n, clip_frac * r, rtol=1e-5, atol=1e-6)  # large steps: the clip is active


def test_released_scales_by_time_label_gap_when_unclipped():
    """Small steps: the released drift is |t_next - t| times the paper's drift (DDIM branch), raw x0_ref."""
    D = oracle_denoiser("eps")
    x, ref, _ = _conflict_case(1.0, n=2)
    sched = VPSchedule()
    sigma, sn = float(sched.sigmas()[20]), float(sched.sigmas()[40])
    eh, el = 1e-9, 1e-6
    u_hf, u_lf, r = _drifts(D, x, sigma, sn, ref, eta_hf=eh, eta_lf=el)
    assert (u_hf.flatten(1).norm(dim=1) < r).all() and (u_lf.flatten(1).norm(dim=1) < r).all()
    base = _step(D, x, sigma, sn, None, ref)
    paper = (_step(D, x, sigma, sn, OVG(eta_hf=eh, eta_lf=el, x0_ref="raw"), ref) - base) * _a(sn)
    torch.testing.assert_close(u_hf + u_lf, 20.0 * paper, rtol=1e-8, atol=1e-14)


def test_released_edm_scales_by_log_sigma_ratio():
    D = oracle_denoiser("edm")
    x, ref, _ = _conflict_case(1.0, n=2)
    sigma, sn, eh, el = 0.5, 0.8, 1e-7, 1e-5
    base = _step(D, x, sigma, sn, None, ref)
    rel = _step(D, x, sigma, sn, OVG.released(eta_hf=eh, eta_lf=el), ref) - base
    paper = _step(D, x, sigma, sn, OVG(eta_hf=eh, eta_lf=el, x0_ref="raw"), ref) - base
    torch.testing.assert_close(rel, math.log(sn / sigma) * paper, rtol=1e-8, atol=1e-14)


# ------------------------------------------------------------------ the guidance does what it is for

def test_hf_term_moves_noise_energy_toward_d():
    """A collapsed state (||eps||^2 << d): a small eta_HF step lowers L_HF at the next level; larger lowers it more."""
    D = oracle_denoiser("eps")
    x, ref, sigma = _conflict_case(1.0, n=2)
    sn, d = 1.3, float(x[0].numel())

    def l_hf(y):
        eps = D(y, sn, 0).eps
        return (_dot(eps, eps) - d) ** 2

    base = _step(D, x, sigma, sn, None, ref)
    losses = [l_hf(base)] + [l_hf(_step(D, x, sigma, sn, OVG(eta_hf=e, eta_lf=0.0, x0_ref="raw"), ref))
                             for e in (1e-6, 1e-5, 1e-4)]
    for a, b in zip(losses, losses[1:]):
        assert (b < a).all(), losses


def test_lf_term_moves_x0_toward_reference():
    D = oracle_denoiser("eps")
    x, ref, sigma = _conflict_case(-1.0, n=2)
    sn = 1.3

    def l_lf(y):
        x0 = D(y, sn, 0).x0
        return _dot(x0 - ref, x0 - ref)

    base = _step(D, x, sigma, sn, None, ref)
    guided = _step(D, x, sigma, sn, OVG(eta_hf=0.0, eta_lf=0.05, x0_ref="raw"), ref)
    assert (l_lf(guided) < l_lf(base)).all()


def test_lowpass_reference_at_16px_keeps_only_the_mean():
    """kappa = 0.06 of Nyquist is 0.03 cycles/px: on 16 px the first non-zero FFT bin is 1/16, so only DC survives."""
    D = oracle_denoiser("eps")
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(3), dtype=F64)
    inv = invert(D, x, default_sigmas(D, 2), Euler(), guidance=OVG())
    torch.testing.assert_close(inv.ctx.state["x0_ref"], x.mean(dim=(2, 3), keepdim=True).expand_as(x), **TOL)


# ------------------------------------------------------------------ validation

def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="step sizes"):
        OVG(eta_hf=-1.0)
    with pytest.raises(ValueError, match="step sizes"):
        OVG(eta_lf=-1e-3)
    with pytest.raises(ValueError, match="step sizes"):
        OVG.released(eta_hf=-1.0)
    with pytest.raises(ValueError, match="projection"):
        OVG(projection="sometimes")
    with pytest.raises(ValueError, match="vjp"):
        OVG(vjp="loop")
    with pytest.raises(ValueError, match="step_scaling"):
        OVG(step_scaling="sqrt")
    D = oracle_denoiser("eps")
    x = torch.zeros(1, 1, 4, 4, dtype=F64)
    with pytest.raises(ValueError, match="x_ref"):
        integrate(D, x, torch.tensor([0.5, 1.0]), 0, Euler(), guidance=OVG())


def test_guided_run_on_a_real_unet_is_finite_and_differs():
    D = make_denoiser(tiny_unet(), "eps", schedule=VPSchedule())
    x0 = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0), dtype=F64) * 2 - 1
    sig = default_sigmas(D, 4)
    base = invert(D, x0, sig, Euler())
    guided = invert(D, x0, sig, Euler(), guidance=OVG.released(eta_hf=1.0, eta_lf=1e-2))
    assert guided.finite.all() and guided.nfe == base.nfe == 4
    assert not torch.allclose(guided.x, base.x)


# --- guidance schedules --------------------------------------------------------------------------------------------

def test_schedule_selects_steps_by_window_stride_and_fraction():
    from spectral_collapse.inversion.guidance import GuidanceSchedule

    sig = torch.linspace(0.0, 9.0, 11)  # 10 steps, starting levels 0, 0.9, ..., 8.1
    assert GuidanceSchedule().guided_steps(sig) == list(range(10))
    assert GuidanceSchedule(every=3).guided_steps(sig) == [0, 3, 6, 9]
    assert GuidanceSchedule(fraction=0.25).guided_steps(sig) == [0, 1, 2]            # ceil(2.5) first steps
    assert GuidanceSchedule(fraction=0.25, part="last").guided_steps(sig) == [7, 8, 9]
    assert GuidanceSchedule(sigma_min=5.0).guided_steps(sig) == [6, 7, 8, 9]          # levels 5.4 .. 8.1
    assert GuidanceSchedule(sigma_max=-0.0, sigma_min=0.0).guided_steps(sig) == [0]
    assert GuidanceSchedule(fraction=0.0).guided_steps(sig) == []
    for bad in (dict(every=0), dict(every=1.5), dict(fraction=1.5), dict(part="middle"), dict(sigma_min=-1.0)):
        with pytest.raises(ValueError):
            GuidanceSchedule(**bad)


def test_full_schedule_is_todays_ovg_and_an_empty_one_the_base_method_on_the_cheap_path(monkeypatch):
    """Bit for bit: every step guided == OVG as it was; no step guided == DDIM, with no drift ever computed."""
    from spectral_collapse.inversion.guidance import GuidanceSchedule
    from spectral_collapse.inversion import guidance as ovg_mod

    D = make_denoiser(tiny_unet(), "eps")
    x = torch.rand(2, 3, 16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * 2 - 1
    sig = default_sigmas(D, 6)
    calls = []
    real = ovg_mod.ovg_gradients
    monkeypatch.setattr(ovg_mod, "ovg_gradients", lambda *a, **k: calls.append(1) or real(*a, **k))
    full = invert(D, x, sig, Euler(), guidance=OVG(eta_hf=1e-4, eta_lf=1e-2)).x
    assert len(calls) == 6
    same = invert(D, x, sig, Euler(), guidance=OVG(eta_hf=1e-4, eta_lf=1e-2, schedule=GuidanceSchedule())).x
    assert torch.equal(full, same)

    class Unscheduled:  # a guidance term with no schedule at all: the loop guides every step, as before schedules
        def __init__(self, g):
            self.g = g

        def drift(self, *a):
            return self.g.drift(*a)

    assert torch.equal(full, invert(D, x, sig, Euler(), guidance=Unscheduled(OVG(eta_hf=1e-4, eta_lf=1e-2))).x)
    calls.clear()
    none = invert(D, x, sig, Euler(), guidance=OVG(eta_hf=1e-4, eta_lf=1e-2,
                                                   schedule=GuidanceSchedule(fraction=0.0))).x
    assert calls == [] and torch.equal(none, invert(D, x, sig, Euler()).x)
    half = invert(D, x, sig, Euler(), guidance=OVG(eta_hf=1e-4, eta_lf=1e-2, schedule=GuidanceSchedule(every=2))).x
    assert len(calls) == 3 and not torch.equal(half, full) and not torch.equal(half, none)


# --- stable form (book/methods.md, "Stable form for x0-prediction models") --------------------------------------------

def test_default_ovg_is_the_paper_form_with_unchanged_fields():
    """OVG() keeps its fields (so cache keys of existing cells stay valid); the stable form is a subclass."""
    from dataclasses import fields

    from spectral_collapse.inversion.guidance import StableOVG

    assert OVG().form == "paper" and OVG.released().form == "paper"
    assert [f.name for f in fields(OVG())] == ["eta_hf", "eta_lf", "projection", "step_scaling", "clip_frac", "x0_ref",
                                               "lowpass_kappa", "d", "vjp", "schedule"]
    s = OVG.stable()
    assert isinstance(s, StableOVG) and s.form == "stable" and (s.eta_hf, s.eta_lf, s.trust) == (1.0, 1.0, 1.0)
    assert OVG.stable(eta_hf=0.5, trust=0.2, lowpass_kappa=0.1) == StableOVG(eta_hf=0.5, trust=0.2, lowpass_kappa=0.1)
    for bad in (dict(trust=-1.0), dict(trust=math.inf), dict(eta_hf=-1.0), dict(clip_frac=1.0), dict(step_scaling="dt")):
        with pytest.raises(ValueError):
            OVG.stable(**bad)


def test_stable_gauss_newton_lengths_are_exact_for_a_scaled_identity_jacobian():
    """Gaussian oracle: eps = c1 x, x0 = c2 x. One full step (eta |dsigma|/sigma >= 1, no trust bound) of the HF term
    alone lands on ||eps|| = sqrt(d) at the step's level, of the LF term alone on x0 = x0_ref."""
    D = oracle_denoiser("eps")
    x, ref, sigma = _conflict_case(1.0, n=3)
    sn, s, d = 1.3, STDS[0], float(x[0].numel())
    c1, c2 = sigma / (sigma**2 + s**2), s**2 / (sigma**2 + s**2)
    base = _step(D, x, sigma, sn, None, ref)
    kw = dict(trust=1e12, x0_ref="raw", projection="none")
    u = _step(D, x, sigma, sn, OVG.stable(eta_hf=10.0, eta_lf=0.0, **kw), ref) - base
    eps = c1 * (x + u)
    torch.testing.assert_close(_dot(eps, eps), torch.full((3,), d, dtype=F64), rtol=1e-10, atol=0)
    u = _step(D, x, sigma, sn, OVG.stable(eta_hf=0.0, eta_lf=10.0, **kw), ref) - base
    torch.testing.assert_close(c2 * (x + u), ref, **TOL)
    # a small step takes the fraction eta |dsigma| / sigma of it (Euler step of the controlled ODE)
    u1 = _step(D, x, sigma, sn, OVG.stable(eta_hf=0.0, eta_lf=1.0, **kw), ref) - base
    u2 = _step(D, x, sigma, sn, OVG.stable(eta_hf=0.0, eta_lf=2.0, **kw), ref) - base
    torch.testing.assert_close(u2, 2 * u1, **TOL)
    torch.testing.assert_close(u1, (sn - sigma) / sigma * (ref - c2 * x) / c2, **TOL)


def test_stable_form_with_zero_rates_is_the_base_method():
    D = oracle_denoiser("x0")
    x0 = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(2), dtype=F64) * 0.5
    sig = default_sigmas(D, 6)
    assert torch.equal(invert(D, x0, sig, Euler(), guidance=OVG.stable(eta_hf=0.0, eta_lf=0.0)).x,
                       invert(D, x0, sig, Euler()).x)


@pytest.fixture(scope="module")
def smoke_x0():
    """The smoke profile's x0-prediction model (ihc-sr, SR x2; loads from the checkpoint root, else trains in
    seconds) and its first 8 test inputs."""
    from spectral_collapse.framework.model_set import dataset_for, trained_model

    D = trained_model("smoke", "ihc-sr", "x0", factor=2, progress=False).denoiser.to("cpu")
    return D, dataset_for("smoke", "ihc-sr", 2).test_source[:8]


def _norm_ratio(z):
    return z.flatten(1).pow(2).sum(1) / z[0].numel()


def test_stable_form_keeps_an_x0_model_finite_where_the_paper_form_diverges(smoke_x0):
    """Smoke x0 model, 8 test inputs, 8 Euler steps, the paper form at the studies' default eta (1e-6, 1e-2):
    measured 0/8 finite. The stable form (defaults) keeps all 8 finite with ||x_T||^2/d in [0.5, 8] (measured
    median 3.6; unguided DDIM on this 30-step model gives 146, so the bound is on what guidance can undo)."""
    import warnings

    from spectral_collapse.inversion import translate

    D, src = smoke_x0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        paper = translate(D, src, Euler(), guidance=OVG(eta_hf=1e-6, eta_lf=1e-2), steps=8)
    bad = ~paper.finite | ~(_norm_ratio(paper.latent) <= 10)
    assert bad.sum() >= 4, _norm_ratio(paper.latent)
    ddim = translate(D, src, Euler(), steps=8)
    stable = translate(D, src, Euler(), guidance=OVG.stable(), steps=8)
    assert stable.finite.all() and torch.isfinite(stable.output).all()
    r = _norm_ratio(stable.latent)
    assert ((r >= 0.5) & (r <= 8.0)).all(), r
    assert r.median() < _norm_ratio(ddim.latent).median() / 10


@pytest.mark.parametrize("trust", [1.0, 0.2])
def test_stable_trust_region_bounds_every_step(smoke_x0, trust):
    """||x_next - x_base|| <= trust ||x_base - x_t|| per sample and step (x_base: Euler's own step), and the bound
    is reached on some step (else the test could not fail)."""
    D, src = smoke_x0
    ratios = []

    def check(i, sigma, sigma_next, x, x_next, ctx):
        with torch.no_grad():
            base = x + (sigma_next - sigma) * D(x, sigma, 0).eps
        r = (base - x).flatten(1).norm(dim=1)
        ratios.append(((x_next - base).flatten(1).norm(dim=1) / r).max().item())
        assert ((x_next - base).flatten(1).norm(dim=1) <= trust * r * (1 + 1e-5) + 1e-6).all(), (i, ratios[-1])

    inv = invert(D, src, default_sigmas(D, 8), Euler(), guidance=OVG.stable(trust=trust), callback=check)
    assert inv.finite.all() and len(ratios) == 8
    assert max(ratios) > 0.99 * trust, ratios


def test_ovg_stable_label_is_deterministic_and_in_the_eps_vs_x0_study():
    from spectral_collapse.inversion.guidance import StableOVG
    from spectral_collapse.studies import ablations, main_results as translation

    (ms,) = translation.method_specs(["ovg_stable"], eta_hf=1e-6, eta_lf=1e-2, lowpass_kappa=0.12,
                                     parameterization="x0")
    assert ms.parameterization == "x0" and isinstance(ms.method, Euler) and isinstance(ms.guidance, StableOVG)
    assert ms.guidance == OVG.stable(lowpass_kappa=0.12)  # the stable form's own rates, not the paper form's eta
    assert "ovg_stable" not in translation.STOCHASTIC
    assert {"ovg", "ovg_stable"} <= set(ablations.STUDY_LABELS["eps_vs_x0"])


def test_a_batch_that_has_wholly_diverged_skips_its_remaining_steps_with_the_same_result(smoke_x0):
    """Paper-form OVG at eta_HF = 1e2 drives every sample of the smoke x0 model non-finite within the first steps.
    Once all have failed, the loop stops evaluating the network: the translation's outputs, latents and failure steps
    equal those of the full run (a no-op callback keeps every step), with fewer network evaluations. A batch with a
    survivor runs every step."""
    import warnings

    from spectral_collapse.inversion import translate

    D, src = smoke_x0
    g = OVG(eta_hf=1e2, eta_lf=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        short = translate(D, src, Euler(), guidance=g, steps=8)
        full = translate(D, src, Euler(), guidance=g, steps=8, callback=lambda *a: None)
        mixed = translate(D, torch.cat([src[:2], torch.full_like(src[:1], float("nan"))]), Euler(), steps=8)
    assert (full.nonfinite_step >= 0).all() and int(full.nonfinite_step.max()) < 7, full.nonfinite_step
    assert torch.equal(short.nonfinite_step, full.nonfinite_step)
    assert torch.isnan(full.output).all() and torch.isnan(full.latent).all()
    assert torch.isnan(short.output).all() and torch.isnan(short.latent).all()
    assert short.nfe < full.nfe, (short.nfe, full.nfe)
    assert mixed.nfe == translate(D, src[:2], Euler(), steps=8).nfe and mixed.finite.tolist() == [True, True, False]


@pytest.mark.parametrize("kw", [{"eta_hf": "abc"}, {"eta_lf": None}, {"eta_hf": True}, {"lowpass_kappa": "0.1"}])
def test_ovg_arguments_are_type_checked_at_construction(kw):
    from spectral_collapse.inversion import OVG

    name = next(iter(kw))
    with pytest.raises(TypeError, match=rf"OVG {name} must be a real number, got"):
        OVG(**kw)
