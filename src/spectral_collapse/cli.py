"""Command line: python -m spectral_collapse {train, studies, report, download, weights} (also python -m spectral_collapse.cli)."""
from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path

from .environ import whole
from .text import plural


def _train(a):
    import torch
    from .studies.models import trained_model

    if a.threads:
        torch.set_num_threads(a.threads)
    if a.set is not None:
        from .studies.models import load_role, model_set

        for role in model_set(a.set or None):
            got = load_role(a.profile, role)
            print(f"{role.key}: {getattr(got, 'path', None) or got.identity.get('checkpoint', '')}")
        return
    options = _json_arg("--data-options", a.data_options) or {}
    for par in a.param:
        tm = trained_model(a.profile, a.dataset, par, factor=a.factor, options=options)
        print(f"{par}: {tm.path}")


def _weights(a):
    from .studies.models import CHECKPOINT_ROOT
    from .train.shipped import SHIPPED_ROOT, export, shipped_size

    root = Path(a.checkpoints or CHECKPOINT_ROOT)
    done = sorted(p for p in root.glob(f"*-{a.profile}-*") if (p / "DONE").exists())
    if not done:
        raise FileNotFoundError(f"no finished {a.profile} checkpoint under {root}; train the models first "
                                f"(`make book` or `python -m spectral_collapse train`)")
    for ckpt in done:
        print(f"{ckpt.name} -> {export(ckpt, a.out)}")
    print(f"{len(done)} checkpoints, {shipped_size(a.out or SHIPPED_ROOT) / 2**20:.1f} MiB under {a.out or SHIPPED_ROOT}")


def _studies(a):
    from .pipeline.execute import recorded_costs, restamp, run_studies

    if a.restamp:
        for p in restamp(a.profile, results_root=a.results_root):
            print(f"adopted {p}")
        return

    if a.costs and not Path(a.costs).is_file():
        raise SystemExit(f"--costs {a.costs}: no such file; give a timed main command's record (e.g. --costs "
                         f"benchmarks/results/main_command.json) or leave --costs out")
    costs = recorded_costs(a.costs) if a.costs else None
    knobs = {"data_options": _json_arg("--data-options", a.data_options), "model": a.model,
             "models": _json_arg("--models", a.models), "allow_weak_model": True if a.allow_weak_model else None}
    _progress_on(a.quiet)
    done = run_studies(a.profile, a.study or None, a.dataset or None, root=a.root, results_root=a.results_root,
                       force=a.force, jobs=a.jobs, costs=costs, knobs=knobs, book_dir=a.book_dir, threads=a.threads)
    print(f"{plural(len(done), 'study notebook')} executed" if done else "all study notebooks up to date")


def _report(a):
    from .pipeline.report import build_report

    _progress_on(a.quiet)
    build_report(a.data, model=a.model, models=_json_arg("--models", a.models),
                 data_options=_json_arg("--data-options", a.data_options), profile=a.profile, out=a.out, jobs=a.jobs,
                 force=a.force, allow_weak_model=True if a.allow_weak_model else None, studies=a.study or None,
                 html=not a.no_html, threads=a.threads)


def _progress_on(quiet: bool) -> None:
    """Let the kernels this command starts draw their cells' progress bars on its terminal (studies.cells.cell_bar)."""
    import os

    from .studies.cells import ENV

    os.environ[ENV] = "0" if quiet else os.environ.get(ENV) or "1"


def _json_arg(flag: str, text: str | None):
    """A JSON option's value (None when not given); a clear error naming the flag otherwise."""
    import json

    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise SystemExit(f"{flag} {text!r} is not valid JSON ({err}); e.g. {flag} '{{\"task\": \"sr\", "
                         f"\"factor\": 4}}'") from None


def _whole(minimum: int, what: str):
    """An argparse type: a whole number >= minimum (so --factor 0 is refused, not read as 'not given')."""
    def parse(text: str) -> int:
        value = whole(text, minimum)
        if value is None:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number >= {minimum}, got {text!r}")
        return value
    return parse


def _download(a):
    import os

    from .data.download import HTTP_ENV, download_dataset
    from .data.lockfile import lock_path

    if a.allow_http:
        os.environ[HTTP_ENV] = "1"
    print(download_dataset(a.name, a.root))
    print(f"checked against (or recorded in) {lock_path(a.root)}", file=sys.stderr)


