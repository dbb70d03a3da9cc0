"""Exact denoisers of Gaussian data, wrapped as eps / x0 / v / EDM / flow networks (a test fixture: closed forms).

For data ~ N(m, s^2 I), D*(x; sigma) = m + (x - m) s^2 / (sigma^2 + s^2) is the exact denoiser (m = 0 unless
``means`` is given). ``GaussianOracleNet``
recovers sigma from the network's time input, computes D*, and returns what a network of the requested
parameterisation would output, so every wrapper of the same oracle must agree (tests/test_denoisers.py).
Each class label has its own data std (label 0 source, 1 target, 2 null), so translation is a known rescaling.

The flow kind is the exact velocity of flow matching (models/flow.py): on x_t = (1 - t) x0 + t n with time input
N t it returns v = E[n - x0 | x_t] = eps* - D*, where x~ = x_t / (1 - t), sigma = t / (1 - t) and
eps* = (x~ - m) sigma / (sigma^2 + s^2) = E[n | x_t]. Its expected flow loss (train/losses.py) at level t is the
conditional variance of n - x0, s^2 / ((1 - t)^2 s^2 + t^2) per element (the minimum over all velocity fields).
"""
from __future__ import annotations

import torch
from torch import nn

from spectral_collapse.models.schedules import VPSchedule

__all__ = ["GaussianOracleNet"]


class GaussianOracleNet(nn.Module):
    def __init__(self, kind: str, stds=(0.5, 1.0, 0.75), schedule=None, sigma_data: float = 0.5,
                 time_input: str = "c_noise", means=None):
        super().__init__()
        if kind not in ("eps", "x0", "v", "edm", "flow"):
            raise ValueError(f"unknown kind {kind!r}")
        if schedule is None:
            from spectral_collapse.models.flow import FlowSchedule

            schedule = FlowSchedule() if kind == "flow" else VPSchedule()
        self.kind, self.schedule, self.sigma_data, self.time_input = kind, schedule, sigma_data, time_input
        self.register_buffer("stds", torch.tensor(stds, dtype=torch.float64))
        self.register_buffer("means", torch.tensor(means if means is not None else [0.0] * len(stds),
                                                   dtype=torch.float64))
        self.dummy = nn.Parameter(torch.zeros(()))  # so the module has a parameter, like a real network

    def forward(self, x, t, class_labels):
        B = x.shape[0]
        s = self.stds[class_labels].to(x.dtype).reshape(B, 1, 1, 1)
        m = self.means[class_labels].to(x.dtype).reshape(B, 1, 1, 1)
        t = torch.as_tensor(t).reshape(-1).expand(B)
        if self.kind == "edm":
            sig = (4 * t).exp() if self.time_input == "c_noise" else t
            sig = sig.to(x.dtype).reshape(B, 1, 1, 1)
            xt = x * (sig**2 + self.sigma_data**2).sqrt()  # undo c_in
        elif self.kind == "flow":
            sig = self.schedule.t_to_sigma(t.detach().double()).to(x.dtype).reshape(B, 1, 1, 1)
            xt = x * (1 + sig)                             # x~ = x_t / (1 - t)
        else:
            sig = self.schedule.t_to_sigma(t.detach().double()).to(x.dtype).reshape(B, 1, 1, 1)
            a = 1 / (1 + sig**2).sqrt()
            xt = x / a
        x0 = m + (xt - m) * s**2 / (sig**2 + s**2)
        eps = (xt - m) * sig / (sig**2 + s**2)
        if self.kind == "eps":
            out = eps
        elif self.kind == "x0":
            out = x0
        elif self.kind == "v":
            a = 1 / (1 + sig**2).sqrt()
            out = a * eps - (sig * a) * x0
        elif self.kind == "flow":
            out = eps - x0                                 # v = E[n - x0 | x_t]
        else:
            sd = self.sigma_data
            c_skip = sd**2 / (sig**2 + sd**2)
            c_out = sig * sd / (sig**2 + sd**2).sqrt()
            out = (x0 - c_skip * xt) / c_out
        return out + 0 * self.dummy


