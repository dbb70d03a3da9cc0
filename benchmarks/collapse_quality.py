"""Collapse against model quality: the quick eps U-Net of ihc-sr trained again from its own seed, with the support
leak, S_DC and OVG's drift chroma share of DDIM and OVG measured at snapshots along the run, then on the shipped
model (the run's end) and on the exact Gaussian model (models.oracle, float64).

    python -m benchmarks.collapse_quality [--steps 50 100 200 400 800 1600 3200] [--n 16]
                                          [--out benchmarks/results/collapse_quality.json]

The snapshots (EMA weights, the shipped model's configuration and seed) train into ``<name>-snapshots``, each one's
held-out loss beside the shipped log's at the same step; crops and OVG setting as in benchmarks.support_leak. The file
is rewritten after every point. About 0.9 s per training step on one CPU thread (3,200 steps: 50 min) and a minute per
point."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from spectral_collapse.framework.method_labels import method_specs
from spectral_collapse.framework.model_set import CHECKPOINT_ROOT, model_plan, trained_model
from spectral_collapse.framework.profiles import get_profile
from spectral_collapse.framework.realism import drift_diagnostics
from spectral_collapse.framework.user_models import oracle_models
from spectral_collapse.train.cache import atomic_write_bytes
from spectral_collapse.train.losses import heldout_loss, heldout_set
from spectral_collapse.train.trainer import train

from .support_leak import leaks, ovg_choice, seed_crops

DATASET = "ihc-sr"
STEPS = (50, 100, 200, 400, 800, 1600, 3200)


def point(D, x, P, op: dict, steps: int, dtype, held, sigma_data: float) -> dict:
    """DDIM's and OVG's leak and S_DC on ``x``, OVG's drift chroma share and ``D``'s held-out loss."""
    row = {"heldout_loss": heldout_loss(D, held, "eps", sigma_data=sigma_data)[0]}
    row.update(leaks({"eps": D}, x, ("ddim", "ovg"), steps, 0, P, dtype, op))
    ms = method_specs(["ovg"], eta_hf=op["eta_hf"], eta_lf=op["eta_lf"], per_base=op.get("per_base"), projector=P)[0]
    drift = drift_diagnostics(D, x.to(dtype), ms.method, ms.guidance, steps)
    row["ovg"]["drift_chroma_share"] = float(drift.attrs["ovg_drift_total_chroma_share"])
    row["white_chroma_share"] = float(drift.attrs["white_noise_chroma_share"])
    print(f"held-out loss {row['heldout_loss']:.5f}  OVG chroma {row['ovg']['drift_chroma_share']:.3f}", flush=True)
    return row


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, nargs="*", default=list(STEPS))
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--out", default="benchmarks/results/collapse_quality.json")
    a = ap.parse_args(argv)
    p = get_profile("quick")
    spec, cfg, data, name = model_plan("quick", DATASET, "eps", factor=None, progress=False, root=None,
                                       backbone="unet", space=None, options=None)
    crops, x, P = seed_crops(data, a.n, 0, p.n_val)
    op = ovg_choice(DATASET)
    shipped = trained_model("quick", DATASET, "eps", progress=False)
    logged = {int(r[0]): r[1] for r in json.loads((Path(shipped.path) / "log.json").read_text())["heldout"]}
    held = heldout_set(data, shipped.denoiser, "eps", P_mean=cfg.P_mean, P_std=cfg.P_std)
    out = {"dataset": DATASET, "profile": "quick", "crops": crops, "steps": p.steps, "ovg": op,
           "training_steps": cfg.steps, "threads": torch.get_num_threads(), "snapshots": [], "shipped": None,
           "oracle": None}

    def save():
        if a.out:
            atomic_write_bytes(Path(a.out), json.dumps(out, indent=1).encode())

    t_train = 0.0
    for k in sorted(a.steps):
        t0 = time.perf_counter()
        tm = train(spec, cfg, data, name=f"{name}-snapshots", root=CHECKPOINT_ROOT, progress=False, stop_after=k)
        t_train += time.perf_counter() - t0
        print(f"snapshot at step {k} ({t_train:.0f} s of training)", flush=True)
        row = point(tm.denoiser.eval(), x, P, op, p.steps, torch.float32, held, spec.sigma_data)
        out["snapshots"].append({"step": k, "logged_heldout_loss": logged.get(k), "train_seconds": t_train, **row})
        save()
    print("shipped model", flush=True)
    out["shipped"] = {"step": cfg.steps, "logged_heldout_loss": logged.get(cfg.steps),
                      **point(shipped.denoiser, x, P, op, p.steps, torch.float32, held, spec.sigma_data)}
    save()
    print("exact Gaussian model", flush=True)
    D = oracle_models("quick", DATASET)["eps"]
    out["oracle"] = point(D, x, P, op, p.steps, torch.float64, held, spec.sigma_data)
    save()
    return out


if __name__ == "__main__":
    main()
