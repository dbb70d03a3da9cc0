"""Studies of inverted latents (paper Sec. 4, App. B, App. E.2): PCA collapse, Gaussianity, patch decorrelation and
the spectral velocity of inversion."""
from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import torch
import xarray as xr

from ..data.support import dataset_support
from ..inversion import default_sigmas, invert, sample_seeds
from ..inversion.loop import primary
from ..metrics import latent as lat
from ..metrics.intervals import bootstrap_ci
from ..metrics.spectral import kappa_for_size
from ..framework.cells import StudyContext, invert_cell, translate_cell
from ..framework.model_set import data_options, trained_model
from ..framework.user_models import spec_data, study_labels, user_models
from ..framework.profiles import get_profile
from ..framework.spec import CACHE_VERSION, StudySpec
from .pareto_calibrate import ovg_for
from .main_results import GAUSSIANITY, SUPPORT_LEAK_DEFINITION
from ..framework.method_labels import PAPER_LABELS, STOCHASTIC, method_specs
from ..framework.splits import test_subsets
from ..framework.oracle_arm import oracle_models, wants_arm, with_arm
from ..framework.controls import support_leak

__all__ = ["DEFAULT_N_LATENTS", "Setup", "inversion_inputs", "explained_variance_summary",
           "run_latent_study", "VELOCITY_LABELS", "SPACES", "run_velocity", "velocity_cell"]

DEFAULT_N_LATENTS = {"smoke": 16, "quick": 128, "paper": 2000}  # Fig. 3 uses 2000 noise maps
N_SHOW = 6     # inputs and latents stored per PCA series
N_MASKS = 4    # latents and flag masks stored per decorrelation method
INVERSION = "invert under the source label 0 on the profile's grid; x_T = Denoiser.to_noise"


def inversion_inputs(data, n: int, lead=None) -> tuple[torch.Tensor, int]:
    """The first ``n`` inputs to invert (test crops ``lead`` first, then the other test crops, then spaced source-pool
    crops) and how many come from the test split."""
    test = data.test_source
    if lead:
        test = test[list(lead) + [i for i in range(len(test)) if i not in set(lead)]]
    if n <= len(test):
        return test[:n], n
    k = min(n - len(test), len(data.source))
    idx = torch.linspace(0, len(data.source) - 1, k).round().long().unique()
    return torch.cat([test, data.source[idx]]), len(test)


