"""LPIPS / FID / KID and the offline weights policy (metrics/weights.py, metrics/fid.py, metrics/image.lpips).

Nothing here touches the network: downloads are replaced by fakes that either fail or write a file, and every
test points TORCH_HOME / the Inception path at a temporary folder. FID is checked against closed forms for
Gaussian features, KID against its definition (unbiased: mean ~0 for equal distributions) and clean-fid.
"""
from __future__ import annotations

import socket
import urllib.error

from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch

from spectral_collapse.data import download as dl
from spectral_collapse.metrics import fid as F
from spectral_collapse.metrics import weights as W
from spectral_collapse.metrics.image import lpips


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Empty TORCH_HOME and Inception path; any real download attempt fails the test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv(W.INCEPTION_ENV, str(tmp_path / "inception" / W.INCEPTION_FILE))
    monkeypatch.delenv(dl.OFFLINE_ENV, raising=False)
    monkeypatch.setattr(dl, "_OFFLINE_OVERRIDE", None)

    def no_network(*a, **k):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    W._MODELS.clear()
    yield
    W._MODELS.clear()


def _images(n=3, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand((n, 3, size, size), generator=g) * 2 - 1


# ------------------------------------------------------------------------------------------------ LPIPS

@pytest.fixture(scope="module")
def random_lpips():
    import lpips as lp
    torch.manual_seed(0)
    return lp.LPIPS(pretrained=False, pnet_rand=True, verbose=False).eval()


def test_lpips_wiring_with_random_backbone(random_lpips):
    x, y = _images(3, seed=0), _images(3, seed=1)
    vals, status = lpips(x, y, model=random_lpips)
    assert vals.shape == (3,) and status.startswith("ok")
    with torch.no_grad():
        direct = random_lpips(x, y).reshape(-1).double().numpy()
    np.testing.assert_allclose(vals, direct, rtol=1e-5)          # [-1, 1] passed through unchanged
    np.testing.assert_allclose(lpips(x, x, model=random_lpips)[0], 0, atol=1e-7)
    single, _ = lpips(x[1:2], y[1:2], model=random_lpips)       # per image: independent of the batch
    np.testing.assert_allclose(single, vals[1:2], rtol=1e-5)


def test_lpips_upsamples_small_images_and_repeats_gray(random_lpips):
    x, y = _images(2, size=16, seed=2), _images(2, size=16, seed=3)
    vals, status = lpips(x, y, model=random_lpips)
    up = [torch.nn.functional.interpolate(a, scale_factor=2, mode="bilinear", align_corners=False) for a in (x, y)]
    with torch.no_grad():
        np.testing.assert_allclose(vals, random_lpips(*up).reshape(-1).double().numpy(), rtol=1e-5)
    assert "upsampled x2" in status
    g1, _ = lpips(x[:, :1], y[:, :1], model=random_lpips)
    g3, _ = lpips(x[:, :1].expand(-1, 3, -1, -1), y[:, :1].expand(-1, 3, -1, -1), model=random_lpips)
    np.testing.assert_allclose(g1, g3, rtol=1e-5)


@pytest.mark.parametrize("how", ["argument", "env"])
def test_lpips_missing_backbone_gives_nan_and_reason(monkeypatch, how):
    kw = {"allow_download": False} if how == "argument" else {}
    if how == "env":
        monkeypatch.setenv(dl.OFFLINE_ENV, "1")
    vals, status = lpips(_images(2), _images(2, seed=1), **kw)
    assert np.isnan(vals).all() and vals.shape == (2,)
    assert status.startswith("unavailable") and W.ALEXNET_FILE in status
    assert ("allow_download=False" if how == "argument" else dl.OFFLINE_ENV) in status
    assert str(Path.home()) not in status          # a published page names no account's folder


def test_a_reason_shows_a_folder_under_home_as_tilde(tmp_path):
    assert W._shown(Path.home() / ".cache" / "torch") == "~/.cache/torch"
    assert W._shown(tmp_path) == str(tmp_path) or str(tmp_path).startswith(str(Path.home()))


def test_lpips_strict_mode_raises():
    with pytest.raises(W.MissingWeightsError, match=W.ALEXNET_FILE):
        lpips(_images(1), _images(1, seed=1), allow_download=False, on_missing="raise")
    with pytest.raises(ValueError, match="on_missing"):
        lpips(_images(1), _images(1, seed=1), allow_download=False, on_missing="ignore")


def test_lpips_uses_a_local_backbone_file_without_network():
    import torchvision
    path = W.hub_checkpoint(W.ALEXNET_FILE)
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    # a valid AlexNet state dict stored small: each tensor is a stride-0 view of a few random numbers
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in torchvision.models.alexnet(weights=None).state_dict().items()}
    sd = {k: (0.1 * torch.randn(s[0])).as_strided(s, (1,) + (0,) * (len(s) - 1)) for k, s in shapes.items()}
    torch.save(sd, path)
    assert path.stat().st_size < 1e6
    x, y = _images(2), _images(2, seed=1)
    vals, status = lpips(x, y, allow_download=False)
    assert status.startswith("ok") and str(path) in status
    assert np.isfinite(vals).all() and (vals > 0).all()
    np.testing.assert_allclose(lpips(x, x, allow_download=False)[0], 0, atol=1e-7)


