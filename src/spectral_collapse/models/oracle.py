"""The oracle: the exact denoiser of a labelled pair of Gaussian domains (models/gaussian.py), as a ``Denoiser``.

Labels 0 / 1 are the Gaussians of the source / target training pools, label 2 (null) that of both pools together, each
fitted in float64 over the 8 dihedral views of every crop (the trainer's augmentation). It separates what a method does
to data with the pools' first two moments from what a trained network adds; it is not trained and not gated.
``OracleDenoiser`` runs in VP coordinates, ``OracleEDMDenoiser`` in EDM's."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Callable

import torch
from torch import nn

from ..data.support import dataset_support
from .base import Prediction, bcast
from .denoisers import EDMDenoiser, EpsDenoiser
from .gaussian import GaussianImages, gaussian_from_moments, raw_moments
from .oracle_inputs import oracle_form
from .schedules import VPSchedule

__all__ = ["ORACLE", "GaussianPair", "OracleDenoiser", "OracleEDMDenoiser", "fit_oracle", "oracle_pair"]

ORACLE = "oracle"   # the name a study's ``model`` knob and ``report --model`` take for the oracle


class GaussianPair(nn.Module):
    """The oracle's "network": one ``GaussianImages`` per class label (0 source, 1 target, 2 null)."""

    def __init__(self, source: GaussianImages, target: GaussianImages, null: GaussianImages | Callable | None = None,
                 support=None):
        super().__init__()
        # the projector onto the source's support (data/support.py), or None: label 0's eps then lies exactly in it
        # for an input in it (no rounding seeds off-support directions OVG would grow)
        self.support = support
        if source.shape != target.shape:
            raise ValueError(f"the source and target Gaussians have different shapes {source.shape} / {target.shape}")
        self.domains = nn.ModuleList([source, target])
        self._null = null   # the null label's Gaussian, or a function that fits it on first use (one more eigh)
        C, H, W = source.shape
        self.config = SimpleNamespace(in_channels=C, out_channels=C, sample_size=H)
        self.class_embedding = SimpleNamespace(num_embeddings=2 if null is None else 3)

    @property
    def form(self) -> str:
        return type(self.domains[0]).__name__.replace("Gaussian", "").lower()

    def domain(self, label: int) -> GaussianImages:
        """The Gaussian of a class label (0 source, 1 target, 2 null)."""
        n = self.class_embedding.num_embeddings
        if not 0 <= int(label) < n:
            raise ValueError(f"the oracle has Gaussians for labels 0-{n - 1}, got label {int(label)}")
        if int(label) == 2 and len(self.domains) == 2:
            null = self._null() if callable(self._null) else self._null
            self.domains.append(null.to(self.domains[0].mu.device))
        return self.domains[int(label)]

    def predict(self, x: torch.Tensor, sigma: torch.Tensor, label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per sample the exact (x0, eps) of its label's Gaussian; x (B, C, H, W) in sigma coordinates, sigma (B,).
        With a ``support`` P, label 0's x0 and its Jacobian lie in P's range to the last bit."""
        x64 = x.to(torch.float64)
        x0, eps = torch.zeros_like(x64), torch.zeros_like(x64)
        for lab in label.unique().tolist():
            sel = label == lab
            G, s = self.domain(lab), sigma[sel].to(torch.float64)
            xs = x64[sel]
            if lab == 0 and self.support is not None:
                P, v = self.support, xs - G.mu
                pv = P(v)
                off, on = v - pv, G.mu + pv    # (I - P)(x - mu) and mu + P(x - mu): on depends on x through P only
                e_on = P(G.eps(on, s))
                inv = torch.where(s > 0, 1 / torch.where(s > 0, s, torch.ones_like(s)), torch.zeros_like(s))
                e, x0s = e_on + off * bcast(inv, off), on - bcast(s, on) * e_on      # sigma = 0: no noise, eps 0
            else:
                e = G.eps(xs, s)
                x0s = xs - bcast(s, xs) * e
            x0, eps = x0.index_put((sel,), x0s), eps.index_put((sel,), e)
        return x0.to(x.dtype), eps.to(x.dtype)

    def eps(self, x: torch.Tensor, sigma: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Per sample the exact eps of its label's Gaussian (``predict``)."""
        return self.predict(x, sigma, label)[1]


def _oracle_predict(self, x, sigma, label) -> Prediction:
    x0, eps = self.net.predict(x, sigma, label)
    return Prediction(x0=x0, eps=eps)


class OracleDenoiser(EpsDenoiser):
    """The oracle on a VP schedule (the eps models' grid and coordinates)."""

    _predict = _oracle_predict


class OracleEDMDenoiser(EDMDenoiser):
    """The oracle in EDM's coordinates (Karras grid from sigma_min to sigma_max; x_T = x / sigma)."""

    _predict = _oracle_predict


def oracle_pair(data, *, form: str = "auto", augment: bool = True, device=None) -> GaussianPair:
    """The ``GaussianPair`` of a dataset's training pools (the null label's fitted on first use); ``device``: where
    the moments and eigendecompositions are computed, and the pair stays."""
    base = getattr(data, "data", data)   # latent domains: the oracle is a pixel-space model
    shape = tuple(base.source.shape[1:])
    form = oracle_form(base, form, augment)   # both pools checked (models/oracle_inputs.py), before any moment
    ms = [raw_moments(p.to(device), augment=augment, form=form) for p in (base.source, base.target)]
    both = tuple(a + b for a, b in zip(*ms))
    support = dataset_support(base)[0] if isinstance(getattr(base, "source", None), torch.Tensor) else None
    return GaussianPair(*(gaussian_from_moments(m, shape, form) for m in ms),
                        null=lambda: gaussian_from_moments(both, shape, form), support=support)


def fit_oracle(data, parameterization: str = "eps", *, schedule: VPSchedule | None = None, sigma_min: float = 0.002,
               sigma_max: float = 80.0, form: str = "auto", pair: GaussianPair | None = None, device=None):
    """The oracle denoiser of ``data`` as an "eps" (VP) or "edm" model; ``pair`` reuses a fitted ``GaussianPair``."""
    pair = pair if pair is not None else oracle_pair(data, form=form, device=device)
    if parameterization == "eps":
        D = OracleDenoiser(pair, schedule or VPSchedule())
    elif parameterization == "edm":
        D = OracleEDMDenoiser(pair, sigma_min=sigma_min, sigma_max=sigma_max)
    else:
        raise ValueError(f"the oracle runs as an eps (VP) or edm model, got parameterization {parameterization!r}")
    D.checkpoint = ORACLE
    return D
