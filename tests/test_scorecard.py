"""Reproduction scorecard (join of the paper's tables with our stored results) and the claim functions."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spectral_collapse.reference import paper_tables
from spectral_collapse.claims import paper as C
from spectral_collapse.claims import compare as V
from spectral_collapse.claims import scorecard as S
from spectral_collapse.verdicts.words import base_verdict
from spectral_collapse.claims import evidence as EV
from spectral_collapse.claims.shares import share_table
from spectral_collapse.framework.store import results_path, save_results

METHODS = ("ddim", "null_class", "direct_inversion", "renoise", "taba", "edm", "ovg", "ovg_taba", "ovg_edm")
OFFSETS = np.array([-0.03, 0.01, 0.0, 0.02])  # per-sample deviations that sum to 0: sample means are exact


def per_seed_values(method: str, metric: str, seed: int, good: bool) -> float:
    """Synthetic per-seed means. good=True: collapse for deterministic methods, OVG on top (the paper's story)."""
    base = {"s_hf": 0.9, "s_dc": 0.9, "s_g": 0.8, "s_lf": 0.6, "psnr": 15.0, "ms_ssim": 0.6, "lpips": 0.3}[metric]
    det = method in ("ddim", "null_class", "direct_inversion")
    shift = 0.01 * seed + 0.001 * METHODS.index(method)
    if metric in ("s_hf", "s_dc", "s_g"):
        drop = 0.3 if (det if good else not det) else 0.0
        return base - drop + shift
    if metric == "s_lf":
        return base + (0.1 if method.startswith("ovg") else 0.0) + (0.15 if det and good else 0.0) + shift
    if metric == "lpips":
        return base - (0.1 if method == "ovg_edm" else 0.0) + shift
    return base + shift


def main_ds(dataset: str, good: bool = True, seeds=(0, 1, 2), methods=METHODS, factor: int = 4) -> xr.Dataset:
    per_sample = ("psnr", "s_hf", "s_lf", "s_dc", "lpips")
    data = {}
    for metric in per_sample:
        arr = np.array([[[per_seed_values(m, metric, s, good) + o for o in OFFSETS] for s in seeds] for m in methods])
        data[metric] = (("method", "seed", "sample"), arr)
    data["s_g"] = (("method", "seed"), np.array([[per_seed_values(m, "s_g", s, good) for s in seeds] for m in methods]))
    data["images"] = (("method", "seed", "image", "channel", "y", "x"),
                      np.zeros((len(methods), len(seeds), 1, 1, 2, 2)))
    ds = xr.Dataset(data, coords={"method": list(methods), "seed": list(seeds), "sample": range(len(OFFSETS))})
    ds.attrs.update(dataset=dataset, data_meta=json.dumps({"factor": factor}))
    return ds


def ablation_ds(axis: str, values, good: bool = True) -> xr.Dataset:
    parts = [main_ds("ihc-sr", good=good if v != values[-1] else True, methods=("ddim", "taba", "ovg"))
             .drop_vars("images").expand_dims({axis: [v]}) for v in values]
    ds = xr.concat(parts, axis)
    ds.attrs["dataset"] = "ihc-sr"
    return ds


def write(root, study, dataset, ds, profile="quick"):
    save_results(ds, results_path(study, dataset, profile, root), add_provenance=False)


# ------------------------------------------------------------------------------------------ scorecard join

def test_scorecard_join_on_synthetic_results(tmp_path):
    write(tmp_path, "main_results", "ihc-sr", main_ds("ihc-sr"))
    write(tmp_path, "main_results", "ihc-edges", main_ds("ihc-edges"))
    write(tmp_path, "backbone_ablation", "ihc-sr", ablation_ds("backbone", ["unet", "dit"]))
    write(tmp_path, "scale_factor", "ihc-sr", ablation_ds("factor", [2, 4, 8]))
    write(tmp_path, "main_results", "ihc-sr", main_ds("ihc-sr"), profile="smoke")  # another profile: ignored
    ev = EV.load_evidence(tmp_path, "quick")
    card = S.scorecard(ev)
    paper = paper_tables()
    assert len(card) == len(paper)                       # a left join: every paper number once
    pd.testing.assert_frame_equal(card[S.KEYS].reset_index(drop=True), paper[S.KEYS].reset_index(drop=True))
    key = (card.table == "table9") & (card.method == "taba") & (card.metric == "s_hf")
    row = card[key].iloc[0]
    # written independently: mean over samples per seed, then mean and std (ddof 1) over seeds
    seeds = [per_seed_values("taba", "s_hf", s, True) for s in (0, 1, 2)]
    assert row.ours_mean == pytest.approx(np.mean(seeds)) and row.ours_std == pytest.approx(np.std(seeds, ddof=1))
    assert row.paper_mean == pytest.approx(0.96) and row.status == "compared" and "ihc-sr" in row.ours_from
    # s_g of Table 9 does not exist in the paper; FID is not in our synthetic results -> "not run"
    fid = card[(card.table == "table9") & (card.metric == "fid")]
    assert (fid.status == "not run").all() and fid.ours_mean.isna().all()
    # the edges stand-in fills Table 11, never the BBBC021 tables
    assert card[(card.table == "table11") & (card.metric == "psnr")].status.eq("compared").sum() == len(METHODS)
    # backbone ablation fills Table 3 by backbone; our factors 2 / 4 / 8 stand for x8 / x16 / x32 in Table 5
    t3 = card[(card.table == "table3") & (card.backbone == "dit") & (card.method == "ovg") & (card.metric == "s_dc")]
    assert t3.status.iloc[0] == "compared" and t3.ours_from.iloc[0].endswith("backbone dit")
    t5 = card[(card.table == "table5") & (card.scale == "x32") & (card.method == "ddim") & (card.metric == "psnr")]
    assert t5.ours_mean.iloc[0] == pytest.approx(np.mean([per_seed_values("ddim", "psnr", s, True) for s in (0, 1, 2)]))
    assert t5.ours_from.iloc[0].endswith("scale 8")
    assert (card[card.table.isin(["table4", "table6", "table8", "table10"])].status == "not run").all()
    # Table 1 recomputed: stochastic beats deterministic on S_DC in every one of 2 datasets x 2 x 3 method pairs,
    # each distinct comparison counted once (not once per seed), with an interval that cannot leave 100 %
    t1 = card[(card.table == "table1") & (card.metric == "s_dc")].iloc[0]
    assert t1.ours_mean == 1.0 and t1.ours_n == 2 * 2 * 3
    assert t1.ours_lo == t1.ours_hi == 1.0
    summary = S.counts(card)
    assert summary.loc["table9", "compared"] > 0 and summary.loc["table4", "from"] == "not run"


def test_real_dataset_replaces_its_bundled_stand_in(tmp_path):
    write(tmp_path, "main_results", "ihc-sr", main_ds("ihc-sr"))
    real = main_ds("bbbc021", factor=16)
    real["psnr"] = real["psnr"] + 5
    write(tmp_path, "main_results", "bbbc021", real)
    write(tmp_path, "main_results", "bbbc021x8", main_ds("bbbc021", factor=8))  # a second real run at x8 -> Table 8
    card = S.scorecard(EV.load_evidence(tmp_path, "quick"))
    r9 = card[(card.table == "table9") & (card.method == "ddim") & (card.metric == "psnr")].iloc[0]
    assert r9.ours_mean == pytest.approx(np.mean([per_seed_values("ddim", "psnr", s, True) for s in (0, 1, 2)]) + 5)
    assert r9.real and r9.ours_from == "main_results bbbc021 x16"
    assert card[(card.table == "table8") & (card.metric == "psnr")].status.eq("compared").any()


def test_table6_share_from_eps_vs_x0(tmp_path):
    eps = main_ds("ihc-sr", methods=("ddim", "taba", "ovg")).drop_vars("images")
    x0 = eps.copy(deep=True)
    x0["s_hf"] = x0["s_hf"] + 0.05       # x0 always better on S_HF
    x0["psnr"] = x0["psnr"] - 1.0        # always worse on PSNR
    x0["lpips"] = x0["lpips"] - 0.01     # lower LPIPS is better: always improved
    ds = xr.concat([eps.expand_dims(parameterization=["eps"]), x0.expand_dims(parameterization=["x0"])],
                   "parameterization")
    ds = xr.concat([ds.expand_dims(factor=[f]) for f in (2, 4, 8)], "factor")
    ds.attrs["dataset"] = "ihc-sr"
    write(tmp_path, "eps_vs_x0", "ihc-sr", ds)
    card = S.scorecard(EV.load_evidence(tmp_path, "quick")).set_index(["table", "metric"])
    assert card.loc[("table6", "s_hf"), "ours_mean"] == 1.0
    assert card.loc[("table6", "psnr"), "ours_mean"] == 0.0
    assert card.loc[("table6", "lpips"), "ours_mean"] == 1.0
    assert card.loc[("table6", "s_dc"), "ours_mean"] == 0.0   # equal is not an improvement
    assert card.loc[("table6", "s_hf"), "ours_n"] == 3 * 3  # methods x factors: seeds pool into one comparison
    claims = C.evaluate_claims(EV.load_evidence(tmp_path, "quick")).set_index("claim")
    # S_DC equal everywhere: ties within the minimal effect, no comparison decided; PSNR worse in all 9, but 9 are
    # under the powered minimum of decided comparisons: both claims inconclusive
    cure, structure = (claims.loc[k, "our numbers"] for k in ("x0_cure", "x0_structure"))
    assert claims.loc["x0_cure", "verdict"] == V.INCONCLUSIVE
    assert "s_dc: none of 9 comparisons decided (ties within the minimal effect 9;" in cure
    assert claims.loc["x0_structure", "verdict"] == V.INCONCLUSIVE
    assert "psnr: 0 of 9 decided won" in structure and "fewer than 20 decided" in structure


def test_a_share_against_a_hand_count():
    f = pd.DataFrame({"dataset": ["a"] * 4 + ["b"] * 4, "seed": 0,
                      "method": ["ddim", "taba", "ddim", "taba"] * 2, "metric": ["s_hf", "s_hf", "fid", "fid"] * 2,
                      "value": [0.5, 0.7, 10, 20, 0.9, 0.8, 30, 5]})
    pct = share_table(f, f.iloc[0:0], "taba", "ddim", "method", ("s_hf", "fid")).set_index("metric")
    assert pct.loc["s_hf", "share"] == 0.5 and pct.loc["s_hf", "cases"] == 2
    assert pct.loc["fid", "share"] == 0.5       # lower FID is better: b improved, a did not


# ------------------------------------------------------------------------------------------------- claims

def claims_for(tmp_path, good: bool) -> pd.DataFrame:
    root = tmp_path / ("good" if good else "bad")
    write(root, "main_results", "ihc-sr", main_ds("ihc-sr", good=good))
    write(root, "main_results", "ihc-edges", main_ds("ihc-edges", good=good))
    write(root, "backbone_ablation", "ihc-sr", ablation_ds("backbone", ["unet", "dit"], good=good))
    return C.evaluate_claims(EV.load_evidence(root, "quick")).set_index("claim")


def test_claims_hold_on_results_that_tell_the_papers_story(tmp_path):
    c = claims_for(tmp_path, good=True)
    for key in ("collapse_sdc", "collapse_shf", "corr_hf_dc", "corr_dc_g", "edm_tradeoff",
                "ovg_vs_ddim", "taba_structure", "ovg_front", "ovg_edm_lpips", "backbone"):
        assert base_verdict(c.loc[key, "verdict"]) == V.HOLDS, (key, c.loc[key, "our numbers"])
    # r = -0.72 with its interval reaching past -0.5: the whole interval must lie beyond the threshold
    assert c.loc["tradeoff_lf_dc", "verdict"] == V.INCONCLUSIVE, c.loc["tradeoff_lf_dc", "our numbers"]
    # Table 1's 12 comparisons all go the paper's way, but 12 are under the powered minimum of decided comparisons
    assert c.loc["table1", "verdict"] == V.INCONCLUSIVE
    assert "s_dc: 12 of 12 decided won" in c.loc["table1", "our numbers"]
    assert c.loc["ovg_front", "verdict"].endswith("(means only)")   # decided on means, and saying so
    assert "ihc-sr: S_DC ddim − taba" in c.loc["collapse_sdc", "our numbers"]
    assert "Pearson r = +" in c.loc["corr_hf_dc", "our numbers"]


def test_claims_fail_on_results_that_contradict_it(tmp_path):
    c = claims_for(tmp_path, good=False)
    for key in ("collapse_sdc", "collapse_shf", "ovg_vs_ddim", "backbone"):
        assert c.loc[key, "verdict"] == V.FAILS, (key, c.loc[key, "our numbers"])
    assert c.loc["table1", "verdict"] == V.INCONCLUSIVE
    assert "s_dc: 0 of 12 decided won" in c.loc["table1", "our numbers"]
    # the backbone check fails on one of the two arms only (both of its comparisons), and says so
    detail = c.loc["backbone", "our numbers"]
    assert detail.startswith("2 of 4 hold")
    assert "ihc-sr U-Net: S_HF ddim − ovg +" in detail and "ihc-sr DiT: S_HF ddim − ovg -" in detail


def test_correlation_claim_holds_and_fails():
    rng = np.random.default_rng(0)
    dc = rng.random(12)
    def ev(hf):
        f = pd.DataFrame({"study": "main", "dataset": "ihc-sr", "method": [f"m{i}" for i in range(12)] * 2, "seed": 0,
                          "metric": ["s_dc"] * 12 + ["s_hf"] * 12, "value": np.r_[dc, hf]})
        return EV.Evidence(frame=f)
    test = next(c.test for c in C.CLAIMS if c.key == "corr_hf_dc")
    assert test(ev(0.5 * dc + 0.01 * rng.random(12))).verdict == V.HOLDS
    found = test(ev(1 - dc))
    assert found.verdict == V.FAILS and "r = -1.00" in found.detail
    assert test(ev(np.full(12, 0.3))).verdict == V.UNTESTABLE   # no variation: no correlation to speak of


def test_claims_without_results_are_not_testable_and_paper_side_is_computed():
    empty = EV.load_evidence("/nonexistent-results-root", "quick")
    c = C.evaluate_claims(empty).set_index("claim")
    assert (c["verdict"] == V.UNTESTABLE).all()
    assert set(c["paper's tables"]) <= {V.HOLDS, V.FAILS, V.INCONCLUSIVE, V.UNTESTABLE}
    # inconclusive on the paper's tables only where reported means tie: Table 10 has EDM and DDIM at S_DC 0.880
    assert c.loc["collapse_sdc", "paper's tables"] == V.INCONCLUSIVE
    assert "S_DC ddim 0.880 vs edm 0.880 (tie)" in c.loc["collapse_sdc", "paper numbers"]
    # Table 1 recomputed from Tables 8-11, which give no S_G: S_G is not testable, the rest decides (all agree)
    assert c.loc["table1", "paper's tables"] == V.HOLDS
    assert "s_g: reported 75.0 %, not in Tables 8–11" in c.loc["table1", "paper numbers"]
    assert c.loc["corr_dc_g", "paper's tables"] == V.UNTESTABLE
    assert c.loc["corr_dc_g", "paper numbers"] == "no S_G"
    # computed from the paper's own tables: Table 5 gives DDIM S_DC 0.97, 0.69, 0.88 at x8, x16, x32 (not monotone)
    assert c.loc["scale_monotone", "paper's tables"] == V.FAILS
    assert "x8 0.970," in c.loc["scale_monotone", "paper numbers"]
    # the text's "17-35 %" against Table 6's 79.3 % PSNR: the paper's own table contradicts the claim
    assert c.loc["x0_structure", "paper's tables"] == V.FAILS
    assert c.loc["backbone", "paper's tables"] == V.HOLDS
    assert len(c) == len(C.CLAIMS) and c.index.is_unique


def test_ordering_agreement_counts_pairs_ordered_as_in_the_paper():
    """Same order -> agree; reversed -> disagree; a tie on either side is not a pair; shares are not method rows."""
    import pandas as pd

    from spectral_collapse.claims.scorecard import ordering_agreement

    def row(table, method, metric, paper, ours):
        return dict(table=table, dataset="bbbc021", scale="x16", backbone="unet", space="latent", method=method,
                    metric=metric, paper_mean=paper, ours_mean=ours)

    card = pd.DataFrame([row("table9", "ddim", "s_hf", 0.5, 0.1), row("table9", "taba", "s_hf", 0.9, 0.2),
                         row("table9", "ovg", "s_hf", 0.7, 0.3),        # pairs: ddim<taba ok, ddim<ovg ok, taba>ovg no
                         row("table9", "ddim", "psnr", 20, 30), row("table9", "taba", "psnr", 20, 25),  # paper tie
                         row("table1", "stochastic_vs_deterministic", "s_dc", 1.0, 0.2)])
    got = ordering_agreement(card).set_index("metric")
    assert (got.loc["s_hf", "pairs"], got.loc["s_hf", "agree"]) == (3, 2)
    assert got.loc["psnr", "pairs"] == 0 and "s_dc" not in got.index
