"""Stable Diffusion and SDXL folders through ``models.from_diffusers``: tiny random pipelines built with diffusers' and
transformers' own classes (a CLIP tokenizer written here, so nothing is downloaded), saved with save_pretrained and
loaded back with prompts in place of the labels.

- DDIM inversion then sampling through the suite equals diffusers' DDIMInverseScheduler + DDIMScheduler loop calling
  the U-Net with the pipeline's own prompt encodings (``encode_prompt``), for SD and SDXL, without and with
  classifier-free guidance (float64, to round-off);
- the null label is the pipeline's unconditional input ("" for SD, zeros for SDXL, or a given null_prompt), and
  cfg_scale != 1 is the guidance combination done by hand;
- SDXL's added conditions (pooled text embeddings, size and crop time ids) reach the U-Net;
- every inversion method, OVG with TABA and the studies' route run on the SD model, images in and images out
  through its VAE;
- a folder without prompts, and a machine without transformers, get errors that name the fix.
"""
from __future__ import annotations

import json
import math
import sys
import pytest
import torch

pytest.importorskip("transformers")

from conftest import any_method
from spectral_collapse.inversion import METHODS, OVG, TABA, Euler, get_method, translate  # noqa: E402
from spectral_collapse.inversion.loop import Context  # noqa: E402
from spectral_collapse.models import MissingPromptError, UnsupportedModelError, from_diffusers  # noqa: E402
from spectral_collapse.models.examples import (IMAGE_SIDE as SIDE, save_example, sd_scheduler,  # noqa: E402
                                               text_encoder, tiny_vae, write_tokenizer)

F64 = torch.float64
SRC, TGT = "a cat", "a dog"
PROMPTS = dict(source_prompt=SRC, target_prompt=TGT)


# ------------------------------------------------------------------------------------------ tiny pipelines

def save_sd(path, seed=0):
    return save_example("sd", path, seed)


def save_sdxl(path, seed=0):
    return save_example("sdxl", path, seed)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("sd")
    return {"sd": save_sd(root / "sd"), "sdxl": save_sdxl(root / "sdxl")}


def reference_pipeline(folder, kind):
    """diffusers' own pipeline of the folder, in float64 (its encode_prompt and _get_add_time_ids)."""
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    cls = StableDiffusionXLPipeline if kind == "sdxl" else StableDiffusionPipeline
    return cls.from_pretrained(folder, torch_dtype=F64)


def reference_conditions(pipe, kind, prompt, negative_prompt=None, sizes=((SIDE, SIDE), (0, 0), (SIDE, SIDE))):
    """(positive, negative) conditions as diffusers computes them: (encoder_hidden_states, added_cond_kwargs)."""
    if kind == "sd":
        pos, neg = pipe.encode_prompt(prompt, "cpu", 1, True, negative_prompt=negative_prompt)
        return (pos, None), (neg, None)
    pos, neg, pooled, neg_pooled = pipe.encode_prompt(prompt, device="cpu", num_images_per_prompt=1,
                                                      do_classifier_free_guidance=True,
                                                      negative_prompt=negative_prompt)
    ids = pipe._get_add_time_ids(*sizes, dtype=F64,
                                 text_encoder_projection_dim=pipe.text_encoder_2.config.projection_dim)
    return (pos, {"text_embeds": pooled, "time_ids": ids}), (neg, {"text_embeds": neg_pooled, "time_ids": ids})


def _call(unet, x, t, cond):
    """The U-Net on a batch x (B, ...) with one condition (1, ...) repeated over the batch."""
    states, added = cond
    B = x.shape[0]
    added = None if added is None else {k: v.expand(B, -1) for k, v in added.items()}
    return unet(x, t, encoder_hidden_states=states.expand(B, -1, -1), added_cond_kwargs=added).sample


