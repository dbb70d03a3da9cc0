"""The quality gate inside a study run: a weak model is refused with its failed check, value and threshold unless
weak models are allowed; what was allowed is recorded and shown; reports are cached with the weights; the trainer
logs the held-out loss the plateau check reads."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from spectral_collapse.framework import quality
from spectral_collapse.framework.quality import WeakModelError
from spectral_collapse.pipeline.runner import run_study
from spectral_collapse.framework import model_set as models_mod
from spectral_collapse.framework.gate import stored_report
from spectral_collapse.tables.quality import result_gate_table
from spectral_collapse.train.losses import BANDS

from test_pipeline_runner import MAIN, ckpts  # noqa: F401  (the smoke study and the checkpoint-root fixture)


def test_weak_model_is_refused_then_allowed_with_a_warning(tmp_path, ckpts, monkeypatch):
    res = tmp_path / "results"
    with pytest.raises(WeakModelError, match=r"model ihc-sr-x4-eps-smoke-[0-9a-f]+ is below the quality gate: "
                                             r"\w+ \([^)]*label \d\) [-\d.e+]+, must be (≤|≥|<) [\d.]+.*"
                                             r"allow_weak_model=True"):
        run_study("main_results", results_root=res, allow_weak_model=False, **MAIN)
    assert not list(res.rglob("*.nc"))                      # refused before any result was stored
    ds = run_study("main_results", results_root=res, **MAIN)  # the smoke profile allows weak models
    used = json.loads(ds.attrs["model_gate"])
    (name, status), = used.items()
    assert name.startswith("ihc-sr-x4-eps-smoke-") and status["passed"] is False and status["failures"]
    models = result_gate_table(ds.attrs)
    assert models.to_dict("records") == [{"model": name.rsplit("-", 1)[0], "gate": "below the gate",
                                          "recorded": "below the gate", "failures": models.failures[0]}]
    assert models.failures[0] and "<=" not in models.failures[0]   # the model by its name, without the hash
    # the report is cached beside the weights (the checkpoint's, or the shipped copy's: the smoke profile's main
    # models ship with theirs): a second study run on the same model measures nothing
    ckpt = next(ckpts.glob("ihc-sr-x4-eps-smoke-*"))
    stored, _ = stored_report(str(ckpt))
    assert stored is not None and stored.passed is False

    def boom(*a, **k):
        raise AssertionError("the cached gate report was not used")

    monkeypatch.setattr(quality, "gate_report", boom)
    monkeypatch.setattr("spectral_collapse.framework.gate.gate_report", boom)
    again = run_study("main_results", results_root=res, rerun=True, **MAIN)
    assert json.loads(again.attrs["model_gate"]) == used


def test_trainer_logs_the_heldout_loss_and_its_device(ckpts):
    tm = models_mod.trained_model("smoke", "ihc-sr", "eps", progress=False)
    log = json.loads((tm.path / "log.json").read_text())
    steps = [r[0] for r in log["heldout"]]
    assert steps[0] == 0 and steps[-1] == tm.config.steps
    assert all(len(r) == 2 + BANDS for r in log["heldout"])
    first, last = log["heldout"][0], log["heldout"][-1]
    assert last[1] < first[1]                                   # training lowers the held-out loss
    assert first[1] == pytest.approx(sum(first[2:]) / BANDS)    # the mean over the noise bands
    assert log["device"].startswith("cpu") and log["heldout_bands"] == BANDS


def test_a_user_model_gets_the_same_report(tmp_path, ckpts):
    from test_hub import save_pipeline

    path = tmp_path / "mine"
    save_pipeline(path, classes=3)
    res = tmp_path / "results"
    with pytest.raises(WeakModelError, match=rf"model {path} is below the quality gate"):
        run_study("main_results", results_root=res, model=str(path), allow_weak_model=False, **MAIN)
    ds = run_study("main_results", results_root=res, model=str(path), **MAIN)
    used = json.loads(ds.attrs["model_gate"])
    assert used[str(path)]["role"] == "your model" and used[str(path)]["passed"] is False


def test_spectrum_failures_name_the_bands_outside_the_rule():
    """The chapter's table of failed spectrum checks lists exactly the bands whose |log10 ratio| exceeds 0.3, with
    their signs; passed checks and other checks are not listed."""
    import xarray as xr

    from spectral_collapse.framework.quality import GateReport
    from spectral_collapse.tables.quality import spectrum_failures

    bands = [0.01] * 16
    bands[7], bands[15], bands[3] = 0.31, 0.55, -0.42
    rows = [dict(check="spectrum", sampler="DDIM", label=0, value=0.55, threshold=0.3, rule="<=", passed=False,
                 bands=bands),
            dict(check="spectrum", sampler="DDIM", label=1, value=0.1, threshold=0.3, rule="<=", passed=True,
                 bands=[0.1] * 16),
            dict(check="std", sampler="DDIM", label=1, value=0.2, threshold=0.1, rule="<=", passed=False, bands=None)]
    rep = GateReport("m", pd.DataFrame(rows))
    ds = xr.Dataset(attrs={"gate_reports": json.dumps({"m": rep.to_dict()})})
    t = spectrum_failures(ds)
    assert list(t.index) == [("m", 0)]
    assert t.iloc[0, -1] == "4: -0.420, 8: +0.310, 16: +0.550"     # at the gate column's precision


def test_a_user_models_report_is_kept_on_disk_for_the_next_process_and_follows_its_weights(tmp_path, monkeypatch):
    """Inside a study run the report of a user's model is written beside the cell cache; a new process (the
    in-memory reports cleared) reads it instead of sampling again, and other weights are measured again."""
    from test_hub import save_pipeline

    from spectral_collapse.data import load_dataset
    from spectral_collapse.models.hub import from_diffusers
    from spectral_collapse.framework import gate

    data = load_dataset("ihc-sr", size=16, factor=4)
    measured = []
    real = gate.gate_report
    monkeypatch.setattr(gate, "gate_report", lambda D, *a, **k: measured.append(k["name"]) or real(D, *a, **k))

    def report(path):
        gate._USER_REPORTS.clear()   # what a new kernel starts with
        with gate.gate_policy(True, cache=tmp_path / "cache" / "gate"):
            return gate.user_report(from_diffusers(path), data, name=str(path), n=4, steps=2)

    save_pipeline(tmp_path / "a", classes=2)
    first = report(tmp_path / "a")
    assert measured == [str(tmp_path / "a")] and len(list((tmp_path / "cache" / "gate").glob("user-*.json"))) == 1
    again = report(tmp_path / "a")
    assert measured == [str(tmp_path / "a")]                     # read from disk, not sampled again
    assert again.to_dict() == json.loads(json.dumps(first.to_dict(), default=float))
    save_pipeline(tmp_path / "a", classes=2, seed=3)             # retrained in place: other weights, other key
    report(tmp_path / "a")
    assert len(measured) == 2
    with gate.gate_policy(True):                                 # no cache folder: memory only
        gate._USER_REPORTS.clear()
        gate.user_report(from_diffusers(tmp_path / "a"), data, name="a", n=4, steps=2)
    assert len(measured) == 3 and len(list((tmp_path / "cache" / "gate").glob("user-*.json"))) == 2


def test_gate_page_carries_the_label_chapters_link_to():
    """The chapters' link to the gate page resolves wherever the gate page lives and whatever it is called (the book's chapter is
    model_quality-<dataset>[-<profile>], a report's studies/model_quality.md): both carry the label it points to."""
    from spectral_collapse.pipeline.report import render_gate_page
    from spectral_collapse.framework.gate import GATE_LABEL

    chapter = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "model_quality.ipynb").read_text())
    assert f"({GATE_LABEL})=\n" in "".join(chapter["cells"][0]["source"])
    from spectral_collapse.models.oracle import ORACLE

    root = Path(__file__).resolve().parents[1]
    page = render_gate_page(SimpleNamespace(chapters=[], knobs={}), root)
    assert f"({GATE_LABEL})=" in page.splitlines()   # no chapter yet: the page still carries the label
    assert "No chapter recorded a gate report." in page
    oracle = render_gate_page(SimpleNamespace(chapters=[], knobs={"model": ORACLE}), root)
    assert f"({GATE_LABEL})=" in oracle.splitlines() and "not put through the quality gate" in oracle