class Setup:
    """What the latent and velocity studies share: profile, data, OVG setting, cell cache and the models."""

    def __init__(self, spec: StudySpec, ctx: StudyContext, models: dict | None = None):
        self.spec, self.ctx = spec, ctx
        self.prof = get_profile(spec.profile)
        self.user = user = None if models else user_models(spec)
        self.given = dict(models or (user.models if user is not None else {}))
        self.checkpoints: dict[str, str] = {}
        self.data = spec_data(spec)
        self._at = {None: self.data, self.data.task.factor: self.data}   # the data at each SR factor read
        self.ovg = ovg_for(spec, ctx, user, self.data)  # a user's model without a sweep: calibrated
        self.kappa = kappa_for_size(self.data.size)
        self.base = user.parameterization if user is not None else "eps"  # the model behind ddim / taba / ovg
        self.space = user.latent_space if user is not None else None      # a user's latent model: encode inputs

    def model(self, parameterization: str):
        """The denoiser of a parameterization (given, else trained or loaded once), its checkpoint recorded."""
        if parameterization not in self.given:
            tm = trained_model(self.spec.profile, self.spec.dataset, parameterization, progress=self.ctx.progress,
                               options=data_options(self.spec))
            self.given[parameterization] = tm.denoiser
            self.checkpoints[parameterization] = str(tm.path)
        D = self.given[parameterization]
        if isinstance(getattr(D, "checkpoint", None), str):
            self.checkpoints.setdefault(parameterization, D.checkpoint)
        return D

    def data_at(self, factor: int | None):
        """The study's data, or its data at SR ``factor``, each loaded once."""
        if factor not in self._at:
            self._at[factor] = spec_data(self.spec, factor)
        return self._at[factor]

    def method(self, label: str):
        """The MethodSpec of a method label with the study's OVG step sizes."""
        return method_specs([label], eta_hf=self.ovg["eta_hf"], eta_lf=self.ovg["eta_lf"], lowpass_kappa=self.kappa,
                            per_base=self.ovg.get("per_base"), parameterization=self.base)[0]

    def latents(self, label: str, n: int, *, factor: int | None = None, steps: int | None = None,
                seed: int = 0) -> tuple[torch.Tensor, np.ndarray, torch.Tensor]:
        """(latents, finite mask, inputs) of ``label`` on the first ``n`` inputs, from the main results' translation
        cell where it holds them, else from inversion cells."""
        ms = self.method(label)
        own = factor is None or factor == self.data.task.factor
        data = self.data_at(factor)
        union = self.main_crops(data)
        x, n_test_split = inversion_inputs(data, n, lead=union)
        x = x if self.space is None else self.space.encode(x)  # a user's latent model inverts encoded inputs
        D = self.model(ms.parameterization)
        seed, steps = int(seed) if label in STOCHASTIC else 0, int(steps or self.prof.steps)
        k = min(n_test_split, len(union)) if own and steps == self.prof.steps and self.space is None else 0
        parts = []
        if k:
            tr = translate_cell(self.ctx, D, x[:k], ms, seed=seed, steps=steps, batch_size=self.prof.batch_size)
            bad = np.asarray(tr["nonfinite_step"].values)
            parts.append((np.asarray(tr["latent"].values, dtype=np.float32), (bad < 0) | (bad >= steps)))
        if k < len(x):
            cell = invert_cell(self.ctx, D, x[k:], ms, seed=seed, steps=steps, batch_size=self.prof.batch_size,
                               offset=k)
            parts.append((np.asarray(cell["latent"].values, dtype=np.float32),
                          np.asarray(cell["finite"].values).astype(bool)))
        return torch.from_numpy(np.concatenate([p[0] for p in parts])), np.concatenate([p[1] for p in parts]), x

    def main_crops(self, data) -> list[int]:
        """The test crops the main results translate (every seed's, in index order), read from their cells here."""
        subsets = test_subsets(data.test_source.shape[0], self.prof.n_test, self.prof.seeds, self.prof.n_val)
        return sorted(set().union(*map(set, subsets.values())))

    def attrs(self, **extra) -> dict:
        ck = json.dumps(self.checkpoints)
        return {"study": self.spec.study, "dataset": self.spec.dataset, "profile": self.spec.profile,
                "steps": self.prof.steps, "ovg": json.dumps(self.ovg), "models": ck, "checkpoints": ck,
                "inversion": INVERSION, "user_models": json.dumps(getattr(self.user, "info", None)),
                "task": json.dumps(self.data.task.describe()), **extra}


def run_latent_study(spec: StudySpec, ctx: StudyContext | None = None, *, models: dict | None = None) -> xr.Dataset:
    """The results of ``spec`` (pca_collapse, gaussianity or decorrelation); ``models``: denoisers by parameterization
    ("eps", "edm") to use instead of the profile's trained models."""
    runs = {"pca_collapse": _pca_collapse, "gaussianity": _gaussianity, "decorrelation": _decorrelation}
    if spec.study not in runs:
        raise ValueError(f"run_latent_study computes {', '.join(runs)}; got study {spec.study!r}")
    ctx = ctx or StudyContext()
    ds = runs[spec.study](spec, Setup(spec, ctx, models))
    if models is not None or not wants_arm(spec):
        return ds
    oracle = oracle_models(spec.profile, spec.dataset, options=data_options(spec))   # framework/oracle_arm.py
    return with_arm(ds, runs[spec.study](spec, Setup(spec, ctx, oracle)), form=oracle["eps"].net.form)


def _n_latents(spec: StudySpec) -> int:
    return int(spec.get("n_latents", DEFAULT_N_LATENTS.get(spec.profile, 128)))


# --------------------------------------------------------------------------------------------------- Fig. 3

