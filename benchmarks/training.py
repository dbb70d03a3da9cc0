"""Training throughput of our trainer against a bare PyTorch + diffusers loop (same model, batch, optimizer, data).

"ours" is ``spectral_collapse.train.train`` into a fresh folder (Accelerate, EMA, label dropout, clipping, LR schedule,
the final writes); "bare" the same UNet2DModel, seed and AdamW with an epsilon MSE step and nothing else; "bare + ema"
adds the EMA update. Whole calls are timed, setup included.
"""
from __future__ import annotations

import tempfile
import warnings
from dataclasses import replace
from functools import partial

import torch

from spectral_collapse.models.backbones import build_backbone
from spectral_collapse.framework.model_set import dataset_for
from spectral_collapse.framework.profiles import get_profile
from spectral_collapse.train.trainer import ema_update, train

from .common import paired, ratio_stats


def bare_loop(spec, cfg, data, *, ema: bool = False) -> float:
    """The bare loop; returns the last loss (so nothing is optimised away)."""
    torch.manual_seed(cfg.seed)
    net = build_backbone(spec.backbone).train()
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    shadow = build_backbone(spec.backbone).requires_grad_(False) if ema else None
    gen = torch.Generator().manual_seed(cfg.seed)
    abar = spec.schedule.alphas_cumprod().to(torch.float32)
    loss = torch.zeros(())
    for _ in range(cfg.steps):
        x, y = data.train_batch(cfg.batch_size, gen)
        t = torch.randint(0, len(abar), (x.shape[0],), generator=gen)
        n = torch.randn(x.shape, generator=gen)
        a = abar[t].sqrt().reshape(-1, 1, 1, 1)
        x_t = a * x + (1 - a**2).sqrt() * n
        loss = (net(x_t, t, class_labels=y).sample - n).pow(2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if shadow is not None:
            ema_update(shadow, net, cfg.ema_decay)
    return float(loss.detach())


def run_training(profile: str = "quick", dataset: str = "ihc-sr", batch: int = 16, steps: int = 8,
                 repeats: int = 3) -> dict:
    """Images per second of ours / bare (and bare + ema / bare), paired repeats."""
    p = get_profile(profile)
    data = dataset_for(profile, dataset)
    spec = p.model_spec("eps")
    cfg = replace(p.train_config("eps"), steps=steps, batch_size=batch, checkpoint_every=10**9)

    def ours():
        with tempfile.TemporaryDirectory(prefix="bench-train-") as root, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            train(spec, cfg, data, name="bench", root=root, progress=False)

    images = batch * steps
    out = {"profile": profile, "dataset": dataset, "batch": batch, "steps": steps, "repeats": repeats,
           "images_per_run": images}
    for name, fn in (("ours", ours), ("bare_ema", partial(bare_loop, spec, cfg, data, ema=True))):
        pr = paired(partial(bare_loop, spec, cfg, data), fn, repeats, warmup=1)
        s = pr.summary()
        # throughput ratio = (images / t) / (images / t_bare) = t_bare / t, per pair
        out[name] = {"throughput_ratio_wall": ratio_stats(pr.base_wall, pr.wall),
                     "throughput_ratio_cpu": ratio_stats(pr.base_cpu, pr.cpu),
                     "images_per_s_wall": images / s["wall_s"]["median"],
                     "bare_images_per_s_wall": images / s["base_wall_s"]["median"], **s}
    r = out["ours"]["throughput_ratio_cpu"]["median"]
    out["target"] = {"min_ratio": 0.95, "ratio": r, "met": bool(r >= 0.95)}
    return out

