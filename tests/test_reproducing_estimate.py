"""The paper profile's compute estimate and a GPU measurement beside it, against their closed forms."""
from __future__ import annotations

import pytest

from spectral_collapse.framework.profiles import get_profile
from spectral_collapse.tables.reproducing import PAPER_LABEL_PASSES, gpu_rate, paper_scale_estimate

TIMING = {"forward": {"cpu_s_per_image": 2.0}, "forward_backward": {"cpu_s_per_image": 7.0},
          "forward_flops": 1e11}


def test_the_estimate_counts_training_and_translations_from_the_profile():
    prof = get_profile("paper")
    est = paper_scale_estimate(TIMING, gpu_tflops=50.0, ovg_step_ratio=3.0).set_index("work")
    train, trans, total = est.iloc[0], est.iloc[1], est.loc["total"]
    images = 4 * prof.train_eps.steps * prof.train_eps.batch_size     # 2 datasets x 2 models
    assert train["cpu_hours"] == pytest.approx(images * 7.0 / 3600)
    assert train["gpu_hours"] == pytest.approx(images * 3 * 1e11 / 50e12 / 3600)   # a backward costs 2 forwards
    per_image = sum(i + s + 2 * o for i, s, o in PAPER_LABEL_PASSES.values())      # an OVG step: 3 forwards
    n = 2 * prof.n_test * len(prof.seeds)
    assert trans["forward_equivalents"] == pytest.approx(n * per_image)
    assert trans["cpu_hours"] == pytest.approx(n * per_image * 2.0 / 3600)
    assert total["cpu_hours"] == pytest.approx(train["cpu_hours"] + trans["cpu_hours"])
    implied = paper_scale_estimate(TIMING).iloc[1]["forward_equivalents"]          # 2 fb / f - 1 = 6 forwards
    assert implied == pytest.approx(n * sum(i + s + 5 * o for i, s, o in PAPER_LABEL_PASSES.values()))


def test_a_gpu_measurement_is_set_beside_the_estimate():
    rows = [{"backbone": "unet", "space": "latent", "step_s": s, "batch": 128, "projected_gpu_hours": h}
            for s, h in ((2.0, 40.0), (1.0, 30.0), (3.0, 50.0))]
    rows.append({"backbone": "dit", "space": "latent", "step_s": 9.0, "projected_gpu_hours": 99.0})
    rows.append({"backbone": "unet", "space": "pixel", "error": "OutOfMemoryError"})
    r = gpu_rate({"paper_scale": {"train": rows}}, TIMING, gpu_tflops=50.0)
    assert r["runs"] == 3 and r["step_s"] == 2.0 and r["measured_hours"] == pytest.approx(120.0)
    assert r["tflops"] == pytest.approx(128 * 3 * 1e11 / 2.0 / 1e12) and r["gflop"] == pytest.approx(100.0)
    steps = get_profile("paper").train_eps.steps
    assert r["estimate_hours"] == pytest.approx(3 * steps * get_profile("paper").train_eps.batch_size * 3e11 / 50e12
                                                / 3600)
    assert gpu_rate({"paper_scale": {"train": rows[3:]}}, TIMING) is None
    assert gpu_rate({"paper_scale": {"train": rows}}, {"forward_flops": 0}) is None
