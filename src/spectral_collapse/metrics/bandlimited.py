"""SSIM of two ideally low-passed images from their few kept Fourier coefficients (the fast path of S_LF).

At the paper's cutoff only a handful of frequencies survive (|k| <= 7 cycles per image at 256 px), so SSIM's five
box means (x, y, x^2, y^2, xy) are low-degree trigonometric polynomials: the band is projected with small DFT
matrices and masked as ``fourier.ideal_lowpass`` does, the products' band (2 n) is sampled on a 4 n + 1 grid
without aliasing, the window is a Dirichlet multiplier (the interior pixels, as scikit-image's mean), and
scikit-image's SSIM formula is applied. Equal to ``ssim(ideal_lowpass(x), ideal_lowpass(y))`` to round-off
(tested); O(H W n) per image. ``narrow_band`` says when it applies."""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from ..fourier import radial_frequency

__all__ = ["band_halfwidth", "narrow_band", "lowpass_ssim"]


def band_halfwidth(n: int, kappa: float) -> int:
    """Largest integer frequency |k| (cycles per image) an n-point axis keeps at cutoff ``kappa`` (of Nyquist)."""
    f = torch.fft.fftfreq(n, dtype=torch.float64)
    kept = (f.abs() <= kappa * 0.5).nonzero().flatten()
    return int(max(min(int(k), n - int(k)) for k in kept.tolist()))


