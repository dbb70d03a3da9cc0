"""Noise schedules and sigma grids.

Everything in the suite runs in EDM's sigma coordinates (Karras et al. 2022). A variance-preserving (VP)
model with cumulative schedule alpha_bar_t is used through (paper Eq. 16)

    x~ = x / sqrt(alpha_bar),      sigma = sqrt((1 - alpha_bar) / alpha_bar)

so that x~ = x0 + sigma * eps and a deterministic DDIM step is exactly one Euler step of dx~/dsigma = eps.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["VPSchedule", "TabulatedVPSchedule", "ZeroTerminalSNRSchedule", "ZERO_SNR_TOP_ALPHA_BAR", "karras_sigmas",
           "ddim_timesteps", "ddim_sigmas"]


@dataclass(frozen=True)
class VPSchedule:
    """Discrete VP (DDPM) schedule: betas -> alpha_bar_t for t = 0..T-1 (diffusers conventions)."""

    kind: str = "scaled_linear"  # "linear" | "scaled_linear" | "cosine" (squaredcos_cap_v2)
    beta_start: float = 0.00085
    beta_end: float = 0.012
    num_train_timesteps: int = 1000

    def betas(self) -> torch.Tensor:
        T = self.num_train_timesteps
        if self.kind == "linear":
            return torch.linspace(self.beta_start, self.beta_end, T, dtype=torch.float64)
        if self.kind == "scaled_linear":
            return torch.linspace(self.beta_start**0.5, self.beta_end**0.5, T, dtype=torch.float64) ** 2
        if self.kind == "cosine":
            f = lambda t: math.cos((t / T + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
            return torch.tensor([min(1 - f(i + 1) / f(i), 0.999) for i in range(T)], dtype=torch.float64)
        raise ValueError(f"unknown VP schedule kind {self.kind!r}; choose linear, scaled_linear or cosine "
                         f"(a table of betas: TabulatedVPSchedule)")

    def alphas_cumprod(self) -> torch.Tensor:
        """alpha_bar_t, float64, shape (T,)."""
        return torch.cumprod(1.0 - self.betas(), dim=0)

    def sigmas(self) -> torch.Tensor:
        """sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t), float64, increasing, shape (T,)."""
        ab = self.alphas_cumprod()
        return ((1 - ab) / ab).sqrt()

    def sigma_min(self) -> float:
        return float(self.sigmas()[0])

    def sigma_max(self) -> float:
        return float(self.sigmas()[-1])

    def sigma_to_t(self, sigma: torch.Tensor) -> torch.Tensor:
        """Continuous time label for sigma: log sigma interpolated linearly over the table, clamped to [0, T-1]."""
        s = torch.as_tensor(sigma, dtype=torch.float64)
        table = self.sigmas()
        cpu_log = table.log()
        log_table = cpu_log if s.device.type == "cpu" else _log_table_on(self, str(s.device))
        s = s.clamp(min=float(table[0]))
        ls = s.log().clamp(max=float(cpu_log[-1]))  # read on the CPU: no wait for the GPU
        idx = torch.searchsorted(log_table, ls.reshape(-1)).clamp(1, len(log_table) - 1)
        lo, hi = log_table[idx - 1], log_table[idx]
        w = ((ls.reshape(-1) - lo) / (hi - lo)).clamp(0, 1)
        t = (idx - 1).to(torch.float64) + w
        return t.reshape(s.shape)

    def t_to_sigma(self, t: torch.Tensor) -> torch.Tensor:
        """Inverse of ``sigma_to_t``: log sigma interpolated linearly between integer time labels."""
        tt = torch.as_tensor(t, dtype=torch.float64)
        log_table = self.sigmas().log().to(device=tt.device)
        tt = tt.clamp(0, len(log_table) - 1)
        lo = tt.floor().long().clamp(max=len(log_table) - 2)
        w = tt - lo.to(torch.float64)
        return (log_table[lo] * (1 - w) + log_table[lo + 1] * w).exp()


@functools.cache
def _log_table_on(schedule: VPSchedule, device: str) -> torch.Tensor:
    """The log sigma table copied once to a GPU, so that a CUDA graph's network call needs no host copy."""
    return schedule.sigmas().log().to(device)


@dataclass(frozen=True)
class TabulatedVPSchedule(VPSchedule):
    """A VP schedule given by its betas (diffusers' ``trained_betas``): kind "trained", T = len(betas); a subclass,
    so that the fields (and so the hashes) of every ``VPSchedule`` stay as they were."""

    kind: str = "trained"
    table: tuple = ()  # beta_0 .. beta_{T-1}, each in (0, 1)

    def __post_init__(self):
        betas = tuple(float(b) for b in self.table)
        if not betas or not all(0.0 < b < 1.0 for b in betas):
            raise ValueError(f"trained betas must be a non-empty list of values in (0, 1), got {len(betas)} values "
                             f"in [{min(betas, default=float('nan')):g}, {max(betas, default=float('nan')):g}]")
        _set_table(self, betas)

    def betas(self) -> torch.Tensor:
        return torch.tensor(self.table, dtype=torch.float64)


