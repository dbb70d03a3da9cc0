"""Train the quick model set in the background, resumably, gate each model and export it to data/weights.

The models are trained at the quick profile's configuration into data/checkpoints (folders named by the
configuration's hash, exactly as the studies name them), gated (``studies.gate``: the report is kept beside the
weights) and exported to data/weights with their gate report. Two lanes of one thread each use a 2-core machine.

    python scripts/train_next.py ihc-sr-x4-eps ihc-edges-eps ...     # one lane: the models named, in order
    python scripts/train_next.py --carry                             # copy unfinished snapshots to data/weights/.resume/

A killed run resumes from its newest snapshot (every 100 steps). ``--carry`` copies each unfinished model's newest
snapshot into data/weights/.resume/<checkpoint>/ so that a fresh clone resumes it too; a lane copies such a
snapshot back before it trains.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CARRY = ROOT / "data" / "weights" / ".resume"  # committed with the shipped weights: a fresh clone resumes


def carry(ckroot: Path) -> None:
    CARRY.mkdir(parents=True, exist_ok=True)
    for ck in sorted(ckroot.glob("*-quick-*")):
        res = ck / "resume"
        if (ck / "DONE").exists() or not (res / "state.pt").is_file():
            continue
        dest = CARRY / ck.name
        shutil.rmtree(dest, ignore_errors=True)
        (dest / "resume").mkdir(parents=True)
        for f in res.iterdir():
            shutil.copy2(f, dest / "resume" / f.name)
        if (ck / "config.json").is_file():
            shutil.copy2(ck / "config.json", dest / "config.json")
        print(f"carried {ck.name}")


def restore(ckroot: Path) -> None:
    for src in sorted(CARRY.glob("*-quick-*")) if CARRY.is_dir() else []:
        ck = ckroot / src.name
        if (ck / "DONE").exists() or (ck / "resume" / "state.pt").is_file():
            continue
        ck.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src / "resume", ck / "resume", dirs_exist_ok=True)
        print(f"restored the snapshot of {src.name}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("keys", nargs="*", help="model-set keys (studies.models.MODEL_SET), in order")
    ap.add_argument("--carry", action="store_true", help="copy unfinished snapshots to data/weights/.resume/")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT / "src"))
    from spectral_collapse.studies.models import CHECKPOINT_ROOT

    ckroot = Path(CHECKPOINT_ROOT)
    if a.carry:
        carry(ckroot)
        return
    import torch

    torch.set_num_threads(a.threads)
    os.environ.setdefault("SPECTRAL_COLLAPSE_SHIP_WEIGHTS", "1")
    restore(ckroot)
    from spectral_collapse.studies.gate import gate_policy
    from spectral_collapse.studies.models import load_role, model_set

    for role in model_set(a.keys):
        with gate_policy(True) as pol:  # measured (and kept beside the weights) as a study would, never refused
            got = load_role("quick", role)
        path = getattr(got, "path", None)
        if path is not None:  # finished and shipped: its carried snapshot is spent
            shutil.rmtree(CARRY / Path(path).name, ignore_errors=True)
        for name, rec in pol.used.items():
            print(f"{role.key}: {name} {'passes' if rec['passed'] else 'fails: ' + rec['failures']}", flush=True)


if __name__ == "__main__":
    main()
