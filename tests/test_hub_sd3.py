"""Stable Diffusion 3 folders through ``models.from_diffusers``: tiny random pipelines built with diffusers' and
transformers' own classes (CLIP and T5 tokenizers written here, so nothing is downloaded), saved with save_pretrained
and loaded back with prompts in place of the labels.

- the prompts become the labels as the pipeline's ``encode_prompt`` encodes them (CLIP + T5, or zeros for the T5
  tokens without text_encoder_3), the null label is the encoded empty prompt or a given null_prompt;
- Euler inversion then sampling through the suite, on the scheduler's shifted grid, equals diffusers'
  FlowMatchEulerDiscreteScheduler stepping down (sampling) and the same Euler steps run up (inversion) with the
  transformer called on the pipeline's embeddings, at cfg 1 and 3: to float64 round-off against the scheduler's
  update x_t' = x_t + (t' - t) v in float64, and to float32 rounding against ``scheduler.step`` itself (it rounds
  the state to float32 each step);
- the VAE's shift_factor: latents are (z - shift) * scale, as the pipeline decodes them;
- missing prompts and folders that cannot map get errors that say why.
"""
from __future__ import annotations

import json
import shutil

import pytest
import torch

pytest.importorskip("transformers")

from spectral_collapse.inversion import OVG, TABA, Euler, default_sigmas, translate  # noqa: E402
from spectral_collapse.models import MissingPromptError, UnsupportedModelError, from_diffusers  # noqa: E402
from spectral_collapse.models.examples import IMAGE_SIDE as SIDE, save_example  # noqa: E402

F64 = torch.float64
SRC, TGT = "a cat", "a dog"
PROMPTS = dict(source_prompt=SRC, target_prompt=TGT)
N = 1000                                 # num_train_timesteps: the transformer's time input is N t
RESULTS = {}                             # largest differences measured, printed with -s


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """The example SD3 folder (CLIP x 2 + T5, shift 3, VAE shift 0.1) and the same without text_encoder_3."""
    root = tmp_path_factory.mktemp("sd3")
    full = save_example("sd3", root / "sd3")
    from diffusers import StableDiffusion3Pipeline

    bare = root / "no_t5"                      # what the pipeline saves when given text_encoder_3=None
    StableDiffusion3Pipeline.from_pretrained(full, text_encoder_3=None, tokenizer_3=None).save_pretrained(bare)
    return {"t5": full, "no_t5": bare}


def reference(folder):
    """diffusers' own pipeline of the folder, in float64 (told that a folder without text_encoder_3/ has none)."""
    from diffusers import StableDiffusion3Pipeline

    none = {} if (folder / "text_encoder_3").is_dir() else dict(text_encoder_3=None, tokenizer_3=None)
    return StableDiffusion3Pipeline.from_pretrained(folder, torch_dtype=F64, **none)


def conditions(pipe, prompt, negative_prompt=None):
    """((states, pooled) of the prompt, (states, pooled) of the negative prompt) as the pipeline encodes them."""
    with torch.no_grad():
        pos, neg, pooled, neg_pooled = pipe.encode_prompt(prompt, None, None, device="cpu", num_images_per_prompt=1,
                                                          do_classifier_free_guidance=True,
                                                          negative_prompt=negative_prompt)
    return (pos, pooled), (neg, neg_pooled)


def velocity(pipe, x, t, cond, null=None, w=1.0):
    """The transformer's velocity at time t (in [0, 1]) on a batch, guided as the pipeline guides:
    v_u + w (v_c - v_u) from one batch [null, cond]."""
    B = x.shape[0]
    pairs = [cond] if w == 1.0 else [null, cond]
    states = torch.cat([s.expand(B, -1, -1) for s, _ in pairs])
    pooled = torch.cat([p.expand(B, -1) for _, p in pairs])
    timestep = torch.as_tensor(N * t, dtype=F64).expand(states.shape[0])
    with torch.no_grad():
        v = pipe.transformer(hidden_states=torch.cat([x] * len(pairs)), timestep=timestep,
                             encoder_hidden_states=states, pooled_projections=pooled, return_dict=False)[0]
    if w == 1.0:
        return v
    v_u, v_c = v.chunk(2)
    return v_u + w * (v_c - v_u)


