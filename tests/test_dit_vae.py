"""DiT backbone and latent space: diffusers DiTTransformer2DModel behind the denoiser wrappers,
AutoencoderKL loading / training / encoding, LatentDomains, the profiles' ablation axes.

References are written independently here: the VP and EDM network inputs (paper App. A), the posterior mean of a
diffusers AutoencoderKL, and the old formulas of the profiles' main model specs (their checkpoint hashes must not
change). No hub access: pretrained loading is tested on a small AutoencoderKL saved to a tmp folder.
"""
from __future__ import annotations

import json
import math

import pytest
import torch

from spectral_collapse.models.backbones import (DiTConfig, UNetConfig, build_backbone, count_parameters, dit_preset,
                                                reshaped)
from spectral_collapse.models.denoisers import make_denoiser
from spectral_collapse.models.schedules import VPSchedule
from spectral_collapse.models.vae import (LatentDomains, LatentSpace, PretrainedVAE, VAEConfig, build_vae,
                                          load_pretrained_vae)
from spectral_collapse.train.vae import VAETrainConfig, measure_scaling_factor, train_vae

TINY_DIT = DiTConfig(sample_size=8, in_channels=3, patch_size=2, num_layers=2, num_attention_heads=2,
                     attention_head_dim=8)
TINY_VAE = VAEConfig(block_out_channels=(8, 16), norm_num_groups=4)


def _dit(seed=0):
    torch.manual_seed(seed)
    return build_backbone(TINY_DIT).double()


# --- DiT ------------------------------------------------------------------------------------------------------

def test_dit_output_has_the_input_shape_and_depends_on_label_and_time():
    from diffusers import DiTTransformer2DModel

    net = _dit().eval()
    assert isinstance(net, DiTTransformer2DModel)
    x = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    t = torch.full((4,), 500.0, dtype=torch.float64)
    out = net(x, t, class_labels=torch.tensor([0, 1, 2, 0])).sample
    assert out.shape == x.shape  # out_channels = in_channels (no learned-variance channels)
    y0 = net(x, t, class_labels=torch.zeros(4, dtype=torch.long)).sample
    y1 = net(x, t, class_labels=torch.ones(4, dtype=torch.long)).sample
    y_t = net(x, t / 2, class_labels=torch.zeros(4, dtype=torch.long)).sample
    assert (y0 - y1).abs().max() > 1e-6 and (y0 - y_t).abs().max() > 1e-6


def test_dit_has_no_hidden_label_dropout_in_training_mode():
    """diffusers' adaLN label embedders drop 10% of labels from the global RNG; ours must be deterministic."""
    net = _dit().train()
    x = torch.randn(64, 3, 8, 8, dtype=torch.float64)
    t, y = torch.full((64,), 300.0, dtype=torch.float64), torch.zeros(64, dtype=torch.long)
    a = net(x, t, class_labels=y).sample
    b = net(x, t, class_labels=y).sample
    torch.testing.assert_close(a, b, rtol=0, atol=0)


@pytest.mark.parametrize("kind", ["eps", "x0", "v", "edm"])
def test_dit_behind_each_denoiser_wrapper_sees_the_papers_inputs(kind):
    """D(x, sigma, label) feeds the DiT the VP input sqrt(alpha_bar) x at t(sigma), or EDM's c_in x at ln(sigma)/4."""
    net = _dit(1).eval()
    sched = VPSchedule()
    D = make_denoiser(net, kind, schedule=sched, sigma_data=0.5)
    x = torch.randn(3, 3, 8, 8, dtype=torch.float64)
    sigma, label = 2.0, torch.tensor([0, 1, 2])
    p = D(x, sigma, label)
    if kind == "edm":
        c_in, c_skip, c_out = 1 / math.sqrt(sigma**2 + 0.25), 0.25 / (sigma**2 + 0.25), sigma * 0.5 / math.sqrt(sigma**2 + 0.25)
        F = net(x * c_in, torch.full((3,), math.log(sigma) / 4, dtype=torch.float64), class_labels=label).sample
        torch.testing.assert_close(p.x0, c_skip * x + c_out * F)
    else:
        a = 1 / math.sqrt(1 + sigma**2)
        t = sched.sigma_to_t(torch.tensor(sigma, dtype=torch.float64)).reshape(1).expand(3)
        raw = net(x * a, t, class_labels=label).sample
        native = {"eps": p.eps, "x0": p.x0, "v": a * p.eps - sigma * a * p.x0}[kind]
        torch.testing.assert_close(native, raw)
    torch.testing.assert_close(p.x0 + sigma * p.eps, x)


