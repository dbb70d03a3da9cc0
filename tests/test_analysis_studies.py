"""The latent-analysis studies (studies/latents.py, metric_validation.py) on the smoke profile, their
shared inversion cells, their report and chart helpers, and their notebooks under papermill.

The fast tests replace the trained networks by the exact Gaussian denoiser (tests/oracle.py, tests/conftest.py):
its probability-flow ODE only rescales x, so every deterministic inversion maps an input to a multiple of itself.
That gives closed forms: the PCA of DDIM latents is the PCA of the inputs (an x8 block image of 16 px has rank
<= 12), and every update of the trajectory has the input's power spectrum up to a factor.
"""
from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch
import xarray as xr

from conftest import oracle_denoiser
from spectral_collapse.data import load_dataset
from spectral_collapse.inversion import default_sigmas
from spectral_collapse.metrics import latent as lat
from spectral_collapse.metrics import spectral as spec
from spectral_collapse.pipeline.memo import Memo
from spectral_collapse.plotting.latents import chi2_curve, norm_histogram
from spectral_collapse.tables import latents as R
from spectral_collapse.studies import metric_validation as MV
from spectral_collapse.framework.cells import StudyContext
from spectral_collapse.studies.latents import inversion_inputs, run_latent_study
from spectral_collapse.framework.controls import realism_sets
from spectral_collapse.studies.metric_validation import run_metric_validation
from spectral_collapse.studies.registry import study_spec
from spectral_collapse.framework.store import load_results, save_results
from spectral_collapse.studies.latents import run_velocity

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ("pca_collapse", "gaussianity", "decorrelation", "velocity", "metric_validation")


@pytest.fixture(scope="module")
def oracles():
    return {"eps": oracle_denoiser("eps"), "edm": oracle_denoiser("edm")}


def smoke(name, dataset="ihc-sr", **raw):
    return study_spec(name, dataset=dataset, profile="smoke", **raw)


def test_pca_of_gaussian_is_linear_and_ddim_latents_keep_the_input_rank(oracles):
    ds = run_latent_study(smoke("pca_collapse", factors=[2, 4, 8], n_latents=40), StudyContext(), models=oracles)
    assert list(ds["series"].values) == ["ddim x2", "ddim x4", "ddim x8", "gaussian"]
    assert ds.attrs["model_factor"] == 4 and ds.attrs["study"] == "pca_collapse"
    g = ds["cev"].sel(series="gaussian").values
    k = np.arange(1, len(g) + 1)
    g = g[np.isfinite(g)]
    assert np.abs(g - k[:len(g)] / len(g)).max() < 0.12           # spread evenly: near the diagonal
    # exact denoiser: DDIM latents are a multiple of the inputs, so their PCA is the inputs' PCA
    data = load_dataset("ihc-sr", size=16, factor=8)
    from spectral_collapse.framework.profiles import get_profile
    from spectral_collapse.framework.splits import test_subsets

    p = get_profile("smoke")
    lead = sorted(set().union(*map(set, test_subsets(len(data.test_source), p.n_test, p.seeds, p.n_val).values())))
    x, n_test = inversion_inputs(data, 40, lead=lead)      # the main results' crops first, then the others
    assert len(x) == 40 and n_test == len(data.test_source[:40])
    np.testing.assert_array_equal(x[:len(lead)].numpy(), data.test_source[lead].numpy())
    np.testing.assert_allclose(ds["cev"].sel(series="ddim x8").values[:len(g)],
                               lat.pca_explained_variance(x)[:len(g)], atol=1e-5)
    np.testing.assert_allclose(ds["cev_raw"].sel(series="ddim x8").values[:len(g)],
                               lat.pca_explained_variance(x, standardize=False)[:len(g)], atol=1e-5)
    # the amplitude beside the shape: ||x_T||^2 / d per latent (the stored ones checked), ~1 for the Gaussian
    for sname in ds["series"].values:
        shown = ds["latents"].sel(series=sname).values
        np.testing.assert_allclose(ds["norm_ratio"].sel(series=sname).values[:len(shown)],
                                   lat.sample_norm_ratio(shown), rtol=1e-5)
    assert float(ds["mean_norm_ratio"].sel(series="gaussian")) == pytest.approx(1, abs=0.05)
    # the raw-latent columns are shown, or left out as equal to the unit-variance ones
    raw = {"k90_raw", "auc_raw"} - set(R.pca_table(ds).columns)
    assert "mean_norm_ratio" in R.pca_table(ds).columns and set(R.raw_same(ds)) == raw
    # an x8 block image of 16 px holds 2 x 2 x 3 = 12 numbers: 12 components carry all the variance
    assert ds["cev"].sel(series="ddim x8").values[11] > 1 - 1e-6
    # unit-variance latents: each input's mean / sd (3 +- 4 here) spreads along the constant image, which then holds
    # > 90 % of the variance at every factor; the ordering shows at 99 %, and at 90 % on the raw latents
    k99 = {str(k): int(v) for k, v in zip(ds["series"].values, ds["k99"].values)}
    assert k99["ddim x8"] < k99["ddim x2"] < k99["gaussian"]
    k90 = {str(k): int(v) for k, v in zip(ds["series"].values, ds["k90_raw"].values)}
    assert k90["ddim x8"] < k90["ddim x2"] < k90["gaussian"]
    from spectral_collapse.claims.paper import chapter_verdicts

    said = chapter_verdicts(ds).set_index("claim").loc["pca_collapse", "numbers"]   # the claims page's rule
    assert "k90 ddim x8 − gaussian" in said
    draws = ds["k90_draws"]                                              # paired subsamples at one size, 30 of 40
    assert ds.attrs["k90_subsample"] == 30 and draws.sizes["draw"] == 200
    assert (draws.sel(series="ddim x8") < draws.sel(series="gaussian")).all()
    assert R.pca_table(ds).loc["gaussian", "n"] == 40


