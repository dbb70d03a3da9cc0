"""A diffusers model from a folder (issue "Your images, your model", items 2-4): tiny random models saved with
save_pretrained into a temporary folder and loaded back with ``models.from_diffusers``.

- the scheduler config maps onto our schedule and parameterisation (linear, scaled_linear, squaredcos_cap_v2,
  trained_betas; epsilon, sample, v_prediction);
- our DDIM inversion plus sampling equals diffusers' DDIMInverseScheduler plus DDIMScheduler on the same model, for
  epsilon and v_prediction: on the grid both share when the scheduler keeps alpha_bar_0 as its end level
  (``set_alpha_to_one=False``) with the network at the source level's label (explicit Euler, our default), and for
  epsilon also in the diffusers pipelines' own convention (destination label, ``set_alpha_to_one=True``);
- unconditional networks ignore the labels, class-conditional ones keep them; OVG runs on each parameterisation;
  two-model (DDIB) translation runs with every method; a DiT, a learned-variance output and a vae/ load;
- what is not supported raises an error that lists what is.
"""
from __future__ import annotations

from contextlib import nullcontext

import json
import math

import pytest
import torch

from conftest import any_method
from spectral_collapse.inversion import METHODS, OVG, Euler, default_sigmas, get_method, translate
from spectral_collapse.models import UnsupportedModelError, from_diffusers
from spectral_collapse.models.denoisers import EpsDenoiser, ModelPair, VDenoiser, X0Denoiser, make_denoiser
from spectral_collapse.models.hub import folder_digest
from spectral_collapse.models.hub_folder import schedule_from_config

F64 = torch.float64
PREDICTIONS = {"epsilon": EpsDenoiser, "sample": X0Denoiser, "v_prediction": VDenoiser}


def tiny_unet(seed=0, classes=None, sample_size=16, channels=3, out_channels=None):
    from diffusers import UNet2DModel

    torch.manual_seed(seed)
    return UNet2DModel(sample_size=sample_size, in_channels=channels, out_channels=out_channels or channels,
                       layers_per_block=1, block_out_channels=(16, 32), down_block_types=("DownBlock2D", "DownBlock2D"),
                       up_block_types=("UpBlock2D", "UpBlock2D"), norm_num_groups=8, num_class_embeds=classes).eval()


def save_pipeline(path, prediction_type="epsilon", *, seed=0, classes=None, **scheduler):
    """DDPMPipeline(unet, scheduler).save_pretrained(path): the simplest folder a user has."""
    from diffusers import DDPMPipeline, DDPMScheduler

    DDPMPipeline(unet=tiny_unet(seed, classes), scheduler=DDPMScheduler(prediction_type=prediction_type, **scheduler)
                 ).save_pretrained(path)
    return path


def _images(n=2, size=16, dtype=torch.float32, seed=1):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed), dtype=dtype) * 2 - 1


# ----------------------------------------------------------------------------------------- mapping

@pytest.mark.parametrize("prediction", list(PREDICTIONS))
@pytest.mark.parametrize("schedule", [dict(beta_schedule="linear"),
                                      dict(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012),
                                      dict(beta_schedule="squaredcos_cap_v2"),
                                      dict(trained_betas=torch.linspace(1e-4, 0.03, 500).tolist(),
                                           num_train_timesteps=500)])
def test_schedule_and_prediction_type_map_onto_our_denoiser(tmp_path, prediction, schedule):
    from diffusers import DDPMScheduler

    D = from_diffusers(save_pipeline(tmp_path / "m", prediction, **schedule))
    assert type(D) is PREDICTIONS[prediction]
    ref = DDPMScheduler.from_pretrained(tmp_path / "m", subfolder="scheduler").alphas_cumprod.double()
    torch.testing.assert_close(D.schedule.alphas_cumprod(), ref, rtol=2e-5, atol=1e-8)
    assert D.origin["sha256"] == folder_digest(tmp_path / "m") and D.origin["conditional"] is False
    assert D.latent_space is None and D.checkpoint.endswith("unet")
    assert not any(p.requires_grad for p in D.parameters()) and not D.training


def test_content_hash_changes_with_the_weights(tmp_path):
    a = from_diffusers(save_pipeline(tmp_path / "a", seed=0)).origin["sha256"]
    b = from_diffusers(save_pipeline(tmp_path / "b", seed=1)).origin["sha256"]
    assert a != b and a == from_diffusers(tmp_path / "a").origin["sha256"]


