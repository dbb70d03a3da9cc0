"""The cost chapter's memory band is worded for the device that measured it and stated as a description of the run's
spread, not as a test against a band set from the values it judges; its chart labels the reference line."""
from __future__ import annotations

import json
from pathlib import Path

from spectral_collapse.pipeline import cost_pages


def test_the_memory_band_names_what_each_device_measures():
    cpu = cost_pages.same_memory_text([0.8, 0.9], device="cpu")
    gpu = cost_pages.same_memory_text([1.0, 1.02], device="gpu")
    assert "pages" in cpu and "max_memory_allocated" not in cpu
    assert "`torch.cuda.max_memory_allocated`" in gpu and "pages" not in gpu and "caching allocator" in gpu
    for text in (cpu, gpu):
        assert "does not differ" not in text and "describes this run's spread" in text


def test_a_gpu_run_gets_the_gpu_wording():
    from benchmarks import report

    rows = [{"label": k, "mem_ratio": v, "peak_mb": 14.0} for k, v in
            (("ddim", 1.0), ("edm", 1.0), ("heun", 1.02), ("taba", 1.0))]
    res = {"machine": {"device": "cuda"}, "benchmarks": {"inversion": {"rows": rows, "clock": "ratio_wall"}}}
    assert "max_memory_allocated" in report.memory_resolution_line(res)
    res["machine"]["device"] = "cpu"
    res["benchmarks"]["inversion"]["clock"] = "ratio_cpu"
    assert "max_memory_allocated" not in report.memory_resolution_line(res)


def test_the_cost_chart_shows_its_quartiles_and_labels_the_line_at_one():
    nb = json.loads((Path(__file__).parents[1] / "notebooks" / "cost.ipynb").read_text())
    src = "".join("".join(c["source"]) for c in nb["cells"])
    assert "filled=False" in src and "mark_tick" in src and '"DDIM step = 1"' in src
