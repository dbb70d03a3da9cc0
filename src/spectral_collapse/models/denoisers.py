"""Denoiser wrappers: the ONLY place that knows whether a network predicts eps, x0, v or EDM's F. VP wrappers (paper
App. A.1): the network sees x_t = x * sqrt(alpha_bar), alpha_bar = 1 / (1 + sigma^2), and the time label t(sigma) of its
schedule."""
from __future__ import annotations

import math
from contextlib import contextmanager

import torch
from torch import nn

from .base import Denoiser, Prediction, bcast, call_net
from .schedules import VPSchedule

__all__ = ["EpsDenoiser", "X0Denoiser", "VDenoiser", "EDMDenoiser", "EDMVDenoiser", "ModelPair", "make_denoiser"]


class _VPDenoiser(Denoiser):
    def __init__(self, net: nn.Module, schedule: VPSchedule = VPSchedule()):
        super().__init__(net)
        self.schedule = schedule
        self.sigma_min = schedule.sigma_min()
        self.sigma_max = schedule.sigma_max()

    def input_scale(self, sigma):
        s = torch.as_tensor(sigma, dtype=torch.float64)
        return 1.0 / (1.0 + s**2).sqrt()

    def to_noise(self, x, sigma):
        return x / math.sqrt(1.0 + float(sigma) ** 2)

    def from_noise(self, z, sigma):
        return z * math.sqrt(1.0 + float(sigma) ** 2)

    @contextmanager
    def told(self, time_sigma: float):
        """Inside the block the network is told the time of level ``time_sigma`` while its input and output use the
        level each call asks for (diffusers' DDIMInverseScheduler: the destination timestep, the current alpha_bar)."""
        before = self._time_sigma
        self._time_sigma = float(time_sigma)
        try:
            yield self
        finally:
            self._time_sigma = before

    _time_sigma: float | None = None

    def _net(self, x, sigma, label):
        a = 1.0 / (1.0 + sigma**2).sqrt()  # sqrt(alpha_bar)
        told = sigma if self._time_sigma is None else torch.full_like(sigma, self._time_sigma)
        t = self.schedule.sigma_to_t(told.detach().double()).to(x.dtype)
        out = call_net(self.net, x * bcast(a, x), t, label)
        return out, bcast(a, x), bcast(sigma, x)


class EpsDenoiser(_VPDenoiser):
    """eps-prediction on a VP schedule (paper Eq. 17-22): eps native, x0 = x - sigma * eps."""

    parameterization = "eps"

    def _predict(self, x, sigma, label):
        eps, _, s = self._net(x, sigma, label)
        return Prediction(x0=x - s * eps, eps=eps)


class X0Denoiser(_VPDenoiser):
    """x0-prediction on a VP schedule (paper Eq. 21): x0 native, eps = (x - x0) / sigma."""

    parameterization = "x0"

    def _predict(self, x, sigma, label):
        x0, _, s = self._net(x, sigma, label)
        return Prediction(x0=x0, eps=(x - x0) / s)


class VDenoiser(_VPDenoiser):
    """v-prediction on a VP schedule: v = a * eps - b * x0 with a = sqrt(alpha_bar), b = sqrt(1 - alpha_bar)."""

    parameterization = "v"

    def _predict(self, x, sigma, label):
        v, a, s = self._net(x, sigma, label)
        b = s * a  # sqrt(1 - alpha_bar) = sigma * sqrt(alpha_bar)
        xt = x * a
        return Prediction(x0=a * xt - b * v, eps=b * xt + a * v)


