"""The paper's scale on a GPU, beside ``python -m benchmarks --device cuda``: the reproducing chapter's GPU tables.

    python -m benchmarks.gpu_extras --out benchmarks/results/<machine>-<date>-gpu-extras.json

Profile ``paper`` (Table 7): one training step of each network at its batch (median of a few after a warm-up) and
one OVG translation (DDIM base, 50 steps, batch 32) of the latent U-Net; the projected GPU-hours of each of the
paper's training runs are its steps times the measured step time.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path


def _timed(fn, repeats: int = 3, warmup: int = 1) -> tuple[float, object]:
    import torch

    out = None
    for _ in range(warmup):
        out = fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def paper_scale(log=print, parts=("train", "translation")) -> dict:
    import torch

    from spectral_collapse.inversion import OVG, Euler, translate
    from spectral_collapse.studies.profiles import get_profile
    from spectral_collapse.train.losses import diffusion_loss

    p = get_profile("paper")
    runs = [("eps", "bbbc021", "unet", "latent"), ("edm", "bbbc021", "unet", "latent"),
            ("eps", "edges2shoes", "unet", "latent"), ("edm", "edges2shoes", "unet", "latent"),
            ("eps", "bbbc021", "unet", "pixel"), ("edm", "bbbc021", "unet", "pixel"),
            ("eps", "bbbc021", "dit", "latent"), ("edm", "bbbc021", "dit", "latent")]
    out = {"train": [], "translation": None}
    timed = {}
    for par, dataset, backbone, space in (runs if "train" in parts else []):
        spec = p.model_spec(par, dataset, backbone=backbone, space=space)
        cfg = p.train_config(par, dataset, backbone=backbone, space=space)
        c, side = p.diffused_shape(space)
        shape_key = (backbone, space, cfg.batch_size)
        row = {"parameterization": par, "dataset": dataset, "backbone": backbone, "space": space,
               "batch": cfg.batch_size, "steps": cfg.steps, "shape": [c, side, side]}
        try:
            if shape_key not in timed:
                torch.manual_seed(0)
                D = spec.build().cuda().train()
                opt = torch.optim.AdamW(D.parameters(), lr=cfg.lr)
                gen = torch.Generator().manual_seed(0)
                x0 = torch.randn(cfg.batch_size, c, side, side, device="cuda").clamp(-3, 3)
                labels = torch.randint(0, 2, (cfg.batch_size,), device="cuda")

                def step():
                    loss = diffusion_loss(D, x0, labels, gen, cfg.objective, P_mean=cfg.P_mean, P_std=cfg.P_std,
                                          sigma_data=spec.sigma_data)
                    loss.backward()
                    opt.step()
                    opt.zero_grad(set_to_none=True)
                    return float(loss.detach())

                s, loss = _timed(step, repeats=3, warmup=2)
                timed[shape_key] = {"step_s": s, "params_M": sum(q.numel() for q in D.parameters()) / 1e6,
                                    "peak_GiB": torch.cuda.max_memory_allocated() / 2**30, "loss_finite": loss == loss}
                del D, opt
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            row.update(timed[shape_key])
            row["projected_gpu_hours"] = row["step_s"] * cfg.steps / 3600
            log(f"train {backbone}/{space} {par} {dataset}: {row['step_s'] * 1e3:.0f} ms/step x {cfg.steps} = "
                f"{row['projected_gpu_hours']:.1f} GPU-h ({row['params_M']:.0f} M params, peak "
                f"{row['peak_GiB']:.1f} GiB)")
        except Exception as err:
            row["error"] = f"{type(err).__name__}: {str(err)[:300]}"
            torch.cuda.empty_cache()
            log(f"train {backbone}/{space} {par} {dataset}: failed ({row['error']})")
        out["train"].append(row)
    out["total_projected_gpu_hours"] = sum(r.get("projected_gpu_hours", 0.0) for r in out["train"])
    if "translation" not in parts:
        return out
    try:
        torch.manual_seed(0)
        D = p.model_spec("eps", "bbbc021").build().cuda().eval()
        x = torch.randn(32, 4, 32, 32, device="cuda").clamp(-3, 3) * 0.5
        s_ovg, tr = _timed(lambda: translate(D, x, Euler(), guidance=OVG(), steps=50), repeats=1, warmup=1)
        s_ddim, _ = _timed(lambda: translate(D, x, Euler(), steps=50), repeats=1, warmup=1)
        out["translation"] = {"batch": 32, "steps": 50, "ovg_s": s_ovg, "ddim_s": s_ddim, "ratio": s_ovg / s_ddim,
                              "finite": int(tr.finite.sum())}
        log(f"paper-scale translation, batch 32, 50 steps: OVG {s_ovg:.1f} s, DDIM {s_ddim:.1f} s "
            f"({s_ovg / s_ddim:.2f}x)")
    except Exception as err:
        out["translation"] = {"error": f"{type(err).__name__}: {str(err)[:300]}"}
        log(f"paper-scale translation failed ({out['translation']['error']})")
    return out


def main(argv=None) -> int:
    import platform

    import torch

    ap = argparse.ArgumentParser(prog="python -m benchmarks.gpu_extras", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", nargs="*", default=["train", "translation"], choices=["train", "translation"])
    a = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("no GPU visible: this benchmark runs on a CUDA device only", file=sys.stderr)
        return 2
    rec = {"machine": platform.node(), "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
           "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    rec["paper_scale"] = paper_scale(parts=a.only)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(rec, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
