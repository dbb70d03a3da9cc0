"""Prose names things as a reader knows them: the KS test's n said as what it counts, model kinds and study keys by
their names, a checkpoint id in words, every model an arm ran, the suite's version in words, a rule in sentences."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]


def _results(study: str) -> xr.Dataset:
    from spectral_collapse.studies.store import load_results

    path = ROOT / "data" / "results" / study / "ihc-sr-quick.nc"
    if not path.exists():
        pytest.skip(f"no stored {study} results")
    return load_results(path)


def test_eps_prediction_study_keys_and_objectives_read_as_names():
    from spectral_collapse.report.reader import reader_text, study_name

    said = reader_text("x0-prediction beats eps-prediction; a model of the flow_collapse study and the "
                       "eps_vs_x0 study; `flow_collapse` and report.flow_collapse stay")
    assert "eps-prediction" not in said and "ε-prediction" in said
    assert "flow_collapse study" not in said and f"{study_name('flow_collapse')} study" in said
    assert "eps_vs_x0 study" not in said and "`flow_collapse`" in said and "report.flow_collapse" in said
    assert reader_text("ihc-sr-x4-eps-quick") == "ihc-sr-x4-eps-quick"   # an id is left as it is


def test_a_checkpoint_id_reads_in_words():
    from spectral_collapse.studies.method_labels import model_words

    said = model_words("data/checkpoints/ihc-sr-x4-eps-dit-quick-7e26214ebd7e")
    assert "ihc-sr-x4" not in said and "quick" not in said and "eps" not in said
    assert "ε-prediction" in said and "DiT" in said and "×4" in said
    assert "training seed 1" in model_words("ihc-sr-x4-edm-seed1-quick") and "EDM" in model_words("ihc-sr-x4-edm")
    assert model_words("my/model") == "`my/model`"


def test_a_rule_names_model_kinds_and_says_one_thing_a_sentence():
    from spectral_collapse.report.claims_page import claims_markdown, rule_text
    from spectral_collapse.studies.claims import CLAIMS
    from spectral_collapse.studies.scorecard import Evidence
    import pandas as pd

    said = rule_text("share of cases where x0 beats eps: above 50 %", "share")
    assert "x0-prediction beats ε-prediction" in said and said.endswith("Decided by the *share* rule (above).")
    for c in CLAIMS:
        text = rule_text(c.rule, "means only")
        assert not re.search(r"\bx0 beats (eps|ε)\b", text), c.key
        # no sentence joins clauses with ";" outside brackets
        assert all(";" not in re.sub(r"\([^()]*\)", "", s) for s in text.split(". ")), (c.key, text)
    page = claims_markdown(Evidence(frame=pd.DataFrame(columns=["study"])))
    rules = [line for line in page.splitlines() if line.startswith("- Rule:")]
    assert rules and not any(re.search(r"\bx0 beats (eps|ε)\b", line) for line in rules)


def test_an_arm_lists_every_model_it_ran():
    from spectral_collapse.report.ablations import run_settings

    ds = _results("seed_spread")
    kinds = {str(r).rpartition("/")[2] for arm in json.loads(ds.attrs["per_arm"]).values()
             for r in json.loads(arm["models"])}
    t = run_settings(ds)
    arms = [str(v) for k, v in t["value"].items() if str(k).startswith("arm")]
    assert len(kinds) > 1 and arms
    for value in arms:
        assert "ε-prediction" in value and ("EDM" in value) == ("edm" in kinds), value


def test_the_suite_version_is_said_in_words():
    from spectral_collapse.report.settings import versions_text

    missing = versions_text({"spectral-collapse": "not installed", "torch": "2.1"})
    assert "spectral-collapse" not in missing and "not recorded" in missing and "release" in missing
    assert versions_text({"spectral-collapse": "0.3.0"}) == "this suite 0.3.0"
