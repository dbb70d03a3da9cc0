"""A user's diffusers model is checked before any heavy work (models/hub_folder.py): weight files whole, weights shaped
as config.json says and finite, and the memory of a batch within a stated bound (``hub.ModelCheckError``, a
ValueError); and a method whose inversion loop stops early on non-finite values records failed samples instead of
failing."""
from __future__ import annotations

import json
from pathlib import Path

import diffusers
import pytest
import torch

from conftest import oracle_denoiser
from spectral_collapse.inversion import invert, translate
from spectral_collapse.inversion.methods.null_class import DirectInversion
from spectral_collapse.inversion.methods.null_class import NullClass
from spectral_collapse.models.examples import save_example
from spectral_collapse.models.hub import from_diffusers
from probes import probe

WEIGHTS = Path("unet") / "diffusion_pytorch_model.safetensors"
MEMORY_ENV = "SPECTRAL_COLLAPSE_MAX_MEMORY_GB"   # the bound's override (hub_folder.MEMORY_ENV)


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    return save_example("ddpm", tmp_path_factory.mktemp("ddpm") / "model")


def _copy(example: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(example, tmp_path / "model"))


def _no_loading(monkeypatch):
    """Fail the test if the network's weights are loaded: the checks must come first."""
    monkeypatch.setattr(diffusers.UNet2DModel, "from_pretrained",
                        classmethod(lambda cls, *a, **k: pytest.fail("weights loaded before the check")))


def _edit_config(folder: Path, **changes) -> None:
    cfg_path = folder / "unet" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg.update(changes)
    cfg_path.write_text(json.dumps(cfg))


@probe("unclear", "a truncated weights file in a user model", "refused naming the file, saying it is truncated")
def test_truncated_weights_file_is_named_as_truncated(example, tmp_path, monkeypatch):
    folder = _copy(example, tmp_path)
    data = (folder / WEIGHTS).read_bytes()
    (folder / WEIGHTS).write_bytes(data[: len(data) // 2])
    _no_loading(monkeypatch)
    with pytest.raises(ValueError, match="truncated") as err:
        from_diffusers(folder)
    assert str(folder / WEIGHTS) in str(err.value) and "save the model again" in str(err.value)


@probe("unclear", "`config.json` disagreeing with the weights' shapes",
       "refused naming the tensor and both shapes, never advising `ignore_mismatched_sizes`")
def test_config_that_disagrees_with_the_weights_names_the_tensor_and_both_shapes(example, tmp_path, monkeypatch):
    folder = _copy(example, tmp_path)
    _edit_config(folder, block_out_channels=[8, 32])   # the saved weights are built for (16, 32)
    _no_loading(monkeypatch)
    with pytest.raises(ValueError) as err:
        from_diffusers(folder)
    text = str(err.value)
    import re
    from safetensors import safe_open

    found = re.search(r"tensor (\S+) has shape \[([\d, ]+)\] in the file but \[([\d, ]+)\] for the config", text)
    assert found, text
    with safe_open(str(folder / WEIGHTS), "pt") as f:   # the shape named is the file's own
        assert list(f.get_slice(found[1]).get_shape()) == [int(v) for v in found[2].split(",")]
    assert "16" in found[2] and "8" in found[3]
    assert "ignore_mismatched_sizes" not in text and "config.json saved with" in text


@probe("crash", "a user model whose config says `sample_size` 4096",
       "refused before loading with the memory estimate, the bound and the fix")
def test_oversized_sample_size_is_refused_before_loading(example, tmp_path, monkeypatch):
    folder = _copy(example, tmp_path)
    _edit_config(folder, sample_size=4096)
    _no_loading(monkeypatch)
    monkeypatch.setenv(MEMORY_ENV, "8")
    with pytest.raises(ValueError, match="declares sample_size 4096") as err:
        from_diffusers(folder)
    assert f"{MEMORY_ENV}=8" in str(err.value) and "write that size as sample_size" in str(err.value)


def test_a_study_batch_of_an_oversized_model_is_refused_against_the_available_memory(example, tmp_path):
    from spectral_collapse.models.hub_folder import fits

    folder = _copy(example, tmp_path)
    D = from_diffusers(folder)
    fits(D, batch=64)   # 16 px: far below any machine's memory
    D.net.register_to_config(sample_size=4096)
    with pytest.raises(ValueError, match="available memory"):
        fits(D, batch=64)


def test_memory_estimate_follows_its_formula():
    """Weights 4 bytes each; a U-Net's activations 4 bytes x 4 (layers + 1) x channels x pixels per level."""
    from spectral_collapse.models.hub_folder import memory_estimate

    cfg = {"sample_size": 32, "block_out_channels": [16, 32], "layers_per_block": 1}
    weights, acts = memory_estimate(cfg, 1000, batch=2)
    assert weights == 4000
    assert acts == 2 * 4 * 4 * 2 * (16 * 32 ** 2 + 32 * 16 ** 2)


@probe("crash", "a user model with non-finite weights", "refused at loading, naming the tensors")
def test_nan_weights_are_refused_naming_the_tensor(example, tmp_path):
    from safetensors.torch import load_file, save_file

    folder = _copy(example, tmp_path)
    state = load_file(str(folder / WEIGHTS))
    state["conv_out.bias"] = torch.full_like(state["conv_out.bias"], float("nan"))
    save_file(state, str(folder / WEIGHTS))
    with pytest.raises(ValueError, match=r"NaN or infinite values \(1 tensors: .*conv_out\.bias"):
        from_diffusers(folder)


@probe("crash", "`DirectInversion` (and Null-Class) when the loop stops early on non-finite values",
       "every sample recorded failed; no IndexError")
@pytest.mark.parametrize("method", [DirectInversion(guidance_scale=1.0), NullClass(guidance_scale=2.0)],
                         ids=["direct", "null_class"])
def test_inversion_that_stops_early_records_failed_samples(method):
    D = oracle_denoiser("eps")
    x = torch.full((2, 3, 4, 4), float("nan"), dtype=torch.float64)
    with pytest.warns(RuntimeWarning, match="2 of 2 samples"):
        out = translate(D, x, method, steps=6, warn_norm=False)
    assert out.nonfinite_step.tolist() == [0, 0] and not out.finite.any()
    assert torch.isnan(out.output).all()
    inv = invert(D, x, torch.linspace(0.01, 10, 7), method)
    assert inv.nfe < 6   # the loop stopped early, and finish still handed off


def test_a_network_folder_without_safetensors_is_left_to_from_pretrained(tmp_path):
    """PyTorch .bin weights have no header to read: check_shapes reads nothing, not even config.json."""
    from spectral_collapse.models.hub_folder import check_shapes

    (tmp_path / "diffusion_pytorch_model.bin").write_bytes(b"")
    assert check_shapes(tmp_path) is None
