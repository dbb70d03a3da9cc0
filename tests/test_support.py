"""The support of a task's degradation (data/support.py), the support leak (metrics.latent.support_leak) and the
support theorem on the exact Gaussian model: with a source in a linear subspace S, the exact denoiser's deterministic
inversions keep the latent in S (leak below 1e-10, float64) and only injected noise leaves it (leak near 1)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from spectral_collapse.data.degrade import edge_map, nearest_downup
from spectral_collapse.data.support import (BasisProjector, BlockProjector, GreyProjector, dataset_support,
                                            support_projector)
from spectral_collapse.data.unpaired import Task, UnpairedDomains
from spectral_collapse.inversion import OVG, TABA, Euler, default_sigmas, invert
from spectral_collapse.inversion.loop import primary
from spectral_collapse.inversion.methods import get_method
from spectral_collapse.framework.method_labels import BASELINE_PARAMS
from spectral_collapse.metrics import latent as lat
from spectral_collapse.models.oracle import fit_oracle, oracle_pair

SHAPE = (3, 16, 16)      # d = 768
FACTOR = 4               # dim S = 48


def _dense(P, shape) -> torch.Tensor:
    """The projector as a dense d x d matrix (column j = P e_j)."""
    d = math.prod(shape)
    eye = torch.eye(d, dtype=torch.float64).reshape(d, *shape)
    return P(eye).reshape(d, d).T


def _span(images: torch.Tensor, tol: float = 1e-9) -> torch.Tensor:
    """The orthogonal projector onto the span of ``images`` (N, C, H, W), by numpy's SVD."""
    A = images.double().flatten(1).numpy()
    _, s, vt = np.linalg.svd(A, full_matrices=False)
    V = vt[s > tol * s[0]]
    return torch.from_numpy(V.T @ V)