def test_pca_defaults_follow_the_task_not_the_name(oracles):
    """SR data: DDIM at the profile's factors (smoke: 2, 4); an edge-map task: DDIM / TABA / EDM, no factor."""
    sr = run_latent_study(smoke("pca_collapse", n_latents=8), models=oracles)
    assert list(sr["series"].values) == ["ddim x2", "ddim x4", "gaussian"]
    edges = run_latent_study(smoke("pca_collapse", dataset="ihc-edges", n_latents=8), models=oracles)
    assert list(edges["series"].values) == ["ddim", "taba", "edm", "gaussian"]
    assert edges.attrs["model_factor"] == 0 and list(edges["factor"].values) == [0, 0, 0, 0]


def test_chi2_curve_and_histogram_are_densities():
    for d in (12, 768, 196608):
        sd = (2 / d) ** 0.5
        c = chi2_curve(d, max(1e-6, 1 - 10 * sd), 1 + 10 * sd, n=4000)
        assert np.trapezoid(c["density"], c["u"]) == pytest.approx(1, abs=2e-3)
    h = norm_histogram(np.random.default_rng(0).normal(1, 0.1, 500), bins=17)
    assert ((h["right"] - h["left"]) * h["density"]).sum() == pytest.approx(1)


def test_gaussianity_matches_scipy_ks(oracles):
    ds = run_latent_study(smoke("gaussianity", dataset="ihc-edges", methods=["ddim", "edm"], n_latents=12),
                          StudyContext(), models=oracles)
    d = ds.attrs["d"]
    assert d == 3 * 16 * 16
    for m in ("ddim", "edm"):
        r = ds["norm_ratio"].sel({"method": m}).values * d
        ks = scipy.stats.kstest(r, "chi2", args=(d,))
        assert float(ds["ks_d"].sel({"method": m})) == pytest.approx(ks.statistic)
        assert float(ds["s_g"].sel({"method": m})) == pytest.approx(1 - ks.statistic)
        assert float(ds["mean_norm_ratio"].sel({"method": m})) == pytest.approx(np.mean(r / d))
        n = int(ds["n"].sel({"method": m}))
        assert n == len(r) and float(ds["norm_z"].sel({"method": m})) == pytest.approx(
            (np.mean(r) - d) / np.sqrt(2 * d / n))
    assert ds.attrs["ks_resolution"] == pytest.approx(scipy.stats.kstwo.ppf(0.95, 12))
    assert abs(ds.attrs["gaussian_norm_z"]) < 4
    assert "norm_z" in R.gaussianity_table(ds).columns
    assert abs(ds["gaussian_norm_ratio"].mean() - 1) < 4 * (2 / d) ** 0.5
    assert "gaussian (reference)" in R.gaussianity_table(ds).index
    # no Pareto choice in the spec: the OVG defaults, with the reason
    assert json.loads(ds.attrs["ovg"])["source"].startswith("defaults")