def explained_variance_summary(cev: np.ndarray, levels=(0.5, 0.9, 0.99)) -> dict:
    """Components needed to reach each level of cumulative variance, and the mean of the curve (its normalised area)."""
    c = np.asarray(cev, dtype=np.float64)
    c = c[np.isfinite(c)]
    return {**{f"k{int(round(100 * q))}": int(np.argmax(c >= q - 1e-12) + 1) if (c >= q - 1e-12).any() else len(c)
               for q in levels}, "auc": float(c.mean()), "n_components": len(c)}


K90_DRAWS = 200       # subsamples behind the interval of a k90 difference (``k90_draws``)
K90_SUBSAMPLE = 0.75  # each draws this share of a series' latents, without replacement


def k90_draws(sets: list[torch.Tensor], seed: int, draws: int = K90_DRAWS, share: float = K90_SUBSAMPLE) -> tuple:
    """(k90 of each set on ``draws`` paired subsamples without replacement (sets, draws), subsample size m = ``share``
    × the smallest set): the bootstrap repeats latents, which biases k90 down; compare sets at one m."""
    m = max(2, int(share * min(len(z) for z in sets)))
    out = np.zeros((len(sets), draws), dtype=np.int64)
    for b, (i, z) in itertools.product(range(draws), enumerate(sets)):
        idx = np.random.default_rng([seed, b]).choice(len(z), m, replace=False)
        out[i, b] = explained_variance_summary(lat.pca_explained_variance(z[torch.from_numpy(idx)]))["k90"]
    return out, m


def _pca_collapse(spec: StudySpec, st: Setup) -> xr.Dataset:
    """Fig. 3: cumulative explained variance per (method, factor) series and of Gaussian noise of the same shape."""
    sr = st.data.task.kind == "sr"
    factors = spec.get("factors")
    factors = list(factors) if factors else (list(st.prof.factors) if sr else [None])
    labels = study_labels(spec.get("methods"), ["ddim"] if sr else ["ddim", "taba", "edm"], st.user)
    n, seed = _n_latents(spec), int(spec["seed"])
    runs = [(label, f, *st.latents(label, n, factor=f, seed=seed)) for label in labels for f in factors]
    z, x = runs[-1][2], runs[-1][4]
    noise = torch.randn(z.shape, generator=torch.Generator().manual_seed(seed + 777))
    runs.append(("gaussian", None, noise, np.ones(len(z), bool), torch.full_like(x, np.nan)))
    methods, fs, zs, oks, xs = zip(*runs)
    kept = [z[torch.from_numpy(ok)] for z, ok in zip(zs, oks)]
    ratios = [np.where(ok, lat.sample_norm_ratio(z), np.nan) for z, ok in zip(zs, oks)]
    supports = {f: dataset_support(st.data_at(f))[0] for f in factors}   # noise's: the last series' support
    leaks = [np.where(ok, support_leak(z, supports.get(f, supports[factors[-1]])), np.nan) for f, z, ok in zip(fs, zs, oks)]
    curves = [lat.pca_explained_variance(zk) for zk in kept]
    raw_curves = [lat.pca_explained_variance(zk, standardize=False) for zk in kept]
    draws, m_sub = k90_draws(kept, seed)
    # each list of rows as one array, NaN-padded to the longest row
    cev, cev_raw, norm_ratio, leak = (np.array(list(itertools.zip_longest(*rows, fillvalue=np.nan)), np.float64).T
                                      for rows in (curves, raw_curves, ratios, leaks))
    K, L = cev.shape[1], norm_ratio.shape[1]
    summ = [explained_variance_summary(c) for c in curves]
    summ_raw = [explained_variance_summary(c) for c in raw_curves]
    ds = xr.Dataset(
        {"cev": (("series", "component"), cev), "cev_raw": (("series", "component"), cev_raw),
         **{k: ("series", np.array([s[k] for s in summ])) for k in ("k50", "k90", "k99", "auc", "n_components")},
         **{f"{k}_raw": ("series", np.array([s[k] for s in summ_raw])) for k in ("k90", "auc")},
         "norm_ratio": (("series", "latent"), norm_ratio), "support_leak": (("series", "latent"), leak),
         "mean_norm_ratio": ("series", np.array([np.nanmean(r) if np.isfinite(r).any() else np.nan
                                                 for r in norm_ratio])),
         "k90_draws": (("series", "draw"), draws),
         "n": ("series", np.array([int(ok.sum()) for ok in oks])),
         "nonfinite": ("series", np.array([int((~ok).sum()) for ok in oks])),
         **{k: (("series", "image", "channel", "y", "x"), np.stack([v[:N_SHOW].numpy() for v in vs]).astype(np.float32))
            for k, vs in (("latents", zs), ("inputs", xs))}},
        coords={"series": [m if f is None else f"{m} x{f}" for m, f in zip(methods, fs)],
                "component": np.arange(1, K + 1), "latent": np.arange(L), "method": ("series", list(methods)),
                "factor": ("series", [0 if f is None else int(f) for f in fs])})
    ds.attrs.update(st.attrs(n_latents=n, model_factor=st.data.task.factor if sr else 0,
                             pca="one PCA over all latents of a series (Gram matrix), centred per feature, "
                                 "each latent first scaled to unit variance (cev; raw latents: cev_raw)",
                             norm_ratio="||x_T||^2 / d per latent (amplitude; 1 under N(0, I))",
                             support_leak_definition=SUPPORT_LEAK_DEFINITION,
                             gaussian="N(0, I) draws of the same count and shape, seed + 777",
                             k90_draws=f"k90 of {K90_DRAWS} subsamples of {m_sub} latents of each series, drawn without "
                                       f"replacement, the same positions in every series of equal size",
                             k90_subsample=m_sub))
    return ds


