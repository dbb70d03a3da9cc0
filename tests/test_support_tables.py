"""The chapters' support tables: the fill beside the methods its claim names, on both arms, and the network-or-grid
record as a table of means over training seeds."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from spectral_collapse.framework.oracle_arm import with_arm
from spectral_collapse.tables.support import fill_table, grid_table


def _results(rng, methods):
    shape = (len(methods), 2, 5)
    ds = xr.Dataset({k: (("method", "seed", "sample"), rng.random(shape)) for k in
                     ("kid_wav", "s_lf", "s_hf", "support_leak", "s_dc")},
                    coords={"method": methods, "seed": [0, 1], "sample": np.arange(5)})
    ds["failed"] = (("method", "seed", "sample"), np.zeros(shape, bool))
    return ds


def test_fill_table_gives_each_arms_means_and_failed_counts():
    rng = np.random.default_rng(0)
    trained, exact = _results(rng, ["ddim", "ovg", "ddim_fill", "bdia"]), _results(rng, ["ddim", "ddim_fill"])
    trained["failed"][2, 0, 1] = True
    t = fill_table(with_arm(trained, exact))
    assert list(t.index) == [("trained networks", m) for m in ("ddim", "ovg", "ddim_fill")] + \
        [("exact model", m) for m in ("ddim", "ddim_fill")]
    assert t.loc[("trained networks", "ddim_fill"), "failed"] == 1
    np.testing.assert_allclose(t.loc[("exact model", "ddim"), "s_lf"], exact["s_lf"].values[0].mean(), rtol=1e-12)


def test_grid_table_means_the_training_seeds_and_keeps_each():
    row = lambda net, grid, leak: {"network": net, "grid": grid, "leak_mean": leak, "s_dc": leak / 2,  # noqa: E731
                                   "clamped": grid == "edm" and net == "eps"}
    record = {"oracle": [row("eps", "ddim", 1e-32), row("edm", "edm", 2e-32)],
              "trained": {"0": [row("edm", "edm", 0.9), row("eps", "edm", 0.5)],
                          "1": [row("edm", "edm", 1.0), row("eps", "edm", 0.6)]}}
    t = grid_table(record)
    assert t.loc[("trained networks", "edm", "edm"), "leak"] == pytest.approx(0.95)
    assert t.loc[("trained networks", "edm", "edm"), "per training seed"] == "0.90 / 1.00"
    assert t.loc[("exact model", "eps", "ddim"), "leak"] == pytest.approx(1e-32)
    assert bool(t.loc[("trained networks", "eps", "edm"), "clamped"])


def test_fill_scale_table_reads_the_sweeps_fill_axis_per_arm():
    from spectral_collapse.tables.support import fill_scale_table

    rng = np.random.default_rng(1)
    v = rng.random((3, 4))
    ds = xr.Dataset({"fill_kid_wav": ("fill_scale", [3.0, 1.0, 2.0]), "fill_s_lf": (("fill_scale", "sample"), v),
                     "fill_failed": (("fill_scale", "sample"), v > 0.8),
                     "fill_chosen": ("fill_scale", [False, True, False])}, coords={"fill_scale": [0.5, 0.75, 1.0]})
    t = fill_scale_table(ds)
    assert list(t.index) == [0.5, 0.75, 1.0] and list(t["chosen"]) == ["", "chosen", ""]
    np.testing.assert_allclose(t["S_LF"], v.mean(1))
    assert list(t["failed samples"]) == list((v > 0.8).sum(1))
    assert fill_scale_table(ds, "__oracle").empty
