"""CUDA graphs for the inversion and sampling loops: within ``replayed(D)`` on a GPU, each kind of call (shape, dtype,
autograd; up to ``MAX_SLOTS`` alive) replays a graph captured at its first call, a guided call's backward its captured
vector-Jacobian product. A CPU, calls a graph cannot serve (hooks, ``told``, autocast) and
``SPECTRAL_COLLAPSE_CUDA_GRAPHS=0`` run eagerly. Cost: about 0.1 s per capture and the graph's activations."""
from __future__ import annotations

import numbers
import os
import warnings
import weakref
from contextlib import contextmanager
from types import SimpleNamespace

import torch

from ..models.base import Prediction

__all__ = ["replayed", "graph_stats", "MAX_SLOTS", "WARMUP_CALLS", "ENV"]

ENV = "SPECTRAL_COLLAPSE_CUDA_GRAPHS"  # "0" turns the graphs off
MAX_SLOTS = 4       # graphs per kind of call whose outputs may be alive at once (beyond: eager)
WARMUP_CALLS = 2    # eager calls on a side stream before a capture
EMULATE = False     # tests: rerun the captured call eagerly in place of a graph, on any device

_RUNNERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


@contextmanager
def replayed(D):
    """Within the block, calls of ``D`` on a GPU replay CUDA graphs (module docstring); elsewhere nothing changes."""
    p = next(D.parameters(), None) if isinstance(D, torch.nn.Module) else None
    off = os.environ.get(ENV, "1").strip() == "0"
    if p is None or off or not (p.device.type == "cuda" or EMULATE) or "forward" in vars(D):
        yield D
        return
    if D not in _RUNNERS:
        _RUNNERS[D] = _Runner(D)
    D.forward = _RUNNERS[D]
    try:
        yield D
    finally:
        del D.forward


def graph_stats(D) -> dict:
    """{"captures", "replays", "eager"}: the calls of ``D`` served so far by ``replayed``."""
    runner = _RUNNERS.get(D)
    return dict(runner.stats) if runner is not None else {"captures": 0, "replays": 0, "eager": 0}


class _Entry:
    """Static buffers and graphs of one kind of call: forward (and, with gradients, its vector-Jacobian product)."""

    def __init__(self, fn, x: torch.Tensor, sigma: torch.Tensor, label: torch.Tensor, grad: bool):
        self.fn, self.grad, self.generation, self.alive = fn, grad, 0, ()
        self.x = x.detach().clone().requires_grad_(grad)
        self.sigma, self.label = sigma.detach().clone(), label.detach().clone()
        if EMULATE:
            # no graph: replay() reruns the captured function
            self.fwd, self.bwd = SimpleNamespace(replay=self._forward), SimpleNamespace(replay=self._backward)
            self.fwd.replay()
            return
        side = torch.cuda.Stream(x.device)
        side.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(side):
            for _ in range(WARMUP_CALLS):
                self._forward()
                if grad:
                    torch.autograd.grad((self.x0, self.eps), self.x, (torch.zeros_like(self.x0),
                                                                      torch.zeros_like(self.eps)))
        torch.cuda.current_stream(x.device).wait_stream(side)
        self.fwd = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.fwd):
            self._forward()
        if grad:
            self.bwd = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.bwd, pool=self.fwd.pool()):
                self._backward()
        self.fn = None  # the graphs hold the work; the entry must not keep the model alive

    def _forward(self) -> None:
        with torch.set_grad_enabled(self.grad):
            pred = self.fn(self.x, self.sigma, self.label)
        self.x0, self.eps = pred.x0, pred.eps
        if self.grad and not hasattr(self, "g_x0"):
            self.g_x0, self.g_eps = torch.zeros_like(self.x0), torch.zeros_like(self.eps)

    def _backward(self) -> None:
        # retain_graph: the forward's saved tensors stay, so the product can be replayed once per cotangent
        (g,) = torch.autograd.grad((self.x0, self.eps), self.x, (self.g_x0, self.g_eps), retain_graph=True)
        if hasattr(self, "g_x"):
            self.g_x.copy_(g)
        else:
            self.g_x = g

    def busy(self) -> bool:
        return any(r() is not None for r in self.alive)

    def run(self, x, sigma, label) -> tuple[torch.Tensor, torch.Tensor]:
        """Copy the inputs in, replay the forward, copy the outputs out."""
        with torch.no_grad():
            self.x.copy_(x)
            self.sigma.fill_(sigma) if isinstance(sigma, float) else self.sigma.copy_(sigma)
            self.label.fill_(label) if isinstance(label, int) else self.label.copy_(label)
        self.fwd.replay()
        self.generation += 1
        return self.x0.detach().clone(), self.eps.detach().clone()


