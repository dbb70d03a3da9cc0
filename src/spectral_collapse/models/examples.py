"""Tiny randomly initialised diffusers pipeline folders, one of each kind ``from_diffusers`` loads, for the chapter
*Your data, your model* and tests (they generate nothing meaningful; ``TEXT_KINDS`` need ``transformers``)."""
from __future__ import annotations

import json
from pathlib import Path

import torch

__all__ = ["KINDS", "TEXT_KINDS", "EXAMPLE_PROMPTS", "save_example", "write_tokenizer", "text_encoder", "tiny_vae",
           "sd_scheduler", "tiny_flux_transformer"]

KINDS = {
    "ddpm": "an unconditional UNet2DModel with a DDPMScheduler (epsilon prediction): DDPMPipeline.save_pretrained",
    "class-conditional": "a UNet2DModel with class embeddings (labels 0 / 1: source / target)",
    "dit": "a DiTTransformer2DModel in transformer/ with class labels",
    "latent": "a UNet2DModel on the latents of an AutoencoderKL in vae/ (images in, images out)",
    "flow": "a UNet2DModel trained with flow matching (FlowMatchEulerDiscreteScheduler)",
    "edm": "a UNet2DModel with an EDMEulerScheduler (EDM preconditioning)",
    "zero-snr": "a v-prediction UNet2DModel with a zero-terminal-SNR DDIMScheduler",
    "sd": "Stable Diffusion: UNet2DConditionModel, CLIP text encoder and tokenizer, AutoencoderKL",
    "sdxl": "SDXL: two CLIP text encoders, pooled text embeddings and size / crop time ids",
    "sd3": "SD3: an SD3Transformer2DModel, two CLIP encoders with projections and T5, a flow-matching scheduler "
           "(shift 3) and an AutoencoderKL with a shift_factor",
    "flux": "Flux: a guidance-distilled FluxTransformer2DModel on 2 x 2 packed latents, CLIP (pooled) and T5 encoders, "
            "a dynamically shifted flow-matching scheduler and an AutoencoderKL with a shift_factor",
}
TEXT_KINDS = ("sd", "sdxl", "sd3", "flux")
EXAMPLE_PROMPTS = {"source_prompt": "a cat", "target_prompt": "a dog"}
MAX_TOKENS = 16      # the tiny CLIP tokenizer's model_max_length
IMAGE_SIDE = 16      # the image side of every example (latent kinds: 8 x 8 latents of a VAE that halves)


def _unet(seed: int = 0, *, size: int = IMAGE_SIDE, channels: int = 3, classes: int | None = None):
    from diffusers import UNet2DModel

    torch.manual_seed(seed)
    return UNet2DModel(sample_size=size, in_channels=channels, out_channels=channels, layers_per_block=1,
                       block_out_channels=(16, 32), down_block_types=("DownBlock2D",) * 2,
                       up_block_types=("UpBlock2D",) * 2, norm_num_groups=8, num_class_embeds=classes).eval()


def tiny_vae(seed: int = 0, **config):
    """An AutoencoderKL with 4 latent channels that halves the image side (``config``: e.g. its scaling_factor)."""
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    return AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16),
                         down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                         layers_per_block=1, norm_num_groups=4, sample_size=IMAGE_SIDE, **config)


def write_tokenizer(folder: str | Path):
    """A CLIP tokenizer written into ``folder``: every byte, and the merges of the example prompts' words."""
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode   # GPT-2 / CLIP's byte-to-character table

    folder = Path(folder)
    chars = list(bytes_to_unicode().values())
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in [*chars, *(c + "</w>" for c in chars)]:
        vocab.setdefault(c, len(vocab))
    merges = ["c a", "ca t</w>", "d o", "do g</w>"]
    for m in merges:
        vocab.setdefault(m.replace(" ", ""), len(vocab))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    (folder / "tokenizer_config.json").write_text(json.dumps({"model_max_length": MAX_TOKENS,
                                                              "tokenizer_class": "CLIPTokenizer"}))
    return CLIPTokenizer.from_pretrained(folder)


