"""Are the models good enough? The quality gate (``framework.quality``) on every model of the profile's model set:
each one's gate report, losses, samples from noise and from the gate's start beside real crops, and ``mean_bias``."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from ..framework.cells import StudyContext
from ..framework.spec import StudySpec

__all__ = ["run_model_quality", "N_SHOWN"]

N_SHOWN = 8  # samples and real crops shown per label
BIAS_SIGMAS = (0.1, 0.5, 2.0, 8.0, 16.0, 40.0, 80.0)  # noise levels of the denoised-mean table (within each model's range)
BIAS_CROPS = 256  # real crops per label denoised at each level


def _pad(rows: list[list[float]], width: int) -> np.ndarray:
    out = np.full((len(rows), width), np.nan)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def run_model_quality(spec: StudySpec, ctx: StudyContext | None = None) -> xr.Dataset:
    from ..framework.quality import TerminalStart, crop_pools, draw_samples, input_shape, samplers, start_pool
    from ..framework.gate import gate_policy, read_json, trained_report, vae_gate_report
    from ..framework.model_set import dataset_for, load_role, model_set
    from ..framework.profiles import get_profile

    p = get_profile(spec.profile)
    roles = model_set(spec.get("keys", None))
    keys, reports, checkpoints, info = [], {}, {}, {}
    train, train_at, held, samples, gate_samples, real, bias = [], [], [], [], [], [], []
    with gate_policy(True):  # this page shows weak models; it does not refuse them
        for role in roles:
            got = load_role(spec.profile, role, progress=getattr(ctx, "progress", False))
            data = dataset_for(spec.profile, role.dataset, role.factor)
            folder = Path(got.path)
            if role.parameterization == "vae":
                rep = vae_gate_report(got, data, p)
                crops = [_spread(crop_pools(data, lab)[1]) for lab in (0, 1)]  # the held-out crops shown
                with torch.no_grad():  # each reconstruction beside the crop it reconstructs
                    shown = [got.decode(got.encode(c)) for c in crops]
                started = shown
                log = {}
                bias.append(np.full((2, len(BIAS_SIGMAS), 3), np.nan))
            else:
                from ..models.vae import LatentDomains
                from ..framework.model_set import latent_space

                space = latent_space(spec.profile, role.dataset, factor=role.factor) if role.space == "latent" else None
                view = data if space is None else LatentDomains(data, space)
                rep = trained_report(got, view, p, space=space)
                D, shape = got.denoiser, input_shape(got.denoiser)
                det = next(iter(samplers(D).values()))   # the gate's deterministic sampler
                shown = [draw_samples(D, det, N_SHOWN, lab, p.steps, shape, 0, N_SHOWN, space) for lab in (0, 1)]
                started = [draw_samples(D, det, N_SHOWN, lab, p.steps, shape, 0, N_SHOWN, space,   # the gate's start
                                        TerminalStart(start_pool(view, lab))) for lab in (0, 1)]
                crops = [_spread(crop_pools(data, lab)[0]) for lab in (0, 1)]  # real training crops beside the samples
                log = read_json(folder / "log.json") or {}
                bias.append(np.stack([_mean_bias(got.denoiser, view, space, lab) for lab in (0, 1)]))
            keys.append(role.key)
            reports[role.key] = rep.to_dict()
            checkpoints[role.key] = str(folder)
            info[role.key] = {"checkpoint": folder.name, "role": role.role, "dataset": role.dataset,
                              "parameterization": role.parameterization, "space": role.space or p.space,
                              "backbone": role.backbone,
                              "device": log.get("device", ""),
                              "steps": (read_json(folder / "config.json") or {}).get("train", {}).get("steps"),
                              "psnr_db": rep.info.get("psnr_db")}
            train.append([v for _, v in log.get("loss", [])]), held.append(log.get("heldout", []))
            train_at.append([s for s, _ in log.get("loss", [])])
            samples.append(torch.stack([s.float().clamp(-1, 1) for s in shown]).numpy())
            gate_samples.append(torch.stack([s.float().clamp(-1, 1) for s in started]).numpy())
            real.append(torch.stack([c.float() for c in crops]).numpy())
    n_train = max((len(t) for t in train), default=0)
    n_held = max((len(h) for h in held), default=0)
    bands = max((len(r) - 1 for h in held for r in h), default=1)
    held_arr = np.full((len(keys), n_held, bands), np.nan)
    for i, h in enumerate(held):
        for j, r in enumerate(h):
            held_arr[i, j, : len(r) - 1] = r[1:]
    ds = xr.Dataset(
        {"passed": ("model", np.array([bool(reports[k]["passed"]) for k in keys])),
         "train_loss": (("model", "train_index"), _pad(train, n_train)),
         "train_step": (("model", "train_index"), _pad(train_at, n_train)),
         "heldout_loss": (("model", "heldout_index", "band"), held_arr),
         "heldout_step": (("model", "heldout_index"), _pad([[r[0] for r in h] for h in held], n_held)),
         "samples": (("model", "label", "image", "channel", "y", "x"), np.stack(samples).astype(np.float32)),
         "gate_samples": (("model", "label", "image", "channel", "y", "x"), np.stack(gate_samples).astype(np.float32)),
         "real": (("model", "label", "image", "channel", "y", "x"), np.stack(real).astype(np.float32)),
         "mean_bias": (("model", "label", "bias_sigma", "bias_channel"), np.stack(bias))},
        coords={"model": keys, "label": [0, 1], "band": np.arange(bands), "bias_sigma": list(BIAS_SIGMAS),
                "bias_channel": [0, 1, 2]},
        attrs={"gate_reports": json.dumps(reports, default=float), "models": json.dumps(info, default=float),
               "checkpoints": json.dumps(checkpoints), "profile": spec.profile})
    from ..framework.oracle_arm import oracle_heldout, with_arm   # the oracle's held-out loss beside each eps / EDM model

    arm = oracle_heldout(spec.profile, roles) if spec.get("oracle_arm", True) else None
    return ds if arm is None or not arm.data_vars else with_arm(ds, arm)


def _mean_bias(D, view, space, label: int) -> np.ndarray:
    """(sigma, channel) relative error of the denoised channel means on a label's training crops; NaN above the
    model's highest noise level and for a latent-space model."""
    from ..framework.quality import crop_pools, denoised_mean_bias

    out = np.full((len(BIAS_SIGMAS), 3), np.nan)
    if space is not None:
        return out
    pool = crop_pools(view, label)[0]
    crops = pool[torch.linspace(0, len(pool) - 1, min(BIAS_CROPS, len(pool))).round().long()]
    levels = [s for s in BIAS_SIGMAS if s <= float(getattr(D, "sigma_max", float("inf"))) * 1.0001]
    if levels:
        t = denoised_mean_bias(D, crops, label, levels).to_numpy()
        out[: len(levels), : t.shape[1]] = t[:, :3]
    return out


def _spread(pool: torch.Tensor) -> torch.Tensor:
    """N_SHOWN crops spread evenly over a pool (neighbouring crops of a strided pool overlap)."""
    return pool[torch.linspace(0, len(pool) - 1, N_SHOWN).round().long()]