def _images(n: int, seed: int, shape=SHAPE) -> torch.Tensor:
    return torch.rand((n, *shape), generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize("make, degrade, equal", [
    (lambda s: BlockProjector(FACTOR, s), lambda x: nearest_downup(x, FACTOR), True),
    (lambda s: BlockProjector(2, s), lambda x: nearest_downup(x, 2), True),
    (GreyProjector, lambda x: (x.mean(1, keepdim=True) * torch.ones(3, 1, 1)), True),
    # Canny leaves the border white: the sketches span a subspace of the grey images (interior + constant)
    (GreyProjector, edge_map, False),
])
def test_projector_is_idempotent_symmetric_and_spans_the_degraded_crops(make, degrade, equal):
    shape = (3, 8, 8)
    P = make(shape)
    M = _dense(P, shape)
    assert torch.allclose(M @ M, M, atol=1e-12)
    assert torch.allclose(M, M.T, atol=1e-12)
    assert int(torch.linalg.matrix_rank(M)) == P.dim
    ref = _span(degrade(_images(400, 1, shape)))             # the span of the degraded crops, by SVD
    assert torch.allclose(M, ref, atol=1e-9) if equal else torch.allclose(M @ ref, ref, atol=1e-9)


def test_support_of_a_task_and_its_refusals():
    assert isinstance(support_projector(Task("sr", 4), SHAPE), BlockProjector)
    assert support_projector("edges", SHAPE).dim == 16 * 16
    with pytest.raises(ValueError, match="declares no degradation"):
        support_projector("generic", SHAPE)
    with pytest.raises(ValueError, match="does not divide"):
        BlockProjector(3, SHAPE)
    with pytest.raises(ValueError, match="acts on images"):
        BlockProjector(FACTOR, SHAPE)(torch.zeros(2, 3, 8, 8))


def _domains(task=Task("sr", FACTOR), degrade=lambda x: nearest_downup(x, FACTOR)) -> UnpairedDomains:
    """Smooth random colour images (target) and their degraded copies (source), 16 px."""
    def smooth(n, seed):
        low = torch.rand((n, 3, 4, 4), generator=torch.Generator().manual_seed(seed)) * 1.6 - 0.8
        x = torch.nn.functional.interpolate(low, size=16, mode="bilinear", align_corners=False)
        return (x + 0.1 * _images(n, seed + 1)).clamp(-1, 1)
    # 104 crops: 832 dihedral views, more than the 768 elements, so the oracle fits the full covariance (models.oracle_inputs)
    tgt, test = smooth(104, 0), smooth(8, 5)
    return UnpairedDomains("toy", 16, degrade(smooth(104, 3)), tgt, degrade(test), test, task=task)


@pytest.fixture(scope="module")
def toy():
    data = _domains()
    pair = oracle_pair(data)
    return data, {"eps": fit_oracle(data, "eps", pair=pair), "edm": fit_oracle(data, "edm", pair=pair)}


def test_dataset_support_checks_the_source_pool(toy):
    data, _ = toy
    P, why = dataset_support(data)
    assert isinstance(P, BlockProjector) and why == ""
    other = UnpairedDomains("toy", 16, data.target, data.target, data.test_source, data.test_target, task=data.task)
    P, why = dataset_support(other)
    assert P is None and "does not lie" in why


def test_leak_controls_white_noise_one_input_zero():
    P = BlockProjector(FACTOR, SHAPE)
    z = torch.randn((400, *SHAPE), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    leak = lat.support_leak(z, P)
    k, d = P.dim, P.d
    sd = math.sqrt(2 * (k / d) / (d - k))                   # Beta((d - k) / 2, k / 2) share over its mean
    assert abs(leak.mean() - 1) < 4 * sd / math.sqrt(len(leak))
    assert abs(leak.std() - sd) < 0.15 * sd
    x = nearest_downup(_images(8, 2), FACTOR)
    assert lat.support_leak(x, P).max() < 1e-25
    assert np.isnan(lat.support_leak(torch.zeros(1, *SHAPE), P)).all()


def _leak(D, x, method, guidance=None, steps=20) -> np.ndarray:
    sig = default_sigmas(D, steps)
    tr = invert(D, x.double(), sig, method, guidance=guidance, seeds=list(range(len(x))))
    assert bool(tr.finite.all())
    return lat.support_leak(D.to_noise(primary(tr.x, method), float(sig[0])), BlockProjector(FACTOR, SHAPE))


STAYS = {   # label: (model, method, guidance): deterministic updates built from x, the denoiser and OVG's gradients
    "ddim": ("eps", Euler(), None),
    "ddim, destination label": ("eps", Euler(time_label="destination"), None),
    "edm": ("edm", Euler(), None),
    "heun": ("edm", get_method("heun"), None),
    "ovg": ("eps", Euler(), OVG(eta_hf=1e-6, eta_lf=1e-2)),
    "ovg_edm": ("edm", Euler(), OVG(eta_hf=1e-8, eta_lf=1e-2)),
    "ovg, variance term alone": ("eps", Euler(), OVG(eta_hf=1e-6, eta_lf=0.0)),
    "ovg, released code": ("eps", Euler(), OVG.released()),
    "ovg, stable form": ("eps", Euler(), OVG.stable()),
    "ovg, raw reference": ("edm", Euler(), OVG(eta_hf=1e-8, eta_lf=1e-1, x0_ref="raw")),
    "null_class": ("eps", get_method("null_class"), None),
    "direct_inversion": ("eps", get_method("direct_inversion"), None),
    "edict": ("eps", get_method("edict"), None),
    "bdia": ("eps", get_method("bdia"), None),
}
LEAVES = {  # methods that inject noise
    "taba": ("eps", TABA(), None),
    "ovg_taba": ("eps", TABA(), OVG(eta_hf=1e-8, eta_lf=1e-4)),
    "taba on edm": ("edm", TABA(), None),
}


@pytest.mark.parametrize("label", list(STAYS))
def test_deterministic_inversion_of_the_exact_model_stays_in_the_support(toy, label):
    data, models = toy
    par, method, guidance = STAYS[label]
    assert _leak(models[par], data.test_source, method, guidance).max() < 1e-10


def test_ddim_and_edm_of_the_exact_model_are_one_ode(toy):
    """The claims page's exact-model column says DDIM and EDM differ only by how each discretises one ODE: with the
    exact model their latents on one sigma grid (Euler steps in VP and in EDM coordinates, the eps model conditioned
    on its discrete timesteps) agree to within 1 % of the latent's norm at 20 steps as at 80, where a trained EDM
    network's latent differs from the trained DDIM's by a leak of 0.97 against 0.46."""
    data, models = toy
    x = data.test_source.double()

    def gap(steps: int) -> float:
        sig = default_sigmas(models["eps"], steps)
        eps, edm = (models[p].to_noise(primary(invert(models[p], x, sig, Euler()).x, Euler()), float(sig[0]))
                    for p in ("eps", "edm"))
        return float((eps - edm).norm() / eps.norm())

    coarse, fine = gap(20), gap(80)
    assert coarse < 1e-2 and fine < 1e-2


@pytest.mark.parametrize("label", list(LEAVES))
def test_injected_noise_leaves_the_support(toy, label):
    data, models = toy
    par, method, guidance = LEAVES[label]
    leak = _leak(models[par], data.test_source, method, guidance)
    k, d = 48, 768
    assert abs(leak.mean() - 1) < 5 * math.sqrt(2 * (k / d) / (d - k)) / math.sqrt(len(leak)) + 0.02


def test_renoise_regularisation_leaves_the_support(toy):
    """ReNoise's noise regularisation (patch statistics against a forward-noised reference, random rolls) is not
    built from the denoiser alone: it moves the latent off S."""
    data, models = toy
    leak = _leak(models["eps"], data.test_source, get_method("renoise", **BASELINE_PARAMS["renoise"]))
    assert leak.min() > 0.5


def test_s_dc_rises_under_the_variance_term_while_the_leak_stays_zero(toy):
    """S_DC's failure case: OVG's variance term alone makes the block edges louder (S_DC up) without leaving S."""
    data, models = toy
    D, x = models["eps"], data.test_source.double()
    sig = default_sigmas(D, 20)
    P = BlockProjector(FACTOR, SHAPE)
    out = {}
    for name, g in (("ddim", None), ("variance", OVG(eta_hf=1e-5, eta_lf=0.0))):
        z = D.to_noise(invert(D, x, sig, Euler(), guidance=g).x, float(sig[0]))
        out[name] = (lat.decorrelation(z.float()).s_dc.mean(), lat.support_leak(z, P).max())
    assert out["variance"][0] > out["ddim"][0] + 0.05
    assert out["variance"][1] < 1e-10 and out["ddim"][1] < 1e-10


def test_the_oracles_range_projector_is_the_span_of_its_crops(toy):
    data, models = toy
    G = models["eps"].net.domain(0)
    R = G.range_projector()
    assert isinstance(R, BasisProjector) and R.dim == 48
    assert torch.allclose(_dense(R, SHAPE), _dense(BlockProjector(FACTOR, SHAPE), SHAPE), atol=1e-9)


@pytest.mark.slow
def test_ovg_edm_stays_in_the_support_on_the_ihc_sr_oracle():
    """The oracle arm's OVG + EDM at the main results' step sizes on 4 ihc-sr test crops (x4: dim S 192 of 3,072)."""
    from spectral_collapse.framework.model_set import dataset_for, oracle_models

    data = dataset_for("quick", "ihc-sr")
    D = oracle_models("quick", "ihc-sr")["edm"]
    x = data.test_source[:4].double()
    sig = default_sigmas(D, 50)
    tr = invert(D, x, sig, Euler(), guidance=OVG(eta_hf=1e-8, eta_lf=1e-2), seeds=list(range(4)))
    leak = lat.support_leak(D.to_noise(tr.x, float(sig[0])), support_projector(data.task, tuple(x.shape[1:])))
    assert leak.max() < 1e-10


def test_the_studies_store_the_leak_beside_s_dc():
    """The decorrelation study (per latent and per run) and the translation scores (controls.image_scores) carry
    support_leak with S_DC's dims: 0 for DDIM on the tests' Gaussian (an exact model whose ODE rescales x), above it
    for TABA; NaN without a known support."""
    from conftest import oracle_denoiser
    from spectral_collapse.framework.cells import StudyContext
    from spectral_collapse.framework.controls import image_scores
    from spectral_collapse.studies.latents import run_latent_study
    from spectral_collapse.studies.registry import DECLARED, study_spec

    models = {"eps": oracle_denoiser("eps"), "edm": oracle_denoiser("edm")}
    ds = run_latent_study(study_spec("decorrelation", dataset="ihc-sr", profile="smoke", methods=["ddim", "taba"],
                                     n_latents=10, steps_grid=[4], seeds=[0]), StudyContext(), models=models)
    assert ds["support_leak"].dims == ds["s_dc"].dims
    assert float(ds["support_leak"].sel({"method": "ddim"}).max()) < 1e-10
    # that Gaussian has variance off S too, so TABA's off-support noise grows no faster than the input: small, not 0
    assert float(ds["support_leak"].sel({"method": "taba"}).min()) > 1e-4
    assert ds["run_support_leak"].dims == ds["run_s_dc"].dims
    assert json.loads(ds.attrs["support"])["kind"] == "block"
    x = nearest_downup(_images(4, 3), FACTOR)
    z = torch.randn((4, *SHAPE), generator=torch.Generator().manual_seed(1))
    scoring = {"mu_hf": 1.0, "wavelet": "haar", "kappa": 0.5, "edges": False}
    assert np.isnan(image_scores(x, x, None, scoring, z)["support_leak"]).all()
    leak = image_scores(x, x, None, {**scoring, "support": BlockProjector(FACTOR, SHAPE)}, z)["support_leak"]
    assert np.allclose(leak, lat.support_leak(z, BlockProjector(FACTOR, SHAPE)))
    # every study that keeps latents holds the leak beside its collapse measure (a file without it is computed again)
    for study in ("main_results", "decorrelation", "pca_collapse", "gaussianity", "backbone_ablation",
                  "space_ablation", "scale_factor", "eps_vs_x0", "seed_spread"):
        assert "support_leak" in DECLARED[study], study


def test_the_pca_and_gaussianity_studies_store_the_leak_of_each_series():
    """On the tests' exact Gaussian model DDIM's latents leak nothing in the Gaussianity study and in every SR factor's
    series of the PCA study (each against its own factor's blocks), while the N(0, I) reference series leaks like
    white noise (near 1)."""
    from conftest import oracle_denoiser
    from spectral_collapse.framework.cells import StudyContext
    from spectral_collapse.studies.latents import run_latent_study
    from spectral_collapse.studies.registry import study_spec

    models = {"eps": oracle_denoiser("eps"), "edm": oracle_denoiser("edm")}
    g = run_latent_study(study_spec("gaussianity", dataset="ihc-sr", profile="smoke", methods=["ddim", "taba"],
                                    n_latents=10), StudyContext(), models=models)
    assert g["support_leak"].dims == g["norm_ratio"].dims
    assert float(g["support_leak"].sel({"method": "ddim"}).max()) < 1e-10
    p = run_latent_study(study_spec("pca_collapse", dataset="ihc-sr", profile="smoke", methods=["ddim"],
                                    n_latents=10, factors=[4]), StudyContext(), models=models)
    leak = p["support_leak"].mean("latent").to_series()
    assert leak["ddim x4"] < 1e-10 and 0.8 < leak["gaussian"] < 1.2, leak


def test_the_leak_controls_rank_white_noise_the_input_and_the_exact_models_latents(toy):
    """The metric-validation study's controls (studies.leak_controls): white noise near 1, the input 0, and with the
    exact model DDIM and OVG's variance term alone both 0 whatever their S_DC."""
    from spectral_collapse.studies.leak_controls import CONTROLS, leak_controls

    data, models = toy
    ds = leak_controls(data, None, {"eps": models["eps"]}, n=8, steps=20)
    leak = dict(zip(CONTROLS, ds["leak_control_leak"].values))
    assert abs(leak["white_noise"] - 1) < 0.1 and leak["input"] < 1e-20
    assert leak["ddim_exact"] < 1e-10 and leak["variance_term_exact"] < 1e-10 and np.isnan(leak["taba_stored"])
