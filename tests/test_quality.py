"""The model-quality gate: passes the exact denoiser of Gaussian data, fails an untrained network and one that returns
its input; each measurement checked against an independent reference or a closed form."""
import numpy as np
import pytest
import scipy.stats
import torch
from torch import nn

from spectral_collapse.data.unpaired import UnpairedDomains
from spectral_collapse.models.backbones import UNetConfig, build_backbone
from spectral_collapse.models.denoisers import EDMDenoiser, EpsDenoiser
from oracle import GaussianOracleNet
from spectral_collapse.framework.quality import (THRESHOLDS, GateReport, TerminalStart, WeakModelError, band_log_ratio,
                                               denoised_mean_bias, gate_report, plateau_change, sliced_wasserstein,
                                               vae_report)
from spectral_collapse.models.schedules import VPSchedule

SIZE = 16
SCHED = VPSchedule()


def gaussian_data(seed: int = 0, stds=(0.5, 1.0)) -> UnpairedDomains:
    """Source and target pools and a held-out split drawn from N(0, s^2 I), the oracle's label stds."""
    g = torch.Generator().manual_seed(seed)

    def draw(n, s):
        return torch.randn(n, 3, SIZE, SIZE, generator=g) * s

    return UnpairedDomains("gauss", SIZE, draw(512, stds[0]), draw(512, stds[1]), draw(64, stds[0]),
                           draw(64, stds[1]), {})


