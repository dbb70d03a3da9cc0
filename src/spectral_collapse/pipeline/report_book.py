"""The pages of a user's report (``pipeline.report``): its Jupyter Book configuration, table of contents and intro.

The configuration is the project's ``_config.yml`` with the report's title and the project's vendored MathJax
(book/_vendor, read in place), so the report renders offline like the project's book. The table of contents lists
the executed chapters in the book's parts (``pipeline.toc``), after a page on the quality gate of the report's
models (``studies/model_quality.md``, which the chapters' gate banners link to). The intro says what data, model,
options and OVG step sizes the report ran with, links every chapter, and names each study that failed, was not
started or does not apply to a given model, with the reason.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

__all__ = ["write_book", "render_config", "render_toc", "render_intro", "render_gate_page", "results_attrs", "ovg_used"]


def render_config(root: Path, title: str) -> str:
    """The report's _config.yml: the project's, retitled, with MathJax (and any vega bundle) taken from ``root``."""
    import yaml

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
    from .toc import study_parts

    lines = ["# Written by `python -m spectral_collapse report`; rewritten at every run.", "format: jb-book",
             "root: intro", "parts:", "  - caption: Your model", "    chapters:", "      - file: studies/model_quality"]
    return "\n".join(lines + study_parts(chapters)) + "\n"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def results_attrs(report) -> dict:
    """{study: attrs of its stored results} for the report's chapters (studies without readable results left out)."""
    import xarray as xr

    from ..data import dataset_key
    from ..studies.store import results_path

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
        try:
            value = json.loads(attrs.get(study, {}).get("ovg") or "null")
        except (TypeError, ValueError):
            value = None
        if isinstance(value, dict) and "eta_hf" in value:
            return value
    return None


def render_gate_page(report) -> str:
    """studies/model_quality.md: what the quality gate is and what it found for each model of the report."""
    used = {}
    for attrs in results_attrs(report).values():
        try:
            used.update(json.loads(attrs.get("model_gate") or "{}"))
        except (TypeError, ValueError):
            continue
    from ..studies.gate import GATE_LABEL

    lines = ["# Is your model good enough?", "", f"({GATE_LABEL})=",
             "Before a study runs on your model, the suite's quality gate (`spectral_collapse.studies.quality`) "
             "measures it on your data: samples from noise against your images (power spectrum, channel means and "
             "spreads, patch statistics) and memorisation. A model below the gate is refused unless the run allows "
             "it (`--allow-weak-model`, or the smoke profile); every chapter computed with it then carries a "
             "warning, because its numbers describe the model's shortcomings rather than your data.", ""]
    if not used:
        return "\n".join(lines + ["No chapter recorded a gate report."]) + "\n"
    lines += ["| model | role | gate | failed checks |", "|---|---|---|---|"]
    for name, v in used.items():
        lines.append(f"| {_code(name)} | {_cell(v.get('role', ''))} | "
                     f"{'passes' if v.get('passed') else 'below the gate'} | {_cell(v.get('failures') or 'none')} |")
    return "\n".join(lines) + "\n"


def _code(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return "`" + text.replace("`", "'") + "`"


def render_intro(report, title: str) -> str:
    """intro.md: the inputs, the chapters, what did not run and why, and how to run it again."""
    from . import graph

    k = report.knobs
    model = _code(k["model"]) if "model" in k else (f"invert with {_code(k['models'].get('source'))}, sample with "
                                                    f"{_code(k['models'].get('target'))}")
    rows = [("data", _code(report.data)),
            ("data options", _code(k["data_options"]) if k.get("data_options") else "the loader's defaults"),
            ("model", model), ("profile", _code(report.profile)),
            ("models below the quality gate", "allowed" if k.get("allow_weak_model") else
             "refused" if k.get("allow_weak_model") is False else "the profile's rule"),
            ("content signatures", ", ".join(f"{name} {_code(v)}" for name, v in sorted(report.content.items()))),
            ("folder", f"{_code(str(report.out))}: results in `results/`, computed cells in `cache/cells/`")]
    ovg = ovg_used(report)
    if ovg:
        from ..plotting.labels import step_size

        rows.append(("OVG step sizes", f"eta_HF = {step_size(ovg.get('eta_hf'))}, eta_LF = "
                                       f"{step_size(ovg.get('eta_lf'))}: {_cell(ovg.get('source', ''))}"))
    lines = [f"# {title}", "",
             "This book runs the studies of the spectral-collapse suite on your images with your diffusers model: "
             "every study that takes a model runs on yours, nothing is trained. OVG's step sizes come from the "
             "Pareto sweep of this report (validation images of your data, your model), or for a study run without "
             "it from a short calibration on the same images; the table says which. Each chapter opens with the "
             "quality-gate status of your model on your data ({doc}`studies/model_quality`).", "",
             "| | |", "|---|---|", *[f"| {a} | {b} |" for a, b in rows], "", "## Chapters", ""]
    if report.chapters:
        lines += [f"- {{doc}}`{doc}`" for doc in report.chapters.values()]
    else:
        lines += ["No chapter was executed."]
    missing = [(s, f"failed: {_code(line)}") for s, line in report.failed.items()]
    missing += [(s, "not started: a study it reads failed") for s in report.skipped]
    if missing:
        lines += ["", "## Studies that did not finish", "",
                  *[f"- **{graph.title(s)}** ({s}): {why}" for s, why in missing], "",
                  "The full error of each is printed by the command; run the same command again after fixing it "
                  "(finished chapters and computed cells are kept)."]
    if report.not_applicable:
        lines += ["", "## Studies that do not apply to a given model", "",
                  *[f"- **{graph.title(s)}** ({s}): {why}." for s, why in report.not_applicable.items()]]
    flags = " ".join([f"--data {report.data}",
                      f"--model {k['model']}" if "model" in k else f"--models '{json.dumps(k['models'])}'",
                      *([f"--data-options '{json.dumps(k['data_options'])}'"] if k.get("data_options") else []),
                      f"--profile {report.profile}", f"--out {report.out}"])
    lines += ["", "## Running it again", "", "```bash", f"python -m spectral_collapse report {flags}", "```", "",
              "A chapter is executed again only when its notebook, its results or what they were computed from changed "
              "(the data's or the model's files, the options, the profile); otherwise the command rebuilds the pages."]
    return "\n".join(lines) + "\n"


def write_book(report, root: Path) -> None:
    """Write _config.yml, _toc.yml and intro.md of ``report`` into its book folder (and the project's offline
    chart bundle into _static/, when the project has built one)."""
    book = Path(report.out) / "book"
    k = report.knobs
    what = Path(str(k["model"])).name if "model" in k else "your models"
    title = f"Your report: {what} on {report.data.split('/')[-1] or report.data}"
    (book / "_config.yml").write_text(render_config(root, title), encoding="utf-8")
    (book / "_toc.yml").write_text(render_toc(list(report.chapters.values())), encoding="utf-8")
    (book / "intro.md").write_text(render_intro(report, title), encoding="utf-8")
    (book / "studies" / "model_quality.md").write_text(render_gate_page(report), encoding="utf-8")
    static = Path(root) / "book" / "_static"
    for js in sorted(static.glob("*.js")) if static.is_dir() else []:
        (book / "_static").mkdir(exist_ok=True)
        shutil.copy2(js, book / "_static" / js.name)
