"""The method sections of the methods page and the introduction state what the code does and say what differs where two pages give
different numbers: DirectInversion and Null-Class coincide with each other, not with the suite's DDIM; the schedule
table gives which seed and crops it translates and each dataset's best schedule."""
from __future__ import annotations

import re
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def method_section(name: str) -> str:
    """The section of book/methods.md on the inversion method ``name`` (labelled ``(method-<name>)=``), its
    subsections included."""
    text = (BOOK / "methods.md").read_text(encoding="utf-8")
    start = text.index(f"(method-{name})=\n")
    head = text.index("\n", start + 1) + 1
    end = re.search(r"^(?:\(method-\w+\)=|## )", text[head + 1:], re.M)
    return text[start:head + 1 + end.start()] if end else text[start:]


def test_method_section_is_one_method_with_its_subsections():
    ovg, ddim = method_section("ovg"), method_section("ddim")
    assert ovg.startswith("(method-ovg)=\n## ") and "### Stable form" in ovg and "## Metric definitions" not in ovg
    assert ddim.startswith("(method-ddim)=\n## Standard DDIM") and "(method-edm)=" not in ddim


@pytest.mark.parametrize("page", ["direct_inversion", "null_class"])
def test_pivot_methods_are_not_called_ddim(page):
    text = method_section(page)
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


def test_schedule_table_gives_its_seed_and_each_datasets_best_schedule():
    from spectral_collapse.pipeline.fragments import schedule_table
    from spectral_collapse.framework.store import load_results, results_path

    paths = [results_path("ovg_schedule", d, "quick", ROOT / "data" / "results") for d in ("ihc-sr", "ihc-edges")]
    if not all(p.exists() for p in paths):
        pytest.skip("no stored ovg_schedule results")
    table = schedule_table(ROOT / "data" / "results", "quick")
    assert table["dataset"].tolist() == ["ihc-sr", "ihc-edges"]
    for p, (_, row) in zip(paths, table.iterrows()):
        attrs = load_results(p).attrs
        assert row["sampling seed"] == attrs["seed"] and row["best schedule"] == (attrs.get("best_schedule") or "none")


def test_methods_page_speaks_of_the_software_not_its_history():
    text = " ".join((BOOK / "methods.md").read_text().split())
    for said in ("passes today", "when the recipe was chosen", "s_dc_raw", "cev_raw", "s_g_tie", "`nonwhite`",
                 "{term}`norm_z`", "SD3", "-6 to -12"):
        assert said not in text, said
