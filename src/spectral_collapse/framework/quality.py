"""The model-quality gate: is a diffusion model good enough for its inversions to say anything about the data?

``gate_report`` measures a model against real crops of its data, a row per check with its value, its threshold
(``THRESHOLDS``, fixed before any study result is looked at) and whether it passed; a model passes when every check
it can be judged on passes. An autoencoder is judged on its reconstructions (``vae_report``); edge maps also get
their share of edge pixels checked (``framework.edge_density``). The quick profile draws 256 per label and sampler
(at 64, channel means stray 10 %)."""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from .edge_density import EDGE_LABEL, edge_stats, edge_task

__all__ = ["THRESHOLDS", "GATE_VERSION", "GateReport", "WeakModelError", "gate_report", "vae_report", "plateau_change",
           "denoised_mean_bias", "sliced_wasserstein", "StochasticHeun", "band_log_ratio", "TerminalStart",
           "start_pool", "deterministic_sampler", "is_flow_model", "CHECKS", "samplers", "draw_samples", "input_shape",
           "crop_pools", "channel_errors", "patch_ratio", "nn_distances", "RULES", "REPORTED"]

GATE_VERSION = 2
THRESHOLDS = {
    "spectrum": 0.3,        # max |log10 power ratio| over radial bands up to Nyquist
    "mean": 0.10,           # max relative error of a channel's mean, [0, 1] intensity scale
    "std": 0.10,            # max relative error of a channel's std
    "patches": 2.0,         # max ratio of patch SW distances (samples vs held-out real crops)
    "memorisation": 0.75,   # min ratio of median nearest-training-crop distances (samples vs held-out crops)
    "plateau": 0.02,        # max relative improvement of the held-out loss over the last fifth of training
}
# "edges" (edge-map data only, ``framework.edge_density``): its threshold is computed from the data, per report row
RULES = {"spectrum": "<=", "mean": "<=", "std": "<=", "patches": "<=", "memorisation": ">=", "plateau": "<",
         "edges": "<="}
_COMPARE = {"<=": operator.le, ">=": operator.ge, "<": operator.lt}
CHECKS = (*THRESHOLDS, "edges")
REPORTED = ("edges",)  # checks whose failure marks a model below the gate without refusing it (``GateReport.require``)
_SEED = 1234
_PATCH = 4  # patch side of the patch-distribution distance
_PROJECTIONS = 64  # random directions of the sliced Wasserstein distance


def band_log_ratio(x: torch.Tensor, real: torch.Tensor) -> np.ndarray:
    """log10(power of x / power of real) in each radial band 1..Nyquist, averaged over images and channels."""
    from ..metrics.latent import radial_power_spectrum

    nyq = min(x.shape[-2:]) // 2
    px, pr = (radial_power_spectrum(a.double())[1] for a in (x, real))
    px, pr = (p.reshape(-1, p.shape[-1]).mean(0)[: nyq + 1] for p in (px, pr))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.log10(px[1:] / pr[1:])
    return np.where(np.isfinite(r), r, np.inf)


def channel_errors(x: torch.Tensor, real: torch.Tensor) -> tuple[float, float]:
    """Largest relative error over channels of the mean ([0, 1] intensities) and of the std."""
    xs, rs = x.double().transpose(0, 1).flatten(1), real.double().transpose(0, 1).flatten(1)
    mx, mr = (xs.mean(1) + 1) / 2, (rs.mean(1) + 1) / 2
    sx, sr = xs.std(1), rs.std(1)
    mean_err = ((mx - mr).abs() / mr.abs().clamp_min(1e-8)).max()
    std_err = ((sx - sr).abs() / sr.clamp_min(1e-8)).max()
    return float(mean_err), float(std_err)


