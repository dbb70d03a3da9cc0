"""The method pages and the introduction state what the code does and say what differs where two pages give
different numbers: DirectInversion and Null-Class coincide with each other, not with the suite's DDIM; the schedule
fragment says which seed and crops it translates and compares the datasets once; the introduction says a rising
score as a gain and names a GPU without its memory and bus."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from spectral_collapse.report.answers import NORM_RATIO, _cost_phrase, gpu_name

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


@pytest.mark.parametrize("page", ["direct_inversion", "null_class"])
def test_pivot_methods_are_not_called_ddim(page):
    text = (BOOK / "methods" / f"{page}.md").read_text()
    flat = " ".join(text.split())
    assert "changes nothing relative to DDIM" not in flat and "the method is DDIM inversion" not in flat
    assert "destination time label" in flat and "not the suite's DDIM" in flat
    assert "Direct rows" not in flat


def _bench():
    rows = [{"label": "ddim", "calls_per_step": 1.0, "backward_per_step": 0.0, "mem_ratio": 1.0,
             "ratio_cpu": {"median": 1.04, "q25": 1.03, "q75": 1.05, "n": 3}},
            {"label": "null_class", "cfg_scale": 7.5, "calls_per_step": 13.0, "backward_per_step": 10.0,
             "mem_ratio": 4.0, "ratio_cpu": {"median": 25.0, "n": 1}},
            {"label": "edm", "calls_per_step": 1.0, "backward_per_step": 0.0, "mem_ratio": 0.8,
             "ratio_cpu": {"median": 1.0, "n": 1}},
            {"label": "taba", "calls_per_step": 1.0, "backward_per_step": 0.0, "mem_ratio": 0.9,
             "ratio_cpu": {"median": 0.9, "n": 1}}]
    return {"date": "2026-01-01T10:00:00", "machine": {"cpu": "Intel(R) Xeon(R) Processor", "torch_threads": 1,
                                                       "device": "cpu"},
            "benchmarks": {"inversion": {"profile": "quick", "batch": 8, "parameters": 1_110_000, "rows": rows}}}


def test_gpu_name_drops_memory_and_bus():
    assert gpu_name("NVIDIA H100 80GB HBM3") == "NVIDIA H100 GPU"
    assert gpu_name("NVIDIA A100-PCIE-40GB") .endswith("GPU")


def test_cost_phrase_reads_in_order():
    bench = _bench()
    inv = bench["benchmarks"]["inversion"]
    inv.update(steps=3, image_shape=[3, 32, 32], translation={"ovg": {"ratio_cpu": {"median": 2.16},
                                                                      "ratio_wall": {"median": 1.72}}})
    gpu = {**bench, "machine": {"gpu": "NVIDIA H100 80GB HBM3"}}
    text = _cost_phrase(bench, gpu)
    assert re.search(r"takes 2\.16x the time of a DDIM translation on one thread of an Intel Xeon CPU and 1\.72x on "
                     r"one NVIDIA H100 GPU", text), text
    assert "80GB" not in text and text.count("32-px") == 1


def test_schedule_fragment_says_its_seed_and_compares_once():
    from spectral_collapse.pipeline.fragments import schedule_fragment
    from spectral_collapse.studies.store import results_path

    if not all(results_path("ovg_schedule", d, "quick", ROOT / "data" / "results").exists()
               for d in ("ihc-sr", "ihc-edges")):
        pytest.skip("no stored ovg_schedule results")
    text = schedule_fragment(ROOT / "data" / "results", "quick")
    assert "sampling seed" in text.split("- **")[0]
    assert text.count("the stored result of this study") == 1
    assert "in the table above" not in text


def test_answers_typeset_the_norm_ratio():
    gen = BOOK / "_generated" / "answers.md"
    if not gen.exists():
        pytest.skip("fragments not generated")
    text = gen.read_text()
    assert "||x_T||" not in text and "‖x_T‖" not in text and NORM_RATIO in text
    assert not re.search(r"no loss of [^(]*\(\$S_\{LF\}\$ (\d\.\d+) → (\d\.\d+)\)", text) or all(
        float(b) - float(a) < 0.05 for a, b in re.findall(r"no loss of [^(]*\(\$S_\{LF\}\$ (\d\.\d+) → (\d\.\d+)\)", text))


def test_methods_page_speaks_of_the_software_not_its_history():
    text = " ".join((BOOK / "methods.md").read_text().split())
    for said in ("passes today", "when the recipe was chosen", "s_dc_raw", "cev_raw", "s_g_tie", "`nonwhite`",
                 "{term}`norm_z`", "SD3", "-6 to -12"):
        assert said not in text, said


def test_figures_page_names_its_own_checks_and_the_means_only_claim():
    from spectral_collapse.report.paper_figures import FIGURES, _means_only_note

    rule = " ".join((BOOK / "figures.md").read_text().split())
    assert "a check of its own" in rule and "all of its claims and checks hold" in rule
    fig2 = next(f for f in FIGURES if f.number == 2)
    note = _means_only_note(fig2)
    assert "Of the claims behind this figure" in note and "The claims behind this figure rest" not in note
    assert "EDM + OVG" not in fig2.paper