# --------------------------------------------------------------------------------- labels

def test_unconditional_network_ignores_the_label_and_needs_no_wrapper():
    """The issue's failure: make_denoiser on an unconditional UNet2DModel raised inside diffusers."""
    D = make_denoiser(tiny_unet(), "eps")
    x = _images()
    a, b = D(x, 1.0, 0), D(x, 1.0, 1)
    torch.testing.assert_close(a.eps, b.eps, rtol=0, atol=0)


def test_class_conditional_network_keeps_its_labels_and_label_map(tmp_path):
    D = from_diffusers(save_pipeline(tmp_path / "c", classes=3))
    assert D.origin["conditional"] is True
    x = _images()
    assert not torch.allclose(D(x, 1.0, 0).eps, D(x, 1.0, 1).eps)
    swapped = from_diffusers(tmp_path / "c", labels=(1, 0, 2))  # suite label 0 -> network class 1
    torch.testing.assert_close(swapped(x, 1.0, 0).eps, D(x, 1.0, 1).eps)
    with pytest.raises(ValueError, match="three class ids"):
        from_diffusers(tmp_path / "c", labels=(1, 0))


# ----------------------------------------------------------------------- DDIM against diffusers

def _schedulers(path, steps, table=None, alpha_one=False):
    """diffusers' DDIMInverseScheduler and DDIMScheduler from the saved config (x0 never clipped; leading spacing,
    offset 0 as our grid). ``table``: put our float64 alpha_bar table into both, to compare the arithmetic."""
    from diffusers import DDIMInverseScheduler, DDIMScheduler

    kw = dict(subfolder="scheduler", clip_sample=False, set_alpha_to_one=alpha_one, steps_offset=0,
              timestep_spacing="leading")
    inv, smp = DDIMInverseScheduler.from_pretrained(path, **kw), DDIMScheduler.from_pretrained(path, **kw)
    if table is not None:
        end = torch.tensor(1.0, dtype=F64) if alpha_one else table[0]
        inv.alphas_cumprod, smp.alphas_cumprod = table, table
        inv.initial_alpha_cumprod, smp.final_alpha_cumprod = end, end
    inv.set_timesteps(steps)
    smp.set_timesteps(steps)
    return inv, smp


def _theirs(unet, x, inv, smp, steps, label):
    """Inversion then sampling, diffusers' schedulers stepping; ``label`` "source" calls the network at the level
    the step starts from (explicit Euler), "destination" at the timestep given to step() (the pipelines)."""
    stride = inv.config.num_train_timesteps // steps
    with torch.no_grad():
        for t in inv.timesteps:
            t_net = max(int(t) - stride, 0) if label == "source" else int(t)
            x = inv.step(unet(x, t_net).sample, t, x).prev_sample
        latent = x
        for t in smp.timesteps:
            x = smp.step(unet(x, t).sample, t, x).prev_sample
    return latent, x


@pytest.mark.parametrize("dtype", [F64, torch.float32])
@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction", "sample"])
@pytest.mark.parametrize("label", ["source", "destination"])
def test_ddim_inversion_and_sampling_equal_diffusers_schedulers(tmp_path, prediction, dtype, label):
    """Grid t = 0, 100, ..., 900 (10 steps, leading) with alpha_bar_0 as the end level on both sides: diffusers'
    first inverse step and last sampling step are identities there, ours has 9 steps on the 10 levels. Our DDIM
    (Euler) on x~ = x_t / sqrt(alpha_bar) equals their schedulers' states, for each prediction type, with the
    network told the level a step starts from (``source``, the studies' default) or the timestep given to step()
    (``destination``, diffusers' inversion pipelines)."""
    path = save_pipeline(tmp_path / "m", prediction)
    D = from_diffusers(path, dtype=dtype)
    steps = 10
    table = D.schedule.alphas_cumprod()
    inv, smp = _schedulers(path, steps, table if dtype == F64 else None)
    x0 = _images(dtype=dtype)
    lat_ref, out_ref = _theirs(D.net, x0, inv, smp, steps, label)
    sig = D.schedule.sigmas()[smp.timesteps.long()]          # descending sigma(900) .. sigma(0)
    s0, sT = float(sig[-1]), float(sig[0])
    tr = translate(D, x0 * math.sqrt(1 + s0 ** 2), Euler(time_label=label), sigmas=sig)   # the state at alpha_bar_0
    lat, out = tr.x_T / math.sqrt(1 + sT ** 2), tr.output / math.sqrt(1 + s0 ** 2)
    # float32: diffusers' float32 alpha_bar table against our float64 one, round-off amplified by the random net
    tol = dict(rtol=1e-9, atol=1e-9) if dtype == F64 else dict(rtol=2e-3, atol=2e-3)
    torch.testing.assert_close(lat, lat_ref.to(dtype), **tol)
    torch.testing.assert_close(out, out_ref.to(dtype), **tol)
    assert float((out - lat).abs().max()) > 1e-2  # the comparison is not between two unchanged inputs