def test_dit_presets_match_the_dit_paper_sizes():
    cfg = dit_preset("DiT-L/2", sample_size=32, in_channels=4)
    assert (cfg.num_layers, cfg.num_attention_heads * cfg.attention_head_dim, cfg.patch_size) == (24, 1024, 2)
    with pytest.raises(ValueError, match="valid: sizes S, B, L, XL"):
        dit_preset("M/3")
    with pytest.raises(ValueError, match="must divide"):
        build_backbone(DiTConfig(sample_size=10, patch_size=4))


def test_backbone_dicts_round_trip_and_unet_dicts_are_unchanged():
    for cfg in (TINY_DIT, UNetConfig()):
        assert UNetConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
        assert UNetConfig.from_dict(cfg.to_dict()) == cfg  # the trainer's ModelSpec.from_dict path
    assert "kind" in UNetConfig().to_dict() and UNetConfig().to_dict()["kind"] == "unet"
    with pytest.raises(ValueError, match="valid kinds: unet, dit"):
        UNetConfig.from_dict({"kind": "mlp"})
    assert reshaped(UNetConfig(), 3, 32) == UNetConfig()
    r = reshaped(TINY_DIT, 4, 16)
    assert (r.in_channels, r.out_channels, r.sample_size) == (4, 4, 16)


def test_dit_checkpoint_trains_saves_and_loads(tmp_path):
    from spectral_collapse.data import load_dataset
    from spectral_collapse.train.trainer import load_trained, train
    from spectral_collapse.train.config import ModelSpec, TrainConfig

    data = load_dataset("ihc-sr", size=8, factor=2)
    spec = ModelSpec(backbone=TINY_DIT, parameterization="eps")
    cfg = TrainConfig(steps=3, batch_size=4, warmup_steps=1, checkpoint_every=2)
    tm = train(spec, cfg, data, name="dit", root=tmp_path, progress=False)
    back = load_trained(tm.path, spec)
    assert back.spec.backbone == TINY_DIT
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(back.denoiser(x, 1.0, 1).eps, tm.denoiser(x, 1.0, 1).eps)


# --- latent space -----------------------------------------------------------------------------------------------

def _vae(seed=0):
    torch.manual_seed(seed)
    return build_vae(TINY_VAE).eval()


