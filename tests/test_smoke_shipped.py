"""The smoke profile's main models are shipped with their gate reports: a first smoke run on a fresh clone installs
them and reads their reports, training and gating nothing."""
from __future__ import annotations

from pathlib import Path

import pytest

from spectral_collapse.framework import quality
from spectral_collapse.framework.gate import trained_report
from spectral_collapse.framework.model_set import SMOKE_SHIPPED, dataset_for, trained_model
from spectral_collapse.framework.profiles import get_profile
from spectral_collapse.train import trainer


@pytest.mark.parametrize("role", SMOKE_SHIPPED, ids=lambda r: r.key)
def test_a_shipped_smoke_model_installs_and_its_gate_report_is_read_not_measured(role, tmp_path, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("a shipped smoke model was trained or gated again")

    monkeypatch.setattr(trainer, "_train", refuse)
    monkeypatch.setattr(quality, "gate_report", refuse)
    monkeypatch.setattr("spectral_collapse.framework.gate.gate_report", refuse)
    tm = trained_model("smoke", role.dataset, role.parameterization, factor=role.factor, progress=False,
                       root=str(tmp_path))
    assert (tmp_path / Path(tm.path).name / "DONE").exists() and (tmp_path / Path(tm.path).name / "shipped.sha256.json").exists()
    rep = trained_report(tm, dataset_for("smoke", role.dataset, role.factor), get_profile("smoke"))
    assert set(rep.rows["check"]) >= {"spectrum", "mean", "std"}
    assert ("edges" in set(rep.rows["check"])) == (role.dataset == "ihc-edges")


@pytest.mark.parametrize("dataset", ["ihc-sr", "ihc-edges"])
def test_an_edge_maps_report_is_keyed_by_the_edge_check_so_an_older_one_is_measured_again(dataset, tmp_path,
                                                                                             monkeypatch):
    from spectral_collapse.framework import gate

    seen = {}
    monkeypatch.setattr(gate, "_cached", lambda folder, settings, compute: seen.setdefault("settings", settings))
    tm = trained_model("smoke", dataset, "eps", progress=False, root=str(tmp_path))
    trained_report(tm, dataset_for("smoke", dataset), get_profile("smoke"))
    assert ("edges" in seen["settings"]) == (dataset == "ihc-edges")
