"""Flow-matching (rectified-flow) velocity networks in the suite's sigma coordinates.

A flow-matching model (Lipman et al. 2023; Liu et al. 2023; diffusers' ``FlowMatchEulerDiscreteScheduler``) is trained
on x_t = (1 - t) x0 + t n, t in [0, 1], with network(x_t, N t) = v ~ n - x0 (N = ``num_train_timesteps``). In the
suite's coordinates x~ = x_t / (1 - t) = x0 + sigma n, sigma = t / (1 - t), x0 = x_t - t v and n = x_t + (1 - t) v, so
an Euler step of dx~/dsigma = n is diffusers' flow Euler step and DDIM-style inversion, TABA and OVG run unchanged. The
default grid is diffusers' shifted one with its top t = 1 (sigma = infinity) replaced by t_top = shift(1 - 1/N), the
highest training level below 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .base import Denoiser, Prediction, bcast, call_net

__all__ = ["FlowSchedule", "FlowDenoiser", "flow_schedule_from_config"]


@dataclass(frozen=True)
class FlowSchedule:
    """Times of a flow-matching model: N training levels, the time shift and the default grid's settings."""

    num_train_timesteps: int = 1000  # N: the network's time input is N t
    shift: float = 1.0               # t -> shift t / (1 + (shift - 1) t) (diffusers' static or resolved dynamic shift)
    dynamic: bool = False            # use_dynamic_shifting: grid's low end 1 / N before the shift (else shift(1 / N))
    shift_terminal: float = 0.0      # > 0: the grid's last nonzero time is stretched to this value (0: off)

    def __post_init__(self):
        if int(self.num_train_timesteps) < 2:
            raise ValueError(f"a flow-matching schedule needs num_train_timesteps >= 2, got {self.num_train_timesteps}")
        if not (math.isfinite(self.shift) and self.shift > 0):
            raise ValueError(f"the time shift must be a positive number, got {self.shift}")
        if not 0.0 <= self.shift_terminal < 1.0:
            raise ValueError(f"shift_terminal must lie in [0, 1) (0: off), got {self.shift_terminal}")

    def shifted(self, t):
        """The shifted time shift t / (1 + (shift - 1) t) (float64 for tensors)."""
        return self.shift * t / (1 + (self.shift - 1) * t)

    def t_top(self) -> float:
        """The top of every grid: the highest training level below t = 1 (t = 1 itself is sigma = infinity)."""
        return float(self.shifted(1.0 - 1.0 / self.num_train_timesteps))

    def sigma_max(self) -> float:
        t = self.t_top()
        return t / (1.0 - t)

    def sigma_to_t(self, sigma) -> torch.Tensor:
        """The network's time input N t at sigma (float64): N sigma / (1 + sigma)."""
        s = torch.as_tensor(sigma, dtype=torch.float64)
        return self.num_train_timesteps * s / (1 + s)

    def t_to_sigma(self, t) -> torch.Tensor:
        """Inverse of ``sigma_to_t`` for a network time input in [0, N t_top] (clamped there)."""
        u = torch.as_tensor(t, dtype=torch.float64) / self.num_train_timesteps
        u = u.clamp(0.0, self.t_top())
        return u / (1 - u)

    def times(self, steps: int) -> torch.Tensor:
        """The grid's descending times t_0 = t_top > ... > t_{steps-1} > 0 (diffusers' shifted linear spacing)."""
        if isinstance(steps, bool) or int(steps) != steps or steps < 1:
            raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
        N = self.num_train_timesteps
        low = 1.0 / N if self.dynamic else float(self.shifted(1.0 / N))
        t = self.shifted(torch.linspace(1.0, low, int(steps), dtype=torch.float64))
        if self.shift_terminal:
            t = 1 - (1 - t) * (1 - self.shift_terminal) / (1 - t[-1])
        t[0] = self.t_top()
        if steps > 1 and float(t[1]) >= float(t[0]):
            raise ValueError(f"{steps} steps put the second level of this flow-matching grid (t = "
                             f"{float(t[1]):.6g}) at or above its top t = {float(t[0]):.6g} (the highest of its {N} "
                             f"training levels below 1); use fewer steps")
        return t

    def grid(self, steps: int) -> torch.Tensor:
        """Descending sigma grid (float64, length steps + 1, ending at 0): sigma = t / (1 - t) of ``times``."""
        t = self.times(steps)
        return torch.cat([t / (1 - t), torch.zeros(1, dtype=torch.float64)])


