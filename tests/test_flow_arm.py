"""The flow-matching arm: the flow objective and its closed forms on Gaussian data, the flow model of the profiles
and the model set, and the flow_collapse study end to end on the smoke profile.

Closed forms, written here independently of the library. For data x0 ~ N(m, s^2 I) and x_t = (1 - t) x0 + t n, the
target u = n - x0 has Var(u) = 1 + s^2, Var(x_t) = V = (1 - t)^2 s^2 + t^2 and Cov(x_t, u) = C = t - (1 - t) s^2
per element (for m = 0), so the exact velocity is v* = E[u | x_t] = (C / V) x_t, its loss per element is the
conditional variance 1 + s^2 - C^2 / V = s^2 / V, and a linear field a x_t loses s^2 / V + V (a - C / V)^2.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from spectral_collapse.framework.controls import CONTROLS
from scipy import stats

from spectral_collapse.models.denoisers import make_denoiser
from spectral_collapse.models.flow import FlowDenoiser, FlowSchedule
from oracle import GaussianOracleNet
from spectral_collapse.models.schedules import VPSchedule
from spectral_collapse.train.losses import BANDS, heldout_loss, heldout_set
from spectral_collapse.train.losses import mean_loss, diffusion_loss, sample_sigmas
from spectral_collapse.train.trainer import train
from spectral_collapse.train.config import ModelSpec, TrainConfig

F64 = torch.float64
S = 0.6


def _oracle(s=S, means=None) -> FlowDenoiser:
    return make_denoiser(GaussianOracleNet("flow", stds=(s, s, s), means=means), "flow")


def _V(t, s=S):
    return (1 - t) ** 2 * s**2 + t**2


def _C(t, s=S):
    return t - (1 - t) * s**2


def _t(sigma):
    return sigma / (1 + sigma)


# ------------------------------------------------------------------------------------------- the flow objective

@torch.no_grad()
def test_the_exact_velocity_loses_the_analytic_minimum_and_any_other_field_more():
    """The flow loss of the exact velocity (Gaussian oracle through a FlowDenoiser) is the conditional variance
    s^2 / V per element at the drawn levels; the exact velocity of another std s' is a worse linear field and
    loses s^2 / V + V (a' - C / V)^2, as the closed form says."""
    gen = torch.Generator().manual_seed(0)
    B = 2048
    x0 = S * torch.randn(B, 3, 8, 8, generator=gen, dtype=F64)
    labels = torch.zeros(B, dtype=torch.long)
    sigma = sample_sigmas(_oracle(), "flow", B, gen, P_mean=0.0, P_std=1.0)
    n = torch.randn(x0.shape, generator=gen, dtype=F64)
    t = _t(sigma)
    exact = float(mean_loss(_oracle(), x0, labels, sigma, n, "flow", 0.5))
    minimum = float((S**2 / _V(t)).mean())
    assert exact == pytest.approx(minimum, rel=0.01)
    s2 = 0.9
    a_other = _C(t, s2) / _V(t, s2)
    other = float(mean_loss(_oracle(s2), x0, labels, sigma, n, "flow", 0.5))
    predicted = float((S**2 / _V(t) + _V(t) * (a_other - _C(t) / _V(t)) ** 2).mean())
    assert other == pytest.approx(predicted, rel=0.01)
    assert other > exact * 1.05
    # the whole-batch loss (its own draws) is the same analytic mean over its own levels
    g2 = torch.Generator().manual_seed(1)
    whole = float(diffusion_loss(_oracle(), x0, labels, g2, "flow", P_mean=0.0, P_std=1.0))
    levels = sample_sigmas(_oracle(), "flow", B, torch.Generator().manual_seed(1), P_mean=0.0, P_std=1.0)
    assert whole == pytest.approx(float((S**2 / _V(_t(levels))).mean()), rel=0.01)


def test_flow_times_are_logit_normal_with_the_configured_mean_and_std():
    """logit t = ln sigma ~ N(P_mean, P_std^2): SD3's logit-normal(0, 1) with the profiles' constants."""
    sigma = sample_sigmas(_oracle(), "flow", 20_000, torch.Generator().manual_seed(3), P_mean=0.0, P_std=1.0)
    t = _t(sigma)
    logit = torch.log(t / (1 - t)).numpy()
    assert abs(logit.mean()) < 0.03 and abs(logit.std() - 1) < 0.03
    assert stats.kstest(logit, "norm").pvalue > 1e-3
    shifted = sample_sigmas(_oracle(), "flow", 20_000, torch.Generator().manual_seed(3), P_mean=0.5, P_std=2.0)
    np.testing.assert_allclose(torch.log(shifted).numpy(), 0.5 + 2.0 * logit, rtol=1e-9, atol=1e-9)


def test_the_flow_denoiser_of_the_exact_velocity_is_the_exact_gaussian_denoiser():
    """A FlowDenoiser around the exact velocity gives D* = m + (x~ - m) s^2 / (sigma^2 + s^2) and
    eps* = (x~ - m) sigma / (sigma^2 + s^2) per label (std and mean of each), as every other wrapper of the oracle."""
    stds, means = (0.5, 1.0, 0.75), (0.2, -0.1, 0.0)
    D = make_denoiser(GaussianOracleNet("flow", stds=stds, means=means), "flow")
    assert isinstance(D, FlowDenoiser) and D.schedule == FlowSchedule()
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(2), dtype=F64) * 3
    sig = torch.tensor([0.0, 0.3, 7.0, 900.0], dtype=F64)
    labels = torch.tensor([0, 1, 2, 1])
    pred = D(x, sig, labels)
    s = torch.tensor(stds, dtype=F64)[labels].reshape(-1, 1, 1, 1)
    m = torch.tensor(means, dtype=F64)[labels].reshape(-1, 1, 1, 1)
    b = sig.reshape(-1, 1, 1, 1)
    torch.testing.assert_close(pred.x0, m + (x - m) * s**2 / (b**2 + s**2), rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(pred.eps, (x - m) * b / (b**2 + s**2), rtol=1e-9, atol=1e-10)
    within = torch.tensor([0.05, 0.3, 3.0, 10.0], dtype=F64)   # inside every wrapper's range of levels
    mine = D(x, within, labels)
    for kind in ("eps", "x0", "v", "edm"):
        other = make_denoiser(GaussianOracleNet(kind, stds=stds, means=means), kind)(x, within, labels)
        torch.testing.assert_close(mine.x0, other.x0, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(mine.eps, other.eps, rtol=1e-6, atol=1e-6)


def test_the_flow_model_is_built_saved_and_paired_with_its_objective(tmp_path):
    """ModelSpec("flow") builds a FlowDenoiser, records its FlowSchedule (not a VP schedule) and reads it back; the
    other kinds' records are unchanged; the flow objective goes with the flow model only."""
    from conftest import TinyData

    spec = ModelSpec(parameterization="flow", flow=FlowSchedule(shift=3.0))
    d = spec.to_dict()
    assert set(d) == {"backbone", "parameterization", "flow"} and d["flow"]["shift"] == 3.0
    assert ModelSpec.from_dict(json.loads(json.dumps(d))) == spec
    assert isinstance(spec.build(), FlowDenoiser) and spec.build().schedule.shift == 3.0
    assert set(ModelSpec().to_dict()) == {"backbone", "parameterization", "schedule"}
    with pytest.raises(TypeError, match="FlowSchedule"):
        make_denoiser(GaussianOracleNet("flow"), "flow", schedule=VPSchedule())
    with pytest.raises(ValueError, match="flow-matching objective goes with the flow-matching parameterization"):
        train(ModelSpec(), TrainConfig(objective="flow", steps=1), TinyData(), name="x", root=tmp_path)
    with pytest.raises(ValueError, match="flow-matching objective goes with"):
        train(spec, TrainConfig(objective="eps", steps=1), TinyData(), name="x", root=tmp_path)
    with pytest.raises(ValueError, match="min_snr_gamma"):
        TrainConfig(objective="flow", min_snr_gamma=5.0)


class _Gaussian:
    """Held-out crops of N(0, S^2) data in both labels (what ``heldout_set`` reads)."""

    def __init__(self, n=64, side=8):
        g = torch.Generator().manual_seed(5)
        self.test_source = S * torch.randn(n, 3, side, side, generator=g)
        self.test_target = S * torch.randn(n, 3, side, side, generator=g)


def test_heldout_bands_follow_the_logit_normal_and_the_oracle_loses_the_minimum_per_band():
    D = _oracle()
    held = heldout_set(_Gaussian(), D, "flow", P_mean=0.0, P_std=1.0)
    assert held.sigma.shape == (BANDS, 128)
    q = stats.norm.cdf(torch.log(held.sigma).numpy())   # the training distribution's quantile of each level
    for b in range(BANDS):
        assert (q[b] >= b / BANDS - 1e-9).all() and (q[b] <= (b + 1) / BANDS + 1e-9).all()
    D64 = _oracle()
    got = heldout_loss(D64, held, "flow")
    want = [float((S**2 / _V(_t(held.sigma[b]))).mean()) for b in range(BANDS)]
    assert got[0] == pytest.approx(sum(got[1:]) / BANDS)
    np.testing.assert_allclose(got[1:], want, rtol=0.03)


# ------------------------------------------------------------------------------------------ profiles, model set

def test_profiles_train_the_flow_model_like_the_eps_model():
    from spectral_collapse.framework.model_set import MODEL_SET
    from spectral_collapse.framework.profiles import PROFILES

    for name in ("smoke", "quick"):
        p = PROFILES[name]
        spec, eps = p.model_spec("flow", "ihc-sr"), p.model_spec("eps", "ihc-sr")
        assert spec.parameterization == "flow" and spec.backbone == eps.backbone and spec.flow == FlowSchedule()
        cfg, base = p.train_config("flow", "ihc-sr"), p.train_config("eps", "ihc-sr")
        for k in ("steps", "batch_size", "lr", "warmup_steps", "ema_decay", "lr_schedule", "seed", "grad_clip"):
            assert getattr(cfg, k) == getattr(base, k), k
        assert (cfg.objective, cfg.P_mean, cfg.P_std, cfg.truncated_snr) == ("flow", 0.0, p.flow_logit_std, False)
    assert PROFILES["smoke"].flow_logit_std == 1.0  # SD3's and diffusers' default unless a profile widens it
    role = next(r for r in MODEL_SET if r.parameterization == "flow")
    assert (role.key, role.dataset, role.factor) == ("ihc-sr-x4-flow", "ihc-sr", None)


# ------------------------------------------------------------------------------------------- the study, smoke

@pytest.fixture(scope="module")
def flow_run(tmp_path_factory):
    """flow_collapse on the smoke profile through run_study, checkpoints in a temporary folder."""
    from spectral_collapse.pipeline.runner import run_study
    from spectral_collapse.framework import model_set as models_mod

    root = tmp_path_factory.mktemp("flow")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(models_mod, "CHECKPOINT_ROOT", str(root / "ckpt"))
        ds = run_study("flow_collapse", dataset="ihc-sr", profile="smoke", results_root=root / "results")
        yield ds, root, run_study


def test_the_study_runs_every_method_on_the_trained_flow_model(flow_run):
    from spectral_collapse.studies.flow_collapse import FLOW_LABELS, LATENT_SCALE, SCALED_LABEL
    from spectral_collapse.framework.profiles import PROFILES

    ds, root, _ = flow_run
    p = PROFILES["smoke"]
    assert ds["method"].values.tolist() == list(FLOW_LABELS)
    assert ds["seed"].values.tolist() == list(p.seeds) and ds.sizes["sample"] == p.n_test
    assert ds["control"].values.tolist() == list(CONTROLS)
    for m in ("psnr", "s_hf", "delta_log_e_hf", "s_lf", "s_dc", "latent_norm_ratio"):
        assert ds[m].dims == ("method", "seed", "sample"), m
        assert np.isfinite(ds[m].values).all(), m
    assert not ds["failed"].values.any()
    ddim, scaled = (ds["latent_norm_ratio"].sel({"method": k}).values for k in ("ddim", SCALED_LABEL))
    np.testing.assert_allclose(scaled / ddim, LATENT_SCALE**2, rtol=1e-5)
    np.testing.assert_array_equal(ds["s_dc"].sel({"method": SCALED_LABEL}).values,
                                  ds["s_dc"].sel({"method": "ddim"}).values)
    # the scaled latent is the ddim latent times 1.15 (the stored images' latents of the first crops)
    np.testing.assert_allclose(ds["latents"].sel({"method": SCALED_LABEL}).values,
                               LATENT_SCALE * ds["latents"].sel({"method": "ddim"}).values, rtol=1e-5, atol=1e-6)
    # the flow model was trained by the suite, went through the gate and is named in the results
    ckpt = json.loads(ds.attrs["checkpoints"])["flow"]
    assert "ihc-sr-x4-flow-smoke-" in ckpt and ckpt.startswith(str(root / "ckpt"))
    (name, status), = json.loads(ds.attrs["model_gate"]).items()
    assert name.startswith("ihc-sr-x4-flow-smoke-") and status["role"] == "flow model"
    cfg = json.loads((root / "ckpt" / name / "config.json").read_text())
    assert cfg["model"]["parameterization"] == "flow" and cfg["train"]["objective"] == "flow"
    log = json.loads((root / "ckpt" / name / "log.json").read_text())
    assert log["heldout"] and all(len(r) == BANDS + 2 and np.isfinite(r[1:]).all() for r in log["heldout"])
    assert [m["method"] for m in json.loads(ds.attrs["methods"])] == ["Euler", "ScaledLatentEuler", "TABA", "Euler"]
    # OVG's step sizes were tuned with the flow model, on validation crops that no score of the study uses
    ovg, tuning = json.loads(ds.attrs["ovg"]), json.loads(ds.attrs["ovg_tuning"])
    assert "Pareto sweep of OVG on the flow model" in ovg["source"]
    assert (tuning["choice"]["eta_hf"], tuning["choice"]["eta_lf"]) == (ovg["eta_hf"], ovg["eta_lf"])
    assert set(tuning["tuning_crops"]).isdisjoint(np.asarray(ds["crop"].values).ravel().tolist())
    assert ovg["eta_hf"] in tuning["grid"]["eta_hf"] and ovg["eta_lf"] in tuning["grid"]["eta_lf"]


def test_the_verdicts_are_read_from_the_numbers(flow_run):
    """Each claim's text carries the paired interval recomputed here from the per-crop values, and changing the
    numbers changes the verdict."""
    from spectral_collapse.metrics.intervals import MIN_EFFECT, paired_ci, three_way
    from spectral_collapse.framework.aggregate import crop_values
    from spectral_collapse.studies.flow_collapse import SCALED_LABEL
    from spectral_collapse.claims.flow import findings
    from spectral_collapse.claims.compare import FAILS, HOLDS
    from spectral_collapse.text import signed

    ds, _, _ = flow_run
    found = findings(ds)
    assert set(found) == {"collapse", "ovg", "scaled"}
    ci = paired_ci(crop_values(ds, "s_dc", "ddim"), crop_values(ds, "s_dc", "taba"))
    v = three_way(ci, MIN_EFFECT["s_dc"], higher_is_claimed=False)
    text = f"S_DC ddim − taba {signed(ci.mean)} [{signed(ci.lo)}, {signed(ci.hi)}], {ci.n} crops; taba closes "
    assert text in found["collapse"].detail and f"→ {v}" in found["collapse"].detail   # the gap closed before it
    a, b = crop_values(ds, "s_dc", "ovg"), crop_values(ds, "s_dc", "ddim")
    ci = paired_ci(a, b)
    said = (f"S_DC ovg − ddim {signed(0.0)} on each of {len(a)} crops" if np.allclose(a, b, rtol=0.0, atol=1e-9)
            else f"S_DC ovg − ddim {signed(ci.mean)} [{signed(ci.lo)}, {signed(ci.hi)}]")   # equal on every crop: said
    assert said in found["ovg"].detail
    assert found["scaled"].verdict == FAILS and "scalar multiple" in found["scaled"].detail
    # numbers that show collapse and its removal by OVG read as such
    made = ds.copy(deep=True)
    ddim_dc = made["s_dc"].sel({"method": "ddim"}).values
    for m, dc, hf in (("taba", ddim_dc + 0.2, 0.0), ("ddim", ddim_dc, -1.0), ("ovg", ddim_dc + 0.2, -0.05)):
        made["s_dc"].loc[{"method": m}] = dc
        made["delta_log_e_hf"].loc[{"method": m}] = hf + 0.01 * np.sin(np.arange(dc.size)).reshape(dc.shape)
    again = findings(made)
    assert again["collapse"].verdict == HOLDS and again["ovg"].verdict == HOLDS
    assert again["scaled"].verdict == FAILS   # the scaled latent's S_DC still equals ddim's
    assert findings(made.sel({"method": ["ddim", SCALED_LABEL]}))["collapse"].verdict == "not testable here"


def test_the_study_refuses_weak_models_given_models_and_other_models_labels(flow_run):
    from spectral_collapse.framework.quality import WeakModelError

    ds, root, run_study = flow_run
    res = root / "refused"
    with pytest.MonkeyPatch.context() as mp:
        from spectral_collapse.framework import model_set as models_mod

        mp.setattr(models_mod, "CHECKPOINT_ROOT", str(root / "ckpt"))
        with pytest.raises(WeakModelError, match=r"ihc-sr-x4-flow-smoke-[0-9a-f]+ is below the quality gate"):
            run_study("flow_collapse", dataset="ihc-sr", profile="smoke", results_root=res, allow_weak_model=False)
        with pytest.raises(ValueError, match="cannot run on a given model"):
            run_study("flow_collapse", dataset="ihc-sr", profile="smoke", results_root=res, model=str(root))
        with pytest.raises(ValueError, match="need another model than the flow model"):
            run_study("flow_collapse", dataset="ihc-sr", profile="smoke", results_root=res, methods=["ddim", "edm"])
    assert not list(res.rglob("*.nc"))


def test_step_sizes_given_to_the_study_are_used_without_a_sweep(flow_run):
    ds, root, run_study = flow_run
    given = run_study("flow_collapse", dataset="ihc-sr", profile="smoke", results_root=root / "given",
                      methods=["ddim", "ovg"], eta_hf=1e-6, eta_lf=1e-3)
    ovg = json.loads(given.attrs["ovg"])
    assert (ovg["eta_hf"], ovg["eta_lf"]) == (1e-6, 1e-3) and "given to the study" in ovg["source"]
    assert json.loads(given.attrs["ovg_tuning"]) == {}
