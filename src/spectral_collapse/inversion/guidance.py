"""Orthogonal Variance Guidance (OVG), paper Sec. 5.1, Eq. 7-14.

At each inversion step, with the base step's own forward (x0, eps) = D(x_t)::

    L_HF = (||eps||^2 - d)^2      g_HF = grad_{x_t} L_HF      (Eq. 7-8)
    L_LF = ||x0 - x0_ref||^2      g_LF = grad_{x_t} L_LF      (Eq. 9-10)
    if <g_HF, g_LF> < 0 (conflict):                           (Eq. 11-12, PCGrad-style)
        u_HF = -eta_HF (g_HF - <g_HF,g_LF>/||g_LF||^2 g_LF)
        u_LF = -eta_LF (g_LF - <g_LF,g_HF>/||g_HF||^2 g_HF)
    else: u_HF = -eta_HF g_HF, u_LF = -eta_LF g_LF
    x_{t+1} = x_{t+1}^base + u_LF + u_HF                      (Eq. 14)

Gradients are w.r.t. the model's state x_t = s x~ (s = D.input_scale(sigma)). ``OVG.released()``: the authors' code;
``OVG.stable()``: the stable form (book/methods.md); ``GuidanceSchedule`` picks the guided steps."""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch

from ..fourier import ideal_lowpass
from .loop import Context

__all__ = ["OVG", "StableOVG", "ovg_gradients", "orthogonal_drifts", "GuidanceSchedule"]


@dataclass(frozen=True)
class GuidanceSchedule:
    """Steps i = 0 .. n-1 of an integration (from sigma to sigma_next) that are guided: all of the conditions hold."""

    sigma_min: float = 0.0              # guide only where sigma_min <= sigma (the step's starting level) ...
    sigma_max: float = math.inf         # ... <= sigma_max
    every: int = 1                      # every k-th step, counting from the first
    fraction: float = 1.0               # the first (or last) ceil(fraction * n) steps
    part: str = "first"                 # "first" | "last": which end ``fraction`` counts from

    def __post_init__(self):
        if not (self.sigma_min >= 0 and self.sigma_max >= 0) or math.isnan(self.sigma_min + self.sigma_max):
            raise ValueError(f"sigma window must be >= 0, got [{self.sigma_min}, {self.sigma_max}]")
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise ValueError(f"every must be an integer >= 1, got {self.every!r}")
        if not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"fraction must lie in [0, 1], got {self.fraction!r}")
        if self.part not in ("first", "last"):
            raise ValueError(f"part must be 'first' or 'last', got {self.part!r}")

    def active(self, i: int, n: int, sigma: float) -> bool:
        """Whether step ``i`` of ``n`` (starting at level ``sigma``) is guided."""
        k = math.ceil(self.fraction * n)
        in_part = i < k if self.part == "first" else i >= n - k
        return in_part and i % self.every == 0 and self.sigma_min <= sigma <= self.sigma_max

    def guided_steps(self, sigmas) -> list[int]:
        """The guided step indices along ``sigmas``."""
        n = len(sigmas) - 1
        return [i for i in range(n) if self.active(i, n, float(sigmas[i]))]


def _dot(a, b):
    return (a * b).flatten(1).sum(1)


def _bc(v, x):
    return v.reshape(-1, *([1] * (x.ndim - 1)))


def ovg_gradients(x: torch.Tensor, x0: torch.Tensor, eps: torch.Tensor, x0_ref: torch.Tensor, d: float,
                  vjp: str = "separate") -> tuple[torch.Tensor, torch.Tensor]:
    """g_HF and g_LF w.r.t. x (the tensor the prediction was computed from), per sample (Eq. 8, 10)."""
    v_hf = 4.0 * _bc(_dot(eps, eps) - d, eps) * eps          # dL_HF/deps
    v_lf = 2.0 * (x0 - x0_ref)                                 # dL_LF/dx0
    if vjp == "batched":
        try:
            g_hf, g_lf = torch.autograd.grad(
                (eps, x0), x,
                grad_outputs=(torch.stack([v_hf, torch.zeros_like(v_hf)]), torch.stack([torch.zeros_like(v_lf), v_lf])),
                is_grads_batched=True, retain_graph=False)[0].unbind(0)
            return g_hf.detach(), g_lf.detach()
        except RuntimeError:  # an op without a batching rule: fall back to two calls
            pass
    elif vjp != "separate":
        raise ValueError(f"vjp must be 'batched' or 'separate', got {vjp!r}")
    (g_hf,) = torch.autograd.grad(eps, x, grad_outputs=v_hf, retain_graph=True)
    (g_lf,) = torch.autograd.grad(x0, x, grad_outputs=v_lf, retain_graph=False)
    return g_hf.detach(), g_lf.detach()


