"""The GPU measurements: the device check (training model-steps per second of K models in lockstep, the inversion
loop's network evaluations per second, each eager and with CUDA graphs) and the paper's scale (the reproducing
chapter's GPU tables).

    python -m benchmarks.gpu_check [--seconds 8] [--out FILE]      # scripts/gpu_check.sh runs it on a lent GPU
    python -m benchmarks.gpu_check --tiny                          # a few seconds, on a CPU: checks that it runs
    python -m benchmarks.gpu_check --paper-scale --out benchmarks/results/<machine>-<date>-gpu-extras.json

The device check times the quick eps U-Net (batch 32) on the ihc-sr crops, K = 1, 8 and 16 copies, each over
``--seconds``; on a CPU the CUDA lines print as skipped."""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from unittest.mock import patch

import numpy as np
import torch

from spectral_collapse.train.cache import atomic_write_bytes

from .common import set_device, timed


def _rate(fn, seconds: float, units_per_call: float, device) -> float:
    """units per second of ``fn`` over ``seconds`` (at least two calls), after one warm-up call."""
    sync = torch.cuda.synchronize if device.type == "cuda" else lambda: None
    fn()
    sync()
    n, t0 = 0, time.perf_counter()
    while n < 2 or time.perf_counter() - t0 < seconds:
        fn()
        n += 1
        sync()
    return n * units_per_call / (time.perf_counter() - t0)


@lru_cache(maxsize=None)
def quick_setting(tiny: bool):
    """(ModelSpec, TrainConfig, data, batch): the quick eps U-Net on ihc-sr, or the smoke one on 16 px for --tiny."""
    from spectral_collapse.framework.model_set import dataset_for
    from spectral_collapse.framework.profiles import get_profile

    p = get_profile("smoke" if tiny else "quick")
    batch = 4 if tiny else 32
    cfg = replace(p.train_config("eps", "ihc-sr"), steps=200 if tiny else 20_000, batch_size=batch,
                  checkpoint_every=10**9)
    return p.model_spec("eps", "ihc-sr"), cfg, dataset_for(p.name, "ihc-sr"), batch


def training_rate(K: int, graphs: bool, seconds: float, device, tiny: bool) -> float:
    """Model-steps per second of K models in lockstep (``train.lockstep.Member``), no checkpoints written."""
    from spectral_collapse.train.lockstep import Job, Member
    from spectral_collapse.train.config import full_config

    spec, cfg, data, _ = quick_setting(tiny)
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [Job(spec, replace(cfg, seed=k), data, f"check-{k}") for k in range(K)]
        members = [Member(j, full_config(j.spec, j.cfg, data), Path(tmp) / j.name, device, None) for j in jobs]
        for m in members if graphs else ():
            m.capture()

        def round_():
            for m in members:
                m.advance()
        return _rate(round_, seconds, K, device)