def _latents(n=2, seed=1):
    return torch.randn(n, 4, 8, 8, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _images(n=2, seed=1):
    return torch.rand(n, 3, SIDE, SIDE, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _record(name, value):
    RESULTS[name] = max(RESULTS.get(name, 0.0), float(value))
    print(f"{name}: {RESULTS[name]:.3g}")


# ----------------------------------------------------------------------------------- loading and the labels

@pytest.mark.parametrize("kind", ["t5", "no_t5"])
def test_prompts_become_the_labels_as_the_pipeline_encodes_them(folders, kind):
    D = from_diffusers(folders[kind], **PROMPTS, dtype=F64)
    pipe = reference(folders[kind])
    (src, null), (tgt, _) = conditions(pipe, SRC), conditions(pipe, TGT)
    o = D.origin
    assert (o["network"], o["parameterization"], o["conditional"], o["latent"]) == (
        "SD3Transformer2DModel", "flow", True, True)
    assert o["t5"] == ("encoded" if kind == "t5" else "zeros") and o["prompts"]["source"] == SRC
    assert o["schedule"]["shift"] == 3.0 and o["text_tokens"] == src[0].shape[1] == 16 + 256
    if kind == "no_t5":
        assert float(src[0][:, 16:].abs().max()) == 0.0              # the pipeline's zeros for the T5 tokens
    x, sigma = _latents(), 3.0
    t = sigma / (1 + sigma)
    for label, cond in ((0, src), (1, tgt), (2, null)):
        pred = D(x, sigma, label)
        v = velocity(pipe, x * (1 - t), t, cond)
        err = max(float((pred.x0 - (x * (1 - t) - t * v)).abs().max()),
                  float((pred.eps - (x * (1 - t) + (1 - t) * v)).abs().max()))
        _record(f"labels ({kind}): |D - pipeline| on x0 and eps", err)
        assert err < 1e-10
    assert not torch.allclose(D(x, sigma, 0).x0, D(x, sigma, 1).x0)   # the prompts differ, so do the predictions


def test_a_given_null_prompt_is_the_pipelines_negative_prompt(folders):
    D = from_diffusers(folders["t5"], **PROMPTS, null_prompt="a blurry dog", dtype=F64)
    default = from_diffusers(folders["t5"], **PROMPTS, dtype=F64)
    _, neg = conditions(reference(folders["t5"]), SRC, negative_prompt="a blurry dog")
    x, t = _latents(), 0.25
    v = velocity(reference(folders["t5"]), x * (1 - t), t, neg)
    torch.testing.assert_close(D(x, t / (1 - t), 2).x0, x * (1 - t) - t * v, rtol=1e-10, atol=1e-10)
    assert not torch.allclose(D(x, 1 / 3, 2).x0, default(x, 1 / 3, 2).x0)
    assert D.origin["sha256"] != default.origin["sha256"]                     # another model for the caches
    assert D.origin["folder_sha256"] == default.origin["folder_sha256"]       # of the same files


# ----------------------------------------------------------------------------- Euler against diffusers' loop

def diffusers_loop(folder, x, times, v):
    """FlowMatchEulerDiscreteScheduler.step over ``times`` (down: sampling, up: inversion) with the velocity v(x, t),
    and the same update in float64 (x_t' = x_t + (t' - t) v on the scheduler's own tables); returns (step's state,
    float64 state)."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    sch = FlowMatchEulerDiscreteScheduler.from_pretrained(folder, subfolder="scheduler")
    sch.set_timesteps(len(times) - 1, **({"mu": 0.0} if sch.config.use_dynamic_shifting else {}))
    sch.sigmas = torch.as_tensor(times, dtype=F64)                # t, with the end level
    sch.timesteps = N * sch.sigmas[:-1]
    exact = x
    for i, ts in enumerate(sch.timesteps):
        t = float(sch.sigmas[i])
        x = sch.step(v(x, t), ts, x).prev_sample
        exact = exact + (sch.sigmas[i + 1] - sch.sigmas[i]) * v(exact, t)
    return x, exact


@pytest.mark.parametrize("cfg", [1.0, 3.0])
@pytest.mark.parametrize("kind", ["t5", "no_t5"])
def test_inversion_and_sampling_equal_diffusers_loop(folders, kind, cfg):
    """Invert with the source prompt, sample with the target prompt, guided at w = cfg by the empty prompt, on the
    model's default grid: the scheduler's times shifted by 3 (t_top = shift(1 - 1/N) in place of t = 1)."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    folder = folders[kind]
    D = from_diffusers(folder, **PROMPTS, dtype=F64)
    pipe = reference(folder)
    (src, null), (tgt, _) = conditions(pipe, SRC), conditions(pipe, TGT)
    steps = 6
    sig = default_sigmas(D, steps)
    times = sig / (1 + sig)                                       # descending, ending at 0
    own = FlowMatchEulerDiscreteScheduler.from_pretrained(folder, subfolder="scheduler")
    own.set_timesteps(steps)
    torch.testing.assert_close(times[1:], own.sigmas.double()[1:], rtol=0, atol=2e-7)   # its float32 table
    assert abs(float(times[0]) - 3 * 0.999 / (1 + 2 * 0.999)) < 1e-12

    z = _latents()
    check_translation(D, folder, z, sig, cfg, lambda x, t: velocity(pipe, x, t, src, null, cfg),
                      lambda x, t: velocity(pipe, x, t, tgt, null, cfg), f"loop ({kind}, cfg {cfg})")


def check_translation(D, folder, z, sig, cfg, v_src, v_tgt, name):
    """The suite's Euler translation of latents z on the grid sig (inversion with v_src, sampling with v_tgt) equals
    diffusers' loop: to round-off in float64, to the float32 rounding of scheduler.step's state."""
    times = sig / (1 + sig)
    lat_step, lat_exact = diffusers_loop(folder, z, times.flip(0), v_src)
    out_exact = diffusers_loop(folder, lat_exact, times, v_tgt)[1]
    tr = translate(D, z, Euler(), sigmas=sig, cfg_scale=cfg, warn_norm=False)
    lat = tr.x_T * (1 - times[0])                                 # model space x_t at t_top
    exact = max(float((lat - lat_exact).abs().max()), float((tr.output - out_exact).abs().max()))
    _record(f"{name}: |suite - diffusers' update in float64|", exact)
    assert exact < 1e-10
    out_from_step = diffusers_loop(folder, lat_step, times, v_tgt)[0]
    rounded = max(float((lat - lat_step).abs().max()), float((tr.output - out_from_step).abs().max()))
    _record(f"{name}: |suite - scheduler.step (float32 state)|", rounded)
    assert rounded < 1e-5
    steps = len(sig) - 1
    assert float((tr.output - z).abs().max()) > 1e-2 and tr.nfe == 2 * steps * (1 if cfg == 1 else 2)


# -------------------------------------------------------------------------------------------- the VAE's shift

def test_latents_carry_the_vaes_shift_factor_and_images_go_through_it(folders):
    """encode: (posterior mean - shift) * scale; decode: the VAE on latents / scale + shift (the pipeline's)."""
    D = from_diffusers(folders["t5"], **PROMPTS)
    ls = D.latent_space
    vae = reference(folders["t5"]).vae.float()
    assert (ls.scaling_factor, ls.shift_factor) == (1.5, 0.1) and ls.describe()["shift_factor"] == 0.1
    x = _images()
    with torch.no_grad():
        mean = vae.encode(x).latent_dist.mean
        z = (mean - 0.1) * 1.5
        image = vae.decode(z / 1.5 + 0.1).sample
    enc_err, dec_err = float((ls.encode(x) - z).abs().max()), float((ls.decode(z) - image).abs().max())
    _record("vae: |LatentSpace - diffusers| (encode, decode)", max(enc_err, dec_err))
    assert enc_err < 1e-6 and dec_err < 1e-6
    assert float((ls.encode(x) - mean * 1.5).abs().max()) > 0.1      # the shift is not dropped
    tr = translate(D, x, TABA(), guidance=OVG(eta_hf=1e-9, eta_lf=1e-3), steps=4, warn_norm=False)
    by_hand = translate(D, ls.encode(x), TABA(), guidance=OVG(eta_hf=1e-9, eta_lf=1e-3), steps=4, warn_norm=False)
    assert tr.output.shape == x.shape and tr.latent.shape == (2, 4, 8, 8) and torch.isfinite(tr.output).all()
    torch.testing.assert_close(tr.output, ls.decode(by_hand.output))


# ----------------------------------------------------------------------------------------------- errors

def test_a_folder_without_prompts_says_which_to_pass(folders):
    with pytest.raises(MissingPromptError, match=r"source_prompt=.*target_prompt="):
        from_diffusers(folders["t5"])
    with pytest.raises(MissingPromptError, match=r"text-conditioned model.*source_prompt.*target_prompt"):
        from_diffusers(folders["no_t5"], target_prompt=TGT)
    with pytest.raises(ValueError, match=r"micro_conditioning original_size does not apply to an SD3 folder"):
        from_diffusers(folders["t5"], **PROMPTS, micro_conditioning={"original_size": (8, 8)})
    with pytest.raises(ValueError, match=r"labels=.* applies to class-conditional networks"):
        from_diffusers(folders["t5"], **PROMPTS, labels=(0, 1, 2))


def _edit(src, dst, part, **changes):
    shutil.copytree(src, dst)
    path = dst / part
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return dst


def test_sd3_folders_that_cannot_map_say_why(folders, tmp_path):
    full = folders["t5"]
    ddpm = tmp_path / "ddpm"
    shutil.copytree(full, ddpm)
    from diffusers import DDPMScheduler

    shutil.rmtree(ddpm / "scheduler")
    DDPMScheduler().save_pretrained(ddpm / "scheduler")
    with pytest.raises(UnsupportedModelError, match=r"SD3Transformer2DModel, a velocity network, but scheduler/ has "
                                                    r"a DDPMScheduler; it needs a flow-matching scheduler"):
        from_diffusers(ddpm, **PROMPTS)
    other = _edit(full, tmp_path / "t5_other", "model_index.json", text_encoder_3=["transformers", "CLIPTextModel"])
    with pytest.raises(UnsupportedModelError, match=r"holds a CLIPTextModel; the supported text encoders are T5's"):
        from_diffusers(other, **PROMPTS)
    wide = _edit(full, tmp_path / "wide", "transformer/config.json", pooled_projection_dim=48)
    with pytest.raises(UnsupportedModelError, match=r"pooled embeddings of width 48, but the text encoders "
                                                    r"\(text_encoder, text_encoder_2, text_encoder_3\) give 64 and 64"):
        from_diffusers(wide, **PROMPTS)
    one = tmp_path / "one_clip"
    shutil.copytree(full, one)
    shutil.rmtree(one / "text_encoder_2")
    with pytest.raises(UnsupportedModelError,
                       match=r"no text_encoder_2/ or tokenizer_2/; an SD3 folder needs text_encoder/"):
        from_diffusers(one, **PROMPTS)
    bare = tmp_path / "bare"                                       # the transformer without its text encoders
    for part in ("transformer", "scheduler"):
        shutil.copytree(full / part, bare / part)
    with pytest.raises(UnsupportedModelError, match=r"SD3Transformer2DModel, which cannot run without text "
                                                    r"embeddings: .*pooled_projections"):
        from_diffusers(bare)