class ReturnsInput(nn.Module):
    """A 'network' whose output is its input: as an eps model it claims the noisy image is all noise."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x, t, class_labels=None):
        return x + 0 * self.dummy


@pytest.mark.parametrize("kind", ["eps", "edm"])
def test_gate_passes_the_exact_gaussian_denoiser(kind):
    D = EpsDenoiser(GaussianOracleNet("eps", schedule=SCHED), SCHED) if kind == "eps" else \
        EDMDenoiser(GaussianOracleNet("edm"))
    rep = gate_report(D, gaussian_data(), steps=50, n=64, shape=(3, SIZE, SIZE), name=f"oracle-{kind}")
    assert rep.passed, rep.describe_failures()
    rows = rep.rows.set_index(["check", "sampler", "label"])
    # both samplers and both labels are judged on every sample check; the plateau needs a training log
    assert len(rep.rows[rep.rows["check"] == "spectrum"]) == 4
    assert rep.rows.loc[rep.rows["check"] == "plateau", "passed"].isna().all()
    assert rows["value"].drop("plateau", level=0).notna().all()


class BrightnessOracle(EpsDenoiser):
    """The exact denoiser of data whose images each carry a random brightness: x0 = m + b + e per channel, with b
    one N(0, tau^2) value per image and channel and e ~ N(0, s^2) per pixel. The channel means (the DC modes) have
    variance tau^2 + s^2 / P over P pixels; every other mode has variance s^2. Real images are like this: their
    brightness varies far more than any single fine-scale mode."""

    def __init__(self, means=(0.6, -0.5), tau=0.3, s=0.4):
        super().__init__(ReturnsInput(), SCHED)
        self.m, self.tau, self.s = means, tau, s

    def draw(self, n, label, g):
        b = torch.randn(n, 3, 1, 1, generator=g) * self.tau
        return self.m[label] + b + torch.randn(n, 3, SIZE, SIZE, generator=g) * self.s

    def _predict(self, x, sigma, label):
        from spectral_collapse.models.base import Prediction

        P, sig = SIZE * SIZE, sigma.double().reshape(-1, 1, 1, 1)
        m = torch.tensor([self.m[int(k)] for k in label], dtype=torch.float64).reshape(-1, 1, 1, 1)
        xd = x.double()
        dc = xd.mean(dim=(2, 3), keepdim=True)
        v_dc = self.tau ** 2 + self.s ** 2 / P
        x0 = m + (dc - m) * v_dc / (v_dc + sig ** 2 / P) + (xd - dc) * self.s ** 2 / (self.s ** 2 + sig ** 2)
        return Prediction(x0=x0.to(x.dtype), eps=((xd - x0) / sig).to(x.dtype))


def test_sampling_starts_from_the_training_marginal_not_pure_noise():
    """On data with a random brightness per image, the exact denoiser begun from pure noise at the top of the
    scaled-linear schedule shifts every sample's brightness toward 0 (the noise's mean), by the share of the
    brightness mode still visible through the noise there. Begun from the Gaussian of the training data plus
    noise (TerminalStart) it passes; the pure-noise shift is reported apart and matches its closed form."""
    D = BrightnessOracle()
    g = torch.Generator().manual_seed(0)
    pools = [D.draw(512, k, g) for k in (0, 1)]
    data = UnpairedDomains("bright", SIZE, pools[0], pools[1], D.draw(64, 0, g), D.draw(64, 1, g), {})
    rep = gate_report(D, data, steps=50, n=128, shape=(3, SIZE, SIZE), name="brightness-oracle")
    assert rep.passed, rep.describe_failures()
    unit = {u["label"]: u["mean"] for u in rep.info["unit_start"]}
    from spectral_collapse.inversion.loop import default_sigmas

    s0 = float(default_sigmas(D, 50)[0])
    v_dc = D.tau ** 2 + D.s ** 2 / SIZE ** 2
    kept = np.sqrt(v_dc / (v_dc + s0 ** 2 / SIZE ** 2))  # the ODE's gain on the DC mode from s0 to 0
    for label in (0, 1):
        m = D.m[label]
        predicted = abs(m) * kept / 2 / ((m + 1) / 2)  # brightness shift on the [0, 1] scale, relative to the mean
        assert unit[label] > THRESHOLDS["mean"] and unit[label] == pytest.approx(predicted, rel=0.3)


def test_terminal_start_has_the_pools_moments_and_is_seeded_per_sample():
    g = torch.Generator().manual_seed(3)
    basis = torch.randn(6, 6, generator=g)
    pool = (torch.randn(3000, 6, generator=g) @ basis + torch.arange(6.0)).reshape(3000, 6, 1, 1)
    start = TerminalStart(pool)
    seeds = list(range(20000))
    z = torch.zeros(len(seeds), 6, 1, 1)
    x = start(z, 0.0, seeds).double().flatten(1)
    ref = pool.double().flatten(1)
    np.testing.assert_allclose(x.mean(0), ref.mean(0), atol=0.06)
    cov_x, cov_r = np.cov(x.T.numpy()), np.cov(ref.T.numpy())
    assert np.abs(cov_x - cov_r).max() < 0.05 * np.abs(cov_r).max()
    noisy = start(torch.randn(len(seeds), 6, 1, 1, generator=g), 2.0, seeds).double().flatten(1)
    np.testing.assert_allclose(np.cov(noisy.T.numpy()) - cov_x, 4 * np.eye(6), atol=0.1 * np.abs(cov_r).max())
    # a sample's start depends on its own seed only, not on the batch it is drawn in
    torch.testing.assert_close(start(z[5:9], 0.0, seeds[5:9]), start(z, 0.0, seeds)[5:9])


def test_gate_fails_an_untrained_network():
    torch.manual_seed(0)
    net = build_backbone(UNetConfig(sample_size=SIZE, block_out_channels=(16, 32), down_block_types=(
        "DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"), norm_num_groups=8))
    D = EpsDenoiser(net, SCHED)
    rep = gate_report(D, gaussian_data(), steps=10, n=32, name="untrained")
    assert not rep.passed
    failed = set(rep.failures()["check"])
    assert {"spectrum", "std"} & failed, rep.rows
    with pytest.raises(WeakModelError, match=r"untrained.*(spectrum|std).*allow_weak_model=True"):
        rep.require()
    rep.require(allow_weak_model=True)  # allowed: no error


def test_gate_fails_a_network_that_returns_its_input():
    D = EpsDenoiser(ReturnsInput(), SCHED)
    rep = gate_report(D, gaussian_data(), steps=10, n=32, shape=(3, SIZE, SIZE), name="identity")
    assert not rep.passed
    assert "spectrum" in set(rep.failures()["check"]) or "std" in set(rep.failures()["check"])


class EmpiricalDenoiser(EDMDenoiser):
    """The exact denoiser of the training pools' empirical distribution: its samples are training crops."""

    def __init__(self, data):
        super().__init__(ReturnsInput())
        self.pools = {0: data.source.double().flatten(1), 1: data.target.double().flatten(1)}

    def _predict(self, x, sigma, label):
        from spectral_collapse.models.base import Prediction

        flat, s = x.double().flatten(1), sigma.double().reshape(-1, 1)
        x0 = torch.empty_like(flat)
        for i in range(len(flat)):
            pool = self.pools[int(label[i])]
            w = torch.softmax(-(flat[i] - pool).pow(2).sum(1) / (2 * s[i] ** 2), 0)
            x0[i] = w @ pool
        x0 = x0.reshape(x.shape).to(x.dtype)
        return Prediction(x0=x0, eps=(x - x0) / sigma.reshape(-1, 1, 1, 1).to(x.dtype))