@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction"])
def test_ddim_equals_the_diffusers_pipelines_convention(tmp_path, prediction):
    """diffusers' inversion pipelines call the network at the destination timestep and start from alpha_bar = 1:
    our Euler(time_label="destination") on the default grid (ending at sigma 0) gives the same states. (An x0-
    prediction model is undefined at alpha_bar = 1 in diffusers' step: its eps divides by sqrt(1 - alpha_bar).)"""
    path = save_pipeline(tmp_path / "m", prediction)
    D = from_diffusers(path, dtype=F64)
    steps = 10
    inv, smp = _schedulers(path, steps, D.schedule.alphas_cumprod(), alpha_one=True)
    x0 = _images(dtype=F64)
    lat_ref, out_ref = _theirs(D.net, x0, inv, smp, steps, "destination")
    tr = translate(D, x0, Euler(time_label="destination"), steps=steps)
    sT = float(default_sigmas(D, steps)[0])
    torch.testing.assert_close(tr.x_T / math.sqrt(1 + sT ** 2), lat_ref, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(tr.output, out_ref, rtol=1e-9, atol=1e-9)


# ------------------------------------------------------------------------- OVG and two models

@pytest.mark.parametrize("prediction", list(PREDICTIONS))
def test_ovg_runs_on_each_parameterization(tmp_path, prediction):
    D = from_diffusers(save_pipeline(tmp_path / "m", prediction))
    x = _images()
    base = translate(D, x, Euler(), steps=6)
    ovg = translate(D, x, Euler(), guidance=OVG(eta_hf=1e-11, eta_lf=1e-4), steps=6)
    assert bool(ovg.finite.all()) and torch.isfinite(ovg.output).all()
    assert not torch.allclose(ovg.x_T, base.x_T)  # the drift moved the latent
    assert ovg.nfe == base.nfe  # OVG shares the base step's forward


def test_two_models_translate_ddib_style_and_ovg_uses_the_inverting_model(tmp_path):
    Ds = from_diffusers(save_pipeline(tmp_path / "s", "epsilon", seed=0))
    Dt = from_diffusers(save_pipeline(tmp_path / "t", "v_prediction", seed=1))
    x = _images()
    one = translate(Ds, x, Euler(), steps=6)
    two = translate(Ds, x, Euler(), steps=6, D_sample=Dt)
    torch.testing.assert_close(two.x_T, one.x_T)            # the source model inverts ...
    assert not torch.allclose(two.output, one.output)       # ... the target model samples
    pair = translate(ModelPair(Ds, Dt), x, Euler(), steps=6)  # a pair brings its target as D_sample
    torch.testing.assert_close(pair.output, two.output)
    g = OVG(eta_hf=1e-11, eta_lf=1e-4)
    torch.testing.assert_close(translate(Ds, x, Euler(), guidance=g, steps=6, D_sample=Dt).x_T,
                               translate(Ds, x, Euler(), guidance=g, steps=6).x_T)  # drift of the inverting model


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_translates_with_two_unconditional_models(tmp_path, name):
    Ds = from_diffusers(save_pipeline(tmp_path / "s", seed=0))
    Dt = from_diffusers(save_pipeline(tmp_path / "t", seed=1))
    x = _images(1)
    with pytest.warns() if name == "null_class" else nullcontext():  # null_class at w = 1 says it is DDIM
        tr = translate(Ds, x, any_method(name, x.shape[1:]), steps=4, D_sample=Dt)
    assert tr.output.shape == x.shape and torch.isfinite(tr.output).all()


def test_one_unconditional_model_reconstructs(tmp_path):
    """Inversion then sampling with one unconditional model returns the input up to DDIM's discretisation error,
    which shrinks with the steps (a smooth random network: its output layer scaled by 0.02)."""
    from diffusers import DDPMPipeline, DDPMScheduler

    unet = tiny_unet()
    with torch.no_grad():
        unet.conv_out.weight.mul_(0.02)
        unet.conv_out.bias.mul_(0.02)
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler()).save_pretrained(tmp_path / "m")
    D = from_diffusers(tmp_path / "m", dtype=F64)
    x = _images(dtype=F64)
    err = [float((translate(D, x, Euler(), steps=n).output - x).pow(2).mean().sqrt()) for n in (10, 200)]
    assert err[1] < err[0] / 3 and err[1] < 0.06, err