def test_decorrelation_masks_runs_and_scatter(oracles):
    ds = run_latent_study(smoke("decorrelation", methods=["ddim", "taba"], n_latents=10, steps_grid=[2, 4],
                                seeds=[0, 1]), StudyContext(), models=oracles)
    assert ds["mask"].shape == (2, 4, 16 - 3, 16 - 3)
    np.testing.assert_allclose(ds["mask"].mean(("py", "px")).values, ds["flagged_ratio"].values[:, :4])
    np.testing.assert_allclose(ds["s_dc"].values, 1 - ds["flagged_ratio"].values)
    # runs: the deterministic method once per step count, the stochastic one per (steps, seed)
    runs = sorted(zip(ds["run_method"].values, ds["run_steps"].values.tolist(), ds["run_seed"].values.tolist()))
    assert runs == [("ddim", 2, 0), ("ddim", 4, 0), ("taba", 2, 0), ("taba", 2, 1), ("taba", 4, 0), ("taba", 4, 1)]
    # x4 block inputs scaled by the exact denoiser: 4 x 4 windows inside a block are perfectly smooth
    assert float(ds["s_dc"].sel({"method": "ddim"}).mean()) < 0.5
    # S_DC on unit-variance latents; the raw form and the amplitude stored beside it (checked on the stored latents)
    for m in ("ddim", "taba"):
        z = ds["latents"].sel({"method": m}).values
        std, raw = lat.decorrelation(z), lat.decorrelation(z, standardize=False)
        np.testing.assert_allclose(ds["s_dc"].sel({"method": m}).values[:4], std.s_dc)
        np.testing.assert_allclose(ds["s_dc_raw"].sel({"method": m}).values[:4], raw.s_dc)
        np.testing.assert_allclose(ds["norm_ratio"].sel({"method": m}).values[:4], std.norm_ratio, rtol=1e-6)
    for k in ("run_s_dc_raw", "run_norm_z", "run_norm_ratio", "run_s_dc_lo", "run_s_dc_hi"):
        assert ds[k].shape == (6,) and np.isfinite(ds[k].values).all()
    # each run's mean S_DC lies inside its bootstrap interval over latents, and the chart draws the intervals
    assert (ds["run_s_dc_lo"] <= ds["run_s_dc"]).all() and (ds["run_s_dc"] <= ds["run_s_dc_hi"]).all()
    assert (ds["run_s_dc_hi"] > ds["run_s_dc_lo"]).any()
    from spectral_collapse.plotting.latents import decorrelation_scatter

    spec = decorrelation_scatter(ds).to_dict()
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks == ["rule", "point"]   # the intervals under the points
    assert {"s_dc_raw", "norm_ratio"} <= set(R.decorrelation_table(ds).columns)
    assert {"norm_z", "s_dc_raw", "norm_ratio"} <= set(R.decorrelation_runs(ds).columns)
    assert len(R.decorrelation_runs(ds)) == 6


