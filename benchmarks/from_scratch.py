"""The main command's work from scratch on this machine: every model of a profile trained and every study computed,
each timed, into one record.

    python -m benchmarks.from_scratch --profile quick --out benchmarks/results/<machine>-<date>-from-scratch.json

Studies run in dependency order into fresh folders (``--work``), so nothing stored is reused; a study's time includes
the models it trained first. On a GPU the lockstep trainer trains and gates the model set first.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path


def shares(keys: list[str], jobs: int) -> list[list[str]]:
    """``keys`` dealt round robin to ``jobs`` processes; a latent model goes after its VAE, in one process."""
    latent = [k for k in keys if k.endswith("-latent")]
    units = [[k, *latent] if k.endswith("-vae") else [k] for k in keys if k not in latent]
    if latent and not any(k.endswith("-vae") for k in keys):
        units.append(latent)
    n = min(jobs, len(units))
    return [sum(units[i::n], []) for i in range(n)]


def work_env(work: Path) -> dict[str, str]:
    """The environment of a from-scratch run: checkpoints and shipped weights under ``work`` (made), every model
    shipped once trained, so data/weights is never used in place of training."""
    for sub in ("checkpoints", "weights"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    return {"SPECTRAL_COLLAPSE_CHECKPOINTS": str(work / "checkpoints"),
            "SPECTRAL_COLLAPSE_WEIGHTS": str(work / "weights"), "SPECTRAL_COLLAPSE_SHIP_WEIGHTS": "1"}


def train_set(profile: str, jobs: int, keys=None) -> float:
    """Train ``profile``'s model set (or ``keys`` of it) in ``jobs`` processes (``shares``); the wall seconds. A process
    that fails raises, naming its models."""
    from spectral_collapse.framework.model_set import model_set

    parts = shares([r.key for r in model_set(keys)], jobs)
    threads = max(1, (os.cpu_count() or 1) // max(1, len(parts)))
    t0 = time.perf_counter()
    procs = [(part, subprocess.Popen([sys.executable, "-m", "spectral_collapse", "train", "--profile", profile,
                                      "--threads", str(threads), "--set", *part])) for part in parts]
    bad = [part for part, p in procs if p.wait() != 0]
    if bad:
        raise RuntimeError(f"training failed for {', '.join(k for part in bad for k in part)}; run "
                           f"`python -m spectral_collapse train --profile {profile} --set <model>` to see why")
    return time.perf_counter() - t0


def _plans(profile: str, keys):
    """(role, model_plan(...)) of each diffusion model of ``profile``'s set (or ``keys`` of it)."""
    from spectral_collapse.framework.model_set import model_set, role_plan

    for role in model_set(keys):
        if role.parameterization != "vae":
            yield role, role_plan(profile, role)


def lockstep_set(profile: str, keys=None) -> dict:
    """Train ``profile``'s model set (or ``keys`` of it) with the lockstep trainer (VAEs first, by their own); the
    round's figures with the phase's wall seconds."""
    from spectral_collapse.framework import model_set as models
    from spectral_collapse.train.lockstep import Job, train_lockstep

    t0 = time.perf_counter()
    for role in models.model_set(keys):
        if role.parameterization == "vae":
            models.load_role(profile, role, progress=False)
    rec = {}
    train_lockstep([Job(*plan) for _, plan in _plans(profile, keys)], root=models.CHECKPOINT_ROOT, record=rec)
    return {**rec, "phase_s": time.perf_counter() - t0}


