"""Flow-matching, EDM and zero-terminal-SNR folders through ``models.from_diffusers``: tiny random networks built
with diffusers' classes, saved with save_pretrained into a temporary folder and loaded back.

- flow matching: the velocity wrapper equals the closed form of Gaussian data (x0 = x~ s^2 / (sigma^2 + s^2)); one
  Euler step in sigma coordinates is diffusers' FlowMatchEulerDiscreteScheduler.step on the same velocity, and whole
  sampling / inversion passes equal that scheduler run down / up the same times; the default grid is the
  scheduler's (shift, dynamic shift, shift_terminal) with a finite top; every inversion method and OVG run on it;
- EDM schedulers: the denoiser equals diffusers' precondition_inputs / precondition_noise / precondition_outputs;
- zero terminal SNR: the schedule equals diffusers' rescaled betas, with a finite last level;
- what cannot map (text-conditioned transformers, inverted flow times, other preconditionings) says why.
"""
from __future__ import annotations

from contextlib import nullcontext

import json
import math

import pytest
import torch
from torch import nn

from conftest import any_method
from spectral_collapse.inversion import METHODS, OVG, TABA, Euler, default_sigmas, get_method, invert, sample, translate
from spectral_collapse.models import UnsupportedModelError, from_diffusers
from spectral_collapse.models.denoisers import EDMDenoiser, EDMVDenoiser
from spectral_collapse.models.flow import FlowDenoiser, FlowSchedule
from spectral_collapse.models.hub_folder import schedule_from_config
from spectral_collapse.models.schedules import ZeroTerminalSNRSchedule

F64 = torch.float64


def tiny_unet(seed=0, size=8, channels=3):
    """A UNet2DModel of about 11k parameters on 8 x 8 images."""
    from diffusers import UNet2DModel

    torch.manual_seed(seed)
    return UNet2DModel(sample_size=size, in_channels=channels, out_channels=channels, layers_per_block=1,
                       block_out_channels=(8, 16), down_block_types=("DownBlock2D",) * 2,
                       up_block_types=("UpBlock2D",) * 2, norm_num_groups=4).eval()


def save(path, scheduler, *, seed=0, unet=None):
    """unet/ + scheduler/ + model_index.json, as a pipeline's save_pretrained writes them."""
    (unet or tiny_unet(seed)).save_pretrained(path / "unet")
    scheduler.save_pretrained(path / "scheduler")
    (path / "model_index.json").write_text(json.dumps({"_class_name": "SomePipeline",
                                                       "unet": ["diffusers", "UNet2DModel"],
                                                       "scheduler": ["diffusers", type(scheduler).__name__]}))
    return path


def save_flow(path, seed=0, **config):
    from diffusers import FlowMatchEulerDiscreteScheduler

    return save(path, FlowMatchEulerDiscreteScheduler(**config), seed=seed)


def images(n=2, size=8, dtype=torch.float32, seed=1):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed), dtype=dtype) * 2 - 1


# ------------------------------------------------------------------------------------- flow matching: mapping

class GaussianFlowNet(nn.Module):
    """The exact velocity of N(0, s^2 I) data on x_t = (1 - t) x0 + t n, time input N t (written here from the
    closed form, independently of the library): v = (t - (1 - t) s^2) x_t / ((1 - t)^2 s^2 + t^2)."""

    def __init__(self, s=0.5, N=1000):
        super().__init__()
        self.s, self.N = s, N
        self.class_embedding = None  # unconditional: called as net(x, t)
        self.dummy = nn.Parameter(torch.zeros((), dtype=F64))

    def forward(self, x, t):
        t = (torch.as_tensor(t, dtype=x.dtype) / self.N).reshape(-1, 1, 1, 1)
        return (t - (1 - t) * self.s**2) * x / ((1 - t) ** 2 * self.s**2 + t**2) + 0 * self.dummy


