"""Ablation studies of the paper's Sec. 6.3: backbone (Table 3), data space (Table 4), SR factor (Table 5) and
prediction target (Table 6)."""
from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import xarray as xr

from ..metrics.latent import pca_explained_variance
from . import main_results
from ..framework.aggregate import TABLE_METRICS, summary
from ..framework.cells import StudyContext
from ..framework.method_labels import method_specs, ovg_setting
from ..framework.model_set import data_options, plans_to_train, profile_models
from ..framework.user_models import spec_data
from ..framework.profiles import PROFILES, get_profile
from ..framework.spec import StudySpec
from ..framework.store import json_default

__all__ = ["Arm", "ABLATION_LABELS", "ABLATIONS", "PAPER_SCALES", "HIGHER_IS_BETTER", "N_IMAGES", "N_PCA",
           "TRAIN_SEEDS", "ablation_arms", "run_ablation_spec", "paper_scale", "axis_values", "ablation_summary",
           "improvement_table", "arm_latents", "paper_key_of"]

ABLATION_LABELS = ("ddim", "taba", "ovg")   # the rows of the paper's Tables 3-6 (Standard, TABA, OVG)
# eps_vs_x0 adds OVG's stable form beside the paper's (which diverges on x0-prediction models, kept visible)
STUDY_LABELS = {"eps_vs_x0": (*ABLATION_LABELS, "ovg_stable"),
                # the seed study: every main-results method with a model of each seed (the paper's six labels)
                "seed_spread": ("ddim", "taba", "ovg", "ovg_taba", "edm", "ovg_edm")}
TRAIN_SEEDS = (0, 1, 2)                     # seed_spread's arms: the profile's models and their two replicates
PAPER_SCALES = ("x8", "x16", "x32")         # the paper's SR factors on 256-px BBBC021
N_IMAGES = 8                                # translated images (and latents) stored per (arm, method, seed)
N_PCA = 64                                  # inverted latents per (arm, method, seed) in the PCA

# study -> (axes, paper table)
ABLATIONS = {
    "backbone_ablation": (("backbone",), "table3"),
    "space_ablation": (("space",), "table4"),
    "scale_factor": (("factor",), "table5"),
    "eps_vs_x0": (("parameterization", "factor"), "table6"),
    "seed_spread": (("train_seed",), None),
}

# Direction of "better" for Table 6's "% improved" (paper App. B: every score is higher-is-better).
HIGHER_IS_BETTER = {"psnr": True, "ms_ssim": True, "haarpsi": True, "lpips": False, "fid": False, "s_hf": True,
                    "s_lf": True, "s_lf_gt": True, "s_dc": True, "s_g": True}


@dataclass(frozen=True)
class Arm:
    """One setting of an ablation: the coordinates it takes on the study's axes and the models that translate."""

    coords: tuple                  # ((axis, value), ...)
    backbone: str = "unet"
    space: str | None = None       # None: the profile's space
    parameterization: str = "eps"  # the model behind ddim / taba / ovg
    factor: int | None = None      # None: the profile's factor
    train_seed: int = 0            # the models' training seed (0: the profile's models)

    @property
    def tag(self) -> str:
        """Names this arm in the results: ``per_arm``, ``latents_<tag>``, the ``checkpoints`` entries."""
        return "-".join(f"{k}{v}" if k in ("factor", "train_seed") else str(v) for k, v in self.coords)


def ablation_arms(study: str, profile: str, *, factors=None, task=None) -> list[Arm]:
    """The arms of one ablation study at a profile (``factors`` None: the profile's; ``task`` not "sr": refuses
    scale_factor, and eps_vs_x0 has the profile's factor only)."""
    if study not in ABLATIONS:
        raise ValueError(f"unknown ablation {study!r}; valid: {', '.join(ABLATIONS)}")
    p = get_profile(profile)
    factors = [int(f) for f in (factors or p.factors)]
    if task is not None and task.kind != "sr":
        if study == "scale_factor":
            raise ValueError(f"scale_factor varies the super-resolution factor, but this dataset's task is "
                             f"{task.kind!r}, not 'sr'; run it on a super-resolution dataset (ihc-sr, bbbc021) or "
                             f"load yours declared as one (task='sr')")
        factors = [p.factor]
    one_axis = {"backbone_ablation": ("backbone", ("unet", "dit")), "space_ablation": ("space", ("pixel", "latent")),
                "scale_factor": ("factor", factors), "seed_spread": ("train_seed", TRAIN_SEEDS)}
    if study in one_axis:
        axis, values = one_axis[study]
        return [Arm(((axis, v),), **{axis: v}) for v in values]
    return [Arm((("parameterization", par), ("factor", f)), parameterization=par, factor=f)
            for par, f in itertools.product(("eps", "x0"), factors)]


