"""The method pages and the introduction state what the code does and say what differs where two pages give
different numbers: DirectInversion and Null-Class coincide with each other, not with the suite's DDIM; the schedule
fragment says which seed and crops it translates and compares the datasets once; the introduction says a rising
score as a gain and names a GPU without its memory and bus."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from spectral_collapse.pipeline import cost_pages as C
from spectral_collapse.report.reproducing import gpu_words

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
    assert gpu_words("NVIDIA H100 80GB HBM3") == "one NVIDIA H100 GPU (80 GB)"
    assert gpu_words("NVIDIA A100-PCIE-40GB").endswith("GPU (40 GB)") and gpu_words(None) == "one GPU"


def test_schedule_fragment_says_its_seed_and_each_datasets_best_schedule():
    from spectral_collapse.pipeline.fragments import schedule_fragment
    from spectral_collapse.studies.store import results_path

    if not all(results_path("ovg_schedule", d, "quick", ROOT / "data" / "results").exists()
               for d in ("ihc-sr", "ihc-edges")):
        pytest.skip("no stored ovg_schedule results")
    text = schedule_fragment(ROOT / "data" / "results", "quick")
    assert "sampling seed" in text.split("- **")[0]
    assert text.count("best schedule within") == 2 and "in the table above" not in text


def test_methods_page_speaks_of_the_software_not_its_history():
    text = " ".join((BOOK / "methods.md").read_text().split())
    for said in ("passes today", "when the recipe was chosen", "s_dc_raw", "cev_raw", "s_g_tie", "`nonwhite`",
                 "{term}`norm_z`", "SD3", "-6 to -12"):
        assert said not in text, said
