"""OVG step-size sweep (paper Sec. 5.2, Fig. 6): S_LF against S_HF over an (eta_HF, eta_LF) grid."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import torch
import xarray as xr

from ..metrics import latent as lat
from ..metrics import realism as rl
from ..text import step_size
from ..framework.cells import translate_cell
from ..framework.profiles import get_profile
from ..framework.validity import failed_of
from ..framework.splits import validation_indices
from ..framework.method_labels import OVG_DEFAULTS, method_specs
from ..reference.method_names import method_name
from ..framework.model_set import data_options, profile_models
from ..framework.user_models import spec_data, study_labels, user_models
from ..framework.controls import image_scores, paired_metrics, realism_sets, scoring_settings, with_failures
from .pareto_choice import BASE_OF, RULES, choose_point, pareto_front, truth_bands
from ..framework.oracle_arm import SUFFIX, oracle_models, wants_arm, with_arm

__all__ = ["BASES", "BASELINES", "GRID_SIZES", "SCORES", "default_grid", "pareto_results", "run_pareto", "grid_summary",
           "baseline_summary", "joint_front", "MOST_FAILED", "grid_table", "front_counts", "choices_table",
           "beats_baselines", "FILL_SCALES", "fill_sweep", "pareto_export"]

BASES = ("ovg", "ovg_taba", "ovg_edm")
BASELINES = ("ddim", "taba", "edm")    # the non-OVG methods shown on the same axes by default
GRID_SIZES = {"smoke": (2, 2), "quick": (3, 3), "paper": (5, 5)}   # (n eta_HF, n eta_LF) per profile
SCORES = ("psnr", "s_hf", "s_lf", "s_lf_gt", "s_dc", "delta_log_e_hf", "delta_log_e_hf_luma", "delta_log_e_hf_chroma",
          "delta_log_e_hf_luma_ref", "delta_log_e_hf_chroma_ref")
BAND_OF = {"luma": "delta_log_e_hf_luma_ref", "chroma": "delta_log_e_hf_chroma_ref"}  # the scores the bands bound
# the fill's scales (inversion.methods.Fill: 1 = white noise's off-support energy) swept where the support is known
FILL_SCALES = (0.25, 0.5, 0.75, 1.0)


def default_grid(profile: str) -> tuple[list[float], list[float]]:
    """Log-spaced (eta_HF, eta_LF) grids two decades wide each, centred on OVG_DEFAULTS (3 significant digits)."""
    sizes = zip(("eta_hf", "eta_lf"), GRID_SIZES.get(profile, GRID_SIZES["quick"]))
    return tuple([float(f"{v:.3g}") for v in OVG_DEFAULTS[k] * np.logspace(-1, 1, n)] for k, n in sizes)


# --------------------------------------------------------------------------------------------- the study

def _cell(ctx, D, ms, src, gt, seed: int, prof, scoring: dict, n_show: int, ls=None) -> xr.Dataset:
    """Translate and score one (label, step sizes) cell on the sweep's images (encoded / decoded by ``ls`` if given)."""
    x_in = src if ls is None else ls.encode(src)
    tr = translate_cell(ctx, D, x_in, ms, seed=seed, steps=prof.steps, batch_size=prof.batch_size)
    out, latent = torch.from_numpy(tr["output"].values), torch.from_numpy(tr["latent"].values)
    if ls is not None:
        out = ls.decode(out)
    scores = image_scores(out, src, gt, scoring, latent)
    # failed samples (framework.validity) are NaN and marked; a sweep expects some, so no warning per grid point
    cell = with_failures({k: scores[k] for k in SCORES}, out, latent, tr["nonfinite_step"].values)
    kept = ~cell["failed"].values
    feats = scores["wav_features"][kept]
    feats = feats[np.isfinite(feats).all(1)]
    # KID_wav of the point's outputs against the real reference crops (a set score: no per-crop value)
    cell["kid_wav"] = ((), rl.mmd2_unbiased(feats, scoring["reference_features"]) if len(feats) > 1 else np.nan)
    cell["s_g"] = ((), lat.gaussianity(latent[torch.from_numpy(kept)]).s_g if kept.sum() > 1 else np.nan)
    cell["nfe"] = ((), int(tr["nfe"].values))
    cell["images"] = (("image", "channel", "y", "x"), out[:n_show].clamp(-1, 1).numpy().astype(np.float32))
    return cell