def test_a_profile_can_allow_named_arms_below_the_gate_and_refuse_every_other_model(monkeypatch):
    """``allow_weak_models`` as model-set keys: a checkpoint of a named arm runs with its failures recorded, any other
    weak checkpoint (a key that is only a prefix of its name included) is refused naming the check; a study's own
    ``allow_weak_model`` overrides the profile's rule either way."""
    from dataclasses import replace

    from spectral_collapse.pipeline.runner import allow_weak
    from spectral_collapse.framework import profiles
    from spectral_collapse.studies import registry
    from spectral_collapse.framework.gate import allowed, enforce, gate_policy

    weak = quality.GateReport("m", pd.DataFrame([dict(check="spectrum", sampler="DDIM", label=1, value=0.5,
                                                      threshold=0.3, rule="<=", passed=False)]))
    dit, eps = "ihc-sr-x4-eps-dit-quick-144630ee4032", "ihc-sr-x4-eps-quick-abc383d0677a"
    assert allowed(("ihc-sr-x4-eps-dit",), dit) and not allowed(("ihc-sr-x4-eps",), dit)
    assert not allowed(("ihc-sr-x4-eps-dit",), eps) and allowed(True, eps) and not allowed(False, dit)
    with gate_policy(("ihc-sr-x4-eps-dit",)) as pol:
        assert enforce(dit, lambda: weak, role="DiT") is weak
        assert pol.used[dit]["passed"] is False and "spectrum" in pol.used[dit]["failures"]
        with pytest.raises(WeakModelError, match=r"spectrum \(DDIM, label 1\) 0.5, must be ≤ 0.3"):
            enforce(eps, lambda: weak)
    monkeypatch.setitem(profiles.PROFILES, "quick",
                        replace(profiles.PROFILES["quick"], allow_weak_models=("ihc-sr-x4-eps-dit",)))
    assert allow_weak(registry.study_spec("main_results", profile="quick")) == ("ihc-sr-x4-eps-dit",)
    assert allow_weak(registry.study_spec("main_results", profile="quick", allow_weak_model=True)) is True
    assert allow_weak(registry.study_spec("main_results", profile="quick", allow_weak_model=False)) is False


