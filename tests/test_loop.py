"""The sigma-space loop and its methods (DDIM = Euler, Heun, TABA) on the exact Gaussian denoiser and against
diffusers' DDIM schedulers.

Closed forms (conftest): for N(0, s^2 I) data the PF-ODE dx/dsigma = eps*(x; sigma) = x sigma / (sigma^2 + s^2) has
the solution x(sigma) = x(sigma') sqrt(s^2 + sigma^2) / sqrt(s^2 + sigma'^2), so inversion, sampling, translation
(s0 -> s1) and the latent law are all known exactly.
"""
from __future__ import annotations


import pytest
import torch
from conftest import STDS, CountingNet, NaNNet, closed_form, ode_scale, oracle_denoiser, tiny_unet
from scipy import stats

from spectral_collapse.inversion import (TABA, Euler, Heun, NonFiniteError, default_sigmas, get_method, integrate,
                                         invert, sample, sample_seeds, translate)
from spectral_collapse.models.denoisers import EpsDenoiser, make_denoiser
from oracle import GaussianOracleNet
from spectral_collapse.models.schedules import VPSchedule, karras_sigmas

F64 = torch.float64


def _data(n, s, shape=(3, 4, 4), seed=0):
    return torch.randn(n, *shape, generator=torch.Generator().manual_seed(seed), dtype=F64) * s


def _rel(a, b):
    return float((a - b).norm() / b.norm())


# ------------------------------------------------------------------ reconstruction and the exact ODE map

@pytest.mark.parametrize("kind", ["eps", "x0", "v", "edm"])
def test_ddim_reconstruction_error_decreases_with_steps(kind):
    D = oracle_denoiser(kind)
    x0 = _data(8, STDS[0])
    errs = []
    for n in (10, 50, 200):
        sig = default_sigmas(D, n)
        inv = invert(D, x0, sig, Euler(), label=0)
        rec = sample(D, inv.x, sig, Euler(), label=0)
        assert inv.nfe == n and rec.nfe == n
        errs.append(_rel(rec.x, x0))
    assert errs[0] > errs[1] > errs[2] > 0, errs


@pytest.mark.parametrize("kind", ["eps", "edm"])
def test_inversion_approaches_exact_ode_map(kind):
    """x_T of Euler inversion from sigma = 0 converges to x0 sqrt(s^2 + sigma_T^2) / s."""
    D = oracle_denoiser(kind)
    x0 = _data(4, STDS[0])
    errs = []
    for n in (10, 50, 200):
        sig = default_sigmas(D, n)
        sT = float(sig[0])
        exact = x0 * ode_scale(STDS[0], 0.0, sT)
        errs.append(_rel(invert(D, x0, sig, Euler(), label=0).x, exact))
    assert errs[0] > errs[1] > errs[2], errs


@pytest.mark.parametrize("kind,method", [("eps", Euler()), ("edm", Euler()), ("edm", Heun())])
def test_translation_approaches_closed_form(kind, method):
    """translate = invert under s0 (label 0) then sample under s1 (label 1): the composition of the two exact maps."""
    D = oracle_denoiser(kind)
    x = _data(4, STDS[0])
    errs = []
    for n in (10, 50, 200):
        sT = float(default_sigmas(D, n)[0])
        exact = x * ode_scale(STDS[0], 0.0, sT) * ode_scale(STDS[1], sT, 0.0)
        tr = translate(D, x, method, steps=n)
        torch.testing.assert_close(tr.latent, D.to_noise(tr.x_T, sT))
        assert tr.finite.all() and tr.nfe == tr.inversion.nfe + tr.sampling.nfe
        errs.append(_rel(tr.output, exact))
    assert errs[0] > errs[1] > errs[2] and errs[2] < errs[0] / 5, errs


# ------------------------------------------------------------------ latent statistics (chi-square KS)

def _chi2_p(latent):
    d = latent[0].numel()
    return stats.kstest((latent.flatten(1) ** 2).sum(1).numpy(), stats.chi2(d).cdf).pvalue


@pytest.mark.parametrize("kind,method,steps", [("eps", Euler(), 1000), ("edm", Heun(), 200)])
def test_inverted_gaussian_latents_pass_chi2_ks(kind, method, steps):
    """||x_T||^2 ~ chi2(d) for inverted Gaussian data; a 5% scale error must fail the same check.

    2000 samples resolve a scale error well below 1%, so the solver must be that accurate: Euler needs ~1000 steps here
    (at 100 steps its x_T is ~2.5% short on this ODE, at 500 ~0.6%; both fail), Heun 200.
    """
    D = oracle_denoiser(kind)
    x0 = _data(2000, STDS[0], seed=3)
    sig = default_sigmas(D, steps)
    lat = D.to_noise(invert(D, x0, sig, method, label=0).x, float(sig[0]))
    exact = D.to_noise(x0 * ode_scale(STDS[0], 0.0, float(sig[0])), float(sig[0]))
    assert _chi2_p(exact) > 0.01
    assert _chi2_p(lat) > 0.01
    assert _chi2_p(1.05 * lat) < 1e-4 and _chi2_p(0.95 * lat) < 1e-4