def run_ablation_spec(spec: StudySpec, ctx: StudyContext, *, n_images: int = N_IMAGES, n_pca: int = N_PCA) -> xr.Dataset:
    """One ablation study: every arm's translations along its axes, each with the PCA of its first ``n_pca`` latents
    (``_pca``). Bad knobs raise before any model is trained."""
    if spec.get("model") is not None or spec.get("models") is not None:
        raise ValueError(f"{spec.study} compares models it trains itself (one per arm: backbone, data space, SR "
                         f"factor or prediction target), so it cannot run on a given model; leave model / models "
                         f"unset, or run main_results, pareto or the latent studies on your model")
    labels = list(spec.get("methods", STUDY_LABELS.get(spec.study, ABLATION_LABELS)))
    method_specs(labels, eta_hf=0.0, eta_lf=0.0)  # unknown labels raise here, listing the valid ones
    prof = get_profile(spec.profile)
    loaded = {prof.factor: spec_data(spec)}
    arms = ablation_arms(spec.study, spec.profile, factors=spec.get("factors"), task=loaded[prof.factor].task)
    ovg = ovg_setting(spec)  # one setting for every arm

    def rounds():   # each arm's models still to train, one lockstep round per arm (training seeds, factors, ...)
        return [plans_to_train(spec.profile, spec.dataset, labels, parameterization=arm.parameterization,
                               factor=arm.factor, backbone=arm.backbone, space=arm.space, options=data_options(spec),
                               seed=arm.train_seed) for arm in arms]

    ctx.cache.train_rounds(rounds)   # on a cluster: side by side, as tasks; else each trains below as it is loaded
    parts, checkpoints = [], {}
    for arm in arms:
        factor = arm.factor or prof.factor
        if factor not in loaded:
            loaded[factor] = spec_data(spec, factor)
        data = loaded[factor]
        models, ls, space = profile_models(spec.profile, spec.dataset, labels, parameterization=arm.parameterization,
                                           factor=arm.factor, backbone=arm.backbone, space=arm.space,
                                           options=data_options(spec), progress=ctx.progress, seed=arm.train_seed)
        checkpoints.update({f"{arm.tag}/{par}": D.checkpoint for par, D in models.items()
                            if isinstance(getattr(D, "checkpoint", None), str)})
        part = main_results.translation_results(
            ctx, data, models, profile=spec.profile, labels=labels, seeds=spec.get("seeds"),
            n_images=max(n_images, n_pca), ovg=ovg, ls=ls, parameterization=arm.parameterization,
            backbone=arm.backbone, space=space, study=spec.study)
        parts.append(_pca(part, n_images))
    ds = _assemble(spec.study, arms, parts, labels)
    ds.attrs["checkpoints"] = json.dumps(checkpoints)
    return ds


def _pca(ds: xr.Dataset, n_images: int, seed: int = 0) -> xr.Dataset:
    """Fig. 3's PCA on this arm's inverted latents (d from their actual shape), then keep n_images for display."""
    lat = ds["latents"]
    n, d = lat.sizes["image"], int(np.prod([lat.sizes[k] for k in lat.dims if k not in ("method", "seed", "image")]))
    m = min(n, d)
    cev = np.full((ds.sizes["method"], ds.sizes["seed"], m), np.nan)
    for i, j in itertools.product(range(ds.sizes["method"]), range(ds.sizes["seed"])):
        z = lat.isel(method=i, seed=j).values
        z = z[np.isfinite(z.reshape(n, -1)).all(1)]
        if len(z) >= 2:
            cev[i, j, :min(len(z), d)] = pca_explained_variance(z)
    g = np.random.default_rng(seed).standard_normal((n, d))
    g_cev = pca_explained_variance(g) if n >= 2 else np.full(m, np.nan)   # one latent has no PCA (NaN, as above)
    out = ds.isel(image=slice(0, n_images))
    out["pca_cev"] = (("method", "seed", "component"), cev)
    out["pca_cev_gaussian"] = (("component",), g_cev)
    out["pca_auc"] = out["pca_cev"].mean("component")   # NaN (no warning) for a (method, seed) without a curve
    out["latent_dim"] = ((), d)
    return out.assign_coords(component=np.arange(1, m + 1))


_PER_ARM = ("models", "methods", "space", "backbone", "parameterization", "latent_space", "latent_space_info",
            "data_meta", "wavelet", "mu_hf", "s_lf_kappa")
_SHARED = ("dataset", "profile", "seeds", "n_test", "steps", "s_hf_unit", "s_lf_condition", "s_dc_definition", "ovg")


