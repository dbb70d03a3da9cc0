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
                    "translation": {"ovg": {"ratio_cpu": stat(ovg_tr)}},
                    "targets": {"ovg_step": 3.3, "ovg_translation": ovg_tr}},
                "metrics": {"latent": {"total_warm_wall_s": 1.0},
                            "pca_pixel": {"d": 196608, "wall_s_2000": pca_s, "extrapolated_to_2000": extrapolated},
                            "image": {"total_wall_s_1000": 5.0, "extrapolated_to_1000": extrapolated}}}}


def test_a_target_is_judged_on_the_device_of_the_run_that_measured_it():
    """A full run on another CPU does not lend its verdict to this run: this run's table keeps its own
    (extrapolated) value and verdict, the full run's measurement is shown and judged apart with its device, and the
    closing paragraph judges each on its own device. The translation row names its steps."""
    from benchmarks import report_runs as R

    here = _bench_run("Intel(R) Xeon(R) Processor", "2026-01-02T00:00:00", pca_s=78.0, extrapolated=True)
    there = _bench_run("AMD EPYC", "2026-01-01T00:00:00", pca_s=29.0, extrapolated=False)
    assert not R.same_device(here, there) and R.same_device(here, json.loads(json.dumps(here)))
    tab = R.targets_table(here, there)
    assert tab.loc["PCA of 2,000 images × 196,608 pixel values (seconds, extrapolated)", "verdict"] == "not met"
    assert not any("full run" in k for k in tab.index)
    assert "OVG translation / DDIM translation (3 + 3 steps)" in tab.index
    apart = R.full_targets_table(here, there)
    assert list(apart["verdict"]) == ["met", "met"] and all("AMD EPYC" in k for k in apart.index)
    shown, legend = R.targets_display(apart)
    assert "pixel PCA (seconds, full size)" in shown.index and "AMD EPYC" in legend
    text = R.verdict(here, there, None, None)
    assert "On 1 thread of an Intel Xeon CPU (2026-01-02)" in text and "PCA of 2,000 images × 196,608 pixel values (seconds, extrapolated) (78.0" in text
    assert "At full size on 1 thread of an AMD EPYC CPU (2026-01-01): 2 of 2 metric targets are met." in text
    # the same device: the full run's measurement replaces the extrapolation, and nothing is judged apart
    twin = _bench_run("Intel(R) Xeon(R) Processor", "2026-01-01T00:00:00", pca_s=29.0, extrapolated=False)
    same = R.targets_table(here, twin)
    assert same.filter(like="PCA of 2,000 images", axis=0)["verdict"].tolist() == ["met"] and R.full_targets_table(here, twin).empty
    assert "At full size" not in R.verdict(here, twin, None, None)