# ------------------------------------------------------------------ TABA

def test_taba_jump_is_seeded_forward_diffusion():
    D = oracle_denoiser("eps")
    x0 = _data(64, STDS[0])
    seeds = sample_seeds(3, range(64))
    sig = default_sigmas(D, 50).flip(0)  # rising
    m = TABA(fraction=0.04)
    K = m.jump_steps(50)
    assert K == 2
    seen = []
    cb = lambda i, s, sn, x, xn, ctx: seen.append((i, s, x.clone()))  # noqa: E731
    inv = invert(D, x0, sig, m, label=0, seeds=seeds, callback=cb)
    assert inv.nfe == 50 - K and [i for i, _, _ in seen] == list(range(K, 50))
    i0, s0, xK = seen[0]
    assert s0 == float(sig[K])
    z = (xK - x0) / s0
    # z is standard normal noise, drawn from each sample's own seed
    assert stats.kstest(z.flatten().numpy(), "norm").pvalue > 0.01
    assert abs(float(z.mean())) < 0.1 and abs(float(z.std()) - 1) < 0.1
    again = invert(D, x0[[2, 0]], sig, m, label=0, seeds=[seeds[2], seeds[0]])
    assert torch.equal(again.x, inv.x[[2, 0]])  # same seed -> identical, wherever the sample sits in the batch
    other = invert(D, x0[:3], sig, m, label=0, seeds=[seeds[0], 99, seeds[2]])
    assert torch.equal(other.x[[0, 2]], inv.x[[0, 2]]) and not torch.allclose(other.x[1], inv.x[1])


def test_taba_full_jump_needs_no_network_and_latents_are_gaussian():
    """fraction = 1: x_T = x0 + sigma_T z in one jump. On Gaussian data the latent law is right (chi2 KS)."""
    net = CountingNet(GaussianOracleNet("edm"))
    D = make_denoiser(net, "edm")
    x0 = _data(2000, STDS[0], seed=5)
    sig = default_sigmas(D, 20)
    inv = invert(D, x0, sig, TABA(fraction=1.0), label=0, seeds=sample_seeds(0, range(2000)))
    assert net.calls == 0 and inv.nfe == 0
    lat = D.to_noise(inv.x, float(sig[0]))
    assert _chi2_p(lat) > 0.01 and _chi2_p(1.05 * lat) < 1e-4


def test_taba_on_a_constant_image_restores_variance_ddim_does_not():
    """Spectral collapse in its extreme: DDIM inverts a flat image to a flat latent; TABA's latent carries noise."""
    D = oracle_denoiser("eps")
    x0 = torch.zeros(200, 3, 4, 4, dtype=F64)
    sig = default_sigmas(D, 50)
    ddim = D.to_noise(invert(D, x0, sig, Euler(), label=0).x, float(sig[0]))
    taba = D.to_noise(invert(D, x0, sig, TABA(), label=0, seeds=sample_seeds(1, range(200))).x, float(sig[0]))
    assert float(ddim.abs().max()) == 0.0
    # after the jump the state is sigma_K z, which the exact ODE carries to a white Gaussian of known variance
    K = TABA().jump_steps(50)
    sK, sT = float(sig.flip(0)[K]), float(sig[0])
    var = (sK * ode_scale(STDS[0], sK, sT)) ** 2 / (1 + sT**2)
    p = stats.kstest((taba.flatten(1) ** 2).sum(1).numpy() / var, stats.chi2(48).cdf).pvalue
    assert p > 0.01


def test_taba_validation_and_registry():
    with pytest.raises(ValueError, match="fraction"):
        TABA(fraction=1.5)
    assert TABA(fraction=0.0, min_steps=0).jump_steps(50) == 0
    assert isinstance(get_method("taba"), TABA) and isinstance(get_method("heun"), Heun)
    with pytest.raises(ValueError, match="valid methods"):
        get_method("dddim")
    with pytest.raises(ValueError, match="time_label"):
        Euler(time_label="middle")


# ------------------------------------------------------------------ randomness, batching, determinism

def _translate_taba(D, x, idx, seed=7):
    return translate(D, x, TABA(fraction=0.1), steps=20, seeds=sample_seeds(seed, idx))


