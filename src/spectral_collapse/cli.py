"""Command line: python -m spectral_collapse {train, studies, report, download, weights}."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from .environ import whole
from .studies.registry import STUDIES
from .text import plural


def _train(a):
    import torch
    from .framework.model_set import CHECKPOINT_ROOT, load_role, model_set, trained_model

    if a.threads:
        torch.set_num_threads(a.threads)
    if a.cluster:
        if a.set is None:
            raise SystemExit("--cluster trains the model set as lockstep rounds: add --set (the whole set) or "
                             "--set KEY ... (the models named)")
        from .pipeline.cluster import open_cluster, train_model_set

        with open_cluster(a.cluster, a.jobs, a.threads or 1, shared=(CHECKPOINT_ROOT,)) as client:
            trained = train_model_set(client, a.profile, a.set or None, rounds=a.jobs)
        rounds = plural(max(1, min(a.jobs, len(trained))), "round")
        print(f"{plural(len(trained), 'model')} trained on {a.cluster} in {rounds}", flush=True)
    if a.set is not None:
        from .framework.gate import gate_policy

        for role in model_set(a.set or None):
            with gate_policy(True) as gate:  # each model's gate measured (and kept beside its weights), never refused
                got = load_role(a.profile, role)
            print(f"{role.key}: {getattr(got, 'path', None) or got.identity.get('checkpoint', '')}")
            for name, rec in gate.used.items():
                print(f"  {name}: {'passes' if rec['passed'] else 'fails: ' + rec['failures']}", flush=True)
        return
    for par in a.param:
        tm = trained_model(a.profile, a.dataset, par, factor=a.factor, options=a.data_options or {})
        print(f"{par}: {tm.path}")


def _weights(a):
    from .framework.model_set import CHECKPOINT_ROOT
    from .train.shipped import SHIPPED_ROOT, export, shipped_size

    root = Path(a.checkpoints or CHECKPOINT_ROOT)
    done = sorted(p for p in root.glob(f"*-{a.profile}-*") if (p / "DONE").exists())
    if not done:
        raise FileNotFoundError(f"no finished {a.profile} checkpoint under {root}; train the models first "
                                f"(`make book` or `python -m spectral_collapse train`)")
    for ckpt in done:
        print(f"{ckpt.name} -> {export(ckpt, a.out)}")
    out = a.out or SHIPPED_ROOT
    print(f"{len(done)} checkpoints, {shipped_size(out) / 2**20:.1f} MiB under {out}")


def _studies(a):
    from .pipeline.execute import run_studies

    knobs = {"data_options": a.data_options, "model": a.model, "models": a.models,
             "allow_weak_model": True if a.allow_weak_model else None}
    _progress_on(a.quiet)
    done = run_studies(a.profile, a.study or None, a.dataset or None, root=a.root, results_root=a.results_root,
                       force=a.force, jobs=a.jobs, knobs=knobs, book_dir=a.book_dir, threads=a.threads,
                       cluster=a.cluster)
    print(f"{plural(len(done), 'study notebook')} executed" if done else "all study notebooks up to date")


def _report(a):
    from .pipeline.report import build_report

    _progress_on(a.quiet)
    build_report(a.data, model=a.model, models=a.models, data_options=a.data_options, profile=a.profile, out=a.out,
                 jobs=a.jobs, force=a.force, allow_weak_model=True if a.allow_weak_model else None,
                 studies=a.study or None, html=not a.no_html, threads=a.threads, cluster=a.cluster)


def _download(a):
    from .data.download import HTTP_ENV, download_dataset, lock_path

    if a.allow_http:
        os.environ[HTTP_ENV] = "1"
    print(download_dataset(a.name, a.root))
    print(f"checked against (or recorded in) {lock_path(a.root)}", file=sys.stderr)


def _progress_on(quiet: bool) -> None:
    """Let the kernels this command starts draw their cells' progress bars on its terminal (framework.cells.cell_bar)."""
    from .framework.cells import ENV

    os.environ[ENV] = "0" if quiet else os.environ.get(ENV) or "1"


