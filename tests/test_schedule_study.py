"""The OVG-schedule study: DDIM and full OVG are the main results' translation cells, the cost columns count what
the schedules guide, the gain share runs from DDIM (0) to full OVG (1), and the chapter's notebook and report
read the results."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from spectral_collapse.inversion import default_sigmas
from spectral_collapse.studies import registry
from spectral_collapse.studies.ovg_schedule import SCHEDULES, schedule_set

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from spectral_collapse.pipeline.runner import run_study

    tmp = tmp_path_factory.mktemp("schedule")
    ds = run_study("ovg_schedule", dataset="ihc-sr", profile="smoke", results_root=tmp / "r", cache_root=tmp / "c",
                   schedules=["low", "high"], timing_images=2)
    return ds, tmp


def test_rows_cost_and_gain_share(run):
    ds, _ = run
    assert list(map(str, ds["method"].values)) == ["ddim", "ovg", "low", "high"]
    sel = lambda v, m: float(ds[v].sel({"method": m}).values)  # noqa: E731
    steps = int(ds.attrs["steps"])
    guided = json.loads(ds.attrs["schedules"])
    assert guided["low"]["guided_steps"] == list(range(int(np.ceil(steps / 3))))
    assert guided["high"]["guided_steps"] == list(range(steps - int(np.ceil(steps / 3)), steps))
    assert sel("backward_passes", "low") == 2 * len(guided["low"]["guided_steps"]) > 0
    assert sel("backward_passes", "ddim") == 0 and sel("backward_passes", "ovg") == 2 * steps
    assert sel("s_hf_gain_share", "ddim") == 0.0 and sel("s_hf_gain_share", "ovg") == pytest.approx(1.0)
    assert sel("time_ratio", "ddim") == 1.0 and all(sel("time_s", m) > 0 for m in ds["method"].values)
    share = (sel("s_hf_mean", "low") - sel("s_hf_mean", "ddim")) / (sel("s_hf_mean", "ovg") - sel("s_hf_mean", "ddim"))
    assert sel("s_hf_gain_share", "low") == pytest.approx(share)
    # the low third starts at sigma 0 and ends below where the high third starts
    assert sel("sigma_lo", "low") == 0.0 and sel("sigma_hi", "low") <= sel("sigma_lo", "high")
    best = ds.attrs["best_schedule"]
    assert best == "" or sel("time_ratio", best) <= 1.5


def test_ddim_and_ovg_rows_are_the_main_results_cells(run):
    """The study's DDIM row equals a direct translation of the same inputs scored the same way; and DDIM / OVG come
    from the same cache cells as the main results (a main-results run on the same cache reuses them)."""
    from spectral_collapse.pipeline.runner import run_study
    from spectral_collapse.framework.cells import StudyContext
    from spectral_collapse.framework.model_set import profile_models
    from spectral_collapse.framework.user_models import spec_data
    from spectral_collapse.framework.profiles import get_profile
    from spectral_collapse.studies.main_results import scored_cells
    from spectral_collapse.framework.method_labels import method_specs
    from spectral_collapse.framework.controls import scoring_settings
    from spectral_collapse.framework.splits import test_subsets

    ds, tmp = run
    spec = registry.study_spec("ovg_schedule", dataset="ihc-sr", profile="smoke")
    prof, data = get_profile("smoke"), spec_data(spec)
    models, ls, _ = profile_models("smoke", "ihc-sr", ["ddim"])
    scoring = scoring_settings(data)
    ms = method_specs(["ddim"], eta_hf=0.0, eta_lf=0.0, lowpass_kappa=scoring["kappa"])[0]
    idx = test_subsets(len(data.test_source), prof.n_test, prof.seeds, prof.n_val)[prof.seeds[0]]
    src, gt = data.test_source[idx], data.test_target[idx]
    direct = scored_cells(StudyContext(), models["eps"], src, ms, seed=prof.seeds[0], steps=prof.steps,
                          batch_size=prof.batch_size, src=src, gt=gt, scoring=scoring, n_images=0)[prof.seeds[0]]
    for v in ("psnr", "s_hf", "s_lf", "s_dc", "latent_norm_ratio"):
        np.testing.assert_allclose(ds[v].sel({"method": "ddim"}).values, direct[v].values, rtol=1e-6, equal_nan=True)

    main = run_study("main_results", dataset="ihc-sr", profile="smoke", results_root=tmp / "r", cache_root=tmp / "c",
                     methods=["ddim", "ovg"], seeds=[prof.seeds[0]], save=False)
    for m in ("ddim", "ovg"):
        np.testing.assert_allclose(ds["s_hf"].sel({"method": m}).values,
                                   main["s_hf"].sel({"method": m}).isel(seed=0).values, rtol=1e-6, equal_nan=True)
    assert json.loads(main.attrs["cells"])["reused"] >= 2, main.attrs["cells"]


def test_schedule_set_covers_the_steps_in_thirds():
    from spectral_collapse.framework.model_set import profile_models

    D = profile_models("smoke", "ihc-sr", ["ddim"])[0]["eps"]
    for steps in (8, 50):
        sig = default_sigmas(D, steps)
        s = schedule_set(["low", "mid", "high"], sig)
        asc = torch.sort(sig.double()).values
        parts = [s[k].guided_steps(asc) for k in ("low", "mid", "high")]
        assert sum(parts, []) == list(range(steps)), (steps, parts)
    with pytest.raises(ValueError, match="unknown schedules"):
        schedule_set(["middle"], sig)


def test_the_schedule_table_and_charts_read_the_results(run):
    from spectral_collapse.plotting import pareto as plots
    from spectral_collapse.studies.ovg_schedule import gain_share_interval, schedule_table

    ds, _ = run
    tab = schedule_table(ds)
    assert list(tab.index) == ["ddim", "ovg", "low", "high"] and {"time_ratio", "s_hf_gain_share", "psnr"} <= set(tab)
    assert tab.loc[["ddim", "ovg"], ["share_lo", "share_hi"]].isna().all().all()   # the two ends have no interval
    for m in ("low", "high"):
        _, lo, hi, _ = gain_share_interval(ds, m)
        assert (tab.loc[m, "share_lo"], tab.loc[m, "share_hi"]) == (lo, hi) or not hi > lo
    assert tab.loc["ovg", "backward_passes"] == 2 * tab.loc["ovg", "guided_steps"]
    assert plots.cost_quality_chart(ds).to_dict() and plots.guided_steps_chart(ds).to_dict()


def test_registry_and_notebook():
    s = registry.get_study("ovg_schedule")
    names = list(registry.STUDIES)
    assert names.index("ovg_schedule") == names.index("velocity") + 1
    assert s.reads == ("pareto",) and s.datasets == registry.BUNDLED and {"schedules", "timing_images"} <= set(s.params)
    assert registry.study_spec("ovg_schedule", profile="smoke")["timing_images"] == 8
    with pytest.raises(Exception):
        registry.study_spec("ovg_schedule", profile="smoke", schedules=["middle"])
    assert set(SCHEDULES) == set(s.params["schedules"].choices)
    nb = json.loads((ROOT / "notebooks" / "ovg_schedule.ipynb").read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert sum("parameters" in c["metadata"].get("tags", []) for c in nb["cells"]) == 1
    assert sum(c.count("open_study(") for c in code) == 1
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in nb["cells"] if c["cell_type"] == "code")


def test_schedules_named_twice_or_as_a_method_are_refused():
    import dataclasses

    from spectral_collapse.studies.ovg_schedule import run_ovg_schedule

    spec = registry.study_spec("ovg_schedule", dataset="ihc-sr", profile="smoke")
    for names in (("low", "low"), ("ddim", "mid")):
        bad = dataclasses.replace(spec, params=tuple((k, names if k == "schedules" else v) for k, v in spec.params))
        with pytest.raises(ValueError, match="schedules must be distinct names other than ddim and ovg"):
            run_ovg_schedule(bad)