def test_latent_studies_share_inversion_cells_and_recompute_for_new_weights(tmp_path, oracles):
    """Gaussianity and decorrelation of the same model, inputs, method and steps read the same cells (the test
    inputs' translation cell and the other inputs' inversion cell); the same study with changed weights computes
    new cells; the same weights again read them."""
    memo = Memo(tmp_path / "cells")
    models = {"eps": copy.deepcopy(oracles["eps"])}
    g = run_latent_study(smoke("gaussianity", methods=["ddim"], n_latents=20), StudyContext(cache=memo), models=models)
    assert (memo.hits, memo.misses) == (0, 2)           # 16 test crops (translated) + 4 others (inverted)
    dc = run_latent_study(smoke("decorrelation", methods=["ddim"], n_latents=20, seeds=[0], steps_grid=[4]),
                          StudyContext(cache=memo), models=models)
    assert memo.hits == 2 and memo.misses == 3          # the 12 latents shared; the 8-input run at 4 steps is new
    z = dc["latents"].sel({"method": "ddim"}).values    # the first 4 latents, as the Gaussianity study saw them
    np.testing.assert_allclose((z.reshape(len(z), -1).astype(np.float64) ** 2).sum(1) / g.attrs["d"],
                               g["norm_ratio"].sel({"method": "ddim"}).values[:4], rtol=1e-6)
    # another model under the same parameterization: recomputed, never served from the old cells
    changed = {"eps": copy.deepcopy(models["eps"])}
    with torch.no_grad():
        next(changed["eps"].parameters()).add_(1e-3)
    before = (memo.hits, memo.misses)
    run_latent_study(smoke("gaussianity", methods=["ddim"], n_latents=20), StudyContext(cache=memo), models=changed)
    assert (memo.hits, memo.misses) == (before[0], before[1] + 2)
    # the original weights again: read back
    again = run_latent_study(smoke("gaussianity", methods=["ddim"], n_latents=20), StudyContext(cache=memo), models=models)
    assert (memo.hits, memo.misses) == (before[0] + 2, before[1] + 2)
    xr.testing.assert_allclose(again["norm_ratio"], g["norm_ratio"])
    # a new OVG setting from the Pareto sweep changes the OVG cells, not the DDIM ones
    ovg = {"eta_hf": 2e-6, "eta_lf": 0.02, "source": "pareto (test)"}
    s = smoke("gaussianity", methods=["ddim", "ovg"], n_latents=20).with_inputs(pareto=ovg)
    before = (memo.hits, memo.misses)
    out = run_latent_study(s, StudyContext(cache=memo), models=models)
    assert (memo.hits, memo.misses) == (before[0] + 2, before[1] + 2)
    assert json.loads(out.attrs["ovg"]) == ovg


@pytest.mark.parametrize("label", ["ddim", "taba"])
def test_latents_of_the_test_inputs_are_the_main_results_translation_latents(tmp_path, oracles, label):
    """The latent studies invert the main results' test crops first; a deterministic method's latents of them are
    read from the translation cell the main results compute (not recomputed). Their latents equal one inversion cell
    over all inputs: the per-sample seeds of the inputs after the test crops keep their global index (TABA's
    random draws), whatever the cut."""
    from spectral_collapse.framework.cells import invert_cell
    from spectral_collapse.studies.latents import Setup
    from spectral_collapse.studies.main_results import translation_results
    from spectral_collapse.framework.profiles import get_profile

    memo = Memo(tmp_path / "cells")
    models = {"eps": copy.deepcopy(oracles["eps"])}
    prof = get_profile("smoke")
    st = Setup(smoke("gaussianity", methods=[label], n_latents=20), StudyContext(cache=memo), models=models)
    z, ok, x = st.latents(label, 20)
    assert (memo.hits, memo.misses) == (0, 2) and ok.all() and z.shape[0] == 20
    ms = st.method(label)
    whole = invert_cell(StudyContext(), models["eps"], x, ms, seed=0, steps=prof.steps, batch_size=5)
    np.testing.assert_allclose(z.numpy(), whole["latent"].values, rtol=1e-5, atol=1e-5)
    union = st.main_crops(st.data)
    np.testing.assert_array_equal(x[:len(union)].numpy(), st.data.test_source[union].numpy())
    tr = translation_results(StudyContext(cache=memo), st.data, models, profile="smoke", labels=[label],
                             seeds=list(prof.seeds))
    if label == "ddim":  # translated once over every seed's crops: the cell the latent study stored
        assert memo.hits == 1
        first = tr["crop"].sel(seed=prof.seeds[0]).values[: tr.sizes["image"]]
        shown = tr["latents"].sel({"method": label, "seed": prof.seeds[0]}).values
        np.testing.assert_array_equal(shown, z[[union.index(int(i)) for i in first]].numpy())
    else:  # a stochastic method draws per seed on that seed's crops: its own cells
        assert memo.hits == 0
    # inputs degraded at another factor are not the main results': one inversion cell, no translation
    before = memo.misses
    st.latents(label, 20, factor=2)
    assert memo.misses == before + 1


