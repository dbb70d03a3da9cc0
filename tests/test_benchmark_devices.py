"""A benchmark target's verdict comes from the run on the device named beside it: a full run on another CPU is
shown and judged apart, not lent to this run's table, and the translation ratio names its steps."""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # benchmarks/ is a top-level package beside src/


def _bench_run(cpu: str, date: str, pca_s: float, extrapolated: bool, ovg_tr: float = 2.2, steps: int = 3) -> dict:
    """A stored benchmark run with an inversion and a metrics benchmark, on one thread of ``cpu``."""
    stat = lambda m: {"median": m, "q25": m - 0.01, "q75": m + 0.01, "n": 5}  # noqa: E731
    return {"date": date, "machine": {"cpu": cpu, "torch_threads": 1, "device": "cpu"},
            "benchmarks": {
                "inversion": {"steps": steps, "clock": "ratio_cpu", "rows": [
                    {"label": "ovg", "ratio_cpu": stat(3.3)}, {"label": "ddim", "ratio_cpu": stat(1.0)}],
                    "translation": {"ovg": {"ratio_cpu": stat(ovg_tr)}}, "floor": {"ratio_cpu": stat(3.0)},
                    "targets": {"ovg_step": 3.3, "ovg_translation": ovg_tr, "ovg_over_floor": 1.1}},
                "metrics": {"latent": {"total_warm_wall_s": 1.0},
                            "pca_pixel": {"d": 196608, "wall_s_2000": pca_s, "extrapolated_to_2000": extrapolated},
                            "image": {"total_wall_s_1000": 5.0, "extrapolated_to_1000": extrapolated}}}}


def test_a_target_is_judged_on_the_device_of_the_run_that_measured_it():
    """A full run on another CPU does not lend its verdict to this run: this run's table keeps its own
    (extrapolated) value and verdict; a full run on the same device replaces the extrapolation. The translation row
    names its steps."""
    from benchmarks import tables as T

    here = _bench_run("Intel(R) Xeon(R) Processor", "2026-01-02T00:00:00", pca_s=78.0, extrapolated=True)
    there = _bench_run("AMD EPYC", "2026-01-01T00:00:00", pca_s=29.0, extrapolated=False)
    assert not T.same_device(here, there) and T.same_device(here, json.loads(json.dumps(here)))
    tab = T.targets_table(here, there)
    assert tab.loc["pixel PCA, 2,000 images, extrapolated", "verdict"] == "not met"      # 78 s against < 60 s
    assert "OVG / DDIM translation, 3 + 3 steps" in tab.index
    twin = _bench_run("Intel(R) Xeon(R) Processor", "2026-01-01T00:00:00", pca_s=29.0, extrapolated=False)
    same = T.targets_table(here, twin)
    assert same.loc["pixel PCA, 2,000 images", "verdict"] == "met" and len(same) == len(tab)
    assert T.verdict_counts(tab) == {"judged": 5, "met": 2, "within noise": 0, "not met": 3}