def _patches(x: torch.Tensor) -> torch.Tensor:
    p = torch.nn.functional.unfold(x.double(), _PATCH, stride=_PATCH)  # (N, C*16, L)
    return p.transpose(1, 2).reshape(-1, p.shape[1])


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, projections: int = _PROJECTIONS, seed: int = _SEED) -> float:
    """Sliced 1-Wasserstein distance between two equal-size point sets (rows), over fixed random directions."""
    if a.shape != b.shape:
        raise ValueError(f"sliced_wasserstein needs equal-size sets, got {tuple(a.shape)} and {tuple(b.shape)}")
    g = torch.Generator().manual_seed(seed)
    dirs = torch.randn(a.shape[1], projections, generator=g, dtype=torch.float64)
    dirs /= dirs.norm(dim=0, keepdim=True)
    pa, pb = (a.double() @ dirs).sort(0).values, (b.double() @ dirs).sort(0).values
    return float((pa - pb).abs().mean())


def patch_ratio(x: torch.Tensor, held: torch.Tensor, pool: torch.Tensor, gen: torch.Generator) -> float:
    """SW(patches of x, of n training crops) / SW(patches of n held-out crops, of the same training crops)."""
    n = min(len(x), len(held), len(pool))
    ref = pool[torch.randperm(len(pool), generator=gen)[:n]]
    num = sliced_wasserstein(_patches(x[:n]), _patches(ref))
    den = sliced_wasserstein(_patches(held[:n]), _patches(ref))
    return num / max(den, 1e-12)


def nn_distances(x: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
    """Euclidean distance of each image of x to its nearest image of pool (all eight dihedral views)."""
    from ..data.unpaired import dihedral

    flat_x = x.double().flatten(1)
    best = torch.full((len(x),), float("inf"), dtype=torch.float64)
    for k in range(8):
        p = dihedral(pool, k).double().flatten(1)
        for i in range(0, len(p), 2048):
            best = torch.minimum(best, torch.cdist(flat_x, p[i:i + 2048]).min(1).values)
    return best


def denoised_mean_bias(D, x0: torch.Tensor, label: int, sigmas, *, seed: int = _SEED, batch: int = 64) -> pd.DataFrame:
    """The relative error ([0, 1] scale) of each channel's mean of D(x0 + sigma n) against x0's, a row per sigma: where
    a failed ``mean`` check comes from. Not judged."""
    from ..inversion.loop import model_device

    n = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed), dtype=x0.dtype)  # drawn on the CPU
    ref = (x0.double().mean((0, 2, 3)) + 1) / 2
    dev = model_device(D) or x0.device  # the crops go where the model is (a GPU); the means come back to the CPU
    rows = []
    with torch.no_grad():
        for sigma in sigmas:
            out = torch.cat([D((x0[i:i + batch] + float(sigma) * n[i:i + batch]).to(dev), float(sigma),
                               label).x0.double().cpu() for i in range(0, len(x0), batch)])
            rel = ((out.mean((0, 2, 3)) + 1) / 2 - ref) / ref.abs().clamp_min(1e-8)
            rows.append({"sigma": float(sigma), **{f"channel {c}": float(v) for c, v in enumerate(rel)}})
    return pd.DataFrame(rows).set_index("sigma")


def plateau_change(heldout: list, total_steps: int) -> float | None:
    """Relative improvement of the held-out loss (mean over bands) over the last fifth of training:
    (L(0.8 T) - L(T)) / L(0.8 T), from the trainer's ``heldout`` log rows [step, mean, bands...]. None without one."""
    rows = np.array([r[:2] for r in heldout or [] if r and r[0] is not None], dtype=float).reshape(-1, 2)
    if len(rows) < 2 or not total_steps or rows[-1, 0] < total_steps:
        return None
    i = int(np.argmin(np.abs(rows[:, 0] - 0.8 * total_steps)))
    return float((rows[i, 1] - rows[-1, 1]) / rows[i, 1])


class WeakModelError(RuntimeError):
    """A model below the quality gate was given to a study that requires a gated model."""