def gate_set(profile: str, keys=None) -> dict:
    """Gate every diffusion model of the set (reports cached beside the checkpoints): {key: passed} and the seconds."""
    from spectral_collapse.framework.gate import trained_report
    from spectral_collapse.framework.model_set import load_role
    from spectral_collapse.framework.profiles import get_profile

    t0 = time.perf_counter()
    out = {role.key: bool(trained_report(load_role(profile, role, progress=False), data, get_profile(profile),
                                         space=getattr(data, "space", None)).passed)
           for role, (_, _, data, _) in _plans(profile, keys)}
    return {"passed": out, "phase_s": time.perf_counter() - t0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.from_scratch", description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--out", default=None, help="the record (JSON); default: print only")
    ap.add_argument("--work", default="data/from-scratch", help="fresh folder for results, cells and checkpoints")
    ap.add_argument("--study", nargs="*", default=None, help="only these studies (default: every one with results)")
    ap.add_argument("--train-jobs", type=int, default=0,
                    help="train the model set first, this many processes side by side (0: on a GPU the lockstep "
                         "trainer trains it; on a CPU each study trains what it needs)")
    a = ap.parse_args(argv)
    work = Path(a.work)
    os.environ.update(work_env(work))  # read when framework.model_set and train.shipped are imported

    import torch

    from spectral_collapse.pipeline import graph
    from spectral_collapse.pipeline.runner import run_study
    from spectral_collapse.framework import model_set as models
    from spectral_collapse.framework.profiles import study_params
    from spectral_collapse.studies.registry import get_study
    from spectral_collapse.train import shipped
    from spectral_collapse.train.cache import atomic_write_bytes

    from .tables import checkpoint_times

    models.CHECKPOINT_ROOT, shipped.SHIPPED_ROOT = str(work / "checkpoints"), str(work / "weights")  # imported before
    dev = models.study_device()
    rec = {"profile": a.profile, "device": dev, "machine": platform.node(), "python": platform.python_version(),
           "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0) if dev.startswith("cuda") else None,
           "cpu_threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "studies_s": {}, "train_s": {}, "failed": {}}

    def write():  # the record so far, with the training times of every finished model
        rec["train_s"] = {k: v["seconds"] for k, v in checkpoint_times(work / "checkpoints").items()}
        rec["total_studies_s"] = sum(rec["studies_s"].values())
        if "phases_s" in rec:
            rec["phases_s"]["studies"] = rec["total_studies_s"]
        rec["total_train_s"] = sum(rec["train_s"].values())
        if a.out:
            atomic_write_bytes(a.out, json.dumps(rec, indent=1, default=str).encode())

    t_all = time.perf_counter()
    if a.train_jobs == 0 and dev.startswith("cuda"):
        from spectral_collapse.train.trainer import device_name

        rec["device_name"] = device_name(dev)
        rec["lockstep"] = lockstep_set(a.profile)
        rec["gate"] = gate_set(a.profile)
        rec["phases_s"] = {"train": rec["lockstep"]["phase_s"], "gate": rec["gate"]["phase_s"]}
    elif a.train_jobs > 0:
        rec["train_jobs"] = a.train_jobs
        try:
            rec["train_phase_s"] = train_set(a.profile, a.train_jobs)
        except RuntimeError as err:  # the studies train what is missing; the record says what failed here
            rec["failed"]["training"] = str(err)
    write()
    for study in graph.run_order(a.study):
        if get_study(study).run is None:
            continue
        for dataset in graph.datasets(study):
            key = f"{study}/{dataset}"
            t0 = time.perf_counter()
            try:
                run_study(study, dataset=dataset, profile=a.profile, results_root=work / "results",
                          cache_root=work / "cells", **study_params(a.profile, study))
            except Exception as err:  # keep going: one failure must not hide the other studies' times
                rec["failed"][key] = f"{type(err).__name__}: {err}"
                print(f"{key}: FAILED {rec['failed'][key]}\n{traceback.format_exc()[-1500:]}", flush=True)
            else:
                if dev.startswith("cuda"):
                    torch.cuda.synchronize()
                rec["studies_s"][key] = time.perf_counter() - t0
                rec["wall_s"] = time.perf_counter() - t_all
                print(f"{key}: {rec['studies_s'][key]:.1f} s (wall so far {rec['wall_s']:.0f} s)", flush=True)
            write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