def narrow_band(h: int, w: int, kappa: float) -> bool:
    """Whether the band-limited route applies: the products' band (4 n + 1 points) fits in a quarter of each axis."""
    return all(4 * band_halfwidth(n, kappa) + 1 <= n // 4 for n in (h, w))


def _dft(rows, cols, n: int, sign: float) -> torch.Tensor:
    """exp(sign 2 pi i r c / n) for integer rows r and columns c, exact phase reduction mod n (complex128)."""
    r = torch.as_tensor(rows, dtype=torch.int64)[:, None]
    c = torch.as_tensor(cols, dtype=torch.int64)[None, :]
    phase = sign * 2 * math.pi * ((r * c) % n).to(torch.float64) / n
    return torch.polar(torch.ones_like(phase), phase)


def _dft_at(positions: torch.Tensor, freqs, n: int, sign: float) -> torch.Tensor:
    """exp(sign 2 pi i p k / n) at real positions p (coarse grid points), complex128."""
    k = torch.as_tensor(freqs, dtype=torch.float64)[None, :]
    phase = sign * 2 * math.pi * positions[:, None] * k / n
    return torch.polar(torch.ones_like(phase), phase)


@functools.lru_cache(maxsize=16)
def _plan(h: int, w: int, kappa: float, win_size: int):
    """Matrices of one (size, cutoff, window) case (cached)."""
    ny, nx = band_halfwidth(h, kappa), band_halfwidth(w, kappa)
    ay, ax = torch.arange(-ny, ny + 1), torch.arange(-nx, nx + 1)
    r = radial_frequency(h, w)
    mask = (r[ay % h][:, ax % w] <= kappa * 0.5).to(torch.complex128)              # the same grid as ideal_lowpass
    proj_y = _dft(ay, torch.arange(h), h, -1.0)                                    # (A, H)
    proj_x = _dft(torch.arange(w), ax, w, -1.0)                                    # (W, B)
    # coarse grid for the products: 4n + 1 points per axis, at real positions m = p H / N
    Ny, Nx = 4 * ny + 1, 4 * nx + 1
    py, px = torch.arange(Ny, dtype=torch.float64) * h / Ny, torch.arange(Nx, dtype=torch.float64) * w / Nx
    coarse_y = _dft_at(py, ay, h, 1.0)                                              # (Ny, A)
    coarse_x = _dft_at(px, ax, w, 1.0).T                                            # (B, Nx)
    by, bx = torch.arange(-2 * ny, 2 * ny + 1), torch.arange(-2 * nx, 2 * nx + 1)
    back_y = _dft(by, torch.arange(Ny), Ny, -1.0)                                   # (2A - 1, Ny)
    back_x = _dft(torch.arange(Nx), bx, Nx, -1.0)                                   # (Nx, 2B - 1)
    # box of win_size pixels (centred) as a multiplier per frequency: real Dirichlet kernel
    p = (win_size - 1) // 2
    j = torch.arange(1, p + 1, dtype=torch.float64)
    box_y = (1 + 2 * torch.cos(2 * math.pi * by[:, None].double() * j / h).sum(1)) / win_size
    box_x = (1 + 2 * torch.cos(2 * math.pi * bx[:, None].double() * j / w).sum(1)) / win_size
    # synthesis on the interior grid, half spectrum in x (b >= 0, weight 2 for b > 0): real output
    my, mx = torch.arange(p, h - p), torch.arange(p, w - p)
    synth_y = _dft(my, by, h, 1.0)                                                  # (Hi, 2A - 1)
    half = bx >= 0
    wx = torch.where(bx[half] == 0, 1.0, 2.0).to(torch.float64)
    sx = _dft(bx[half], mx, w, 1.0) / (h * w)                                       # (Bh, Wi)
    synth_x = torch.cat([sx.real, -sx.imag], 0)                                     # (2 Bh, Wi): Re(Q S) = [Qr Qi] S'
    box = (box_y[:, None] * box_x[None, :])[:, half] * wx                           # (2A - 1, Bh), real
    return dict(ny=ny, nx=nx, mask=mask, proj_y=proj_y, proj_x=torch.cat([proj_x.real, proj_x.imag], 1),
                coarse_y=coarse_y, coarse_x=coarse_x, back_y=back_y, back_x=back_x, scale=h * w / (Ny * Nx),
                synth_y=synth_y, synth_x=synth_x, box=box, half=half, pad=p)


def _coefficients(x: torch.Tensor, P: dict) -> torch.Tensor:
    """Masked DFT coefficients (..., A, B) of real images (..., H, W) on the kept band."""
    b = P["proj_x"].shape[1] // 2
    t = x @ P["proj_x"]                                                             # (..., H, 2B) real
    t = torch.complex(t[..., :b], t[..., b:])
    return (P["proj_y"] @ t) * P["mask"]


def lowpass_ssim(x, y, kappa: float, data_range: float = 2.0, win_size: int = 7, mask=None, chunk: int = 8,
                 K1: float = 0.01, K2: float = 0.03) -> np.ndarray:
    """Per-image SSIM(ideal_lowpass(x, kappa), ideal_lowpass(y, kappa)) of (B, C, H, W) images, channel mean, from
    the band's coefficients; ``mask`` (B, H, W) bool as in ``image.ssim``. Requires ``narrow_band(H, W, kappa)``."""
    x = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))
    y = y if isinstance(y, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(y))
    if x.shape != y.shape or x.ndim != 4:
        raise ValueError(f"x and y must be (B, C, H, W) of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    b, c, h, w = x.shape
    if not narrow_band(h, w, kappa):
        raise ValueError(f"kappa={kappa} keeps too wide a band for the band-limited SSIM of {h}x{w} images; "
                         "use ssim(ideal_lowpass(x), ideal_lowpass(y))")
    if win_size % 2 != 1 or win_size < 3 or win_size > min(h, w):
        raise ValueError(f"win_size must be odd, >= 3 and <= the image size, got {win_size}")
    P = _plan(h, w, float(kappa), int(win_size))
    pad, ny, nx = P["pad"], P["ny"], P["nx"]
    C1, C2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    cov = win_size ** 2 / (win_size ** 2 - 1)
    keep = None if mask is None else torch.as_tensor(np.broadcast_to(np.asarray(mask, dtype=bool), (b, h, w)).copy())
    out = np.empty(b)
    rdt = torch.float64 if torch.float64 in (x.dtype, y.dtype) else torch.float32  # the inputs' precision, as ssim
    cdt = torch.complex128 if rdt == torch.float64 else torch.complex64
    Q = {k: (v.to(cdt) if v.is_complex() else v.to(rdt)) for k, v in P.items() if isinstance(v, torch.Tensor)
         and k != "half"}
    for i in range(0, b, max(1, int(chunk))):
        X, Y = _coefficients(x[i:i + chunk].to(rdt), Q), _coefficients(y[i:i + chunk].to(rdt), Q)  # (n, C, A, B)
        # values on the coarse grid (real), their products, and the products' coefficients (band 2n)
        cx = (Q["coarse_y"] @ X @ Q["coarse_x"]).real / (h * w)
        cy = (Q["coarse_y"] @ Y @ Q["coarse_x"]).real / (h * w)
        prods = torch.stack([cx * cy, cx * cx + cy * cy], 1).to(cdt)                  # xy, x^2 + y^2
        Pq = (Q["back_y"] @ prods @ Q["back_x"]) * P["scale"]                         # (n, 2, C, 2A-1, 2B-1)
        lin = torch.zeros(X.shape[0], 2, c, 4 * ny + 1, 4 * nx + 1, dtype=cdt)
        lin[:, 0, :, ny:3 * ny + 1, nx:3 * nx + 1] = X
        lin[:, 1, :, ny:3 * ny + 1, nx:3 * nx + 1] = Y
        G = torch.cat([lin, Pq], 1)[..., P["half"]] * Q["box"]                        # (n, 4, C, 2A-1, Bh)
        S = Q["synth_y"] @ G                                                          # (n, 4, C, Hi, Bh)
        f = torch.cat([S.real, S.imag], -1) @ Q["synth_x"]                            # (n, 4, C, Hi, Wi) real
        ux, uy, uxy, usq = f.unbind(1)               # box means of x, y, xy and x^2 + y^2
        p = ux * uy
        q = ux.mul_(ux).addcmul_(uy, uy)                                              # ux^2 + uy^2 (ux reused)
        a2 = uxy.sub_(p).mul_(2 * cov).add_(C2)                                       # 2 vxy + C2
        b2 = usq.sub_(q).mul_(cov).add_(C2)                                           # vx + vy + C2
        num = p.mul_(2).add_(C1).mul_(a2)                                             # (2 ux uy + C1)(2 vxy + C2)
        den = q.add_(C1).mul_(b2)                                                     # (ux^2 + uy^2 + C1)(vx + vy + C2)
        smap = num.div_(den).mean(1)
        if keep is None:
            out[i:i + chunk] = smap.flatten(1).mean(1).numpy()
        else:
            k = keep[i:i + chunk, pad:h - pad, pad:w - pad]
            for j in range(len(k)):
                out[i + j] = float(smap[j][k[j]].mean()) if bool(k[j].any()) else np.nan
    return out