def test_latent_space_encodes_the_scaled_posterior_mean_and_decodes_its_inverse():
    vae = _vae()
    ls = LatentSpace(vae, 0.5, batch_size=3)
    x = torch.rand(5, 3, 16, 16) * 2 - 1
    z = ls.encode(x)
    assert z.shape == (5, 4, 8, 8)
    with torch.no_grad():
        mean = vae.encode(x).latent_dist.mean
        torch.testing.assert_close(z, 0.5 * mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(ls.decode(z), vae.decode(mean).sample, rtol=1e-5, atol=1e-6)


def test_measured_scaling_factor_gives_unit_variance_latents():
    vae = _vae()
    x = torch.rand(12, 3, 16, 16) * 2 - 1
    s = measure_scaling_factor(vae, x)
    with torch.no_grad():
        m = vae.encode(x).latent_dist.mean.double()
    assert s == pytest.approx(1 / float(m.std()), rel=1e-5)
    assert float(LatentSpace(vae, s).encode(x).double().std()) == pytest.approx(1.0, rel=1e-4)


@pytest.mark.parametrize("subfolder", [None, "vae"])
def test_pretrained_vae_loads_from_a_local_folder(tmp_path, subfolder):
    vae = _vae(3)
    vae.register_to_config(scaling_factor=0.25)
    vae.save_pretrained(str(tmp_path / (subfolder or "")))
    ls = load_pretrained_vae(PretrainedVAE(source=str(tmp_path), subfolder=subfolder, scaling_factor=None))
    assert ls.scaling_factor == 0.25 and ls.downsample == 2 and ls.channels == 4
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    torch.testing.assert_close(ls.encode(x), LatentSpace(vae, 0.25).encode(x))
    ls2 = load_pretrained_vae(PretrainedVAE(source=str(tmp_path), subfolder=subfolder))  # the SD default 0.18215
    assert ls2.scaling_factor == 0.18215 and ls2.describe()["vae"]["source"] == str(tmp_path)
    # the recorded geometry is the folder's autoencoder's (x2, 4 channels), not the spec's SD defaults (x8, 4)
    assert PretrainedVAE().downsample == 8
    assert ls2.describe()["vae"]["downsample"] == ls.downsample == 2
    assert ls2.describe()["vae"]["latent_channels"] == int(vae.config.latent_channels)


def test_pretrained_vae_offline_error_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("SPECTRAL_COLLAPSE_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(OSError, match="huggingface-cli download no-such-org/no-such-vae"):
        load_pretrained_vae(PretrainedVAE(source="no-such-org/no-such-vae"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(OSError, match="no AutoencoderKL"):
        load_pretrained_vae(PretrainedVAE(source=str(tmp_path / "empty"), subfolder=None))


def test_train_vae_caches_and_measures_its_scaling(tmp_path, monkeypatch):
    from spectral_collapse.data import load_dataset
    from spectral_collapse.train import vae as vae_mod

    data = load_dataset("ihc-sr", size=16, factor=2)
    tc = VAETrainConfig(steps=3, batch_size=4, scaling_images=16)
    ls = train_vae(TINY_VAE, tc, data, name="v", root=tmp_path, progress=False)
    folder = next(tmp_path.glob("v-*"))
    assert (folder / "DONE").exists() and (folder / "vae" / "config.json").exists()
    pool = torch.cat([data.source, data.target])
    idx = torch.randperm(len(pool), generator=torch.Generator().manual_seed(tc.seed))[:16]
    assert float(ls.encode(pool[idx]).double().std()) == pytest.approx(1.0, rel=1e-3)
    monkeypatch.setattr(vae_mod, "build_vae", lambda cfg: pytest.fail("a finished VAE must not be retrained"))
    again = train_vae(TINY_VAE, tc, data, name="v", root=tmp_path, progress=False)
    assert again.scaling_factor == ls.scaling_factor and again.describe()["checkpoint"] == folder.name


def test_latent_domains_serve_the_latents_of_the_drawn_dihedral_views():
    from spectral_collapse.data import dihedral, load_dataset

    data = load_dataset("ihc-sr", size=16, factor=2)
    ls = LatentSpace(_vae(), 0.7)
    views = (0, 3, 5)
    ld = LatentDomains(data, ls, views=views)
    assert ld.name == data.name and ld.meta["space"]["scaling_factor"] == 0.7
    g = torch.Generator().manual_seed(5)
    z, y = ld.train_batch(6, g)
    g = torch.Generator().manual_seed(5)  # replay the draws: pool indices, then view positions
    i0, i1 = torch.randint(len(data.source), (3,), generator=g), torch.randint(len(data.target), (3,), generator=g)
    ks = torch.randint(len(views), (6,), generator=g)
    imgs = torch.cat([data.source[i0], data.target[i1]])
    want = torch.cat([ls.encode(dihedral(imgs[j:j + 1], views[int(ks[j])])) for j in range(6)])
    torch.testing.assert_close(z, want)
    assert y.tolist() == [0, 0, 0, 1, 1, 1]


# --- profiles ---------------------------------------------------------------------------------------------------

def test_profile_defaults_keep_the_main_models_specs():
    """The ablation axes must not change the main models (their checkpoint hashes)."""
    from spectral_collapse.framework.profiles import PROFILES
    from spectral_collapse.train.config import ModelSpec

    for name in ("smoke", "quick"):
        p = PROFILES[name]
        for par in ("eps", "x0", "edm"):
            old = ModelSpec(backbone=p.backbone, parameterization=par, schedule=p.schedule, sigma_data=p.sigma_data)
            assert p.model_spec(par, "ihc-sr").to_dict() == old.to_dict()
            base = p.train_edm if par == "edm" else p.train_eps
            # truncated-SNR weighting: the eps and x0 objectives share it, EDM keeps its own weighting
            assert p.train_config(par, "ihc-sr").__dict__ == {**base.__dict__, "objective": par,
                                                              "truncated_snr": base.truncated_snr and par != "edm"}
    paper = PROFILES["paper"]
    assert paper.model_spec("eps", "bbbc021").backbone == paper.backbone
    assert paper.model_spec("edm", "bbbc021").sigma_data == 1.14


def test_profile_ablation_configs_follow_the_diffused_shape():
    from spectral_collapse.framework.profiles import PROFILES

    q = PROFILES["quick"]
    lat = q.backbone_config("unet", "latent")
    assert (lat.in_channels, lat.sample_size) == (q.vae.latent_channels, q.image_size // q.vae.downsample)
    dit = q.backbone_config("dit")
    assert dit.kind == "dit" and (dit.in_channels, dit.sample_size) == (3, q.image_size)
    paper = PROFILES["paper"]
    pdit = paper.backbone_config("dit")
    assert (pdit.num_layers, pdit.patch_size, pdit.in_channels, pdit.sample_size) == (24, 2, 4, 32)  # DiT-L/2
    assert paper.train_config("eps", "bbbc021", backbone="dit").steps == 120_000  # App. D, Table 7
    assert paper.backbone_config("unet", "pixel").sample_size == 256
    assert paper.train_config("eps", "bbbc021", space="pixel").lr_schedule == "constant"
    with pytest.raises(ValueError, match="valid backbones: unet, dit"):
        q.model_spec("eps", backbone="vit")
    with pytest.raises(ValueError, match="valid spaces: pixel, latent"):
        q.model_spec("eps", space="wavelet")
    assert count_parameters(build_backbone(PROFILES["smoke"].backbone_config("dit"))) > 0


def test_a_damaged_trained_vae_is_an_error_naming_the_file(tmp_path):
    from spectral_collapse.train.cache import CheckpointCorrupt
    from spectral_collapse.data import load_dataset
    from spectral_collapse.train.vae import load_trained_vae

    data = load_dataset("ihc-sr", size=16, factor=2)
    tc = VAETrainConfig(steps=2, batch_size=4, scaling_images=8)
    ls = train_vae(TINY_VAE, tc, data, name="v", root=tmp_path, progress=False)
    folder = next(tmp_path.glob("v-*"))
    assert (folder / "weights.sha256.json").exists() and ls.scaling_factor > 0
    weights = folder / "vae" / "diffusion_pytorch_model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[-5] ^= 0xFF  # one flipped byte in the tensor data: still loads, other numbers
    weights.write_bytes(bytes(raw))
    with pytest.raises(CheckpointCorrupt, match="diffusion_pytorch_model.safetensors is not the file written"):
        load_trained_vae(folder)
    (folder / "latent_space.json").write_text("{trunc")
    with pytest.raises(CheckpointCorrupt, match="latent_space.json cannot be read"):
        load_trained_vae(folder)
