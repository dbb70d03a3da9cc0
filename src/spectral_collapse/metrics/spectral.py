"""Spectral realism and structure scores (paper App. B.4-B.5, Eq. 37-44): spectrum slope, S_HF (pixel units the paper
leaves open, default "uint8") and S_LF, whose fast path ``lowpass_ssim`` works on the few kept frequencies."""
from __future__ import annotations

import functools
import hashlib
import math
import warnings

import numpy as np
import pywt
import torch

from ..fourier import ideal_lowpass, radial_frequency
from .image import image_batch, to_gray, ssim
from .latent import radial_power_spectrum

__all__ = ["spectrum_slope", "wavelet_order", "PIXEL_UNITS", "hf_log_energy", "hf_reference", "s_hf", "delta_log_e",
           "kappa_for_size", "s_lf", "clear_reference_cache", "band_halfwidth", "narrow_band", "lowpass_ssim"]

# affine maps from the library's [-1, 1] pixels: x -> a x + b
PIXEL_UNITS = {"uint8": (127.5, 127.5), "unit": (0.5, 0.5), "signed": (1.0, 0.0)}
_REFERENCE_CACHE: dict[tuple, float] = {}


def clear_reference_cache() -> None:
    """Forget every cached reference statistic (spectrum slope, mu_HF)."""
    _REFERENCE_CACHE.clear()


def _cached_reference(fn):
    """Memoise a float statistic of a fixed image set by (function, content hash, arguments)."""
    @functools.wraps(fn)
    def wrapper(images, *args, **kw):
        a = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
        a = np.ascontiguousarray(a)  # the key holds a hash of its bytes: equal only for equal content
        content = hashlib.blake2b(a.view(np.uint8).reshape(-1), digest_size=16).hexdigest()
        key = (fn.__name__, a.shape, str(a.dtype), content, repr(args), repr(sorted(kw.items())))
        if key not in _REFERENCE_CACHE:
            _REFERENCE_CACHE[key] = fn(images, *args, **kw)
        return _REFERENCE_CACHE[key]
    return wrapper


@_cached_reference
def spectrum_slope(images, band: tuple[float, float] = (0.005, 0.4)) -> float:
    """Slope of mean radial log10 power vs log10 frequency over ``band`` (App. B.4), per channel, averaged."""
    x = image_batch(images, "images")
    freqs, logp = radial_power_spectrum(x, log=True)          # (K,), (B, C, K)
    sel = (freqs > 0) & (freqs >= band[0]) & (freqs <= band[1])
    if sel.sum() < 2:
        raise ValueError(f"band {band} holds fewer than 2 frequency bins for {x.shape[-2:]} images; widen it")
    mean = logp.mean(0)[:, sel]                                # (C, K')
    slopes = np.polyfit(np.log10(freqs[sel]), mean.T, 1)[0]    # one line per channel
    return float(np.mean(slopes))


def wavelet_order(slope: float) -> str:
    """Symmlet ``sym{k}`` with k = ceil(|slope|) (Eq. 37), clamped to pywt's sym range 2..20."""
    return f"sym{min(max(math.ceil(abs(slope)), 2), 20)}"


def hf_log_energy(images, wavelet: str = "sym4", mode: str = "symmetric", unit: str = "uint8",
                  chunk: int = 8) -> np.ndarray:
    """log E_HF per image (Eq. 38): level-1 ``dwt2`` detail energy, pixels in ``unit`` (``PIXEL_UNITS``)."""
    if unit not in PIXEL_UNITS:
        raise ValueError(f"unknown unit {unit!r}; valid: {sorted(PIXEL_UNITS)}")
    if wavelet not in pywt.wavelist(kind="discrete"):
        raise ValueError(f"unknown wavelet {wavelet!r}; valid: discrete pywt wavelets such as sym2..sym20, db1..db38")
    if mode not in pywt.Modes.modes:
        raise ValueError(f"unknown mode {mode!r}; valid: {pywt.Modes.modes}")
    a, b = PIXEL_UNITS[unit]
    x = image_batch(images, "images")
    energies = []
    for i in range(0, len(x), max(1, int(chunk))) or [0]:
        _, details = pywt.dwt2(a * x[i:i + chunk] + b, wavelet, mode=mode, axes=(-2, -1))
        det = np.stack(details)                               # (3, B, C, h, w)
        energies.append(np.einsum("kbchw,kbchw->b", det, det))
    energy = np.concatenate(energies)
    with np.errstate(divide="ignore"):
        return np.log(energy)


@_cached_reference
def hf_reference(real_images, **kw) -> float:
    """mu_HF (Eq. 39): mean of ``hf_log_energy`` over real images (cached); pass the same keywords to ``s_hf``."""
    return float(np.mean(hf_log_energy(real_images, **kw)))


def delta_log_e(images, mu: float, **kw) -> np.ndarray:
    """log E_HF - mu per image: the unit-free HF deficit (< 0) or excess (> 0); -0.69 means half the energy."""
    return hf_log_energy(images, **kw) - mu


def s_hf(images, mu: float, **kw) -> np.ndarray:
    """S_HF per image (Eq. 40): 1 - clip(|log E_HF - mu| / |mu|, 0, 1); keywords as for ``hf_log_energy``."""
    if mu == 0:
        raise ValueError("mu_HF is 0, so Eq. 40 is undefined; use delta_log_e or another pixel unit")
    return 1 - np.clip(np.abs(delta_log_e(images, mu, **kw)) / abs(mu), 0, 1)


def kappa_for_size(size: int, kappa: float = 0.06) -> float:
    """The cutoff keeping as many cycles per image at ``size`` px as ``kappa`` at 256 px (<= sqrt(2))."""
    return min(kappa * 256 / size, math.sqrt(2))