_WEAK_HELP = ("run on models below the quality gate instead of refusing them (each chapter then carries a "
              "warning); default: the profile's allow_weak_models (smoke: every model; quick: the model-set "
              "entries it lists; paper: none)")


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is running so that it cleans up as after Ctrl-C."""


def _raise_terminated(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise _Terminated


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Within the block, SIGTERM raises ``_Terminated`` (a KeyboardInterrupt) instead of ending the process."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: signals are left as they are
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_flags(p) -> None:
    p.add_argument("--threads", type=_whole(1, "the number of torch threads"), default=None,
                   help="torch threads per study kernel (default: $SPECTRAL_COLLAPSE_THREADS, else $OMP_NUM_THREADS, "
                        "else the cores / jobs)")
    p.add_argument("--quiet", action="store_true", help="no progress bars from inside the studies' cells")


def _model_options(p, model_help: str) -> None:
    """The options that name the data's loader options and the user's model(s), shared by studies and report."""
    p.add_argument("--data-options", default=None, metavar="JSON",
                   help='loader options, e.g. \'{"task": "sr", "factor": 4}\' (docs/datasets.md)')
    p.add_argument("--model", default=None, metavar="PATH", help=model_help)
    p.add_argument("--models", default=None, metavar="JSON",
                   help='two models instead, \'{"source": PATH, "target": PATH}\': invert with the first, sample '
                        'with the second')


def main(argv=None):
    ap = argparse.ArgumentParser(prog="spectral_collapse", description=__doc__)
    ap.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train (or reuse) the models of a profile on a dataset")
    t.add_argument("--profile", default="quick")
    t.add_argument("--dataset", default="ihc-sr", help="a dataset name, or folder:<path> for your own folders")
    t.add_argument("--data-options", default=None, metavar="JSON",
                   help='loader options, e.g. \'{"task": "sr", "factor": 4}\' (docs/datasets.md)')
    t.add_argument("--param", nargs="+", default=["eps", "edm"], help="parameterizations: eps x0 v edm flow")
    t.add_argument("--factor", type=_whole(2, "the SR factor"), default=None,
                   help="SR factor, a whole number >= 2 (default: the profile's)")
    t.add_argument("--threads", type=_whole(1, "the number of torch threads"), default=None)
    t.add_argument("--set", nargs="*", default=None, metavar="KEY",
                   help="train the profile's model set on the bundled data (studies.models.MODEL_SET), or the "
                        "models of it named, in that order (e.g. --set ihc-sr-x4-eps ihc-sr-x4-edm)")
    t.set_defaults(fn=_train)
    s = sub.add_parser("studies", help="execute the study notebooks that are missing or stale into book/studies/")
    s.add_argument("--profile", default="quick")
    s.add_argument("--study", nargs="*", default=None)
    s.add_argument("--dataset", nargs="*", default=None,
                   help="dataset names, or folder:<path> for your own folders (default: each study's datasets)")
    _model_options(s, "a diffusers pipeline folder (or hub id) the studies that take one use instead of training")
    s.add_argument("--allow-weak-model", action="store_true", help=_WEAK_HELP)
    s.add_argument("--results-root", default="data/results")
    s.add_argument("--root", default=None, help="the checkout whose notebooks/ and book/ are used (default: this one)")
    s.add_argument("--force", action="store_true")
    s.add_argument("--jobs", default="1",
                   help="studies run side by side, each in its own process with cores/jobs torch threads; a study "
                        "waits for the studies it reads (default 1: one after another; 'auto': the cores, at most 4, "
                        "or 1 with a GPU)")
    s.add_argument("--costs", default=None, metavar="JSON",
                   help="a timed main command's record (its studies_s: seconds per study/dataset, e.g. "
                        "benchmarks/results/main_command.json): with --jobs > 1 the costliest ready study starts first")
    s.add_argument("--restamp", action="store_true",
                   help="adopt chapters executed by hand: strip progress bars, record their inputs' hashes")
    s.add_argument("--book-dir", default=None, metavar="DIR",
                   help="where the executed chapters are written (default: book/studies of --root)")
    _run_flags(s)
    s.set_defaults(fn=_studies)
    r = sub.add_parser("report", help="build a book for your data and your diffusers model in a folder of its own "
                                      "(results, cells, chapters, HTML); the project's book/ and data/ stay as they are")
    r.add_argument("--data", required=True, metavar="DATASET",
                   help="folder:<path> (your source/ and target/ folders, docs/datasets.md) or a dataset name")
    _model_options(r, "your diffusers pipeline folder (unet/ or transformer/, scheduler/) or hub id")
    r.add_argument("--profile", default="quick", help="smoke (minutes, numbers mean nothing) | quick | paper")
    r.add_argument("--out", default=None, metavar="DIR",
                   help="the report's folder (default: reports/<data>--<model>-<profile>-<content digest>)")
    r.add_argument("--study", nargs="*", default=None, help="only these studies (default: every one that applies)")
    r.add_argument("--allow-weak-model", action="store_true", help=_WEAK_HELP)
    r.add_argument("--jobs", default="1", help="studies side by side (as for `studies`; default 1)")
    r.add_argument("--force", action="store_true", help="execute every chapter again")
    r.add_argument("--no-html", action="store_true", help="write the chapters and pages, skip jupyter-book build")
    _run_flags(r)
    r.set_defaults(fn=_report)
    d = sub.add_parser("download", help="download and prepare a real dataset (bbbc021, edges2shoes)")
    d.add_argument("name")
    d.add_argument("--root", default=None)
    d.add_argument("--allow-http", action="store_true",
                   help="allow plain http:// addresses (a mirror without https); refused otherwise")
    d.set_defaults(fn=_download)
    w = sub.add_parser("weights", help="write the shipped form (float16 EMA weights, hashed) of a profile's trained "
                                       "checkpoints into data/weights, and reinstall each checkpoint from it")
    w.add_argument("--profile", default="quick")
    w.add_argument("--checkpoints", default=None, help="checkpoint folder (default data/checkpoints)")
    w.add_argument("--out", default=None, help="shipped-weights folder (default data/weights)")
    w.set_defaults(fn=_weights)
    a = ap.parse_args(argv)
    try:
        with _sigterm_as_interrupt():
            a.fn(a)
    except _Terminated:
        print("terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # the message first, in one line; the traceback after it with --debug
        from .pipeline.parallel import failure_line, notebook_traceback

        if getattr(err, "ename", None):   # a study notebook's error (papermill): its own class and message
            print(f"error: {failure_line(err)} (in a study notebook; --debug shows its traceback)", file=sys.stderr)
        else:
            print(f"error: {err} ({type(err).__name__}; --debug shows the traceback)", file=sys.stderr)
        if a.debug:
            print(notebook_traceback(err), file=sys.stderr, flush=True)
            raise
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
