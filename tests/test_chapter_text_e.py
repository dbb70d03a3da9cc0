"""What the guidance-schedule and training-seed chapters say in words, from synthetic results: shares of the gain
outside 0 to 100 % named as overshooting or working against it, a caveat on the in-run timings read from the
stored times, S_G's spread between training runs shown with the other metrics, and the pooled interval over runs and
crops defined from the results."""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

from spectral_collapse.metrics.intervals import MIN_EFFECT
from spectral_collapse.report import schedule as S
from spectral_collapse.studies import seed_tables as R


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


def test_shares_outside_0_to_100_name_the_overshoot_and_what_works_against_it():
    step = MIN_EFFECT["s_hf"]
    s_hf = {"ddim": 0.80, "ovg": 0.90, "low": 0.70, "mid": 0.88, "high": 0.90 + 3 * step, "last_half": 0.90 + step / 4}
    ds = _schedule(s_hf, {"ddim": 1.0, "ovg": 1.8, "low": 1.2, "mid": 1.1, "high": 1.15, "last_half": 1.3},
                   best="high", met=1)
    said = S.verdict(ds)
    out = S.outside_shares(ds)
    assert out and out in said
    over, against = out.split("The other way")
    assert "the high third and the last half overshoot" in over and "low third raises" not in over
    assert "middle third raises" not in over
    assert f"the high third raises the mean S_HF to {s_hf['high']:.3f} against full OVG's 0.900" in over
    assert "Only the high third does so by at least the smallest S_HF difference that counts" in over
    assert "the last half ends less than the smallest S_HF difference that counts" in over
    assert "the low third works against the gain" in against
    assert "the low third lowers the mean S_HF to 0.700 against DDIM's 0.800" in against
    assert "not a sum of parts" in out
    assert "carries the gain alone" not in said            # high alone keeps more than all of it
    assert "the mid third alone keeps 80 % as well" in said and "not confined to one third" in said


def test_shares_within_0_to_100_get_no_overshoot_sentence():
    s_hf = {"ddim": 0.80, "ovg": 0.90, "low": 0.88, "mid": 0.82, "high": 0.84}
    ds = _schedule(s_hf, {"ddim": 1.0, "ovg": 1.8, "low": 1.2, "mid": 1.2, "high": 1.2})
    assert S.outside_shares(ds) == ""
    said = S.verdict(ds)
    assert "overshoot" not in said and "against the gain" not in said
    only_under = _schedule({**s_hf, "low": 0.75}, {"ddim": 1.0, "ovg": 1.8, "low": 1.2, "mid": 1.2, "high": 1.2})
    text = S.outside_shares(only_under)
    assert text.startswith("Shares outside 0 to 100 %: the low third works against") and "overshoot" not in text
    assert "not a sum of parts" not in text


def test_timing_caveat_follows_the_stored_times():
    s_hf = {"ddim": 0.80, "ovg": 0.90, "low": 0.88, "every_4": 0.85}
    passes = {"ddim": 0, "ovg": 100, "low": 34, "every_4": 26}
    ordered = _schedule(s_hf, {"ddim": 1.0, "ovg": 1.8, "low": 1.3, "every_4": 1.2}, passes)
    text = S.timing_caveat(ordered)
    assert "the ratios rise with the backward passes" in text and "not these ratios" not in text
    assert "timed within this study's run" in S.verdict(ordered)
    swapped = _schedule(s_hf, {"ddim": 1.0, "ovg": 1.8, "low": 1.1, "every_4": 1.25}, passes)
    text = S.timing_caveat(swapped)
    assert "1 of the 3 pairs of schedules with different backward passes time in the opposite order" in text
    assert "low, 34 backward passes, at 1.10x against every_4, 26, at 1.25x" in text
    assert "at or below DDIM's" not in text and "not these ratios, order the schedules' costs" in text
    below = _schedule(s_hf, {"ddim": 1.0, "ovg": 1.8, "low": 1.3, "every_4": 0.97}, passes)
    text = S.timing_caveat(below)
    assert "every_4 times at or below DDIM's (0.97x)" in text and "opposite order" not in text


def test_cost_chart_marks_both_ends_of_the_share():
    from spectral_collapse.plotting.schedule import cost_quality_chart

    ds = _schedule({"ddim": 0.80, "ovg": 0.90, "low": 0.70, "high": 0.92}, {"ddim": 1.0, "ovg": 1.8, "low": 1.2,
                                                                           "high": 1.1})
    spec = cost_quality_chart(ds).to_dict()
    rules = [lay for lay in spec["layer"] if lay.get("mark", {}).get("type") == "rule"
             or lay.get("mark") == "rule"]
    assert rules
    values = spec["datasets"][rules[0]["data"]["name"]]
    assert sorted(v["y"] for v in values) == [0.0, 1.0]


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
