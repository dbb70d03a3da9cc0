"""The support leak of each inversion method (metrics.latent.support_leak against the task's support, data/support.py:
ihc-sr the x4 blocks, ihc-edges the grey images) with the exact Gaussian model (models.oracle, float64) and with the
shipped trained networks (data/weights).

    python -m benchmarks.support_leak [--dataset ihc-sr] [--n 16] [--seed 0] [--oracle-only] [--training-seeds 0 1 2]
                                      [--out benchmarks/results/support_leak.json]
    python -m benchmarks.support_leak --grids --training-seeds 0 1 2 --out benchmarks/results/support_grids.json

``--grids``: Euler steps of the eps and the EDM network, each on DDIM's and EDM's sigma grid (a grid below a network's
sigma_min is clamped there): how much of the EDM arm's leak is its network and how much its grid. Crops: the main
results' seed-0 test crops; OVG at their stored Pareto choice (else OVG_DEFAULTS). About a minute for the oracle (after
its eigendecomposition, kept on disk), a few for the trained networks on one CPU thread."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from spectral_collapse.data.support import support_projector
from spectral_collapse.inversion import Euler, default_sigmas, invert, sample_seeds
from spectral_collapse.metrics import latent as lat
from spectral_collapse.framework.method_labels import OVG_DEFAULTS, method_specs
from spectral_collapse.framework.model_set import dataset_for, trained_model
from spectral_collapse.framework.user_models import oracle_models
from spectral_collapse.framework.profiles import get_profile
from spectral_collapse.framework.splits import test_subsets
from spectral_collapse.train.cache import atomic_write_bytes

LABELS = ("ddim", "edm", "ovg", "ovg_edm", "taba", "ovg_taba", "ddim_fill", "ovg_fill")


def ovg_choice(dataset: str) -> dict:
    """The main results' stored OVG setting of ``dataset`` (quick), else the defaults."""
    try:
        import xarray as xr

        with xr.open_dataset(Path(f"data/results/main_results/{dataset}-quick.nc"), engine="h5netcdf") as ds:
            return json.loads(ds.attrs["ovg"])
    except (OSError, KeyError, ValueError):
        return {**OVG_DEFAULTS, "per_base": {}}


def seed_crops(data, n: int, seed: int, n_val: int) -> tuple[list, torch.Tensor, object]:
    """(indices, crops, support projector) of the main results' seed-``seed`` test crops of ``data``."""
    crops = test_subsets(data.test_source.shape[0], n, [seed], n_val)[seed]
    x = data.test_source[crops]
    return crops, x, support_projector(data.task, tuple(x.shape[1:]))


def _inverted(D, x, sig, method, projector, guidance=None, seeds=None) -> tuple[dict, torch.Tensor, object]:
    """({leak_mean, leak_min, leak_max, s_dc} over the crops, the latents, the trajectory) of inverting ``x``."""
    tr = invert(D, x, sig, method, guidance=guidance, seeds=seeds)
    z = D.to_noise(tr.x, float(sig[0])).double()
    leak = lat.support_leak(z, projector)
    return {"leak_mean": float(np.nanmean(leak)), "leak_min": float(np.nanmin(leak)),
            "leak_max": float(np.nanmax(leak)), "s_dc": float(lat.decorrelation(z.float()).s_dc.mean())}, z, tr


def leaks(models: dict, x: torch.Tensor, labels, steps: int, seed: int, projector, dtype, op: dict) -> dict:
    """{label: scores} of inverting ``x`` with each method label on ``models`` ({"eps", "edm"}), OVG at ``op``."""
    out = {}
    for ms in method_specs(labels, eta_hf=op["eta_hf"], eta_lf=op["eta_lf"], per_base=op.get("per_base"),
                           projector=projector):
        D = models[ms.parameterization]
        t0 = time.perf_counter()
        row, z, tr = _inverted(D, x.to(dtype), default_sigmas(D, steps), ms.method, projector, ms.guidance,
                               sample_seeds(seed, range(len(x))))
        out[ms.label] = {**row, "norm_ratio": float(lat.sample_norm_ratio(z).mean()), "finite": int(tr.finite.sum()),
                         "seconds": time.perf_counter() - t0,
                         "guidance": None if ms.guidance is None else {"eta_hf": ms.guidance.eta_hf,
                                                                        "eta_lf": ms.guidance.eta_lf}}
        print(f"{ms.label:10s} leak {row['leak_mean']:.3g} [{row['leak_min']:.3g}, {row['leak_max']:.3g}]  "
              f"S_DC {row['s_dc']:.3f}  |x_T|^2/d {out[ms.label]['norm_ratio']:.3f}", flush=True)
    return out


def grid_leaks(models: dict, x: torch.Tensor, steps: int, projector, dtype) -> list[dict]:
    """One row per (network, grid) of ``models`` ({"eps", "edm"}): the leak (mean, min, max over the crops) and S_DC of
    Euler inversion of ``x`` on the grid, and whether the grid reaches below the network's sigma_min (``clamped``)."""
    grids = {"ddim": default_sigmas(models["eps"], steps), "edm": default_sigmas(models["edm"], steps)}
    rows = []
    for net, D in models.items():
        for grid, sig in grids.items():
            low = float(sig[sig > 0].min())
            rows.append({"network": net, "grid": grid, **_inverted(D, x.to(dtype), sig, Euler(), projector)[0],
                         "sigma_max": float(sig[0]), "sigma_low": low,
                         "clamped": bool(low < float(D.sigma_min) * (1 - 1e-6))})
            print(f"{net:4s} network on the {grid:4s} grid: leak {rows[-1]['leak_mean']:.3g}  "
                  f"S_DC {rows[-1]['s_dc']:.3f}", flush=True)
    return rows


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="ihc-sr", choices=("ihc-sr", "ihc-edges"))
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--labels", nargs="*", default=list(LABELS))
    ap.add_argument("--oracle-only", action="store_true")
    ap.add_argument("--training-seeds", type=int, nargs="*", default=[0])
    ap.add_argument("--grids", action="store_true", help="network x grid instead of the method labels")
    ap.add_argument("--out", default=None)
    a = ap.parse_args(argv)
    p = get_profile("quick")
    data, op = dataset_for("quick", a.dataset), ovg_choice(a.dataset)
    crops, x, P = seed_crops(data, a.n, a.seed, p.n_val)
    result = {"dataset": a.dataset, "profile": "quick", "crops": crops, "steps": p.steps, "support": P.describe(),
              **({} if a.grids else {"ovg": op}), "oracle": {}, "trained": {}}
    if a.grids:
        score = lambda models, dtype: grid_leaks(models, x, p.steps, P, dtype)
    else:
        score = lambda models, dtype: leaks(models, x, a.labels, p.steps, a.seed, P, dtype, op)
        print("oracle (float64)", flush=True)
    result["oracle"] = score(oracle_models("quick", a.dataset), torch.float64)
    for s in [] if a.oracle_only else a.training_seeds:
        if not a.grids:
            print(f"trained networks, training seed {s}", flush=True)
        models = {par: trained_model("quick", a.dataset, par, seed=s, progress=False).denoiser
                  for par in ("eps", "edm")}
        result["trained"][str(s)] = score(models, torch.float32)
    if a.out:
        atomic_write_bytes(Path(a.out), json.dumps(result, indent=1).encode())
    return result


if __name__ == "__main__":
    main()
