"""A Gaussian data distribution N(mu, C) over images (C, H, W), in float64, and the closed forms of diffusion on it.

For x0 ~ N(mu, C) and x = x0 + sigma * eps the exact noise predictor is eps(x, sigma) = sigma (C + sigma^2 I)^-1
(x - mu), so the probability-flow ODE dx/dsigma = eps is linear in each eigendirection of C. Two forms share one
interface (an orthonormal basis ``to_basis`` / ``from_basis`` in which C = diag(lam)): ``FullGaussian`` (C = U diag(lam)
U^T, up to ``FULL_MAX_DIM`` elements per image) and ``StationaryGaussian`` (a per-channel constant mean and per spatial
frequency a colour covariance S(k): a 256 x 256 x 3 image costs a few FFTs)."""
from __future__ import annotations

import hashlib
import math
import os
import pickle
from pathlib import Path

import torch
from torch import nn

from ..data.unpaired import dihedral

__all__ = ["FULL_MAX_DIM", "EIG_FLOOR", "GaussianImages", "FullGaussian", "StationaryGaussian", "fit_gaussian",
           "raw_moments", "gaussian_from_moments", "gaussian_form"]

FULL_MAX_DIM = 3 * 32 * 32   # the full covariance is used up to this many elements per image (d^2 float64: 75 MB)
EIG_STORED = 2048             # eigendecompositions of covariances this size or larger are kept on disk (_eigh)
# Eigenvalues below EIG_FLOOR * (mean eigenvalue) are the numerical null space, set to exactly 0: the Gaussian lives on
# the range of C (``support``), which no update built from x0's Jacobian leaves.
EIG_FLOOR = 1e-8