@dataclass
class GateReport:
    """The gate's verdict on one model: ``rows`` (check, sampler, label, value, threshold, rule, passed)."""

    model: str
    rows: pd.DataFrame
    info: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        judged = self.rows[self.rows["passed"].notna()]
        return bool(len(judged)) and bool(judged["passed"].astype(bool).all())

    def failures(self) -> pd.DataFrame:
        return self.rows[self.rows["passed"].notna() & ~self.rows["passed"].fillna(True).astype(bool)]

    def describe_failures(self, limit: int = 4) -> str:
        """The failed checks in words: "spectrum (DDIM samples, label 1) 0.82, must be ≤ 0.3; ..."."""
        bad = self.failures()
        signs = {"<=": "≤", ">=": "≥"}
        value = lambda v: f"{v:.3g}" if np.isfinite(v) else "not computable (non-finite samples)"   # noqa: E731
        parts = [f"{r.check} ({_where(r)}) {value(float(r.value))}, must be {signs.get(r.rule, r.rule)} {r.threshold:g}"
                 for r in bad.head(limit).itertuples()]
        more = len(bad) - limit
        return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")

    def to_dict(self) -> dict:
        rows = self.rows.astype(object).where(self.rows.notna(), None).to_dict(orient="records")
        return {"model": self.model, "version": GATE_VERSION, "passed": self.passed, "rows": rows, "info": self.info}

    @classmethod
    def from_dict(cls, d: dict) -> "GateReport":
        return cls(d["model"], pd.DataFrame(d["rows"]), d.get("info", {}))

    def require(self, allow_weak_model: bool = False) -> None:
        """Raise WeakModelError naming the failed checks and the fix, unless the model passed, weak is allowed or
        every failed check is a ``REPORTED`` one (the model runs, recorded as below the gate)."""
        bad = self.failures()["check"]
        if self.passed or allow_weak_model or (len(bad) and bad.isin(REPORTED).all()):
            return
        raise WeakModelError(
            f"model {self.model} is below the quality gate: {self.describe_failures()}. Its inversions would describe "
            f"an under-trained model, not the data. Train it longer (more steps in the profile's TrainConfig) or "
            f"pass allow_weak_model=True to proceed anyway (every chapter and table of that run is then stamped "
            f"with a warning)")


def _where(r) -> str:
    """Where a row was measured ("DDIM, label 1"); "training log" for the plateau check."""
    parts = [str(r.sampler)] if isinstance(r.sampler, str) and r.sampler else []
    return ", ".join(parts + ([f"label {int(r.label)}"] if pd.notna(r.label) else [])) or "training log"


def _row(check, value, sampler=None, label=None, threshold=None, **extra) -> dict:
    thr, rule = THRESHOLDS[check] if threshold is None else threshold, RULES[check]
    passed = None if value is None else bool(np.isfinite(value) and _COMPARE[rule](value, thr))
    return {"check": check, "sampler": sampler, "label": label, "value": None if value is None else float(value),
            "threshold": thr, "rule": rule, "passed": passed, **extra}


def _image_rows(x, ref, held, pool, gen, sampler, label) -> list[dict]:
    """The spectrum, mean and std rows of images ``x`` against ``ref``, and the patches row (``patch_ratio``)."""
    ratio = band_log_ratio(x, ref)
    m_err, s_err = channel_errors(x, ref)
    return [_row("spectrum", float(np.abs(ratio).max()), sampler, label, bands=[round(float(v), 4) for v in ratio]),
            _row("mean", m_err, sampler, label), _row("std", s_err, sampler, label),
            _row("patches", patch_ratio(x, held, pool, gen), sampler, label)]


@dataclass(frozen=True)
class StochasticHeun:
    """EDM's stochastic sampler (Karras et al. 2022, Algorithm 2): fresh noise raises sigma to sigma (1 + gamma), gamma
    = min(S_churn / steps, sqrt(2) - 1) (not above ``D.sigma_max``), then a Heun step down (Euler for the last step
    to 0). Noise comes from the context's per-sample seeds."""

    S_churn: float = 40.0

    def step(self, D, x, sigma: float, sigma_next: float, ctx):
        steps = len(ctx.sigmas) - 1 if ctx.sigmas is not None else 50
        gamma = min(self.S_churn / steps, math.sqrt(2.0) - 1.0)
        hat = sigma * (1.0 + gamma)
        if hat > float(getattr(D, "sigma_max", float("inf"))) or sigma_next == 0:
            hat = sigma
        if hat > sigma:
            x = x + math.sqrt(hat**2 - sigma**2) * ctx.randn(x, f"churn-{ctx.step_index}")
        d_cur = ctx.denoise(D, x, hat).eps
        x_next = x + (sigma_next - hat) * d_cur
        if sigma_next == 0:
            return x_next
        d_next = ctx.denoise(D, x_next, sigma_next).eps
        return x + (sigma_next - hat) * 0.5 * (d_cur + d_next)