def test_gate_sees_a_memorising_model():
    """The empirical-data denoiser reproduces training crops: it fails the memorisation check, the oracle does not."""
    data = gaussian_data()
    rep = gate_report(EmpiricalDenoiser(data), data, steps=20, n=16, shape=(3, SIZE, SIZE), name="copier")
    mem = rep.rows.query("check == 'memorisation'")
    assert (mem["value"] < 0.05).all() and not mem["passed"].any()
    ok = gate_report(EDMDenoiser(GaussianOracleNet("edm")), data, steps=20, n=16, shape=(3, SIZE, SIZE))
    assert ok.rows.query("check == 'memorisation'")["value"].min() > THRESHOLDS["memorisation"]


def test_spectrum_ratio_sees_scale_and_is_blind_to_batch_order():
    g = torch.Generator().manual_seed(1)
    x, real = torch.randn(64, 3, SIZE, SIZE, generator=g), torch.randn(256, 3, SIZE, SIZE, generator=g)
    r = band_log_ratio(2 * x, real)   # power x4 in every band
    assert len(r) == SIZE // 2
    np.testing.assert_allclose(r, np.log10(4), atol=0.12)
    np.testing.assert_allclose(band_log_ratio(x.flip(0), real), band_log_ratio(x, real), atol=1e-12)
    # a blurred batch loses power at high frequencies only
    blur = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="circular"), 3, stride=1)
    rb = band_log_ratio(blur, real)
    assert rb[-1] < -0.5 and abs(rb[0]) < 0.1


def test_sliced_wasserstein_matches_scipy_on_each_direction():
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(200, 5, generator=g, dtype=torch.float64), 1.5 * torch.randn(200, 5, generator=g,
                                                                                     dtype=torch.float64) + 0.3
    gd = torch.Generator().manual_seed(7)
    dirs = torch.randn(5, 16, generator=gd, dtype=torch.float64)
    dirs /= dirs.norm(dim=0, keepdim=True)
    ref = np.mean([scipy.stats.wasserstein_distance((a @ dirs[:, k]).numpy(), (b @ dirs[:, k]).numpy())
                   for k in range(16)])
    assert sliced_wasserstein(a, b, projections=16, seed=7) == pytest.approx(ref, rel=1e-10)
    assert sliced_wasserstein(a, a) == 0.0
    with pytest.raises(ValueError, match="equal-size"):
        sliced_wasserstein(a, b[:10])


