"""The example pipeline folders (models.examples): each kind is what a user's save_pretrained writes, loads with
from_diffusers as the kind it stands for, and translates images (images in, images out)."""
from __future__ import annotations

import pytest
import torch

from spectral_collapse.inversion import Euler, translate
from spectral_collapse.models import from_diffusers
from spectral_collapse.models.examples import EXAMPLE_PROMPTS, IMAGE_SIDE, KINDS, TEXT_KINDS, save_example

EXPECTED = {  # kind: (network class, parameterization, class- or text-conditional, latent)
    "ddpm": ("UNet2DModel", "eps", False, False),
    "class-conditional": ("UNet2DModel", "eps", True, False),
    "dit": ("DiTTransformer2DModel", "eps", True, False),
    "latent": ("UNet2DModel", "eps", False, True),
    "flow": ("UNet2DModel", "flow", False, False),
    "edm": ("UNet2DModel", "edm", False, False),
    "zero-snr": ("UNet2DModel", "v", False, False),
    "sd": ("UNet2DConditionModel", "eps", True, True),
    "sdxl": ("UNet2DConditionModel", "eps", True, True),
    "sd3": ("SD3Transformer2DModel", "flow", True, True),
    "flux": ("FluxTransformer2DModel", "flow", True, True),
}


def test_every_kind_has_an_expectation():
    assert set(EXPECTED) == set(KINDS)


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_example_loads_as_its_kind_and_translates_images(tmp_path, kind):
    if kind in TEXT_KINDS:
        pytest.importorskip("transformers")
    path = save_example(kind, tmp_path / kind)
    assert (path / "model_index.json").is_file()
    D = from_diffusers(path, **(EXAMPLE_PROMPTS if kind in TEXT_KINDS else {}))
    o = D.origin
    assert (o["network"], o["parameterization"], bool(o["conditional"]), bool(o.get("latent"))) == EXPECTED[kind]
    x = torch.rand(2, 3, IMAGE_SIDE, IMAGE_SIDE, generator=torch.Generator().manual_seed(0)) * 2 - 1
    tr = translate(D, x, Euler(), steps=3, warn_norm=False)
    assert tr.output.shape == x.shape and torch.isfinite(tr.output).all()
    assert save_example(kind, tmp_path / "again") and from_diffusers(
        tmp_path / "again", **(EXAMPLE_PROMPTS if kind in TEXT_KINDS else {})).origin["sha256"] == o["sha256"]


def test_an_unknown_kind_lists_the_kinds(tmp_path):
    with pytest.raises(ValueError, match=r"unknown example kind 'unet'; choose one of ddpm, class-conditional"):
        save_example("unet", tmp_path)


def test_guidance_on_a_two_class_unet_without_a_null_class_is_refused_before_any_work(tmp_path):
    """cfg_scale != 1 evaluates the null label 2, which a two-class U-Net's class embedding has no row for: a clear
    error instead of an IndexError deep in the network; with a null class (three rows) guidance runs."""
    from spectral_collapse.models.examples import _unet

    D = from_diffusers(save_example("class-conditional", tmp_path / "two"))
    x = torch.rand(2, 3, IMAGE_SIDE, IMAGE_SIDE) * 2 - 1
    with pytest.raises(ValueError, match=r"cfg_scale=2 needs the null \(unconditional\) label 2, but the network's "
                                         r"class embedding has 2 rows \(labels 0-1\).*use cfg_scale=1"):
        translate(D, x, Euler(), steps=2, cfg_scale=2.0)
    import diffusers

    diffusers.DDPMPipeline(unet=_unet(0, classes=3), scheduler=diffusers.DDPMScheduler()).save_pretrained(tmp_path / "three")
    out = translate(from_diffusers(tmp_path / "three"), x, Euler(), steps=2, cfg_scale=2.0, warn_norm=False)
    assert torch.isfinite(out.output).all()
