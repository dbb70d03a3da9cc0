"""The device check in one run: training model-steps per second of K models in lockstep, and the inversion loop's
network evaluations per second, each eager and with CUDA graphs.

    python -m benchmarks.gpu_check [--seconds 8] [--out FILE]      # scripts/gpu_check.sh runs it on a lent GPU
    python -m benchmarks.gpu_check --tiny                          # a few seconds, on a CPU: checks that it runs

Training (``train.lockstep``): the quick eps U-Net on the bundled ihc-sr crops (batch 32), K = 1, 8 and 16 copies.
Inversion (``inversion.graphs``): the same network untrained at batch 32, DDIM sampling (network evaluations per
second) and OVG-guided DDIM inversion (guided steps per second), graphs on and off. Each figure is a rate over
``--seconds`` after a warm-up; on a CPU the CUDA lines print as skipped."""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import torch


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rate(fn, seconds: float, units_per_call: float, device) -> float:
    """units per second of ``fn`` over ``seconds`` (at least two calls), after one warm-up call."""
    fn()
    _sync(device)
    n, t0 = 0, time.perf_counter()
    while n < 2 or time.perf_counter() - t0 < seconds:
        fn()
        n += 1
        _sync(device)
    return n * units_per_call / (time.perf_counter() - t0)


@lru_cache(maxsize=None)
def quick_setting(tiny: bool):
    """(ModelSpec, TrainConfig, data, batch): the quick eps U-Net on ihc-sr, or the smoke one on 16 px for --tiny."""
    from spectral_collapse.studies.models import dataset_for
    from spectral_collapse.studies.profiles import get_profile

    p = get_profile("smoke" if tiny else "quick")
    cfg = p.train_config("eps", "ihc-sr")
    batch = 4 if tiny else 32
    cfg = replace(cfg, steps=200 if tiny else 20_000, batch_size=batch, checkpoint_every=10**9)
    return p.model_spec("eps", "ihc-sr"), cfg, dataset_for(p.name, "ihc-sr"), batch


def training_rate(K: int, graphs: bool, seconds: float, device, tiny: bool) -> float:
    """Model-steps per second of K models in lockstep (``train.lockstep.Member``), no checkpoints written."""
    from spectral_collapse.train.lockstep import Job, Member
    from spectral_collapse.train.trainer import full_config

    spec, cfg, data, _ = quick_setting(tiny)
    with tempfile.TemporaryDirectory() as tmp:
        members = []
        for k in range(K):
            job = Job(spec, replace(cfg, seed=k), data, f"check-{k}")
            members.append(Member(job, full_config(job.spec, job.cfg, data), Path(tmp) / job.name, device, None))
        if graphs:
            for m in members:
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
    while len(x) < batch:
        x = torch.cat([x, x])[:batch]
    steps = 10
    up = torch.linspace(float(D.sigma_min), 10.0, steps + 1, dtype=torch.float64)
    before = os.environ.get(ENV)
    os.environ[ENV] = "1" if graphs else "0"
    try:
        smp = _rate(lambda: integrate(D, x, up.flip(0), 1, Euler()), seconds, steps, device)
        ovg = _rate(lambda: integrate(D, x, up, 0, Euler(), guidance=OVG(), x_ref=x), seconds, steps, device)
    finally:
        os.environ.pop(ENV) if before is None else os.environ.__setitem__(ENV, before)
    return {"sampling_nfe_per_s": smp, "ovg_steps_per_s": ovg}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=8.0, help="measuring time of each figure")
    ap.add_argument("--tiny", action="store_true", help="the smoke network, K = 1 and 2, short: checks that it runs")
    ap.add_argument("--out", default=None, help="write the record (JSON) here")
    a = ap.parse_args(argv)
    from spectral_collapse.train.trainer import device_name

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    seconds = 0.5 if a.tiny else a.seconds
    rec = {"device": device_name(device), "torch": torch.__version__, "seconds": seconds, "training": {},
           "inversion": {}}
    print(f"device: {rec['device']} (torch {torch.__version__})", flush=True)

    def line(section, name, value, unit):
        rec[section][name] = value
        shown = "skipped (CUDA only)" if value is None else f"{value:.1f} {unit}"
        print(f"{section} {name}: {shown}", flush=True)

    ks = (1, 2) if a.tiny else (1, 8, 16)
    line("training", "K=1 eager", training_rate(1, False, seconds, device, a.tiny), "model-steps/s")
    for K in ks:
        rate = training_rate(K, True, seconds, device, a.tiny) if cuda else None
        line("training", f"K={K} cuda graphs", rate, "model-steps/s")
    for graphs in (False, True):
        tag = "cuda graphs" if graphs else "eager"
        got = inversion_rates(graphs, seconds, device, a.tiny) if (cuda or not graphs) else None
        line("inversion", f"DDIM sampling {tag}", None if got is None else got["sampling_nfe_per_s"], "NFE/s")
        line("inversion", f"OVG-guided steps {tag}", None if got is None else got["ovg_steps_per_s"], "steps/s")
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(rec, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
