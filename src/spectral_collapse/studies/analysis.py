"""The analysis studies of the paper's Sec. 4 and App. B / E, each returning (and storing) one xr.Dataset.

- ``pca_collapse`` (Fig. 3): cumulative explained variance of one PCA over a set of inverted latents against
  Gaussian noise of the same shape and count. SR datasets: the profile's model (trained at the profile's factor)
  inverts inputs degraded at several factors; other datasets: DDIM vs TABA vs EDM latents.
- ``gaussianity`` (Fig. 7, Eq. 31-33): ||x_T||^2 per latent against chi2(d); KS statistic, p-value, S_G and
  mean ||x_T||^2 / d per method.
- ``decorrelation`` (Fig. 8, Eq. 34-36): per-latent S_DC (1 - flagged-patch ratio) and flag masks per method,
  and (S_G, mean S_DC) over runs with several seeds and step counts.
- ``velocity`` (Fig. 17): log10 radial power of the inversion updates z_{i+1} - z_i per step, from the loop's
  per-step callback, for DDIM, EDM, OVG and OVG + EDM.
- ``metric_validation`` (Figs. 9, 11-12, 14): radially averaged log power spectra and their slopes, S_HF of
  Fourier-filtered real images, and the correlation matrix of all metrics over the main-results runs.

Inversion: a method label of studies/translation.py inverts under the source label 0 on the profile's grid; its
latent is the unit-variance x_T (``Denoiser.to_noise``). Inputs are the paired test split's degraded inputs,
then evenly spaced source-pool crops when more latents are asked for. Latent sets of trained models are cached
beside the results root (``data/cache/latents/`` for ``data/results``), keyed by everything they depend on
(checkpoint, method, inputs, steps, seed), so the studies share them.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats
import torch
import xarray as xr

from ..fourier import ideal_highpass, ideal_lowpass
from ..inversion import default_sigmas, invert, sample_seeds
from ..inversion.loop import primary
from ..metrics import latent as lat
from ..metrics import spectral as spec
from .profiles import get_profile
from .store import load_results, results_path, save_results
from .translation import PAPER_LABELS, STOCHASTIC, method_specs, ovg_params

__all__ = [
    "STUDIES", "DEFAULT_N_LATENTS", "VELOCITY_LABELS", "KAPPAS", "inversion_inputs", "invert_latents",
    "explained_variance_summary", "chi2_curve", "norm_histogram", "velocity_summary", "real_reference",
    "run_pca_collapse", "run_gaussianity", "run_decorrelation", "run_velocity", "run_metric_validation",
    "load_or_run", "verdict", "settings",
]

STUDIES = ("pca_collapse", "gaussianity", "decorrelation", "velocity", "metric_validation")
DEFAULT_N_LATENTS = {"smoke": 16, "quick": 256, "paper": 2000}  # Fig. 3 uses 2000 noise maps
VELOCITY_LABELS = ("ddim", "edm", "ovg", "ovg_edm")              # the four panels of Fig. 17
KAPPAS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8)                     # filter cutoffs, fraction of Nyquist


def _is_sr(dataset: str) -> bool:
    return "sr" in dataset or dataset == "bbbc021"


# ------------------------------------------------------------------------------------------- shared machinery

def inversion_inputs(data, n: int) -> tuple[torch.Tensor, int]:
    """The first ``n`` inputs to invert and how many come from the test split (the rest: spaced source-pool crops)."""
    test = data.test_source
    if n <= len(test):
        return test[:n], n
    k = min(n - len(test), len(data.source))
    idx = torch.linspace(0, len(data.source) - 1, k).round().long().unique()
    return torch.cat([test, data.source[idx]]), len(test)


def invert_latents(D, x: torch.Tensor, ms, *, steps: int, seed: int = 0, batch_size: int = 64,
                   callback=None) -> tuple[torch.Tensor, np.ndarray]:
    """Unit-variance latents x_T (N, C, H, W) of ``x`` inverted with a MethodSpec under label 0, and a finite mask."""
    sig = default_sigmas(D, steps)
    lats, ok = [], []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        tr = invert(D, xb, sig, ms.method, guidance=ms.guidance, label=0,
                    seeds=sample_seeds(seed, range(i, i + len(xb))), callback=callback)
        lats.append(D.to_noise(primary(tr.x, ms.method), float(sig[0])).detach().float())
        ok.append(tr.finite.numpy())
    return torch.cat(lats), np.concatenate(ok)


@dataclass
class _Setup:
    """Models, method specs and the latent cache of one (dataset, profile)."""

    dataset: str
    profile: str
    root: Path
    models: dict = field(default_factory=dict)
    checkpoints: dict = field(default_factory=dict)
    progress: bool = False
    memory: dict = field(default_factory=dict)

    def __post_init__(self):
        from .models import dataset_for

        self.prof = get_profile(self.profile)
        self.data = dataset_for(self.profile, self.dataset)
        self.ovg = ovg_params(self.dataset, self.profile, self.root)
        self.kappa = spec.kappa_for_size(self.data.size)

    def spec(self, label: str):
        return method_specs([label], eta_hf=self.ovg["eta_hf"], eta_lf=self.ovg["eta_lf"], lowpass_kappa=self.kappa)[0]

    def model(self, parameterization: str):
        if parameterization not in self.models:
            from .models import trained_model

            tm = trained_model(self.profile, self.dataset, parameterization, progress=self.progress)
            self.models[parameterization] = tm.denoiser
            self.checkpoints[parameterization] = str(tm.path)
        return self.models[parameterization]

    def data_at(self, factor: int | None):
        from .models import dataset_for

        return self.data if factor is None else dataset_for(self.profile, self.dataset, factor)

    def latents(self, label: str, n: int, *, factor: int | None = None, steps: int | None = None,
                seed: int = 0) -> tuple[torch.Tensor, np.ndarray, torch.Tensor]:
        """(latents, finite mask, inputs) for ``label``; computed once per key and cached on disk."""
        ms = self.spec(label)
        D = self.model(ms.parameterization)
        steps = steps or self.prof.steps
        seed = seed if label in STOCHASTIC else 0
        x, _ = inversion_inputs(self.data_at(factor), n)
        key = json.dumps({"dataset": self.dataset, "profile": self.profile, "label": label, "factor": factor,
                          "n": len(x), "steps": steps, "seed": seed, "method": ms.describe(),
                          "model": self.checkpoints.get(ms.parameterization, repr(type(D.net)))},
                         sort_keys=True, default=str)
        h = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
        if h in self.memory:
            return (*self.memory[h], x)
        on_disk = ms.parameterization in self.checkpoints   # models passed in by the caller are not cached on disk
        f = self.root.parent / "cache" / "latents" / f"{self.dataset}-{self.profile}" / f"{label}-{h}.npz"
        if on_disk and f.exists():
            z = np.load(f)
            self.memory[h] = (torch.from_numpy(z["latents"]), z["finite"])
            return (*self.memory[h], x)
        z, ok = invert_latents(D, x, ms, steps=steps, seed=seed, batch_size=self.prof.batch_size)
        if on_disk:
            f.parent.mkdir(parents=True, exist_ok=True)
            tmp = f.with_name(f".{f.name}.{os.getpid()}.npz")
            np.savez(tmp, latents=z.numpy(), finite=ok)
            os.replace(tmp, f)
        self.memory[h] = (z, ok)
        return z, ok, x

    def attrs(self, study: str, **extra) -> dict:
        return {"study": study, "dataset": self.dataset, "profile": self.profile, "steps": self.prof.steps,
                "ovg": json.dumps(self.ovg), "models": json.dumps(self.checkpoints),
                "inversion": "invert under the source label 0 on the profile's grid; x_T = Denoiser.to_noise",
                **extra}


def _setup(dataset, profile, root, models, progress) -> _Setup:
    return _Setup(dataset, profile, Path(root), dict(models or {}), {}, progress)


def _n_latents(profile: str, n: int | None) -> int:
    return int(n) if n is not None else DEFAULT_N_LATENTS.get(profile, 256)


def _save(ds: xr.Dataset, study: str, dataset: str, profile: str, root, save: bool) -> xr.Dataset:
    if save:
        save_results(ds, results_path(study, dataset, profile, root))
    return ds


def _randn_like(shape, seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------------------------------- Fig. 3

def explained_variance_summary(cev: np.ndarray, levels=(0.5, 0.9, 0.99)) -> dict:
    """Components needed to reach each level of cumulative variance, and the mean of the curve (its normalised area)."""
    c = np.asarray(cev, dtype=np.float64)
    c = c[np.isfinite(c)]
    out = {f"k{int(round(100 * q))}": int(np.argmax(c >= q - 1e-12) + 1) if (c >= q - 1e-12).any() else len(c)
           for q in levels}
    out["auc"] = float(c.mean())
    out["n_components"] = len(c)
    return out


def run_pca_collapse(dataset: str, profile: str, *, factors=None, labels=None, n_latents: int | None = None,
                     seed: int = 0, n_show: int = 6, root: str | os.PathLike = "data/results", models=None,
                     save: bool = True, progress: bool = False) -> xr.Dataset:
    """Fig. 3: cumulative explained variance of inverted latents per (method, factor) series and of Gaussian noise.

    Defaults: SR datasets invert DDIM latents of inputs degraded at factors 2, 4, 8 (the model is the profile's,
    trained at its own factor); other datasets compare DDIM, TABA and EDM. Gaussian noise has the same count and shape.
    """
    st = _setup(dataset, profile, root, models, progress)
    sr = _is_sr(dataset)
    factors = list(factors) if factors is not None else ([2, 4, 8] if sr else [None])
    labels = list(labels) if labels is not None else (["ddim"] if sr else ["ddim", "taba", "edm"])
    n = _n_latents(profile, n_latents)
    series, curves, shows, inputs, meta = [], [], [], [], []
    for label in labels:
        for f in factors:
            z, ok, x = st.latents(label, n, factor=f, seed=seed)
            name = label if f is None else f"{label} x{f}"
            series.append(name)
            curves.append(lat.pca_explained_variance(z[torch.from_numpy(ok)]))
            shows.append(z[:n_show].numpy())
            inputs.append(x[:n_show].numpy())
            meta.append((label, 0 if f is None else int(f), int(ok.sum()), int((~ok).sum())))
    gz = _randn_like(z.shape, seed + 777)
    series.append("gaussian")
    curves.append(lat.pca_explained_variance(gz))
    shows.append(gz[:n_show].numpy())
    inputs.append(np.full_like(inputs[-1], np.nan))
    meta.append(("gaussian", 0, len(gz), 0))
    K = max(len(c) for c in curves)
    cev = np.full((len(series), K), np.nan)
    for i, c in enumerate(curves):
        cev[i, :len(c)] = c
    summ = [explained_variance_summary(c) for c in curves]
    ds = xr.Dataset(
        {"cev": (("series", "component"), cev),
         **{k: ("series", np.array([s[k] for s in summ])) for k in ("k50", "k90", "k99", "auc", "n_components")},
         "n": ("series", np.array([m[2] for m in meta])), "nonfinite": ("series", np.array([m[3] for m in meta])),
         "latents": (("series", "image", "channel", "y", "x"), np.stack(shows).astype(np.float32)),
         "inputs": (("series", "image", "channel", "y", "x"), np.stack(inputs).astype(np.float32))},
        coords={"series": series, "component": np.arange(1, K + 1), "method": ("series", [m[0] for m in meta]),
                "factor": ("series", [m[1] for m in meta])})
    ds.attrs.update(st.attrs("pca_collapse", n_latents=n, model_factor=st.prof.factor if sr else 0,
                             pca="one PCA over all latents of a series (Gram matrix), centred per feature",
                             gaussian="N(0, I) draws of the same count and shape, seed + 777"))
    return _save(ds, "pca_collapse", dataset, profile, root, save)


# --------------------------------------------------------------------------------------------------- Fig. 7

def chi2_curve(d: int, lo: float, hi: float, n: int = 400) -> pd.DataFrame:
    """Density of u = ||x||^2 / d for x ~ N(0, I_d) (u ~ chi2(d) / d) on a grid over [lo, hi]: columns u, density."""
    u = np.linspace(lo, hi, n)
    return pd.DataFrame({"u": u, "density": d * scipy.stats.chi2.pdf(u * d, d)})


def norm_histogram(norm_ratio, bins: int = 30, range_=None) -> pd.DataFrame:
    """Density histogram of u = ||x_T||^2 / d: columns left, right, center, density (integrates to 1)."""
    v = np.asarray(norm_ratio, dtype=np.float64)
    v = v[np.isfinite(v)]
    dens, edges = np.histogram(v, bins=bins, range=range_, density=True)
    return pd.DataFrame({"left": edges[:-1], "right": edges[1:], "center": (edges[:-1] + edges[1:]) / 2,
                         "density": dens})


def run_gaussianity(dataset: str, profile: str, *, labels=PAPER_LABELS, n_latents: int | None = None, seed: int = 0,
                    root: str | os.PathLike = "data/results", models=None, save: bool = True,
                    progress: bool = False) -> xr.Dataset:
    """Fig. 7 / Eq. 31-33: ||x_T||^2 / d per latent and the KS test against chi2(d) per method."""
    st = _setup(dataset, profile, root, models, progress)
    n = _n_latents(profile, n_latents)
    rows, ratios = [], []
    for label in labels:
        z, ok, _ = st.latents(label, n, seed=seed)
        d = z[0].numel()
        r = z.flatten(1).double().pow(2).sum(1).numpy() / d
        ratios.append(np.where(ok, r, np.nan))
        g = lat.gaussianity(z[torch.from_numpy(ok)]) if ok.any() else None
        rows.append([np.nan] * 5 if g is None else [g.s_g, g.ks_d, g.p_value, g.mean_norm_ratio, g.z_mean])
    rows = np.array(rows, dtype=np.float64)
    gz = _randn_like((len(ratios[0]), *z.shape[1:]), seed + 777)
    ds = xr.Dataset({"norm_ratio": (("method", "latent"), np.stack(ratios)),
                     "gaussian_norm_ratio": ("latent", gz.flatten(1).double().pow(2).sum(1).numpy() / d),
                     **{k: ("method", rows[:, i]) for i, k in enumerate(("s_g", "ks_d", "ks_p", "mean_norm_ratio",
                                                                          "z_mean"))}},
                    coords={"method": list(labels), "latent": np.arange(len(ratios[0]))})
    g = lat.gaussianity(gz)
    ds.attrs.update(st.attrs("gaussianity", n_latents=n, d=int(d), seed=seed, gaussian_s_g=g.s_g,
                             gaussian_ks_p=g.p_value, definition="S_G = 1 - D_KS of ||x_T||^2 against chi2(d) "
                                                                 "(Eq. 31-33); norm_ratio = ||x_T||^2 / d"))
    return _save(ds, "gaussianity", dataset, profile, root, save)


# --------------------------------------------------------------------------------------------------- Fig. 8

def run_decorrelation(dataset: str, profile: str, *, labels=PAPER_LABELS, n_latents: int | None = None,
                      steps_grid=None, seeds=None, n_masks: int = 4, root: str | os.PathLike = "data/results",
                      models=None, save: bool = True, progress: bool = False) -> xr.Dataset:
    """Fig. 8 / Eq. 34-36: per-latent S_DC and flag masks per method; (S_G, mean S_DC) per (method, steps, seed) run.

    The runs use the test split only (profile's n_test inputs); seeds vary only the stochastic methods.
    ``steps_grid`` defaults to (steps / 5, steps / 2, steps) of the profile, at least 2 steps.
    """
    st = _setup(dataset, profile, root, models, progress)
    n = _n_latents(profile, n_latents)
    seeds = [int(s) for s in (st.prof.seeds if seeds is None else seeds)]
    steps_grid = steps_grid or (st.prof.steps // 5, st.prof.steps // 2, st.prof.steps)
    steps_grid = sorted({max(2, int(s)) for s in steps_grid})
    s_dc, flagged, masks, lats = [], [], [], []
    for label in labels:
        z, ok, _ = st.latents(label, n, seed=seeds[0])
        res = lat.decorrelation(z, return_mask=True)
        s_dc.append(np.where(ok, res.s_dc, np.nan))
        flagged.append(np.where(ok, res.flagged_ratio, np.nan))
        masks.append(res.mask[:n_masks])
        lats.append(z[:n_masks].numpy())
    runs = []
    n_run = min(st.prof.n_test, len(st.data.test_source))
    for label in labels:
        for steps in steps_grid:
            for seed in (seeds if label in STOCHASTIC else seeds[:1]):
                z, ok, _ = st.latents(label, n_run, steps=steps, seed=seed)
                keep = torch.from_numpy(ok)
                g = lat.gaussianity(z[keep]) if ok.any() else None
                dc = lat.decorrelation(z[keep]).s_dc.mean() if ok.any() else np.nan
                runs.append((label, steps, seed, np.nan if g is None else g.s_g, dc, int(ok.sum())))
    ds = xr.Dataset(
        {"s_dc": (("method", "latent"), np.stack(s_dc)), "flagged_ratio": (("method", "latent"), np.stack(flagged)),
         "mask": (("method", "image", "py", "px"), np.stack(masks)),
         "latents": (("method", "image", "channel", "y", "x"), np.stack(lats).astype(np.float32)),
         "run_s_g": ("run", np.array([r[3] for r in runs], dtype=np.float64)),
         "run_s_dc": ("run", np.array([r[4] for r in runs], dtype=np.float64)),
         "run_n": ("run", np.array([r[5] for r in runs]))},
        coords={"method": list(labels), "latent": np.arange(len(s_dc[0])), "run": np.arange(len(runs)),
                "run_method": ("run", [r[0] for r in runs]), "run_steps": ("run", [r[1] for r in runs]),
                "run_seed": ("run", [r[2] for r in runs])})
    ds.attrs.update(st.attrs("decorrelation", n_latents=n, n_run=n_run, steps_grid=steps_grid, seeds=seeds,
                             s_dc_definition="1 - flagged-patch ratio (tables' convention); patch 4, stride 1, "
                                             "FPR 0.05, >= half of the channels"))
    return _save(ds, "decorrelation", dataset, profile, root, save)


# -------------------------------------------------------------------------------------------------- Fig. 17

_SPACES = {"vp": lambda s: 1.0 / math.sqrt(1.0 + s * s), "sigma": lambda s: 1.0}


def run_velocity(dataset: str, profile: str, *, labels=VELOCITY_LABELS, n_samples: int = 4, seed: int = 0,
                 space: str = "vp", root: str | os.PathLike = "data/results", models=None, save: bool = True,
                 progress: bool = False) -> xr.Dataset:
    """Fig. 17: log10 of the radial power of z_{i+1} - z_i per inversion step, averaged over channels and samples.

    ``space="vp"`` (default) measures z = x / sqrt(1 + sigma^2), the VP (DDIM x_t) scale, for every model, so the
    EDM model's states (up to sigma_max = 80) are on the same footing; ``"sigma"`` uses the raw sigma-space states.
    """
    if space not in _SPACES:
        raise ValueError(f"unknown space {space!r}; valid: {', '.join(_SPACES)}")
    scale = _SPACES[space]
    st = _setup(dataset, profile, root, models, progress)
    x = st.data.test_source[:n_samples]
    logp, sig_from, sig_to, freqs = [], [], [], None
    for label in labels:
        ms = st.spec(label)
        states, sigmas = [], []

        def cb(i, sigma, sigma_next, x_cur, x_next, ctx):
            if not states:
                states.append(scale(sigma) * primary(x_cur, ms.method).detach().double())
            states.append(scale(sigma_next) * primary(x_next, ms.method).detach().double())
            sigmas.append((sigma, sigma_next))

        invert_latents(st.model(ms.parameterization), x, ms, steps=st.prof.steps, seed=seed, batch_size=len(x),
                       callback=cb)
        freqs, power = lat.spectral_velocity(states, log=False)        # (T, B, C, K)
        with np.errstate(divide="ignore"):
            logp.append(np.log10(power.mean((1, 2))))
        sig_from.append([s[0] for s in sigmas])
        sig_to.append([s[1] for s in sigmas])
    T = max(len(p) for p in logp)
    pad = lambda a: np.pad(np.asarray(a, dtype=np.float64), [(0, T - len(a))] + [(0, 0)] * (np.ndim(a) - 1),
                           constant_values=np.nan)
    ds = xr.Dataset({"log_power": (("method", "step", "freq"), np.stack([pad(p) for p in logp])),
                     "sigma_from": (("method", "step"), np.stack([pad(s) for s in sig_from])),
                     "sigma_to": (("method", "step"), np.stack([pad(s) for s in sig_to]))},
                    coords={"method": list(labels), "step": np.arange(T), "freq": freqs})
    ds.attrs.update(st.attrs("velocity", n_samples=len(x), seed=seed, space=space,
                             definition="log10 of the radially averaged power |FFT(z_{i+1} - z_i)|^2 / (H W), "
                                        "averaged over channels and samples before the log"))
    return _save(ds, "velocity", dataset, profile, root, save)


def velocity_summary(ds: xr.Dataset, hf: float = 0.25, late: float = 0.75) -> pd.DataFrame:
    """Per method: mean log10 update power at frequencies >= ``hf`` (and below) over the last / first steps."""
    f = ds["freq"].values
    rows = []
    for m in ds["method"].values:
        p = ds["log_power"].sel({"method": m}).values
        p = p[~np.isnan(p).all(1)]                     # drop padding steps
        p = np.where(np.isfinite(p), p, np.nan)        # exactly-zero power (-inf) is left out of the means
        cut = int(math.floor(late * len(p)))
        hi, lo = f >= hf, (f > 0) & (f < hf)
        rows.append({"method": str(m), "hf_late": float(np.nanmean(p[cut:, hi])),
                     "hf_early": float(np.nanmean(p[:len(p) - cut, hi])), "lf_late": float(np.nanmean(p[cut:, lo])),
                     "min": float(np.nanmin(p[:, f > 0]))})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------- Figs. 9, 11-12, 14

def real_reference(data, max_images: int = 512) -> torch.Tensor:
    """The real target images used as the S_HF reference (as the translation study picks them): no flat channel."""
    real = data.target[:: max(1, data.target.shape[0] // max_images)]
    return real[(real.flatten(2).std(2) > 1e-3).all(1)]


def _spectrum(images: torch.Tensor, band) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(freqs, mean log10 power per channel (C, K), slope (C,), intercept (C,)) of images, fitted over ``band``."""
    freqs, p = lat.radial_power_spectrum(images)
    logp = np.log10(np.clip(p, 1e-20, None)).mean(0)
    sel = (freqs > 0) & (freqs >= band[0]) & (freqs <= band[1])
    coef = np.polyfit(np.log10(freqs[sel]), logp[:, sel].T, 1)
    return freqs, logp, coef[0], coef[1]


def _image_metrics(main: xr.Dataset, lpips_kw: dict) -> tuple[pd.DataFrame, dict]:
    """MS-SSIM, HaarPSI, LPIPS of the stored output images against the ground truth, per (method, seed)."""
    from ..metrics.image import haarpsi, lpips, ms_ssim

    truth = main["truth_images"].values
    rows, status = [], {}
    for m in main["method"].values:
        for s in main["seed"].values:
            out = main["images"].sel({"method": m, "seed": s}).values
            ms, cfg = ms_ssim(out, truth)
            lp, status["lpips_status"] = lpips(out, truth, **lpips_kw)
            rows.append({"method": str(m), "seed": int(s), "ms_ssim": float(np.nanmean(ms)),
                         "haarpsi": float(np.nanmean(haarpsi(out, truth))), "lpips": float(np.nanmean(lp))})
            status["ms_ssim_config"] = json.dumps(cfg)
    return pd.DataFrame(rows), status


def _fid_points(main: xr.Dataset, real: torch.Tensor, fid_kw: dict) -> tuple[pd.DataFrame, str]:
    """FID and KID of each run's stored outputs against the real reference (its features computed once)."""
    from ..metrics.fid import fid_from_features, inception_features, kid_from_features

    kw = dict(fid_kw)
    fn = kw.pop("features_fn", None)
    if fn is None:
        f_real, st = inception_features(real, **kw)
        status = st.reason
        fn = None if f_real is None else (lambda im: inception_features(im, **kw)[0])
    else:
        f_real, status = np.asarray(fn(real), dtype=np.float64), "ok: custom features"
    rows = []
    for m in main["method"].values:
        for s in main["seed"].values:
            vals = {"fid": np.nan, "kid": np.nan}
            if fn is not None:
                f = np.asarray(fn(main["images"].sel({"method": m, "seed": s}).values), dtype=np.float64)
                vals = {"fid": fid_from_features(f, f_real), "kid": kid_from_features(f, f_real)[0]}
            rows.append({"method": str(m), "seed": int(s), **vals})
    return pd.DataFrame(rows), status


def run_metric_validation(dataset: str, profile: str, *, kappas=KAPPAS, n_real: int = 64, n_examples: int = 4,
                          band: tuple[float, float] = (0.005, 0.4), root: str | os.PathLike = "data/results",
                          main: xr.Dataset | None = None, lpips_kw: dict | None = None, fid_kw: dict | None = None,
                          save: bool = True, progress: bool = False) -> xr.Dataset:
    """Spectrum slopes (Fig. 9), S_HF of Fourier-filtered real images (Figs. 11-12), metric correlations (Fig. 14).

    S_HF uses the translation study's reference: mu_HF and the wavelet from the real target pool; it scores the
    held-out real images of the test split (ground truth) after an ideal low-pass (high frequencies removed) or
    high-pass (low frequencies removed) at each cutoff ``kappas`` (fraction of Nyquist). The correlations use the
    main_results runs (``main``, else the stored file, else computed); image metrics (MS-SSIM, HaarPSI, LPIPS)
    and FID / KID are computed on the outputs stored there (the first n_images test images).
    """
    from .models import dataset_for
    from .report import per_seed

    data = dataset_for(profile, dataset)
    real = real_reference(data)
    wavelet = spec.wavelet_order(spec.spectrum_slope(real, band))
    mu = spec.hf_reference(real, wavelet=wavelet)
    # Fig. 9: spectra of the target (real) and source (input) domains
    src = data.source[(data.source.flatten(2).std(2) > 1e-3).all(1)]
    src = src[:: max(1, len(src) // 512)]
    spectra = [_spectrum(imgs, band) for imgs in (real, src)]
    freqs = spectra[0][0]
    # Figs. 11-12: S_HF of filtered held-out real images
    held = data.test_target[:n_real]
    kappas = [float(k) for k in kappas]
    shf = np.empty((2, len(kappas), len(held)))
    dle = np.empty_like(shf)
    examples = np.empty((2, len(kappas), min(n_examples, len(held)), *held.shape[1:]), dtype=np.float32)
    for i, filt in enumerate((ideal_lowpass, ideal_highpass)):
        for j, k in enumerate(kappas):
            y = filt(held, k)
            shf[i, j] = spec.s_hf(y, mu, wavelet=wavelet)
            dle[i, j] = spec.delta_log_e(y, mu, wavelet=wavelet)
            examples[i, j] = y[:n_examples].clamp(-1, 1).numpy()
    # Fig. 14: metric correlations over the main_results runs
    if main is None:
        path = results_path("main_results", dataset, profile, root)
        if path.exists():
            main = load_results(path)
        else:
            from .translation import run_translation_study
            main = run_translation_study("main_results", dataset, profile, root=root, progress=progress)
    metrics = [m for m in ("psnr", "s_hf", "delta_log_e_hf", "s_lf", "s_lf_gt", "s_dc", "s_g", "ks_d",
                           "mean_norm_ratio") if m in main]
    pts = per_seed(main, metrics).pivot_table(index=["method", "seed"], columns="metric", values="value").reset_index()
    img, status = _image_metrics(main, dict(lpips_kw or {}))
    fidp, status["fid_status"] = _fid_points(main, real, dict(fid_kw or {}))
    pts = pts.merge(img, on=["method", "seed"]).merge(fidp, on=["method", "seed"])
    cols = [c for c in pts.columns if c not in ("method", "seed")]
    pts = pts.drop_duplicates(subset=["method", *cols])           # deterministic methods repeat over seeds
    usable = [c for c in cols if pts[c].notna().sum() >= 3 and pts[c].std() > 0]
    pearson = pts[usable].corr("pearson").to_numpy()
    spearman = pts[usable].corr("spearman").to_numpy()
    ds = xr.Dataset(
        {"log_power": (("domain", "channel", "freq"), np.stack([s[1] for s in spectra])),
         "slope_channel": (("domain", "channel"), np.stack([s[2] for s in spectra])),
         "intercept_channel": (("domain", "channel"), np.stack([s[3] for s in spectra])),
         "slope": ("domain", np.array([spec.spectrum_slope(real, band), spec.spectrum_slope(src, band)])),
         "filtered_s_hf": (("filter", "kappa", "held_out"), shf),
         "filtered_delta_log_e": (("filter", "kappa", "held_out"), dle),
         "unfiltered_s_hf": ("held_out", spec.s_hf(held, mu, wavelet=wavelet)),
         "examples": (("filter", "kappa", "example", "channel", "y", "x"), examples),
         "held_out_images": (("example", "channel", "y", "x"), held[:n_examples].numpy()),
         "points": (("point", "metric"), pts[cols].to_numpy(dtype=np.float64)),
         "pearson": (("metric_a", "metric_b"), pearson), "spearman": (("metric_a", "metric_b"), spearman)},
        coords={"domain": ["target", "source"], "freq": freqs, "filter": ["lowpass", "highpass"], "kappa": kappas,
                "held_out": np.arange(len(held)), "point": np.arange(len(pts)), "metric": cols,
                "point_method": ("point", pts["method"].astype(str).tolist()),
                "point_seed": ("point", pts["seed"].astype(int).to_numpy()),
                "metric_a": usable, "metric_b": usable})
    ds.attrs.update(study="metric_validation", dataset=dataset, profile=profile, band=list(band), wavelet=wavelet,
                    mu_hf=float(mu), s_hf_unit="uint8", n_reference=len(real), main_steps=main.attrs.get("steps", ""),
                    filters="lowpass keeps |omega| <= kappa * 0.5 cycles/px (high frequencies removed); highpass is "
                            "its complement (low frequencies removed)",
                    image_metrics=f"on the {main.sizes.get('image', 0)} stored outputs per run against ground truth",
                    fid="FID / KID of the stored outputs of each run against the real reference images", **status)
    return _save(ds, "metric_validation", dataset, profile, root, save)


# ------------------------------------------------------------------------------------------- notebooks, verdicts

_RUNNERS = {"pca_collapse": run_pca_collapse, "gaussianity": run_gaussianity, "decorrelation": run_decorrelation,
            "velocity": run_velocity, "metric_validation": run_metric_validation}


def load_or_run(study: str, dataset: str, profile: str, *, root: str | os.PathLike = "data/results",
                rerun: bool = False, **kw) -> xr.Dataset:
    """Stored results of an analysis study, or run and store them when missing, asked for differently, or ``rerun``.

    Keywords that are None take the runner's defaults; the others are recorded in ``attrs["request"]``, and stored
    results made for another request are recomputed.
    """
    if study not in _RUNNERS:
        raise ValueError(f"unknown analysis study {study!r}; valid: {', '.join(_RUNNERS)}")
    kw = {k: v for k, v in kw.items() if v is not None}
    request = json.dumps({k: v for k, v in kw.items() if k not in ("progress", "models", "main")}, sort_keys=True,
                         default=str)
    path = results_path(study, dataset, profile, root)
    if path.exists() and not rerun:
        ds = load_results(path)
        if ds.attrs.get("request", "{}") == request:
            return ds
    ds = _RUNNERS[study](dataset, profile, root=root, save=False, **kw)
    ds.attrs["request"] = request
    return load_results(save_results(ds, path))   # as stored: with provenance attrs


def _agrees(flag: bool) -> str:
    return "agrees" if flag else "does not agree"


def _verdict_pca(ds: xr.Dataset) -> str:
    k = {str(s): int(v) for s, v in zip(ds["series"].values, ds["k90"].values)}
    a = {str(s): float(v) for s, v in zip(ds["series"].values, ds["auc"].values)}
    inv = [s for s in k if s != "gaussian"]
    conc = all(k[s] < k["gaussian"] for s in inv)
    txt = (f"The paper claims (Fig. 3) that inverted latents concentrate their variance in few principal components, "
           f"unlike Gaussian noise, and more so for sparser inputs. Our numbers ({int(ds['n'].values[-1])} latents): "
           f"components for 90 % of the variance: Gaussian {k['gaussian']}, " + ", ".join(f"{s} {k[s]}" for s in inv)
           + "; mean cumulative variance (0.5 = uniform): " + ", ".join(f"{s} {a[s]:.3f}" for s in [*inv, 'gaussian'])
           + f". Concentration: {_agrees(conc)}")
    fac = [(int(f), k[str(s)]) for s, f in zip(ds["series"].values, ds["factor"].values) if f > 0]
    if len(fac) > 1:
        fac.sort()
        mono = all(b[1] <= a_[1] for a_, b in zip(fac, fac[1:]))
        txt += f"; sparser input, fewer components: {_agrees(mono)} (model trained at x{ds.attrs.get('model_factor')})"
    return txt + "."


def _verdict_gaussianity(ds: xr.Dataset) -> str:
    m = [str(v) for v in ds["method"].values]
    sg = dict(zip(m, ds["s_g"].values.tolist()))
    nr = dict(zip(m, ds["mean_norm_ratio"].values.tolist()))
    txt = ("The paper claims (Fig. 7, Table 1) that deterministic DDIM latents fail the chi2(d) test on ||x_T||^2 "
           "while stochastic or x0-predicting inversions come closer (S_G higher). "
           f"Our numbers (d = {ds.attrs['d']}): S_G " + ", ".join(f"{k} {sg[k]:.3f}" for k in m)
           + "; mean ||x_T||^2/d " + ", ".join(f"{k} {nr[k]:.3f}" for k in m)
           + f" (Gaussian noise: S_G {float(ds.attrs['gaussian_s_g']):.3f}).")
    if "ddim" in sg:
        others = [k for k in ("taba", "edm") if k in sg]
        if others:
            ok = all(sg["ddim"] < sg[k] for k in others)
            txt += f" DDIM below {', '.join(others).upper()}: {_agrees(ok)}."
    return txt


def _verdict_decorrelation(ds: xr.Dataset) -> str:
    m = [str(v) for v in ds["method"].values]
    dc = dict(zip(m, ds["s_dc"].mean("latent").values.tolist()))
    g, c = ds["run_s_g"].values, ds["run_s_dc"].values
    keep = np.isfinite(g) & np.isfinite(c)
    ok = keep.sum() > 2 and np.std(g[keep]) > 0 and np.std(c[keep]) > 0
    r = float(np.corrcoef(g[keep], c[keep])[0, 1]) if ok else np.nan
    txt = ("The paper claims (Sec. 4, Fig. 8, Fig. 14) that DDIM latents hold spatially correlated patches (low "
           "S_DC in the tables' convention) and that S_DC and S_G are strongly positively correlated. "
           "Our numbers: mean S_DC " + ", ".join(f"{k} {dc[k]:.3f}" for k in m)
           + f"; Pearson r(S_G, S_DC) over {int(keep.sum())} runs = {r:.2f}")
    verdicts = []
    if "ddim" in dc and any(k in dc for k in ("taba", "edm")):
        verdicts.append(f"DDIM lowest S_DC: {_agrees(dc['ddim'] <= min(dc[k] for k in ('taba', 'edm') if k in dc))}")
    verdicts.append(f"positive correlation: {_agrees(bool(r > 0.5))}" if np.isfinite(r) else "correlation undefined")
    return txt + ". " + "; ".join(verdicts) + "."


def _verdict_velocity(ds: xr.Dataset) -> str:
    s = velocity_summary(ds).set_index("method")
    txt = ("The paper claims (App. E.2, Fig. 17) that DDIM's high-frequency updates vanish (log energy well below 0) "
           "as t -> T, while EDM keeps positive update energy and OVG injects energy that prevents the vanishing. Our "
           "numbers (mean log10 power of the updates at >= 0.25 cycles/px over the last quarter of the steps): "
           + ", ".join(f"{m} {v:.2f}" for m, v in s["hf_late"].items()) + ".")
    parts = []
    if "ddim" in s.index:
        for other in ("edm", "ovg"):
            if other in s.index:
                below = s.loc["ddim", "hf_late"] < s.loc[other, "hf_late"]
                parts.append(f"DDIM below {other.upper()}: {_agrees(below)}")
        parts.append(f"DDIM negative: {_agrees(s.loc['ddim', 'hf_late'] < 0)}")
    return txt + (" " + "; ".join(parts) + "." if parts else "")


def _corr(ds, a, b) -> float:
    if a in ds["metric_a"].values and b in ds["metric_b"].values:
        return float(ds["pearson"].sel(metric_a=a, metric_b=b))
    return float("nan")


def _verdict_metric_validation(ds: xr.Dataset) -> str:
    slope = float(ds["slope"].sel(domain="target"))
    low = ds["filtered_s_hf"].sel(filter="lowpass").mean("held_out")
    high = ds["filtered_s_hf"].sel(filter="highpass").mean("held_out")
    base = float(ds["unfiltered_s_hf"].mean())
    stable = float(np.abs(high - base).max()) < 0.1
    drops = float(low.min()) < base - 0.2
    r1, r2 = _corr(ds, "s_dc", "s_g"), _corr(ds, "s_hf", "s_dc")
    return ("The paper claims (App. B.4, Figs. 9, 11-12, 14) that real images have spectrum slopes near -3.5 "
            "(hence sym4), that S_HF stays stable when low frequencies are removed and drops when high frequencies "
            "are removed, and that S_DC correlates strongly with S_G and with S_HF. "
            f"Our numbers: slope {slope:.2f} ({ds.attrs['wavelet']}); S_HF of unfiltered held-out real images "
            f"{base:.3f}, with low frequencies removed {float(high.min()):.3f}-{float(high.max()):.3f}, with high "
            f"frequencies removed {float(low.min()):.3f}-{float(low.max()):.3f}; Pearson r(S_DC, S_G) = {r1:.2f}, "
            f"r(S_HF, S_DC) = {r2:.2f}. Slope near -3.5: "
            f"{_agrees(abs(slope + 3.5) < 1)}; S_HF insensitive to low frequencies: {_agrees(stable)}; S_HF sensitive "
            f"to high frequencies: {_agrees(drops)}; positive correlations: {_agrees(bool(r1 > 0 and r2 > 0))}.")


_VERDICTS = {"pca_collapse": _verdict_pca, "gaussianity": _verdict_gaussianity, "decorrelation": _verdict_decorrelation,
             "velocity": _verdict_velocity, "metric_validation": _verdict_metric_validation}


def verdict(ds: xr.Dataset) -> str:
    """The chapter's one paragraph: what the paper claims for this analysis, our numbers, agrees or not."""
    study = ds.attrs.get("study", "")
    if study not in _VERDICTS:
        raise ValueError(f"no verdict for study {study!r}; valid: {', '.join(_VERDICTS)}")
    return _VERDICTS[study](ds)


def settings(ds: xr.Dataset, keys) -> str:
    """The chapter's "settings of this run": the named attrs, then the provenance attrs, one per line."""
    lines = [f"{k}: {ds.attrs.get(k)}" for k in keys]
    lines.append("provenance: " + str({k: v for k, v in ds.attrs.items() if k.startswith(("git", "created"))}))
    return "\n".join(lines)
