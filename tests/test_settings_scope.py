"""A chapter's parameters and settings tables show what applies to that chapter: one row per parameter (the models
a run used under one name), one wording for the data options, the gate rule's allowed models only where the chapter
uses them, the seed of the stochastic methods said to be unused where none runs, OVG's step sizes for the OVG
variants the chapter runs; and report.settings stays a readable size while its names stay importable."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from spectral_collapse.pipeline.parameters import parameters_table
from spectral_collapse.report.settings import reader_view, settings_table
from spectral_collapse.studies import registry
from spectral_collapse.studies.method_labels import STOCHASTIC, method_name
from spectral_collapse.studies.profiles import get_profile

ROOT = Path(__file__).resolve().parents[1]
CHOICE = {"eta_hf": 1e-6, "eta_lf": 1e-3, "source": "Pareto sweep for ihc-sr, quick (ovg, rule maximin, 12 images, "
          "seed 0; each OVG variant at its own choice)",
          "per_base": {"ovg": {"eta_hf": 1e-6, "eta_lf": 1e-3}, "ovg_edm": {"eta_hf": 1e-7, "eta_lf": 0.1},
                       "ovg_taba": {"eta_hf": 1e-7, "eta_lf": 0.01}}}


def _results(methods, study="main_results", dataset="ihc-sr", gate=("ihc-sr-x4-eps-quick-7e26214ebd7e",), **attrs):
    return xr.Dataset({"psnr": (("method", "seed"), np.zeros((len(methods), 1)))},
                      coords={"method": list(methods), "seed": [0]},
                      attrs={"study": study, "dataset": dataset, "profile": "quick", "seed": 0,
                             "model_gate": json.dumps({g: {"passed": True} for g in gate}),
                             "checkpoints": json.dumps({"eps": f"data/checkpoints/{gate[0]}"}),
                             "ovg": json.dumps(CHOICE), **attrs})


def _rows(table: str) -> dict:
    return {line.split(" | ")[0].strip("| "): line for line in table.splitlines()[2:]}


def _spec(study="main_results", dataset="ihc-sr", **raw) -> dict:
    return json.loads(registry.study_spec(study, dataset=dataset, profile="quick", **raw)
                      .with_inputs(pareto=CHOICE).to_json())


def test_the_models_a_run_used_have_one_row_under_one_parameter_name():
    rows = _rows(parameters_table(_spec(), _results(["ddim", "ovg"])))
    assert "model" in rows and "models" not in rows, rows
    assert "ihc-sr-x4-eps-quick" in rows["model"]
    pair = json.dumps({"source": "a/source-model", "target": "a/target-model"})
    rows = _rows(parameters_table(_spec(models=pair), _results(["ddim"])))
    assert "models" in rows and "model" not in rows and "a/target-model" in rows["models"], rows
    # the settings row of the models names the parameter that chose them, whichever key the results stored it under
    for key in ("models", "checkpoints"):
        ds = _results(["ddim", "ovg"], **{key: json.dumps({"eps": "data/checkpoints/ihc-sr-x4-eps-quick-7e26214ebd7e"})})
        shown = reader_view(settings_table(ds, (key,)))   # one keyed row: its parameter in its name
        row = next(i for i in shown.index if i.startswith("models"))
        assert row.endswith("(parameter model)"), (key, list(shown.index))


def test_the_data_options_read_in_one_wording_whether_or_not_the_results_record_the_task():
    recorded = _results(["ddim"], task=json.dumps({"kind": "sr", "factor": 4}))
    unrecorded = _results(["ddim"])
    texts = [_rows(parameters_table(_spec(), ds))["data_options"] for ds in (recorded, unrecorded)]
    assert texts[0] == texts[1], texts
    assert "task sr, factor 4" in texts[0]
    # an ablation whose arms vary the SR factor names no one factor as the data's
    arms = _results(["ddim"], study="scale_factor").expand_dims(factor=[2, 4, 8])
    text = _rows(parameters_table(_spec("scale_factor"), arms))["data_options"]
    assert "task sr" in text and "factor 4" not in text, text


def test_the_gate_rule_names_only_the_allowed_models_of_the_chapters_dataset_and_arms():
    allowed = sorted(get_profile("quick").allow_weak_models)
    assert allowed, "the quick profile allows some models below the gate"
    edges = _results(["ddim"], dataset="ihc-edges", gate=("ihc-edges-eps-quick-12611752b920",))
    for ds in (edges, None):
        row = _rows(parameters_table(_spec(dataset="ihc-edges"), ds))["allow_weak_model"]
        assert not [a for a in allowed if a in row], row
        assert "refuse" in row
    one = allowed[0]
    arms = _results(["ddim"], study="backbone_ablation",
                    gate=("ihc-sr-x4-eps-quick-7e26214ebd7e", f"{one}-quick-3dd980aee9f0"))
    row = _rows(parameters_table(_spec("backbone_ablation"), arms))["allow_weak_model"]
    assert one in row and not [a for a in allowed if a != one and f"`{a}`" in row], row


def test_the_seed_of_the_stochastic_methods_is_said_to_be_unused_where_none_runs():
    """The seed's row says plainly that no method of the run draws random numbers: it names no stochastic method (a
    list of them read as if they ran) and is not a comma-joined afterthought to the value."""
    deterministic = _results(["ddim", "ovg"], study="velocity")
    unused = "no method of this run draws random numbers"
    value = settings_table(deterministic, ("seed",)).loc["seed", "value"]
    row = _rows(parameters_table(_spec("velocity", seed="0"), deterministic))["seed"]
    for text in (value, row):
        assert f"0 ({unused})" in text, text
        assert not [m for m in STOCHASTIC if method_name(m) in text or m in text], text
        assert "stochastic" not in text and "not used here" not in text, text
    for label in sorted(STOCHASTIC):
        ds = _results(["ddim", label], study="velocity")
        assert unused not in settings_table(ds, ("seed",)).loc["seed", "value"]
        assert unused not in _rows(parameters_table(_spec("velocity", seed="0"), ds))["seed"]
    # where the seed still draws the N(0, I) reference, the table says so
    reference = _results(["ddim"], study="pca_collapse", gaussian="N(0, I) draws, seed + 777")
    value = settings_table(reference, ("seed",)).loc["seed", "value"]
    assert value.startswith("0 (draws the N(0, I) reference only") and "stochastic" not in value, value


def test_ovg_step_sizes_list_only_the_ovg_variants_the_chapter_runs():
    taba = method_name("ovg_taba")
    edm = method_name("ovg_edm")
    plain = _results(["ddim", "taba", "ovg"], study="backbone_ablation")
    for text in (settings_table(plain, ("ovg",)).loc["ovg", "value"],
                 _rows(parameters_table(_spec("backbone_ablation"), plain))["from pareto"]):
        assert "ovg_taba" not in text and taba not in text and "ovg_edm" not in text, text
        assert "each OVG variant" not in text, text
    with_edm = _results(["ddim", "ovg", "ovg_edm"], study="velocity")
    for text in (settings_table(with_edm, ("ovg",)).loc["ovg", "value"],
                 _rows(parameters_table(_spec("velocity"), with_edm))["from pareto"]):
        assert "ovg_edm" in text or edm in text, text
        assert "ovg_taba" not in text and taba not in text, text
    # without results to read, every variant stays
    text = _rows(parameters_table(_spec()))["from pareto"]
    assert "ovg_taba" in text and "ovg_edm" in text, text


def test_ovg_step_sizes_read_flat_with_each_variants_values_once():
    """The Pareto choice reads as flat text: no bracket inside a bracket, each OVG variant's step sizes given once,
    and where they come from said once (the stored source, part of the results' key, unchanged)."""
    from spectral_collapse.report.settings_words import ovg_text

    stored = json.dumps(CHOICE)
    for ran in (["ddim", "ovg"], ["ddim", "ovg", "ovg_edm", "ovg_taba"], ["ddim", "ovg_edm"]):
        ds = _results(ran, study="velocity")
        for text in (settings_table(ds, ("ovg",)).loc["ovg", "value"],
                     _rows(parameters_table(_spec("velocity"), ds))["from pareto"].split(" | ")[1]):
            depth = deepest = 0
            for ch in text:
                depth += {"(": 1, ")": -1}.get(ch, 0)
                deepest = max(deepest, depth)
            assert deepest <= 1, text
            ran_ovg = [m for m in ran if m.startswith("ovg")]
            assert text.count("eta_hf") + text.count("η_HF") == len(ran_ovg), text   # each variant's once
            assert text.count("Pareto sweep") == 1 and text.count("12 images") == 1, text
            named = text.count(" at eta_hf ") + text.count(" at η_HF ")
            assert named == (0 if ran_ovg == ["ovg"] else len(ran_ovg)), text     # named where not OVG alone
    assert json.dumps(CHOICE) == stored


def test_report_settings_stays_readable_and_keeps_its_names_importable():
    from spectral_collapse.report import settings, settings_words

    for module in (settings, settings_words):
        lines = len(Path(module.__file__).read_text().splitlines())
        assert lines < 450, (module.__name__, lines)
    for name in ("readable", "model_name", "ovg_text", "plain_source", "tuning_text", "ms_ssim_text",
                 "parameterization_words", "PARAMETERIZATION_WORDS", "parsed_value", "settings_table", "short_model_names"):
        assert hasattr(settings, name), name


def test_an_ablation_arms_models_are_named_by_the_arm_and_model_in_words():
    from spectral_collapse.report.settings import models_text

    text = models_text({"unet/eps": "data/checkpoints/ihc-sr-x4-eps-quick-7e26214ebd7e",
                        "train_seed1/edm": "data/checkpoints/ihc-sr-x4-edm-seed1-quick-42f07df621da",
                        "x0-factor4/x0": "data/checkpoints/ihc-sr-x4-x0-quick-42f07df621da"})
    names = text.split(" (")[0]
    assert "/" not in names and "unet" not in names and "train_seed" not in names, text
    assert "U-Net" in names and "training seed 1" in names and names.count("x0-prediction") == 1, text


def test_the_stored_choice_rule_is_said_in_words_where_shown_and_kept_as_stored_in_the_key():
    """The Pareto sweep's ``source`` text is part of every downstream result's key, so it keeps "rule maximin"; the
    settings show it as the point the rule picks, the rule's value kept for those who type it."""
    from spectral_collapse.report.settings_words import ovg_text
    from spectral_collapse.studies.pareto import rule_in_words

    shown = ovg_text(CHOICE)
    assert "the most balanced point (rule maximin)" in shown and shown.count("rule maximin") == 1
    assert rule_in_words("Pareto rule knee over ...") == "the knee of the front (rule knee) over ..."
    assert rule_in_words("no rule here") == "no rule here"
    assert "rule maximin" in CHOICE["source"]                                # the stored form is untouched


def test_a_stored_text_setting_shows_its_percent_in_the_books_form():
    """A text stored before the book's percent form ("at least 90% of ...") is shown as the book writes it."""
    from spectral_collapse.report.settings_words import readable

    assert readable("at least 90% of full OVG's S_HF gain") == "at least 90\u00a0% of full OVG's S_HF gain"


def test_a_knob_whose_value_is_a_code_word_says_what_it_means():
    """The velocity study's ``space`` given as "vp" reads as the value a reader types and what it means."""
    rows = _rows(parameters_table(_spec("velocity", space="vp"), _results(["ddim"], study="velocity")))
    from spectral_collapse.report.settings import VALUE_WORDS

    # the meaning in the words of the settings table's row, so the two tables of a chapter say one thing
    assert f"| vp: {VALUE_WORDS['space']['vp']}" in rows["space"], rows["space"]
    rows = _rows(parameters_table(_spec("velocity", space="sigma"), _results(["ddim"], study="velocity")))
    assert "| sigma: σ coordinates" in rows["space"], rows["space"]