def test_batch_size_independence():
    D = oracle_denoiser("eps")
    x = _data(6, STDS[0])
    full = _translate_taba(D, x, range(6))
    a, b = _translate_taba(D, x[:3], range(3)), _translate_taba(D, x[3:], range(3, 6))
    assert torch.equal(full.output, torch.cat([a.output, b.output]))
    assert torch.equal(full.latent, torch.cat([a.latent, b.latent]))


def test_same_seed_bit_identical_different_seed_differs():
    D = oracle_denoiser("v")
    x = _data(4, STDS[0])
    r1, r2 = _translate_taba(D, x, range(4)), _translate_taba(D, x, range(4))
    assert torch.equal(r1.output, r2.output) and torch.equal(r1.latent, r2.latent)
    r3 = _translate_taba(D, x, range(4), seed=8)
    assert not torch.allclose(r3.output, r1.output)
    assert len(set(sample_seeds(0, range(100)))) == 100 and sample_seeds(0, [5]) != sample_seeds(1, [5])


# ------------------------------------------------------------------ non-finite handling and bad input

def _nan_D(sample_idx, t_threshold, label=None, above=True):
    sched = VPSchedule()
    return EpsDenoiser(NaNNet(GaussianOracleNet("eps", schedule=sched), sample_idx, t_threshold, label, above), sched)


def test_nonfinite_mark_records_step_and_sample():
    D = _nan_D(sample_idx=2, t_threshold=500.0)
    x0 = _data(4, STDS[0])
    sig = default_sigmas(D, 20).flip(0)
    # Euler with the source label evaluates at sigma_i: the first step whose level lies above t = 500
    expected = next(i for i in range(20) if float(D.time_label(max(float(sig[i]), D.sigma_min))) > 500.0)
    inv = invert(D, x0, sig, Euler(), label=0)
    assert inv.nonfinite_step.tolist() == [-1, -1, expected, -1]
    assert inv.finite.tolist() == [True, True, False, True]
    clean = invert(oracle_denoiser("eps"), x0, sig, Euler(), label=0)
    assert torch.equal(inv.x[[0, 1, 3]], clean.x[[0, 1, 3]])  # other samples untouched


def test_nonfinite_in_sampling_is_offset_in_translation():
    D = _nan_D(sample_idx=1, t_threshold=100.0, label=1, above=False)  # breaks only under the target label, low t
    x = _data(3, STDS[0])
    sig = default_sigmas(D, 10)
    expected = next(i for i in range(10) if float(D.time_label(max(float(sig[i]), D.sigma_min))) < 100.0)
    with pytest.warns(RuntimeWarning, match="1 of 3 samples"):
        tr = translate(D, x, Euler(), steps=10)
    assert tr.nonfinite_step.tolist() == [-1, 10 + expected, -1]
    assert tr.inversion.finite.all() and tr.sampling.nonfinite_step.tolist() == [-1, expected, -1]


def test_nonfinite_raise_names_step_and_sample():
    D = _nan_D(sample_idx=1, t_threshold=300.0)
    x0 = _data(3, STDS[0])
    sig = default_sigmas(D, 10).flip(0)
    expected = next(i for i in range(10) if float(D.time_label(max(float(sig[i]), D.sigma_min))) > 300.0)
    with pytest.raises(NonFiniteError, match=rf"step {expected} .*samples \[1\]"):
        invert(D, x0, sig, Euler(), label=0, on_nonfinite="raise")
    with pytest.raises(ValueError, match="on_nonfinite"):
        invert(D, x0, sig, Euler(), label=0, on_nonfinite="ignore")


def test_steps_below_one_raise():
    D = oracle_denoiser("eps")
    x = _data(1, 1.0)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="steps"):
            translate(D, x, Euler(), steps=bad)
        with pytest.raises(ValueError, match="steps"):
            default_sigmas(D, bad)
    with pytest.raises(ValueError, match="steps >= 1"):
        integrate(D, x, torch.tensor([1.0]), 0, Euler())
    with pytest.raises(ValueError, match="one seed per sample"):
        integrate(D, x, torch.tensor([1.0, 0.0]), 0, Euler(), seeds=[1, 2])


# ------------------------------------------------------------------ solver order, NFE, callback, CFG

def _order_errors(method, direction):
    D = oracle_denoiser("edm")
    x = _data(2, 1.0)
    s = STDS[0]
    errs = []
    for n in (8, 16, 32):
        sig = torch.linspace(0.2, 2.0, n + 1, dtype=F64)
        sig = sig.flip(0) if direction == "sample" else sig
        out = integrate(D, x, sig, 0, method).x
        errs.append(_rel(out, x * ode_scale(s, float(sig[0]), float(sig[-1]))))
    return errs[0] / errs[1], errs[1] / errs[2]


