"""The closed-form study: the exact inversion map against the project's loop, its spectrum where the answer is known,
the chroma share of least-variance directions on a covariance built with known directions, and the study's run."""
import numpy as np
import pytest
import torch

from spectral_collapse.inversion import invert
from spectral_collapse.inversion.methods import Euler as DDIM
from spectral_collapse.metrics.latent import radial_power_spectrum
from spectral_collapse.metrics.realism import YCBCR_601
from spectral_collapse.models.gaussian import FullGaussian
from spectral_collapse.models.oracle import GaussianPair, OracleDenoiser
from spectral_collapse.studies import closed_form as cf

SHAPE = (3, 4, 4)
D_ELEMS = 48


def _random_gaussian(seed: int = 0, spread: float = 3.0) -> FullGaussian:
    """N(mu, C) on 3 x 4 x 4 images with eigenvalues spread over ``spread`` decades."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(D_ELEMS, D_ELEMS, generator=g, dtype=torch.float64))
    lam = torch.logspace(-spread, 0, D_ELEMS, dtype=torch.float64)
    mu = 0.1 * torch.randn(SHAPE, generator=g, dtype=torch.float64)
    return FullGaussian(mu, q @ torch.diag(lam) @ q.T)


def _oracle(G) -> OracleDenoiser:
    return OracleDenoiser(GaussianPair(G, G))


def test_closed_form_latent_is_the_limit_of_the_inversion_loop():
    """The project's DDIM loop with the exact denoiser, on a geometric grid from sigma_min to 80, approaches the
    closed-form latent as the steps grow, at DDIM's (Euler's) first order: 4x the steps, about 4x less error."""
    G = _random_gaussian()
    D = _oracle(G)
    x = G.sample(6, torch.Generator().manual_seed(1))
    s0, sT = float(D.sigma_min), 80.0
    exact = cf.closed_form_latent(G, D, x, s0, sT)
    errors = []
    for steps in (25, 100, 400):
        grid = torch.from_numpy(np.geomspace(s0, sT, steps + 1))
        z = D.to_noise(invert(D, x, grid, DDIM()).x, sT)
        errors.append(float((z - exact).norm() / exact.norm()))
    assert errors[0] > errors[1] > errors[2]
    assert errors[1] / errors[2] > 3.0        # first order: the error falls with the step count
    assert errors[2] < 0.02


def test_identity_covariance_gives_white_latents_as_a_scaled_identity():
    """C = I: every direction gains sqrt((1 + sT^2) / (1 + s0^2)), so the latent is x / sqrt(1 + s0^2) (mu = 0) and
    the latents of white inputs have the flat spectrum of white noise, scaled by 1 / (1 + s0^2)."""
    G = FullGaussian(torch.zeros(SHAPE, dtype=torch.float64), torch.eye(D_ELEMS, dtype=torch.float64))
    D = _oracle(G)
    x = torch.randn((500, *SHAPE), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    s0, sT = 0.3, 50.0
    z = cf.closed_form_latent(G, D, x, s0, sT)
    torch.testing.assert_close(z, x / np.sqrt(1 + s0**2), rtol=1e-12, atol=1e-12)
    _, pz = radial_power_spectrum(z)
    _, px = radial_power_spectrum(x)
    np.testing.assert_allclose(pz, px / (1 + s0**2), rtol=1e-10)
    np.testing.assert_allclose(pz.mean((0, 1)), 1 / (1 + s0**2), rtol=0.05)   # white: flat at its variance


def _colour_covariance(low_colour: np.ndarray, lam_low: float, lam_high: float) -> tuple[FullGaussian, np.ndarray]:
    """A covariance on 3 x 2 x 2 images whose eigenvectors are colour (x) pixel deltas: the colour ``low_colour`` at
    every pixel has variance ``lam_low``, the two colours orthogonal to it ``lam_high``; returns (G, colour basis)."""
    a = low_colour / np.linalg.norm(low_colour)
    basis = np.linalg.qr(np.column_stack([a, np.eye(3)[:, :2]]))[0]     # first column is +-a
    lam = np.array([lam_low, lam_high, lam_high])
    colour_cov = basis @ np.diag(lam) @ basis.T
    cov = np.kron(colour_cov, np.eye(4))                                # channel-major (C, H, W) flattening
    return FullGaussian(torch.zeros(3, 2, 2, dtype=torch.float64), torch.from_numpy(cov)), a


def test_low_variance_chroma_reads_the_least_variance_directions():
    """The chroma share of the lowest directions is the BT.601 chroma share of the colour built in with the least
    variance: a pure Cb colour gives its share, a grey colour none."""
    cb = np.linalg.solve(YCBCR_601, np.array([0.0, 1.0, 0.0]))          # the RGB colour with Y = Cr = 0
    grey = np.ones(3)
    for colour in (cb, grey):
        G, a = _colour_covariance(colour, 1e-3, 1.0)
        lam, chroma, total = cf.direction_energies(G)
        y = YCBCR_601 @ a
        expected = (y[1] ** 2 + y[2] ** 2) / (y ** 2).sum()                 # the built colour's own share
        assert cf.low_variance_chroma(lam, chroma, total, fraction=4 / 12) == pytest.approx(expected, abs=1e-9)
    assert expected == pytest.approx(0.0, abs=1e-12)                        # grey: no chroma


def test_predicted_drift_chroma_matches_monte_carlo():
    """The expected chroma share of g_HF at level sigma for Gaussian inputs inverted exactly from sigma_0 agrees with
    g_HF computed by the model's closed form on 4000 draws."""
    G = _random_gaussian(3)
    lam, chroma, total = cf.direction_energies(G)
    x = G.sample(4000, torch.Generator().manual_seed(4))
    s0, sigma = 0.01, 0.05
    g = G.ovg_hf_gradient(G.ode_solution(x, s0, sigma), sigma).numpy()
    yc = np.einsum("kc,bchw->bkhw", YCBCR_601, g)
    e = (yc ** 2).sum((0, 2, 3))
    measured = (e[1] + e[2]) / e.sum()
    predicted = cf.predicted_drift_chroma(lam, chroma, total, [sigma], s0)[0]
    assert measured == pytest.approx(predicted, abs=0.02)