def test_checkpoints_are_recorded_and_studies_are_dispatched_by_name(oracles):
    D = copy.deepcopy(oracles["eps"])
    D.checkpoint = "data/checkpoints/some-model"
    ds = run_latent_study(smoke("gaussianity", methods=["ddim"], n_latents=4), models={"eps": D})
    assert json.loads(ds.attrs["checkpoints"]) == {"eps": "data/checkpoints/some-model"}
    assert ds.attrs["models"] == ds.attrs["checkpoints"]
    with pytest.raises(ValueError, match="pca_collapse, gaussianity, decorrelation"):
        run_latent_study(smoke("velocity"), models=oracles)


def test_velocity_spectra_shapes_and_closed_form(tmp_path, oracles):
    memo = Memo(tmp_path / "cells")
    s = smoke("velocity", methods=["ddim", "edm"], n_samples=2)
    ds = run_velocity(s, StudyContext(cache=memo), models=oracles)
    assert (memo.hits, memo.misses) == (0, 2)                 # one cell per method
    freqs, _ = lat.radial_power_spectrum(torch.zeros(16, 16))
    assert ds["log_power"].shape == (2, 8, len(freqs))
    np.testing.assert_allclose(ds["freq"].values, freqs)
    sig = default_sigmas(oracles["eps"], 8).flip(0).numpy()
    np.testing.assert_allclose(ds["sigma_from"].sel({"method": "ddim"}).values, sig[:-1])
    np.testing.assert_allclose(ds["sigma_to"].sel({"method": "ddim"}).values, sig[1:])
    # exact denoiser: every update is a multiple of the input, so log power differs between steps by a constant
    for m in ("ddim", "edm"):
        p = ds["log_power"].sel({"method": m}).values[:, 1:]
        p = p[:, np.isfinite(p).all(0)]   # an x4 block image has no power at some corner bins (-inf at every step)
        assert p.shape[1] >= len(freqs) - 3
        shift = p - p[:1]
        np.testing.assert_allclose(shift, shift[:, :1].repeat(p.shape[1], 1), atol=5e-3)  # float32 states
    summ = R.velocity_summary(ds)
    assert list(summ.index) == ["ddim", "edm"] and np.isfinite(summ[["hf_late", "lf_late"]].to_numpy()).all()
    # read back from the cache; another space is another cell
    again = run_velocity(s, StudyContext(cache=memo), models=oracles)
    assert (memo.hits, memo.misses) == (2, 2)
    xr.testing.assert_identical(again["log_power"], ds["log_power"])
    sigma = run_velocity(smoke("velocity", methods=["ddim"], n_samples=2, space="sigma"), StudyContext(cache=memo),
                         models=oracles)
    assert (memo.hits, memo.misses) == (2, 3) and sigma.attrs["space"] == "sigma"