# ----------------------------------------------------------------------------- other layouts

def _save_dit(path, out_channels=None, seed=0):
    from diffusers import DDPMScheduler, DiTTransformer2DModel

    torch.manual_seed(seed)
    net = DiTTransformer2DModel(num_attention_heads=2, attention_head_dim=8, in_channels=3,
                                out_channels=out_channels or 3, num_layers=1, sample_size=8, patch_size=2,
                                num_embeds_ada_norm=3)
    net.save_pretrained(path / "transformer")
    DDPMScheduler().save_pretrained(path / "scheduler")
    (path / "model_index.json").write_text(json.dumps({"_class_name": "DiTPipeline", "transformer":
                                                       ["diffusers", "DiTTransformer2DModel"],
                                                       "scheduler": ["diffusers", "DDPMScheduler"]}))
    return path


@pytest.mark.parametrize("learned_sigma", [False, True])
def test_dit_transformer_loads_and_translates(tmp_path, learned_sigma):
    D = from_diffusers(_save_dit(tmp_path / "dit", out_channels=6 if learned_sigma else None))
    assert D.origin["network"] == "DiTTransformer2DModel" and D.origin["conditional"]
    x = _images(size=8)
    assert D(x, 1.0, 0).eps.shape == x.shape  # a learned-variance output keeps its first half
    tr = translate(D, x, Euler(), guidance=OVG(eta_hf=1e-11, eta_lf=1e-4), steps=4)
    assert torch.isfinite(tr.output).all()


def test_vae_folder_gives_a_latent_space(tmp_path):
    from diffusers import AutoencoderKL

    save_pipeline(tmp_path / "ldm")
    from diffusers import DDPMScheduler, UNet2DModel  # noqa: F401  (rewrite unet for 4-channel 8 px latents)
    tiny_unet(channels=4, sample_size=8).save_pretrained(tmp_path / "ldm" / "unet")
    torch.manual_seed(0)
    AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16),
                  down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                  layers_per_block=1, norm_num_groups=4).save_pretrained(tmp_path / "ldm" / "vae")
    D = from_diffusers(tmp_path / "ldm")
    ls = D.latent_space
    assert ls is not None and D.origin["latent"] and D.origin["vae_sha256"]
    z = ls.encode(_images(size=16))
    assert z.shape == (2, 4, 8, 8)
    tr = translate(D, z, Euler(), steps=4)
    assert ls.decode(tr.output).shape == (2, 3, 16, 16)
    images = translate(D, _images(size=16), Euler(), steps=4, warn_norm=False)  # images in, images out
    assert images.output.shape == (2, 3, 16, 16) and images.latent.shape == (2, 4, 8, 8)
    torch.testing.assert_close(images.output, ls.decode(tr.output))  # the same as encoding and decoding by hand
    # the quality gate of a user's latent model starts its samples from the encoded training crops' Gaussian
    from spectral_collapse.data import load_dataset
    from spectral_collapse.framework.gate import user_report

    data = load_dataset("ihc-sr", size=16, factor=4)
    rep = user_report(D, data, name="ldm", n=4, steps=2)
    spec = rep.rows[rep.rows["check"] == "spectrum"]
    assert set(spec["label"]) == {1} and spec["value"].notna().all()


# ----------------------------------------------------------------------------------- errors

def _index(path, **components):
    (path / "model_index.json").write_text(json.dumps({"_class_name": "SomePipeline", **components}))