def text_encoder(seed: int, projection: bool = False):
    """A two-layer CLIP text encoder of width 32 (with the pooled projection SDXL's second encoder has)."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    cfg = CLIPTextConfig(vocab_size=600, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=MAX_TOKENS, projection_dim=32,
                         bos_token_id=0, eos_token_id=1, pad_token_id=1)
    return (CLIPTextModelWithProjection if projection else CLIPTextModel)(cfg).eval()


def _condition_unet(seed: int, xl: bool):
    """A UNet2DConditionModel on 4-channel 8 x 8 latents, cross-attention width 32 (SDXL: 64, text-time added)."""
    from diffusers import UNet2DConditionModel

    torch.manual_seed(seed)
    kw = dict(sample_size=IMAGE_SIDE // 2, in_channels=4, out_channels=4, layers_per_block=1,
              block_out_channels=(32, 64), down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
              up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=32, norm_num_groups=8,
              attention_head_dim=8)
    if xl:  # two encoders' states (32 + 32 channels), pooled embeddings (32) and six time ids of 8 channels each
        kw.update(cross_attention_dim=64, addition_embed_type="text_time", addition_time_embed_dim=8,
                  projection_class_embeddings_input_dim=32 + 6 * 8)
    return UNet2DConditionModel(**kw).eval()


def _t5(seed: int) -> dict:
    """A one-layer T5 encoder of width 64 and its 33-piece Unigram tokenizer."""
    from transformers import T5Config, T5EncoderModel, T5TokenizerFast

    words = [("\u2581a", -0.5), ("\u2581cat", -0.5), ("\u2581dog", -0.5)]
    letters = [(c, -1.0) for c in "\u2581abcdefghijklmnopqrstuvwxyz"]
    torch.manual_seed(seed)
    return {"tokenizer": T5TokenizerFast(vocab=[("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), *letters, *words],
                                         extra_ids=0),
            "encoder": T5EncoderModel(T5Config(vocab_size=33, d_model=64, d_kv=8, d_ff=37, num_layers=1, num_heads=2,
                                               pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)).eval()}


def tiny_flux_transformer(seed: int = 0, guidance: bool = True):
    """A FluxTransformer2DModel on 2 x 2 patches of 4-channel latents, with or without a guidance embedding."""
    from diffusers import FluxTransformer2DModel

    torch.manual_seed(seed)
    return FluxTransformer2DModel(patch_size=1, in_channels=16, num_layers=1, num_single_layers=1, attention_head_dim=8,
                                  num_attention_heads=2, joint_attention_dim=64, pooled_projection_dim=32,
                                  guidance_embeds=guidance, axes_dims_rope=(2, 2, 4)).eval()


def sd_scheduler():
    """Stable Diffusion's DDIM schedule (scaled linear betas from 0.00085 to 0.012)."""
    from diffusers import DDIMScheduler

    return DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)


# kind -> (scheduler class, its settings) of the kinds without text encoders (others: DDPMScheduler)
_SCHEDULERS = {"flow": ("FlowMatchEulerDiscreteScheduler", {}), "edm": ("EDMEulerScheduler", {}),
               "zero-snr": ("DDIMScheduler", dict(prediction_type="v_prediction", rescale_betas_zero_snr=True,
                                                  timestep_spacing="trailing"))}


