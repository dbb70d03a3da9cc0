"""Command line: python -m spectral_collapse.cli {train, studies, download, ...}."""
from __future__ import annotations

import argparse
import sys


def _train(a):
    import torch
    from .studies.models import trained_model

    if a.threads:
        torch.set_num_threads(a.threads)
    for par in a.param:
        tm = trained_model(a.profile, a.dataset, par, factor=a.factor)
        print(f"{par}: {tm.path}")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="spectral_collapse", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train (or reuse) the models of a profile on a dataset")
    t.add_argument("--profile", default="quick")
    t.add_argument("--dataset", default="ihc-sr")
    t.add_argument("--param", nargs="+", default=["eps", "edm"], help="parameterizations: eps x0 v edm")
    t.add_argument("--factor", type=int, default=None)
    t.add_argument("--threads", type=int, default=None)
    t.set_defaults(fn=_train)
    a = ap.parse_args(argv)
    a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
