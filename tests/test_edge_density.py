"""The gate's edge-density check on edge-map data: the share of edge pixels, its threshold from a bootstrap over the
training maps (checked against the normal approximation), the check's place in a gate report, and a failure of it
alone marking a model below the gate without refusing it."""
import numpy as np
import pandas as pd
import pytest
import scipy.stats
import torch

from spectral_collapse.data.unpaired import Task, UnpairedDomains
from spectral_collapse.framework.edge_density import (MIN_TOLERANCE, WHITE, edge_share, edge_stats, edge_task,
                                                      edge_tolerance)
from spectral_collapse.framework.quality import REPORTED, GateReport, WeakModelError, gate_report

SIZE = 16


def edge_maps(n: int, p: float, seed: int) -> torch.Tensor:
    """n binary edge maps (-1 edge on +1 white, three equal channels), each pixel an edge with probability drawn per
    map from U(p/2, 3p/2)."""
    g = torch.Generator().manual_seed(seed)
    rate = p * (0.5 + torch.rand(n, 1, 1, 1, generator=g))
    dark = torch.rand(n, 1, SIZE, SIZE, generator=g) < rate
    return torch.where(dark, -1.0, 1.0).expand(-1, 3, -1, -1).contiguous()


def edges_data(p: float = 0.15) -> UnpairedDomains:
    g = torch.Generator().manual_seed(9)
    tgt = torch.randn(512, 3, SIZE, SIZE, generator=g) * 0.5
    return UnpairedDomains("edges-test", SIZE, edge_maps(512, p, 1), tgt, edge_maps(64, p, 2), tgt[:64], {},
                           task=Task("edges"))


def test_edge_share_counts_pixels_darker_than_the_cut():
    x = torch.ones(2, 3, 4, 4)
    x[0, :, 0, :2] = -1.0            # 2 of 16 black
    x[1, :, 1, 1] = WHITE - 0.01      # grey just below the cut: an edge
    x[1, :, 2, 2] = WHITE + 0.01      # just above: white
    assert edge_share(x).tolist() == [2 / 16, 1 / 16]
    grey = torch.full((1, 1, 4, 4), WHITE - 0.5)   # one channel: its own value is the luma
    assert edge_share(grey).item() == 1.0


def test_threshold_is_the_bootstrap_interval_of_n_real_maps_near_the_normal_one():
    pool = edge_maps(2000, 0.15, 3)
    shares = edge_share(pool).numpy()
    for n in (64, 256):
        ref, tol = edge_tolerance(pool, n)
        assert ref == pytest.approx(shares.mean(), abs=1e-12)
        normal = scipy.stats.norm.ppf(0.995) * shares.std(ddof=0) / np.sqrt(n) / shares.mean()
        assert tol == pytest.approx(normal, rel=0.15), (n, tol, normal)
    with pytest.raises(ValueError, match="no pixel with luma below"):
        edge_tolerance(torch.ones(8, 3, 4, 4), 8)


def test_the_threshold_never_falls_below_the_gate_tolerance_of_a_mean():
    """At a large n the bootstrap interval shrinks below 10 %: a share 6 % off is then told from real maps, yet it is
    within what the gate allows a channel's mean, so it passes; a share 12 % off fails."""
    pool = edge_maps(4000, 0.15, 3)
    _, tol = edge_tolerance(pool, 2000)
    assert tol < MIN_TOLERANCE
    near, far = edge_stats(edge_maps(2000, 0.15 * 1.06, 6), pool), edge_stats(edge_maps(2000, 0.15 * 1.12, 7), pool)
    assert near["threshold"] == MIN_TOLERANCE and tol < near["value"] < MIN_TOLERANCE
    assert far["value"] > far["threshold"]


def test_real_maps_pass_and_maps_twice_as_dense_fail():
    pool = edge_maps(2000, 0.15, 3)
    same = edge_stats(edge_maps(256, 0.15, 4), pool)
    assert same["value"] < same["threshold"], same
    dense = edge_stats(edge_maps(256, 0.30, 5), pool)
    assert dense["share"] == pytest.approx(2 * dense["real"], rel=0.1) and dense["value"] > dense["threshold"]


def test_gate_report_judges_the_edge_maps_of_an_edges_task_only():
    from test_quality import EmpiricalDenoiser

    data = edges_data()
    assert edge_task(data) and not edge_task(UnpairedDomains("g", SIZE, data.source, data.target, data.test_source,
                                                             data.test_target, {}))
    rep = gate_report(EmpiricalDenoiser(data), data, steps=20, n=32, shape=(3, SIZE, SIZE), name="copier")
    e = rep.rows[rep.rows["check"] == "edges"]
    assert set(e["label"]) == {0} and len(e) == 2          # label 0 (the edge maps), both samplers
    assert e["passed"].all() and (e["value"] < e["threshold"]).all()
    assert e["real"].tolist() == pytest.approx([float(edge_share(data.source).mean())] * 2)
    noise = [u for u in rep.info["unit_start"] if u["label"] == 0][0]
    assert 0 <= noise["edges"] <= 1
    assert "edges" not in [u for u in rep.info["unit_start"] if u["label"] == 1][0]
    back = GateReport.from_dict(rep.to_dict())
    assert back.rows.loc[back.rows["check"] == "edges", "threshold"].tolist() == e["threshold"].tolist()


def _report(failed: dict) -> GateReport:
    rows = [{"check": c, "sampler": "DDIM", "label": 0, "value": v, "threshold": 0.1, "rule": "<=", "passed": ok}
            for c, (v, ok) in failed.items()]
    return GateReport("m", pd.DataFrame(rows))


def test_a_model_failing_only_the_edge_check_is_below_the_gate_but_not_refused():
    assert REPORTED == ("edges",)
    only_edges = _report({"mean": (0.01, True), "edges": (0.5, False)})
    assert not only_edges.passed
    only_edges.require()                                   # runs, recorded as below the gate
    assert "edges (DDIM, label 0) 0.5, must be ≤ 0.1" in only_edges.describe_failures()
    with pytest.raises(WeakModelError, match="mean"):
        _report({"mean": (0.5, False), "edges": (0.5, False)}).require()
    with pytest.raises(WeakModelError):
        _report({"plateau": (None, None)}).require()       # nothing judged is not a pass