def samplers(D) -> dict:
    """{name: sampler} the gate judges ``D`` with: Heun (EDM and flow models) or DDIM, then ``StochasticHeun``."""
    from ..inversion.methods.ddim import Euler, Heun
    from ..models.denoisers import EDMDenoiser

    if isinstance(D, EDMDenoiser) or is_flow_model(D):
        return {"Heun": Heun(), "stochastic Heun": StochasticHeun()}
    return {"DDIM": Euler(), "stochastic Heun": StochasticHeun()}


def is_flow_model(D) -> bool:
    """Whether ``D`` is a flow-matching model (judged with Heun, with Euler's errors recorded beside)."""
    from ..models.flow import FlowDenoiser

    return isinstance(D, FlowDenoiser)


def deterministic_sampler(D) -> str:
    """The name of the deterministic sampler the gate judges ``D`` with (``samplers``): "DDIM" or "Heun"."""
    return next(iter(samplers(D)))


def start_pool(data, label: int, space=None) -> torch.Tensor:
    """The training distribution of a label in the model's own space, (M, ...): every dihedral view of its training
    pool, or their latents (``data``'s LatentDomains' own, else encoded by ``space``, a user's model's autoencoder)."""
    if hasattr(data, "_encoded"):  # LatentDomains: the latents the model was trained on
        return data._encoded()[label].flatten(0, 1)
    from ..data.unpaired import dihedral

    pool, _ = crop_pools(data, label)
    views = torch.cat([dihedral(pool, k) for k in range(8)])
    if space is None:
        return views
    with torch.no_grad():
        return torch.cat([space.encode(views[i:i + 256]) for i in range(0, len(views), 256)])


class TerminalStart:
    """Where sampling starts at noise level sigma: g + sigma z, g drawn (a seed per sample) from the Gaussian with the
    mean and covariance of ``pool``, the training data. Pure noise misses each channel's brightness, a shift of the
    schedule, not of what the model learned (``info["unit_start"]`` records it)."""

    def __init__(self, pool: torch.Tensor):
        flat = pool.double().flatten(1)
        self.mu = flat.mean(0)
        self.cen = ((flat - self.mu) / math.sqrt(max(len(flat) - 1, 1))).float()

    def __call__(self, z: torch.Tensor, sigma: float, seeds) -> torch.Tensor:
        w = torch.stack([torch.randn(len(self.cen), generator=torch.Generator().manual_seed(int(k) ^ 0x5A17))
                         for k in seeds])
        g = (self.mu + (w @ self.cen).double()).view(z.shape)
        return (g + float(sigma) * z.double()).to(z.dtype)


def draw_samples(D, sampler, n: int, label: int, steps: int, shape: tuple, seed: int, batch: int, space=None,
                 start: TerminalStart | None = None) -> torch.Tensor:
    """n samples of a label, begun from ``start`` (a TerminalStart), or from pure noise when start is None (on a GPU,
    replayed as CUDA graphs kept with the model: ``inversion.graphs``)."""
    from ..inversion.loop import default_sigmas, sample, sample_seeds

    sig = default_sigmas(D, steps)
    seeds = sample_seeds(seed + 1000 * label, range(n))
    out = []
    for i in range(0, n, batch):
        s = seeds[i:i + batch]
        z = torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(k)) for k in s])
        x0 = D.from_noise(z, float(sig[0])) if start is None else start(z, float(sig[0]), s)
        x = sample(D, x0, sig, sampler, label=label, seeds=s).x
        out.append(x if space is None else space.decode(x))
    return torch.cat(out).float()