@pytest.mark.parametrize("case,match", [
    ("text", r"components text_encoder, tokenizer"),
    ("no_scheduler", r"no scheduler/scheduler_config\.json"),
    ("cosine_edm", r"CosineDPMSolverMultistepScheduler is neither a DDPM-type"),
    ("inverted_flow", r"invert_sigmas"),
    ("sigmoid", r"beta_schedule 'sigmoid'"),
    ("conditioned_unet", r"holds a UNet2DConditionModel, which cannot run without text embeddings"),
    ("vq", r"holds a VQModel, not an AutoencoderKL"),
])
def test_unsupported_models_raise_listing_what_is_supported(tmp_path, case, match):
    path = save_pipeline(tmp_path / "m")
    sched = path / "scheduler" / "scheduler_config.json"
    cfg = json.loads(sched.read_text())
    if case == "text":
        _index(path, unet=["diffusers", "UNet2DModel"], scheduler=["diffusers", "DDPMScheduler"],
               text_encoder=["transformers", "CLIPTextModel"], tokenizer=["transformers", "CLIPTokenizer"])
    elif case == "no_scheduler":
        sched.unlink()
    elif case == "cosine_edm":
        sched.write_text(json.dumps({"_class_name": "CosineDPMSolverMultistepScheduler", "sigma_min": 0.3}))
    elif case == "inverted_flow":
        sched.write_text(json.dumps({"_class_name": "FlowMatchEulerDiscreteScheduler", "invert_sigmas": True}))
    elif case == "sigmoid":
        sched.write_text(json.dumps({**cfg, "beta_schedule": "sigmoid"}))
    elif case == "conditioned_unet":
        unet_cfg = path / "unet" / "config.json"
        unet_cfg.write_text(json.dumps({**json.loads(unet_cfg.read_text()), "_class_name": "UNet2DConditionModel"}))
    elif case == "vq":
        (path / "vae").mkdir()
        (path / "vae" / "config.json").write_text(json.dumps({"_class_name": "VQModel"}))
    with pytest.raises(UnsupportedModelError, match=match) as err:
        from_diffusers(path)
    assert "Supported: a diffusers pipeline folder with unet/ (UNet2DModel" in str(err.value)


def test_unknown_prediction_type_and_missing_folder(tmp_path):
    with pytest.raises(UnsupportedModelError, match=r"prediction_type 'flow'.*Supported:"):
        schedule_from_config({"_class_name": "DDPMScheduler", "beta_schedule": "linear", "prediction_type": "flow"})
    with pytest.raises(FileNotFoundError, match=r"model folder .*nowhere does not exist"):
        from_diffusers(tmp_path / "nowhere")


def test_a_hub_id_offline_reads_only_the_local_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OSError, match=r"not in the local Hugging Face cache while downloads are off.*"
                                      r"huggingface-cli download someone/tiny-ddpm"):
        from_diffusers("someone/tiny-ddpm")


# ------------------------------------------------------------------------------ identities

def test_a_pair_is_keyed_by_both_models_and_old_schedules_keep_their_fields(tmp_path):
    from dataclasses import asdict

    from spectral_collapse.models.schedules import TabulatedVPSchedule, VPSchedule
    from spectral_collapse.pipeline.memo import fingerprint

    a, b, c = (from_diffusers(save_pipeline(tmp_path / n, seed=i)) for i, n in enumerate("abc"))
    keys = {fingerprint(ModelPair(a, b)), fingerprint(ModelPair(a, c)), fingerprint(a)}
    assert len(keys) == 3
    assert default_sigmas(ModelPair(a, b), 5).tolist() == default_sigmas(a, 5).tolist()
    # every stored checkpoint's config hash holds asdict(VPSchedule): its fields must not change
    assert list(asdict(VPSchedule())) == ["kind", "beta_start", "beta_end", "num_train_timesteps"]
    t = TabulatedVPSchedule(table=(0.1, 0.2))
    assert t.kind == "trained" and t.num_train_timesteps == 2
    torch.testing.assert_close(t.alphas_cumprod(), torch.tensor([0.9, 0.72], dtype=F64))
    with pytest.raises(ValueError, match=r"values in \(0, 1\)"):
        TabulatedVPSchedule(table=(0.1, 1.5))
