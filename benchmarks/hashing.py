"""What recognising content by its bytes costs: SHA-256 of weights, data and a 10,000-image folder.

``python -m benchmarks.hashing [--images 10000] [--repeats 3]`` writes ``benchmarks/results/hashing.json``:

* ``shipped_weights``: every file under data/weights hashed (``digest.tree_sha256``), in seconds and MB/s, and the
  largest weight file hashed against loading it (``safetensors.torch.load_file``) as a ratio;
* ``bundled_data``: the SHA-256 of the bundled dataset's crops at the quick profile's size (the data part of a
  results key) against building those crops, as a ratio;
* ``image_folder``: a generated folder of small PNGs (``--images``, in /tmp, deleted after): the folder hashed the
  first time in a process, hashed again (each digest remembered while the file's stat stamp holds), listing the
  files' sizes and modification times only (what a size + mtime signature costs), and ``load_folder`` decoding the
  same images, with the ratios of hashing to each.

Seconds are medians over ``--repeats`` (first-time hashing in a fresh digest memory each repeat; the files stay in
the page cache, so these are hashing costs, not cold-disk reads).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from .common import ROOT, environment, stats, timed

__all__ = ["run", "main"]

OUT = ROOT / "benchmarks" / "results" / "hashing.json"


def _median(fn, repeats: int, before=None) -> float:
    walls = []
    for _ in range(repeats):
        if before is not None:
            before()
        walls.append(timed(fn)[0])
    return stats(walls)["median"]


def _forget() -> None:
    from spectral_collapse import digest

    digest.forget_hashes()


def _weights(repeats: int) -> dict:
    from safetensors.torch import load_file

    from spectral_collapse.digest import file_sha256, tree_sha256

    root = ROOT / "data" / "weights"
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    tree = _median(lambda: tree_sha256(root), repeats, _forget)
    ema = max(root.rglob("*.safetensors"), key=lambda p: p.stat().st_size)
    hash_one = _median(lambda: file_sha256(ema), repeats, _forget)
    load_one = _median(lambda: load_file(str(ema)), repeats)
    return {"files": sum(1 for p in root.rglob("*") if p.is_file()), "megabytes": round(size / 1e6, 2),
            "hash_all_s": tree, "megabytes_per_s": round(size / 1e6 / tree, 1),
            "largest_weights": {"file": ema.relative_to(ROOT).as_posix(), "megabytes": round(ema.stat().st_size / 1e6, 2),
                            "hash_s": hash_one, "load_s": load_one, "hash_over_load": hash_one / load_one}}


_BUNDLED = """
import hashlib, json, time
from spectral_collapse.studies.models import dataset_for
t0 = time.perf_counter()
data = dataset_for("quick", "ihc-sr")
t1 = time.perf_counter()
h = hashlib.sha256()
parts = [getattr(data, p).detach().cpu().contiguous().numpy() for p in ("source", "target", "test_source", "test_target")]
for a in parts:
    h.update(a.tobytes())
t2 = time.perf_counter()
print(json.dumps({"build_s": t1 - t0, "hash_s": t2 - t1, "bytes": sum(a.nbytes for a in parts)}))
"""


def _bundled(repeats: int) -> dict:
    """In a fresh process each repeat (the bundled crops are cached per process once built)."""
    import subprocess
    import sys

    runs = [json.loads(subprocess.run([sys.executable, "-c", _BUNDLED], capture_output=True, text=True, check=True,
                                      cwd=ROOT).stdout.strip().splitlines()[-1]) for _ in range(repeats)]
    hash_s = stats([r["hash_s"] for r in runs])["median"]
    build_s = stats([r["build_s"] for r in runs])["median"]
    return {"dataset": "ihc-sr", "profile": "quick", "megabytes": round(runs[0]["bytes"] / 1e6, 2),
            "hash_s": hash_s, "build_s": build_s, "hash_over_build": hash_s / build_s}


def _write_images(root: Path, n: int, size: int = 16) -> int:
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(n):
        part = root / ("source" if i % 2 == 0 else "target")
        part.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(part / f"im{i:05d}.png")
    return sum(p.stat().st_size for p in root.rglob("*.png"))


def _folder(n: int, repeats: int) -> dict:
    from spectral_collapse.data import load_folder
    from spectral_collapse.digest import SETTLED_NS, tree_sha256

    tmp = Path(tempfile.mkdtemp(prefix="hashing-bench-"))
    try:
        total = _write_images(tmp, n)
        time.sleep(SETTLED_NS / 1e9 + 0.5)        # files old enough for their digests to be remembered
        folders = [tmp / "source", tmp / "target"]

        def hash_all():
            return [tree_sha256(f) for f in folders]

        def stat_all():
            return [tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(f.iterdir()))
                    for f in folders]

        first = _median(hash_all, repeats, _forget)
        hash_all()
        again = _median(hash_all, repeats)
        listed = _median(stat_all, repeats)
        load = _median(lambda: load_folder(tmp, size=16), 1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"images": n, "image_px": 16, "megabytes": round(total / 1e6, 2), "hash_first_s": first,
            "hash_again_s": again, "stat_only_s": listed, "load_folder_s": load,
            "hash_first_over_load": first / load, "hash_first_over_stat": first / listed,
            "hash_again_over_stat": again / listed}


def run(images: int = 10_000, repeats: int = 3) -> dict:
    return {"benchmark": "hashing", "environment": environment(), "repeats": repeats,
            "shipped_weights": _weights(repeats), "bundled_data": _bundled(repeats),
            "image_folder": _folder(images, repeats)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.hashing", description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=10_000, help="PNG files in the generated folder")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats of each measure (median)")
    ap.add_argument("--out", type=Path, default=OUT, help="where the record is written")
    args = ap.parse_args(argv)
    record = run(args.images, args.repeats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, args.out)
    print(json.dumps({k: v for k, v in record.items() if k != "environment"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
