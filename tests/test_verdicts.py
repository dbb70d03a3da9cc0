"""Three-way verdicts of the claims on per-crop evidence built so that the answer is known by construction."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spectral_collapse.metrics.intervals import MIN_EFFECT, paired_ci
from spectral_collapse.claims import checks as K
from spectral_collapse.claims import paper as C
from spectral_collapse.claims import scorecard as S
from spectral_collapse.claims import evidence as EV
from spectral_collapse.claims import shares as SH
from spectral_collapse.claims import compare as V

from spectral_collapse import text as TX
N, SEEDS = 16, (0, 1, 2)   # 16 crops per seed, the seeds on disjoint crops: 48 crops in all
RNG = np.random.default_rng(7)


def crops(values: dict, metric: str, dataset: str = "d", study: str = "main", seeds=SEEDS, n: int = N,
          disjoint: bool = True, **axes) -> pd.DataFrame:
    """Per-crop rows of ``Evidence.crops``: values[method] broadcast to (seed, sample)."""
    rows = []
    for method, v in values.items():
        v = np.broadcast_to(np.asarray(v, float), (len(seeds), n))
        for i, s in enumerate(seeds):
            rows += [dict(study=study, dataset=dataset, method=method, seed=s, sample=j,
                          crop=i * n + j if disjoint else j, metric=metric, value=v[i, j], same_as="", **axes)
                     for j in range(n)]
    return pd.DataFrame(rows)


def evidence(*parts: pd.DataFrame, source: str = "ours", frame_only: bool = False) -> EV.Evidence:
    """Evidence whose per-seed frame is the mean of its per-crop rows (the crops dropped when ``frame_only``)."""
    cr = pd.concat(parts, ignore_index=True)
    keys = [c for c in cr.columns if c not in ("sample", "crop", "value")]
    frame = cr.groupby(keys, dropna=False)["value"].mean().reset_index()
    return EV.Evidence(frame=frame, source=source) if frame_only else EV.Evidence(frame=frame, crops=cr, source=source)


def claim(key: str):
    return next(c.test for c in C.CLAIMS if c.key == key)


def base(shape=(len(SEEDS), N)) -> np.ndarray:
    return 0.5 + 0.1 * RNG.standard_normal(shape)


# ------------------------------------------------------------------------------------------------ comparisons

def test_a_clear_effect_holds_its_reverse_does_not_and_noise_or_a_small_effect_is_inconclusive():
    ddim = base()
    noise = 0.05 * RNG.standard_normal(ddim.shape)
    noise -= noise.mean()                                          # zero-mean difference by construction
    cases = {V.HOLDS: ddim + 0.05, V.FAILS: ddim - 0.05, "noise": ddim + noise,
             "small": ddim + MIN_EFFECT["s_hf"] / 2}               # every crop better, but by half the minimal effect
    for case, other in cases.items():
        found = claim("collapse_shf")(evidence(crops({"ddim": ddim, "taba": other, "edm": other}, "s_hf")))
        want = case if case in (V.HOLDS, V.FAILS) else V.INCONCLUSIVE
        assert found.verdict == want, (case, found.detail)
        assert found.detail.count("48 crops") == 2 and "d: S_HF ddim − taba" in found.detail
    # one comparison inconclusive, the other holding: the claim is inconclusive; one failing: it does not hold
    mixed = claim("collapse_shf")(evidence(crops({"ddim": ddim, "taba": ddim + 0.05, "edm": ddim + noise}, "s_hf")))
    assert mixed.verdict == V.INCONCLUSIVE and mixed.detail.startswith("1 of 2 hold, 1 inconclusive")
    failing = claim("collapse_shf")(evidence(crops({"ddim": ddim, "taba": ddim + noise, "edm": ddim - 0.05}, "s_hf")))
    assert failing.verdict == V.FAILS


def test_the_paired_interval_is_paired_ci_over_the_crops():
    ddim, ovg = base(), base() + 0.02
    ev = evidence(crops({"ddim": ddim, "ovg": ovg}, "s_hf"), crops({"ddim": ddim, "ovg": ovg + 0.1}, "s_dc"))
    ci = paired_ci(ovg.ravel(), ddim.ravel())                      # crop order: seed, then sample
    a, b = V.paired_units(ev.crops[ev.crops["metric"] == "s_hf"], "ovg", "ddim")
    np.testing.assert_array_equal(a, ovg.ravel())
    np.testing.assert_array_equal(b, ddim.ravel())
    text = f"d: S_HF ovg − ddim {TX.signed(ci.mean)} [{TX.signed(ci.lo)}, {TX.signed(ci.hi)}], {ci.n} crops → "
    found = claim("ovg_vs_ddim")(ev)
    assert text in found.detail and ci.n == len(SEEDS) * N


def test_seeds_that_share_their_crops_are_one_unit_per_crop():
    """Without distinct crops per seed, the three translations of one crop are one unit (their differences averaged)."""
    ddim = np.repeat(base((1, N)), len(SEEDS), 0)                  # deterministic: the same values for every seed
    ovg = ddim + 0.03 + 0.01 * RNG.standard_normal(ddim.shape)
    cr = crops({"ddim": ddim, "ovg": ovg}, "s_hf", disjoint=False)
    a, b = V.paired_units(cr, "ovg", "ddim")
    assert len(a) == N
    np.testing.assert_allclose(a - b, (ovg - ddim).mean(0))


def test_paper_evidence_without_crops_decides_on_the_means():
    ddim = base()
    parts = (crops({"ddim": ddim, "taba": ddim + 0.001, "edm": ddim + 0.001}, "s_hf"),)
    assert evidence(*parts).crops.shape[0] > 0
    assert claim("collapse_shf")(evidence(*parts)).verdict == V.INCONCLUSIVE   # below the minimal effect
    paper = evidence(*parts, source="paper", frame_only=True)
    assert paper.crops.empty
    found = claim("collapse_shf")(paper)
    assert found.verdict == V.HOLDS and "crops" not in found.detail and "S_HF ddim" in found.detail
    worse = evidence(crops({"ddim": ddim, "taba": ddim - 0.001, "edm": ddim + 1}, "s_hf"), source="paper",
                     frame_only=True)
    assert claim("collapse_shf")(worse).verdict == V.FAILS
    # on the paper's tables a verdict is inconclusive only where two reported means tie (a tie goes neither way)
    paper_side = C.evaluate_claims(EV.Evidence(frame=pd.DataFrame(columns=["study"])))
    undecided = paper_side[paper_side["paper's tables"] == V.INCONCLUSIVE]
    assert undecided["paper numbers"].str.contains("(tie)", regex=False).all()
    tied = evidence(crops({"ddim": ddim, "taba": ddim + 1, "edm": ddim}, "s_hf"), source="paper", frame_only=True)
    found = claim("collapse_shf")(tied)
    assert found.verdict == V.INCONCLUSIVE and "(tie)" in found.detail   # not "does not hold"


def test_texture_error_must_move_toward_zero_without_overshooting():
    ddim = base()
    scores = [crops({"ddim": ddim, "ovg": ddim + 0.1}, m) for m in ("s_hf", "s_dc")]
    smooth = -1.5 + 0.1 * RNG.standard_normal(ddim.shape)         # DDIM too smooth on every crop
    sign = np.where(np.arange(ddim.size).reshape(ddim.shape) % 2, 1.0, -1.0)
    for ovg, want in ((-0.2 + 0 * ddim, V.HOLDS),                  # closer to 0
                      (0.1 * sign, V.HOLDS),                       # around 0, either side
                      (2.0 + 0 * ddim, V.FAILS),                   # overshoots: too noisy by more than DDIM is smooth
                      (-smooth, V.INCONCLUSIVE)):                  # as far off, the other way
        found = claim("ovg_vs_ddim")(evidence(*scores, crops({"ddim": smooth, "ovg": ovg}, "delta_log_e_hf")))
        assert found.verdict == want, found.detail
        assert "|Δlog E_HF| ovg − ddim" in found.detail and found.detail.startswith(
            {V.HOLDS: "3 of 3", V.FAILS: "2 of 3", V.INCONCLUSIVE: "2 of 3 hold, 1 inconclusive"}[want])
    older = claim("ovg_vs_ddim")(evidence(*scores))               # results without the metric: the check is skipped
    assert older.verdict == V.HOLDS and older.detail.startswith("2 of 2 hold") and "Δlog" not in older.detail
    # the real crops' band decides nothing (it lets the copied input through on photographs): an error
    # beyond it on the other side is judged on |error| as any other
    noisy = 0.6 + 0 * ddim                                        # |0.6| < |-1.5|: closer to 0
    ev = evidence(*scores, crops({"ddim": smooth, "ovg": noisy}, "delta_log_e_hf"))
    assert claim("ovg_vs_ddim")(ev).verdict == V.HOLDS
    assert "band" not in claim("ovg_vs_ddim")(ev).detail
    assert "band" in C.RULES[C.PAIRED] and "decides nothing" in C.RULES[C.PAIRED]


def test_the_real_band_is_the_ground_truths_spread():
    import xarray as xr

    gt = np.array([-0.5, 0.0, 0.5, np.nan])
    ds = xr.Dataset({"control_delta_log_e_hf": (("control", "crop_index"), np.stack([gt + 3, gt]))},
                    coords={"control": ["copy", "ground_truth"]})
    lo, hi = V.real_band(ds)
    assert (lo, hi) == pytest.approx((-0.5, 0.5))                 # mean 0 ± std 0.5 of the finite values
    assert V.real_band(xr.Dataset()) is None


def test_scale_steps_are_paired_on_the_same_crops_at_both_factors():
    ddim = base()
    def ev(steps):
        return evidence(*[crops({"ddim": ddim - s}, "s_dc", study="scale", scale=f)
                          for f, s in zip(("2", "4", "8"), steps)])
    found = claim("scale_monotone")(ev((0.0, 0.05, 0.1)))
    assert found.verdict == V.HOLDS and found.detail.count("48 crops") == 2
    assert "x2 (for the paper's x8) − x4 (for the paper's x16) +0.050 [+0.050, +0.050]" in found.detail
    assert claim("scale_monotone")(ev((0.0, 0.05, 0.05))).verdict == V.INCONCLUSIVE   # the last step is flat
    assert claim("scale_monotone")(ev((0.0, 0.05, 0.0))).verdict == V.FAILS


# ------------------------------------------------------------------------------------ shares and correlations

def _table1_parts(diff: float, noise: float = 0.0, metrics=("s_hf", "s_dc"), datasets=("a", "b")) -> list[pd.DataFrame]:
    parts = []
    for ds in datasets:
        det = np.repeat(base((1, N)), len(SEEDS), 0)               # the deterministic methods: copies over seeds
        vals = {"ddim": det, "null_class": det + 0.01}
        vals |= {m: det + diff + noise * RNG.standard_normal(det.shape) for m in ("taba", "renoise")}
        parts += [crops(vals, m, dataset=ds) for m in metrics]
    return parts


def test_shares_count_distinct_comparisons_with_an_exact_binomial_interval():
    from scipy.stats import binomtest

    parts = _table1_parts(0.2)
    found = claim("table1")(evidence(*parts))
    # 2 datasets x 2 x 2 methods, every one clear-cut: 8 of 8 won, but 8 comparisons cannot reach the powered count
    lo = binomtest(8, 8).proportion_ci(method="exact").low
    assert f"s_hf: 8 of 8 decided won, 100.0 % [{100 * lo:.1f}, 100.0]" in found.detail
    assert found.verdict == V.INCONCLUSIVE and "fewer than 20 decided" in found.detail
    doubled = claim("table1")(evidence(*parts, *parts))                           # every row twice: same comparisons
    assert doubled.detail == found.detail
    many = [f"d{k}" for k in range(5)]                                           # 20 comparisons: enough
    parts = _table1_parts(0.2, datasets=many)
    found = claim("table1")(evidence(*parts))
    assert found.verdict == V.HOLDS and found.detail.startswith("2 of 2 hold")      # S_LF, S_G not stored
    # the paper has stochastic methods lose on S_LF in most comparisons
    assert claim("table1")(evidence(*_table1_parts(-0.2, metrics=("s_lf",), datasets=many), *parts)).verdict == V.HOLDS
    won = claim("table1")(evidence(*_table1_parts(0.2, metrics=("s_lf",), datasets=many), *parts))
    assert won.verdict == V.FAILS and "s_lf: 20 of 20 decided won" in won.detail
    # a difference within the metric's minimal effect (0.01) is a tie, left out of the decided comparisons
    tied = claim("table1")(evidence(*_table1_parts(0.005, metrics=("s_hf",), datasets=many)))
    assert "s_hf: none of 20 comparisons decided (ties within the minimal effect 20;" in tied.detail
    assert tied.verdict == V.INCONCLUSIVE
    near = _table1_parts(0.0, noise=0.05)                        # stochastic methods at the deterministic level
    rows = pd.concat(near)
    s = SH.share_interval(rows[rows["metric"] == "s_hf"], SH.STOCHASTIC, SH.DETERMINISTIC, "method", ["dataset"],
                          "crop")
    assert s["cases"] == 8 and s["lo"] < 0.5 < s["hi"]
    assert SH.share_verdict(s["lo"], s["hi"], True) == V.INCONCLUSIVE
    assert SH.share_verdict(0.6, 0.9, True) == V.HOLDS and SH.share_verdict(0.1, 0.4, True) == V.FAILS
    assert SH.share_verdict(0.1, 0.4, False) == V.HOLDS


def test_a_coinciding_method_is_counted_once_in_shares():
    parts = _table1_parts(0.2, metrics=("s_hf",))
    for p in parts:
        p.loc[p["method"] == "null_class", "same_as"] = "ddim"
    found = claim("table1")(evidence(*parts))
    assert "of 4 " in found.detail                    # 2 datasets x 2 stochastic x ddim
    s = SH.share_table(*[pd.concat(parts)] * 2, SH.STOCHASTIC, SH.DETERMINISTIC, "method", ("s_hf",)).iloc[0]
    assert s.cases == 4 and s.coinciding_out == 2


def _points(n_methods: int, slope: float, noise: float, seeds=SEEDS, copies: bool = True) -> pd.DataFrame:
    """Per-crop s_hf and s_dc of methods whose means line up with ``slope`` (deterministic: copied over seeds)."""
    x = np.linspace(0.2, 0.9, n_methods)
    y = 0.5 + slope * (x - 0.5) + noise * RNG.standard_normal(n_methods)
    parts = []
    for m in range(n_methods):
        jitter = 0.01 * RNG.standard_normal((1 if copies else len(seeds), N))
        parts += [crops({f"m{m}": np.broadcast_to(v + jitter, (len(seeds), N))}, k, seeds=seeds)
                  for k, v in (("s_dc", x[m]), ("s_hf", y[m]))]
    return pd.concat(parts, ignore_index=True)


def test_correlations_are_over_distinct_points_with_a_fisher_interval():
    rows = _points(8, 1.0, 0.02)
    found = claim("corr_hf_dc")(evidence(rows))
    assert found.verdict == V.HOLDS and "over 8 points" in found.detail
    # copies over seeds, or every row twice, are no new points and leave r and its interval as they were
    once = claim("corr_hf_dc")(evidence(_points(8, 1.0, 0.02, seeds=(0,))))
    assert "over 8 points" in once.detail
    assert claim("corr_hf_dc")(evidence(rows, rows)).detail == found.detail
    w, _ = K.distinct_points(evidence(rows, rows).frame, evidence(rows, rows).crops, ("s_hf", "s_dc"))
    assert len(w) == 8
    r = float(np.corrcoef(w["s_hf"], w["s_dc"])[0, 1])
    lo, hi = V.fisher_interval(r, 8)
    z, half = np.arctanh(r), 1.959963984540054 / np.sqrt(8 - 3)
    assert (lo, hi) == pytest.approx((np.tanh(z - half), np.tanh(z + half)))
    assert f"r = {TX.signed(r, 2)} [{TX.signed(lo, 2)}, {TX.signed(hi, 2)}]" in found.detail
    # a strong negative r fails the claimed positive one; a moderate r over 5 points is inconclusive
    assert claim("corr_hf_dc")(evidence(_points(8, -1.0, 0.02))).verdict == V.FAILS
    few = _points(5, 0.7, 0.15)
    w, _ = K.distinct_points(evidence(few).frame, evidence(few).crops, ("s_hf", "s_dc"))
    r = float(np.corrcoef(w["s_hf"], w["s_dc"])[0, 1])
    lo, hi = V.fisher_interval(r, 5)
    want = V.HOLDS if lo >= 0.5 else V.FAILS if hi < 0.5 else V.INCONCLUSIVE      # the whole interval decides
    assert claim("corr_hf_dc")(evidence(few)).verdict == want
    assert V.correlation_verdict(0.7, -0.2, 0.95, +1, 0.5) == V.INCONCLUSIVE
    assert V.correlation_verdict(0.9, 0.6, 0.97, +1, 0.5) == V.HOLDS
    assert V.correlation_verdict(0.75, 0.44, 0.90, +1, 0.5) == V.INCONCLUSIVE   # r beyond 0.5, its interval not
    assert V.correlation_verdict(-0.9, -0.97, -0.6, -1, 0.5) == V.HOLDS
    assert V.correlation_verdict(0.1, -0.3, 0.45, -1, 0.5) == V.FAILS
    # on the paper's tables: r against the threshold alone
    paper = claim("corr_hf_dc")(evidence(few, source="paper", frame_only=True))
    assert paper.verdict == (V.HOLDS if r >= 0.5 else V.FAILS) and "Fisher" not in paper.detail


# ------------------------------------------------------------------------------------------ from results files

def test_the_per_crop_frame_reads_crops_failures_and_axes_from_a_results_file(tmp_path):
    from spectral_collapse.framework.store import results_path, save_results

    methods, n = ["ddim", "taba", "ovg"], 6
    v = 0.5 + 0.1 * RNG.standard_normal((2, len(methods), len(SEEDS), n))
    ds = xr.Dataset({m: (("factor", "method", "seed", "sample"), v + k) for k, m in enumerate(("s_hf", "s_dc"))},
                    coords={"factor": [2, 4], "method": methods, "seed": list(SEEDS), "sample": range(n)})
    ds["s_g"] = (("factor", "method", "seed"), RNG.random((2, len(methods), len(SEEDS))))
    ds["crop"] = (("seed", "sample"), np.arange(len(SEEDS) * n).reshape(len(SEEDS), n) + 100)
    failed = np.zeros((2, len(methods), len(SEEDS), n), bool)
    failed[0, 1, 0, :2] = True
    ds["failed"] = (("factor", "method", "seed", "sample"), failed)
    ds.attrs.update(dataset="ihc-sr", data_meta=json.dumps({}))
    save_results(ds, results_path("scale_factor", "ihc-sr", "quick", tmp_path), add_provenance=False)
    ev = EV.load_evidence(tmp_path, "quick")
    c = ev.select("scale", per_crop=True)
    assert set(c["metric"]) == {"s_hf", "s_dc"}                                  # s_g is set-level: no crops
    assert {"scale", "crop", "sample", "seed"} <= set(c.columns) and "factor" not in c
    assert sorted(c["crop"].unique()) == list(range(100, 100 + len(SEEDS) * n))
    assert c["value"].isna().sum() == 2 * 2                                      # two failed samples, two metrics
    bad = c[(c["scale"] == "2") & (c["method"] == "taba") & (c["seed"] == 0) & (c["sample"] < 2)]
    assert bad["value"].isna().all()
    row = c[(c["scale"] == "4") & (c["method"] == "ovg") & (c["seed"] == 2) & (c["sample"] == 3)
            & (c["metric"] == "s_dc")]
    assert row["value"].iloc[0] == pytest.approx(v[1, 2, 2, 3] + 1)
    assert EV.paper_evidence().crops.empty


def test_a_shift_inside_the_noise_is_inconclusive():
    ddim = base()
    noise = 0.05 * RNG.standard_normal(ddim.shape)
    ev = evidence(crops({"ddim": ddim, "taba": ddim + noise - noise.mean(), "edm": ddim + 0.05}, "s_hf"))
    c = C.evaluate_claims(ev).set_index("claim")
    assert c.loc["collapse_shf", "verdict"] == V.INCONCLUSIVE
    assert set(c["verdict"]) <= set(V.VERDICT_ORDER)


def test_a_chapter_judges_its_own_results_by_the_claims_page_rule():
    """``chapter_verdicts`` on one main-results dataset gives the verdicts ``evaluate_claims`` gives on evidence
    holding that dataset alone: the chapter and the claims page cannot disagree."""
    import xarray as xr

    from spectral_collapse.claims.paper import chapter_verdicts

    rng = np.random.default_rng(3)
    methods = ["ddim", "taba", "edm", "ovg"]
    shift = {"ddim": 0.0, "taba": 0.2, "edm": 0.1, "ovg": 0.15}
    data = {m: (("method", "seed", "sample"), np.stack([0.5 + shift[k] + 0.01 * rng.standard_normal((2, 6))
                                                          for k in methods])) for m in ("s_hf", "s_dc", "s_lf")}
    ds = xr.Dataset(data, coords={"method": methods, "seed": [0, 1]},
                    attrs={"study": "main_results", "dataset": "ihc-sr"})
    table = chapter_verdicts(ds).set_index("claim")
    mine = table["verdict"].to_dict()
    page = C.evaluate_claims(EV.evidence_of(ds, "main")).set_index("claim")["verdict"]
    assert mine and all(f"{page[k]} on ihc-sr" == v for k, v in mine.items())   # the chapter names its scope
    assert mine["collapse_sdc"] == f"{V.HOLDS} on ihc-sr"
    # OVG's S_DC is higher than DDIM's beyond its interval, but closes 0.15 / 0.5 = 30 % of the gap to white noise:
    # it reduces the collapse and does not remove it
    assert mine["ovg_vs_ddim"] == f"{V.FAILS} on ihc-sr" and table.loc["ovg_vs_ddim", "effect"] == "reduces"
    assert chapter_verdicts(ds.assign_attrs(study="velocity")).empty


def test_pca_claim_reads_paired_subsample_differences_three_ways():
    """k90 differences between series, over paired subsamples of their latents (studies.latents.k90_draws): a
    low-rank series clearly below Gaussian noise holds, one whose draws straddle it is inconclusive, and a series
    above it does not hold. Subsampling without replacement: a set drawn twice gives identical draws."""
    import torch

    from spectral_collapse.studies.latents import k90_draws

    gen = torch.Generator().manual_seed(0)
    gauss = torch.randn(40, 3, 8, 8, generator=gen)
    low = torch.randn(40, 6, generator=gen) @ torch.randn(6, 192, generator=gen)   # rank 6
    draws, m = k90_draws([low.reshape(40, 3, 8, 8), gauss, gauss], seed=1, draws=20)
    assert m == 30 and draws.shape == (3, 20)
    assert (draws[0] <= 6).all() and (draws[1] > 20).all() and (draws[1] == draws[2]).all()

    def result(x2, x4, x8, g=100):
        series = ["ddim x2", "ddim x4", "ddim x8", "gaussian"]
        rows = np.stack([np.asarray(v, float) + np.zeros(50) for v in (x2, x4, x8, g)]).round().astype(np.int64)
        return xr.Dataset({"k90": ("series", np.median(rows, 1).astype(int)), "k90_draws": (("series", "draw"), rows)},
                          coords={"series": series, "method": ("series", ["ddim"] * 3 + ["gaussian"]),
                                  "factor": ("series", [2, 4, 8, 0])}, attrs={"k90_subsample": 96})

    def verdict(res):
        return claim("pca_collapse")(EV.Evidence(frame=pd.DataFrame(), extra={"pca_collapse": {"d": res}}))

    spread = np.linspace(-3, 3, 50)
    clear = verdict(result(95 + spread, 90 + spread, 80 + spread))
    assert clear.verdict == V.HOLDS and "k90 ddim x8 − gaussian -20.0" in clear.detail, clear.detail
    assert "50 subsamples of 96 latents" in clear.detail
    assert verdict(result(95 + spread, 94 + 2 * spread, 80 + spread)).verdict == V.INCONCLUSIVE   # x4 ~ x2
    assert verdict(result(105 + spread, 90 + spread, 80 + spread)).verdict == V.FAILS             # x2 above noise