def inversion_rates(graphs: bool, seconds: float, device, tiny: bool) -> dict:
    """{"sampling_nfe_per_s", "ovg_steps_per_s"} of the untrained network at the check's batch."""
    from spectral_collapse.inversion import OVG, Euler, integrate
    from spectral_collapse.inversion.graphs import ENV

    spec, _, data, batch = quick_setting(tiny)
    torch.manual_seed(0)
    D = spec.build().to(device).eval()
    x = data.test_source[:batch].to(device)
    x = x.repeat(-(-batch // len(x)), 1, 1, 1)[:batch]  # the test crops repeated up to the batch
    steps = 10
    up = torch.linspace(float(D.sigma_min), 10.0, steps + 1, dtype=torch.float64)
    with patch.dict(os.environ, {ENV: "1" if graphs else "0"}):  # the environment as it was, afterwards
        return {"sampling_nfe_per_s": _rate(lambda: integrate(D, x, up.flip(0), 1, Euler()), seconds, steps, device),
                "ovg_steps_per_s": _rate(lambda: integrate(D, x, up, 0, Euler(), guidance=OVG(), x_ref=x), seconds,
                                         steps, device)}


def device_check(seconds: float, tiny: bool) -> dict:
    """The device check's record, each figure printed as it is measured."""
    from spectral_collapse.train.trainer import device_name

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    rec = {"device": device_name(device), "torch": torch.__version__, "seconds": seconds, "training": {},
           "inversion": {}}
    print(f"device: {rec['device']} (torch {torch.__version__})", flush=True)

    def line(section, name, value, unit):
        rec[section][name] = value
        shown = "skipped (CUDA only)" if value is None else f"{value:.1f} {unit}"
        print(f"{section} {name}: {shown}", flush=True)

    line("training", "K=1 eager", training_rate(1, False, seconds, device, tiny), "model-steps/s")
    for K in (1, 2) if tiny else (1, 8, 16):
        line("training", f"K={K} cuda graphs", training_rate(K, True, seconds, device, tiny) if cuda else None,
             "model-steps/s")
    for graphs, tag in ((False, "eager"), (True, "cuda graphs")):
        got = inversion_rates(graphs, seconds, device, tiny) if (cuda or not graphs) else {}
        line("inversion", f"DDIM sampling {tag}", got.get("sampling_nfe_per_s"), "NFE/s")
        line("inversion", f"OVG-guided steps {tag}", got.get("ovg_steps_per_s"), "steps/s")
    return rec


def _median_s(fn, repeats: int, warmup: int):
    """(median seconds of ``repeats`` synchronised calls of ``fn`` after ``warmup`` calls, the first call's output)."""
    out = fn()
    for _ in range(warmup - 1):
        fn()
    return float(np.median([timed(fn)[0] for _ in range(repeats)])), out


def paper_scale(log=print) -> dict:
    """One training step of each of the paper's runs (Table 7) at its batch (median of three after two warm-ups),
    projected to its steps, and one OVG and one DDIM translation of the latent U-Net (50 steps, batch 32), on the GPU; a
    part that fails records its error."""
    from spectral_collapse.inversion import OVG, Euler, translate
    from spectral_collapse.framework.profiles import get_profile
    from spectral_collapse.train.losses import diffusion_loss

    set_device("cuda")
    p = get_profile("paper")
    runs = (("bbbc021", "unet", "latent"), ("edges2shoes", "unet", "latent"), ("bbbc021", "unet", "pixel"),
            ("bbbc021", "dit", "latent"))
    out = {"train": [], "translation": None}
    timed_shapes = {}
    for (dataset, backbone, space), par in itertools.product(runs, ("eps", "edm")):
        spec = p.model_spec(par, dataset, backbone=backbone, space=space)
        cfg = p.train_config(par, dataset, backbone=backbone, space=space)
        c, side = p.diffused_shape(space)
        shape_key = (backbone, space, cfg.batch_size)
        row = {"parameterization": par, "dataset": dataset, "backbone": backbone, "space": space,
               "batch": cfg.batch_size, "steps": cfg.steps, "shape": [c, side, side]}
        try:
            if shape_key not in timed_shapes:
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

                s, loss = _median_s(step, repeats=3, warmup=2)
                timed_shapes[shape_key] = {"step_s": s, "params_M": sum(q.numel() for q in D.parameters()) / 1e6,
                                           "peak_GiB": torch.cuda.max_memory_allocated() / 2**30,
                                           "loss_finite": loss == loss}
                del D, opt
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            row.update(timed_shapes[shape_key])
            row["projected_gpu_hours"] = row["step_s"] * cfg.steps / 3600
        except Exception as err:
            row["error"] = f"{type(err).__name__}: {str(err)[:300]}"
            torch.cuda.empty_cache()
            log(f"train {backbone}/{space} {par} {dataset}: failed ({row['error']})")
        out["train"].append(row)
    out["total_projected_gpu_hours"] = sum(r.get("projected_gpu_hours", 0.0) for r in out["train"])
    try:
        torch.manual_seed(0)
        D = p.model_spec("eps", "bbbc021").build().cuda().eval()
        x = torch.randn(32, 4, 32, 32, device="cuda").clamp(-3, 3) * 0.5
        s_ovg, tr = _median_s(lambda: translate(D, x, Euler(), guidance=OVG(), steps=50), repeats=1, warmup=1)
        s_ddim, _ = _median_s(lambda: translate(D, x, Euler(), steps=50), repeats=1, warmup=1)
        out["translation"] = {"batch": 32, "steps": 50, "ovg_s": s_ovg, "ddim_s": s_ddim, "ratio": s_ovg / s_ddim,
                              "finite": int(tr.finite.sum())}
    except Exception as err:
        out["translation"] = {"error": f"{type(err).__name__}: {str(err)[:300]}"}
        log(f"paper-scale translation failed ({out['translation']['error']})")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=8.0, help="measuring time of each figure")
    ap.add_argument("--tiny", action="store_true", help="the smoke network, K = 1 and 2, short: checks that it runs")
    ap.add_argument("--paper-scale", action="store_true", help="the paper's networks instead (CUDA only)")
    ap.add_argument("--out", default=None, help="write the record (JSON) here")
    a = ap.parse_args(argv)
    if not a.paper_scale:
        rec = device_check(0.5 if a.tiny else a.seconds, a.tiny)
    elif not torch.cuda.is_available():
        print("no GPU visible: --paper-scale runs on a CUDA device only", file=sys.stderr)
        return 2
    else:
        rec = {"machine": platform.node(), "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
               "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "paper_scale": paper_scale()}
    if a.out:
        atomic_write_bytes(a.out, json.dumps(rec, indent=1, default=str).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