def _assemble(study: str, arms: list[Arm], parts: list[xr.Dataset], labels) -> xr.Dataset:
    """Concatenate the arms' results along the study's axes (latents per arm when their shapes differ)."""
    axes = [k for k, _ in arms[0].coords]   # every arm of a study sets the same axes (``ablation_arms``)
    parts = [p.isel(model=0, drop=True) for p in parts]   # single-model noise samples
    per_arm = [{k: p.attrs.get(k) for k in _PER_ARM} for p in parts]
    latents = {}
    if len({(p["latents"].shape, p["latents"].dims) for p in parts}) > 1:   # stored per arm, dims named by its tag
        for p, a in zip(parts, arms):
            lat = p["latents"]
            latents["latents_" + a.tag] = lat.rename({d: f"{d}_{a.tag}" for d in lat.dims
                                                      if d not in ("method", "seed", "image")})
    bulk = [p.drop_vars(["latents"] if latents else []) for p in parts]
    ds = xr.concat(bulk, dim="arm", data_vars="all", coords="minimal", compat="override", join="outer",
                   combine_attrs="drop")
    for ax in axes:
        ds = ds.assign_coords({ax: ("arm", [dict(a.coords)[ax] for a in arms])})
    ds = ds.swap_dims({"arm": axes[0]}) if len(axes) == 1 else ds.set_index(arm=axes).unstack("arm")
    ds = ds.transpose(*axes, ...)
    ds = ds.merge(xr.Dataset(latents))
    ds.attrs = {k: parts[0].attrs[k] for k in _SHARED if k in parts[0].attrs}
    ds.attrs.update(study=study, axes=json.dumps(axes),
                    arms=json.dumps([{**asdict(a), "tag": a.tag} for a in arms], default=json_default),
                    per_arm=json.dumps(dict(zip([a.tag for a in arms], per_arm)), default=json_default),
                    labels=json.dumps(list(labels)))
    return ds


# --- reading the results -------------------------------------------------------------------------------------

def paper_scale(factor: int, factors) -> str:
    """The paper's factor (x8, x16, x32) that ours stands for in ``factors``, by value else by rank; "" if none."""
    factors = sorted({int(f) for f in factors})
    if set(factors) <= {8, 16, 32}:
        return f"x{int(factor)}"
    if int(factor) not in factors:
        return ""
    rank = factors.index(int(factor))
    return PAPER_SCALES[rank] if rank < len(PAPER_SCALES) else ""


def axis_values(ds: xr.Dataset) -> list[dict]:
    """Every arm's coordinates as {axis: value}, in the results' order."""
    axes = json.loads(ds.attrs["axes"])
    grids = [[v.item() if hasattr(v, "item") else v for v in ds[a].values] for a in axes]
    return [dict(zip(axes, combo)) for combo in itertools.product(*grids)]


def ablation_summary(ds: xr.Dataset, metrics=TABLE_METRICS) -> pd.DataFrame:
    """(axis values..., method, metric) -> mean and std over seeds and the crops' 95 % interval (NaN for a set-level
    metric), per arm."""
    out = pd.concat([summary(ds.sel(sel), metrics).assign(**sel) for sel in axis_values(ds)], ignore_index=True)
    axes = list(axis_values(ds)[0])
    keep = ("deterministic", "failed", "n", "lo", "hi", "crops")
    return out[[*axes, "method", "metric", "mean", "std", *[c for c in out.columns if c in keep]]]


def improvement_table(ds: xr.Dataset, metrics=TABLE_METRICS) -> pd.DataFrame:
    """Per (method, factor, seed) and metric: eps and x0 per-seed means, their difference and whether x0 is better."""
    rows = []
    for m in metrics:
        if m not in ds:
            continue
        v = ds[m].mean("sample", skipna=True) if "sample" in ds[m].dims else ds[m]
        frame = v.to_dataframe(name="value").reset_index()
        wide = frame.pivot_table(index=[c for c in ("method", "factor", "seed") if c in frame.columns],
                                 columns="parameterization", values="value").reset_index()
        wide["metric"] = m
        rows.append(wide)
    out = pd.concat(rows, ignore_index=True)
    out["delta"] = out["x0"] - out["eps"]
    better = [(d > 0) if HIGHER_IS_BETTER.get(m, True) else (d < 0) for d, m in zip(out["delta"], out["metric"])]
    out["x0_better"] = np.where(out["delta"].notna(), better, np.nan)
    return out


def arm_latents(ds: xr.Dataset, **sel) -> xr.DataArray:
    """The stored inverted latents of one arm (stored per arm when the arms' latent shapes differ)."""
    arms = json.loads(ds.attrs["arms"])
    for a in arms:
        coords = dict(a["coords"])
        if all(str(coords.get(k)) == str(v) for k, v in sel.items()):
            name = "latents_" + a["tag"]
            return ds[name] if name in ds else ds["latents"].sel(sel)
    raise KeyError(f"no arm with {sel}; arms: {[a['tag'] for a in arms]}")


def paper_key_of(ds: xr.Dataset) -> pd.DataFrame:
    """(our axis value(s) -> paper column, value) for the study's axis."""
    ax = json.loads(ds.attrs["axes"])[-1]
    values = [v.item() if hasattr(v, "item") else v for v in ds[ax].values]
    if ax != "factor":
        return pd.DataFrame({ax: values, "paper_column": ax, "paper_value": values})
    recorded = json.loads(ds.attrs.get("profile_values") or "{}").get("factors")
    if not recorded and ds.attrs.get("profile") in PROFILES:
        recorded = PROFILES[ds.attrs["profile"]].factors
    factors = sorted({int(f) for f in recorded or ()} | {int(v) for v in values})
    return pd.DataFrame({ax: values, "paper_column": "scale", "paper_value": [paper_scale(v, factors) for v in values]})
