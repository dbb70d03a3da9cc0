"""Your report (``python -m spectral_collapse report --data folder:/path --model /path/to/pipeline``): a book for your
data and diffusers model in a folder of its own (``results/``, ``cache/cells/``, ``book/``, ``report.json``); the
project's book/ and data/ are left alone."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from string import Template

import pandas as pd
import xarray as xr
import yaml

from . import execute, graph
from ..data import check_dataset, dataset_key
from ..models.oracle import ORACLE
from ..framework.content import content_inputs
from ..framework.gate import GATE_LABEL
from ..framework.profiles import get_profile
from ..studies.registry import get_study, study_spec
from ..framework.store import results_path
from ..tables.main_results import md_table
from .notebook import repo_root
from .parameters import json_attr
from .runner import check_study_data
from .study_pages import study_titled

__all__ = ["NOT_APPLICABLE", "report_plan", "report_content", "report_name", "build_report", "Report", "write_book",
           "render_gate_page"]

# Why a study does not run on a given model (the intro page's table says so; the ablations get ABLATION).
NOT_APPLICABLE = {
    "model_quality": "it measures the suite's own trained models; the quality-gate report of your model on your "
                     "data heads every chapter below instead",
    "cost": "it reads the suite's benchmark record (`python -m benchmarks`), timed on the suite's own quick U-Net, "
            "not on your model",
    "benchmarks": "it reads the suite's benchmark records (`python -m benchmarks`), timed on the suite's own models",
    "your_model": "it demonstrates, on bundled images, what this report does with your model",
    "flow_collapse": "it inverts a flow-matching model the suite trains itself; a flow-matching model of yours runs "
                     "in the other chapters (deterministic flow inversion is their ddim)",
}
ABLATION = "it compares models it trains itself; one given model has no second arm to compare"


def report_plan(studies=None) -> tuple[list[str], dict[str, str]]:
    """(the studies that run on a given model, in run order, limited to ``studies``; {study: why it does not apply})."""
    runs, why = [], {}
    for name in graph.study_names():
        s = get_study(name)
        if name in NOT_APPLICABLE:
            why[name] = NOT_APPLICABLE[name]
        elif "model" in s.params and not s.takes_model:
            why[name] = ABLATION
        elif s.run is None:
            why[name] = "its page stores no results of its own"
        else:
            runs.append(name)
    if studies:
        bad = [s for s in studies if s not in runs]
        if bad:
            raise ValueError(f"study {', '.join(map(repr, bad))} does not run in a report; the studies that do: "
                             f"{', '.join(runs)}")
        runs = [s for s in runs if s in studies]
    return graph.run_order(runs), why


def report_content(data: str, profile: str, knobs: dict) -> dict:
    """The content signatures of the data and the model(s) (``framework.content.content_inputs``)."""
    return content_inputs(study_spec("main_results", dataset=data, profile=profile, **knobs))


def _model_label(knobs: dict) -> str:
    paths = [knobs["model"]] if "model" in knobs else [knobs["models"].get(k, "") for k in ("source", "target")]
    names = [Path(str(p)).name for p in paths]
    return re.sub(r"[^A-Za-z0-9_.]+", "_", "+".join(names)).strip("_.") or "model"


def report_name(data: str, profile: str, knobs: dict, content: dict) -> str:
    """The default folder name, "<data>--<model>-<profile>-<digest of the content, data options, weak-model rule>"."""
    blob = json.dumps({"content": content, "profile": profile, "data_options": knobs.get("data_options"),
                       "allow_weak_model": knobs.get("allow_weak_model")}, sort_keys=True, default=str)
    digest = hashlib.sha256(blob.encode()).hexdigest()[:12]
    return f"{dataset_key(data, path_hash=False)}--{_model_label(knobs)}-{profile}-{digest}"


@dataclass
class Report:
    """What ``build_report`` made: the folder, the HTML's index (None without HTML), each study's status."""
    out: Path
    html: Path | None
    data: str
    profile: str
    knobs: dict
    content: dict
    chapters: dict = field(default_factory=dict)       # study -> chapter path (relative to the book)
    failed: dict = field(default_factory=dict)         # study -> one line
    skipped: list = field(default_factory=list)        # studies not started because one they read failed
    not_applicable: dict = field(default_factory=dict)  # study -> why


def build_report(data: str, *, model: str | None = None, models: dict | None = None, data_options: dict | None = None,
                 profile: str = "quick", out: str | os.PathLike | None = None, jobs: int | str = 1,
                 force: bool = False, allow_weak_model: bool | None = None, studies=None, html: bool = True,
                 threads: int | None = None, root: str | os.PathLike | None = None,
                 cluster: str | None = None) -> Report:
    """Run ``report_plan``'s studies on ``data`` with ``model`` (a diffusers pipeline folder or hub id) or ``models``
    ({"source": ..., "target": ...}) into ``out`` (default ``reports/<report_name>``) and write its pages and HTML; a
    failed study does not stop the others, ``StudiesFailed`` is raised at the end."""
    get_profile(profile)
    check_dataset(data)
    if (model is None) == (models is None):
        raise ValueError("a report needs exactly one of model (a diffusers pipeline folder, e.g. --model "
                         "/path/to/pipeline) and models ({\"source\": ..., \"target\": ...})")
    knobs = {k: v for k, v in {"data_options": data_options, "model": model, "models": models,
                               "allow_weak_model": allow_weak_model}.items() if v is not None}
    runs, why = report_plan(studies)
    content = report_content(data, profile, knobs)
    check_study_data(data, profile, knobs)   # data the studies cannot use stops here, before the first study
    root = Path(root).resolve() if root else repo_root()
    out = (Path(out) if out else root / "reports" / report_name(data, profile, knobs, content)).resolve()
    for own in (root / "book", root / "data"):   # the project's own folders are never written
        own = own.resolve()
        if out == own or out.is_relative_to(own) or own.is_relative_to(out):
            raise ValueError(f"report folder {out} would write into the project's own {own}; pass --out a folder of "
                             f"its own (default: reports/<name> under the checkout)")
    book = out / "book"
    (book / "studies").mkdir(parents=True, exist_ok=True)
    print(f"report for {data} with {_model_label(knobs)} ({profile}) -> {out}", flush=True)
    report = Report(out=out, html=None, data=data, profile=profile, knobs=knobs, content=content, not_applicable=why)
    failure = None
    try:
        execute.run_studies(profile, runs, [data], root=root, results_root=str(out / "results"),
                            book_dir=book / "studies", force=force, jobs=jobs, knobs=knobs, keep_going=True,
                            threads=threads, cluster=cluster)
    except execute.StudiesFailed as err:
        failure = err
        report.failed = {s: line for (s, _), line in err.failed.items()}
        report.skipped = [s for s, _ in err.skipped]
    for s in runs:
        path = execute.notebook_path(s, data, profile, root, book / "studies")
        if path.exists() and s not in report.failed and s not in report.skipped:
            report.chapters[s] = path.relative_to(book).with_suffix("").as_posix()

    write_book(report, root)
    if html:
        report.html = _build_html(book)
    (out / "report.json").write_text(json.dumps(asdict(report), indent=2, sort_keys=True, default=str) + "\n")
    print(f"report: {report.html or book}", flush=True)
    if failure is not None:
        raise failure
    return report


def _build_html(book: Path) -> Path:
    """jupyter-book build ``book``; returns index.html. A failed build raises with the end of its output."""
    exe = shutil.which("jupyter-book", path=str(Path(sys.executable).parent)) or "jupyter-book"   # this venv's first
    print("building the report's HTML (jupyter-book)", flush=True)
    done = subprocess.run([exe, "build", str(book)], capture_output=True, text=True)
    index = book / "_build" / "html" / "index.html"
    if done.returncode != 0 or not index.exists():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"jupyter-book build {book} failed (exit status {done.returncode}); the chapters and "
                           f"pages are in {book}. Its last lines:\n{tail}")
    return index


TEMPLATES = Path("notebooks") / "report"   # under the checkout


def render_config(root: Path, title: str) -> str:
    """The report's _config.yml: the project's, retitled, with MathJax (and any vega bundle) taken from ``root``."""
    cfg = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8"))
    cfg["title"] = title
    cfg.pop("repository", None)
    sphinx = cfg.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["html_extra_path"] = [str((Path(root) / "book" / "_vendor").resolve())]
    head = ("# Jupyter Book configuration of a report written by `python -m spectral_collapse report`: the project's\n"
            "# _config.yml with this report's title; rewritten at every run.\n")
    return head + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True)


def render_toc(chapters: list[str]) -> str:
    """The report's _toc.yml: the intro, then the chapters (doc names) in the book's parts."""
    lines = ["# Written by `python -m spectral_collapse report`; rewritten at every run.", "format: jb-book",
             "root: intro", "parts:", "  - caption: Your model", "    chapters:", "      - file: studies/model_quality"]
    return "\n".join(lines + graph.study_parts(chapters)) + "\n"


def _code(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return "`" + text.replace("`", "'") + "`"


def _page(root: Path, name: str, **fields: str) -> str:
    return Template((Path(root) / TEMPLATES / name).read_text(encoding="utf-8")).substitute(fields)


def _md(frame: pd.DataFrame, empty: str) -> str:
    return md_table(frame) if len(frame) else empty


def gate_table(report) -> pd.DataFrame:
    """Each model's gate report as the chapters' results recorded it: model, role, passed, failed checks."""
    used = {}
    for study in report.chapters:
        path = results_path(study, dataset_key(report.data), report.profile, Path(report.out) / "results")
        try:
            with xr.open_dataset(path, engine="h5netcdf") as ds:
                used.update(json_attr(ds.attrs, "model_gate", {}))
        except (OSError, ValueError):   # a study without readable results
            continue
    return pd.DataFrame([{"model": _code(name), "role": v.get("role", ""), "passed": bool(v.get("passed")),
                          "failed checks": v.get("failures") or ""} for name, v in used.items()])


def render_gate_page(report, root: Path) -> str:
    """studies/model_quality.md: the gate page with ``gate_table``."""
    none = ("The oracle (models.oracle: the exact Gaussian denoiser of the two domains) is not a trained network and "
            "is not put through the quality gate: it is exact for its Gaussians, not for your images."
            if report.knobs.get("model") == ORACLE else "No chapter recorded a gate report.")
    return _page(root, "model_quality.md", label=GATE_LABEL, table=_md(gate_table(report), none))


def settings_frame(report) -> pd.DataFrame:
    """What the report ran with, as (setting, value) rows."""
    k = report.knobs
    rows = {"data": _code(report.data), "data options": _code(k["data_options"]) if k.get("data_options") else "",
            **({"model": _code(k["model"])} if "model" in k else
               {"inverting model": _code(k["models"].get("source")),
                "sampling model": _code(k["models"].get("target"))}),
            "profile": _code(report.profile),
            "models below the quality gate allowed": k.get("allow_weak_model", "the profile's rule"),
            **{f"content signature: {n}": _code(v) for n, v in sorted(report.content.items())},
            "folder": _code(str(report.out))}
    return pd.DataFrame({"setting": list(rows), "value": [str(v) for v in rows.values()]})


def missing_frame(report) -> pd.DataFrame:
    """Each study that did not run: its title, name, status (failed, not started, does not apply) and why."""
    rows = [(s, "failed", _code(line)) for s, line in report.failed.items()]
    rows += [(s, "not started", "a study it reads failed") for s in report.skipped]
    rows += [(s, "does not apply", why) for s, why in report.not_applicable.items()]
    return pd.DataFrame([{"study": get_study(s).title, "name": f"`{s}`", "status": st, "why": why}
                         for s, st, why in rows])


def render_intro(report, title: str, root: Path) -> str:
    """intro.md: the settings, the chapters, the studies that did not run and the command that reruns it."""
    k = report.knobs
    flags = " ".join([f"--data {report.data}",
                      f"--model {k['model']}" if "model" in k else f"--models '{json.dumps(k['models'])}'",
                      *([f"--data-options '{json.dumps(k['data_options'])}'"] if k.get("data_options") else []),
                      f"--profile {report.profile}", f"--out {report.out}"])
    chapters = "\n".join(f"- {{doc}}`{doc}`" for doc in report.chapters.values()) or "No chapter was executed."
    return _page(root, "intro.md", title=title, settings=_md(settings_frame(report), ""), chapters=chapters,
                 missing=_md(missing_frame(report), "Every study ran."),
                 command=f"python -m spectral_collapse report {flags}")


def write_book(report, root: Path) -> None:
    """Write the report's _config.yml, _toc.yml, intro.md, gate page and chart bundles; retitle its chapters."""
    book = Path(report.out) / "book"
    for doc in report.chapters.values():
        study_titled(book / f"{doc}.ipynb", report.data, report.profile)
    k = report.knobs
    what = Path(str(k["model"])).name if "model" in k else "your models"
    title = f"Your report: {what} on {report.data.split('/')[-1] or report.data}"
    (book / "_config.yml").write_text(render_config(root, title), encoding="utf-8")
    (book / "_toc.yml").write_text(render_toc(list(report.chapters.values())), encoding="utf-8")
    (book / "intro.md").write_text(render_intro(report, title, root), encoding="utf-8")
    (book / "studies" / "model_quality.md").write_text(render_gate_page(report, root), encoding="utf-8")
    for js in sorted((Path(root) / "book" / "_static").glob("*.js")):
        (book / "_static").mkdir(exist_ok=True)
        shutil.copy2(js, book / "_static" / js.name)
