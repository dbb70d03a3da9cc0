"""Flux folders through ``models.from_diffusers``: tiny random FluxPipelines built with diffusers' and transformers'
own classes (CLIP and T5 tokenizers written here, nothing downloaded), saved and loaded back with prompts as labels.

- the prompts become the labels as the pipeline encodes them (T5 states, CLIP pooled output, text ids 0), the
  latents are packed 2 x 2 with the pipeline's image ids, and a guidance-distilled model gets its guidance scale;
- the dynamic shift is the pipeline's calculate_shift (for its default 1024-px image, or the one given as shift=);
- Euler inversion then sampling through the suite equals diffusers' FlowMatchEulerDiscreteScheduler loop down and
  the same Euler steps up, with the transformer called as the pipeline calls it, at cfg 1 and at cfg 3 (the
  pipeline's true_cfg_scale with the empty negative prompt), for a distilled and a plain model;
- missing prompts and options that do not apply say why.
"""
from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from test_hub_sd3 import F64, PROMPTS, SRC, TGT, _edit, _latents, _record, check_translation  # noqa: E402

from spectral_collapse.inversion import default_sigmas  # noqa: E402
from spectral_collapse.models import MissingPromptError, UnsupportedModelError, from_diffusers  # noqa: E402
from spectral_collapse.models.examples import save_example, tiny_flux_transformer  # noqa: E402


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """The example Flux folder (guidance-distilled) and the same pipeline with a transformer without guidance."""
    from diffusers import FluxPipeline

    root = tmp_path_factory.mktemp("flux")
    dev = save_example("flux", root / "dev")
    plain = root / "plain"
    FluxPipeline.from_pretrained(dev, transformer=tiny_flux_transformer(1, guidance=False)).save_pretrained(plain)
    return {"dev": dev, "plain": plain}


def reference(folder):
    from diffusers import FluxPipeline

    return FluxPipeline.from_pretrained(folder, torch_dtype=F64)


def conditions(pipe, prompt):
    """(T5 states, CLIP pooled, text ids) of a prompt as the pipeline encodes them."""
    with torch.no_grad():
        return pipe.encode_prompt(prompt=prompt, prompt_2=None, device="cpu", max_sequence_length=512)