def test_download_runs_under_a_socket_timeout(monkeypatch):
    seen = {}

    def fake(url, dst, hash_prefix=None, progress=True):
        seen.update(url=url, timeout=socket.getdefaulttimeout(), hash=hash_prefix)
        open(dst, "wb").write(b"x")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fake)
    before = socket.getdefaulttimeout()
    st = W.ensure_weights(W.hub_checkpoint("f.pth"), "http://example.invalid/f.pth", name="f", allow_download=True,
                          timeout=7, hash_prefix="abc")
    assert st.available and "downloaded" in st.reason
    assert seen == {"url": "http://example.invalid/f.pth", "timeout": 7, "hash": "abc"}
    assert socket.getdefaulttimeout() == before


def test_failed_download_gives_reason_or_raises(monkeypatch):
    def fail(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fail)
    st = W.ensure_weights(W.hub_checkpoint("f.pth"), "http://example.invalid/f.pth", name="f", allow_download=True)
    assert not st.available and "failed" in st.reason and "URLError" in st.reason
    with pytest.raises(W.MissingWeightsError, match="failed"):
        W.ensure_weights(W.hub_checkpoint("f.pth"), "http://example.invalid/f.pth", name="f", allow_download=True,
                         on_missing="raise")


# -------------------------------------------------------------------------------------------- FID / KID

def _closed_form_fd(mu1, s1, mu2, s2):
    """Frechet distance with the symmetric root (S1^1/2 S2 S1^1/2)^1/2, via scipy (independent of the library)."""
    r1 = scipy.linalg.sqrtm(s1).real
    cross = scipy.linalg.sqrtm(r1 @ s2 @ r1).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * cross))


def test_frechet_distance_closed_forms():
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    mu1, mu2 = np.array([0.0, 1.0, -1.0]), np.array([2.0, 1.0, 0.0])
    # commuting (diagonal) covariances: |dmu|^2 + sum (sqrt a - sqrt b)^2
    expect = 4 + 1 + (1 - 3) ** 2 + (2 - 1) ** 2 + 0
    assert F.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expect, rel=1e-10)
    # general covariances: scipy's matrix square roots
    g = np.random.default_rng(0)
    A, B = g.standard_normal((5, 5)), g.standard_normal((5, 5))
    s1, s2 = A @ A.T + 0.1 * np.eye(5), B @ B.T + 0.1 * np.eye(5)
    m1, m2 = g.standard_normal(5), g.standard_normal(5)
    assert F.frechet_distance(m1, s1, m2, s2) == pytest.approx(_closed_form_fd(m1, s1, m2, s2), rel=1e-8)
    assert F.frechet_distance(m1, s1, m1, s1) == pytest.approx(0, abs=1e-8)


def test_fid_and_kid_refuse_feature_sets_of_the_wrong_shape():
    f = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"N >= 2, got \(1, 3\)"):
        F.feature_stats(f[:1])
    with pytest.raises(ValueError, match="shapes do not match"):
        F.frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="the same F, got"):
        F.kid_from_features(f, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="at least 2 samples per set, got 1 and 4"):
        F.kid_from_features(f[:1], f)