def test_plateau_change_reads_the_last_fifth():
    log = [[s, 1.0 / (1 + s / 100), 0, 0, 0, 0] for s in range(0, 1001, 100)]
    expect = (log[8][1] - log[10][1]) / log[8][1]
    assert plateau_change(log, 1000) == pytest.approx(expect)
    flat = [[s, 0.5, 0, 0, 0, 0] for s in range(0, 1001, 100)]
    assert plateau_change(flat, 1000) == 0.0
    assert plateau_change(log[:5], 1000) is None     # an unfinished log says nothing
    assert plateau_change([], 1000) is None


def test_vae_report_passes_identity_and_fails_a_blur():
    data = gaussian_data()

    class Space:
        def __init__(self, f):
            self.f = f

        def encode(self, x):
            return x

        def decode(self, z):
            return self.f(z)

    assert vae_report(Space(lambda z: z), data, n=32).passed
    blur = vae_report(Space(lambda z: torch.nn.functional.avg_pool2d(z, 3, stride=1, padding=1,
                                                                     count_include_pad=False)), data, n=32)
    assert not blur.passed and "spectrum" in set(blur.failures()["check"])


def test_report_round_trips_through_json():
    rep = gate_report(EDMDenoiser(GaussianOracleNet("edm")), gaussian_data(), steps=10, n=16, shape=(3, SIZE, SIZE),
                      name="oracle", heldout=[[0, 1.0], [800, 0.5], [1000, 0.499]], total_steps=1000)
    import json

    back = GateReport.from_dict(json.loads(json.dumps(rep.to_dict())))
    assert back.passed == rep.passed and back.model == "oracle"
    assert back.rows.query("check == 'plateau'")["value"].iloc[0] == pytest.approx(0.002)
    assert back.rows["check"].tolist() == rep.rows["check"].tolist()
    still = GateReport.from_dict(json.loads(json.dumps(gate_report(
        EDMDenoiser(GaussianOracleNet("edm")), gaussian_data(), steps=10, n=16, shape=(3, SIZE, SIZE),
        heldout=[[0, 1.0], [800, 0.5], [1000, 0.48]], total_steps=1000).to_dict())))  # a loaded report, NaN-filled
    said = still.describe_failures(limit=99)  # (few, short samples fail sample checks too; the plateau is read here)
    assert "plateau (training log) 0.04, must be < 0.02" in said and "nan" not in said


class DriftingOracle(EDMDenoiser):
    """The exact Gaussian denoiser plus a known error: its estimate of every pixel is raised by c sigma / (1 + sigma),
    nothing at low noise, nearly c at high noise (a network that never trained at high noise levels)."""

    def __init__(self, c: float, means):
        super().__init__(GaussianOracleNet("edm", means=means))
        self.c = c

    def _predict(self, x, sigma, label):
        from spectral_collapse.models.base import Prediction

        p = super()._predict(x, sigma, label)
        s = sigma.reshape(-1, 1, 1, 1).to(x.dtype)
        x0 = p.x0 + self.c * s / (1 + s)
        return Prediction(x0=x0, eps=(x - x0) / s)


def test_denoised_mean_bias_is_zero_for_the_exact_denoiser_and_reads_a_known_drift():
    """On Gaussian crops of a label with mean m, the exact denoiser's channel means match the crops' at every noise
    level (to sampling error); a denoiser whose estimate is raised by c sigma / (1 + sigma) reads that rise divided by
    the crops' mean on the [0, 1] scale, channel by channel."""
    means, sigmas = (0.0, 0.2, 0.75), [0.05, 1.0, 10.0, 80.0]
    g = torch.Generator().manual_seed(3)
    x0 = torch.randn(256, 3, SIZE, SIZE, generator=g, dtype=torch.float64) + means[1]
    exact = denoised_mean_bias(EDMDenoiser(GaussianOracleNet("edm", means=means)), x0, 1, sigmas)
    assert list(exact.index) == sigmas and exact.shape == (4, 3)
    assert exact.abs().to_numpy().max() < 0.01
    drift = denoised_mean_bias(DriftingOracle(0.1, means), x0, 1, sigmas)
    ref = ((x0.mean((0, 2, 3)) + 1) / 2).numpy()
    want = np.array([[0.1 * s / (1 + s) / 2 / r for r in ref] for s in sigmas])
    np.testing.assert_allclose(drift.to_numpy() - exact.to_numpy(), want, atol=1e-9)