def _set_table(schedule: VPSchedule, betas: tuple) -> None:
    """Fix a frozen schedule's fields to those of its betas table (kind "trained", T = len(betas))."""
    for name, value in (("table", betas), ("kind", "trained"), ("num_train_timesteps", len(betas))):
        object.__setattr__(schedule, name, value)


ZERO_SNR_TOP_ALPHA_BAR = 2.0 ** -24  # the finite last level of a zero-terminal-SNR schedule (sigma about 4096)


@dataclass(frozen=True)
class ZeroTerminalSNRSchedule(VPSchedule):
    """A VP schedule rescaled to zero terminal SNR (Lin et al. 2024, Alg. 1; diffusers' rescale_betas_zero_snr), its
    last level kept finite: ``top_alpha_bar`` when below the level before it, else sigma_T = sigma_{T-1}^2 /
    sigma_{T-2}."""

    table: tuple = ()                          # betas of the base schedule when it is tabulated ("trained")
    top_alpha_bar: float = ZERO_SNR_TOP_ALPHA_BAR

    def __post_init__(self):
        if self.table:
            _set_table(self, TabulatedVPSchedule(table=self.table).table)
        if self.num_train_timesteps < 3:
            raise ValueError(f"a zero-terminal-SNR schedule needs at least 3 levels, got {self.num_train_timesteps}")
        if not 0.0 < self.top_alpha_bar < 1.0:
            raise ValueError(f"top_alpha_bar must lie in (0, 1), got {self.top_alpha_bar}")

    def alphas_cumprod(self) -> torch.Tensor:
        base = (TabulatedVPSchedule(table=self.table) if self.table else
                VPSchedule(self.kind, self.beta_start, self.beta_end, self.num_train_timesteps))
        root = base.alphas_cumprod().sqrt()
        first, last = root[0].clone(), root[-1].clone()
        ab = ((root - last) * (first / (first - last))) ** 2
        if self.top_alpha_bar < ab[-2]:
            ab[-1] = self.top_alpha_bar
        else:  # sigma_T = sigma_{T-1}^2 / sigma_{T-2}, in alpha_bar = 1 / (1 + sigma^2)
            s1, s2 = ((1 - ab[-2]) / ab[-2]).sqrt(), ((1 - ab[-3]) / ab[-3]).sqrt()
            ab[-1] = 1 / (1 + (s1 * s1 / s2) ** 2)
        return ab

    def betas(self) -> torch.Tensor:
        ab = self.alphas_cumprod()
        return 1.0 - torch.cat([ab[:1], ab[1:] / ab[:-1]])


def karras_sigmas(steps: int, sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0) -> torch.Tensor:
    """Karras et al. (2022) Eq. 5 / paper Eq. 25: `steps` descending levels sigma_max..sigma_min, then 0 (float64,
    length steps + 1)."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if steps == 1:
        return torch.tensor([sigma_max, 0.0], dtype=torch.float64)
    r = torch.arange(steps, dtype=torch.float64) / (steps - 1)
    s = (sigma_max ** (1 / rho) + r * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    return torch.cat([s, torch.zeros(1, dtype=torch.float64)])


def ddim_timesteps(steps: int, num_train_timesteps: int = 1000, spacing: str = "leading",
                   steps_offset: int = 0) -> torch.Tensor:
    """DDIM sampling timesteps (descending), as diffusers' DDIMScheduler.set_timesteps computes them."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    T = num_train_timesteps
    if spacing == "leading":
        ratio = T // steps
        ts = (torch.arange(steps) * ratio).flip(0) + steps_offset
    elif spacing == "trailing":
        ratio = T / steps
        # numpy's arange as in diffusers (torch's float arange flips rounding ties, e.g. 1000/48); keep `steps`
        # levels (numpy's arange overshoots to an extra t = -1 for some steps, e.g. 61)
        ts = torch.from_numpy(np.round(np.arange(T, 0, -ratio)[:steps]).astype(np.int64)) - 1
    else:
        raise ValueError(f"unknown timestep spacing {spacing!r}; choose leading or trailing")
    return ts.clamp(0, T - 1).long()


def ddim_sigmas(schedule: VPSchedule, steps: int, spacing: str = "leading", steps_offset: int = 0) -> torch.Tensor:
    """Descending sigma grid of a DDIM sampler: sigma(t_i) for the DDIM timesteps, then 0 (float64,
    length steps + 1)."""
    ts = ddim_timesteps(steps, schedule.num_train_timesteps, spacing, steps_offset)
    s = schedule.sigmas()[ts]
    return torch.cat([s, torch.zeros(1, dtype=torch.float64)])

