"""The pages of a user's report (``pipeline.report``): its Jupyter Book configuration, table of contents and intro.

The configuration is the project's ``_config.yml`` retitled, with its vendored MathJax, so the report renders
offline; the intro and the gate page are the templates notebooks/report/{intro,model_quality}.md filled with tables.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from string import Template

import pandas as pd
import xarray as xr
import yaml

from ..data import dataset_key
from ..plotting.labels import step_size
from ..studies.gate import GATE_LABEL
from ..studies.registry import get_study
from ..studies.store import results_path
from ..studies.tables import md_table
from .parameters import json_attr
from .toc import study_parts

__all__ = ["TEMPLATES", "write_book", "render_config", "render_toc", "render_intro", "render_gate_page",
           "results_attrs", "ovg_used"]

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
    return "\n".join(lines + study_parts(chapters)) + "\n"


def _code(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return "`" + text.replace("`", "'") + "`"


def _page(root: Path, name: str, **fields: str) -> str:
    return Template((Path(root) / TEMPLATES / name).read_text(encoding="utf-8")).substitute(fields)


def _md(frame: pd.DataFrame, empty: str) -> str:
    return md_table(frame) if len(frame) else empty


def results_attrs(report) -> dict:
    """{study: attrs of its stored results} for the report's chapters (studies without readable results left out)."""
    out = {}
    for study in report.chapters:
        path = results_path(study, dataset_key(report.data), report.profile, Path(report.out) / "results")
        try:
            with xr.open_dataset(path, engine="h5netcdf") as ds:
                out[study] = dict(ds.attrs)
        except (OSError, ValueError):
            continue
    return out


def ovg_used(report) -> dict | None:
    """The OVG setting the chapters ran with (the main results', else the first recorded): eta_hf, eta_lf, source."""
    attrs = results_attrs(report)
    for study in ["main_results", *attrs]:
        value = json_attr(attrs.get(study, {}), "ovg")
        if isinstance(value, dict) and "eta_hf" in value:
            return value
    return None


def gate_table(report) -> pd.DataFrame:
    """Each model's gate report as the chapters recorded it: model, role, passed, failed checks."""
    used = {}
    for attrs in results_attrs(report).values():
        used.update(json_attr(attrs, "model_gate", {}))
    return pd.DataFrame([{"model": _code(name), "role": v.get("role", ""), "passed": bool(v.get("passed")),
                          "failed checks": v.get("failures") or ""} for name, v in used.items()])


def render_gate_page(report, root: Path) -> str:
    """studies/model_quality.md: the gate page with ``gate_table``."""
    return _page(root, "model_quality.md", label=GATE_LABEL,
                 table=_md(gate_table(report), "No chapter recorded a gate report."))


def settings_frame(report) -> pd.DataFrame:
    """What the report ran with, as (setting, value) rows, the OVG step sizes the chapters used included."""
    k = report.knobs
    rows = {"data": _code(report.data), "data options": _code(k["data_options"]) if k.get("data_options") else "",
            **({"model": _code(k["model"])} if "model" in k else
               {"inverting model": _code(k["models"].get("source")),
                "sampling model": _code(k["models"].get("target"))}),
            "profile": _code(report.profile),
            "models below the quality gate allowed": k.get("allow_weak_model", "the profile's rule"),
            **{f"content signature: {n}": _code(v) for n, v in sorted(report.content.items())},
            "folder": _code(str(report.out))}
    ovg = ovg_used(report)
    if ovg:
        rows |= {"OVG eta_HF": step_size(ovg.get("eta_hf")), "OVG eta_LF": step_size(ovg.get("eta_lf")),
                 "OVG step sizes from": ovg.get("source", "")}
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
    """Write the report's _config.yml, _toc.yml, intro.md, gate page and the project's chart bundles (_static/)."""
    book = Path(report.out) / "book"
    k = report.knobs
    what = Path(str(k["model"])).name if "model" in k else "your models"
    title = f"Your report: {what} on {report.data.split('/')[-1] or report.data}"
    (book / "_config.yml").write_text(render_config(root, title), encoding="utf-8")
    (book / "_toc.yml").write_text(render_toc(list(report.chapters.values())), encoding="utf-8")
    (book / "intro.md").write_text(render_intro(report, title, root), encoding="utf-8")
    (book / "studies" / "model_quality.md").write_text(render_gate_page(report, root), encoding="utf-8")
    static = Path(root) / "book" / "_static"
    for js in sorted(static.glob("*.js")) if static.is_dir() else []:
        (book / "_static").mkdir(exist_ok=True)
        shutil.copy2(js, book / "_static" / js.name)
