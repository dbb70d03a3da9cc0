"""The model page's answers to a reviewer (``tables.gate_answers``): the two starts side by side with the std errors
of the gate's report, the edge-density table, and the claims each model below the gate decides."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from spectral_collapse.claims.paper import CLAIMS
from spectral_collapse.tables import gate_answers as ga


def _report(key: str, edges: bool, passed: bool = True) -> dict:
    rows = [{"check": "std", "sampler": "DDIM", "label": lab, "value": 0.011 + lab / 100, "threshold": 0.1,
             "rule": "<=", "passed": True} for lab in (0, 1)]
    unit = [{"sampler": "DDIM", "label": lab, "mean": 0.1, "std": 0.25 + lab / 10} for lab in (0, 1)]
    if edges:
        rows += [{"check": "edges", "sampler": s, "label": 0, "value": v, "threshold": 0.04, "rule": "<=",
                  "passed": passed or s == "DDIM", "share": 0.15 * (1 + v), "real": 0.15}
                 for s, v in (("DDIM", 0.01), ("stochastic Heun", 0.02 if passed else 0.5))]
        unit[0]["edges"] = 0.33
    return {"model": key, "rows": rows, "info": {"unit_start": unit}}


def _results(keys=("a-eps", "b-eps")) -> xr.Dataset:
    shape = (len(keys), 2, 3, 3, 4, 4)
    fill = {name: np.full(shape, v, dtype=np.float32) for name, v in (("samples", -0.5), ("gate_samples", 0.5),
                                                                        ("real", 1.0))}
    reports = {k: _report(k, edges=i == 1, passed=False) for i, k in enumerate(keys)}
    ckpts = {k: f"ckpt/{k}-quick-0123456789ab" for k in keys}
    return xr.Dataset({v: (("model", "label", "image", "channel", "y", "x"), a) for v, a in fill.items()},
                      coords={"model": list(keys), "label": [0, 1]},
                      attrs={"gate_reports": json.dumps(reports), "checkpoints": json.dumps(ckpts),
                             "models": json.dumps({k: {} for k in keys}), "profile": "quick"})


def test_start_rows_put_each_start_beside_the_other_with_the_reports_std_errors():
    ds = _results()
    rows = ga.start_rows(ds, "a-eps")
    assert list(rows) == ["pure noise, source: std error 0.250", "gate's start, source: std error 0.011",
                          "real, source", "pure noise, target: std error 0.350",
                          "gate's start, target: std error 0.021", "real, target"]
    assert (rows["pure noise, source: std error 0.250"] == -0.5).all()
    assert (rows["gate's start, target: std error 0.021"] == 0.5).all()
    assert ga.start_rows(ds.drop_vars("gate_samples"), "a-eps") == {}


def test_edge_table_gives_each_start_its_share_threshold_and_verdict():
    t = ga.edge_table(_results())
    assert list(t.index.get_level_values("model").unique()) == ["b-eps-quick"]     # only the report with the check
    judged = t.loc[("b-eps-quick", "gate's start, stochastic Heun")]
    assert judged["check"] == "fails" and judged["relative error"] == "0.500" and judged["threshold"] == "0.040"
    assert judged["edge pixels, samples"] == "22.5 %" and judged["edge pixels, training maps"] == "15.0 %"
    noise = t.loc[("b-eps-quick", "pure noise, DDIM")]
    assert noise["check"] == "not judged" and noise["relative error"] == f"{abs(0.33 / 0.15 - 1):.3f}"


def test_failing_claims_name_the_claims_whose_studies_used_the_model(tmp_path):
    ds = _results()
    for study, used in (("main_results", ["b-eps-quick-0123456789ab", "c-edm-quick-0123456789ab"]),
                        ("pareto", ["c-edm-quick-0123456789ab"])):
        (tmp_path / study).mkdir()
        gate = {m: {"passed": True, "failures": "", "role": ""} for m in used}
        xr.Dataset(attrs={"model_gate": json.dumps(gate)}).to_netcdf(tmp_path / study / "ihc-edges-quick.nc")
    t = ga.failing_claims(ds, tmp_path)
    assert list(t.index) == ["b-eps-quick"]                       # a-eps passes: no row
    main = [c.key for c in CLAIMS if "main" in c.reads]
    assert t.loc["b-eps-quick", "claims it decides"] == ", ".join(main) and main
    assert t.loc["b-eps-quick", "failed checks"].startswith("edges (stochastic Heun, label 0) 0.5")
    assert ga.claims_of_models(["c-edm-quick-0123456789ab"], tmp_path)["c-edm-quick-0123456789ab"] == [
        c.key for c in CLAIMS if {"main", "pareto"} & set(c.reads)]
    assert isinstance(t, pd.DataFrame)


def test_claims_mark_a_model_by_the_verdict_stored_now_with_its_weights(tmp_path, monkeypatch):
    """A result recorded its models as passing; the report stored now with one model's weights (this gate version)
    fails it: the claims' evidence names that model below the gate, without the result being computed again."""
    from spectral_collapse.claims.evidence import _gate_failed
    from spectral_collapse.framework import model_set
    from spectral_collapse.framework.quality import GATE_VERSION

    monkeypatch.setattr(model_set, "CHECKPOINT_ROOT", str(tmp_path))
    names = ["b-eps-quick-0123456789ab", "c-edm-quick-0123456789ab", "d-eps-quick-0123456789ab"]
    ds = xr.Dataset(attrs={"model_gate": json.dumps({n: {"passed": n != names[2]} for n in names})})
    assert _gate_failed(ds) == {names[2]}                        # nothing stored: the recorded verdicts
    for n, version in ((names[0], GATE_VERSION), (names[1], GATE_VERSION - 1)):
        (tmp_path / n).mkdir()
        rep = {**_report(n, edges=True, passed=False), "version": version, "passed": False}
        (tmp_path / n / "quality.json").write_text(json.dumps(rep))
    assert _gate_failed(ds) == {names[0], names[2]}              # an older gate version's report is not read