@pytest.mark.slow
def test_smoke_run_stores_the_declared_variables():
    """The study on the smoke profile (one crop size, few inputs) returns every variable the chapter reads."""
    from spectral_collapse.framework.cells import StudyContext
    from spectral_collapse.studies.registry import get_study, missing_variables, study_spec

    spec = study_spec("closed_form", dataset="ihc-sr", profile="smoke", n_images=4, eta_hf=[1e-7], sizes=[16],
                      scale_images=2)
    ds = get_study("closed_form").run(spec, StudyContext())
    assert missing_variables("closed_form", ds) == []
    for name in ("lam_source", "lam_target", "spectrum", "k90", "hf_deficit", "drift_first_step", "scale_k90",
                 "scale_drift_chroma", "latent", "latent_shipped"):
        assert name in ds.variables, name
    assert list(ds["model"].values) == ["oracle", "shipped"]
    # the oracle's latent of a block-constant input stays in the block-constant subspace (ihc-sr, factor 4)
    z = ds["latent"].values
    blocks = z.reshape(*z.shape[:2], z.shape[2] // 4, 4, z.shape[3] // 4, 4)
    assert np.abs(blocks - blocks[:, :, :, :1, :, :1]).max() < 1e-3 * np.abs(z).max()


def test_the_weight_chart_of_a_full_covariance_fits_a_chart_and_thins_in_order_of_variance():
    """3,072 directions (3 x 32 x 32) at three levels are 9,216 points, past the rows a chart embeds: the chart keeps
    at most MAX_POINTS, every k-th direction in order of variance, from the smallest variance to near the largest."""
    import xarray as xr

    from spectral_collapse.plotting.closed_form import MAX_POINTS, weight_chart

    lam = np.logspace(-4, 1, 3072)[::-1]
    energy = np.ones_like(lam)
    ds = xr.Dataset({"lam_source": ("k", lam), "chroma_energy_source": ("k", energy / 3),
                     "ycc_energy_source": ("k", energy)})
    data = weight_chart(ds).to_dict()["datasets"]
    rows = [r for rows in data.values() for r in rows]
    assert 3 * 1000 < len(rows) <= MAX_POINTS
    kept = sorted({r["lam"] for r in rows})
    assert kept[0] == lam.min() and kept[-1] > 0.99 * np.quantile(lam, 0.999)


def test_the_drift_chart_colours_by_model_and_dashes_by_step_size():
    """Two models at two step sizes and the closed form: the colour legend names the three, the dash legend the two
    step sizes in increasing order; every (model, step size) is one line of the data, the closed form a line apart."""
    import xarray as xr

    from spectral_collapse.plotting.closed_form import drift_step_chart

    sigma = np.array([0.1, 1.0, 10.0])
    share = np.arange(12, dtype=float).reshape(2, 2, 3) / 12
    ds = xr.Dataset({"drift_step_chroma": (("model", "eta_hf", "drift_sigma"), share),
                     "drift_chroma_predicted_source": ("level", [0.9, 0.8, 0.7])},
                    coords={"model": ["shipped", "oracle"], "eta_hf": [1e-6, 1e-8], "drift_sigma": sigma,
                            "level": sigma})
    spec = drift_step_chart(ds).to_dict()
    lines, closed = spec["layer"]
    assert lines["encoding"]["color"]["scale"]["domain"] == ["oracle", "shipped", "closed form, Gaussian inputs"]
    assert lines["encoding"]["strokeDash"]["scale"]["domain"] == ["1e-08", "1e-06"]
    rows = spec["datasets"][lines["data"]["name"]]
    assert {(r["model"], r["eta"]) for r in rows} == {(m, e) for m in ("oracle", "shipped") for e in ("1e-08", "1e-06")}
    assert [r["share"] for r in spec["datasets"][closed["data"]["name"]]] == [0.9, 0.8, 0.7]