def velocity(pipe, x, t, cond, null=None, w=1.0, guidance=3.5):
    """The transformer's velocity on unpacked latents x at time t, called as FluxPipeline.__call__ calls it (packed
    latents, image ids, timestep t, guidance for a distilled model; true CFG: neg + w (pos - neg))."""
    B, C, H, W = x.shape
    packed = pipe._pack_latents(x, B, C, H, W)
    ids = pipe._prepare_latent_image_ids(B, H // 2, W // 2, "cpu", F64)
    g = torch.full([1], guidance, dtype=torch.float32).expand(B) if pipe.transformer.config.guidance_embeds else None

    def call(c):
        states, pooled, text_ids = c
        with torch.no_grad():
            return pipe.transformer(hidden_states=packed, timestep=torch.full((B,), t, dtype=F64), guidance=g,
                                    pooled_projections=pooled.expand(B, -1),
                                    encoder_hidden_states=states.expand(B, -1, -1), txt_ids=text_ids, img_ids=ids,
                                    return_dict=False)[0]
    v = call(cond)
    if w != 1.0:
        v_u = call(null)
        v = v_u + w * (v - v_u)
    f = pipe.vae_scale_factor
    return pipe._unpack_latents(v, H * f, W * f, f)


def calculate_shift(folder, tokens):
    from diffusers import FlowMatchEulerDiscreteScheduler
    from diffusers.pipelines.flux.pipeline_flux import calculate_shift as shift_of

    c = FlowMatchEulerDiscreteScheduler.from_pretrained(folder, subfolder="scheduler").config
    return shift_of(tokens, c.base_image_seq_len, c.max_image_seq_len, c.base_shift, c.max_shift)


# ----------------------------------------------------------------------------------- loading and the labels

@pytest.mark.parametrize("kind", ["dev", "plain"])
def test_prompts_become_the_labels_on_packed_latents(folders, kind):
    D = from_diffusers(folders[kind], **PROMPTS, dtype=F64)
    pipe = reference(folders[kind])
    src, tgt, null = (conditions(pipe, p) for p in (SRC, TGT, ""))
    o = D.origin
    assert (o["network"], o["parameterization"], o["latent"], o["text_tokens"]) == (
        "FluxTransformer2DModel", "flow", True, 512)
    assert o["prompts"]["guidance_scale"] == (3.5 if kind == "dev" else None)
    assert D.latent_space.shift_factor == 0.1 and D.latent_space.scaling_factor == 0.5
    x, sigma = _latents(), 3.0
    t = sigma / (1 + sigma)
    for label, cond in ((0, src), (1, tgt), (2, null)):
        pred = D(x, sigma, label)
        v = velocity(pipe, x * (1 - t), t, cond)
        err = float((pred.x0 - (x * (1 - t) - t * v)).abs().max())
        _record(f"flux labels ({kind}): |D - pipeline| on x0", err)
        assert err < 1e-10
    assert not torch.allclose(D(x, sigma, 0).x0, D(x, sigma, 1).x0)


def test_the_guidance_scale_reaches_a_distilled_model_and_is_refused_elsewhere(folders):
    D = from_diffusers(folders["dev"], **PROMPTS, micro_conditioning={"guidance_scale": 5.0}, dtype=F64)
    default = from_diffusers(folders["dev"], **PROMPTS, dtype=F64)
    pipe = reference(folders["dev"])
    x, t = _latents(), 0.5
    v = velocity(pipe, x * (1 - t), t, conditions(pipe, SRC), guidance=5.0)
    torch.testing.assert_close(D(x, 1.0, 0).x0, x * (1 - t) - t * v, rtol=1e-10, atol=1e-10)
    assert float((D(x, 1.0, 0).x0 - default(x, 1.0, 0).x0).abs().max()) > 1e-6
    assert D.origin["prompts"]["guidance_scale"] == 5.0 and D.origin["sha256"] != default.origin["sha256"]
    with pytest.raises(ValueError, match=r"guidance_scale does not apply to a Flux folder .* a Flux model with a "
                                         r"guidance embedding \(guidance_embeds true\) guidance_scale.*cfg_scale"):
        from_diffusers(folders["plain"], **PROMPTS, micro_conditioning={"guidance_scale": 5.0})
    with pytest.raises(ValueError, match=r"original_size does not apply to a Flux folder"):
        from_diffusers(folders["dev"], **PROMPTS, micro_conditioning={"original_size": (8, 8)})


def test_the_dynamic_shift_is_the_pipelines_for_its_default_image(folders):
    """mu of calculate_shift at the pipeline's default 128 x 128 latents (4096 tokens); shift= overrides it."""
    D = from_diffusers(folders["dev"], **PROMPTS)
    assert D.origin["schedule"]["image_seq_len"] == 4096
    assert math.isclose(D.schedule.shift, math.exp(calculate_shift(folders["dev"], 4096)), rel_tol=1e-12)
    assert from_diffusers(folders["dev"], **PROMPTS, shift=2.0).schedule.shift == 2.0


def test_the_dynamic_shift_follows_the_image_size_it_is_loaded_for(folders):
    """image_size=16 on a VAE that halves: 8 x 8 latents, 16 tokens of 2 x 2 patches; the pipeline's calculate_shift
    at 16 tokens; the network's config names the unpacked latents the suite gives it."""
    D = from_diffusers(folders["dev"], **PROMPTS, image_size=16)
    assert D.origin["schedule"]["image_seq_len"] == 16
    assert math.isclose(D.schedule.shift, math.exp(calculate_shift(folders["dev"], 16)), rel_tol=1e-12)
    assert (D.net.config.in_channels, D.net.config.sample_size) == (D.latent_space.channels, 8)
    assert from_diffusers(folders["dev"], **PROMPTS).net.config.sample_size == 128
    for bad in (15, 0, True, 16.0):
        with pytest.raises(ValueError, match=rf"image_size={bad!r} .*positive multiple of 4"):
            from_diffusers(folders["dev"], **PROMPTS, image_size=bad)


def test_image_size_is_refused_for_networks_that_name_their_size(tmp_path):
    folder = save_example("ddpm", tmp_path / "ddpm")
    with pytest.raises(ValueError, match=r"image_size=16 applies to Flux folders.*leave image_size out"):
        from_diffusers(folder, image_size=16)


# ----------------------------------------------------------------------------- Euler against diffusers' loop

@pytest.mark.parametrize("cfg", [1.0, 3.0])
@pytest.mark.parametrize("kind", ["dev", "plain"])
def test_inversion_and_sampling_equal_diffusers_loop(folders, kind, cfg):
    """At the tiny image's own shift (mu of its 16 tokens, given as shift=): the default grid is the scheduler's,
    and on the pipeline's grid (linear from 1 to 1 / steps, shifted; t_top for t = 1) the suite's Euler translation
    equals diffusers' loop."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    folder = folders[kind]
    mu = calculate_shift(folder, 16)                              # 8 x 8 latents in 2 x 2 patches
    D = from_diffusers(folder, **PROMPTS, shift=math.exp(mu), dtype=F64)
    pipe = reference(folder)
    src, tgt, null = (conditions(pipe, p) for p in (SRC, TGT, ""))
    steps = 5
    sch = FlowMatchEulerDiscreteScheduler.from_pretrained(folder, subfolder="scheduler")
    sch.set_timesteps(steps, mu=mu)
    sig = default_sigmas(D, steps)
    torch.testing.assert_close((sig / (1 + sig))[1:], sch.sigmas.double()[1:], rtol=0, atol=2e-7)
    sch.set_timesteps(sigmas=torch.linspace(1, 1 / steps, steps).tolist(), mu=mu)   # the pipeline's grid
    times = sch.sigmas.double()
    times[0] = D.schedule.t_top()
    check_translation(D, folder, _latents(), times / (1 - times), cfg,
                      lambda x, t: velocity(pipe, x, t, src, null, cfg),
                      lambda x, t: velocity(pipe, x, t, tgt, null, cfg), f"flux loop ({kind}, cfg {cfg})")


# ----------------------------------------------------------------------------------------------- errors

def test_missing_prompts_and_folders_that_cannot_map_say_why(folders, tmp_path):
    with pytest.raises(MissingPromptError, match=r"source_prompt=.*target_prompt="):
        from_diffusers(folders["dev"], source_prompt=SRC)
    other = _edit(folders["dev"], tmp_path / "other", "model_index.json",
                  text_encoder_2=["transformers", "CLIPTextModel"])
    with pytest.raises(UnsupportedModelError, match=r"holds a CLIPTextModel; the supported text encoders are T5's"):
        from_diffusers(other, **PROMPTS)
    bare = tmp_path / "bare"                                       # the transformer without its text encoders
    for part in ("transformer", "scheduler"):
        shutil.copytree(folders["dev"] / part, bare / part)
    with pytest.raises(UnsupportedModelError, match=r"FluxTransformer2DModel, which cannot run without text "
                                                    r"embeddings: .*packed 2 x 2"):
        from_diffusers(bare)


# ----------------------------------------------------------------------------------------------- studies

@pytest.mark.slow  # a whole study on an SD3 / Flux pipeline folder
@pytest.mark.parametrize("kind", ["sd3", "flux"])
def test_a_study_runs_on_a_flow_transformer_folder(tmp_path, monkeypatch, kind):
    """main_results at the smoke profile on an SD3 or Flux folder, the prompts and (for Flux, whose transformer
    names no size) the image size from data_options: Euler inversion and OVG translate the study's crops."""
    import json

    from spectral_collapse.pipeline.runner import run_study
    from spectral_collapse.framework import model_set as models_mod

    monkeypatch.setattr(models_mod, "CHECKPOINT_ROOT", str(tmp_path / "ckpt"))
    folder = str(save_example(kind, tmp_path / kind))
    opts = json.dumps({**PROMPTS, "size": 16})
    ds = run_study("main_results", dataset="ihc-sr", profile="smoke", model=folder, data_options=opts, seeds=[0],
                   methods=["ddim", "ovg"], results_root=tmp_path / "r", allow_weak_model=True)
    used = json.loads(ds.attrs["user_models"])["model"]
    assert used["parameterization"] == "flow" and used["prompts"]["target"] == TGT
    assert used["network"] == {"sd3": "SD3Transformer2DModel", "flux": "FluxTransformer2DModel"}[kind]
    if kind == "flux":
        assert used["schedule"]["image_seq_len"] == 16
    assert set(ds["method"].values) == {"ddim", "ovg"} and bool(np.isfinite(ds["s_hf"].values).all())
    assert not (tmp_path / "ckpt").exists()