def flow_schedule_from_config(cfg: dict, *, tokens: int | None = None, shift: float | None = None) -> FlowSchedule:
    """The ``FlowSchedule`` of a flow-matching scheduler config (ValueError saying why for one that cannot map;
    tokens: the image sequence length a dynamic shift is resolved for)."""
    name = str(cfg.get("_class_name", "scheduler"))
    if cfg.get("invert_sigmas"):
        raise ValueError(f"{name} has invert_sigmas: its network's time input runs from the noise at 0 to the clean "
                         f"image at 1, the reverse of flow matching's t")
    dynamic = bool(cfg.get("use_dynamic_shifting", False))
    if shift is None and dynamic:
        if tokens is None:
            raise ValueError(f"{name} shifts its times by the image size (use_dynamic_shifting) and the network's "
                             f"sample_size is unknown; pass shift=... to from_diffusers")
        lo, hi = float(_or(cfg.get("base_shift"), 0.5)), float(_or(cfg.get("max_shift"), 1.15))
        n_lo, n_hi = int(cfg.get("base_image_seq_len", 256)), int(cfg.get("max_image_seq_len", 4096))
        mu = lo + (hi - lo) * (int(tokens) - n_lo) / (n_hi - n_lo)
        kind = cfg.get("time_shift_type", "exponential")
        if kind not in ("exponential", "linear"):
            raise ValueError(f"time_shift_type {kind!r} of {name} is not supported (exponential or linear)")
        shift = math.exp(mu) if kind == "exponential" else mu
    elif shift is None:
        shift = float(cfg.get("shift", 1.0))
    try:
        return FlowSchedule(num_train_timesteps=int(cfg.get("num_train_timesteps", 1000)), shift=float(shift),
                            dynamic=dynamic, shift_terminal=float(_or(cfg.get("shift_terminal"), 0.0)))
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from err


def _or(value, default):
    return default if value is None else value


class FlowDenoiser(Denoiser):
    """A velocity network of a flow-matching model (module docstring): x0 = x_t - t v, eps = x_t + (1 - t) v."""

    parameterization = "flow"

    def __init__(self, net: nn.Module, schedule: FlowSchedule = FlowSchedule()):
        super().__init__(net)
        self.schedule = schedule
        self.sigma_min = 0.0  # t = 0 is a level the network was trained on
        self.sigma_max = schedule.sigma_max()

    def input_scale(self, sigma):
        """1 - t = 1 / (1 + sigma): the model's x_t = x~ / (1 + sigma)."""
        return 1.0 / (1.0 + torch.as_tensor(sigma, dtype=torch.float64))

    def default_grid(self, steps: int) -> torch.Tensor:
        """The model's own sampling grid (``FlowSchedule.grid``); ``inversion.default_sigmas`` uses it."""
        return self.schedule.grid(steps)

    def _predict(self, x, sigma, label):
        a = bcast(1.0 / (1.0 + sigma), x)                    # 1 - t
        t = bcast(sigma / (1.0 + sigma), x)                  # t
        xt = x * a                                            # model space: (1 - t) x0 + t n
        v = call_net(self.net, xt, self.schedule.sigma_to_t(sigma.detach().double()).to(x.dtype), label)
        return Prediction(x0=xt - t * v, eps=xt + a * v)
