"""Shared fixtures for the core tests: float64 Gaussian-oracle denoisers, instrumented nets, a tiny diffusers UNet.

The oracle (tests/oracle.py) is the exact denoiser of N(0, s_label^2 I) data, so every closed form below is
written here independently of the library: D*(x; sigma) = x s^2 / (sigma^2 + s^2), eps* = x sigma / (sigma^2 + s^2),
and the PF-ODE solution x(sigma) = x(sigma') sqrt(s^2 + sigma^2) / sqrt(s^2 + sigma'^2).
"""
from __future__ import annotations

import importlib.util
import math
import os
import sys
import tempfile
from pathlib import Path

# --- no network during the tests ------------------------------------------------------------------------------
# The guard (tests/netguard/sitecustomize.py) is installed here, before any test module is imported, and in every
# Python subprocess through PYTHONPATH. Downloads are switched off as on CI (tests that need the loopback server
# switch them back on). Any refused attempt fails the session in pytest_sessionfinish below.
_GUARD_DIR = Path(__file__).resolve().parent / "netguard"
_site = sys.modules.get("sitecustomize")
if getattr(_site, "__file__", None) and Path(_site.__file__).resolve() == (_GUARD_DIR / "sitecustomize.py").resolve():
    netguard = _site  # a worker process started with the guard on PYTHONPATH: one guard, one error class
else:
    _spec = importlib.util.spec_from_file_location("spectral_collapse_netguard", _GUARD_DIR / "sitecustomize.py")
    netguard = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(netguard)
_OWN_LOG = not os.environ.get(netguard.LOG_ENV)  # a nested pytest run shares its parent's log
if _OWN_LOG:
    _fd, _log = tempfile.mkstemp(prefix="netguard-", suffix=".log")
    os.close(_fd)
    os.environ[netguard.LOG_ENV] = _log