class _Replay(torch.autograd.Function):
    """A guided call: forward replays the forward graph; backward replays the vector-Jacobian product's graph."""

    @staticmethod
    def forward(ctx, x, entry, sigma, label):
        x0, eps = entry.run(x, sigma, label)
        ctx.entry, ctx.generation = entry, entry.generation
        return x0, eps

    @staticmethod
    def backward(ctx, g_x0, g_eps):
        entry = ctx.entry
        if entry.generation != ctx.generation:
            raise RuntimeError("a CUDA graph of the network was replayed again before the gradient of its earlier "
                               f"call was taken; set {ENV}=0 to run this loop without graphs")
        if any(torch._C._functorch.is_batchedtensor(g) for g in (g_x0, g_eps)):
            raise RuntimeError("a replayed network call takes one cotangent at a time (no batched gradients)")
        entry.g_x0.copy_(g_x0)
        entry.g_eps.copy_(g_eps)
        entry.bwd.replay()
        return entry.g_x.clone(), None, None, None


class _Runner:
    """``D.forward`` within ``replayed``: picks a graph for each call, or the eager forward."""

    def __init__(self, D):
        self.D = weakref.ref(D)  # the runner is kept per D, and must not keep D alive
        self.entries, self.failed = {}, set()
        self.stats = {"captures": 0, "replays": 0, "eager": 0}

    def eager(self, D, x, sigma, label):
        self.stats["eager"] += 1
        return type(D).forward(D, x, sigma, label)

    def __call__(self, x, sigma, label):
        D = self.D()
        fn = lambda *a: type(D).forward(D, *a)  # noqa: E731  (the forward as the class defines it)
        grad = torch.is_grad_enabled() and x.requires_grad
        B = x.shape[0]
        if isinstance(sigma, numbers.Real) and not isinstance(sigma, bool):
            sig_in = float(sigma)
        elif torch.is_tensor(sigma) and not sigma.requires_grad and sigma.numel() in (1, B):
            sig_in = sigma.reshape(-1).expand(B)
        else:
            return self.eager(D, x, sigma, label)
        if torch.is_tensor(label) and label.ndim == 1 and len(label) == B:
            lab_in = label
        elif isinstance(label, numbers.Integral) or (torch.is_tensor(label) and label.ndim == 0):
            lab_in = int(label)
        else:
            return self.eager(D, x, sigma, label)
        key = (tuple(x.shape), x.dtype, grad)
        if (key in self.failed or getattr(D, "_time_sigma", None) is not None or not x.is_floating_point()
                or torch.is_autocast_enabled(x.device.type)
                or (torch.is_grad_enabled() and any(p.requires_grad for p in D.parameters()))
                or any(m._forward_hooks or m._forward_pre_hooks for m in D.modules())):
            return self.eager(D, x, sigma, label)
        slots = self.entries.setdefault(key, [])
        entry = next((e for e in slots if not e.busy()), None)
        if entry is None:
            if len(slots) >= MAX_SLOTS:
                return self.eager(D, x, sigma, label)
            sig0 = torch.as_tensor(sig_in, dtype=x.dtype, device=x.device).expand(B)  # the entry keeps copies
            lab0 = torch.as_tensor(lab_in, dtype=torch.long, device=x.device).expand(B)
            try:
                entry = _Entry(fn, x, sig0, lab0, grad)
            except Exception as err:  # noqa: BLE001 - a network a graph cannot hold runs eagerly
                self.failed.add(key)
                warnings.warn(f"{type(D).__name__}: no CUDA graph for calls of shape {tuple(x.shape)} "
                              f"({type(err).__name__}: {err}); they run eagerly", RuntimeWarning, stacklevel=3)
                return self.eager(D, x, sigma, label)
            slots.append(entry)
            self.stats["captures"] += 1
        self.stats["replays"] += 1
        if not grad:
            return Prediction(*entry.run(x, sig_in, lab_in))
        x0, eps = _Replay.apply(x, entry, sig_in, lab_in)
        entry.alive = (weakref.ref(x0), weakref.ref(eps))
        return Prediction(x0=x0, eps=eps)