def test_gate_table_gives_the_gates_current_verdict_on_the_same_weights(tmp_path, monkeypatch):
    """Results record the gate's verdict when they were computed; the table gives the verdict of the report now
    stored with the same weights beside the recorded one."""
    import json

    import pandas as pd

    from spectral_collapse.framework.quality import GateReport
    from spectral_collapse.framework import model_set as models
    from spectral_collapse.train import shipped

    name = "ihc-sr-x4-flow-quick-0123456789ab"
    folder = tmp_path / "ckpt" / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model": {"parameterization": "flow"}}))
    rows = pd.DataFrame([{"check": "std", "sampler": "Heun", "label": 1, "value": 0.03, "threshold": 0.1,
                          "rule": "<=", "passed": True}])
    monkeypatch.setattr(models, "CHECKPOINT_ROOT", str(tmp_path / "ckpt"))
    monkeypatch.setattr(shipped, "SHIPPED_ROOT", str(tmp_path / "weights"))
    attrs = {"model_gate": json.dumps({name: {"passed": False, "failures": "std 0.115 > 0.1"}})}

    def store(settings):
        (folder / "quality.json").write_text(json.dumps({**GateReport("f", rows, {}).to_dict(), "settings": settings},
                                                        default=float))

    store({"n": 256, "steps": 50, "deterministic": "Heun"})
    row, = result_gate_table(attrs).to_dict("records")
    assert row == {"model": "ihc-sr-x4-flow-quick", "gate": "passes", "recorded": "below the gate", "failures": ""}
