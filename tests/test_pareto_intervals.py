"""The Pareto chart carries the 95 % interval over the sweep's crops on the points the chapter reads: each OVG
variant's chosen point and each baseline, computed from that point's own per-crop scores (a bootstrap of its mean,
checked against an independent re-computation), centred on the mean the marker shows, and drawn as one horizontal
(S_HF) and one vertical (S_LF) rule."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

ROOT = Path(__file__).resolve().parents[1]


def _stored() -> xr.Dataset:
    path = ROOT / "data" / "results" / "pareto" / "ihc-sr-quick.nc"
    if not path.exists():
        pytest.skip("no stored pareto results")
    return xr.load_dataset(path)


def test_each_baseline_and_choice_gets_the_interval_of_its_own_crops():
    from spectral_collapse.plotting.pareto import _interval_rows
    from spectral_collapse.studies.pareto import baseline_summary, grid_summary

    ds = _stored()
    base = baseline_summary(ds).assign(kind="baseline")
    base = base.assign(label=base["method"])
    grid = grid_summary(ds)
    picked = grid[grid["chosen"].astype(bool)].assign(kind="OVG grid point")
    picked = picked.assign(label=picked["base"])
    rows = _interval_rows(ds, pd.concat([base, picked], ignore_index=True))
    assert len(rows) == len(base) + len(picked)
    for r in rows.itertuples(index=False):
        assert r.hf_lo <= r.s_hf <= r.hf_hi and r.lf_lo <= r.s_lf <= r.lf_hi, r
    # each baseline's interval is its own: xarray's .sel(method=...) keyword would select nothing and give every
    # baseline the pooled interval
    b = rows[rows["kind"] == "baseline"]
    assert b[["hf_lo", "hf_hi"]].drop_duplicates().shape[0] == len(b)
    # an independent percentile bootstrap of one baseline's crops agrees to the bootstrap's resolution
    ddim = ds["baseline_s_hf"].sel({"method": "ddim"}).values
    ddim = ddim[np.isfinite(ddim)]
    rng = np.random.default_rng(1)
    means = ddim[rng.integers(0, len(ddim), size=(20_000, len(ddim)))].mean(1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    got = rows[rows["label"] == "ddim"].iloc[0]
    assert abs(got.hf_lo - lo) < 0.01 and abs(got.hf_hi - hi) < 0.01


def test_the_chart_draws_the_intervals_as_rules_and_says_so():
    from spectral_collapse.plotting.pareto import pareto_chart

    spec = pareto_chart(_stored()).to_dict()
    rules = [layer for layer in spec["layer"] if (layer.get("mark") or {}).get("type") == "rule"]
    spans = [r for r in rules if "hf_hi" in str(r["encoding"]) or "lf_hi" in str(r["encoding"])]
    assert {tuple(sorted(k for k in r["encoding"] if k in ("x2", "y2"))) for r in spans} == {("x2",), ("y2",)}
    assert "95 % bootstrap interval" in " ".join(spec["title"]["subtitle"])


def test_a_sweep_with_no_point_to_read_draws_no_interval_and_no_error():
    """Every sample of every grid point and baseline failed (an untrained model): the chart still draws, without
    intervals, as it draws without means."""
    from spectral_collapse.plotting.pareto import _interval_rows, pareto_chart

    ds = _stored()
    for v in ("s_hf", "s_lf", "baseline_s_hf", "baseline_s_lf"):
        ds[v] = ds[v] * np.nan
    empty = _interval_rows(ds, pd.DataFrame(columns=["label", "kind", "s_hf", "s_lf"]))
    assert len(empty) == 0 and {"hf_lo", "lf_hi"} <= set(empty.columns)
    spec = pareto_chart(ds).to_dict()
    assert not [layer for layer in spec["layer"] if "hf_hi" in str(layer.get("encoding", {}))]
    assert "bootstrap interval" not in " ".join(spec["title"]["subtitle"])   # no bars, so none are described
