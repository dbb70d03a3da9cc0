"""The Pareto sweep gives the fill's scale its own axis, chosen by the rule that chooses OVG's step sizes, and only
the main results take the chosen scale from it."""
from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import torch
import xarray as xr

from spectral_collapse.data.support import BlockProjector
from spectral_collapse.framework.cells import StudyContext
from spectral_collapse.framework.method_labels import ovg_setting
from spectral_collapse.studies import pareto as P
from spectral_collapse.studies.registry import study_spec

SCALES = [0.25, 0.5, 0.75, 1.0]


def _sweep(monkeypatch, fill_kid, base_kid: float = 5.0, failed=()):
    """A quick sweep of OVG (one grid point) and DDIM + fill on fake cells: the fill's KID_wav ``fill_kid(scale)``,
    DDIM's ``base_kid``, every S_LF 0.7 and every detail score in the real band."""
    def fake_cell(ctx, D, ms, src, gt, seed, prof, scoring, n_show, ls=None):
        n = src.shape[0]
        scale = getattr(ms.method, "scale", None)
        kid = fill_kid(scale) if ms.label == "ddim_fill" else base_kid if ms.label == "ddim" else 4.0
        cell = xr.Dataset({k: ("sample", np.full(n, 0.0)) for k in P.SCORES})
        cell["s_lf"] = ("sample", np.full(n, 0.7))
        cell["failed"] = ("sample", np.full(n, ms.label == "ddim_fill" and scale in failed))
        cell["s_g"], cell["kid_wav"] = ((), 0.5), ((), kid)
        cell["images"] = (("image", "channel", "y", "x"), np.zeros((n_show, 3, 4, 4), np.float32))
        return cell

    monkeypatch.setattr(P, "_cell", fake_cell)
    monkeypatch.setattr(P, "scoring_settings", lambda data: {"kappa": 0.1, "wavelet": "db1", "mu_hf": 1.0,
                                                             "reference": {"n": 4},
                                                             "support": BlockProjector(2, (3, 4, 4))})
    monkeypatch.setattr(P, "_bands", lambda *a: ({"luma": (-1.0, 1.0), "chroma": (-1.0, 1.0)}, 0.1, "truths"))
    x = torch.zeros(4, 3, 4, 4)
    data = SimpleNamespace(test_source=x, test_target=x, name="toy", paired=True,
                           task=SimpleNamespace(describe=lambda: {"kind": "sr"}), meta={})
    return P.pareto_results(StudyContext(), data, {"eps": None}, profile="quick", bases=["ovg"], baselines=["ddim"],
                            eta_hf=[1e-7], eta_lf=[1e-3], extend=0, fill_scales=SCALES)


def test_the_fill_scale_is_chosen_like_ovgs_step_sizes_and_reaches_only_the_main_results(monkeypatch):
    ds = _sweep(monkeypatch, lambda s: 1 + 10 * abs(s - 0.5))
    choice = json.loads(ds.attrs["fill_choice"])
    assert choice["fill_scale"] == 0.5 and choice["beats_base"]
    assert list(ds["fill_scale"].values) == SCALES and ds["fill_chosen"].values.tolist() == [False, True, False, False]
    np.testing.assert_allclose(ds["fill_kid_wav"].values, [1 + 10 * abs(s - 0.5) for s in SCALES])
    main, other = (study_spec(s, dataset="ihc-sr", profile="quick") for s in ("main_results", "pca_collapse"))
    got = P.pareto_export(ds, main)
    assert got["fill_scale"] == 0.5 and "fill_scale" not in P.pareto_export(ds, other)
    assert ovg_setting(main.with_inputs(pareto=got))["fill_scale"] == 0.5


def test_a_failed_scale_is_never_chosen_and_no_scale_means_no_choice(monkeypatch):
    ds = _sweep(monkeypatch, lambda s: 1 + 10 * abs(s - 0.5), failed=(0.5,))
    assert json.loads(ds.attrs["fill_choice"])["fill_scale"] in (0.25, 0.75)
    ds = _sweep(monkeypatch, lambda s: 1.0, failed=tuple(SCALES))
    assert json.loads(ds.attrs["fill_choice"]) is None and not ds["fill_chosen"].values.any()
    assert "fill_scale" not in P.pareto_export(ds, study_spec("main_results", dataset="ihc-sr", profile="quick"))
    assert not math.isnan(ds["fill_kid_wav"].values[0])