def test_fid_of_gaussian_features_converges_to_closed_form():
    g = np.random.default_rng(1)
    A = g.standard_normal((4, 4))
    s1, s2 = np.eye(4), A @ A.T / 4 + 0.5 * np.eye(4)
    mu1, mu2 = np.zeros(4), np.array([1.0, 0.0, -0.5, 0.0])
    n = 40_000
    f1 = g.multivariate_normal(mu1, s1, n)
    f2 = g.multivariate_normal(mu2, s2, n)
    assert F.fid_from_features(f1, f2) == pytest.approx(_closed_form_fd(mu1, s1, mu2, s2), abs=0.03)
    from cleanfid.fid import fid_from_feats
    assert F.fid_from_features(f1, f2) == pytest.approx(fid_from_feats(f1, f2), rel=1e-6)


def test_kid_matches_clean_fid_on_whole_sets():
    from cleanfid.fid import kernel_distance
    g = np.random.default_rng(2)
    x, y = g.standard_normal((30, 6)), g.standard_normal((30, 6)) + 0.5
    kid, std = F.kid_from_features(x, y, num_subsets=3, max_subset_size=1000)
    assert kid == pytest.approx(kernel_distance(x, y, num_subsets=1), rel=1e-10) and std == pytest.approx(0, abs=1e-12)
    assert kid > 0


def test_kid_is_unbiased_where_the_plugin_estimate_is_not():
    g = np.random.default_rng(3)
    m, d, reps = 12, 8, 400
    kids, biased = [], []
    for _ in range(reps):
        x, y = g.standard_normal((m, d)), g.standard_normal((m, d))
        kids.append(F.kid_from_features(x, y, num_subsets=1)[0])
        kxx, kyy, kxy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        biased.append(kxx.mean() + kyy.mean() - 2 * kxy.mean())  # V-statistic: keeps the diagonal
    se = np.std(kids) / np.sqrt(reps)
    assert abs(np.mean(kids)) < 4 * se                 # equal distributions: E[KID] = 0
    assert np.mean(biased) > 4 * np.std(biased) / np.sqrt(reps)  # the plug-in estimate is biased upward


def test_fid_kid_with_custom_features_and_missing_inception():
    x, y = _images(6), _images(6, seed=1)
    res = F.fid_kid(x, y, features_fn=lambda im: torch.as_tensor(im).flatten(1)[:, :5])
    f1, f2 = torch.as_tensor(x).flatten(1)[:, :5].numpy(), torch.as_tensor(y).flatten(1)[:, :5].numpy()
    assert res.fid == pytest.approx(F.fid_from_features(f1, f2)) and res.status == "ok: custom features"
    missing = F.fid_kid(x, y, allow_download=False)
    assert np.isnan(missing.fid) and np.isnan(missing.kid) and missing.n_generated == 6
    assert missing.status.startswith("unavailable") and W.INCEPTION_FILE in missing.status
    with pytest.raises(W.MissingWeightsError, match=W.INCEPTION_FILE):
        F.fid_kid(x, y, allow_download=False, on_missing="raise")


def test_corrupt_inception_file_is_reported(tmp_path):
    bad = tmp_path / "bad" / W.INCEPTION_FILE
    bad.parent.mkdir()
    bad.write_bytes(b"not a zip archive")
    res = F.fid_kid(_images(3), _images(3, seed=1), path=bad.parent)
    assert np.isnan(res.fid) and "not a readable TorchScript" in res.status
    with pytest.raises(W.MissingWeightsError):
        F.fid_kid(_images(3), _images(3, seed=1), path=bad, on_missing="raise")


class _FakeLayers(torch.nn.Module):
    def forward(self, x):
        return x.mean((2, 3))          # (B, 3): channel means of the normalised 299 x 299 input


class _FakeInception(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = _FakeLayers()

    def forward(self, x):
        return self.layers(x)


def test_inception_features_use_clean_fid_resize(tmp_path):
    from cleanfid.resize import build_resizer
    path = tmp_path / W.INCEPTION_FILE
    torch.jit.script(_FakeInception()).save(str(path))
    x = _images(3, size=16)
    feats, status = F.inception_features(x, path=path, allow_download=False)
    assert status.available and status.reason.startswith("ok") and feats.shape == (3, 3)
    u8 = np.rint((x.numpy() + 1) * 127.5).astype(np.uint8).transpose(0, 2, 3, 1)
    ref = np.stack([(build_resizer("clean")(im) - 128) / 128 for im in u8]).mean((1, 2))
    np.testing.assert_allclose(feats, ref, rtol=1e-5, atol=1e-6)