def _check(bases, rule, eta_hf, eta_lf, primary, profile):
    bases = [str(b) for b in bases]
    unknown = [b for b in bases if b not in BASES]
    if unknown or not bases:
        raise ValueError(f"unknown or no bases {unknown or bases}; valid bases: {', '.join(BASES)}")
    if rule not in RULES:
        raise ValueError(f"unknown choice rule {rule!r}; valid rules: {', '.join(RULES)}")
    grids = zip(default_grid(profile), (eta_hf, eta_lf))
    eta_hf, eta_lf = (sorted(map(float, g if v is None else v)) for g, v in grids)
    if any(not g or min(g) < 0 or len(set(g)) < len(g) for g in (eta_hf, eta_lf)):
        raise ValueError(f"step-size grids must hold distinct values >= 0, got eta_hf={eta_hf}, eta_lf={eta_lf}")
    primary = primary or ("ovg" if "ovg" in bases else bases[0])
    if primary not in bases:
        raise ValueError(f"primary={primary!r} is not among the swept bases {bases}")
    return bases, eta_hf, eta_lf, primary


def _sweep(ctx, cells: dict, models, specs, bases, base_labels, eta_hf, eta_lf, src, gt, seed, prof, scoring, n_show,
           ls, n, data, rule, parameterization, kappa) -> tuple[xr.Dataset, dict]:
    """The grid's results (cells computed once into ``cells``), its Pareto fronts and each base's choice."""
    def point(bhl):
        b, h, lo = bhl
        ms = method_specs([b], eta_hf=h, eta_lf=lo, lowpass_kappa=kappa, parameterization=parameterization)[0]
        return _cell(ctx, models[ms.parameterization], ms, src, gt, seed, prof, scoring, n_show, ls)
    todo = [(b, h, lo) for b in bases for h in eta_hf for lo in eta_lf if (b, h, lo) not in cells]
    cells.update(zip(todo, ctx.cache.map(point, todo)))   # grid points side by side on a cluster
    grid = xr.concat([xr.concat([xr.concat([cells[(b, h, lo)].expand_dims(eta_lf=[lo]) for lo in eta_lf],
                                           "eta_lf").expand_dims(eta_hf=[h]) for h in eta_hf], "eta_hf")
                      .expand_dims(base=[b]) for b in bases], "base")
    ds = grid.assign_coords(sample=np.arange(n), image=np.arange(n_show))
    if base_labels:
        for m in base_labels:
            if m not in cells:
                cells[m] = _cell(ctx, models[specs[m].parameterization], specs[m], src, gt, seed, prof, scoring, 0, ls)
        bl = xr.concat([cells[m][[*SCORES, "kid_wav", "failed"]].expand_dims(method=[m]) for m in base_labels],
                       "method")
        ds = ds.merge(bl.rename({k: f"baseline_{k}" for k in bl.data_vars}).assign_coords(sample=np.arange(n)))
    ds["source_images"] = (("image", "channel", "y", "x"), src[:n_show].numpy().astype(np.float32))
    ds["truth_images"] = (("image", "channel", "y", "x"),
                          (data.test_target[:n_show] if gt is None else gt[:n_show]).numpy().astype(np.float32))

    mean = {k: ds[k].mean("sample") for k in ("s_hf", "s_lf", *BAND_OF.values())}
    eligible = ~failed_of(ds).any("sample")
    on_front, chosen, in_band = (xr.zeros_like(eligible) for _ in range(3))
    choices = {}
    for b in bases:
        sel = {"base": b}
        hf, lf, ok, kid = (v.sel(sel).values.ravel() for v in (mean["s_hf"], mean["s_lf"], eligible, ds["kid_wav"]))
        ranks = np.add.outer(np.arange(len(eta_hf)), np.arange(len(eta_lf))).ravel()
        on_front.loc[sel] = pareto_front(np.where(ok, hf, np.nan), np.where(ok, lf, np.nan)).reshape(len(eta_hf), -1)
        detail = {k: mean[v].sel(sel).values.ravel() for k, v in BAND_OF.items()}
        base_kid = float(ds["baseline_kid_wav"].sel({"method": BASE_OF[b]})) \
            if "baseline_kid_wav" in ds and BASE_OF[b] in ds["method"].values else None   # its method unguided
        pick = choose_point(kid, lf, detail["luma"], detail["chroma"], scoring["bands"], base_kid=base_kid, rule=rule,
                            eligible=ok, size=ranks)
        in_band.loc[sel] = pick["in_band"].reshape(len(eta_hf), -1)
        k = pick["index"]
        if k is None:
            warnings.warn(f"{b}: no grid point without failed samples; no operating point chosen", RuntimeWarning,
                          stacklevel=2)
            continue
        i, j = divmod(k, len(eta_lf))
        chosen.loc[{"base": b, "eta_hf": eta_hf[i], "eta_lf": eta_lf[j]}] = True
        choices[b] = {"eta_hf": eta_hf[i], "eta_lf": eta_lf[j], "s_hf": float(hf[k]), "s_lf": float(lf[k]),
                      "kid_wav": float(kid[k]), "luma": float(detail["luma"][k]), "chroma": float(detail["chroma"][k]),
                      "in_band": bool(pick["in_band"][k]), "banded": pick["banded"],
                      "beats_base": pick["beats_base"], "base_kid_wav": base_kid}
        choices[b]["on_edge"] = [f"{a} {side}" for a, side in _on_edge(choices[b], eta_hf, eta_lf)]
    ds["on_front"], ds["chosen"], ds["in_band"] = on_front.astype(bool), chosen.astype(bool), in_band.astype(bool)
    return ds, choices