# --------------------------------------------------------------------------------------------------- Fig. 7

def _gaussianity(spec: StudySpec, st: Setup) -> xr.Dataset:
    """Fig. 7 / Eq. 31-33: ||x_T||^2 / d per latent and the KS test against chi2(d) per method."""
    labels = study_labels(spec.get("methods"), PAPER_LABELS, st.user)
    n, seed = _n_latents(spec), int(spec["seed"])
    rows, ratios, leaks = [], [], []
    support = dataset_support(st.data)[0]
    for label in labels:
        z, ok, _ = st.latents(label, n, seed=seed)
        d = z[0].numel()
        r = z.flatten(1).double().pow(2).sum(1).numpy() / d
        ratios.append(np.where(ok, r, np.nan))
        leaks.append(np.where(ok, support_leak(z, support), np.nan))
        g = lat.gaussianity(z[torch.from_numpy(ok)]) if ok.any() else None
        rows.append([np.nan if g is None else getattr(g, a) for _, a in GAUSSIANITY])
    rows = np.array(rows, dtype=np.float64)
    gz = torch.randn((len(ratios[0]), *z.shape[1:]), generator=torch.Generator().manual_seed(seed + 777))
    ds = xr.Dataset({"norm_ratio": (("method", "latent"), np.stack(ratios)),
                     "support_leak": (("method", "latent"), np.stack(leaks)),
                     "gaussian_norm_ratio": ("latent", gz.flatten(1).double().pow(2).sum(1).numpy() / d),
                     **{k: ("method", rows[:, i]) for i, (k, _) in enumerate(GAUSSIANITY)},
                     "n": ("method", np.array([int(np.isfinite(r).sum()) for r in ratios]))},
                    coords={"method": labels, "latent": np.arange(len(ratios[0]))})
    g = lat.gaussianity(gz)
    ds.attrs.update(st.attrs(n_latents=n, d=int(d), seed=seed, gaussian_s_g=g.s_g, gaussian_ks_p=g.p_value,
                             support_leak_definition=SUPPORT_LEAK_DEFINITION,
                             gaussian_norm_z=g.norm_z, ks_resolution=lat.ks_resolution(len(ratios[0])),
                             definition="S_G = 1 - D_KS of ||x_T||^2 against chi2(d) (Eq. 31-33); "
                                        "norm_ratio = ||x_T||^2 / d; norm_z = (mean ||x_T||^2 - d) / sqrt(2 d / n), "
                                        "~N(0, 1) under N(0, I); S_G values within ks_resolution (the KS critical "
                                        "distance at n, alpha 0.05) tie"))
    return ds


