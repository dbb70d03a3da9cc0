"""The support S of a task's declared linear degradation, as an orthogonal projector on images (C, H, W).

An "sr" input with factor f is constant on f x f blocks, so the source domain lies in the subspace S of block-constant
images; an "edges" sketch has equal channels. With an exact model of such a source, deterministic inversion keeps the
latent in S (``metrics.latent.support_leak`` measures how far it leaves). A task without a known linear support has none
in closed form: ``BasisProjector`` takes a numerical range instead."""
from __future__ import annotations

import hashlib
import json
import math

import torch
import torch.nn.functional as F

from .unpaired import Task

__all__ = ["Projector", "BlockProjector", "GreyProjector", "BasisProjector", "support_projector", "dataset_support",
           "POOL_TOLERANCE"]

# the largest off-support energy share of the source pool with which ``dataset_support`` accepts a task's support
# (float32 crops in S leave about 1e-15; a pool of other images leaves 1e-3 or more)
POOL_TOLERANCE = 1e-10


class Projector:
    """An orthogonal projector P onto a subspace S (``dim``) of images of ``shape`` (C, H, W), for a batch."""

    shape: tuple
    dim: int

    @property
    def d(self) -> int:
        return math.prod(self.shape)

    @property
    def white_share(self) -> float:
        """The expected share of white noise's energy outside S: 1 - dim S / d."""
        return 1.0 - self.dim / self.d

    def complement(self, x: torch.Tensor) -> torch.Tensor:
        """(I - P) x: the component of ``x`` outside S."""
        return x - self(x)

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or tuple(x.shape[1:]) != tuple(self.shape):
            raise ValueError(f"the projector acts on images {tuple(self.shape)} in a batch (B, C, H, W), got shape "
                             f"{tuple(x.shape)}; project latents of the task's own image size")

    def fingerprint_parts(self) -> dict:
        """What keys a cache cell that uses the projector (pipeline/memo.py): its description."""
        return self.describe()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({json.dumps(self.describe(), sort_keys=True)})"


class BlockProjector(Projector):
    """P onto images constant on ``factor`` x ``factor`` blocks (per channel): each block replaced by its mean."""

    def __init__(self, factor: int, shape):
        if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
            raise ValueError(f"factor must be an integer >= 1, got {factor!r}")
        C, H, W = (int(s) for s in shape)
        if H % factor or W % factor:
            raise ValueError(f"factor {factor} does not divide the image size {H}x{W}; use a factor that divides both")
        self.factor, self.shape, self.dim = factor, (C, H, W), C * (H // factor) * (W // factor)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        f = self.factor
        low = F.avg_pool2d(x, f)                        # (B, C, H/f, W/f): the block means
        return low.repeat_interleave(f, dim=-2).repeat_interleave(f, dim=-1)

    def describe(self) -> dict:
        return {"kind": "block", "factor": self.factor, "shape": list(self.shape), "dim": self.dim}


class GreyProjector(Projector):
    """P onto images whose channels are equal (per pixel the channel mean, repeated): the span of edge sketches."""

    def __init__(self, shape):
        C, H, W = (int(s) for s in shape)
        self.shape, self.dim = (C, H, W), H * W

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        return x.mean(1, keepdim=True).expand_as(x).contiguous()

    def describe(self) -> dict:
        return {"kind": "grey", "shape": list(self.shape), "dim": self.dim}


class BasisProjector(Projector):
    """P = Q Q^T for an orthonormal basis Q (d, k) of S (columns); ``name`` says where Q comes from."""

    def __init__(self, basis: torch.Tensor, shape, name: str = "basis"):
        C, H, W = (int(s) for s in shape)
        if basis.ndim != 2 or basis.shape[0] != C * H * W:
            raise ValueError(f"the basis must be (d, k) with d = {C * H * W} rows for images {(C, H, W)}, got "
                             f"{tuple(basis.shape)}")
        self.Q, self.shape, self.dim, self.name = basis.detach(), (C, H, W), int(basis.shape[1]), str(name)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        Q = self.Q.to(device=x.device, dtype=x.dtype)
        return ((x.flatten(1) @ Q) @ Q.T).reshape(x.shape)

    def describe(self) -> dict:
        digest = hashlib.sha256(self.Q.cpu().double().numpy().tobytes()).hexdigest()[:16]
        return {"kind": "basis", "name": self.name, "shape": list(self.shape), "dim": self.dim, "sha256": digest}


def support_projector(task, shape) -> Projector:
    """The projector onto the span of ``task``'s degraded images of ``shape`` (C, H, W); "generic" raises."""
    task = Task.parse(task)
    if task.kind == "sr":
        return BlockProjector(task.factor, shape)
    if task.kind == "edges":
        return GreyProjector(shape)
    raise ValueError(f"task {task} declares no degradation, so its support is not known in closed form; use the "
                     f"exact Gaussian model's numerical range (models.gaussian: FullGaussian.range_projector) or "
                     f"declare the task ('sr' with its factor, or 'edges')")


def dataset_support(data, tolerance: float = POOL_TOLERANCE) -> tuple[Projector | None, str]:
    """(the projector of ``data.task``'s support, "") when the task has one and the source pool lies in it (off-support
    energy share at most ``tolerance``); else (None, the reason in words): a user's folder declared "sr" whose inputs
    were not made by nearest-neighbour upsampling gets None."""
    task = Task.parse(getattr(data, "task", None))
    if task.kind not in ("sr", "edges"):
        return None, f"task {task} declares no degradation with a known linear support"
    pool = data.source
    P = support_projector(task, tuple(pool.shape[1:]))
    off = total = 0.0
    for c in pool.split(256):
        c = c.to(torch.float64)
        off += float(P.complement(c).pow(2).sum())
        total += float(c.pow(2).sum())
    share = off / total if total > 0 else float("nan")
    if not share <= tolerance:
        return None, (f"the source pool does not lie in task {task}'s support (off-support energy share {share:.3g} > "
                      f"{tolerance:g}): its inputs were not made by the task's degradation")
    return P, ""