def fill_sweep(ctx, models, ds: xr.Dataset, scales, src, gt, seed, prof, scoring, n_show, kappa,
               parameterization: str, rule: str) -> tuple[xr.Dataset, dict | None]:
    """DDIM + fill at each of ``scales``, scored and chosen as a grid point: ("fill_*" variables on dimension
    "fill_scale", the choice or None when every scale failed)."""
    cells = []
    for scale in scales:
        ms = method_specs(["ddim_fill"], eta_hf=0.0, eta_lf=0.0, lowpass_kappa=kappa, parameterization=parameterization,
                          projector=scoring["support"], fill_scale=float(scale), check_support=True)[0]
        cells.append(_cell(ctx, models[ms.parameterization], ms, src, gt, seed, prof, scoring, n_show).drop_vars(
            "images", errors="ignore"))
    grid = xr.concat(cells, "fill_scale").assign_coords(fill_scale=[float(v) for v in scales])
    ok = ~grid["failed"].any("sample").values
    mean = {k: grid[v].mean("sample").values for k, v in (("s_lf", "s_lf"), *BAND_OF.items())}
    base_kid = float(ds["baseline_kid_wav"].sel({"method": "ddim"})) \
        if "baseline_kid_wav" in ds and "ddim" in ds["method"].values else None
    pick = choose_point(grid["kid_wav"].values, mean["s_lf"], mean["luma"], mean["chroma"], scoring["bands"],
                        base_kid=base_kid, rule=rule, eligible=ok)
    k = pick["index"]
    choice = None if k is None else {
        "fill_scale": float(scales[k]), "s_lf": float(mean["s_lf"][k]), "kid_wav": float(grid["kid_wav"].values[k]),
        "in_band": bool(pick["in_band"][k]), "banded": pick["banded"], "beats_base": pick["beats_base"],
        "base_kid_wav": base_kid}
    grid["chosen"] = ("fill_scale", np.arange(len(scales)) == (-1 if k is None else k))
    return grid.rename({v: f"fill_{v}" for v in grid.data_vars}), choice


def pareto_export(ds: xr.Dataset | None, spec=None) -> dict:
    """What a study reading the sweep records: ``ovg_choice``, and for the main results the fill's scale."""
    from .pareto_choice import ovg_choice

    out = ovg_choice(ds, spec)
    fill = json.loads(ds.attrs.get("fill_choice", "null")) if ds is not None else None
    if spec is not None and spec.study == "main_results" and fill and not out["source"].startswith("defaults"):
        out["fill_scale"] = float(fill["fill_scale"])
    return out


def _bands(data, src, gt, scoring) -> tuple[dict, float, str]:
    """(the real crops' luma and chroma bands, the validation truths' KID_wav or NaN, where the bands come from)."""
    real, note = (gt, "the validation crops' ground truth") if gt is not None else \
        (realism_sets(data)[0], "the realism reference crops (no paired ground truth)")
    sc = image_scores(real, real if gt is None else src, None, scoring)
    feats = sc["wav_features"][np.isfinite(sc["wav_features"]).all(1)]
    kid = rl.mmd2_unbiased(feats, scoring["reference_features"]) if gt is not None and len(feats) > 1 else np.nan
    return truth_bands(sc[BAND_OF["luma"]], sc[BAND_OF["chroma"]]), float(kid), note


