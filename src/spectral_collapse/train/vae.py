"""Training of the small VAE of the CPU profiles' latent space (paper Sec. 6.1, Table 4 analogue): an AutoencoderKL
on a dataset's two pools (MSE + a small KL term), cached like the diffusion models, scaled to unit-variance latents."""
from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from torch import nn
from tqdm import tqdm

from ..models.vae import LatentSpace, PretrainedVAE, VAEConfig, build_vae, load_pretrained_vae
from .cache import (CheckpointCorrupt, atomic_write_bytes, atomic_write_json, check_weight_hashes, checkpoint_dir,
                    checkpoint_lock, read_json, retrain_fix, write_weight_hashes)
from .config import data_identity

VAE_WEIGHTS = ("vae/diffusion_pytorch_model.safetensors",)  # checked against weights.sha256.json on every load

__all__ = ["VAETrainConfig", "measure_scaling_factor", "train_vae", "vae_identity", "load_trained_vae"]


@dataclass(frozen=True)
class VAETrainConfig:
    """Optimisation of the small VAE: MSE reconstruction + kl_weight * KL(posterior || N(0, I)) per image."""

    steps: int = 600
    batch_size: int = 32
    lr: float = 1e-3
    warmup_steps: int = 20
    kl_weight: float = 1e-4          # per-element KL weight; small, so reconstructions stay sharp (SD uses 1e-6
    #                                 with LPIPS + GAN terms we do not have)
    grad_clip: float = 1.0
    seed: int = 0
    scaling_images: int = 512        # training images whose latents measure the scaling factor


def measure_scaling_factor(vae: nn.Module, images: torch.Tensor, batch_size: int = 64) -> float:
    """1 / std of the posterior means of ``images`` (all elements pooled): unit-variance scaled latents."""
    space = LatentSpace(vae, 1.0, batch_size=batch_size)
    z = space.encode(images).double()
    return float(1.0 / z.std())


def vae_identity(cfg: VAEConfig, tc: VAETrainConfig, data) -> dict:
    """What names a trained VAE's folder (its config hash): the architecture, the training settings and the data."""
    return {"vae": cfg.to_dict(), "train": asdict(tc), "data": data_identity(data)}


def train_vae(cfg: VAEConfig, tc: VAETrainConfig, data, *, name: str, root: str | os.PathLike = "data/checkpoints",
              progress: bool = True) -> LatentSpace:
    """Train (or reuse) a small VAE on ``data``'s two pools, cached like diffusion models (no resume)."""
    from .shipped import export, shipped_root, shipping
    from .trainer import adopt, reusable

    shipped_root()  # a bad SPECTRAL_COLLAPSE_WEIGHTS refused before the checkpoint folder is made
    full = vae_identity(cfg, tc, data)
    ckpt = checkpoint_dir(name, full, root)
    if not reusable(ckpt):
        with checkpoint_lock(ckpt, name):
            if not adopt(ckpt):
                _train_vae(cfg, tc, data, full, ckpt, name=name, progress=progress)
                if shipping(ckpt):
                    export(ckpt)
    return load_trained_vae(ckpt)


def _train_vae(cfg: VAEConfig, tc: VAETrainConfig, data, full: dict, ckpt: Path, *, name: str, progress: bool) -> None:
    from accelerate import Accelerator

    acc = Accelerator(cpu=not torch.cuda.is_available())
    torch.manual_seed(tc.seed)
    vae = build_vae(cfg)
    opt = torch.optim.AdamW(vae.parameters(), lr=tc.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, tc.warmup_steps)))
    vae, opt = acc.prepare(vae, opt)
    gen = torch.Generator().manual_seed(tc.seed)
    bar = tqdm(total=tc.steps, desc=f"train VAE {name}", dynamic_ncols=True, disable=not progress)
    log = []
    vae.train()
    for step in range(1, tc.steps + 1):
        x, _ = data.train_batch(tc.batch_size, gen)
        x = x.to(acc.device)
        post = vae.encode(x).latent_dist
        eps = torch.randn(post.mean.shape, generator=gen).to(x.device)
        rec = vae.decode(post.mean + post.std * eps).sample
        kl = 0.5 * (post.mean.pow(2) + post.var - 1.0 - post.logvar).mean()
        loss = (rec - x).pow(2).mean() + tc.kl_weight * kl
        acc.backward(loss)
        if tc.grad_clip > 0:
            acc.clip_grad_norm_(vae.parameters(), tc.grad_clip)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        if step % 50 == 0 or step == tc.steps:
            log.append((step, float(loss.detach())))
        bar.update(1)
        bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
    bar.close()
    vae = acc.unwrap_model(vae).eval()
    pool = torch.cat([data.source, data.target])
    idx = torch.randperm(len(pool), generator=torch.Generator().manual_seed(tc.seed))[:tc.scaling_images]
    scale = measure_scaling_factor(vae, pool[idx])
    space = LatentSpace(vae, scale)
    test = (data.test_target if getattr(data, "paired", True) else data.test_source)[:64]  # no pairs: the held-out inputs
    rec_mse = float((space.decode(space.encode(test)).clamp(-1, 1) - test).pow(2).mean())
    ckpt.mkdir(parents=True, exist_ok=True)
    tmp = ckpt / ".vae.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    vae.save_pretrained(str(tmp), safe_serialization=True)
    shutil.rmtree(ckpt / "vae", ignore_errors=True)
    os.replace(tmp, ckpt / "vae")
    atomic_write_json(ckpt / "config.json", {**full, "name": name})
    atomic_write_json(ckpt / "latent_space.json", {"scaling_factor": scale, "test_reconstruction_mse": rec_mse,
                                                   "test_reconstruction_psnr": float(10 * torch.log10(torch.tensor(4.0 / rec_mse))),
                                                   "loss": log})
    write_weight_hashes(ckpt, VAE_WEIGHTS)
    atomic_write_bytes(ckpt / "DONE", b"")


def load_trained_vae(path: str | os.PathLike) -> LatentSpace:
    """The LatentSpace of a finished ``train_vae`` folder, its weights checked against their hashes."""
    path = Path(path)
    if not (path / "DONE").exists():
        raise FileNotFoundError(f"no finished VAE at {path}; train it with train_vae (or the study that needs it)")
    info = read_json(path / "latent_space.json", retrain_fix(path))
    if not isinstance(info, dict) or not isinstance(info.get("scaling_factor"), (int, float)):
        raise CheckpointCorrupt(f"{path / 'latent_space.json'} holds no scaling factor; {retrain_fix(path)}")
    check_weight_hashes(path, VAE_WEIGHTS)
    try:
        space = load_pretrained_vae(PretrainedVAE(source=str(path / "vae"), subfolder=None,
                                                  scaling_factor=info["scaling_factor"]))
    except (OSError, ValueError, RuntimeError, SafetensorError) as err:
        raise CheckpointCorrupt(f"the VAE in {path / 'vae'} cannot be loaded ({type(err).__name__}: {err}); "
                                f"{retrain_fix(path)}") from None
    space.identity = {"vae": "trained", "checkpoint": path.name}
    space.info = info
    space.path = path  # the checkpoint folder (the quality gate caches its report there)
    return space
