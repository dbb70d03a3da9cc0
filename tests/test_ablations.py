"""Ablation studies (issue 5, paper Tables 3-6): arms, assembly of per-arm results, joins with the paper's tables,
Table 6's "% improved", and (slow) the four notebooks end to end on the smoke profile, bundled and real-format data.

Fast tests feed synthetic per-arm results whose expected summaries are computed here with numpy; the paper's
numbers come from the paper (Tables 3 and 6).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from spectral_collapse.studies import ablations as ab

ROOT = Path(__file__).resolve().parents[1]
METHODS = ["ddim", "taba", "ovg"]


def _fake_arm(rng, *, n=6, latent_shape=(3, 8, 8), rank1=False, shift=0.0, seeds=(0, 1)):
    """A per-arm result as run_translation_study returns it (variables, dims and attrs the assembly uses)."""
    dims = ("method", "seed", "sample")
    shape = (len(METHODS), len(seeds), n)
    ds = xr.Dataset({k: (dims, rng.random(shape) + shift) for k in ("psnr", "s_hf", "s_lf", "s_dc")},
                    coords={"method": METHODS, "seed": list(seeds), "sample": np.arange(n), "image": np.arange(n)})
    ds["s_g"] = (("method", "seed"), rng.random(shape[:2]))
    ds["finite"] = (dims, np.ones(shape, bool))
    if rank1:  # every latent a multiple of one pattern: PCA puts all variance in component 1
        pattern = rng.standard_normal(latent_shape)
        lat = rng.standard_normal(shape[:2] + (n, 1, 1, 1)) * pattern
    else:
        lat = rng.standard_normal(shape[:2] + (n, *latent_shape))
    ld = ("image", "channel", "y", "x") if latent_shape[0] == 3 else ("image", "latent_channel", "latent_y", "latent_x")
    ds["latents"] = (("method", "seed", *ld), lat.astype(np.float32))
    ds["images"] = (("method", "seed", "image", "channel", "y", "x"), rng.random(shape[:2] + (n, 3, 8, 8)))
    ds["source_images"] = (("image", "channel", "y", "x"), rng.random((n, 3, 8, 8)))
    ds["truth_images"] = (("image", "channel", "y", "x"), rng.random((n, 3, 8, 8)))
    ds["noise_samples"] = (("model", "noise_image", "channel", "y", "x"), rng.random((1, 2, 3, 8, 8)))
    ds = ds.assign_coords(model=["eps"], noise_image=[0, 1])
    ds.attrs.update(dataset="ihc-sr", profile="smoke", steps=8, n_test=n, models=json.dumps({"eps": ""}),
                    latent_space="null", space="pixel", backbone="unet", parameterization="eps")
    return ds


def _expected_mean(ds, metric, method):
    """Mean over seeds of the per-seed sample means (the paper's aggregation), with numpy."""
    return float(np.mean(ds[metric].sel({"method": method}).values.mean(axis=-1)))


@pytest.fixture
def fake_runs(monkeypatch):
    """Replace run_translation_study by synthetic per-arm results; records the arguments of each call."""
    from spectral_collapse.studies import translation

    calls, made = [], {}

    def fake(study, dataset, profile, **kw):
        calls.append(kw)
        rng = np.random.default_rng(len(calls))
        latent = kw.get("space") == "latent"
        ds = _fake_arm(rng, latent_shape=(4, 4, 4) if latent else (3, 8, 8), rank1=latent,
                       shift=0.5 if kw.get("parameterization") == "x0" else 0.0)
        made[kw["tag"]] = ds
        return ds

    monkeypatch.setattr(translation, "run_translation_study", fake)
    return calls, made


def test_arms_of_each_study():
    assert [a.tag for a in ab.ablation_arms("backbone_ablation", "quick")] == ["unet", "dit"]
    assert [a.space for a in ab.ablation_arms("space_ablation", "quick")] == ["pixel", "latent"]
    assert [a.factor for a in ab.ablation_arms("scale_factor", "quick")] == [2, 4, 8]
    arms = ab.ablation_arms("eps_vs_x0", "smoke", factors=[2, 4])
    assert [a.tag for a in arms] == ["eps-factor2", "eps-factor4", "x0-factor2", "x0-factor4"]
    assert [a.factor for a in ab.ablation_arms("eps_vs_x0", "smoke", dataset="ihc-edges")] == [4, 4]
    with pytest.raises(ValueError, match="super-resolution dataset"):
        ab.ablation_arms("scale_factor", "quick", dataset="edges2shoes")
    with pytest.raises(ValueError, match="valid: backbone_ablation, space_ablation, scale_factor, eps_vs_x0"):
        ab.ablation_arms("width_ablation", "quick")


def test_paper_scale_maps_by_rank_and_keeps_the_papers_own_factors():
    assert [ab.paper_scale(f, (2, 4, 8)) for f in (2, 4, 8)] == ["x8", "x16", "x32"]
    assert [ab.paper_scale(f, (8, 16, 32)) for f in (8, 16, 32)] == ["x8", "x16", "x32"]
    assert [ab.paper_scale(f, (2, 4)) for f in (2, 4)] == ["x8", "x16"]


def test_backbone_ablation_assembles_arms_and_joins_table3(fake_runs, tmp_path):
    calls, made = fake_runs
    ds = ab.run_ablation_study("backbone_ablation", "ihc-sr", "smoke", root=tmp_path, n_pca=6)
    assert [c["backbone"] for c in calls] == ["unet", "dit"] and all(c["save"] is False for c in calls)
    assert list(ds["backbone"].values) == ["unet", "dit"] and ds["s_hf"].dims[0] == "backbone"
    assert (tmp_path / "backbone_ablation" / "ihc-sr-smoke.nc").exists()
    cmp = ab.ablation_comparison(ds)
    row = cmp[(cmp.backbone == "dit") & (cmp.method == "ovg") & (cmp.metric == "s_hf")].iloc[0]
    assert row.ours_mean == pytest.approx(_expected_mean(made["dit"], "s_hf", "ovg"))
    assert row.paper_mean == 0.97  # paper Table 3: DiT, OGV, S_HF
    row = cmp[(cmp.backbone == "unet") & (cmp.method == "ddim") & (cmp.metric == "s_dc")].iloc[0]
    assert row.paper_mean == 0.69  # paper Table 3: U-Net, Standard, S_DC
    table = ab.format_ablation(ds)
    assert table.loc[("unet", "taba"), "psnr"].startswith(f"{_expected_mean(made['unet'], 'psnr', 'taba'):.3f}")
    verdict = ab.ablation_verdict(ds)
    assert "backbone unet: DDIM S_DC" in verdict and "backbone dit: DDIM S_DC" in verdict


def test_every_arm_gets_the_ovg_step_sizes_read_at_the_start(fake_runs, tmp_path, monkeypatch):
    """A Pareto choice written while an ablation runs must not give its arms different OVG settings."""
    from spectral_collapse.studies import translation

    calls, _ = fake_runs
    fake = translation.run_translation_study

    def fake_then_choose(study, dataset, profile, **kw):
        out = fake(study, dataset, profile, **kw)
        choice = tmp_path / "pareto" / f"{dataset}-{profile}-choice.json"
        choice.parent.mkdir(parents=True, exist_ok=True)
        choice.write_text(json.dumps({"eta_hf": 3e-7, "eta_lf": 0.02}))  # as a concurrent Pareto run would
        return out

    monkeypatch.setattr(translation, "run_translation_study", fake_then_choose)
    ab.run_ablation_study("scale_factor", "ihc-sr", "smoke", root=tmp_path, n_pca=6)
    assert len(calls) == 2 and calls[0]["ovg"] == calls[1]["ovg"]
    assert calls[0]["ovg"]["eta_hf"] == translation.OVG_DEFAULTS["eta_hf"]
    # the next study reads the new choice, again for all of its arms
    calls.clear()
    ab.run_ablation_study("scale_factor", "ihc-sr", "smoke", root=tmp_path, n_pca=6)
    assert [c["ovg"]["eta_hf"] for c in calls] == [3e-7, 3e-7]


def test_space_ablation_keeps_latents_of_each_shape_and_their_pca(fake_runs, tmp_path):
    _, made = fake_runs
    ds = ab.run_ablation_study("space_ablation", "ihc-sr", "smoke", root=tmp_path, n_images=2, n_pca=6)
    pix, lat = ab.arm_latents(ds, space="pixel"), ab.arm_latents(ds, space="latent")
    assert pix.shape[-3:] == (3, 8, 8) and lat.shape[-3:] == (4, 4, 4) and lat.sizes["image"] == 2
    np.testing.assert_array_equal(lat.values, made["latent"]["latents"].values[:, :, :2])
    # rank-1 latents (collapse) put all variance in the first component; Gaussian ones do not
    cev = ds["pca_cev"].sel(space="latent").values[..., 0]
    np.testing.assert_allclose(cev, 1.0, rtol=1e-9)
    assert (ds["pca_cev"].sel(space="pixel").values[..., 0] < 0.6).all()
    assert int(ds["latent_dim"].sel(space="latent")) == 64 and int(ds["latent_dim"].sel(space="pixel")) == 192
    cmp = ab.ablation_comparison(ds)
    assert set(cmp.dropna(subset=["paper_mean"]).paper_space) == {"pixel", "latent"}


@pytest.mark.parametrize("n", [1, 5])
def test_pca_of_an_arm_matches_the_latent_metric_and_is_nan_below_two_latents(n):
    from spectral_collapse.metrics.latent import pca_explained_variance

    rng = np.random.default_rng(0)
    lat = rng.standard_normal((2, 1, n, 2, 3, 3))                      # method, seed, image, channel, y, x
    ds = xr.Dataset({"latents": (("method", "seed", "image", "channel", "y", "x"), lat)})
    out = ab._pca(ds, n_images=1)
    assert out.sizes["component"] == min(n, 18) and out.sizes["image"] == 1 and int(out["latent_dim"]) == 18
    if n == 1:   # PCA needs two latents: NaN curves, for the arm and for its Gaussian reference alike
        assert np.isnan(out["pca_cev"]).all() and np.isnan(out["pca_cev_gaussian"]).all()
    else:
        np.testing.assert_allclose(out["pca_cev"][1, 0], pca_explained_variance(lat[1, 0]))
        g = np.random.default_rng(0).standard_normal((n, 18))
        np.testing.assert_allclose(out["pca_cev_gaussian"], pca_explained_variance(g))


def test_percent_improved_counts_cells_in_the_right_direction():
    rng = np.random.default_rng(0)
    dims = ("parameterization", "factor", "method", "seed", "sample")
    shape = (2, 2, 3, 3, 4)
    v = {m: rng.standard_normal(shape) for m in ("s_hf", "lpips")}
    ds = xr.Dataset({m: (dims, a) for m, a in v.items()},
                    coords={"parameterization": ["eps", "x0"], "factor": [2, 4], "method": METHODS, "seed": [0, 1, 2]})
    ds.attrs["axes"] = json.dumps(["parameterization", "factor"])
    pi = ab.percent_improved(ds, metrics=("s_hf", "lpips")).set_index("metric")
    means = {m: a.mean(-1) for m, a in v.items()}  # per-seed sample means, (par, factor, method, seed)
    assert pi.loc["s_hf", "improved"] == pytest.approx(np.mean(means["s_hf"][1] > means["s_hf"][0]))
    assert pi.loc["lpips", "improved"] == pytest.approx(np.mean(means["lpips"][1] < means["lpips"][0]))  # lower is better
    assert pi.loc["s_hf", "cells"] == 2 * 3 * 3
    assert pi.loc["s_hf", "paper_improved"] == pytest.approx(0.966)  # paper Table 6
    t = ab.improvement_table(ds, metrics=("s_hf",))
    assert len(t) == 18 and set(t.columns) >= {"method", "factor", "seed", "eps", "x0", "delta", "x0_better"}


def test_eps_vs_x0_assembles_two_axes(fake_runs, tmp_path):
    calls, _ = fake_runs
    ds = ab.run_ablation_study("eps_vs_x0", "ihc-sr", "smoke", root=tmp_path, n_pca=6)
    assert [(c["parameterization"], c["factor"]) for c in calls] == [("eps", 2), ("eps", 4), ("x0", 2), ("x0", 4)]
    assert ds["s_hf"].dims[:2] == ("parameterization", "factor")
    pi = ab.percent_improved(ds).set_index("metric")
    assert pi.loc["s_hf", "improved"] == 1.0  # the fake x0 arms score 0.5 higher everywhere
    # x0 improving fidelity as often as texture is not the paper's pattern (texture up, structure less often)
    assert ab.ablation_verdict(ds).endswith("do not agree with that pattern.")
    cmp = ab.ablation_comparison(ds)  # eps arms beside the paper's eps models per factor (Table 5)
    row = cmp[(cmp.parameterization == "eps") & (cmp.factor == 4) & (cmp.method == "ddim") & (cmp.metric == "s_dc")]
    assert row.paper_mean.iloc[0] == 0.69 and cmp[cmp.parameterization == "x0"].paper_mean.isna().all()
    # non-finite OVG samples with an x0 model are named with their share, and only those
    fin = ds["finite"].copy()
    sel = {"parameterization": "x0", "factor": 4, "method": "ovg"}
    fin.loc[sel] = fin.loc[sel].where(fin["sample"] >= 3, False)  # 3 of 6 samples, every seed
    note = ab.ablation_verdict(ds.assign(finite=fin))
    assert "Non-finite with the x0 models: ovg x4 (50% of samples)." in note and "ddim x" not in note


# --- notebooks, end to end (slow: trains smoke models) ---------------------------------------------------------

STUDIES = ("backbone_ablation", "space_ablation", "scale_factor", "eps_vs_x0")


@pytest.fixture(scope="module")
def smoke_env(tmp_path_factory):
    """Shared checkpoint and results roots for the notebook runs (models train once per module)."""
    base = tmp_path_factory.mktemp("ablation-nb")
    old = {k: os.environ.get(k) for k in ("SPECTRAL_COLLAPSE_CHECKPOINTS", "SPECTRAL_COLLAPSE_DATA")}
    os.environ["SPECTRAL_COLLAPSE_CHECKPOINTS"] = str(base / "ck")
    yield base
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _run_notebook(study, dataset, base):
    import papermill as pm

    out = base / f"{study}-{dataset}.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / f"{study}.ipynb"), str(out), kernel_name="python3", cwd=str(ROOT),
                        parameters={"dataset": dataset, "profile": "smoke", "results_root": str(base / "res")},
                        progress_bar=False)
    text = out.read_text()
    assert "Our numbers" in text and "agree" in text  # the verdict paragraph was generated
    assert (base / "res" / study / f"{dataset}-smoke.nc").exists()
    return out


@pytest.mark.slow
@pytest.mark.parametrize("study", STUDIES)
def test_notebook_runs_on_bundled_data(study, smoke_env):
    _run_notebook(study, "ihc-sr", smoke_env)


@pytest.mark.slow
@pytest.mark.parametrize("study,dataset", [("backbone_ablation", "edges2shoes"), ("space_ablation", "bbbc021"),
                                           ("scale_factor", "bbbc021"), ("eps_vs_x0", "bbbc021")])
def test_notebook_runs_on_real_format_data(study, dataset, smoke_env):
    """The real-data path: archives in the official formats, downloaded from loopback and prepared (fixtures_real)."""
    from fixtures_real import make_prepared_root

    raw = smoke_env / "raw"
    if not (raw / "bbbc021" / "prepared").exists():
        make_prepared_root(raw, size=32)
    os.environ["SPECTRAL_COLLAPSE_DATA"] = str(raw)
    _run_notebook(study, dataset, smoke_env)