def _guided(unet, x, t, cond, null, w):
    """Classifier-free guidance as diffusers' pipelines write it: one batch [null, cond], eps_u + w (eps_c - eps_u)."""
    if w == 1.0:
        return _call(unet, x, t, cond)
    B = x.shape[0]
    states = torch.cat([null[0].expand(B, -1, -1), cond[0].expand(B, -1, -1)])
    added = None if cond[1] is None else {k: torch.cat([null[1][k].expand(B, -1), cond[1][k].expand(B, -1)])
                                          for k in cond[1]}
    eps_u, eps_c = unet(torch.cat([x, x]), t, encoder_hidden_states=states, added_cond_kwargs=added).sample.chunk(2)
    return eps_u + w * (eps_c - eps_u)


def _latents(n=2, dtype=F64, seed=1):
    return torch.randn(n, 4, 8, 8, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _images(n=2, seed=1):
    return torch.rand(n, 3, SIDE, SIDE, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# ----------------------------------------------------------------------------------- loading and the null label

@pytest.mark.parametrize("kind", ["sd", "sdxl"])
def test_prompts_become_the_labels_as_the_pipeline_encodes_them(folders, kind):
    D = from_diffusers(folders[kind], **PROMPTS, dtype=F64)
    pipe = reference_pipeline(folders[kind], kind)
    (src, null), (tgt, _) = reference_conditions(pipe, kind, SRC), reference_conditions(pipe, kind, TGT)
    assert D.origin["network"] == "UNet2DConditionModel" and D.origin["conditional"] and D.origin["latent"]
    assert D.origin["prompts"]["source"] == SRC and D.origin["sdxl"] == (kind == "sdxl")
    x = _latents()
    t = D.schedule.sigma_to_t(torch.tensor(3.0, dtype=F64))
    a = 1 / math.sqrt(1 + 3.0 ** 2)
    for label, cond in ((0, src), (1, tgt), (2, null)):
        ours = D(x, 3.0, label).eps
        with torch.no_grad():
            theirs = _call(pipe.unet, x * a, t.expand(2), cond)
        torch.testing.assert_close(ours, theirs, rtol=1e-10, atol=1e-10)
    assert not torch.allclose(D(x, 3.0, 0).eps, D(x, 3.0, 1).eps)  # the prompts differ, so do the predictions
    if kind == "sdxl":  # the SDXL pipeline zeroes its unconditional input unless given a negative prompt
        assert D.origin["null"] == "zeros" and float(null[0].abs().max()) == 0.0


@pytest.mark.parametrize("kind", ["sd", "sdxl"])
def test_a_given_null_prompt_is_the_pipelines_negative_prompt(folders, kind):
    D = from_diffusers(folders[kind], **PROMPTS, null_prompt="a blurry dog", dtype=F64)
    pipe = reference_pipeline(folders[kind], kind)
    _, neg = reference_conditions(pipe, kind, SRC, negative_prompt="a blurry dog")
    default = from_diffusers(folders[kind], **PROMPTS, dtype=F64)
    x = _latents()
    t = D.schedule.sigma_to_t(torch.tensor(0.5, dtype=F64))
    with torch.no_grad():
        theirs = _call(pipe.unet, x / math.sqrt(1 + 0.25), t.expand(2), neg)
    torch.testing.assert_close(D(x, 0.5, 2).eps, theirs, rtol=1e-10, atol=1e-10)
    assert not torch.allclose(D(x, 0.5, 2).eps, default(x, 0.5, 2).eps)
    assert D.origin["sha256"] != default.origin["sha256"]                    # another model for the caches
    assert D.origin["folder_sha256"] == default.origin["folder_sha256"]      # of the same files


@pytest.mark.parametrize("kind", ["sd", "sdxl"])
def test_cfg_scale_is_the_guidance_combination_done_by_hand(folders, kind):
    D = from_diffusers(folders[kind], **PROMPTS, dtype=F64)
    x, sigma, w = _latents(), 2.0, 4.5
    for label in (0, 1):
        ctx = Context(label=torch.full((2,), label), direction="sample", seeds=[0, 1], cfg_scale=w)
        guided = ctx.denoise(D, x, sigma)
        cond, null = D(x, sigma, label), D(x, sigma, 2)
        torch.testing.assert_close(guided.eps, null.eps + w * (cond.eps - null.eps), rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(guided.x0, null.x0 + w * (cond.x0 - null.x0), rtol=1e-10, atol=1e-10)
        assert ctx.nfe == 2 and not torch.allclose(guided.eps, cond.eps)


# ----------------------------------------------------------------------------- DDIM against diffusers' loop

def _schedulers(folder, steps, table):
    """diffusers' DDIMInverseScheduler and DDIMScheduler of the folder with our float64 alpha_bar table (x0 never
    clipped, leading spacing, offset 0, alpha_bar_0 as the end level)."""
    from diffusers import DDIMInverseScheduler, DDIMScheduler

    kw = dict(subfolder="scheduler", clip_sample=False, set_alpha_to_one=False, steps_offset=0,
              timestep_spacing="leading")
    inv, smp = DDIMInverseScheduler.from_pretrained(folder, **kw), DDIMScheduler.from_pretrained(folder, **kw)
    inv.alphas_cumprod, smp.alphas_cumprod = table, table
    inv.initial_alpha_cumprod, smp.final_alpha_cumprod = table[0], table[0]
    inv.set_timesteps(steps)
    smp.set_timesteps(steps)
    return inv, smp


@pytest.mark.parametrize("cfg", [1.0, 3.0])
@pytest.mark.parametrize("kind", ["sd", "sdxl"])
def test_ddim_inversion_and_sampling_equal_diffusers_loop(folders, kind, cfg):
    """Invert with the source prompt, sample with the target prompt, guided at w = cfg by the null condition: our
    Euler steps on x~ = x_t / sqrt(alpha_bar) (network at the source level) equal diffusers' schedulers stepping on
    the U-Net called with the pipeline's encodings, on the grid t = 0, 100, ..., 900."""
    folder = folders[kind]
    D = from_diffusers(folder, **PROMPTS, dtype=F64)
    pipe = reference_pipeline(folder, kind)
    (src, null), (tgt, _) = reference_conditions(pipe, kind, SRC), reference_conditions(pipe, kind, TGT)
    steps = 10
    inv, smp = _schedulers(folder, steps, D.schedule.alphas_cumprod())
    z = _latents()
    stride = inv.config.num_train_timesteps // steps
    x = z
    with torch.no_grad():
        for t in inv.timesteps:
            x = inv.step(_guided(pipe.unet, x, max(int(t) - stride, 0), src, null, cfg), t, x).prev_sample
        lat_ref = x
        for t in smp.timesteps:
            x = smp.step(_guided(pipe.unet, x, t, tgt, null, cfg), t, x).prev_sample
    out_ref = x
    sig = D.schedule.sigmas()[smp.timesteps.long()]
    s0, sT = float(sig[-1]), float(sig[0])
    tr = translate(D, z * math.sqrt(1 + s0 ** 2), Euler(), sigmas=sig, cfg_scale=cfg, warn_norm=False)
    torch.testing.assert_close(tr.x_T / math.sqrt(1 + sT ** 2), lat_ref, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(tr.output / math.sqrt(1 + s0 ** 2), out_ref, rtol=1e-9, atol=1e-9)
    assert float((out_ref - z).abs().max()) > 1e-2 and tr.nfe == 2 * (len(sig) - 1) * (1 if cfg == 1 else 2)


# ---------------------------------------------------------------------------------------------- SDXL's added conditions

def test_sdxl_added_conditions_reach_the_unet(folders):
    folder = folders["sdxl"]
    micro = dict(original_size=(32, 24), crops_coords_top_left=(4, 2), target_size=(16, 16))
    D = from_diffusers(folder, **PROMPTS, dtype=F64)
    M = from_diffusers(folder, **PROMPTS, micro_conditioning=micro, dtype=F64)
    pipe = reference_pipeline(folder, "sdxl")
    sizes = (micro["original_size"], micro["crops_coords_top_left"], micro["target_size"])
    src, _ = reference_conditions(pipe, "sdxl", SRC, sizes=sizes)
    assert M.origin["time_ids"][0] == src[1]["time_ids"][0].tolist() == [32, 24, 4, 2, 16, 16]
    assert D.origin["time_ids"][0] == [SIDE, SIDE, 0, 0, SIDE, SIDE]
    x = _latents()
    t = D.schedule.sigma_to_t(torch.tensor(1.0, dtype=F64)).expand(2)
    with torch.no_grad():
        theirs = _call(pipe.unet, x / math.sqrt(2), t, src)
    torch.testing.assert_close(M(x, 1.0, 0).eps, theirs, rtol=1e-10, atol=1e-10)
    assert float((M(x, 1.0, 0).eps - D(x, 1.0, 0).eps).abs().max()) > 1e-6      # the size / crop ids matter
    # and the pooled text embeddings do: the same token states with the pooled row of the other prompt
    net = D.net
    n = net.tokens * net.width
    with torch.no_grad():
        swapped = net.class_embedding.weight.clone()
        swapped[0, n:] = swapped[1, n:]
        keep = net.class_embedding.weight.clone()
        net.class_embedding.weight.copy_(swapped)
        changed = D(x, 1.0, 0).eps
        net.class_embedding.weight.copy_(keep)
    assert float((changed - D(x, 1.0, 0).eps).abs().max()) > 1e-6
    with pytest.raises(ValueError, match=r"micro_conditioning keys \['size'\] are unknown"):
        from_diffusers(folder, **PROMPTS, micro_conditioning={"size": (8, 8)})
    with pytest.raises(ValueError, match=r"does not apply to a Stable Diffusion folder"):
        from_diffusers(folders["sd"], **PROMPTS, micro_conditioning=micro)


def test_an_sdxl_refiner_gets_aesthetic_scores_in_its_time_ids(tmp_path):
    """A refiner folder (text_encoder_2 only, requires_aesthetics_score): the time ids are size + crop + score, with
    the negative score on the null label, as the img2img pipeline's _get_add_time_ids builds them."""
    from diffusers import StableDiffusionXLImg2ImgPipeline, UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
                                block_out_channels=(32, 64), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32,
                                norm_num_groups=8, attention_head_dim=8, addition_embed_type="text_time",
                                addition_time_embed_dim=8, projection_class_embeddings_input_dim=32 + 5 * 8)
    StableDiffusionXLImg2ImgPipeline(vae=tiny_vae(), text_encoder=None, text_encoder_2=text_encoder(3, True),
                                     tokenizer=None, tokenizer_2=write_tokenizer(tmp_path / "_tok"), unet=unet.eval(),
                                     scheduler=sd_scheduler(), requires_aesthetics_score=True
                                     ).save_pretrained(tmp_path / "refiner")
    D = from_diffusers(tmp_path / "refiner", **PROMPTS, null_prompt="", micro_conditioning={"aesthetic_score": 7.0},
                       dtype=F64)
    pipe = StableDiffusionXLImg2ImgPipeline.from_pretrained(tmp_path / "refiner", torch_dtype=F64)
    pos, neg, pooled, neg_pooled = pipe.encode_prompt(SRC, device="cpu", num_images_per_prompt=1,
                                                      do_classifier_free_guidance=True, negative_prompt="")
    side, crop = (SIDE, SIDE), (0, 0)
    ids, neg_ids = pipe._get_add_time_ids(side, crop, side, 7.0, 2.5, side, crop, side, dtype=F64,
                                          text_encoder_projection_dim=32)
    assert D.origin["time_ids"] == [ids[0].tolist(), ids[0].tolist(), neg_ids[0].tolist()]
    assert D.origin["time_ids"][2][-1] == 2.5 and D.origin["time_ids"][0][-1] == 7.0
    x = _latents()
    t = D.schedule.sigma_to_t(torch.tensor(1.0, dtype=F64)).expand(2)
    with torch.no_grad():
        cond = _call(pipe.unet, x / math.sqrt(2), t, (pos, {"text_embeds": pooled, "time_ids": ids}))
        null = _call(pipe.unet, x / math.sqrt(2), t, (neg, {"text_embeds": neg_pooled, "time_ids": neg_ids}))
    torch.testing.assert_close(D(x, 1.0, 0).eps, cond, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(D(x, 1.0, 2).eps, null, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------------------------ methods, OVG and the VAE

@pytest.fixture(scope="module")
def sd_model(folders):
    return from_diffusers(folders["sd"], **PROMPTS)


def test_ovg_and_taba_translate_images_through_the_vae(sd_model):
    D, x = sd_model, _images()
    ls = D.latent_space
    base = translate(D, x, TABA(), steps=6, warn_norm=False)
    g = OVG(eta_hf=1e-9, eta_lf=1e-3)
    ovg = translate(D, x, TABA(), guidance=g, steps=6, warn_norm=False)
    for tr in (base, ovg):
        assert tr.output.shape == x.shape and tr.latent.shape == tr.x_T.shape == (2, 4, 8, 8)
        assert bool(tr.finite.all()) and torch.isfinite(tr.output).all() and torch.isfinite(tr.latent).all()
    assert not torch.allclose(ovg.x_T, base.x_T)                      # the drift moved the latent
    assert ovg.nfe == base.nfe                                        # and shared the base step's forward
    by_hand = translate(D, ls.encode(x), TABA(), guidance=g, steps=6, warn_norm=False)
    torch.testing.assert_close(ovg.output, ls.decode(by_hand.output))  # images in: encoded first, decoded after
    guided = translate(D, x, TABA(), guidance=g, steps=6, cfg_scale=3.0, warn_norm=False)
    assert torch.isfinite(guided.output).all() and not torch.allclose(guided.output, ovg.output)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_runs_on_the_sd_model(sd_model, name):
    """Null-Class at w = 2 optimises the null row of the prompt table (null-text inversion) for each sample."""
    D, x = sd_model, _images(1)
    cfg = 2.0 if name == "null_class" else 1.0
    tr = translate(D, x, any_method(name, (4, 8, 8)), steps=3, cfg_scale=cfg, warn_norm=False)
    assert tr.output.shape == x.shape and torch.isfinite(tr.output).all()
    assert tr.latent.shape[-3:] == (4, 8, 8) and torch.isfinite(tr.latent).all()
    if name == "null_class":
        embs = tr.inversion.handoff["null_embeddings"]
        assert len(embs) == 3 and embs[0].shape == (1, D.net.class_embedding.weight.shape[1])
        assert not torch.allclose(embs[-1][0], D.net.class_embedding.weight[2])  # the null prompt was optimised


# ----------------------------------------------------------------------------------------------- studies

@pytest.mark.slow  # whole studies on a Stable Diffusion pipeline folder
def test_studies_take_the_prompts_from_data_options(folders, tmp_path, monkeypatch):
    from spectral_collapse.pipeline.runner import run_study
    from spectral_collapse.framework import model_set as models_mod
    from spectral_collapse.framework import user_models as user_mod
    from spectral_collapse.studies.registry import study_spec

    monkeypatch.setattr(models_mod, "CHECKPOINT_ROOT", str(tmp_path / "ckpt"))
    folder = str(folders["sd"])
    opts = json.dumps(PROMPTS)
    spec = study_spec("main_results", dataset="ihc-sr", profile="smoke", model=folder, data_options=opts)
    assert models_mod.data_options(spec) == {} and models_mod.prompt_options(spec) == PROMPTS
    given = user_mod.user_models(spec)
    assert given.image_size == SIDE and given.info["model"]["prompts"]["target"] == TGT
    assert user_mod.spec_data(spec).source.shape[-1] == SIDE
    ds = run_study("main_results", dataset="ihc-sr", profile="smoke", model=folder, data_options=opts, seeds=[0],
                   methods=["ddim", "ovg"], results_root=tmp_path / "r", allow_weak_model=True)
    used = json.loads(ds.attrs["user_models"])["model"]
    assert used["prompts"]["source"] == SRC and used["network"] == "UNet2DConditionModel"
    assert set(ds["method"].values) == {"ddim", "ovg"} and not (tmp_path / "ckpt").exists()
    with pytest.raises(MissingPromptError, match=r"data_options '\{\"source_prompt\": .*\"target_prompt\""):
        user_mod.user_models(study_spec("main_results", dataset="ihc-sr", profile="smoke", model=folder,
                                          data_options=json.dumps({"source_prompt": SRC})))
    with pytest.raises(ValueError, match=r"prompts of a text-conditioned model .* give that model with model="):
        models_mod.data_options(study_spec("main_results", dataset="ihc-sr", profile="smoke", data_options=opts))


# ----------------------------------------------------------------------------------------------- errors

def test_a_folder_without_prompts_says_which_to_pass(folders):
    with pytest.raises(MissingPromptError, match=r"source_prompt=.*target_prompt=.*data_options") as err:
        from_diffusers(folders["sd"])
    assert isinstance(err.value, ValueError)
    with pytest.raises(MissingPromptError, match=r"text-conditioned model"):
        from_diffusers(folders["sdxl"], source_prompt=SRC)
    with pytest.raises(ValueError, match=r"labels=.* applies to class-conditional networks"):
        from_diffusers(folders["sd"], **PROMPTS, labels=(0, 1, 2))


def test_prompts_for_a_model_without_text_encoders_are_refused(tmp_path):
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=8, in_channels=3, out_channels=3, layers_per_block=1, block_out_channels=(8, 16),
                       down_block_types=("DownBlock2D",) * 2, up_block_types=("UpBlock2D",) * 2, norm_num_groups=4)
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler()).save_pretrained(tmp_path / "m")
    with pytest.raises(ValueError, match=r"source_prompt, target_prompt apply to text-conditioned models"):
        from_diffusers(tmp_path / "m", **PROMPTS)


def test_without_transformers_the_error_says_how_to_install_it(folders, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)  # `import transformers` raises ImportError
    with pytest.raises(ImportError, match=r"needs? the transformers package.*pip install transformers"):
        from_diffusers(folders["sd"], **PROMPTS)


def test_unsupported_text_conditioned_folders_say_why(folders, tmp_path):
    import shutil

    bad = tmp_path / "inpaint"
    shutil.copytree(folders["sd"], bad)
    cfg = json.loads((bad / "unet" / "config.json").read_text())
    (bad / "unet" / "config.json").write_text(json.dumps({**cfg, "in_channels": 9}))
    with pytest.raises(UnsupportedModelError, match=r"maps 9 input channels .* inpainting"):
        from_diffusers(bad, **PROMPTS)
    t5 = tmp_path / "t5"
    shutil.copytree(folders["sd"], t5)
    index = json.loads((t5 / "model_index.json").read_text())
    (t5 / "model_index.json").write_text(json.dumps({**index, "text_encoder": ["transformers", "T5EncoderModel"]}))
    with pytest.raises(UnsupportedModelError, match=r"holds a T5EncoderModel; the supported text encoders are CLIP"):
        from_diffusers(t5, **PROMPTS)


@pytest.mark.parametrize("config,match", [
    ({"addition_embed_type": "text"}, r"addition_embed_type 'text'; Stable Diffusion has none and SDXL 'text_time'"),
    ({"num_class_embeds": 10}, r"has a class embedding .*the suite runs text-to-image U-Nets"),
    ({"encoder_hid_dim_type": "text_proj"}, r"projects its conditioning \(encoder_hid_dim_type 'text_proj'\)"),
])
def test_unet_variants_that_are_not_text_to_image_are_refused_from_the_config(tmp_path, config, match):
    """Upscalers, image-variation and projected-conditioning U-Nets are refused before any encoder is loaded."""
    from spectral_collapse.models.sd import _family

    with pytest.raises(UnsupportedModelError, match=match):
        _family(tmp_path, "UNet2DConditionModel", {"in_channels": 4, **config})
    assert _family(tmp_path, "UNet2DConditionModel", {"in_channels": 4, "addition_embed_type": "text_time"}) == "sdxl"
