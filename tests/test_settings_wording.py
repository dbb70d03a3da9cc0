"""The parameters and settings tables read as plain statements: the gate rule says once what it does (no clause that
takes back another), the step sizes in an HTML settings table are typeset as the other symbols beside them, stored
definitions read in words (no "is the same on ... as inverted", a metric's variant glossed), the norm z-score goes
by its name in tables and prose, and what the results depend on is said without the pipeline's words."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import xarray as xr

from spectral_collapse.pipeline.parameters import parameters_table
from spectral_collapse.report.reader import reader_table, reader_text
from spectral_collapse.report.settings import reader_view, settings_table
from spectral_collapse.studies import registry
from spectral_collapse.studies.profiles import get_profile

EPS = "ihc-sr-x4-eps-quick-7e26214ebd7e"


def _rows(table: str) -> dict:
    return {line.split(" | ")[0].strip("| "): line.split(" | ")[1] for line in table.splitlines()[2:]}   # the value column


def _ds(gate: dict, **attrs) -> xr.Dataset:
    return xr.Dataset({"psnr": (("method",), np.zeros(1))}, coords={"method": ["ddim"]},
                      attrs={"study": "main_results", "profile": "quick", "model_gate": json.dumps(gate), **attrs})


def test_the_gate_rule_is_one_statement_that_names_the_quality_gate():
    spec = json.loads(registry.study_spec("main_results", dataset="ihc-edges", profile="quick").to_json())
    row = _rows(parameters_table(spec, _ds({"ihc-edges-eps-quick-12611752b920": {"passed": True}})))["allow_weak_model"]
    assert "quality gate" in row, row                               # the glossary's term, linked on the page
    assert "none of the models" not in row and "(none" not in row, row
    assert row.count("below the") == 1 and "every model used here passes it" in row, row
    allowed = sorted(get_profile("quick").allow_weak_models)
    weak = _ds({EPS: {"passed": True}, f"{allowed[0]}-quick-3dd980aee9f0": {"passed": False}})
    row = _rows(parameters_table(json.loads(registry.study_spec("backbone_ablation", dataset="ihc-sr",
                                                                   profile="quick").to_json()), weak))
    text = row["allow_weak_model"]
    assert f"`{allowed[0]}`" in text and f"used here below it: {allowed[0]}-quick" in text, text


def test_step_sizes_in_an_html_settings_table_are_typeset_as_the_symbols_beside_them():
    choice = {"eta_hf": 1e-6, "eta_lf": 1e-3, "source": "Pareto sweep for ihc-sr, quick (ovg, rule maximin, 12 "
              "validation images, seed 0; each OVG variant at its own choice)"}
    ds = _ds({EPS: {"passed": True}}, ovg=json.dumps(choice), mu_hf="-3.2 (μ_HF of the real crops)")
    html = reader_table(reader_view(settings_table(ds, ("ovg", "mu_hf"))))
    assert "μ<sub>HF</sub>" in html and "η<sub>HF</sub>" in html and "η<sub>LF</sub>" in html, html
    assert "η_HF" not in html and "η_LF" not in html and "eta_HF" not in html, html
    # the class: any finished text with a chart's symbol, Markdown or HTML
    assert reader_text("η_LF 10⁻³") == r"$\eta_{LF}$ 10⁻³"
    assert "η_" not in reader_text("η_HF and η_LF", "html")
    assert reader_text("`η_HF`") == "`η_HF`"                         # code stays as typed


def test_stored_definitions_read_in_words_and_gloss_their_variants():
    ds = _ds({EPS: {"passed": True}}, study="main_results",
             s_dc_definition="flag windows ...; patch 4, stride 1, FPR 0.05; s_dc_raw: the same on the raw latent",
             s_lf_condition="input condition (App. B.5); s_lf_gt uses the ground truth")
    shown = reader_view(settings_table(ds, ("s_dc_definition", "s_lf_condition")))
    text = " ".join(shown["value"])
    assert "is the same on" not in text and "uses the ground truth" not in text, text
    assert "S_DC raw is the same score on the latents as inverted" in text, text
    assert "S_LF (truth): the same score against the ground-truth image" in text, text


def test_the_norm_z_score_goes_by_its_name_in_tables_and_prose():
    from spectral_collapse.studies.latent_tables import HEADERS

    assert HEADERS["norm_z"] == "norm z-score"
    html = reader_table(pd.DataFrame({"norm_z": [1.0]}, index=pd.Index(["ddim"], name="method")))
    assert "norm_z" not in html and "norm z-score" in html, html
    assert reader_text("norm_z (0 ± 1 under N(0, I)) DDIM −96.0") == "norm z-score (0 ± 1 under N(0, I)) DDIM −96.0"
    assert reader_text("`norm_z`") == "`norm_z`" and "run_norm_z" in reader_text("run_norm_z")


def test_what_the_results_depend_on_is_said_without_the_pipelines_words():
    spec = json.loads(registry.study_spec("main_results", dataset="ihc-sr", profile="quick")
                      .with_inputs(data="294377dc42e2f5be").to_json())
    row = _rows(parameters_table(spec))["from data"]
    assert row == "the ihc-sr images (the results are recomputed when they change)", row
    old = xr.Dataset(attrs={"versions": json.dumps({"spectral-collapse": "not installed", "torch": "2.1"})})
    shown = settings_table(old, ()).loc["package versions", "value"]
    assert not re.search(r"source tree|stale|checked for changes|not installed", shown + row), shown