os.environ["PYTHONPATH"] = os.pathsep.join([str(_GUARD_DIR), *filter(None, [os.environ.get("PYTHONPATH")])])
for _name in ("SPECTRAL_COLLAPSE_OFFLINE", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_name, "1")
# The loopback servers of the download tests speak plain http, which downloads refuse unless allowed explicitly;
# the test of that refusal removes this.
os.environ.setdefault("SPECTRAL_COLLAPSE_ALLOW_HTTP", "1")
netguard.install()
# Two test workers share the machine: study kernels and other child processes take one torch thread each, like the
# workers (left alone, each kernel would take every core and two of them would contend for the same two).
for _name in ("SPECTRAL_COLLAPSE_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import pytest  # noqa: E402  (after the guard: imports must not reach the network either)
import torch  # noqa: E402
from torch import nn  # noqa: E402

from spectral_collapse.models.denoisers import make_denoiser  # noqa: E402
from oracle import GaussianOracleNet  # noqa: E402
from spectral_collapse.models.schedules import VPSchedule  # noqa: E402

torch.set_num_threads(1)  # shared machine; the core tests are sized for one core


def pytest_sessionfinish(session, exitstatus):
    """Fail the run when anything (here or in a subprocess) tried to reach the network."""
    log = Path(os.environ.get(netguard.LOG_ENV, ""))
    seen = log.read_text().splitlines() if log.is_file() else []
    if _OWN_LOG and log.is_file():
        log.unlink()
    if seen:
        print(f"\nnetwork access attempted during the tests ({len(seen)}):\n  " + "\n  ".join(seen[:20]))
        session.exitstatus = 1


STDS = (0.5, 1.0, 0.75)  # data std per label: 0 source, 1 target, 2 null
KINDS = ("eps", "x0", "v", "edm")


def closed_form(x: torch.Tensor, sigma, std) -> tuple[torch.Tensor, torch.Tensor]:
    """(x0, eps) of the exact Gaussian denoiser; sigma and std scalars or per-sample (B,)."""
    shape = (-1,) + (1,) * (x.ndim - 1)
    s = torch.as_tensor(std, dtype=torch.float64).reshape(shape) if torch.is_tensor(std) else std
    sig = torch.as_tensor(sigma, dtype=torch.float64).reshape(shape) if torch.is_tensor(sigma) else sigma
    return x * s**2 / (sig**2 + s**2), x * sig / (sig**2 + s**2)


def ode_scale(s: float, sigma_from: float, sigma_to: float) -> float:
    """Exact PF-ODE factor x(sigma_to) / x(sigma_from) for N(0, s^2 I) data (written independently)."""
    return math.sqrt(s**2 + sigma_to**2) / math.sqrt(s**2 + sigma_from**2)


def oracle_denoiser(kind: str, *, schedule: VPSchedule | None = None, time_input: str = "c_noise", stds=STDS,
                    sigma_data: float = 0.5, net_time_input: str | None = None):
    """A Denoiser wrapping GaussianOracleNet(kind); feed it float64 tensors for float64 results."""
    schedule = schedule or VPSchedule()
    net = GaussianOracleNet(kind, stds=stds, schedule=schedule, sigma_data=sigma_data,
                            time_input=net_time_input or time_input)
    return make_denoiser(net, kind, schedule=schedule, sigma_data=sigma_data, time_input=time_input)


class CountingNet(nn.Module):
    """Wraps a net and counts forward calls and the batch elements they carried."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner, self.calls, self.elements = inner, 0, 0

    def forward(self, x, t, class_labels=None):
        self.calls += 1
        self.elements += x.shape[0]
        return self.inner(x, t, class_labels=class_labels)


class NaNNet(nn.Module):
    """Wraps a net; returns NaN for one sample once its label matches and its time input passes a threshold."""

    def __init__(self, inner: nn.Module, sample: int, t_threshold: float, label: int | None = None, above: bool = True):
        super().__init__()
        self.inner, self.sample, self.t_threshold, self.label, self.above = inner, sample, t_threshold, label, above

    def forward(self, x, t, class_labels=None):
        out = self.inner(x, t, class_labels=class_labels)
        tt = torch.as_tensor(t).reshape(-1).expand(x.shape[0])
        hit = tt > self.t_threshold if self.above else tt < self.t_threshold
        if self.label is not None:
            hit = hit & (class_labels == self.label)
        hit = hit & (torch.arange(x.shape[0]) == self.sample)
        return torch.where(hit.reshape(-1, 1, 1, 1), torch.full_like(out, float("nan")), out)


class SmoothNet(nn.Module):
    """A small nonlinear (tanh) class-conditional conv net: a non-trivial Jacobian for gradient checks."""

    def __init__(self, channels: int = 2, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w1 = nn.Parameter(torch.randn(8, channels, 3, 3, generator=g, dtype=torch.float64) * 0.3)
        self.w2 = nn.Parameter(torch.randn(channels, 8, 3, 3, generator=g, dtype=torch.float64) * 0.3)
        self.emb = nn.Parameter(torch.randn(3, 8, generator=g, dtype=torch.float64) * 0.3)

    def forward(self, x, t, class_labels=None):
        t = torch.as_tensor(t, dtype=x.dtype).reshape(-1, 1, 1, 1)
        h = torch.nn.functional.conv2d(x, self.w1, padding=1) + self.emb[class_labels][:, :, None, None]
        h = torch.tanh(h * (1 + 0.001 * t))
        return torch.nn.functional.conv2d(h, self.w2, padding=1) + 0.5 * x


def tiny_unet(seed: int = 0, dtype=torch.float64):
    """A small random class-conditional diffusers UNet2DModel (16 px, 3 channels, 3 class labels)."""
    from diffusers import UNet2DModel

    torch.manual_seed(seed)
    net = UNet2DModel(sample_size=16, in_channels=3, out_channels=3, layers_per_block=1, block_out_channels=(16, 32),
                      down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                      num_class_embeds=3, norm_num_groups=8)
    return net.to(dtype).eval()


@pytest.fixture(autouse=True)
def float32_convolutions(request):
    """gpu-marked tests compare graphed and eager float32 runs: cuDNN's TF32 convolutions (PyTorch's default on a GPU)
    round to 10 mantissa bits, which OVG's variance gradient amplifies to about 1e-2 on [-1, 1] between two
    algorithm choices; these tests run the convolutions in float32, where the two agree to about 1e-5."""
    if request.node.get_closest_marker("gpu") is None:
        yield
        return
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before


@pytest.fixture
def rng():
    """A seeded torch generator (fresh per test)."""
    return torch.Generator().manual_seed(1234)


class TinyData:
    """Random 16-px images under labels 0 / 1: enough for the trainer to run, nothing to download or decode."""

    name, meta = "tiny", {"dataset": "tiny"}

    def train_batch(self, batch_size, generator):
        x = torch.rand(batch_size, 3, 16, 16, generator=generator) * 2 - 1
        return x, torch.arange(batch_size) % 2


def tiny_training(parameterization: str = "eps", **config):
    """(ModelSpec, TrainConfig) of the smoke profile's network with a few-step schedule, for checkpoint tests."""
    from spectral_collapse.framework.profiles import get_profile
    from spectral_collapse.train.config import TrainConfig

    kw = {"steps": 4, "batch_size": 4, "warmup_steps": 1, "objective": parameterization, **config}
    return get_profile("smoke").model_spec(parameterization), TrainConfig(**kw)


@pytest.fixture(scope="session")
def real_book(tmp_path_factory) -> Path:
    """The committed book built as typed (`jupyter-book build book/` from the repository root, through the symlinked
    config; autodoc imports every module), once per worker process; returns its html folder. A few minutes."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("realbook")
    proc = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", "book/", "--path-output",
                           str(out)], cwd=root, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out / "_build" / "html"


def any_method(name: str, shape):
    """The registered method ``name``, built as every-method tests need it: the fill (which needs the projector of a
    support) with the 2 x 2 blocks of latents of ``shape`` (C, H, W), the others by name."""
    from spectral_collapse.data.support import BlockProjector
    from spectral_collapse.inversion import get_method
    from spectral_collapse.inversion.methods import Fill

    return Fill(BlockProjector(2, tuple(shape))) if name == "fill" else get_method(name)


def no_shipped_weights(tmp_path, monkeypatch) -> None:
    """Point the shipped weights at an empty folder, so that a test trains the models the suite ships (the smoke
    profile's main ones) instead of installing them."""
    empty = tmp_path / "no-shipped-weights"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("SPECTRAL_COLLAPSE_WEIGHTS", str(empty))


def png_folder(root, n: int = 12, size: int = 16, seed: int = 0, prefix: str = "im"):
    """A user's folder of ``n`` seeded random RGB PNGs of ``size`` px in ``source/`` and ``target/``; returns it."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for sub in ("source", "target"):
        (root / sub).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(root / sub / f"{prefix}{i:02d}.png")
    return root