def orthogonal_drifts(g_hf: torch.Tensor, g_lf: torch.Tensor, eta_hf: float, eta_lf: float,
                      projection: str = "conflict") -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 11-12 per sample. projection: "conflict" (paper), "always" or "none"."""
    if projection not in ("conflict", "always", "none"):
        raise ValueError(f"projection must be 'conflict', 'always' or 'none', got {projection!r}")
    p = _dot(g_hf, g_lf)
    n_hf = _dot(g_hf, g_hf).clamp_min(1e-12)
    n_lf = _dot(g_lf, g_lf).clamp_min(1e-12)
    proj = p < 0 if projection == "conflict" else torch.full_like(p, projection == "always", dtype=torch.bool)
    m = _bc(proj.to(g_hf.dtype), g_hf)
    u_hf = -eta_hf * (g_hf - m * _bc(p / n_lf, g_hf) * g_lf)
    u_lf = -eta_lf * (g_lf - m * _bc(p / n_hf, g_lf) * g_hf)
    return u_hf, u_lf


@dataclass(frozen=True)
class OVG:
    """OVG drift. Defaults follow the paper's equations; see ``released()`` for the authors' code."""

    eta_hf: float = 1e-6            # step size of the variance (high-frequency) term, Eq. 11
    eta_lf: float = 1e-2            # step size of the structure (low-frequency) term, Eq. 12
    projection: str = "conflict"    # "conflict" (paper), "always", "none"
    step_scaling: str = "none"      # "none" (paper Eq. 14) | "dt" (released code: x time-label gap or ln ratio)
    clip_frac: float | None = None  # released code: 1.0, each drift clipped to clip_frac * ||x_base - x_t||
    x0_ref: str = "lowpass"         # "lowpass" (paper: the condition's low frequencies) | "raw" (released code)
    lowpass_kappa: float = 0.06     # cutoff (fraction of Nyquist) of the low-pass reference
    d: float | None = None          # variance target; None -> number of elements per sample
    vjp: str = "separate"           # "separate" (two backward calls; faster on CPU) | "batched" (one call)
    schedule: GuidanceSchedule = GuidanceSchedule()  # which inversion steps are guided (default: every step, the paper)

    def __post_init__(self):
        given = [n for n in ("clip_frac", "d") if getattr(self, n) is not None]   # None: the default
        for name in ("eta_hf", "eta_lf", "lowpass_kappa", *given):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"OVG {name} must be a real number, got {type(v).__name__} {v!r}"
                                + ("; e.g. OVG(eta_hf=2e-6, eta_lf=5e-3)" if name.startswith("eta") else ""))
        bad = [f"{n} is " + ("not a number" if math.isnan(v) else "infinite" if math.isinf(v) else f"negative ({v:g})")
               for n, v in (("eta_hf", self.eta_hf), ("eta_lf", self.eta_lf)) if not (math.isfinite(v) and v >= 0)]
        if bad:
            raise ValueError(f"OVG step sizes must be finite and >= 0: {', '.join(bad)}; pass eta_hf=0 or eta_lf=0 "
                             f"to switch a term off")
        for name, valid in (("step_scaling", ("none", "dt")), ("x0_ref", ("lowpass", "raw")),
                            ("projection", ("conflict", "always", "none")), ("vjp", ("batched", "separate"))):
            if getattr(self, name) not in valid:
                raise ValueError(f"{name} must be one of {valid}, got {getattr(self, name)!r}")

    form = "paper"  # class attribute, not a field: "paper" here, "stable" for ``StableOVG`` (cache keys unchanged)

    @classmethod
    def stable(cls, **kw) -> "StableOVG":
        """The stable form (``StableOVG``), which stays finite on x0-prediction models."""
        return StableOVG(**kw)

    @classmethod
    def released(cls, eta_hf: float = 1e3, eta_lf: float = 1e-4, **kw) -> "OVG":
        """The released code's variant (BBBC021 test.yaml values by default)."""
        return cls(eta_hf=eta_hf, eta_lf=eta_lf, **{"step_scaling": "dt", "clip_frac": 1.0, "x0_ref": "raw", **kw})

    def active(self, i: int, n: int, sigma: float) -> bool:
        """Whether inversion step ``i`` of ``n`` (from level ``sigma``) gets the drift (``schedule``)."""
        return self.schedule.active(i, n, sigma)

    def _forward(self, x: torch.Tensor, ctx: Context):
        """(the base step's prediction at x, the low-frequency reference, d), checked."""
        if ctx.x_ref is None:
            raise ValueError("OVG needs the source image as x_ref (translate/invert pass it automatically)")
        if ctx.first is None:
            raise RuntimeError("OVG needs the base step's network forward; the method made none")
        x_in, _, pred = ctx.first
        if x_in is not x and x_in.grad_fn is None:  # first forward at the step input (or a function of it)
            raise RuntimeError("OVG: the base step's first forward was not evaluated at the step input")
        if "x0_ref" not in ctx.state:
            ref = ideal_lowpass(ctx.x_ref, self.lowpass_kappa) if self.x0_ref == "lowpass" else ctx.x_ref
            ctx.state["x0_ref"] = ref.detach()
        return pred, ctx.state["x0_ref"], float(self.d) if self.d is not None else float(x[0].numel())

    def drift(self, D, x, x_base, sigma: float, sigma_next: float, ctx: Context) -> torch.Tensor:
        pred, ref, d = self._forward(x, ctx)
        g_hf, g_lf = ovg_gradients(x, pred.x0, pred.eps, ref, d, self.vjp)                 # w.r.t. x~
        s = float(D.input_scale(max(sigma, D.sigma_min)))
        s_next = float(D.input_scale(sigma_next))
        g_hf, g_lf = g_hf / s, g_lf / s                                                     # w.r.t. x_t (model coords)
        u_hf, u_lf = orthogonal_drifts(g_hf, g_lf, self.eta_hf, self.eta_lf, self.projection)
        if self.step_scaling == "dt":
            if getattr(D, "parameterization", "") == "edm":
                dt = math.log(max(sigma_next, D.sigma_min) / max(sigma, D.sigma_min))
            else:
                dt = float(D.time_label(sigma_next) - D.time_label(max(sigma, D.sigma_min)))
            u_hf, u_lf = u_hf * abs(dt), u_lf * abs(dt)
        if self.clip_frac is not None:
            r_ref = ((x_base.detach() * s_next - x.detach() * s).flatten(1).norm(dim=1))       # ||x_base - x_t||
            for u in (u_hf, u_lf):
                n = u.flatten(1).norm(dim=1)
                u.mul_(_bc(torch.clamp(self.clip_frac * (r_ref + 1e-6) / (n + 1e-6), max=1.0), u))
        return (u_hf + u_lf) / s_next                                                          # back to x~


