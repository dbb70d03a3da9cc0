"""The paper-scale U-Net timing behind the reproducing chapter's compute estimate
(``tables.reproducing.paper_scale_estimate`` reads it).

    python -m benchmarks.paper_unet      # a minute on one CPU core: data/results/reproducing/paper-unet-cpu.json
    python -m benchmarks.paper_unet --threads 2
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from spectral_collapse.framework.profiles import get_profile
from spectral_collapse.tables.reproducing import TIMING_FILE
from spectral_collapse.train.cache import atomic_write_bytes

from .common import timed


def measure_paper_unet(batch: int = 2, repeats: int = 2, threads: int = 1, root: str | Path = "data/results") -> dict:
    """Time the paper profile's U-Net (random weights) on this CPU, forward and forward + backward, per image, with its
    parameters and forward FLOPs (``torch.utils.flop_counter``); written under ``root``, torch left at ``threads``
    threads."""
    torch.set_num_threads(threads)
    prof = get_profile("paper")
    D = prof.model_spec("eps").build().eval()
    c, side = prof.diffused_shape()
    x = torch.randn(batch, c, side, side)
    sigma = torch.full((batch,), 1.0)
    label = torch.zeros(batch, dtype=torch.long)

    def fwd():
        with torch.no_grad():
            D(x, sigma, label)

    def fwd_bwd():
        D(x.clone().requires_grad_(True), sigma, label).eps.square().mean().backward()

    fwd()  # warm-up
    times = {}
    for name, fn in (("forward", fwd), ("forward_backward", fwd_bwd)):
        wall, cpu = np.median([timed(fn) for _ in range(repeats)], axis=0)
        times[name] = {"cpu_s_per_image": float(cpu) / batch, "wall_s_per_image": float(wall) / batch}
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        D(x[:1], sigma[:1], label[:1])
    out = {"profile": "paper", "shape": [c, side, side], "batch": batch, "repeats": repeats, "threads": threads,
           "parameters": int(sum(p.numel() for p in D.parameters())), "forward_flops": int(fc.get_total_flops()),
           **times, "machine": {"cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
                                "torch": torch.__version__, "load_average": list(os.getloadavg())},
           "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    atomic_write_bytes(Path(root) / TIMING_FILE, json.dumps(out, indent=1).encode())
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.paper_unet", description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    a = ap.parse_args(argv)
    out = measure_paper_unet(threads=a.threads)
    print(f"forward {out['forward']['cpu_s_per_image']:.3f} CPU-s / image, forward + backward "
          f"{out['forward_backward']['cpu_s_per_image']:.3f}; wrote data/results/{TIMING_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
