"""Prose of the flow, Pareto, schedule, PCA and Gaussianity chapters, read on their stored results: the rules a
verdict follows are stated where it is given, lists read as English, one precision and one name per quantity."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "data" / "results"


def _load(study: str, dataset: str = "ihc-sr"):
    from spectral_collapse.studies.store import load_results

    path = ROOT / study / f"{dataset}-quick.nc"
    if not path.exists():
        pytest.skip(f"no stored {study} result")
    return load_results(path)


def test_flow_verdict_states_overshoot_rule_and_defines_band():
    from spectral_collapse.report.flow_collapse import verdict_markdown
    from spectral_collapse.studies.verdicts import real_band
    from spectral_collapse.text import signed

    ds = _load("flow_collapse")
    text = verdict_markdown(ds)
    head = text.split("\n- ")[0]
    assert "overshoots" in head and "whatever its interval" in head       # the overshoot rule before the verdicts
    lo, hi = real_band(ds)
    assert f"[{signed(lo, 2)}, {signed(hi, 2)}]" in head                    # the band defined where it is used
    assert "standard deviation" in head and "not the band" in head


def test_copy_note_lists_metrics_in_english(monkeypatch):
    from spectral_collapse.report import flow_collapse, tables

    monkeypatch.setattr(tables, "copy_beats_every_method", lambda ds, metrics: ["psnr", "s_lf"])
    two = flow_collapse.copy_note(None)
    assert "PSNR and S_LF" in two and "those metrics reward" in two and ", S_LF" not in two
    monkeypatch.setattr(tables, "copy_beats_every_method", lambda ds, metrics: ["psnr"])
    assert "that metric rewards" in flow_collapse.copy_note(None)
    monkeypatch.setattr(tables, "copy_beats_every_method", lambda ds, metrics: [])
    assert flow_collapse.copy_note(None) == ""


def test_flow_settings_name_the_raw_score_and_flagged_share():
    from spectral_collapse.report.flow_collapse import raw_sdc_words

    said = raw_sdc_words("1 - flagged-patch ratio; s_dc_raw: the same on the raw latent")
    assert "as inverted" in said and "the same on the raw latent" not in said and "flagged share" in said


def test_flow_intro_states_the_latent_scale_in_words_and_uses_epsilon():
    import json

    from spectral_collapse.studies.flow_collapse import LATENT_SCALE

    nb = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "flow_collapse.ipynb").read_text())
    md = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    # the scale's value in words, not the constant's code name
    assert "Flux users" not in md and "LATENT_SCALE" not in md and f"{LATENT_SCALE:g}" in md
    assert "eps model" not in md
    assert not re.search(r"(?<![$\\{])‖x_T‖", md)     # prose typesets x_T


def test_schedule_words_sigma_and_sentences():
    from spectral_collapse.report.schedule import outside_shares, settings, verdict

    ds = _load("ovg_schedule", "ihc-edges")
    text = verdict(ds, ROOT)
    first = text.split("\n\n")[0]
    depth, deepest = 0, 0
    for ch in first:                      # no brackets inside brackets in the opening paragraph
        depth += ch == "("
        deepest = max(deepest, depth)
        depth -= ch == ")"
    assert deepest <= 1
    assert "within that of full OVG's" not in outside_shares(ds)
    table = settings(ds, ("schedules", "s_hf_gain"))
    assert "share of gain" in table.index and "s_hf_gain" not in table.index
    sigmas = re.findall(r"σ (\d+(?:\.\d+)?) to (\d+(?:\.\d+)?)", str(table.loc["schedules", "value"]))
    assert sigmas and all(len(x.split(".")[1]) == 3 for pair in sigmas for x in pair if "." in x)


def test_pca_reading_names_undrawn_line_and_splits_paragraphs():
    from spectral_collapse.report.latent_pca import pca_reading

    text = pca_reading(_load("pca_collapse", "ihc-edges"))
    assert "straight line" not in text and "the dotted line" in text and "not drawn" not in text
    assert all(len(p.split()) < 200 for p in text.split("\n\n"))


def test_gaussianity_verdict_states_tie_break_and_x0():
    from spectral_collapse.report.latents import verdict

    text = verdict(_load("gaussianity", "ihc-sr"))
    assert "x0-" not in text
    if "further from N(0, I)" in text:
        assert "|norm z-score|" in text.split("further from N(0, I)")[1].split("): ")[0]
