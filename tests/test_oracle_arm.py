"""The oracle arm of the studies (framework/oracle_arm.py): stored beside the trained models' results without changing
them, read back under the original names, and ``model="oracle"`` as a study's model."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import xarray as xr

from spectral_collapse.framework.oracle_arm import SUFFIX, arm_results, has_arm, with_arm


def _result(seed: int, methods=("ddim", "ovg")) -> xr.Dataset:
    g = np.random.default_rng(seed)
    return xr.Dataset({"psnr": (("method", "seed", "sample"), g.normal(size=(len(methods), 2, 4))),
                       "images": (("image", "channel"), g.normal(size=(3, 3)))},
                      coords={"method": list(methods), "seed": [0, 1], "sample": np.arange(4)},
                      attrs={"study": "main_results", "models": json.dumps({"eps": f"m{seed}"}),
                             "model_gate": json.dumps({"m0-0123456789ab": {"passed": False}})})


def test_the_arm_is_stored_beside_and_read_back_unchanged():
    """with_arm leaves every trained variable and attr as it was; arm_results gives the oracle's result back under
    its own names with its own attrs and no gate record."""
    base, arm = _result(0), _result(1, methods=("ddim",))
    out = with_arm(base, arm, form="full")
    plain = out[[v for v in out.data_vars if not str(v).endswith(SUFFIX)]]
    plain = plain.drop_vars([c for c in plain.coords if str(c).endswith(SUFFIX)])
    xr.testing.assert_identical(plain.drop_attrs(), base.drop_attrs())
    assert {k: out.attrs[k] for k in base.attrs} == base.attrs
    assert has_arm(out) and not has_arm(base)
    back = arm_results(out)
    xr.testing.assert_equal(back[["psnr", "images"]], arm[["psnr", "images"]])
    assert json.loads(back.attrs["models"]) == {"eps": "m1"}
    assert back.attrs["oracle_form"] == "full" and json.loads(back.attrs["model_gate"]) == {}
    assert arm_results(base) is None


def test_the_oracle_arm_does_not_mark_a_study_weak():
    """evidence.weak_arms of a file whose trained model is below the gate is the same with the oracle arm."""
    from spectral_collapse.claims.evidence import weak_arms

    base = _result(0)
    assert weak_arms(with_arm(base, _result(1))) == weak_arms(base)


def test_model_oracle_is_a_users_model_without_the_gate():
    """model="oracle": the eps and EDM oracles of the spec's data, recorded as the oracle, never gate-checked."""
    from spectral_collapse.models.oracle import GaussianPair
    from spectral_collapse.framework.user_models import user_models
    from spectral_collapse.studies.registry import study_spec

    given = user_models(study_spec("main_results", dataset="ihc-sr", profile="smoke", model="oracle"))
    assert set(given.models) == {"eps", "edm"} and all(isinstance(D.net, GaussianPair) for D in given.models.values())
    assert given.info["model"]["name"] == "oracle" and given.image_size == 16


@pytest.mark.slow
@pytest.mark.parametrize("study", ["main_results", "gaussianity"])
def test_smoke_study_carries_the_arm_and_keeps_the_trained_numbers(study, tmp_path, monkeypatch):
    """A smoke study computed with and without the oracle arm: the same trained variables and values, and the arm's
    own result with its scores."""
    from spectral_collapse.framework.cells import StudyContext
    from spectral_collapse.studies.registry import get_study, study_spec

    warnings.simplefilter("ignore")
    knobs = {"methods": ["ddim", "ovg"]} if study == "main_results" else {}   # OVG: the drift diagnostics too
    runs = {arm: get_study(study).run(study_spec(study, dataset="ihc-sr", profile="smoke", oracle_arm=arm, **knobs),
                                      StudyContext(progress=False)) for arm in (False, True)}
    with_o = runs[True]
    plain = with_o[[v for v in with_o.data_vars if not str(v).endswith(SUFFIX)]]
    plain = plain.drop_vars([c for c in plain.coords if str(c).endswith(SUFFIX)])
    xr.testing.assert_identical(plain.drop_attrs(), runs[False].drop_attrs())
    arm = arm_results(with_o)
    score = "psnr" if study == "main_results" else "s_g"
    assert score in arm and np.isfinite(arm[score].values).any()
    assert json.loads(arm.attrs["models"])["eps"] == "oracle"
    if study == "main_results":   # OVG's drift diagnostics with the oracle: exactly constant inside the 4 x 4 blocks
        assert arm.attrs["ovg_drift_block_edge_ratio"] > 1e6 and "ovg_drift_norm" in arm


def test_report_content_names_the_oracle_without_reading_a_folder():
    """A report with --model oracle signs its model as the oracle (no pipeline folder is looked up)."""
    from spectral_collapse.pipeline.report import report_content

    assert report_content("ihc-sr", "smoke", {"model": "oracle"})["model"] == "oracle"


def test_heldout_table_sets_each_models_last_loss_beside_the_oracles():
    """The model-quality table reads each model's last recorded held-out loss (mean band) and the oracle arm's."""
    from spectral_collapse.tables.quality import heldout_table

    curve = np.array([[[3.0, 0, 0], [2.0, 0, 0], [np.nan] * 3], [[5.0, 0, 0], [4.0, 0, 0], [1.0, 0, 0]]])
    ds = xr.Dataset({"heldout_loss": (("model", "heldout_index", "band"), curve)},
                    coords={"model": ["a", "b"], "band": np.arange(3)}, attrs={"checkpoints": "{}"})
    arm = xr.Dataset({"heldout_loss": (("model", "band"), [[0.5, 0, 0]])}, coords={"model": ["a"]})
    table = heldout_table(with_arm(ds, arm))
    assert list(table.index) == ["a"]
    assert table.loc["a"].tolist() == [2.0, 0.5, 4.0]
    assert heldout_table(ds).empty