@pytest.mark.parametrize("direction", ["sample", "invert"])
def test_heun_is_second_order_euler_first(direction):
    for r in _order_errors(Euler(), direction):
        assert 1.8 < r < 2.2, r
    for r in _order_errors(Heun(), direction):
        assert 3.6 < r < 4.4, r


def test_heun_nfe_and_callback_grid():
    D = oracle_denoiser("edm")
    sig = karras_sigmas(18)
    seen = []
    out = sample(D, D.from_noise(_data(2, 1.0), 80.0), sig, Heun(), label=1,
                 callback=lambda i, s, sn, x, xn, ctx: seen.append((i, s, sn, ctx.direction)))
    assert out.nfe == 2 * 18 - 1  # EDM Algorithm 2: the last step to sigma = 0 is Euler
    assert seen == [(i, float(sig[i]), float(sig[i + 1]), "sample") for i in range(18)]


def test_cfg_combines_conditional_and_null():
    """One Euler step with guidance scale w: eps = eps(null) + w (eps(label) - eps(null)), 2 forwards per step."""
    D = oracle_denoiser("eps")
    x = _data(2, 1.0)
    w, s, sn = 3.0, 2.0, 1.0
    out = integrate(D, x, torch.tensor([s, sn]), 1, Euler(), cfg_scale=w)
    _, e_c = closed_form(x, s, STDS[1])
    _, e_u = closed_form(x, s, STDS[2])
    torch.testing.assert_close(out.x, x + (sn - s) * (e_u + w * (e_c - e_u)), rtol=1e-10, atol=1e-12)
    assert out.nfe == 2


# ------------------------------------------------------------------ diffusers DDIM, step for step

def _ddim_pair(steps, dtype, inverse=False):
    from diffusers import DDIMInverseScheduler, DDIMScheduler
    sched = VPSchedule("linear", 1e-4, 0.02)
    cls = DDIMInverseScheduler if inverse else DDIMScheduler
    ref = cls(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear", clip_sample=False,
              set_alpha_to_one=True, steps_offset=0, timestep_spacing="leading")
    if dtype == F64:
        ref.alphas_cumprod = sched.alphas_cumprod()  # same float64 table on both sides: compare the arithmetic
    ref.set_timesteps(steps)
    return sched, ref


@pytest.mark.parametrize("dtype", [F64, torch.float32])
def test_ddim_sampling_matches_diffusers_step_for_step(dtype):
    net = tiny_unet(dtype=dtype)
    steps = 25
    sched, ref = _ddim_pair(steps, dtype)
    D = EpsDenoiser(net, sched)
    labels = torch.tensor([0, 1, 2])
    z = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(0), dtype=dtype)
    theirs, x = [], z.clone()
    with torch.no_grad():
        for t in ref.timesteps:
            x = ref.step(net(x, t, class_labels=labels).sample, t, x).prev_sample
            theirs.append(x)
    sig = default_sigmas(D, steps)
    ours = []
    sample(D, D.from_noise(z, float(sig[0])), sig, Euler(), label=labels,
           callback=lambda i, s, sn, x, xn, ctx: ours.append(xn * float(D.input_scale(sn))))  # x_t = x~ sqrt(ab)
    assert len(ours) == len(theirs) == steps
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == F64 else dict(rtol=1e-4, atol=1e-4)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        torch.testing.assert_close(a, b.to(a.dtype), **tol, msg=lambda m: f"step {i}: {m}")


def test_ddim_inversion_matches_diffusers_inverse_scheduler():
    """DDIMInverseScheduler (pipelines call the UNet on the current latent with the destination label) equals our
    Euler inversion with time_label="destination", step for step, on the same rising grid (0, sigma(t_0), ...)."""
    net = tiny_unet()
    steps = 25
    sched, ref = _ddim_pair(steps, F64, inverse=True)
    D = EpsDenoiser(net, sched)
    labels = torch.tensor([0, 2])
    x0 = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1), dtype=F64) * 2 - 1
    theirs, x = [], x0.clone()
    with torch.no_grad():
        for t in ref.timesteps:
            x = ref.step(net(x, t, class_labels=labels).sample, t, x).prev_sample
            theirs.append(x)
    sig = default_sigmas(D, steps)
    ours = []
    invert(D, x0, sig, Euler(time_label="destination"), label=labels,
           callback=lambda i, s, sn, x, xn, ctx: ours.append(xn * float(D.input_scale(sn))))
    assert len(ours) == len(theirs) == steps
    for i, (a, b) in enumerate(zip(ours, theirs)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=lambda m: f"step {i}: {m}")
