"""What the guidance-schedule and training-seed chapters show, from synthetic results: the cost chart marks both ends
of the share and writes the names of close points on opposite sides, S_G's spread between training runs shown with the other metrics, and the pooled interval over runs and
crops defined from the results."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from spectral_collapse.metrics.intervals import MIN_EFFECT
from spectral_collapse.tables import seeds as R


# ---------------------------------------------------------------------------------------------- schedules

def _schedule(s_hf: dict, ratio: dict, passes: dict | None = None, best: str = "", met: int = 0) -> xr.Dataset:
    methods = list(s_hf)
    gain = s_hf["ovg"] - s_hf["ddim"]
    share = {m: (v - s_hf["ddim"]) / gain for m, v in s_hf.items()}
    passes = passes or {m: {"ddim": 0, "ovg": 100}.get(m, 34) for m in methods}
    ds = xr.Dataset({"s_hf_mean": ("method", [s_hf[m] for m in methods]),
                     "s_hf_gain_share": ("method", [share[m] for m in methods]),
                     "time_ratio": ("method", [ratio[m] for m in methods]),
                     "backward_passes": ("method", [passes[m] for m in methods]),
                     "psnr": (("method", "sample"), np.full((len(methods), 2), 20.0))}, coords={"method": methods})
    thirds = [t for t in ("low", "mid", "high") if t in methods]
    ds.attrs.update(schedules=json.dumps({t: {"sigma_range": [i, i + 1]} for i, t in enumerate(thirds)}),
                    max_time_ratio=1.5, target_rule="r", target_met=met, best_schedule=best, timing_images=4)
    return ds


def test_cost_chart_marks_both_ends_of_the_share():
    from spectral_collapse.plotting.pareto import cost_quality_chart

    ds = _schedule({"ddim": 0.80, "ovg": 0.90, "low": 0.70, "high": 0.92}, {"ddim": 1.0, "ovg": 1.8, "low": 1.2,
                                                                           "high": 1.1})
    spec = cost_quality_chart(ds).to_dict()
    rules = [lay for lay in spec["layer"] if lay.get("mark", {}).get("type") == "rule"
             or lay.get("mark") == "rule"]
    assert rules
    values = spec["datasets"][rules[0]["data"]["name"]]
    assert sorted(v["y"] for v in values) == [0.0, 1.0]


def test_close_points_write_their_names_on_opposite_sides():
    """Points in x order: b lies 0.05 of the range right of a and as high, so its name goes below; c, as close to b,
    goes above again (b's is below); d is far from c, above. The chart's two text layers hold those names."""
    from spectral_collapse.plotting.charts import name_below, point_names

    frame = pd.DataFrame({"x": [0.0, 0.05, 0.10, 1.0], "y": [0.5, 0.5, 0.52, 0.0], "name": list("abcd")})
    assert name_below(frame["x"].to_numpy(), frame["y"].to_numpy()).tolist() == [False, True, False, False]
    spec = point_names(frame.iloc[::-1], x="x", y="y", text="name").to_dict()
    placed = {lay["mark"]["baseline"]: sorted(r["name"] for r in spec["datasets"][lay["data"]["name"]])
              for lay in spec["layer"]}
    assert placed == {"bottom": ["a", "c", "d"], "top": ["b"]}


# ---------------------------------------------------------------------------------------------- training seeds

def _seed_results(n_runs: int = 4, n_sets: int = 2, n: int = 10) -> xr.Dataset:
    """seed_spread results: ``n_runs`` training runs x 2 methods x ``n_sets`` translation seeds x n crops of PSNR, and
    S_G per set: method "a" saturated at 0, method "b" moving with the training run far more than between sets."""
    rng = np.random.default_rng(1)
    psnr = 15.0 + rng.normal(0, 0.3, (n_runs, 2, n_sets, n))
    s_g = np.zeros((n_runs, 2, n_sets))
    s_g[:, 1] = np.linspace(0.2, 0.8, n_runs)[:, None] + rng.normal(0, 0.01, (n_runs, n_sets))
    crop = np.broadcast_to(np.arange(n), (n_runs, n_sets, n))
    return xr.Dataset({"psnr": (("train_seed", "method", "seed", "sample"), psnr),
                       "s_g": (("train_seed", "method", "seed"), s_g),
                       "crop": (("train_seed", "seed", "sample"), crop.copy())},
                      coords={"train_seed": np.arange(n_runs), "method": ["a", "b"], "seed": np.arange(n_sets),
                              "sample": np.arange(n)})


def test_the_spread_table_carries_s_g_with_its_runs_means():
    ds = _seed_results()
    t = R.spread_table(ds, metrics=("psnr", "s_g"))
    sg = t[t["metric"] == "s_g"].set_index("method")
    assert set(sg.index) == {"a", "b"}
    means = ds["s_g"].sel({"method": "b"}).mean("seed").values
    for k in range(4):
        assert abs(sg.loc["b", f"seed {k}"] - round(float(means[k]), 3)) < 1e-9
    assert abs(sg.loc["b", "range"] - round(float(np.ptp(means)), 3)) < 1e-9
    assert sg[["half-width", "ratio", "pooled"]].isna().all().all()
    assert t[t["metric"] == "psnr"]["half-width"].notna().all()
    assert R.spread_table(ds)["metric"].eq("s_g").any()                 # the default table carries S_G