def test_flow_wrapper_gives_the_closed_form_of_gaussian_data():
    s = 0.5
    D = FlowDenoiser(GaussianFlowNet(s), FlowSchedule())
    x = images(3, dtype=F64) * 3
    sig = torch.tensor([0.0, 0.3, 7.0], dtype=F64)
    pred = D(x, sig, 0)
    b = sig.reshape(-1, 1, 1, 1)
    torch.testing.assert_close(pred.x0, x * s**2 / (b**2 + s**2), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(pred.eps, x * b / (b**2 + s**2), rtol=1e-12, atol=1e-12)
    assert D.parameterization == "flow" and D.sigma_min == 0.0
    torch.testing.assert_close(D.input_scale(torch.tensor(3.0)), torch.tensor(0.25, dtype=F64))


def test_flow_euler_round_trip_matches_its_closed_form_and_the_exact_flow():
    """Euler in sigma coordinates on Gaussian data multiplies x~ by 1 + (sigma' - sigma) sigma / (sigma^2 + s^2) per
    step (closed form, to round-off); the inverted latent tends to the exact flow's x0 / s and the round trip to the
    input, with Euler's first-order error (8 times the steps: about 8 times smaller)."""
    s = 0.5
    D = FlowDenoiser(GaussianFlowNet(s), FlowSchedule(shift=3.0))
    x = images(dtype=F64)
    errors = []
    for steps in (50, 400):
        sig = default_sigmas(D, steps)
        up, down = sig.flip(0), sig
        inv = invert(D, x, sig, Euler())
        out = sample(D, inv.x, sig, Euler())
        f_inv = math.prod(1 + (float(b) - float(a)) * float(a) / (float(a) ** 2 + s**2) for a, b in zip(up, up[1:]))
        f_smp = math.prod(1 + (float(b) - float(a)) * float(a) / (float(a) ** 2 + s**2)
                          for a, b in zip(down, down[1:]))
        torch.testing.assert_close(inv.x, x * f_inv, rtol=1e-10, atol=0)
        torch.testing.assert_close(out.x, x * f_inv * f_smp, rtol=1e-10, atol=0)
        # the exact flow takes x0 to x~_top = x0 sqrt(s^2 + sigma_top^2) / s: latent x~_top / sigma_top -> x0 / s
        latent = D.to_noise(inv.x, float(sig[0]))
        errors.append((float(((latent - x / s).abs() / (x / s).abs()).max()),
                       float(((out.x - x).abs() / x.abs()).max())))
    (lat50, rt50), (lat400, rt400) = errors
    assert lat400 < 1e-2 and rt400 < 2e-2, errors
    assert 6 < lat50 / lat400 < 10 and 6 < rt50 / rt400 < 10, errors


def _t(sigmas):
    """Times t = sigma / (1 + sigma) of a sigma grid."""
    return sigmas / (1 + sigmas)


@pytest.mark.parametrize("config", [dict(shift=1.0), dict(shift=3.0), dict(shift=3.0, shift_terminal=0.1)])
def test_flow_default_grid_is_the_schedulers_with_a_finite_top(tmp_path, config):
    from diffusers import FlowMatchEulerDiscreteScheduler

    D = from_diffusers(save_flow(tmp_path / "m", **config))
    assert isinstance(D, FlowDenoiser) and D.origin["scheduler"] == "FlowMatchEulerDiscreteScheduler"
    steps = 12
    ours = default_sigmas(D, steps)
    ref = FlowMatchEulerDiscreteScheduler(**config)
    ref.set_timesteps(steps)
    theirs = ref.sigmas.double()                                   # times, from 1 down, then 0
    assert len(ours) == len(theirs) == steps + 1 and float(theirs[0]) == 1.0 and float(ours[-1]) == 0.0
    torch.testing.assert_close(_t(ours[1:-1]), theirs[1:-1], rtol=0, atol=2e-7)  # their float32 times
    shift = config["shift"]
    t_top = shift * 0.999 / (1 + (shift - 1) * 0.999)           # the highest training level below t = 1
    assert math.isclose(float(_t(ours[0])), t_top, rel_tol=1e-12) and math.isclose(D.sigma_max, t_top / (1 - t_top))
    assert bool((ours[:-1] > ours[1:]).all())


def test_flow_dynamic_shift_is_resolved_from_the_sample_size_or_given(tmp_path):
    """The SD3 / Flux pipelines' rule: mu = m L + b on the line through (base_image_seq_len, base_shift) and
    (max_image_seq_len, max_shift), for the image sequence length L; the exponential time shift is exp(mu)."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    path = save_flow(tmp_path / "m", use_dynamic_shifting=True, base_image_seq_len=16, max_image_seq_len=256)
    D = from_diffusers(path)
    m = (1.15 - 0.5) / (256 - 16)
    mu = m * (8 * 8) + (0.5 - m * 16)                               # L = 64 pixels of the 8 x 8 U-Net
    assert math.isclose(D.schedule.shift, math.exp(mu), rel_tol=1e-12) and D.origin["schedule"]["image_seq_len"] == 64
    ref = FlowMatchEulerDiscreteScheduler.from_pretrained(path, subfolder="scheduler")
    ref.set_timesteps(10, mu=mu)
    torch.testing.assert_close(_t(default_sigmas(D, 10)[1:-1]), ref.sigmas.double()[1:-1], rtol=0, atol=2e-7)
    assert from_diffusers(path, shift=2.0).schedule.shift == 2.0
    from diffusers import DDPMScheduler

    vp = save(tmp_path / "vp", DDPMScheduler())
    with pytest.raises(ValueError, match=r"shift=2\.0 applies to flow-matching models only"):
        from_diffusers(vp, shift=2.0)


def test_flow_grid_refuses_more_steps_than_training_levels():
    with pytest.raises(ValueError, match=r"at or above its top .* use fewer steps"):
        FlowSchedule(num_train_timesteps=20).grid(20)
    assert len(FlowSchedule(num_train_timesteps=20).grid(19)) == 20


# ----------------------------------------------------------------- flow matching: against diffusers' scheduler

def test_one_euler_step_equals_flow_match_euler_scheduler_step(tmp_path):
    """t = 0.75 -> 0.5 (exact in float32, so diffusers' float32 upcast of the state loses nothing): our Euler step on
    x~ = x_t / (1 - t) equals FlowMatchEulerDiscreteScheduler.step on the velocity of the same network."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    D = from_diffusers(save_flow(tmp_path / "m"), dtype=F64)
    xt = images(dtype=torch.float32).double()                     # a state exactly representable in float32
    ref = FlowMatchEulerDiscreteScheduler()
    ref.set_timesteps(sigmas=[0.75, 0.5])
    v = D.net(xt, ref.timesteps[0].double().expand(2)).sample
    theirs = ref.step(v, ref.timesteps[0], xt).prev_sample
    sig = torch.tensor([3.0, 1.0], dtype=F64)                     # t / (1 - t) of 0.75 and 0.5
    ours = sample(D, xt / 0.25, sig, Euler()).x * 0.5              # back to x_t = x~ (1 - t)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    assert float((theirs - xt).abs().max()) > 1e-2


def _t_space_loop(net, x, times, N=1000):
    """Independent float64 re-derivation: x_t' = x_t + (t' - t) v(x_t, N t) over ``times``."""
    for a, b in zip(times, times[1:]):
        x = x + (b - a) * net(x, torch.full((x.shape[0],), N * a, dtype=x.dtype)).sample
    return x


def test_inversion_and_sampling_equal_the_flow_scheduler_run_up_and_down(tmp_path):
    """On the times 0, 1/8, 1/4, 1/2, 3/4, 7/8: our Euler inversion and sampling (network at the source level) equal
    the t-space Euler loop in float64 to round-off, and diffusers' scheduler stepped up and down the same times to
    its float32 state (its step rounds the state to float32 each time: 6e-8 relative per step)."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    D = from_diffusers(save_flow(tmp_path / "m"), dtype=F64)
    up_t = [0.0, 0.125, 0.25, 0.5, 0.75, 0.875]
    up = torch.tensor([t / (1 - t) for t in up_t], dtype=F64)
    x0 = images(dtype=F64)
    inv = invert(D, x0, up, Euler())
    lat = inv.x * (1 - up_t[-1])                                  # model space x_t at t = 7/8
    smp = sample(D, inv.x, up.flip(0), Euler()).x
    torch.testing.assert_close(lat, _t_space_loop(D.net, x0, up_t), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(smp, _t_space_loop(D.net, lat, up_t[::-1]), rtol=1e-12, atol=1e-12)

    def run(x, times):
        sch = FlowMatchEulerDiscreteScheduler()
        sch.set_timesteps(sigmas=times)                           # diffusers appends t = 0, never reached going up
        for i in range(len(times) - 1 if times[0] < times[-1] else len(times)):
            ts = sch.timesteps[i]
            x = sch.step(D.net(x, ts.double().expand(x.shape[0])).sample, ts, x).prev_sample
        return x
    torch.testing.assert_close(lat, run(x0, up_t), rtol=0, atol=2e-6)
    torch.testing.assert_close(smp, run(lat, up_t[:0:-1]), rtol=0, atol=2e-6)  # 7/8 ... 1/8, then 0
    assert float((smp - x0).abs().max()) > 1e-3                   # a random network does not reconstruct exactly


@pytest.mark.parametrize("method,guidance", [(Euler(), None), (TABA(fraction=0.25), None),
                                             (Euler(), OVG(eta_hf=1e-11, eta_lf=1e-4)),
                                             (TABA(fraction=0.25), OVG(eta_hf=1e-11, eta_lf=1e-4)),
                                             (Euler(), OVG.stable())])
def test_ddim_taba_and_ovg_run_on_a_flow_model(tmp_path, method, guidance):
    D = from_diffusers(save_flow(tmp_path / "m", shift=3.0))
    x = images()
    base = translate(D, x, method, steps=4, warn_norm=False)
    tr = translate(D, x, method, guidance=guidance, steps=4, warn_norm=False)
    for t in (tr.x_T, tr.latent, tr.output):
        assert t.shape == x.shape and torch.isfinite(t).all()
    assert bool(tr.finite.all()) and tr.nfe == base.nfe
    if guidance is not None:
        assert not torch.allclose(tr.x_T, base.x_T)               # the drift moved the latent


def test_a_smooth_flow_model_reconstructs_better_with_more_steps(tmp_path):
    unet = tiny_unet()
    with torch.no_grad():
        unet.conv_out.weight.mul_(0.02)
        unet.conv_out.bias.mul_(0.02)
    from diffusers import FlowMatchEulerDiscreteScheduler

    D = from_diffusers(save(tmp_path / "m", FlowMatchEulerDiscreteScheduler(shift=3.0), unet=unet), dtype=F64)
    x = images(dtype=F64)
    err = [float((translate(D, x, Euler(), steps=n, warn_norm=False).output - x).pow(2).mean().sqrt())
           for n in (5, 100)]
    assert err[1] < err[0] / 3 and err[1] < 0.02, err


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_runs_on_a_flow_model(tmp_path, name):
    D = from_diffusers(save_flow(tmp_path / "m", shift=3.0))
    x = images(1)
    with pytest.warns() if name == "null_class" else nullcontext():     # null_class at w = 1 says it is DDIM
        tr = translate(D, x, any_method(name, x.shape[1:]), steps=3, warn_norm=False)
    assert tr.output.shape == x.shape and torch.isfinite(tr.output).all()


def test_heun_flow_scheduler_class_labels_and_a_pair_with_a_vp_model(tmp_path):
    """FlowMatchHeunDiscreteScheduler loads the same way; a class-conditional flow U-Net keeps its labels; a flow
    model inverts and a DDPM-type model samples (the pair runs on the inverting model's grid)."""
    from diffusers import DDPMScheduler, FlowMatchHeunDiscreteScheduler, UNet2DModel

    from spectral_collapse.models.denoisers import ModelPair

    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=8, in_channels=3, out_channels=3, layers_per_block=1, block_out_channels=(8, 16),
                       down_block_types=("DownBlock2D",) * 2, up_block_types=("UpBlock2D",) * 2, norm_num_groups=4,
                       num_class_embeds=3)
    Df = from_diffusers(save(tmp_path / "f", FlowMatchHeunDiscreteScheduler(shift=2.0), unet=unet))
    assert isinstance(Df, FlowDenoiser) and Df.schedule.shift == 2.0 and Df.origin["conditional"]
    x = images()
    assert not torch.allclose(Df(x, 1.0, 0).eps, Df(x, 1.0, 1).eps)
    Dv = from_diffusers(save(tmp_path / "v", DDPMScheduler(prediction_type="v_prediction"), seed=1))
    pair = ModelPair(Df, Dv)
    torch.testing.assert_close(default_sigmas(pair, 5), default_sigmas(Df, 5))
    tr = translate(pair, x, Euler(), steps=5, warn_norm=False)
    assert tr.output.shape == x.shape and torch.isfinite(tr.output).all()


# ------------------------------------------------------------------------------------------------ EDM

@pytest.mark.parametrize("cls", ["EDMEulerScheduler", "EDMDPMSolverMultistepScheduler"])
@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction"])
def test_edm_denoiser_equals_diffusers_preconditioning(tmp_path, cls, prediction):
    import diffusers

    sch = getattr(diffusers, cls)(sigma_min=0.01, sigma_max=40.0, sigma_data=0.7, prediction_type=prediction)
    D = from_diffusers(save(tmp_path / "m", sch), dtype=F64)
    assert type(D) is (EDMVDenoiser if prediction == "v_prediction" else EDMDenoiser)
    assert (D.sigma_min, D.sigma_max, D.sigma_data, D.parameterization) == (0.01, 40.0, 0.7, "edm")
    x = images(3, dtype=F64) * 5
    sig = torch.tensor([0.02, 0.9, 30.0], dtype=F64)
    b = sig.reshape(-1, 1, 1, 1)
    F = D.net(sch.precondition_inputs(x, b), sch.precondition_noise(sig)).sample
    theirs = sch.precondition_outputs(x, F, b)
    pred = D(x, sig, 0)
    torch.testing.assert_close(pred.x0, theirs, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(pred.x0 + b * pred.eps, x, rtol=1e-12, atol=1e-12)
    ref = diffusers.EDMEulerScheduler(sigma_min=0.01, sigma_max=40.0)
    ref.set_timesteps(7)                                          # the Karras grid (rho 7), then 0
    torch.testing.assert_close(default_sigmas(D, 7), ref.sigmas.double(), rtol=1e-6, atol=1e-7)
    tr = translate(D.float(), images(), Euler(), guidance=OVG(eta_hf=1e-11, eta_lf=1e-4), steps=4, warn_norm=False)
    assert torch.isfinite(tr.output).all() and bool(tr.finite.all())


# ------------------------------------------------------------------------------------------ zero terminal SNR

@pytest.mark.parametrize("schedule", [dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012),
                                      dict(beta_schedule="linear"),
                                      dict(trained_betas=torch.linspace(1e-4, 0.03, 300).tolist(),
                                           num_train_timesteps=300)])
def test_zero_terminal_snr_equals_diffusers_rescaled_betas_with_a_finite_top(tmp_path, schedule):
    from diffusers import DDIMScheduler, EulerDiscreteScheduler
    from diffusers.schedulers.scheduling_ddim import rescale_zero_terminal_snr

    D = from_diffusers(save(tmp_path / "m", DDIMScheduler(prediction_type="v_prediction", rescale_betas_zero_snr=True,
                                                          **schedule)), dtype=F64)
    assert isinstance(D.schedule, ZeroTerminalSNRSchedule)
    if "trained_betas" in schedule:                               # the betas before rescaling, in float64
        base = torch.tensor(schedule["trained_betas"], dtype=F64)
    elif schedule["beta_schedule"] == "linear":
        base = torch.linspace(1e-4, 0.02, 1000, dtype=F64)
    else:
        base = torch.linspace(schedule["beta_start"] ** 0.5, schedule["beta_end"] ** 0.5, 1000, dtype=F64) ** 2
    theirs = torch.cumprod(1 - rescale_zero_terminal_snr(base), 0)   # float64, last level exactly 0
    ours = D.schedule.alphas_cumprod()
    assert float(theirs[-1]) == 0.0
    torch.testing.assert_close(ours[:-1], theirs[:-1], rtol=1e-10, atol=1e-14)
    euler = EulerDiscreteScheduler(rescale_betas_zero_snr=True, **schedule).alphas_cumprod.double()  # top: 2^-24
    if 2.0**-24 < float(theirs[-2]):                              # diffusers' finite top, below the level before it
        assert float(ours[-1]) == 2.0**-24
        torch.testing.assert_close(ours, euler, rtol=2e-5, atol=1e-9)
    else:                                                         # there 2^-24 would put the top below level T - 1
        assert float(euler[-1]) > float(euler[-2])                # (diffusers' Euler table is not monotone)
        sig = ((1 - theirs[:-1]) / theirs[:-1]).sqrt()
        top = float(sig[-1]) ** 2 / float(sig[-2])                # one more step of the last log-sigma spacing
        assert math.isclose(float(ours[-1]), 1 / (1 + top**2), rel_tol=1e-9)
    sigmas = D.schedule.sigmas()
    assert bool((sigmas[1:] > sigmas[:-1]).all()) and math.isfinite(D.sigma_max)
    grid = default_sigmas(D, 10)
    assert float(grid[0]) < D.sigma_max and torch.isfinite(grid).all()   # leading spacing stays below the top
    tr = translate(D.float(), images(), Euler(), guidance=OVG(eta_hf=1e-11, eta_lf=1e-4), steps=4, warn_norm=False)
    assert torch.isfinite(tr.output).all()


# ------------------------------------------------------------------------------------ refusals that say why

def test_text_conditioned_transformers_are_refused_with_the_reason(tmp_path):
    from diffusers import FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel

    torch.manual_seed(0)
    SD3Transformer2DModel(sample_size=8, patch_size=2, in_channels=4, num_layers=1, attention_head_dim=8,
                          num_attention_heads=2, joint_attention_dim=16, caption_projection_dim=16,
                          pooled_projection_dim=8, out_channels=4, pos_embed_max_size=8
                          ).save_pretrained(tmp_path / "sd3" / "transformer")
    FlowMatchEulerDiscreteScheduler(shift=3.0).save_pretrained(tmp_path / "sd3" / "scheduler")
    with pytest.raises(UnsupportedModelError, match=r"SD3Transformer2DModel, which cannot run without text "
                                                    r"embeddings: .*pooled_projections.*zero embeddings"):
        from_diffusers(tmp_path / "sd3")
    flux = tmp_path / "flux"
    (flux / "transformer").mkdir(parents=True)
    (flux / "transformer" / "config.json").write_text(json.dumps({"_class_name": "FluxTransformer2DModel"}))
    FlowMatchEulerDiscreteScheduler().save_pretrained(flux / "scheduler")
    with pytest.raises(UnsupportedModelError, match=r"FluxTransformer2DModel, which cannot run without text"):
        from_diffusers(flux)


@pytest.mark.parametrize("cfg,match", [
    ({"_class_name": "FlowMatchEulerDiscreteScheduler", "invert_sigmas": True}, r"invert_sigmas: .* reverse"),
    ({"_class_name": "FlowMatchEulerDiscreteScheduler", "use_dynamic_shifting": True}, r"pass shift=\.\.\."),
    ({"_class_name": "EDMEulerScheduler", "prediction_type": "sample"}, r"defines epsilon and v_prediction only"),
    ({"_class_name": "CosineDPMSolverMultistepScheduler", "sigma_min": 0.3}, r"is neither a DDPM-type"),
    ({"_class_name": "EDMEulerScheduler", "precondition_type": "cosine"}, r"preconditions with 'cosine'"),
    ({"_class_name": "FlowMatchLCMScheduler"}, r"FlowMatchLCMScheduler is neither"),
])
def test_schedulers_that_cannot_map_say_why(cfg, match):
    with pytest.raises(UnsupportedModelError, match=match) as err:
        schedule_from_config(cfg)
    assert "Supported: a diffusers pipeline folder" in str(err.value)
