"""Ablation studies (paper Tables 3-6): arms, assembly of per-arm results, joins with the paper's tables,
Table 6's "% improved", cells shared with the main results, and (slow) the four notebooks end to end on the smoke
profile, bundled and real-format data.

Fast tests feed synthetic per-arm results (``translation.translation_results`` and the model loaders replaced)
whose expected summaries are computed here with numpy; the paper's numbers come from the paper (Tables 3 and 6).
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import xarray as xr

from spectral_collapse.data import Task
from spectral_collapse.tables import ablations as rep
from spectral_collapse.studies import ablations as ab
from spectral_collapse.framework import model_set as models_mod
from spectral_collapse.framework.cells import StudyContext
from spectral_collapse.studies.registry import study_spec

ROOT = Path(__file__).resolve().parents[1]
METHODS = ["ddim", "taba", "ovg"]


def _fake_arm(rng, *, n=6, latent_shape=(3, 8, 8), rank1=False, shift=0.0, seeds=(0, 1)):
    """A per-arm result as translation_results returns it (variables, dims and attrs the assembly uses)."""
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
                    latent_space="null", space="pixel", backbone="unet", parameterization="eps",
                    latent_space_info=json.dumps({"scaling_factor": 0.5, "test_reconstruction_psnr": 25.0}))
    return ds


def _expected_mean(ds, metric, method):
    """Mean over seeds of the per-seed sample means (the paper's aggregation), with numpy."""
    return float(np.mean(ds[metric].sel({"method": method}).values.mean(axis=-1)))


def _spec(study, dataset="ihc-sr", **raw):
    return study_spec(study, dataset=dataset, profile="smoke", **raw)


@pytest.fixture
def fake_runs(monkeypatch):
    """Replace translation_results by synthetic per-arm results and the model loaders by stubs; records the
    arguments of every translation and every model asked for."""
    from spectral_collapse.studies import main_results as translation

    calls, made, trained = [], {}, []

    def fake(ctx, data, models, **kw):
        calls.append({**kw, "data": data, "models": models})
        rng = np.random.default_rng(len(calls))
        latent = kw.get("space") == "latent"
        ds = _fake_arm(rng, latent_shape=(4, 4, 4) if latent else (3, 8, 8), rank1=latent,
                       shift=0.5 if kw.get("parameterization") == "x0" else 0.0)
        made[len(calls) - 1] = ds
        return ds

    def fake_model(profile, dataset, par, *, factor=None, backbone="unet", space=None, **_):
        trained.append((par, backbone, factor, space))
        name = f"ck/{dataset}-x{factor}-{par}-{backbone}-{'latent' if not isinstance(space, str) else space}"
        return SimpleNamespace(denoiser=SimpleNamespace(checkpoint=name))

    monkeypatch.setattr(translation, "translation_results", fake)
    monkeypatch.setattr(models_mod, "trained_model", fake_model)
    monkeypatch.setattr(models_mod, "latent_space", lambda profile, dataset, **kw: SimpleNamespace(kind="latent space"))
    return SimpleNamespace(calls=calls, made=made, trained=trained)


def test_arms_of_each_study():
    assert [a.tag for a in ab.ablation_arms("backbone_ablation", "quick")] == ["unet", "dit"]
    assert [a.space for a in ab.ablation_arms("space_ablation", "quick")] == ["pixel", "latent"]
    assert [a.factor for a in ab.ablation_arms("scale_factor", "quick", task=Task("sr", 4))] == [2, 4, 8]
    arms = ab.ablation_arms("eps_vs_x0", "smoke", factors=[2, 4])
    assert [a.tag for a in arms] == ["eps-factor2", "eps-factor4", "x0-factor2", "x0-factor4"]
    assert [a.factor for a in ab.ablation_arms("eps_vs_x0", "smoke", task=Task("edges"))] == [4, 4]
    with pytest.raises(ValueError, match="super-resolution"):
        ab.ablation_arms("scale_factor", "quick", task=Task("edges"))
    with pytest.raises(ValueError, match="valid: backbone_ablation, space_ablation, scale_factor, eps_vs_x0"):
        ab.ablation_arms("width_ablation", "quick")


def test_scale_factor_is_refused_by_the_loaded_task_not_the_name(fake_runs, monkeypatch):
    """A dataset whose name says "sr" but which is declared generic has no SR factor: refused before any model."""
    real = ab.spec_data
    monkeypatch.setattr(ab, "spec_data", lambda *a, **kw: dataclasses.replace(real(*a, **kw), task=Task("generic")))
    with pytest.raises(ValueError, match="task is 'generic', not 'sr'"):
        ab.run_ablation_spec(_spec("scale_factor"), StudyContext())
    assert fake_runs.trained == [] and fake_runs.calls == []
    ds = ab.run_ablation_spec(_spec("eps_vs_x0"), StudyContext())  # one factor, the profile's
    assert [int(f) for f in ds["factor"].values] == [4]


def test_unknown_methods_are_refused_before_any_work(fake_runs):
    with pytest.raises(ValueError, match="unknown method label 'nope'"):
        ab.run_ablation_spec(_spec("backbone_ablation", methods=["ddim", "nope"]), StudyContext())
    assert fake_runs.trained == [] and fake_runs.calls == []


def test_paper_scale_maps_by_rank_and_keeps_the_papers_own_factors():
    assert [ab.paper_scale(f, (2, 4, 8)) for f in (2, 4, 8)] == ["x8", "x16", "x32"]
    assert [ab.paper_scale(f, (8, 16, 32)) for f in (8, 16, 32)] == ["x8", "x16", "x32"]
    assert [ab.paper_scale(f, (2, 4)) for f in (2, 4)] == ["x8", "x16"]
    assert ab.paper_scale(16, (2, 4, 8)) == ""    # not one of the factors it is ranked in


def test_a_one_factor_study_maps_its_factor_by_rank_in_the_profiles_list(fake_runs):
    """eps_vs_x0 at factor 4 alone pairs it with the paper row the scale-factor study (2, 4, 8) pairs it with."""
    ds = ab.run_ablation_spec(_spec("eps_vs_x0", factors=[4]), StudyContext(), n_pca=6)
    ds.attrs["profile_values"] = json.dumps({"factors": [2, 4, 8]})
    key = ab.paper_key_of(ds)
    assert dict(zip(key["factor"], key["paper_value"])) == {4: ab.paper_scale(4, (2, 4, 8))}
    shown = rep.factor_key(ds)   # as the chapter shows it: factors in the book's form, no stored key as a header
    assert shown["paper's factor"].tolist() == ["×" + ab.paper_scale(4, (2, 4, 8))[1:]]
    assert shown["our factor"].tolist() == ["×4"] and not any(c.startswith("paper_") for c in shown.columns)
    cmp = rep.ablation_comparison(ds)
    assert set(cmp.loc[cmp.parameterization == "eps", "paper_scale"]) == {ab.paper_scale(4, (2, 4, 8))}


def test_backbone_ablation_assembles_arms_and_joins_table3(fake_runs):
    ds = ab.run_ablation_spec(_spec("backbone_ablation", seeds=[3, 4]), StudyContext(), n_pca=6)
    calls, made = fake_runs.calls, fake_runs.made
    assert [c["backbone"] for c in calls] == ["unet", "dit"]
    assert [c["study"] for c in calls] == ["backbone_ablation"] * 2
    assert all(c["labels"] == METHODS and c["seeds"] == [3, 4] and c["n_images"] == 8 for c in calls)
    assert [t[:2] for t in fake_runs.trained] == [("eps", "unet"), ("eps", "dit")]
    assert list(ds["backbone"].values) == ["unet", "dit"] and ds["s_hf"].dims[0] == "backbone"
    assert json.loads(ds.attrs["checkpoints"]) == {"unet/eps": "ck/ihc-sr-xNone-eps-unet-pixel",
                                                   "dit/eps": "ck/ihc-sr-xNone-eps-dit-pixel"}
    assert json.loads(ds.attrs["labels"]) == METHODS and json.loads(ds.attrs["axes"]) == ["backbone"]
    per_arm = json.loads(ds.attrs["per_arm"])
    assert json.loads(per_arm["dit"]["latent_space_info"])["test_reconstruction_psnr"] == 25.0
    cmp = rep.ablation_comparison(ds)
    row = cmp[(cmp.backbone == "dit") & (cmp.method == "ovg") & (cmp.metric == "s_hf")].iloc[0]
    assert row.ours_mean == pytest.approx(_expected_mean(made[1], "s_hf", "ovg"))
    assert row.paper_mean == 0.97  # paper Table 3: DiT, OGV, S_HF
    row = cmp[(cmp.backbone == "unet") & (cmp.method == "ddim") & (cmp.metric == "s_dc")].iloc[0]
    assert row.paper_mean == 0.69  # paper Table 3: U-Net, Standard, S_DC
    table = rep.format_ablation(ds)
    assert table.loc[("unet", "taba"), "psnr"].startswith(f"{_expected_mean(made[0], 'psnr', 'taba'):.3f}")


def test_every_arm_gets_the_ovg_step_sizes_of_the_spec(fake_runs):
    """The Pareto choice recorded in the spec's inputs, the same for every arm; defaults with the reason without."""
    from spectral_collapse.framework.method_labels import OVG_DEFAULTS

    chosen = {"eta_hf": 3e-7, "eta_lf": 0.02, "source": "pareto results key abc"}
    ab.run_ablation_spec(_spec("scale_factor").with_inputs(pareto=chosen), StudyContext(), n_pca=6)
    assert [c["ovg"] for c in fake_runs.calls] == [chosen, chosen]
    fake_runs.calls.clear()
    ab.run_ablation_spec(_spec("scale_factor"), StudyContext(), n_pca=6)
    ovg = [c["ovg"] for c in fake_runs.calls]
    assert ovg[0] == ovg[1] and ovg[0]["eta_hf"] == OVG_DEFAULTS["eta_hf"]
    assert "no Pareto sweep" in ovg[0]["source"]


def test_scale_factor_loads_each_factors_data_and_model(fake_runs):
    ds = ab.run_ablation_spec(_spec("scale_factor", factors=[2, 4]), StudyContext(), n_pca=6)
    assert [c["data"].task for c in fake_runs.calls] == [Task("sr", 2), Task("sr", 4)]
    assert [t[2] for t in fake_runs.trained] == [2, 4]
    assert sorted(json.loads(ds.attrs["checkpoints"])) == ["factor2/eps", "factor4/eps"]


def test_space_ablation_keeps_latents_of_each_shape_and_their_pca(fake_runs):
    ds = ab.run_ablation_spec(_spec("space_ablation"), StudyContext(), n_images=2, n_pca=6)
    made = fake_runs.made
    assert [c["space"] for c in fake_runs.calls] == ["pixel", "latent"]
    assert fake_runs.calls[0]["ls"] is None and fake_runs.calls[1]["ls"].kind == "latent space"
    assert fake_runs.trained[1][3].kind == "latent space"  # the latent model is trained on that latent space
    pix, lat = ab.arm_latents(ds, space="pixel"), ab.arm_latents(ds, space="latent")
    assert pix.shape[-3:] == (3, 8, 8) and lat.shape[-3:] == (4, 4, 4) and lat.sizes["image"] == 2
    np.testing.assert_array_equal(lat.values, made[1]["latents"].values[:, :, :2])
    # rank-1 latents (collapse) put all variance in the first component; Gaussian ones do not
    cev = ds["pca_cev"].sel(space="latent").values[..., 0]
    np.testing.assert_allclose(cev, 1.0, rtol=1e-9)
    assert (ds["pca_cev"].sel(space="pixel").values[..., 0] < 0.6).all()
    assert int(ds["latent_dim"].sel(space="latent")) == 64 and int(ds["latent_dim"].sel(space="pixel")) == 192
    cmp = rep.ablation_comparison(ds)
    assert set(cmp.dropna(subset=["paper_mean"]).paper_space) == {"pixel", "latent"}
    assert rep.space_label(json.loads(ds.attrs["per_arm"])["pixel"]) == "pixel space"


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
    pi = rep.percent_improved(ds, metrics=("s_hf", "lpips")).set_index("metric")
    # one comparison per (factor, method): the means over its crops (every seed translated crops 0-3 here)
    means = {m: a.mean((-2, -1)) for m, a in v.items()}  # (par, factor, method)
    assert pi.loc["s_hf", "improved"] == pytest.approx(np.mean(means["s_hf"][1] > means["s_hf"][0]))
    assert pi.loc["lpips", "improved"] == pytest.approx(np.mean(means["lpips"][1] < means["lpips"][0]))  # lower is better
    assert pi.loc["s_hf", "comparisons"] == 2 * 3 and pi.loc["s_hf", "unit"] == "crop"
    assert pi.loc["s_hf", "lo"] <= pi.loc["s_hf", "improved"] <= pi.loc["s_hf", "hi"]
    assert pi.loc["s_hf", "paper_improved"] == pytest.approx(0.966)  # paper Table 6
    # the chapter's share is the claims page's share, computed by the same function
    from spectral_collapse.claims.shares import x0_frames
    from spectral_collapse.claims.evidence import Evidence, long_frame
    from spectral_collapse.claims.shares import share_table

    ev = Evidence(frame=long_frame(ds, "x0", "d"), crops=long_frame(ds, "x0", "d", per_crop=True))
    frame, crops, xs, eps, by = x0_frames(ev)
    ref = share_table(frame, crops, xs, eps, by, ("s_hf",)).iloc[0]
    assert (ref.share, ref.lo, ref.hi, ref.cases) == tuple(pi.loc["s_hf", ["improved", "lo", "hi", "comparisons"]])
    t = ab.improvement_table(ds, metrics=("s_hf",))
    assert len(t) == 18 and set(t.columns) >= {"method", "factor", "seed", "eps", "x0", "delta", "x0_better"}


def test_eps_vs_x0_assembles_two_axes(fake_runs):
    ds = ab.run_ablation_spec(_spec("eps_vs_x0"), StudyContext(), n_pca=6)
    assert [(c["parameterization"], c["data"].task.factor) for c in fake_runs.calls] == [
        ("eps", 2), ("eps", 4), ("x0", 2), ("x0", 4)]
    assert [(t[0], t[2]) for t in fake_runs.trained] == [("eps", 2), ("eps", 4), ("x0", 2), ("x0", 4)]
    assert ds["s_hf"].dims[:2] == ("parameterization", "factor")
    pi = rep.percent_improved(ds).set_index("metric")
    assert pi.loc["s_hf", "improved"] == 1.0  # the fake x0 arms score 0.5 higher everywhere
    cmp = rep.ablation_comparison(ds)  # eps arms beside the paper's eps models per factor (Table 5)
    row = cmp[(cmp.parameterization == "eps") & (cmp.factor == 4) & (cmp.method == "ddim") & (cmp.metric == "s_dc")]
    assert row.paper_mean.iloc[0] == 0.69 and cmp[cmp.parameterization == "x0"].paper_mean.isna().all()
    # failed OVG samples with an x0 model are counted per cell, in samples (one crop translated with one seed)
    assert rep.failed_samples(ds.assign(failed=xr.zeros_like(ds["finite"])), {"parameterization": "x0"}, "ovg")[0] == 0
    bad = xr.zeros_like(ds["finite"])
    sel = {"parameterization": "x0", "factor": 4, "method": "ovg"}
    bad.loc[sel] = bad.loc[sel].where(bad["sample"] < 3, True)  # 3 of 6 samples, every seed
    k, size = int(bad.loc[sel].sum()), int(bad.loc[sel].size)   # samples: one test crop translated with one seed
    assert rep.failed_samples(ds.assign(failed=bad), {"parameterization": "x0", "factor": 4}, "ovg") == (k, size)
    assert rep.failed_samples(ds.assign(failed=bad), {"parameterization": "x0"}, "ddim")[0] == 0
    table = rep.format_ablation(ds.assign(failed=bad))           # the table counts in the same unit
    assert table.loc[("x0", 4, "ovg"), "s_hf"].endswith(f"({k} of {size} samples failed)")
    every = bad.copy()
    every.loc[sel] = True                                         # OVG diverges on every crop with the x0 model
    diverged = ds.assign(failed=every)
    for m in ("psnr", "s_hf", "s_lf", "s_dc"):                   # a failed sample's scores are NaN, as stored
        diverged[m] = diverged[m].where(~every)
    diverged["s_g"] = diverged["s_g"].where(~every.all("sample"))
    table = rep.format_ablation(diverged)
    n_all = int(every.loc[sel].size)
    assert table.loc[("x0", 4, "ovg"), "s_hf"] == f"n/a ({n_all} of {n_all} samples failed)"
    pt = rep.percent_table(diverged)
    assert pt.loc["s_hf", "comparisons"] == 5                  # ovg x4 has no comparison: every sample failed


def test_charts_of_every_study_render(fake_runs):
    from spectral_collapse.plotting import ablations as charts

    for study in ab.ABLATIONS:
        ds = ab.run_ablation_spec(_spec(study), StudyContext(), n_images=2, n_pca=6)
        bars = charts.arm_bars(ds)
        assert (bars is None) == (study == "eps_vs_x0")
        for chart in [bars, charts.pca_chart(ds)] + ([charts.factor_chart(ds)] if study == "scale_factor" else []) + (
                [charts.improvement_chart(ds)] if study == "eps_vs_x0" else []):
            if chart is not None:
                assert chart.to_dict()["$schema"]
        assert charts.translations_grid(ds).data[:4] == b"\x89PNG"
        assert charts.latents_grid(ds).data[:4] == b"\x89PNG"
    assert "No PCA curve" in charts.pca_chart(ds.assign(pca_cev=ds["pca_cev"] * np.nan)).data


# --- cells shared with the main results (trains the smoke models into data/checkpoints once, ~10 s) -----------

def test_backbone_unet_arm_shares_its_cells_with_the_main_results(tmp_path):
    from spectral_collapse.pipeline.memo import Memo
    from spectral_collapse.studies.main_results import run_main_results

    knobs = dict(methods=["ddim"], seeds=[0])
    first = Memo(tmp_path)
    spec = study_spec("main_results", dataset="ihc-sr", profile="smoke", oracle_arm=False, **knobs)   # trained only
    main = run_main_results(spec, StudyContext(first))
    assert first.hits == 0 and first.misses >= 2  # the DDIM translation and the samples from noise
    memo = Memo(tmp_path)
    ds = ab.run_ablation_spec(_spec("backbone_ablation", **knobs), StudyContext(memo))
    assert memo.hits == first.misses  # every cell of the main results is the U-Net arm's
    assert memo.misses >= 2           # the DiT arm's are new
    np.testing.assert_array_equal(ds["psnr"].sel(backbone="unet").values, main["psnr"].values)
    assert not np.array_equal(ds["psnr"].sel(backbone="dit").values, main["psnr"].values)
    assert json.loads(ds.attrs["checkpoints"])["unet/eps"] == json.loads(main.attrs["checkpoints"])["eps"]


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
    verdict_words = ("holds", "does not hold", "inconclusive", "not testable here")
    assert "Our numbers" in text and any(w in text for w in verdict_words)  # the verdict paragraph was generated
    assert '"output_type": "error"' not in text
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


def test_seed_spread_arms_train_the_main_models_from_other_seeds(tmp_path):
    """seed_spread's arms are training seeds 0, 1, 2; a non-zero seed changes the training config (and so the
    checkpoint hash) and names the folder, while seed 0 is exactly the profile's model."""
    from spectral_collapse.studies.ablations import ablation_arms
    from spectral_collapse.framework.model_set import MODEL_SET, SEED_REPLICATES, model_plan, checkpoint_name

    arms = ablation_arms("seed_spread", "smoke")
    assert [a.train_seed for a in arms] == [0, 1, 2] and [a.tag for a in arms] == ["train_seed0", "train_seed1",
                                                                                 "train_seed2"]
    base = next(r for r in MODEL_SET if r.key == "ihc-sr-x4-eps")
    rep = next(r for r in SEED_REPLICATES if r.key == "ihc-sr-x4-eps-seed2")
    n0, n2 = (checkpoint_name("smoke", r, root=str(tmp_path)) for r in (base, rep))
    assert "-seed2-" in n2 and "seed" not in n0 and n0.rsplit("-", 1)[1] != n2.rsplit("-", 1)[1]
    plan = dict(factor=None, progress=False, root=str(tmp_path), backbone="unet", space=None, options=None)
    assert model_plan("smoke", "ihc-sr", "eps", seed=2, **plan)[1].seed == 2
    assert model_plan("smoke", "ihc-sr", "eps", **plan)[1].seed == 0
    assert {r.seed for r in SEED_REPLICATES} == {1, 2} and len(SEED_REPLICATES) == 8


def test_an_ablation_refuses_a_given_model_and_names_its_arms_for_an_unknown_one(fake_runs):
    import dataclasses

    spec = _spec("backbone_ablation")
    given = dataclasses.replace(spec, params=tuple((k, "models/mine" if k == "model" else v) for k, v in spec.params))
    with pytest.raises(ValueError, match="compares models it trains itself"):
        ab.run_ablation_spec(given, StudyContext())
    ds = ab.run_ablation_spec(spec, StudyContext(), n_pca=6)
    with pytest.raises(KeyError, match="no arm with"):
        ab.arm_latents(ds, backbone="vit")


def test_the_model_set_is_named_by_its_keys():
    from spectral_collapse.framework.model_set import MODEL_SET, SEED_REPLICATES, model_set

    assert model_set() == list(MODEL_SET)
    assert model_set([SEED_REPLICATES[0].key, "ihc-sr-x4-eps"]) == [SEED_REPLICATES[0], MODEL_SET[0]]
    with pytest.raises(ValueError, match="unknown model\\(s\\) nope; the model set: ihc-sr-x4-eps"):
        model_set(["nope"])