def _json(flag: str):
    """An argparse type: the option's JSON value parsed; a clear error naming the flag (SystemExit) otherwise."""
    def parse(text: str):
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise SystemExit(f"{flag} {text!r} is not valid JSON ({err}); e.g. {flag} '{{\"task\": \"sr\", "
                             f"\"factor\": 4}}'") from None
    return parse


def _whole(minimum: int, what: str):
    """An argparse type: a whole number >= minimum (so --factor 0 is refused, not read as 'not given')."""
    def parse(text: str) -> int:
        value = whole(text, minimum)
        if value is None:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number >= {minimum}, got {text!r}")
        return value
    return parse


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is running so that it cleans up as after Ctrl-C."""


def _raise_terminated(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise _Terminated


_THREADS = _whole(1, "the number of torch threads")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="spectral_collapse", description=__doc__)
    ap.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train (or reuse) the models of a profile on a dataset")
    t.add_argument("--dataset", default="ihc-sr", help="a dataset name, or folder:<path> for your own folders")
    t.add_argument("--param", nargs="+", default=["eps", "edm"], help="parameterizations: eps x0 v edm flow")
    t.add_argument("--factor", type=_whole(2, "the SR factor"), default=None,
                   help="SR factor, a whole number >= 2 (default: the profile's)")
    t.add_argument("--threads", type=_THREADS, default=None)
    t.add_argument("--set", nargs="*", default=None, metavar="KEY",
                   help="train the profile's model set on the bundled data (framework.model_set.MODEL_SET), or the "
                        "models of it named, in that order (e.g. --set ihc-sr-x4-eps ihc-sr-x4-edm), and print "
                        "each one's quality gate")
    t.add_argument("--cluster", default=None, metavar="WHERE",
                   help="with --set: the diffusion models' lockstep rounds as Dask tasks (each holding a GPU where "
                        "the workers declare one): 'local', tcp://host:8786 or a dask-jobqueue name (book/cluster.md)")
    t.add_argument("--jobs", type=_whole(1, "the number of training rounds"), default=2,
                   help="with --cluster: the rounds (and a local cluster's worker processes; default 2)")
    s = sub.add_parser("studies", help="execute the study notebooks that are missing or stale into book/studies/")
    s.add_argument("--dataset", nargs="*", default=None,
                   help="dataset names, or folder:<path> for your own folders (default: each study's datasets)")
    s.add_argument("--model", default=None, metavar="PATH",
                   help="a diffusers pipeline folder (or hub id) the studies that take one use instead of training; "
                        "'oracle': the exact Gaussian denoiser of the data's two domains (models.oracle)")
    s.add_argument("--results-root", default="data/results", metavar="DIR",
                   help="where results are read and stored, <DIR>/<study>/<dataset>-<profile>.nc (default: "
                        "data/results)")
    s.add_argument("--root", default=None, help="the checkout whose notebooks/ and book/ are used (default: this one)")
    s.add_argument("--book-dir", default=None, metavar="DIR",
                   help="where the executed chapters are written (default: book/studies of --root)")
    r = sub.add_parser("report", help="build a book for your data and your diffusers model in a folder of its own "
                                      "(results, cells, chapters, HTML); the project's book/ and data/ are left alone")
    r.add_argument("--data", required=True, metavar="DATASET",
                   help="folder:<path> (your source/ and target/ folders, docs/datasets.md) or a dataset name")
    r.add_argument("--model", default=None, metavar="PATH",
                   help="your diffusers pipeline folder (unet/ or transformer/, scheduler/) or hub id; 'oracle': the "
                        "exact Gaussian denoiser of your two domains (models.oracle, not gated)")
    r.add_argument("--out", default=None, metavar="DIR",
                   help="the report's folder (default: reports/<data>--<model>-<profile>-<content digest>)")
    r.add_argument("--no-html", action="store_true", help="write the chapters and pages, skip jupyter-book build")
    for p in (t, s, r):
        p.add_argument("--data-options", type=_json("--data-options"), default=None, metavar="JSON",
                       help='loader options, e.g. \'{"task": "sr", "factor": 4}\' (docs/datasets.md)')
    for p in (s, r):
        p.add_argument("--study", nargs="*", default=None, metavar="STUDY",
                       help=f"only these studies, of: {', '.join(STUDIES)} (default: every one that applies)")
        p.add_argument("--force", action="store_true", help="execute every chapter again")
        p.add_argument("--jobs", default="1",
                       help="studies run side by side, each on a Dask worker process with cores/jobs torch threads; a "
                            "study waits for the studies it reads (default 1: one after another; 'auto': the cores, at most "
                            "4, or 1 with a GPU)")
        p.add_argument("--cluster", default=None, metavar="WHERE",
                       help="run the studies, and their cells, as Dask tasks: 'local' (a LocalCluster of --jobs "
                            "worker processes), a scheduler's address (tcp://host:8786) or a dask-jobqueue name "
                            "(slurm, pbs, ... from ~/.config/dask/jobqueue.yaml; book/cluster.md)")
        p.add_argument("--models", type=_json("--models"), default=None, metavar="JSON",
                       help='two models instead, \'{"source": PATH, "target": PATH}\': invert with the first, sample '
                            'with the second')
        p.add_argument("--allow-weak-model", action="store_true",
                       help="run on models below the quality gate instead of refusing them (each chapter then carries "
                            "a warning); default: the profile's allow_weak_models (smoke: every model; quick: the "
                            "model-set entries it lists; paper: none)")
        p.add_argument("--threads", type=_THREADS, default=None,
                       help="torch threads per study kernel (default: $SPECTRAL_COLLAPSE_THREADS, else "
                            "$OMP_NUM_THREADS, else the cores / jobs)")
        p.add_argument("--quiet", action="store_true", help="no progress bars from inside the studies' cells")
    d = sub.add_parser("download", help="download and prepare a real dataset (bbbc021, edges2shoes)")
    d.add_argument("name")
    d.add_argument("--root", default=None)
    d.add_argument("--allow-http", action="store_true",
                   help="allow plain http:// addresses (a mirror without https); refused otherwise")
    w = sub.add_parser("weights", help="write the shipped form (float16 EMA weights, hashed) of a profile's trained "
                                       "checkpoints into data/weights, and reinstall each checkpoint from it")
    w.add_argument("--checkpoints", default=None, help="checkpoint folder (default data/checkpoints)")
    w.add_argument("--out", default=None, help="shipped-weights folder (default data/weights)")
    for p in (t, s, r, w):
        p.add_argument("--profile", default="quick", help="smoke (minutes, numbers mean nothing) | quick | paper")
    for p, fn in ((t, _train), (s, _studies), (r, _report), (d, _download), (w, _weights)):
        p.set_defaults(fn=fn)
    return ap


def main(argv=None):
    a = _parser().parse_args(argv)
    try:   # SIGTERM (a scheduler, `timeout`, the side-by-side runner) cleans up as Ctrl-C does
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: signals are left as they are
        previous = None
    try:
        a.fn(a)
    except _Terminated:
        print("terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # the message first, in one line; the traceback after it with --debug
        from .pipeline.parallel import failure_line, notebook_traceback

        notebook = getattr(err, "ename", None)   # a study notebook's error (papermill): its own class and message
        print(f"error: {failure_line(err)} (in a study notebook; --debug shows its traceback)" if notebook else
              f"error: {err} ({type(err).__name__}; --debug shows the traceback)", file=sys.stderr)
        if a.debug:
            print(notebook_traceback(err), file=sys.stderr, flush=True)
            raise
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