@dataclass(frozen=True)
class StableOVG(OVG):
    """OVG's stable form: Eq. 14 as an Euler step of dx/dsigma = v_base - (eta / sigma) k g_proj per term, k the
    Gauss-Newton length zeroing the root residual (k_HF = 4 r rho ||eps|| / ||g_HF||^2, k_LF = 2 L_LF / ||g_LF||^2),
    eta |dsigma| / sigma capped at 1, the drift at most ``trust * ||x_base - x_t||`` per sample."""

    # defaults calibrated on the smoke ihc-sr models (book/methods.md, "Stable form ...")
    eta_hf: float = 1.0   # relaxation rate of L_HF per unit ln sigma (dimensionless)
    eta_lf: float = 1.0   # relaxation rate of L_LF per unit ln sigma (dimensionless)
    trust: float = 1.0    # drift norm <= trust * ||x_base - x_t|| per sample and step

    form = "stable"

    def __post_init__(self):
        super().__post_init__()
        if not (math.isfinite(self.trust) and self.trust >= 0):
            raise ValueError(f"trust must be finite and >= 0, got {self.trust}")
        if self.step_scaling != "none" or self.clip_frac is not None:
            raise ValueError("the stable form scales by the sigma step and bounds the drift by `trust`; "
                             "step_scaling and clip_frac belong to OVG.released()")

    def drift(self, D, x, x_base, sigma: float, sigma_next: float, ctx: Context) -> torch.Tensor:
        pred, ref, d = self._forward(x, ctx)
        eps, x0 = pred.eps.detach(), pred.x0.detach()
        e2 = _dot(eps, eps)
        r_hf = e2 - d                                                                      # L_HF = r_hf^2
        rho_hf = e2.sqrt() - math.sqrt(d)                                                  # root residual
        l_lf = _dot(x0 - ref, x0 - ref)                                                    # L_LF = rho_lf^2
        g_hf, g_lf = ovg_gradients(x, pred.x0, pred.eps, ref, d, self.vjp)                  # w.r.t. x~
        u_hf, u_lf = orthogonal_drifts(g_hf, g_lf, 1.0, 1.0, self.projection)               # -g_proj
        tiny = torch.finfo(g_hf.dtype).tiny
        k_hf = 4.0 * r_hf * rho_hf * e2.sqrt() / _dot(g_hf, g_hf).clamp_min(tiny)
        k_lf = 2.0 * l_lf / _dot(g_lf, g_lf).clamp_min(tiny)
        h = abs(sigma_next - sigma) / max(sigma, D.sigma_min, 1e-12)                         # |dsigma| / sigma
        f_hf, f_lf = min(self.eta_hf * h, 1.0), min(self.eta_lf * h, 1.0)
        u = _bc(f_hf * k_hf, u_hf) * u_hf + _bc(f_lf * k_lf, u_lf) * u_lf
        r_ref = (x_base.detach() - x.detach()).flatten(1).norm(dim=1)                        # ||x_base - x_t||
        n = u.flatten(1).norm(dim=1)
        scale = torch.where(n > self.trust * r_ref, self.trust * r_ref / n.clamp_min(tiny), torch.ones_like(n))
        return u * _bc(scale, u)