def _text_pipeline(kind: str, path: Path, seed: int, d):
    """The diffusers pipeline of a text-conditioned kind, with its tokenizers written under ``path``."""
    tok = write_tokenizer(path / "_tok")
    if kind == "sd":
        return d.StableDiffusionPipeline(vae=tiny_vae(), text_encoder=text_encoder(seed), tokenizer=tok,
                                         unet=_condition_unet(seed, False), scheduler=sd_scheduler(),
                                         safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    if kind == "sdxl":
        return d.StableDiffusionXLPipeline(vae=tiny_vae(), text_encoder=text_encoder(seed + 1),
                                           text_encoder_2=text_encoder(seed + 2, projection=True), tokenizer=tok,
                                           tokenizer_2=write_tokenizer(path / "_tok2"),
                                           unet=_condition_unet(seed, True), scheduler=sd_scheduler())
    if kind == "flux":
        t5 = _t5(seed + 2)
        return d.FluxPipeline(
            transformer=tiny_flux_transformer(seed), vae=tiny_vae(seed, scaling_factor=0.5, shift_factor=0.1),
            scheduler=d.FlowMatchEulerDiscreteScheduler(shift=3.0, use_dynamic_shifting=True, base_shift=0.5,
                                                        max_shift=1.15, base_image_seq_len=256, max_image_seq_len=4096),
            text_encoder=text_encoder(seed + 1), tokenizer=tok, text_encoder_2=t5["encoder"],
            tokenizer_2=t5["tokenizer"])
    torch.manual_seed(seed)   # sd3: 8 x 8 latents in patches of 2; text states of 64 (CLIP 32 + 32, T5 64)
    net = d.SD3Transformer2DModel(sample_size=IMAGE_SIDE // 2, patch_size=2, in_channels=4, out_channels=4,
                                  num_layers=1, attention_head_dim=8, num_attention_heads=2, joint_attention_dim=64,
                                  caption_projection_dim=16, pooled_projection_dim=64, pos_embed_max_size=8).eval()
    t5 = _t5(seed + 3)
    return d.StableDiffusion3Pipeline(
        transformer=net, scheduler=d.FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=tiny_vae(seed, scaling_factor=1.5, shift_factor=0.1), text_encoder=text_encoder(seed + 1, True),
        tokenizer=tok, text_encoder_2=text_encoder(seed + 2, True), tokenizer_2=write_tokenizer(path / "_tok2"),
        text_encoder_3=t5["encoder"], tokenizer_3=t5["tokenizer"])


def save_example(kind: str, path: str | Path, seed: int = 0) -> Path:
    """Write a tiny random pipeline folder of ``kind`` (one of ``KINDS``) to ``path``; returns the path."""
    import diffusers

    if kind not in KINDS:
        raise ValueError(f"unknown example kind {kind!r}; choose one of {', '.join(KINDS)}")
    path = Path(path)
    if kind in TEXT_KINDS:
        _text_pipeline(kind, path, seed, diffusers).save_pretrained(path)
        return path
    name, settings = _SCHEDULERS.get(kind, ("DDPMScheduler", {}))
    scheduler = getattr(diffusers, name)(**settings)
    if kind == "dit":
        torch.manual_seed(seed)
        net = diffusers.DiTTransformer2DModel(num_attention_heads=2, attention_head_dim=8, in_channels=3,
                                              out_channels=3, num_layers=1, sample_size=IMAGE_SIDE, patch_size=2,
                                              num_embeds_ada_norm=3)
    else:
        latent = kind == "latent"
        net = _unet(seed, size=IMAGE_SIDE // 2 if latent else IMAGE_SIDE, channels=4 if latent else 3,
                    classes=2 if kind == "class-conditional" else None)
    sub = "transformer" if kind == "dit" else "unet"
    net.save_pretrained(path / sub)   # what a pipeline's save_pretrained writes
    scheduler.save_pretrained(path / "scheduler")
    pipeline = "DiTPipeline" if kind == "dit" else "DDPMPipeline"
    (path / "model_index.json").write_text(json.dumps({"_class_name": pipeline, sub: ["diffusers", type(net).__name__],
                                                       "scheduler": ["diffusers", name]}))
    if kind == "latent":
        tiny_vae(seed).save_pretrained(path / "vae")
    return path
