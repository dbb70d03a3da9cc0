"""Ideal circular Fourier filters (paper App. B.5, Eq. 41-42), shared by S_LF, OVG's x0_ref and the S_HF validation:
a mask keeps |omega| <= kappa * 0.5 cycles/pixel (low-pass) or the rest (high-pass), per channel."""
from __future__ import annotations

import torch

__all__ = ["radial_frequency", "ideal_lowpass", "ideal_highpass"]


def radial_frequency(h: int, w: int, device=None, dtype=torch.float64) -> torch.Tensor:
    """|omega| in cycles/pixel on the FFT grid of an h x w image, shape (h, w)."""
    fy = torch.fft.fftfreq(h, device=device, dtype=dtype)
    fx = torch.fft.fftfreq(w, device=device, dtype=dtype)
    return torch.sqrt(fy[:, None] ** 2 + fx[None, :] ** 2)


def _filter(x: torch.Tensor, kappa: float, low: bool) -> torch.Tensor:
    """Keep |omega| <= kappa * 0.5 (``low``) or the rest, on rfft2's half spectrum (float64): equal to
    ``ifft2(fft2(x) * keep).real`` (tested) at about half the cost."""
    h, w = x.shape[-2:]
    keep = ((radial_frequency(h, w, device=x.device) <= kappa * 0.5) == low).to(torch.float64)
    X = torch.fft.rfft2(x.to(torch.float64))
    return torch.fft.irfft2(X * keep[..., : w // 2 + 1], s=(h, w)).to(x.dtype)


def ideal_lowpass(x: torch.Tensor, kappa: float = 0.06) -> torch.Tensor:
    """Keep frequencies with |omega| <= kappa * omega_Nyquist (paper Eq. 41, kappa = 0.06)."""
    if not 0 < kappa <= 2 ** 0.5:
        raise ValueError(f"kappa must lie in (0, sqrt 2], got {kappa}")
    return _filter(x, kappa, low=True)


def ideal_highpass(x: torch.Tensor, kappa: float = 0.06) -> torch.Tensor:
    """Complement of ``ideal_lowpass``: x - lowpass(x)."""
    return _filter(x, kappa, low=False)