@pytest.mark.gpu
def test_denoised_mean_bias_on_a_gpu_model_takes_cpu_crops_and_matches_the_cpu():
    """The model-quality chapter hands CPU crops to a model a study has put on the GPU: the crops follow the model
    and the table equals the CPU's to float round-off."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    means, sigmas = (0.0, 0.2, 0.75), [0.05, 1.0, 10.0]
    x0 = torch.randn(64, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(5)) + means[1]
    D = EDMDenoiser(GaussianOracleNet("edm", means=means))
    cpu = denoised_mean_bias(D, x0, 1, sigmas)
    gpu = denoised_mean_bias(D.to("cuda"), x0, 1, sigmas)
    np.testing.assert_allclose(gpu.to_numpy(), cpu.to_numpy(), atol=1e-5)


def test_vae_grid_shows_each_reconstruction_beside_the_crop_it_reconstructs(monkeypatch, tmp_path):
    """The model-quality study's VAE rows: an autoencoder that returns its input must give reconstructions equal,
    column by column, to the held-out crops shown beside them (and those crops are held-out crops)."""
    from types import SimpleNamespace

    from spectral_collapse.framework import gate, model_set as models

    from spectral_collapse.studies import model_quality

    g = torch.Generator().manual_seed(3)
    crops = lambda n: torch.rand(n, 3, SIZE, SIZE, generator=g) * 2 - 1  # noqa: E731 - distinct crops in [-1, 1]
    data = UnpairedDomains("toy", SIZE, crops(64), crops(64), crops(40), crops(40), {})

    class Identity:
        path = str(tmp_path / "vae")

        def encode(self, x):
            return x * 1.0

        def decode(self, z):
            return z * 1.0

    role = models.ModelRole("toy-vae", "toy", "vae")
    monkeypatch.setattr(models, "model_set", lambda keys=None: [role])
    monkeypatch.setattr(models, "load_role", lambda profile, r, **kw: Identity())
    monkeypatch.setattr(models, "dataset_for", lambda *a, **kw: data)
    monkeypatch.setattr(gate, "vae_gate_report", lambda space, d, p: SimpleNamespace(
        passed=True, info={}, to_dict=lambda: {"passed": True, "rows": []}))
    spec = SimpleNamespace(profile="smoke", get=lambda key, default=None: default)
    ds = model_quality.run_model_quality(spec)
    shown, real = ds["samples"].sel(model="toy-vae").values, ds["real"].sel(model="toy-vae").values
    np.testing.assert_array_equal(shown, real)
    for lab, pool in ((0, data.test_source), (1, data.test_target)):
        assert len({tuple(np.round(c.ravel()[:8], 6)) for c in real[lab]}) == model_quality.N_SHOWN  # distinct crops
        flat = pool.flatten(1).numpy()
        for c in real[lab]:   # every shown crop is one of the label's held-out crops
            assert np.isclose(flat, c.ravel()[None], atol=1e-6).all(1).any()


def _chapter_results(tmp_path, models: dict, samples=None, real=None):
    """A model_quality results set with the given {key: info} and one passing gate report per model."""
    import json

    import xarray as xr

    rows = [{"check": c, "sampler": "DDIM", "label": lab, "value": v, "threshold": THRESHOLDS[c],
             "rule": "<=", "passed": True, "bands": None}
            for lab in (0, 1) for c, v in (("mean", 0.01 + lab), ("std", 0.02 + lab))]
    keys = list(models)
    shape = (len(keys), 2, 4, 3, 8, 8)
    ckpts = {}
    for k, m in models.items():
        (tmp_path / k).mkdir(exist_ok=True)
        (tmp_path / k / "config.json").write_text(json.dumps({"train": m.pop("train", {})}))
        ckpts[k] = str(tmp_path / k)
    return xr.Dataset(
        {"samples": (("model", "label", "image", "channel", "y", "x"), np.ones(shape) if samples is None else samples),
         "real": (("model", "label", "image", "channel", "y", "x"), np.ones(shape) if real is None else real),
         "mean_bias": (("model", "label", "bias_sigma", "bias_channel"),
                       np.where(np.array([m.get("space") == "latent" or m.get("parameterization") == "vae"
                                          for m in models.values()])[:, None, None, None], np.nan, 0.01)
                       * np.ones((len(keys), 2, 2, 3)))},
        coords={"model": keys, "label": [0, 1], "bias_sigma": [1.0, 8.0], "bias_channel": [0, 1, 2]},
        attrs={"models": json.dumps(models), "checkpoints": json.dumps(ckpts), "profile": "smoke",
               "gate_reports": json.dumps({k: {"model": k, "rows": rows} for k in keys})})


def test_stored_gate_table_reads_the_report_kept_with_the_weights(tmp_path):
    import json

    from spectral_collapse.tables.quality import stored_gate_table

    rep = gate_report(EDMDenoiser(GaussianOracleNet("edm")), gaussian_data(), steps=10, n=16, shape=(3, SIZE, SIZE),
                      name="oracle")
    shipped = tmp_path / "weights" / "m-quick-0123456789ab"
    shipped.mkdir(parents=True)
    (shipped / "quality.json").write_text(json.dumps(rep.to_dict(), default=float))
    (shipped / "config.json").write_text(json.dumps({"train": {"steps": 123}}))
    t = stored_gate_table({"m": str(tmp_path / "ckpt" / "m-quick-0123456789ab"), "absent": str(tmp_path / "nope")},
                          weights_root=tmp_path / "weights")
    assert t.loc["m", "gate"] == ("passes" if rep.passed else "fails") and "steps" not in t   # steps: in each model's section
    assert t.loc["absent", "gate"] == "not stored"


def test_flow_model_is_judged_with_heun_and_eulers_errors_are_recorded_beside():
    """A flow-matching model is judged with the second-order Heun sampler (as an EDM model is); the Euler steps its
    inversions take are run from the same starts and their mean and std errors recorded, not judged. On the exact
    velocity of Gaussian data both are close to the data, and Heun is the closer of the two on the std."""
    from spectral_collapse.models.denoisers import make_denoiser
    from spectral_collapse.framework.quality import deterministic_sampler

    D = make_denoiser(GaussianOracleNet("flow"), "flow")
    assert deterministic_sampler(D) == "Heun"
    assert deterministic_sampler(EpsDenoiser(GaussianOracleNet("eps", schedule=SCHED), SCHED)) == "DDIM"
    rep = gate_report(D, gaussian_data(), steps=50, n=64, shape=(3, SIZE, SIZE), name="oracle-flow")
    assert rep.passed, rep.describe_failures()
    assert set(rep.rows["sampler"].dropna()) == {"Heun", "stochastic Heun"}
    euler = {r["label"]: r for r in rep.info["euler"]}
    assert sorted(euler) == [0, 1]
    judged = rep.rows.set_index(["check", "sampler", "label"])["value"]
    for label, r in euler.items():
        assert 0 <= r["std"] < THRESHOLDS["std"] and 0 <= r["mean"]
        assert judged[("std", "Heun", label)] <= r["std"] + 0.01


def test_a_vp_model_records_no_euler_rows():
    D = EpsDenoiser(GaussianOracleNet("eps", schedule=SCHED), SCHED)
    rep = gate_report(D, gaussian_data(), steps=8, n=16, shape=(3, SIZE, SIZE), labels=(1,), name="oracle-eps")
    assert "euler" not in rep.info