def input_shape(D) -> tuple:
    """(channels, side, side) of the tensor the model ``D`` diffuses, from its network's config."""
    cfg = D.net.config
    side = cfg.sample_size[0] if isinstance(cfg.sample_size, (tuple, list)) else cfg.sample_size
    return (int(cfg.in_channels), int(side), int(side))


def crop_pools(data, label: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(training pool, held-out crops) of a class label: source / test_source for 0, target / test_target for 1."""
    base = getattr(data, "data", data)
    return (base.source, base.test_source) if label == 0 else (base.target, base.test_target)


def gate_report(D, data, *, name: str = "model", steps: int = 50, n: int = 64, labels=(0, 1), space=None,
                shape: tuple | None = None, heldout: list | None = None, total_steps: int | None = None,
                batch: int = 32, seed: int = 0) -> GateReport:
    """Measure ``D`` against ``data`` on every check (space: the LatentSpace decoding samples; heldout, total_steps:
    the trainer's log, for the plateau); samples from pure noise go to ``info["unit_start"]``, not judged."""
    space = space if space is not None else getattr(data, "space", None)
    shape = shape or input_shape(D)
    gen = torch.Generator().manual_seed(_SEED)
    rows, info = [], {"n": n, "steps": steps, "labels": list(labels), "unit_start": []}
    edges = edge_task(data)
    D.eval()
    for label in labels:
        pool, held = crop_pools(data, label)
        d_held = nn_distances(held[:n], pool).median()
        start = TerminalStart(start_pool(data, label, None if hasattr(data, "_encoded") else space))
        for sname, sampler in samplers(D).items():
            x = draw_samples(D, sampler, n, label, steps, shape, seed, batch, space, start)
            if not torch.isfinite(x).all():
                rows += [_row(check, float("nan"), sname, label) for check in CHECKS[:5]]
                continue
            rows += _image_rows(x, pool, held, pool, gen, sname, label)
            if edges and label == EDGE_LABEL:  # edge maps: the share of edge pixels against the training maps'
                e = edge_stats(x, pool)
                rows.append(_row("edges", e["value"], sname, label, threshold=e["threshold"], share=e["share"],
                                 real=e["real"]))
            d_x = nn_distances(x, pool).median()
            rows.append(_row("memorisation", float(d_x / d_held.clamp_min(1e-12)), sname, label))
        if is_flow_model(D):  # the Euler steps a flow model's inversions take, from the same starts: recorded, not judged
            from ..inversion.methods.ddim import Euler

            euler = draw_samples(D, Euler(), n, label, steps, shape, seed, batch, space, start)
            m_err, s_err = channel_errors(euler, pool)
            info.setdefault("euler", []).append({"sampler": "Euler", "label": label, "mean": m_err, "std": s_err})
        det_name, det = next(iter(samplers(D).items()))   # begun from pure noise: the schedule's share, not judged
        noise = draw_samples(D, det, n, label, steps, shape, seed, batch, space)
        m_err, s_err = channel_errors(noise, pool)
        info["unit_start"].append({"sampler": det_name, "label": label, "mean": m_err, "std": s_err,
                                   **({"edges": edge_stats(noise, pool)["share"]}
                                      if edges and label == EDGE_LABEL and torch.isfinite(noise).all() else {})})
    rows.append(_row("plateau", plateau_change(heldout, total_steps)))
    return GateReport(name, pd.DataFrame(rows), info)


def vae_report(space, data, *, name: str = "vae", n: int = 64, labels=(0, 1)) -> GateReport:
    """The autoencoder's reconstructions of held-out crops against those crops (spectrum, mean, std, patches)."""
    gen = torch.Generator().manual_seed(_SEED)
    rows, psnr = [], {}
    for label in labels:
        pool, held = crop_pools(data, label)
        x = held[:n]
        with torch.no_grad():
            rec = space.decode(space.encode(x)).float()
        rows += _image_rows(rec, x, x, pool, gen, "reconstruction", label)
        psnr[label] = float(10 * torch.log10(4.0 / (rec - x).pow(2).mean()))
    return GateReport(name, pd.DataFrame(rows), {"psnr_db": psnr, "n": n})