def _fake_main(seed=0):
    """A main_results-like Dataset whose S_DC rises with S_G (known correlation) and stored images."""
    g = np.random.default_rng(seed)
    data = load_dataset("ihc-sr", size=16, factor=4)
    truth = data.test_target[:4].numpy()
    methods, seeds = ["ddim", "taba", "edm", "ovg"], [0, 1]
    s_g = g.uniform(0.2, 0.9, (4, 2))
    s_g[0, 1] = s_g[0, 0]                                   # ddim is deterministic: identical seeds
    noise = g.normal(0, 0.02, (4, 2, 8))
    noise[0, 1] = noise[0, 0]
    s_dc = 0.5 * s_g[..., None] + noise
    images = np.clip(truth[None, None] + g.normal(0, 0.1, (4, 2, *truth.shape)), -1, 1).astype(np.float32)
    images[0, 1] = images[0, 0]
    ds = xr.Dataset({"s_dc": (("method", "seed", "sample"), s_dc), "s_g": (("method", "seed"), s_g),
                     "psnr": (("method", "seed", "sample"), 20 + noise * 10),
                     "images": (("method", "seed", "image", "channel", "y", "x"), images),
                     "truth_images": (("image", "channel", "y", "x"), truth)},
                    coords={"method": methods, "seed": seeds, "sample": np.arange(8), "image": np.arange(4)})
    return ds, s_g, s_dc


def test_metric_validation_filters_spectra_and_correlations():
    import lpips as lp
    torch.manual_seed(0)
    model = lp.LPIPS(pretrained=False, pnet_rand=True, verbose=False).eval()
    main, s_g, s_dc = _fake_main()
    ds = run_metric_validation(smoke("metric_validation", n_real=32), StudyContext(inputs={"main_results": main}),
                               lpips_kw={"model": model},
                               fid_kw={"features_fn": lambda im: torch.as_tensor(im).flatten(1)[:, ::97]})
    data = load_dataset("ihc-sr", size=16, factor=4)
    real = realism_sets(data)[0]
    assert float(ds["slope"].sel(domain="target")) == pytest.approx(spec.spectrum_slope(real))
    assert float(ds["slope_channel"].sel(domain="target").mean()) == pytest.approx(spec.spectrum_slope(real))
    # removing low frequencies leaves S_HF alone; removing high frequencies lowers it
    base = float(ds["unfiltered_s_hf"].mean())
    hp = ds["filtered_s_hf"].sel(filter="highpass", kappa=0.1).mean()
    lo = ds["filtered_s_hf"].sel(filter="lowpass", kappa=0.1).mean()
    assert abs(float(hp) - base) < 0.05 and float(lo) < base - 0.2
    # the points table: every run, deterministic duplicates once (1 ddim + 3 x 2 others); the correlations: one
    # point per method, the mean of its runs
    assert ds.sizes["point"] == 7
    a, b = s_g.mean(1), s_dc.mean(2).mean(1)
    assert float(ds["pearson"].sel(metric_a="s_dc", metric_b="s_g")) == pytest.approx(np.corrcoef(a, b)[0, 1])
    # image metrics only where the ground truth is stored: the first seed's outputs
    pts = MV.metric_points(ds).set_index(["method", "seed"])
    assert pts["ms_ssim"].xs(0, level="seed").notna().all() and pts["ms_ssim"].xs(1, level="seed").isna().all()
    assert {"ms_ssim", "haarpsi", "lpips", "fid", "kid"} <= set(ds["metric"].values)
    assert ds.attrs["lpips_status"].startswith("ok") and ds.attrs["fid_status"] == "ok: custom features"
    assert list(MV.metric_points(ds).columns[:2]) == ["method", "seed"] and len(MV.metric_points(ds)) == 7
    # the displayed points are those the correlations use: one per method, the mean of its runs, short headers
    shown = MV.correlation_points(ds, digits=12)
    assert len(shown) == ds["point_method"].to_series().nunique() and "seed" not in shown.columns
    assert {"S_DC", "S_G", "PSNR"} <= set(shown.columns) and "s_dc" not in shown.columns
    runs = MV.metric_points(ds).groupby("method")["s_dc"].mean()
    assert shown["S_DC"].to_dict() == pytest.approx(runs.to_dict())


def test_metric_validation_without_main_results_says_so(tmp_path):
    ds = run_metric_validation(smoke("metric_validation", n_real=8, kappas=[0.2, 0.5]), StudyContext())
    assert ds.sizes["point"] == 0 and ds.sizes["metric_a"] == 0 and ds.sizes["kappa"] == 2
    assert "no main_results" in ds.attrs["correlations"] and "no main_results" in ds.attrs["lpips_status"]
    stored = load_results(save_results(ds, tmp_path / "mv.nc"))   # empty dimensions store and load
    assert stored.sizes["point"] == 0