def _on_edge(choice: dict | None, eta_hf: list, eta_lf: list) -> list[tuple[str, str]]:
    """[(axis, "low" | "high")] for each grid axis (of more than one value) whose end the choice sits on."""
    return [(axis, "low" if choice[axis] == grid[0] else "high")
            for axis, grid in (("eta_hf", eta_hf), ("eta_lf", eta_lf))
            if choice and len(grid) > 1 and choice[axis] in (grid[0], grid[-1])]


def pareto_results(ctx, data, models: dict, *, profile: str, eta_hf=None, eta_lf=None, bases=BASES,
                   baselines=BASELINES, n_images: int | None = None, seed: int | None = None, rule: str = "maximin",
                   primary: str | None = None, n_show: int = 4, ls=None, parameterization: str = "eps",
                   user_models: dict | None = None, extend: int = 1, fill_scales=FILL_SCALES) -> xr.Dataset:
    """Sweep the OVG step sizes of ``bases`` on the validation crops beside ``baselines``, choose each base's point by
    ``rule`` (the grid grown past an edge ``extend`` times) and, where the support is known, the fill's scale."""
    prof = get_profile(profile)
    bases, eta_hf, eta_lf, primary = _check(bases, rule, eta_hf, eta_lf, primary, profile)
    seed = int(prof.seeds[0] if seed is None else seed)
    idx, split_note = validation_indices(data.test_source.shape[0], n_images, prof.n_val)
    n = len(idx)
    src, gt = data.test_source[idx], data.test_target[idx] if getattr(data, "paired", True) else None
    n_show = min(n_show, n)
    scoring = scoring_settings(data)
    scoring["bands"], truth_kid, band_note = _bands(data, src, gt, scoring)
    base_labels = list(dict.fromkeys(baselines))
    kappa = scoring["kappa"]
    specs = {ms.label: ms for ms in method_specs([*bases, *base_labels], eta_hf=0.0, eta_lf=0.0, lowpass_kappa=kappa,
                                                 parameterization=parameterization)}
    missing = sorted({ms.parameterization for ms in specs.values()} - set(models))
    if missing:
        raise ValueError(f"no {', '.join(missing)} model given; the sweep needs models for "
                         f"{sorted({ms.parameterization for ms in specs.values()})}")
    cells, extended = {}, []
    for attempt in range(extend + 1):
        ds, choices = _sweep(ctx, cells, models, specs, bases, base_labels, eta_hf, eta_lf, src, gt, seed, prof,
                             scoring, n_show, ls, n, data, rule, parameterization, kappa)
        edge = sorted({e for b in bases for e in _on_edge(choices.get(b), eta_hf, eta_lf)})  # every variant's
        if not edge or attempt == extend:
            break
        for axis, side in edge:   # one more log step beyond each edge a choice sits on, then sweep again
            grid = eta_hf if axis == "eta_hf" else eta_lf
            step = grid[1] / grid[0]   # (an axis of one value has no edge)
            grid.insert(0, float(f"{grid[0] / step:.3g}")) if side == "low" else grid.append(float(f"{grid[-1] * step:.3g}"))
            extended.append(f"{axis} {side}")
    fill = None
    if fill_scales and ls is None and scoring.get("support") is not None and "ddim" in base_labels:
        grid, fill = fill_sweep(ctx, models, ds, list(fill_scales), src, gt, seed, prof, scoring, n_show, kappa,
                                parameterization, rule)
        ds = ds.merge(grid)
    checkpoints = {par: str(getattr(D, "checkpoint", "")) for par, D in models.items()}
    ds.attrs = dict(study="pareto", fill_choice=json.dumps(fill), dataset=data.name, profile=profile, rule=rule, primary=primary, seed=seed,
                    n_images=n, tuning_split=split_note, tuning_crops=json.dumps(idx), steps=prof.steps,
                    wavelet=scoring["wavelet"], mu_hf=float(scoring["mu_hf"]), s_lf_kappa=float(kappa),
                    choices=json.dumps(choices),
                    baseline_sources=json.dumps(dict.fromkeys(base_labels, "computed on the sweep's images")),
                    grid=json.dumps({"eta_hf": eta_hf, "eta_lf": eta_lf}), task=json.dumps(data.task.describe()),
                    grid_extended=json.dumps(extended), bands=json.dumps(scoring["bands"]), band_source=band_note,
                    truth_kid_wav=truth_kid, realism_reference=f"{scoring['reference']['n']} crops of the target pool",
                    choice_on_edge=json.dumps(choices.get(primary, {}).get("on_edge", [])),
                    paired_metrics=paired_metrics(data), user_models=json.dumps(user_models),
                    models=json.dumps(checkpoints), checkpoints=json.dumps({k: v for k, v in checkpoints.items() if v}))
    return ds