def s_lf(generated, condition, kappa: float = 0.06, gray: bool = False, mask=None, white_threshold: float = 0.9,
         data_range: float | None = None, win_size: int = 7, chunk: int = 8, route: str = "auto",
         value_range: str = "unit") -> np.ndarray:
    """S_LF per image (App. B.5): SSIM(lowpass(generated), lowpass(condition)), channel mean; edge maps: ``gray=True``
    and ``mask="nonwhite"`` (or a bool mask); ``route`` "bandlimited" (``lowpass_ssim``), "direct" or "auto"."""
    if route not in ("auto", "direct", "bandlimited"):
        raise ValueError(f"unknown route {route!r}; valid: 'auto', 'direct', 'bandlimited'")
    if value_range not in ("unit", "signed"):
        raise ValueError(f"unknown value_range {value_range!r}; valid: 'unit' ([0, 1], default), 'signed' ([-1, 1])")
    if data_range is None:
        data_range = 1.0 if value_range == "unit" else 2.0
    shape = tuple(getattr(generated, "shape", np.shape(generated)))
    fast = route == "bandlimited" or (route == "auto" and len(shape) == 4 and narrow_band(*shape[-2:], kappa))
    single = fast and all(getattr(v, "dtype", None) in (torch.float32, np.float32) for v in (generated, condition))
    dt = np.float32 if single else np.float64
    gen, cond = image_batch(generated, "generated", dt), image_batch(condition, "condition", dt)
    if gen.shape != cond.shape:
        raise ValueError(f"generated and condition must have the same shape, got {gen.shape} and {cond.shape}")
    h, w = gen.shape[-2:]
    if kappa * 0.5 < 1 / max(h, w):
        warnings.warn(f"kappa={kappa} keeps only the DC bin of {h}x{w} images, so S_LF compares mean colours only; "
                      f"pass kappa=kappa_for_size({max(h, w)}) = {kappa_for_size(max(h, w)):.3g} for the paper's "
                      "cycles per image", stacklevel=2)
    if isinstance(mask, str):
        if mask != "nonwhite":
            raise ValueError(f"unknown mask {mask!r}; valid: None, 'nonwhite', or a bool array (B, H, W)")
        mask = to_gray(cond)[:, 0] < white_threshold
    if gray:
        gen, cond = to_gray(gen).astype(dt, copy=False), to_gray(cond).astype(dt, copy=False)  # f64 unless single
    if mask is not None:
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), (gen.shape[0], h, w))
    if value_range == "unit":  # after the mask, whose threshold is in [-1, 1] units
        gen, cond = ((a + dt(1)) * dt(0.5) for a in (gen, cond))
    if fast:
        return lowpass_ssim(gen, cond, kappa, data_range=data_range, win_size=win_size, mask=mask, chunk=chunk)
    out = []
    for i in range(0, len(gen), max(1, int(chunk))) or [0]:
        lp = [ideal_lowpass(torch.from_numpy(np.ascontiguousarray(a[i:i + chunk])), kappa).numpy() for a in (gen, cond)]
        out.append(ssim(lp[0], lp[1], data_range=data_range, win_size=win_size,
                        mask=None if mask is None else mask[i:i + chunk]))
    return np.concatenate(out)


def band_halfwidth(n: int, kappa: float) -> int:
    """Largest integer frequency |k| (cycles per image) an n-point axis keeps at cutoff ``kappa`` (of Nyquist)."""
    f = torch.fft.fftfreq(n, dtype=torch.float64)
    kept = (f.abs() <= kappa * 0.5).nonzero().flatten()
    return int(max(min(int(k), n - int(k)) for k in kept.tolist()))


def narrow_band(h: int, w: int, kappa: float) -> bool:
    """Whether the band-limited route applies: the products' band (4 n + 1 points) fits in a quarter of each axis."""
    return all(4 * band_halfwidth(n, kappa) + 1 <= n // 4 for n in (h, w))


def _dft(rows, cols, n: int, sign: float) -> torch.Tensor:
    """exp(sign 2 pi i r c / n) (complex128); integer r c reduced mod n exactly, real rows r as they are."""
    rc = torch.as_tensor(rows)[:, None] * torch.as_tensor(cols)[None, :]
    phase = sign * 2 * math.pi * (rc if rc.is_floating_point() else rc % n).to(torch.float64) / n
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
    coarse_y = _dft(py, ay, h, 1.0)                                                 # (Ny, A)
    coarse_x = _dft(px, ax, w, 1.0).T                                               # (B, Nx)
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


def lowpass_ssim(x, y, kappa: float, data_range: float = 2.0, win_size: int = 7, mask=None, chunk: int = 8):
    """Per-image SSIM of ideal_lowpass(x, kappa) and ideal_lowpass(y, kappa) from the band's coefficients."""
    x, y = (a if isinstance(a, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(a)) for a in (x, y))
    b, c, h, w = x.shape
    if not narrow_band(h, w, kappa):
        raise ValueError(f"kappa={kappa} keeps too wide a band for the band-limited SSIM of {h}x{w} images; "
                         "use ssim(ideal_lowpass(x), ideal_lowpass(y))")
    if win_size % 2 != 1 or win_size < 3 or win_size > min(h, w):
        raise ValueError(f"win_size must be odd, >= 3 and <= the image size, got {win_size}")
    P = _plan(h, w, float(kappa), int(win_size))
    pad, ny, nx = P["pad"], P["ny"], P["nx"]
    C1, C2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
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
        lin[..., ny:3 * ny + 1, nx:3 * nx + 1] = torch.stack([X, Y], 1)
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