@pytest.mark.slow
def test_notebooks_execute_on_smoke(tmp_path, monkeypatch):
    """Every latent-analysis notebook runs under papermill on the smoke profile (trained smoke models, tmp results)."""
    import papermill as pm

    from spectral_collapse.framework.store import results_path

    monkeypatch.setenv("SPECTRAL_COLLAPSE_CHECKPOINTS", str(Path(os.environ.get("TMPDIR", "/tmp")) / "analysis-ck"))
    monkeypatch.setenv("SPECTRAL_COLLAPSE_OFFLINE", "1")
    results = tmp_path / "results"
    for study in STUDIES:
        out = tmp_path / f"{study}.ipynb"
        pm.execute_notebook(str(ROOT / "notebooks" / f"{study}.ipynb"), str(out), kernel_name="python3",
                            parameters={"dataset": "ihc-sr", "profile": "smoke", "results_root": str(results)},
                            cwd=str(ROOT), progress_bar=False)
        text = out.read_text()
        assert "image/svg+xml" in text
        assert results_path(study, "ihc-sr", "smoke", results).exists()


def test_gaussianity_contrasts_pair_ddim_with_the_references_over_the_latents():
    """The Gaussianity chapter compares DDIM with TABA / EDM on the same latents (latent i of each method inverts
    crop i): S_G is recomputed from the per-latent norms on each bootstrap draw (the KS statistic against chi2(d)),
    so a clear gap has an interval away from 0 and equal sets a difference of exactly 0."""
    rng = np.random.default_rng(0)
    d, n = 3072, 128
    exact = scipy.stats.chi2(d).rvs(n, random_state=rng) / d
    hot = 1.1 * scipy.stats.chi2(d).rvs(n, random_state=rng) / d          # 10 % too much energy: S_G near 0
    methods = ["ddim", "taba", "edm"]
    ratios = np.stack([hot, exact, hot])
    sg = [1 - scipy.stats.kstest(r * d, "chi2", args=(d,)).statistic for r in ratios]
    g = xr.Dataset({"norm_ratio": (("method", "latent"), ratios), "s_g": ("method", sg),
                    "mean_norm_ratio": ("method", ratios.mean(1))}, coords={"method": methods},
                   attrs={"study": "gaussianity", "d": d, "gaussian_s_g": 0.93})
    con = R.gaussianity_contrasts(g)
    taba, edm = con.loc["ddim − taba"], con.loc["ddim − edm"]
    assert taba["s_g"] == pytest.approx(sg[0] - sg[1]) and taba["s_g_hi"] < 0 and taba["n"] == n
    assert taba["abs_z"] > 0 and taba["abs_z_lo"] > 0     # DDIM's mean norm further from d than TABA's
    assert (edm["s_g"], edm["s_g_lo"], edm["s_g_hi"], edm["abs_z"]) == (0, 0, 0, 0)


def test_metric_validation_page_leaves_out_metrics_without_networks_and_names_no_path():
    """A metric computed for no run (LPIPS or FID / KID whose pretrained network was not available offline) is left
    out of the points table."""
    import xarray as xr

    pts = np.array([[0.5, np.nan, 0.9], [0.6, np.nan, 0.8]])
    ds = xr.Dataset({"points": (("point", "metric"), pts), "point_seed": (("point",), [0, 0]),
                     "point_method": (("point",), ["ddim", "ovg"])}, coords={"metric": ["s_hf", "lpips", "s_dc"]},
                    attrs={"lpips_status": "unavailable: alexnet-owt-7be5be79.pth not in /root/.cache/torch/hub "
                                           "(URLError: <urlopen error [Errno -2] Name or service not known>)",
                           "fid_status": "ok: custom features", "ms_ssim_config": "{}"})
    assert MV.metric_points(ds).columns.tolist() == ["method", "seed", "s_hf", "s_dc"]