def run_pareto(spec, ctx) -> xr.Dataset:
    """The Pareto study of a StudySpec; a user's models sweep instead of the trained ones."""
    given = user_models(spec)
    bases = study_labels(spec.get("bases"), list(BASES), given)
    baselines = study_labels(spec.get("baselines"), list(BASELINES), given)
    _check(bases, spec["rule"], spec.get("eta_hf"), spec.get("eta_lf"), None, spec.profile)
    data = spec_data(spec)   # raises DatasetNotPreparedError at once for missing real data
    kw = dict(profile=spec.profile, eta_hf=spec.get("eta_hf"), eta_lf=spec.get("eta_lf"), bases=bases,
              baselines=baselines, n_images=spec["n_images"], seed=spec.get("seed"), rule=spec["rule"],
              extend=spec["extend"], fill_scales=spec.get("fill_scales", FILL_SCALES))
    if given is not None:
        return pareto_results(ctx, data, given.models, ls=given.latent_space, parameterization=given.parameterization,
                              user_models=given.info, **kw)
    models, ls, _ = profile_models(spec.profile, spec.dataset, [*bases, *baselines], options=data_options(spec),
                                   progress=ctx.progress)
    ds = pareto_results(ctx, data, models, ls=ls, **kw)
    if ls is not None or not wants_arm(spec):
        return ds
    oracle = oracle_models(spec.profile, spec.dataset, options=data_options(spec))   # framework/oracle_arm.py
    return with_arm(ds, pareto_results(ctx, data, oracle, ls=None, **kw), form=oracle["eps"].net.form)


# ------------------------------------------------------------------------------------------- tables

# A grid point where more than this share of the sweep's images failed shows no means: they would describe the few
# images that survived, not the point. Any failed image already keeps a point off every front and out of the choice.
MOST_FAILED = 0.5


def grid_summary(ds: xr.Dataset) -> pd.DataFrame:
    """One row per (base, eta_hf, eta_lf): mean scores (NaN past ``MOST_FAILED``), failed count, front, chosen."""
    cols = {k: ds[k].mean("sample", skipna=True) for k in SCORES if k in ds}
    cols.update({k: ds[k] for k in ("s_g", "kid_wav") if k in ds})
    flags = {k: ds[k] for k in ("on_front", "in_band", "chosen") if k in ds}
    frame = xr.Dataset({**cols, "failed": failed_of(ds).sum("sample"), **flags}).to_dataframe().reset_index()
    frame.loc[frame["failed"] > MOST_FAILED * ds.sizes.get("sample", 0), list(cols)] = np.nan
    return frame


def baseline_summary(ds: xr.Dataset) -> pd.DataFrame:
    """One row per baseline method: mean scores over the sweep's images and where they come from."""
    names = [v for v in ds.data_vars if v.startswith("baseline_") and v not in ("baseline_failed", "baseline_failure")
             and not v.endswith(SUFFIX)]   # the trained models' baselines (the oracle arm's: arm_results)
    if not names:
        return pd.DataFrame(columns=["method", "s_hf", "s_lf", "source"])
    frame = xr.Dataset({v.removeprefix("baseline_"): ds[v].mean("sample", skipna=True) if "sample" in ds[v].dims
                        else ds[v] for v in names}).to_dataframe().reset_index()
    return frame.assign(source=frame["method"].map(json.loads(ds.attrs.get("baseline_sources", "{}"))))


def joint_front(ds: xr.Dataset) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """The grid points free of failed samples, the baselines, and which of them (grid first) lie on their joint S_HF / S_LF front."""
    grid, base = grid_summary(ds).query("failed == 0"), baseline_summary(ds)
    pts = pd.concat([grid, base], ignore_index=True)
    return grid, base, pareto_front(pts["s_hf"], pts["s_lf"])


GRID_COLUMNS = ["base", "eta_hf", "eta_lf", "kid_wav", "delta_log_e_hf_luma_ref", "delta_log_e_hf_chroma_ref",
                "in_band", "s_lf", "s_hf", "psnr", "s_dc", "s_g", "failed", "on_front", "chosen"]
_READ = {"kid_wav": "KID_wav", "delta_log_e_hf_luma_ref": "luma detail", "delta_log_e_hf_chroma_ref": "chroma detail",
         "in_band": "in the real band", "on_front": "on its variant's S_HF / S_LF front"}


