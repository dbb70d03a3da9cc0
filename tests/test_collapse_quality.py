"""The collapse-against-quality record read as the closed-form chapter reads it (tables.collapse_quality), and the
support leak carried beside S_DC in the claims' paired comparisons (claims.compare.leak_beside)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from spectral_collapse.claims.compare import leak_beside
from spectral_collapse.tables.collapse_quality import quality_answers, quality_frame, quality_table


def _point(loss, leak_d, leak_o, sdc_d, sdc_o, chroma, step=None, logged=None):
    p = {"heldout_loss": loss, "ddim": {"leak_mean": leak_d, "s_dc": sdc_d},
         "ovg": {"leak_mean": leak_o, "s_dc": sdc_o, "drift_chroma_share": chroma}}
    return p if step is None else {"step": step, "logged_heldout_loss": logged, **p}


def _record(logged_shift=0.0):
    snaps = [_point(0.1, 0.8, 0.85, 0.5, 0.55, 0.6, 100, 0.1 + logged_shift),
             _point(0.05, 0.6, 0.7, 0.4, 0.5, 0.5, 200, 0.05), _point(0.03, 0.5, 0.65, 0.35, 0.45, 0.45, 400, None)]
    return {"dataset": "ihc-sr", "snapshots": snaps, "shipped": _point(0.02, 0.4, 0.6, 0.3, 0.42, 0.4, 800, 0.02),
            "oracle": _point(0.025, 5e-32, 6e-32, 0.07, 0.09, 0.3)}


def test_the_exact_model_is_a_level_and_the_trained_points_a_run():
    f = quality_frame(_record())
    assert set(f[f["step"].isna()]["point"]) == {"exact model"}
    assert sorted(f[f["step"].notna()]["point"].unique()) == ["shipped (step 800)", "step 100", "step 200", "step 400"]
    assert len(f) == 5 * 5   # five points, five measures each


def test_the_answers_read_both_ends_and_the_gain_of_ovg_over_ddim():
    a = quality_answers(_record(), "ihc-sr")
    assert a["has_quality"] and a["q_points"] == "4" and a["q_same_run"]
    assert (a["q_first_ddim_leak"], a["q_last_ddim_leak"], a["q_exact_ddim_leak"]) == ("0.80", "0.40", "5e-32")
    assert float(a["q_first_gain_leak"]) == np.round(0.85 - 0.8, 3) and float(a["q_last_gain_sdc"]) == 0.12
    # leak falls as the loss falls on every trained point: rho = +1 between loss and leak, the peak at the start
    assert a["q_rho"] == "+1.00" and (a["q_peak_point"], a["q_peak_ddim_leak"]) == ("step 100", "0.80")


def test_the_table_has_one_row_per_point_in_run_order_with_the_exact_model_last():
    t = quality_table(_record())
    assert list(t.index) == ["step 100", "step 200", "step 400", "shipped (step 800)", "exact model"]
    assert t.loc["step 200", "OVG support leak"] == "0.7" and t.loc["exact model", "DDIM support leak"] == "5e-32"
    assert list(t.columns)[0] == "held-out loss"


def test_a_snapshot_whose_loss_differs_from_the_log_is_not_called_the_same_run():
    assert not quality_answers(_record(logged_shift=1e-3), "ihc-sr")["q_same_run"]


def test_a_record_of_another_task_gives_no_answer():
    assert quality_answers(_record(), "ihc-edges") == {"has_quality": False}
    assert quality_answers(None, "ihc-sr") == {"has_quality": False}


def _crops(leaks: dict) -> pd.DataFrame:
    rows = [{"dataset": "d", "method": m, "seed": 0, "sample": i, "crop": i, "metric": "support_leak", "value": v}
            for m, vs in leaks.items() for i, v in enumerate(vs)]
    return pd.DataFrame(rows)


def test_the_leak_beside_s_dc_is_the_mean_over_the_crops_both_methods_scored():
    f = _crops({"ddim": [0.2, 0.4, np.nan], "taba": [1.0, 0.9, 0.95]})
    # the third crop has no DDIM leak, so TABA's mean is over the first two: 0.95
    assert leak_beside(f, "ddim", "taba") == "support leak ddim 0.300, taba 0.950"


def test_no_leak_is_said_where_the_task_has_no_known_support():
    f = _crops({"ddim": [np.nan, np.nan], "taba": [np.nan, np.nan]})
    assert leak_beside(f, "ddim", "taba") == ""
    assert leak_beside(f[f["metric"] == "s_dc"], "ddim", "taba") == ""