class EDMDenoiser(Denoiser):
    """EDM preconditioning (Karras et al. 2022; paper Eq. 26-27): D = c_skip x + c_out F(c_in x, c_noise); time_input
    "c_noise" feeds 1/4 ln sigma (the paper's App. A.2), "sigma" raw sigma (the released code)."""

    parameterization = "edm"
    output_sign = 1.0  # the sign of c_out (EDMVDenoiser: -1)

    def __init__(self, net: nn.Module, sigma_data: float = 0.5, sigma_min: float = 0.002, sigma_max: float = 80.0,
                 time_input: str = "c_noise"):
        super().__init__(net)
        if time_input not in ("c_noise", "sigma"):
            raise ValueError(f"time_input must be 'c_noise' or 'sigma', got {time_input!r}")
        self.sigma_data, self.sigma_min, self.sigma_max, self.time_input = sigma_data, sigma_min, sigma_max, time_input

    def time_label(self, sigma):
        s = torch.as_tensor(sigma, dtype=torch.float64)
        return s.log() / 4 if self.time_input == "c_noise" else s

    def _predict(self, x, sigma, label):
        sd = self.sigma_data
        s = bcast(sigma, x)
        c_in = 1 / (s**2 + sd**2).sqrt()
        c_skip = sd**2 / (s**2 + sd**2)
        c_out = s * sd / (s**2 + sd**2).sqrt()
        t = sigma.log() / 4 if self.time_input == "c_noise" else sigma
        F = self.output_sign * call_net(self.net, x * c_in, t.to(x.dtype), label)
        x0 = c_skip * x + c_out * F
        # eps = (x - x0)/sigma = ((1 - c_skip) x - c_out F)/sigma, written without dividing a difference
        eps = (s / (s**2 + sd**2)) * x - (sd / (s**2 + sd**2).sqrt()) * F
        return Prediction(x0=x0, eps=eps)


class EDMVDenoiser(EDMDenoiser):
    """EDM preconditioning with c_out negated (diffusers' EDM schedulers with prediction_type "v_prediction")."""

    output_sign = -1.0


def make_denoiser(net: nn.Module, parameterization: str, *, schedule=None, sigma_data: float = 0.5,
                  sigma_min: float = 0.002, sigma_max: float = 80.0, time_input: str = "c_noise") -> Denoiser:
    """Wrap ``net`` by name: ``eps``, ``x0``, ``v`` (a VPSchedule, default ``VPSchedule()``), ``edm`` or ``flow``
    (a FlowSchedule, default ``FlowSchedule()``)."""
    if parameterization == "edm":
        return EDMDenoiser(net, sigma_data=sigma_data, sigma_min=sigma_min, sigma_max=sigma_max, time_input=time_input)
    if parameterization == "flow":
        from .flow import FlowDenoiser, FlowSchedule

        if schedule is not None and not isinstance(schedule, FlowSchedule):
            raise TypeError(f"a flow-matching model takes a FlowSchedule, got {type(schedule).__name__}")
        return FlowDenoiser(net, schedule or FlowSchedule())
    cls = {"eps": EpsDenoiser, "x0": X0Denoiser, "v": VDenoiser}.get(parameterization)
    if cls is None:
        raise ValueError(f"unknown parameterization {parameterization!r}; choose one of eps, x0, v, edm, flow")
    return cls(net, schedule or VPSchedule())


class ModelPair(Denoiser):
    """Two-model translation as DDIB (Su et al. 2023): invert with ``source``, sample with ``target``. As a
    denoiser the pair is its source model; both models' weights are part of the pair's state."""

    def __init__(self, source: Denoiser, target: Denoiser):
        if isinstance(source, ModelPair) or isinstance(target, ModelPair):
            raise ValueError("a ModelPair holds two single denoisers, not another pair")
        super().__init__(source.net)
        self.source = source
        self.target = target
        for name in ("parameterization", "sigma_min", "sigma_max", "schedule", "sigma_data", "time_input",
                     "input_scale", "to_noise", "from_noise", "time_label"):   # the source's settings and coordinates
            if hasattr(source, name):
                setattr(self, name, getattr(source, name))

    def forward(self, x, sigma, label) -> Prediction:
        return self.source(x, sigma, label)