def grid_table(ds: xr.Dataset, digits: int = 4) -> pd.DataFrame:
    """``grid_summary`` as the chapter shows it: scores to ``digits`` decimals, flags as "yes"."""
    table = grid_summary(ds)
    shown = table[[c for c in GRID_COLUMNS if c in table]].round(   # the scores: the columns after the step sizes
        {c: digits for c in GRID_COLUMNS[3:] if c not in ("in_band", "failed", "on_front", "chosen")})
    flags = {c: shown[c].map({True: "yes", False: ""}) for c in ("on_front", "chosen", "in_band") if c in shown}
    return shown.assign(base=shown["base"].map(method_name), eta_hf=shown["eta_hf"].map(step_size),
                        eta_lf=shown["eta_lf"].map(step_size), **flags).rename(
        columns={"base": "OVG variant", **_READ})


def front_counts(ds: xr.Dataset) -> dict:
    """Counts of ``joint_front``: points on and off it per kind, the primary's choice, the best baselines, ``holds``."""
    grid, base, front = joint_front(ds)
    n = len(grid)
    on = grid[front[:n]]
    swept = [str(b) for b in ds["base"].values if str(b) in set(map(str, grid["base"]))]
    primary = ds.attrs.get("primary", "ovg")
    best = {k: (str(base.loc[base[k].idxmax(), "method"]), float(base[k].max())) if base[k].notna().any() else None
            for k in ("s_hf", "s_lf")}   # None: no baseline scored (every sample failed, or none ran)
    return {"n_grid": n, "n_baselines": len(base), "front_ovg": int(front[:n].sum()),
            "front_baselines": int(front[n:].sum()),
            "front_bases": [b for b in swept if b in set(map(str, on["base"]))],
            "off_bases": [b for b in swept if b not in set(map(str, on["base"]))],
            "dominated": [str(m) for m, f in zip(base["method"], front[n:]) if not f],
            "choice": json.loads(ds.attrs.get("choices", "{}")).get(primary), "primary": primary,
            "best_hf": best["s_hf"], "best_lf": best["s_lf"], "holds": bool(front[:n].sum() > 0)}


def choices_table(ds: xr.Dataset) -> pd.DataFrame:
    """Each OVG variant's chosen point: step sizes, the means the choice read, realism and the grid edge it lies on."""
    grids = [sorted(map(float, ds[k].values)) for k in ("eta_hf", "eta_lf")]
    rows = {}
    for b, c in json.loads(ds.attrs.get("choices", "{}")).items():
        edge = [f"{a.replace('_hf', '_HF').replace('_lf', '_LF')} {'smallest' if side == 'low' else 'largest'}"
                for a, side in _on_edge(c, *grids)]
        realism = {"KID_wav": round(c["kid_wav"], 4), "luma detail": round(c["luma"], 3),
                   "chroma detail": round(c["chroma"], 3), "in the real band": "yes" if c["in_band"] else "no",
                   "KID_wav ≤ unguided": "yes" if c.get("beats_base") else "no"} if "kid_wav" in c else {}
        rows[method_name(b)] = {"eta_HF": step_size(c["eta_hf"]), "eta_LF": step_size(c["eta_lf"]), **realism,
                                "S_LF": round(c["s_lf"], 3), "S_HF": round(c["s_hf"], 3),
                                "on the grid's edge": ", ".join(edge)}
    return pd.DataFrame.from_dict(rows, orient="index")


def beats_baselines(ds: xr.Dataset, baselines=("ddim", "taba"), banded: bool = True) -> pd.DataFrame:
    """The grid points free of failed crops, in both real bands (unless not ``banded``) and with KID_wav below
    every one of ``baselines``'; empty when none, or without KID_wav or baselines."""
    grid, base = grid_summary(ds), baseline_summary(ds)
    cols = ["base", "eta_hf", "eta_lf", "kid_wav", "s_lf", "s_hf"]
    if "kid_wav" not in grid or "in_band" not in grid or "kid_wav" not in base:
        return pd.DataFrame(columns=cols)
    kid = base.set_index("method")["kid_wav"]
    bar = min((float(kid[m]) for m in baselines if m in kid.index and np.isfinite(kid[m])), default=np.nan)
    ok = (grid["failed"] == 0) & (grid["in_band"].astype(bool) | (not banded)) & (grid["kid_wav"] < bar)
    return grid.loc[ok, cols].reset_index(drop=True)