class GaussianImages(nn.Module):
    """N(mu, C) on images of ``shape`` (C, H, W); subclasses give the basis in which C = diag(lam)."""

    shape: tuple

    @property
    def d(self) -> int:
        return math.prod(self.shape)

    @property
    def support(self) -> torch.Tensor:
        """The eigendirections that carry variance (lam > 0; the rest is the fit's numerical null space), lam.shape."""
        return self.lam > 0

    def apply(self, x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
        """f(C) (x - mu) for a function tabulated as ``f`` on the eigenvalues (B, *lam.shape) or lam.shape."""
        return self.from_basis(f * self.to_basis(x - self.mu))

    def _per_sample(self, sigma: torch.Tensor | float, x: torch.Tensor) -> torch.Tensor:
        s = torch.as_tensor(sigma, dtype=self.lam.dtype, device=self.lam.device).expand(x.shape[0])
        return s.reshape(-1, *([1] * self.lam.ndim))

    def eps(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """The exact noise prediction sigma (C + sigma^2 I)^-1 (x - mu), per sample sigma (B,) or a scalar."""
        s = self._per_sample(sigma, x)
        return self.apply(x, _ratio(s, self.lam + s**2))

    def posterior_mean(self, x: torch.Tensor, sigma) -> torch.Tensor:
        """E[x0 | x] = mu + C (C + sigma^2 I)^-1 (x - mu)."""
        s = self._per_sample(sigma, x)
        return self.mu + self.apply(x, _ratio(self.lam, self.lam + s**2))

    def ode_solution(self, x: torch.Tensor, sigma_a: float, sigma_b: float) -> torch.Tensor:
        """The probability-flow ODE dx/dsigma = eps(x, sigma) solved exactly from sigma_a to sigma_b (either way)."""
        return self.mu + self.apply(x, _ratio(self.lam + sigma_b**2, self.lam + sigma_a**2).sqrt())

    def ovg_hf_gradient(self, x: torch.Tensor, sigma, d: float | None = None) -> torch.Tensor:
        """OVG's g_HF = grad_x (||eps||^2 - d)^2 = 4 r sigma^2 (C + sigma^2 I)^-2 (x - mu), r = ||eps||^2 - d (paper
        Eq. 7-8)."""
        eps = self.eps(x, sigma)
        r = eps.flatten(1).pow(2).sum(1) - (self.d if d is None else d)
        s = self._per_sample(sigma, x)
        return 4.0 * r.reshape(-1, 1, 1, 1) * self.apply(x, _ratio(s**2, (self.lam + s**2) ** 2))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws mu + C^(1/2) z (z white, float64)."""
        z = torch.randn((n, *self.shape), generator=generator, dtype=torch.float64).to(self.mu.device)
        return self.mu + self.from_basis(self.lam.sqrt() * self.to_basis(z))

    def covariance(self) -> torch.Tensor:
        """The dense d x d covariance (small d only: tests and charts)."""
        eye = torch.eye(self.d, dtype=torch.float64, device=self.mu.device).reshape(self.d, *self.shape)
        return self.from_basis(self.lam * self.to_basis(eye)).reshape(self.d, self.d)


def _ratio(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a / b with 0 where b is 0 (a null direction of C at sigma = 0: the image has no component there)."""
    return torch.where(b > 0, a / torch.where(b > 0, b, torch.ones_like(b)), torch.zeros_like(a * b))


def _null_to_zero(lam: torch.Tensor, floor: float) -> torch.Tensor:
    """The eigenvalues with those below ``floor`` x the mean of the non-negative ones set to exactly 0."""
    return torch.where(lam < floor * float(lam.clamp_min(0).mean()), torch.zeros_like(lam), lam)


def _eigh(cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.linalg.eigh``, kept on disk from ``EIG_STORED`` rows on (about 50 s at 3,072 on one CPU thread)."""
    if len(cov) < EIG_STORED:
        return torch.linalg.eigh(cov)
    root = Path(os.environ.get("SPECTRAL_COLLAPSE_CACHE", "data/cache/cells")).parent / "eigh"
    path = root / f"{hashlib.sha256(cov.detach().cpu().numpy().tobytes()).hexdigest()[:32]}.pt"
    try:
        lam, U = torch.load(path, weights_only=True)
        return lam.to(cov.device), U.to(cov.device)
    except (OSError, RuntimeError, ValueError, EOFError, pickle.UnpicklingError):  # absent or damaged: computed again
        pass
    lam, U = torch.linalg.eigh(cov)
    root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save((lam.cpu(), U.cpu()), tmp)
    os.replace(tmp, path)
    return lam, U


class FullGaussian(GaussianImages):
    """N(mu, U diag(lam) U^T) with a dense eigenbasis U (d x d); mu of shape (C, H, W)."""

    def __init__(self, mu: torch.Tensor, cov: torch.Tensor, floor: float = EIG_FLOOR):
        super().__init__()
        self.shape = tuple(mu.shape)
        cov = cov.double()
        lam, U = _eigh((cov + cov.T) / 2)
        lam = _null_to_zero(lam, floor)
        # Parameters (not buffers): the loop converts a batch to its model's dtype, float64 here (loop.model_dtype)
        self.mu = nn.Parameter(mu.double(), requires_grad=False)
        self.U = nn.Parameter(U, requires_grad=False)
        self.lam = nn.Parameter(lam, requires_grad=False)

    def to_basis(self, v):
        return v.flatten(1) @ self.U

    def range_projector(self, name: str = "Gaussian range"):
        """The ``BasisProjector`` onto the span of the fitted crops: the range of C and the mean."""
        from ..data.support import BasisProjector

        Q = self.U[:, self.support].detach()
        m = self.mu.detach().flatten()
        m = m - Q @ (Q.T @ m)
        m = m - Q @ (Q.T @ m)                                   # twice: orthogonal to working precision
        if float(m.norm()) > 1e-8 * max(float(self.mu.norm()), 1e-300):
            Q = torch.cat([Q, (m / m.norm())[:, None]], 1)
        return BasisProjector(Q, self.shape, name)

    def from_basis(self, c):
        return (c @ self.U.T).reshape(-1, *self.shape)


class StationaryGaussian(GaussianImages):
    """A stationary (periodic) Gaussian field: mean ``mu_c`` per channel, a colour covariance S(k) per frequency of
    the orthonormal 2-D FFT; ``spectrum`` S of shape (H, W, C, C)."""

    def __init__(self, mu_c: torch.Tensor, spectrum: torch.Tensor, floor: float = EIG_FLOOR):
        super().__init__()
        H, W, C, _ = spectrum.shape
        self.shape = (C, H, W)
        S = spectrum.to(torch.complex128)
        lam, V = torch.linalg.eigh((S + S.transpose(-1, -2).conj()) / 2)     # (H, W, C), (H, W, C, C)
        lam = _null_to_zero(lam, floor)
        self.mu = nn.Parameter(mu_c.double().reshape(C, 1, 1).expand(C, H, W).clone(), requires_grad=False)
        self.V = nn.Parameter(V, requires_grad=False)
        self.lam = nn.Parameter(lam, requires_grad=False)

    def spectrum(self) -> torch.Tensor:
        """S(k) = V diag(lam) V^H, (H, W, C, C) complex128."""
        return (self.V * self.lam.to(self.V.dtype).unsqueeze(-2)) @ self.V.conj().transpose(-1, -2)

    def to_basis(self, v):
        X = torch.fft.fft2(v.to(torch.float64), norm="ortho").permute(0, 2, 3, 1)            # (B, H, W, C)
        return (self.V.conj().transpose(-1, -2) @ X.unsqueeze(-1)).squeeze(-1)            # V^H X per frequency

    def from_basis(self, c):
        X = (self.V @ c.to(self.V.dtype).unsqueeze(-1)).squeeze(-1).permute(0, 3, 1, 2)   # (B, C, H, W)
        return torch.fft.ifft2(X, norm="ortho").real


def raw_moments(pool: torch.Tensor, *, augment: bool = True, form: str = "full", chunk: int = 512) -> tuple:
    """(count, sum, second-moment sum) of a pool (N, C, H, W) in float64, over its 8 dihedral views when ``augment``:
    full form (C, H, W) and (d, d); stationary per-channel (C,) and per-frequency X X^H (H, W, C, C)."""
    shape = tuple(pool.shape[1:])
    views = 8 if augment else 1
    if form == "full":
        s1 = torch.zeros(math.prod(shape), dtype=torch.float64, device=pool.device)
        s2 = torch.zeros(s1.numel(), s1.numel(), dtype=torch.float64, device=pool.device)
        for i in range(0, len(pool), chunk):
            b = pool[i:i + chunk].double().flatten(1)
            s1 += b.sum(0)
            s2 += b.T @ b
        if augment:
            idx = torch.arange(s1.numel(), device=pool.device).reshape(1, *shape)
            perms = [dihedral(idx, k).flatten() for k in range(8)]
            s1 = sum(s1[p] for p in perms)
            s2 = sum(s2[p][:, p] for p in perms)
        return len(pool) * views, s1.reshape(shape), s2
    s1 = torch.zeros(shape[0], dtype=torch.float64, device=pool.device)
    s2 = torch.zeros(shape[1], shape[2], shape[0], shape[0], dtype=torch.complex128, device=pool.device)
    for i in range(0, len(pool), chunk):
        b = pool[i:i + chunk].double()
        for v in ((dihedral(b, k) for k in range(8)) if augment else [b]):
            s1 += v.sum((0, 2, 3))
            X = torch.fft.fft2(v, norm="ortho").permute(0, 2, 3, 1)
            s2 += torch.einsum("bhwi,bhwj->hwij", X, X.conj())
    return len(pool) * views, s1, s2


def gaussian_from_moments(moments, shape, form: str) -> "GaussianImages":
    """The maximum-likelihood Gaussian of summed ``raw_moments`` (count, sum, second-moment sum)."""
    n, s1, s2 = moments
    if form == "full":
        mu = s1.flatten() / n
        return FullGaussian(mu.reshape(shape), s2 / n - torch.outer(mu, mu))
    C, H, W = shape
    mu_c = s1 / (n * H * W)
    S = s2 / n
    m0 = mu_c.to(torch.complex128) * math.sqrt(H * W)           # the orthonormal FFT of the constant mean, at k = 0
    S[0, 0] = S[0, 0] - torch.outer(m0, m0.conj())
    return StationaryGaussian(mu_c, S)


def gaussian_form(shape, form: str = "auto") -> str:
    """The covariance form of images of ``shape``: "full" up to ``FULL_MAX_DIM`` elements, else "stationary"."""
    d = math.prod(shape)
    if form == "auto":
        form = "full" if d <= FULL_MAX_DIM else "stationary"
    if form not in ("full", "stationary"):
        raise ValueError(f"form must be 'full', 'stationary' or 'auto', got {form!r}")
    if form == "full" and d > FULL_MAX_DIM * 4:
        raise ValueError(f"a full covariance of {d} elements per image needs {d * d * 8 / 2**30:.1f} GiB; use "
                         f"form='stationary' (or 'auto')")
    return form


def fit_gaussian(pools, *, augment: bool = True, form: str = "auto") -> GaussianImages:
    """The maximum-likelihood Gaussian (float64) of the crops in ``pools`` ((N, C, H, W), pooled), over their 8
    dihedral views with ``augment``."""
    pools = list(pools) if isinstance(pools, (list, tuple)) else [pools]
    shape = tuple(pools[0].shape[1:])
    form = gaussian_form(shape, form)
    parts = [raw_moments(p, augment=augment, form=form) for p in pools]
    return gaussian_from_moments(tuple(sum(m[i] for m in parts) for i in range(3)), shape, form)
