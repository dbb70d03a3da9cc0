"""Translation studies: run every (method label, seed) on a dataset's paired test split and score it."""
from __future__ import annotations

import json
from functools import partial

import numpy as np
import torch
import xarray as xr

from ..inversion import Euler, default_sigmas, sample, sample_seeds
from ..inversion.methods import METHODS
from ..metrics import latent as lat
from ..metrics import spectral as spec
from ..metrics.realism import hf_energy_rgb
from ..framework.controls import (control_scores, image_scores, noise_sigma, paired_metrics, scoring_settings, warn_failed,
                       with_failures)
from ..framework.realism import add_kid, drift_diagnostics, ovg_added_energy
from ..framework.splits import test_subsets
from .pareto_calibrate import ovg_for
from ..framework.cells import NoCache, StudyContext, translate_cell
from ..framework.model_set import data_options, dataset_for, profile_models
from ..framework.user_models import spec_data, study_labels, user_models
from ..framework.validity import failure_bounds
from ..framework.oracle_arm import ARM_LABELS, oracle_models, wants_arm, with_arm
from ..framework.profiles import get_profile
from ..framework.spec import CACHE_VERSION
from ..data.support import dataset_support
from ..framework.method_labels import BASELINE_LABELS, FILL_LABELS, OVG_DEFAULTS, PAPER_LABELS, STOCHASTIC, MethodSpec, method_specs, ovg_setting

__all__ = ["translation_results", "run_translation_study", "run_main_results", "from_noise_samples", "scored_cells",
           "ovg_drift_cell",
           "GAUSSIANITY", "SUPPORT_LEAK_DEFINITION"]

SUPPORT_LEAK_DEFINITION = ("off-support energy share of the latent over white noise's, ||(I - P) x_T||^2 / ||x_T||^2 / "
                           "(1 - dim S / d), P the projector onto the support S of the task's degradation (attrs "
                           "support); 0: the input's imprint, 1: white noise off S; NaN: no known support")

# the Gaussianity scores stored per cell: (results name, ``metrics.latent.gaussianity`` field)
GAUSSIANITY = (("s_g", "s_g"), ("ks_d", "ks_d"), ("ks_p", "p_value"), ("mean_norm_ratio", "mean_norm_ratio"),
               ("z_mean", "z_mean"), ("norm_z", "norm_z"))


