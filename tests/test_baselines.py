"""The baselines (null_class, direct_inversion, renoise, edict, bdia) and the method contract.

The contract runs every registered method on the exact Gaussian denoiser (conftest.oracle_denoiser); each method's
own property is checked against a closed form or an independent reference:
- EDICT / BDIA: float64 inversion then sampling returns the input to round-off (plain DDIM does not), and one step
  equals the authors' equations written independently in the model's own x_t coordinates;
- ReNoise: the fixed-point residual |z - f(eps(z))| of each step falls below that of one evaluation (DDIM);
- Null-Class: at w = 1 the gradient w.r.t. the null embedding is exactly zero; at w > 1 the reconstruction error
  falls below DDIM's. The oracle has no embedding, so those tests use ``EmbeddedOracle``: the same exact denoiser
  whose per-label data std is read from an nn.Embedding (log std), so the null-embedding override changes the null
  prediction in a known way; the forward-hook override itself is also checked on a real diffusers UNet2DModel and
  DiT (their ``class_embedding`` / ``class_embedder`` tables);
- DirectInversion: the target branch equals plain guided DDIM sampling from the inverted latent; the source branch
  reproduces the pivot.
"""
from __future__ import annotations

import dataclasses
import warnings

import pytest
import torch
import torch.nn.functional as F
from conftest import oracle_denoiser, tiny_unet
from torch import nn

from spectral_collapse.inversion import OVG, Euler, default_sigmas, get_method, invert, sample, translate
from spectral_collapse.inversion.loop import Context, is_pair_method, primary
from spectral_collapse.inversion.methods import METHODS, BDIA, EDICT, DirectInversion, NullClass, ReNoise
from spectral_collapse.inversion.methods.null_class import (class_embedding_tables, null_embedding_override, with_scale,
                                                            reconstruction_loss)
from spectral_collapse.inversion.methods.renoise import autocorrelation_loss, noise_regularization, patch_kl_loss
from spectral_collapse.models.denoisers import make_denoiser
from spectral_collapse.models.schedules import VPSchedule

F64 = torch.float64
BASELINES = ("null_class", "direct_inversion", "renoise", "edict", "bdia")
# Small data stds: ReNoise's regulariser constants assume near-unit-variance eps predictions; with std 0.5 data
# the exact eps at sigma ~ 0.03 has variance ~ 0.003 and the authors' clipped KL step (up to 6.5) diverges.
SMALL = (0.05, 0.1, 0.075)


def _data(n, s=SMALL[0], shape=(2, 8, 8), seed=0, dtype=F64):
    return torch.randn(n, *shape, generator=torch.Generator().manual_seed(seed), dtype=dtype) * s