# --------------------------------------------------------------------------------------------------- Fig. 8

def _decorrelation(spec: StudySpec, st: Setup) -> xr.Dataset:
    """Fig. 8 / Eq. 34-36: per-latent S_DC and flag masks per method; (S_G, mean S_DC) per (method, steps, seed)
    run on the test split (``steps_grid`` default: steps / 5, steps / 2, steps)."""
    labels = study_labels(spec.get("methods"), PAPER_LABELS, st.user)
    n = _n_latents(spec)
    seeds = [int(s) for s in spec.get("seeds", st.prof.seeds)]
    grid = spec.get("steps_grid") or (st.prof.steps // 5, st.prof.steps // 2, st.prof.steps)
    grid = sorted({max(2, int(s)) for s in grid})
    per = {k: [] for k in ("s_dc", "flagged_ratio", "s_dc_raw", "norm_ratio", "support_leak", "mask", "latents")}
    support, why = dataset_support(st.data)
    for label in labels:
        z, ok, _ = st.latents(label, n, seed=seeds[0])
        res = lat.decorrelation(z, return_mask=True)
        for k, v in (("s_dc", res.s_dc), ("flagged_ratio", res.flagged_ratio), ("norm_ratio", res.norm_ratio),
                     ("s_dc_raw", lat.decorrelation(z, standardize=False).s_dc),
                     ("support_leak", support_leak(z, support))):
            per[k].append(np.where(ok, v, np.nan))
        per["mask"].append(res.mask[:N_MASKS])
        per["latents"].append(z[:N_MASKS].numpy().astype(np.float32))
    runs = []
    n_run = min(st.prof.n_test, len(st.data.test_source))
    for label, steps in itertools.product(labels, grid):
        for seed in (seeds if label in STOCHASTIC else seeds[:1]):
            z, ok, _ = st.latents(label, n_run, steps=steps, seed=seed)
            runs.append({"method": label, "steps": steps, "seed": seed, "n": int(ok.sum())})
            if ok.any():   # else the run's scores are NaN
                zk = z[torch.from_numpy(ok)]
                g, dc = lat.gaussianity(zk), lat.decorrelation(zk)
                ci = bootstrap_ci(dc.s_dc)   # over the run's latents
                runs[-1].update(s_g=g.s_g, s_dc=dc.s_dc.mean(), s_dc_lo=ci.lo, s_dc_hi=ci.hi, norm_z=g.norm_z,
                                s_dc_raw=lat.decorrelation(zk, standardize=False).s_dc.mean(),
                                norm_ratio=dc.norm_ratio.mean(), support_leak=support_leak(zk, support).mean())
    scores = ("s_g", "s_dc", "s_dc_lo", "s_dc_hi", "s_dc_raw", "norm_z", "norm_ratio", "support_leak")
    runs = pd.DataFrame(runs, columns=["method", "steps", "seed", "n", *scores])
    ds = xr.Dataset(
        {**{k: (("method", "latent"), np.stack(per[k]))
            for k in ("s_dc", "flagged_ratio", "s_dc_raw", "norm_ratio", "support_leak")},
         "mean_norm_ratio": ("method", np.array([np.nanmean(r) if np.isfinite(r).any() else np.nan
                                                 for r in per["norm_ratio"]])),
         "mask": (("method", "image", "py", "px"), np.stack(per["mask"])),
         "latents": (("method", "image", "channel", "y", "x"), np.stack(per["latents"])),
         **{f"run_{k}": ("run", runs[k].to_numpy(np.float64)) for k in scores},
         "run_n": ("run", runs["n"].to_numpy(np.int64))},
        coords={"method": labels, "latent": np.arange(len(per["s_dc"][0])), "run": np.arange(len(runs)),
                **{f"run_{k}": ("run", runs[k].tolist()) for k in ("method", "steps", "seed")}})
    ds.attrs.update(st.attrs(n_latents=n, n_run=n_run, steps_grid=grid, seeds=seeds,
                             s_dc_definition="1 - flagged-patch ratio (tables' convention); patch 4, stride 1, "
                                             "FPR 0.05, >= half of the channels; each latent scaled to unit "
                                             "variance first (s_dc, flagged_ratio, mask; the raw form: s_dc_raw)",
                             norm_ratio="||x_T||^2 / d per latent (amplitude; 1 under N(0, I))",
                             run_s_dc_interval="95 % percentile bootstrap interval of a run's mean S_DC over its "
                                               "latents (run_s_dc_lo, run_s_dc_hi)",
                             support_leak_definition=SUPPORT_LEAK_DEFINITION,
                             support=json.dumps(None if support is None else support.describe()),
                             support_reason=why))
    return ds


# --------------------------------------------------------------------------------------------------- Fig. 17

VELOCITY_LABELS = ("ddim", "edm", "ovg", "ovg_edm")              # the four panels of Fig. 17
# the scale applied to a state x at noise level sigma before taking differences
SPACES = {"vp": lambda s: 1.0 / math.sqrt(1.0 + s * s), "sigma": lambda s: 1.0}


def velocity_cell(ctx: StudyContext, D, x: torch.Tensor, ms, *, steps: int, space: str, seed: int) -> xr.Dataset:
    """One method's velocity: ``log_power`` (step, freq), ``sigma_from`` / ``sigma_to`` (step) of inverting ``x``."""
    scale = SPACES[space]   # (the study's knob takes only these)

    def compute():
        states, sigmas = [], []

        def cb(i, sigma, sigma_next, x_cur, x_next, _ctx):
            if not states:
                states.append(scale(sigma) * primary(x_cur, ms.method).detach().double().cpu())
            states.append(scale(sigma_next) * primary(x_next, ms.method).detach().double().cpu())
            sigmas.append((sigma, sigma_next))

        invert(D, x, default_sigmas(D, steps), ms.method, guidance=ms.guidance, label=0,
               seeds=sample_seeds(seed, range(len(x))), callback=cb)
        freqs, power = lat.spectral_velocity(states, log=False)        # (T, B, C, K)
        with np.errstate(divide="ignore"):
            logp = np.log10(power.mean((1, 2)))
        return xr.Dataset({"log_power": (("step", "freq"), np.asarray(logp, dtype=np.float64)),
                           "sigma_from": ("step", np.array([float(s[0]) for s in sigmas])),
                           "sigma_to": ("step", np.array([float(s[1]) for s in sigmas]))},
                          coords={"freq": np.asarray(freqs, dtype=np.float64)})

    key = {"cell": "velocity", "version": CACHE_VERSION, "model": D, "inputs": x, "method": ms.describe(),
           "steps": int(steps), "space": space, "seed": int(seed)}
    return ctx.cache.cell(key, compute)


def run_velocity(spec: StudySpec, ctx: StudyContext | None = None, *, models: dict | None = None) -> xr.Dataset:
    """Fig. 17: log10 radial power of z_{i+1} - z_i per inversion step, averaged over channels and samples; z on the
    VP scale x / sqrt(1 + sigma^2) (``space="vp"``) or the raw states (``"sigma"``)."""
    ctx = ctx or StudyContext()
    st = Setup(spec, ctx, models)
    labels = study_labels(spec.get("methods"), VELOCITY_LABELS, st.user)
    space, seed = spec["space"], int(spec["seed"])
    x = st.data.test_source[:int(spec["n_samples"])]
    x = x if st.space is None else st.space.encode(x)
    cells = [velocity_cell(ctx, st.model(ms.parameterization), x, ms, steps=st.prof.steps, space=space, seed=seed)
             for ms in map(st.method, labels)]
    # the methods' steps NaN-padded to the longest (an outer join on the step index)
    ds = xr.concat([c.assign_coords(step=np.arange(c.sizes["step"])) for c in cells], "method", data_vars="all",
                   join="outer", combine_attrs="drop").assign_coords(method=labels)
    ds.attrs.update(st.attrs(n_samples=len(x), seed=seed, space=space,
                             definition="log10 of the radially averaged power |FFT(z_{i+1} - z_i)|^2 / (H W), "
                                        "averaged over channels and samples before the log"))
    return ds