def _check_study_args(prof, labels, seeds, n_test, batch_size) -> tuple[list[int], list[str], int]:
    """Validate a study's arguments before any data is loaded or model trained; returns seeds, labels, batch size."""
    labels = [labels] if isinstance(labels, str) else list(labels)
    method_specs(labels, eta_hf=0.0, eta_lf=0.0)  # unknown labels raise here, listing the valid ones
    seeds = list(prof.seeds if seeds is None else seeds)
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in seeds):
        raise TypeError(f"seeds must be a list of integers such as [0, 1, 2], got {seeds!r}")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty; pass at least one seed, e.g. seeds=[0]")
    batch_size = prof.batch_size if batch_size is None else batch_size
    for what, v in (("steps (of the profile)", prof.steps), ("n_test", 1 if n_test is None else n_test),
                    ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{what} must be an integer >= 1, got {v!r}")
    return seeds, labels, int(batch_size)


def _check_models_fit(models: dict, needed, x_in: torch.Tensor, dataset: str) -> None:
    """Raise when a model's network input (channels, side) differs from the tensors it will translate."""
    for par in needed:
        cfg = getattr(getattr(models[par], "net", None), "config", None)
        c, side = getattr(cfg, "in_channels", None), getattr(cfg, "sample_size", None)
        side = side[0] if isinstance(side, (tuple, list)) else side
        if c is not None and side is not None and (c, side, side) != tuple(x_in.shape[1:]):
            raise ValueError(f"the {par} model takes {c}x{side}x{side} inputs, but {dataset} gives "
                             f"{'x'.join(map(str, x_in.shape[1:]))} tensors; use the model trained for this dataset and "
                             f"profile (models=None) or load the dataset at the model's size")


def scored_cells(ctx, D, x_in, ms: MethodSpec, *, seed: int, steps: int, batch_size: int, src, gt, scoring: dict,
                 n_images: int | None, groups: dict | None = None, ls=None) -> dict:
    """Translate ``x_in`` once, score it and cut it into one cell per seed (``groups``: {seed: positions in x_in};
    None: all under ``seed``), set-level scores on each seed's crops, ``n_images`` images kept (None: all)."""
    groups = groups or {seed: range(len(x_in))}
    tr = translate_cell(ctx, D, x_in, ms, seed=seed, steps=steps, batch_size=batch_size)
    out, latent = torch.from_numpy(tr["output"].values), torch.from_numpy(tr["latent"].values)
    if ls is not None:
        out = ls.decode(out)
    scores = image_scores(out, src, gt, scoring, latent)
    whole = with_failures(scores, out, latent, tr["nonfinite_step"].values)
    cells = {}
    for s, pos in groups.items():
        cell = whole.isel(sample=list(pos))
        warn_failed(ms.label, s, cell["failed"].values, cell["failure"].values, steps)
        kept = ~cell["failed"].values
        lat_s, out_s = latent[list(pos)], out[list(pos)]
        g = lat.gaussianity(lat_s[torch.from_numpy(kept)]) if kept.any() else None
        for name, attr in GAUSSIANITY:
            cell[name] = ((), np.nan if g is None else getattr(g, attr))
        cell["n_kept"] = ((), int(kept.sum()))
        cell["nfe"] = ((), int(tr["nfe"].values))
        cell["images"] = (("image", "channel", "y", "x"), out_s[:n_images].clamp(-1, 1).numpy().astype(np.float32))
        lat_dims = ("image", "channel", "y", "x") if ls is None else ("image", "latent_channel", "latent_y", "latent_x")
        cell["latents"] = (lat_dims, lat_s[:n_images].numpy().astype(np.float32))
        cells[s] = cell.assign_coords(sample=np.arange(len(pos)))
    return cells


def translation_results(ctx, data, models: dict, *, profile: str, labels=PAPER_LABELS, seeds=None,
                        n_test: int | None = None, n_images: int | None = 8, batch_size: int | None = None,
                        ovg: dict | None = None, ls=None, parameterization: str = "eps", backbone: str = "unet",
                        space: str | None = None, study: str = "main_results",
                        user_models: dict | None = None, extra: tuple = ()) -> xr.Dataset:
    """The per-sample table (method, seed, sample) of every label (and MethodSpec ``extra``) on each seed's test
    crops, with images, latents, samples from noise and the controls; ``ls``: the models' LatentSpace."""
    prof = get_profile(profile)
    seeds, labels, batch_size = _check_study_args(prof, labels, seeds, n_test, batch_size)
    subsets = test_subsets(data.test_source.shape[0], n_test or prof.n_test, seeds, prof.n_val)
    n = len(subsets[seeds[0]])
    union = sorted(set().union(*map(set, subsets.values())))
    src_all, gt_all = data.test_source, data.test_target
    paired = bool(getattr(data, "paired", True))
    scoring = scoring_settings(data)
    op = dict(ovg) if ovg else {**OVG_DEFAULTS, "source": "defaults"}
    specs = method_specs(labels, eta_hf=op["eta_hf"], eta_lf=op["eta_lf"], lowpass_kappa=scoring["kappa"],
                         per_base=op.get("per_base"), parameterization=parameterization,
                         projector=None if ls is not None else scoring["support"], check_support=True,
                         fill_scale=float(op.get("fill_scale", 1.0))) + list(extra)
    needed = sorted({m.parameterization for m in specs})
    missing = [p for p in needed if p not in models]
    if missing:
        raise ValueError(f"no {', '.join(missing)} model given; the labels {labels} need models for {needed}")
    x_all = src_all[union] if ls is None else ls.encode(src_all[union])
    at = {i: k for k, i in enumerate(union)}
    _check_models_fit(models, needed, x_all, data.name)
    per = {}
    common = dict(steps=prof.steps, batch_size=batch_size, scoring=scoring, n_images=n_images, ls=ls)
    # a stochastic label draws per seed on that seed's crops; a deterministic one translates every crop once
    runs = [(ms, seed, groups) for ms in specs for seed, groups in
            ([(s, {s: subsets[s]}) for s in seeds] if ms.label in STOCHASTIC else [(seeds[0], subsets)])]

    def run(r):
        ms, seed, groups = r
        crops = sorted(set().union(*map(set, groups.values())))
        pos = {i: k for k, i in enumerate(crops)}
        return {(ms.label, s): c for s, c in scored_cells(
            ctx, models[ms.parameterization], x_all[[at[i] for i in crops]], ms, seed=seed, src=src_all[crops],
            gt=gt_all[crops] if paired else None, groups={s: [pos[i] for i in groups[s]] for s in groups},
            **common).items()}
    for cells in ctx.cache.map(run, runs):   # the cells side by side on a cluster, else one after another
        per.update(cells)
    ds = xr.concat([xr.concat([per[(ms.label, s)].expand_dims(seed=[s]) for s in seeds], dim="seed")
                    .expand_dims(method=[ms.label]) for ms in specs],
                   dim="method", data_vars="all", coords="minimal", compat="override", join="outer")
    shown = subsets[seeds[0]][:ds.sizes["image"]]   # the first seed's leading crops
    ds["source_images"] = (("image", "channel", "y", "x"), src_all[shown].numpy().astype(np.float32))
    ds["truth_images"] = (("image", "channel", "y", "x"), gt_all[shown].numpy().astype(np.float32))
    ds = ds.assign_coords(sample=np.arange(n), image=np.arange(len(shown)))
    ds["crop"] = (("seed", "sample"), np.array([subsets[s] for s in seeds], dtype=np.int64))
    noise = (0.0, "no paired test split: no noise controls")   # (sigma, source): the detail energy OVG adds
    if paired:
        energy, source = ovg_added_energy(ds, hf_energy_rgb(gt_all[union], scoring["wavelet"]), union)
        noise = (noise_sigma(gt_all[union], energy, union, scoring["wavelet"]), source)
    ds = ds.merge(control_scores(src_all[union], gt_all[union] if paired else None, scoring, sigma=noise[0],
                                 crops=union)
                  .rename({"sample": "crop_index"}).assign_coords(crop_index=np.array(union, dtype=np.int64)))
    if paired:
        ds = add_kid(ds, scoring["reference_features"], scoring["reference"]["scaler"])
    checkpoints = {par: str(getattr(models[par], "checkpoint", "")) for par in needed}
    # the latent space's scalar training record (scaling factor, reconstruction MSE / PSNR) for the chapters
    info = getattr(ls, "info", None)
    numbers = None if info is None else {k: v for k, v in info.items() if isinstance(v, (int, float))}
    ds.attrs = dict(study=study, dataset=data.name, profile=profile, seeds=json.dumps(seeds), n_test=n,
                    steps=prof.steps, wavelet=scoring["wavelet"], mu_hf=float(scoring["mu_hf"]), s_hf_unit="uint8",
                    s_lf_kappa=float(scoring["kappa"]),
                    s_lf_condition="input condition (App. B.5); s_lf_gt uses the ground truth",
                    s_dc_definition="1 - flagged-patch ratio (tables' convention) on each latent scaled to unit "
                                    "variance; patch 4, stride 1, FPR 0.05; s_dc_raw: the same on the raw latent",
                    support_leak_definition=SUPPORT_LEAK_DEFINITION, support_reason=scoring["support_reason"],
                    support=json.dumps(None if scoring["support"] is None else scoring["support"].describe()),
                    s_lf_range="[0, 1], data_range 1", failure_bounds=failure_bounds(),
                    control_noise_sigma=float(noise[0]), control_noise_source=noise[1],
                    realism_reference=f"{scoring['reference']['n']} crops of the target pool, evenly spaced "
                                      "(disjoint from the paired test and validation crops)",
                    kid_wav_definition="unbiased MMD^2, kernel (x.y/d + 1)^3, on rank-normalised wavelet statistics "
                                       "of 8-bit YCbCr crops (metrics.realism); interval: 95 % two-sample "
                                       "bootstrap over the test and reference crops",
                    ovg=json.dumps(op), methods=json.dumps([m.describe() for m in specs], default=str),
                    task=json.dumps(data.task.describe()), data_meta=json.dumps(data.meta, default=str),
                    paired_metrics=paired_metrics(data),
                    user_models=json.dumps(user_models), test_split=str(data.meta.get("test_split", "")),
                    models=json.dumps(checkpoints), checkpoints=json.dumps({k: v for k, v in checkpoints.items() if v}),
                    backbone=backbone, parameterization=parameterization, space=space or prof.space,
                    latent_space=json.dumps(None if ls is None else ls.describe(), default=str),
                    latent_space_info=json.dumps(numbers))
    noise = ctx.cache.cell(
        {"cell": "from_noise", "version": CACHE_VERSION, "models": {p: models[p] for p in needed},
         "n": prof.n_from_noise, "steps": prof.steps, "seed": seeds[0], "mu_hf": float(scoring["mu_hf"]),
         "wavelet": scoring["wavelet"], "decoder": None if ls is None else ls.vae, "shape": tuple(x_all.shape[1:])},
        # a ModelPair (two-model translation) samples with its target model
        lambda: from_noise_samples({p: getattr(models[p], "target", models[p]) for p in needed}, prof.n_from_noise,
                                   prof.steps, mu_hf=scoring["mu_hf"], wavelet=scoring["wavelet"], seed=seeds[0],
                                   space=ls, shape=tuple(x_all.shape[1:])))
    return ds.merge(noise)


def run_translation_study(study: str, dataset: str, profile: str, *, labels=PAPER_LABELS, seeds=None, models=None,
                          factor: int | None = None, n_test: int | None = None, n_images: int = 8, cache=None,
                          progress: bool = True, backbone: str = "unet", space=None, parameterization: str = "eps",
                          batch_size: int | None = None, ovg: dict | None = None) -> xr.Dataset:
    """Translation results of a (dataset, profile) with its trained models (library use: no files written; ``cache``
    None: no cache). Bad arguments raise before any model is trained."""
    prof = get_profile(profile)
    seeds, labels, batch_size = _check_study_args(prof, labels, seeds, n_test, batch_size)
    data = dataset_for(profile, dataset, factor)
    models, ls, space_name = profile_models(profile, dataset, labels, parameterization=parameterization,
                                            factor=factor, backbone=backbone, space=space, progress=progress,
                                            given=models)
    ctx = StudyContext(cache=cache if cache is not None else NoCache(), progress=progress)
    return translation_results(ctx, data, models, profile=profile, labels=labels, seeds=seeds, n_test=n_test,
                               n_images=n_images, batch_size=batch_size, ovg=ovg, ls=ls,
                               parameterization=parameterization, backbone=backbone, space=space_name, study=study)


def run_main_results(spec, ctx) -> xr.Dataset:
    """The main-results study (paper Tables 1-2): every method label on the test split, per seed; with a user's
    ``model`` / ``models`` those translate and the labels they cannot run are left out."""
    given = user_models(spec)
    data = spec_data(spec)
    # the fill runs by default where the task's support is known and the models invert pixels
    pixels = given is None or given.latent_space is None
    fill = list(FILL_LABELS) if pixels and dataset_support(data)[0] is not None else []
    default = list(PAPER_LABELS) + [b for b in BASELINE_LABELS if b in METHODS] + fill
    labels = study_labels(spec.get("methods"), default, given)
    _check_study_args(get_profile(spec.profile), labels, spec.get("seeds"), None, None)
    common = dict(profile=spec.profile, seeds=spec.get("seeds"), study="main_results", n_images=None)
    if given is not None:
        return translation_results(ctx, data, given.models, labels=labels, ovg=ovg_for(spec, ctx, given, data),
                                   ls=given.latent_space, parameterization=given.parameterization,
                                   space="latent" if given.latent_space is not None else "pixel",
                                   user_models=given.info, **common)
    models, ls, space = profile_models(spec.profile, spec.dataset, labels, options=data_options(spec),
                                       progress=ctx.progress)
    ds = translation_results(ctx, data, models, labels=labels, ovg=ovg_setting(spec), ls=ls, space=space, **common)
    ds = ds.merge(_ovg_drift(ctx, ds, data, models, ls), combine_attrs="drop_conflicts")
    if not wants_arm(spec) or ls is not None:
        return ds
    # the oracle arm: the same methods, step sizes and crops with the exact Gaussian denoiser (framework/oracle_arm.py)
    oracle = oracle_models(spec.profile, spec.dataset, options=data_options(spec))
    arm = translation_results(ctx, data, oracle, labels=[x for x in labels if x in ARM_LABELS], ovg=ovg_setting(spec),
                              space="pixel", **common)
    arm = arm.merge(_ovg_drift(ctx, arm, data, oracle, None), combine_attrs="drop_conflicts")
    return with_arm(ds, arm, form=oracle["eps"].net.form)


def _ovg_drift(ctx, ds: xr.Dataset, data, models: dict, ls) -> xr.Dataset:
    """Where plain OVG's variance drift goes on the first seed's test crops; empty where it cannot be measured."""
    if ls is not None or "ovg" not in ds["method"].values or data.test_source.shape[1] != 3:
        return xr.Dataset()
    op = json.loads(ds.attrs["ovg"])
    crops = ds["crop"].isel(seed=0).values
    cell = ovg_drift_cell(ctx, models["eps"], data.test_source[crops], data.test_target[crops],
                          (op.get("per_base") or {}).get("ovg", op)["eta_hf"], float(ds.attrs["s_lf_kappa"]),
                          int(ds.attrs["steps"]), data.task.factor if data.task.kind == "sr" else None)
    # the diagnostics' attrs, not the cell's own checksum
    cell.attrs = {k: v for k, v in cell.attrs.items() if k.startswith(("ovg_drift_", "white_noise_", "truth_detail_"))}
    return cell


def ovg_drift_cell(ctx, D, x, truth, eta_hf: float, kappa: float, steps: int, block) -> xr.Dataset:
    """Drift diagnostics of OVG's variance term alone (eta_LF 0) at ``eta_hf`` on ``x``, a cached cell."""
    ms = method_specs(["ovg"], eta_hf=eta_hf, eta_lf=0.0, lowpass_kappa=kappa)[0]
    compute = partial(drift_diagnostics, D, x, ms.method, ms.guidance, steps, block=block, truth=truth)
    if ctx is None:
        return compute()
    return ctx.cache.cell({"cell": "ovg_drift", "version": CACHE_VERSION, "model": D, "inputs": x,
                           "method": ms.describe(), "steps": steps, "block": block, "truth": truth}, compute)


def from_noise_samples(models: dict, n: int, steps: int, *, mu_hf: float, wavelet: str, shape: tuple, seed: int = 0,
                       space=None) -> xr.Dataset:
    """Samples of ``shape`` from pure noise under the target label for each model, with their S_HF."""
    imgs, shf, dle = [], [], []
    pars = sorted(models)
    for par in pars:
        D = models[par]
        sig = default_sigmas(D, steps)
        z = torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(s))
                         for s in sample_seeds(seed + 10_000, range(n))])
        x = sample(D, D.from_noise(z, float(sig[0])), sig, Euler(), label=1).x
        x = (x if space is None else space.decode(x)).clamp(-1, 1)
        imgs.append(x.numpy().astype(np.float32))
        shf.append(spec.s_hf(x, mu_hf, wavelet=wavelet))
        dle.append(spec.delta_log_e(x, mu_hf, wavelet=wavelet))
    return xr.Dataset({"noise_samples": (("model", "noise_image", "channel", "y", "x"), np.stack(imgs)),
                       "noise_s_hf": (("model", "noise_image"), np.stack(shf)),
                       "noise_delta_log_e_hf": (("model", "noise_image"), np.stack(dle))},
                      coords={"model": pars, "noise_image": np.arange(n)})