def _quiet(fn, *a, **kw):
    """Run fn with Null-Class's w = 1 warning silenced (it is tested on its own)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="null_class at guidance scale w = 1")
        return fn(*a, **kw)


def _method(name, kind):
    m = get_method(name)
    if name == "renoise" and kind == "edm":  # sigma_min = 0.002: eps variance ~ 1e-3, the regulariser diverges
        m = dataclasses.replace(m, regularization_steps=0)
    if name == "fill":   # the fill needs the support's projector: here the x2 blocks of the test images
        from spectral_collapse.data.support import BlockProjector
        m = dataclasses.replace(m, projector=BlockProjector(2, (2, 8, 8)))
    return m


class EmbeddedOracle(nn.Module):
    """Exact eps-network of N(0, s_label^2 I) data (VP) with log s_label looked up in ``class_embedding``."""

    def __init__(self, stds=(0.5, 1.0, 0.75), schedule: VPSchedule | None = None):
        super().__init__()
        self.schedule = schedule or VPSchedule()
        self.class_embedding = nn.Embedding(3, 1).to(F64)
        with torch.no_grad():
            self.class_embedding.weight.copy_(torch.tensor(stds, dtype=F64).log().reshape(3, 1))

    def forward(self, x, t, class_labels):
        B = x.shape[0]
        s = self.class_embedding(class_labels).exp().to(x.dtype).reshape(B, 1, 1, 1)
        t = torch.as_tensor(t).reshape(-1).expand(B).double()
        sig = self.schedule.t_to_sigma(t).to(x.dtype).reshape(B, 1, 1, 1)
        xt = x * (1 + sig**2).sqrt()  # model input x_t -> sigma coordinates
        return xt * sig / (sig**2 + s**2)


# ------------------------------------------------------------------ registry and the contract

def test_registry_holds_every_baseline_as_a_documented_frozen_dataclass():
    for name in BASELINES:
        cls = METHODS[name]
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
        assert cls.__doc__ and cls.__module__ and __import__(cls.__module__, fromlist=["_"]).__doc__
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(cls(), dataclasses.fields(cls)[0].name, 0)
    assert get_method("edict").p == 0.93 and get_method("bdia").gamma == 1.0
    r = get_method("renoise")
    assert (r.renoise_steps, r.average_range, r.first_step_range, r.lambda_ac, r.lambda_kl) == (9, (8, 10), (0, 5),
                                                                                                  20.0, 0.065)
    n = get_method("null_class")
    assert (n.inner_steps, n.lr, n.early_stop, n.early_stop_slope, n.base.time_label) == (10, 1e-2, 1e-5, 2e-5,
                                                                                         "destination")
    with pytest.raises(ValueError, match="bdia.*direct_inversion.*edict"):
        get_method("edcit")


@pytest.mark.parametrize("kind", ["eps", "edm"])
@pytest.mark.parametrize("name", sorted(METHODS))
def test_contract_every_method(name, kind):
    D = oracle_denoiser(kind, stds=SMALL)
    x = _data(3, dtype=torch.float32)
    m = _method(name, kind)
    seeds = [11, 12, 13]
    run = lambda xx, ss, **kw: _quiet(translate, D, xx, m, steps=5, seeds=ss, **kw)  # noqa: E731
    tr = run(x, seeds)
    assert tr.output.shape == x.shape and tr.output.dtype == x.dtype
    assert tr.latent.shape == x.shape and tr.latent.dtype == x.dtype and tr.x_T.shape == x.shape
    assert tr.inversion.x.shape == ((2,) + x.shape if is_pair_method(m) else x.shape)
    assert bool(tr.finite.all()) and torch.isfinite(tr.output).all()
    assert torch.equal(run(x, seeds).output, tr.output)                          # same seeds: bit-identical
    single = run(x[1:2], seeds[1:2])                                              # per-sample: batch-independent
    torch.testing.assert_close(single.output, tr.output[1:2], rtol=1e-5, atol=1e-6)
    if name == "null_class":                                                      # the oracle has no embedding table
        with pytest.raises(ValueError, match="class-label embedding table"):
            run(x, seeds, cfg_scale=2.0)
        return
    guided = run(x, seeds, cfg_scale=2.0)                                          # CFG reaches every method
    assert guided.output.shape == x.shape and bool(guided.finite.all())
    assert guided.nfe > tr.nfe and not torch.allclose(guided.output, tr.output)


# ------------------------------------------------------------------ EDICT and BDIA: exact inversion

@pytest.mark.parametrize("kind", ["eps", "edm"])
@pytest.mark.parametrize("method", [EDICT(), EDICT(p=0.8, leapfrog=False), BDIA(), BDIA(gamma=0.5)], ids=repr)
@pytest.mark.parametrize("w", [1.0, 3.0])
def test_exact_methods_reconstruct_to_float64_roundoff(method, kind, w):
    D = oracle_denoiser(kind)
    x0 = _data(3, s=0.5)
    sig = default_sigmas(D, 12)
    inv = invert(D, x0, sig, method, label=0, cfg_scale=w)
    assert inv.x.shape == (2,) + x0.shape
    rec = sample(D, inv.x, sig, method, label=0, cfg_scale=w)
    assert rec.x.shape == x0.shape and rec.ctx.state["pair"].shape == (2,) + x0.shape
    err = float((rec.x - x0).abs().max() / x0.abs().max())
    assert err < 1e-10  # EDM's latents reach sigma_max = 80: round-off grows to ~1e-12 relative
    tr = translate(D, x0, method, sigmas=sig, target_label=0, cfg_scale=w)  # translate starts from the whole pair
    assert float((tr.output - x0).abs().max() / x0.abs().max()) < 1e-10
    assert torch.equal(tr.x_T, inv.x[0]) and torch.equal(tr.latent, D.to_noise(inv.x[0], float(sig[0])))
    ddim = translate(D, x0, Euler(), sigmas=sig, target_label=0, cfg_scale=w)
    assert float((ddim.output - x0).abs().max() / x0.abs().max()) > 1e-4  # the test can fail: DDIM is not exact


def _vp_eps(net, z, t_sigma, label):
    """The raw eps network at model-space input z with the time label of sigma (x_t coordinates)."""
    t = VPSchedule().sigma_to_t(torch.tensor(t_sigma, dtype=F64))
    return net(z, t, torch.full((z.shape[0],), label))


def _a(sigma):
    return 1.0 / (1.0 + sigma**2) ** 0.5  # sqrt(alpha_bar)


def test_edict_step_matches_the_authors_x_space_equations():
    D = oracle_denoiser("eps")
    sig = default_sigmas(D, 6)
    i, s_hi, s_lo = 2, float(sig[2]), float(sig[3])
    x, y = _data(2, s=2.0, seed=1), _data(2, s=2.0, seed=2)
    ctx = Context(label=torch.zeros(2, dtype=torch.long), direction="sample", seeds=[0, 1], sigmas=sig, step_index=i)
    out = EDICT().step(D, torch.stack([x, y]), s_hi, s_lo, ctx)
    a_hi, a_lo, sd_hi, sd_lo = _a(s_hi), _a(s_lo), s_hi * _a(s_hi), s_lo * _a(s_lo)
    A, B, p = a_lo / a_hi, sd_lo - a_lo * sd_hi / a_hi, 0.93
    X, Y = x * a_hi, y * a_hi                                   # model-space latents at the higher level
    if i % 2 == 0:                                              # leapfrog: x first on even sampling steps
        X1 = A * X + B * _vp_eps(D.net, Y, s_hi, 0)
        Y1 = A * Y + B * _vp_eps(D.net, X1, s_hi, 0)
    X2 = p * X1 + (1 - p) * Y1
    Y2 = p * Y1 + (1 - p) * X2
    torch.testing.assert_close(out, torch.stack([X2, Y2]) / a_lo, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("direction", ["sample", "invert"])
def test_bdia_step_matches_the_authors_x_space_equations(direction):
    D = oracle_denoiser("eps")
    sig = default_sigmas(D, 6)
    sig = sig if direction == "sample" else sig.flip(0)
    i, gamma = 2, 0.7
    s_prev, s_cur, s_next = (float(v) for v in sig[i - 1:i + 2])
    z, z_prev = _data(2, s=2.0, seed=1), _data(2, s=2.0, seed=2)
    ctx = Context(label=torch.zeros(2, dtype=torch.long), direction=direction, seeds=[0, 1], sigmas=sig, step_index=i)
    out = BDIA(gamma=gamma).step(D, torch.stack([z, z_prev]), s_cur, s_next, ctx)
    Z, Zp = z * _a(s_cur), z_prev * _a(s_prev)
    eps = _vp_eps(D.net, Z, s_cur, 0)
    x0 = (Z - s_cur * _a(s_cur) * eps) / _a(s_cur)
    to = lambda s: _a(s) * x0 + s * _a(s) * eps  # noqa: E731  D_{i->j}(z_i), the DDIM map in x_t
    if direction == "sample":
        Zn = gamma * Zp - gamma * to(s_prev) + to(s_next)
    else:
        Zn = (Zp - to(s_prev)) / gamma + to(s_next)
    torch.testing.assert_close(out[0] * _a(s_next), Zn, rtol=1e-12, atol=1e-12)
    assert torch.equal(out[1], z)


def test_pair_methods_refuse_guidance():
    D = oracle_denoiser("eps")
    with pytest.raises(ValueError, match="pair of latents"):
        invert(D, _data(1), default_sigmas(D, 3), EDICT(), guidance=OVG())


# ------------------------------------------------------------------ ReNoise

def _residuals(D, method, x0, sig):
    """Per-step fixed-point residual |z - (x + dt eps(z, sigma_next))| / |z| of an inversion."""
    res = []

    def cb(i, s, sn, x, xn, ctx):
        res.append(float((xn - x - (sn - s) * D(xn, sn, 0).eps).norm() / xn.norm()))
    invert(D, x0, sig, method, label=0, callback=cb)
    return torch.tensor(res)


def test_renoise_without_iterations_is_ddim_with_the_destination_label():
    D = oracle_denoiser("eps")
    x0, sig = _data(2, s=0.5), default_sigmas(D, 8)
    a = invert(D, x0, sig, ReNoise(renoise_steps=0, regularization_steps=0), label=0)
    b = invert(D, x0, sig, Euler("destination"), label=0)
    torch.testing.assert_close(a.x, b.x, rtol=0, atol=0)


def test_renoise_lowers_the_fixed_point_residual():
    D = oracle_denoiser("eps")
    x0, sig = _data(2, s=0.5), default_sigmas(D, 8)
    one = _residuals(D, ReNoise(renoise_steps=0, regularization_steps=0), x0, sig)
    assert bool((one > 1e-6).all())
    plain = [_residuals(D, ReNoise(renoise_steps=r, average=False, regularization_steps=0), x0, sig) for r in (1, 3)]
    assert bool((plain[0] < one).all()) and bool((plain[1] < plain[0]).all())
    avg = _residuals(D, ReNoise(regularization_steps=0), x0, sig)  # authors' R and averaging ranges
    assert bool((avg < one).all())


def test_renoise_losses_match_the_pix2pix_zero_definitions():
    g = torch.Generator().manual_seed(3)
    e, ref = torch.randn(2, 3, 16, 12, generator=g, dtype=F64), 0.7 * torch.randn(2, 3, 16, 12, generator=g, dtype=F64)
    expect = torch.zeros(2, dtype=F64)  # KL: one loop over 4x4 tiles and channels, unbiased variances
    for b in range(2):
        for c in range(3):
            for i in range(0, 16, 4):
                for j in range(0, 12, 4):
                    p0, p1 = e[b, c, i:i + 4, j:j + 4].flatten(), ref[b, c, i:i + 4, j:j + 4].flatten()
                    v0, v1 = p0.var() + 1e-6, p1.var() + 1e-6
                    expect[b] += abs(torch.log(v1 / v0) + (v0 - 1e-6 + (p0.mean() - p1.mean()) ** 2) / v1 - 1)
    torch.testing.assert_close(patch_kl_loss(e, ref), expect)
    assert float(patch_kl_loss(e, e).abs().max()) < 1e-3  # only the 1e-6 variance floor remains
    expect = torch.zeros(2, dtype=F64)  # autocorrelation: per channel, dyadic scales, one draw per scale
    for b in range(2):
        gen = torch.Generator().manual_seed(b)
        for c in range(3):
            n = e[b, c][None, None]
            while True:
                r = int(torch.randint(0, n.shape[2] // 2, (1,), generator=gen))
                expect[b] += (n * n.roll(r, 2)).mean() ** 2 + (n * n.roll(r, 3)).mean() ** 2
                if n.shape[2] <= 8:
                    break
                n = F.avg_pool2d(n, 2)
    got = autocorrelation_loss(e, [torch.Generator().manual_seed(b) for b in range(2)])
    torch.testing.assert_close(got, expect)


def test_renoise_regularisation_decorrelates_unit_variance_noise():
    g = torch.Generator().manual_seed(0)
    white = torch.randn(2, 3, 16, 16, generator=g, dtype=F64)
    smooth = 2 * F.avg_pool2d(F.pad(white, (1, 1, 1, 1), mode="circular"), 3, 1)  # strongly correlated
    out = noise_regularization(smooth, torch.randn(2, 3, 16, 16, generator=g, dtype=F64),
                               [torch.Generator().manual_seed(i) for i in range(2)])
    probe = lambda t: torch.stack([autocorrelation_loss(t, [torch.Generator().manual_seed(k)] * 2)  # noqa: E731
                                   for k in range(8)]).mean(0)
    assert bool((probe(out) < 0.5 * probe(smooth)).all())


# ------------------------------------------------------------------ Null-Class

def test_null_embedding_override_on_real_diffusers_networks():
    from diffusers import DiTTransformer2DModel

    torch.manual_seed(0)
    dit = DiTTransformer2DModel(num_attention_heads=2, attention_head_dim=8, in_channels=3, out_channels=3,
                                num_layers=2, sample_size=8, patch_size=2, num_embeds_ada_norm=2,
                                norm_num_groups=4).to(F64).eval()
    for net, size in ((tiny_unet(), 16), (dit, 8)):
        D = make_denoiser(net, "eps")
        tables = class_embedding_tables(D)
        assert len(tables) == (1 if net is not dit else 2)
        x = _data(2, s=1.0, shape=(3, size, size))
        null, lab0, lab1 = (D(x, 1.3, torch.full((2,), k)).eps for k in (2, 0, 1))
        emb = [torch.stack([t.weight[0], t.weight[1]]) for t in tables]  # sample 0 -> row 0, sample 1 -> row 1
        with torch.no_grad(), null_embedding_override(D, emb if len(emb) > 1 else emb[0]):
            over = D(x, 1.3, torch.full((2,), 2)).eps
            assert torch.equal(D(x, 1.3, torch.zeros(2, dtype=torch.long)).eps, lab0)  # other labels untouched
        torch.testing.assert_close(over, torch.stack([lab0[0], lab1[1]]))
        assert not torch.allclose(over, null)
        # through Context.denoise with CFG: a null embedding equal to the label's own row makes guidance a no-op
        ctx = Context(label=torch.zeros(2, dtype=torch.long), direction="sample", seeds=[0, 1], cfg_scale=4.0)
        own = [t.weight[0] for t in tables] if len(tables) > 1 else tables[0].weight[0]
        with torch.no_grad(), with_scale(ctx, 4.0, null_embedding=own):
            torch.testing.assert_close(ctx.denoise(D, x, 1.3).eps, lab0)
    with pytest.raises(ValueError, match="class-label embedding table"):
        class_embedding_tables(oracle_denoiser("eps"))


@pytest.mark.parametrize("net", ["unet", "oracle"])
def test_null_class_gradient_is_exactly_zero_at_w1(net):
    D = make_denoiser(tiny_unet() if net == "unet" else EmbeddedOracle(), "eps")
    shape = (3, 16, 16) if net == "unet" else (2, 8, 8)
    z, target = _data(2, s=1.0, shape=shape, seed=1), _data(2, s=1.0, shape=shape, seed=2)
    ctx = Context(label=torch.zeros(2, dtype=torch.long), direction="invert", seeds=[0, 1])
    eps_c = D(z, 1.5, 0).eps.detach()
    grads = {}
    for w in (1.0, 3.0):
        emb = [class_embedding_tables(D)[0].weight[2].detach().expand(2, -1).clone().requires_grad_(True)]
        loss = reconstruction_loss(D, z, 1.5, 1.0, target, eps_c, emb, w, ctx)
        (grads[w],) = torch.autograd.grad(loss.sum(), emb)
    assert torch.equal(grads[1.0], torch.zeros_like(grads[1.0]))
    assert float(grads[3.0].abs().min()) > 0


def test_null_class_at_w1_warns_and_is_ddim():
    D = make_denoiser(EmbeddedOracle(), "eps")
    x0, sig = _data(2, s=0.5), default_sigmas(D, 6)
    with pytest.warns(UserWarning, match="w = 1.*exactly zero"):
        tr = translate(D, x0, NullClass(), sigmas=sig)
    assert tr.inversion.handoff["null_embeddings"] is None and tr.nfe == 2 * 6
    ref = translate(D, x0, Euler("destination"), sigmas=sig, sampler=Euler())
    torch.testing.assert_close(tr.output, ref.output, rtol=0, atol=0)


@pytest.mark.parametrize("steps,w", [(10, 3.0), (20, 2.0)])
def test_null_class_lowers_reconstruction_error_at_w_above_1(steps, w):
    D = make_denoiser(EmbeddedOracle(), "eps")
    x0, sig = _data(2, s=0.5), default_sigmas(D, steps)
    err = lambda tr: (tr.output - x0).flatten(1).norm(dim=1) / x0.flatten(1).norm(dim=1)  # noqa: E731
    nc = translate(D, x0, NullClass(), sigmas=sig, cfg_scale=w, target_label=0)
    ddim_pivot = translate(D, x0, Euler("destination"), sigmas=sig, cfg_scale=1.0, sample_cfg_scale=w,
                           target_label=0, sampler=Euler())  # the same pivot, table null embedding
    ddim_guided = translate(D, x0, Euler(), sigmas=sig, cfg_scale=w, target_label=0)
    assert bool((err(nc) < 0.5 * err(ddim_pivot)).all()) and bool((err(nc) < 0.5 * err(ddim_guided)).all())
    embs = nc.inversion.handoff["null_embeddings"]
    assert len(embs) == steps and embs[0].shape == (2, 1)
    table_row = D.net.class_embedding.weight[2]
    assert not torch.allclose(embs[-1], table_row.expand(2, -1))  # the embedding moved
    assert nc.inversion.ctx.state["backward_passes"] > 0
    assert nc.inversion.nfe <= steps + steps * (1 + NullClass().inner_steps + 2)  # pivot + 1 + J + 2 per step


def test_null_class_sampling_refuses_another_grid():
    D = make_denoiser(EmbeddedOracle(), "eps")
    x0 = _data(1, s=0.5)
    inv = invert(D, x0, default_sigmas(D, 4), NullClass(), label=0, cfg_scale=2.0)
    with pytest.raises(ValueError, match="same grid"):
        sample(D, inv.x, default_sigmas(D, 5), NullClass(), label=1, cfg_scale=2.0, state=inv.handoff)


# ------------------------------------------------------------------ DirectInversion

@pytest.mark.parametrize("kind", ["eps", "edm"])
def test_direct_inversion_target_branch_is_plain_guided_sampling(kind):
    D = oracle_denoiser(kind)
    x0, sig, w = _data(3, s=0.5), default_sigmas(D, 8), 3.0
    tr = translate(D, x0, DirectInversion(), sigmas=sig, cfg_scale=w)
    plain = translate(D, x0, Euler("destination"), sigmas=sig, cfg_scale=1.0, sample_cfg_scale=w, sampler=Euler())
    torch.testing.assert_close(tr.x_T, plain.x_T, rtol=0, atol=0)
    torch.testing.assert_close(tr.output, plain.output, rtol=0, atol=0)
    # the source branch adds the offsets and reproduces the pivot; labels [0, 1, 0] run both branches at once
    piv = []
    invert(D, x0, sig, Euler("destination"), label=0, callback=lambda i, s, sn, x, xn, c: piv.append(xn))
    piv = [x0] + piv
    inv = tr.inversion
    steps = []
    out = sample(D, inv.x, sig, DirectInversion(), label=torch.tensor([0, 1, 0]), cfg_scale=w, state=inv.handoff,
                 callback=lambda i, s, sn, x, xn, c: steps.append(xn))
    for i, xn in enumerate(steps):
        torch.testing.assert_close(xn[[0, 2]], piv[len(sig) - 2 - i][[0, 2]], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out.x[[0, 2]], x0[[0, 2]], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out.x[1], tr.output[1], rtol=0, atol=0)
    assert tr.inversion.nfe == 8 + 8 * 2  # pivot at w = 1, then one guided forward pair per offset


def test_translate_keeps_guidance_free_methods_unchanged():
    """The handoff plumbing leaves methods without one alone: translate == invert + sample by hand."""
    D = oracle_denoiser("eps")
    x0, sig = _data(2, s=0.5), default_sigmas(D, 5)
    for m in (Euler(), get_method("taba"), BDIA()):
        tr = translate(D, x0, m, sigmas=sig, seeds=[3, 4])
        inv = invert(D, x0, sig, m, label=0, seeds=[3, 4])
        smp = m.sampler() if hasattr(m, "sampler") else m
        out = sample(D, inv.x if is_pair_method(smp) else primary(inv.x, m), sig, smp, label=1, seeds=[3, 4])
        assert torch.equal(tr.output, out.x) and inv.handoff == {}
