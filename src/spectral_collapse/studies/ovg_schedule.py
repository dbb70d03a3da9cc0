"""Where along the inversion OVG must act: guidance schedules, their cost and their quality."""
from __future__ import annotations

import dataclasses
import json
import math
import time

import numpy as np
import pandas as pd
import torch
import xarray as xr

from ..inversion import default_sigmas, sample_seeds
from ..inversion.guidance import GuidanceSchedule
from .pareto_calibrate import ovg_for
from ..framework.cells import StudyContext, translate_batched
from ..framework.model_set import data_options, profile_models
from ..framework.user_models import spec_data, user_models
from ..framework.profiles import get_profile
from ..framework.spec import StudySpec
from .main_results import scored_cells
from ..framework.method_labels import method_specs
from ..framework.controls import scoring_settings
from ..framework.splits import test_subsets

__all__ = ["SCHEDULES", "MAX_TIME_RATIO", "TARGET_SHARE", "TARGET_RULE", "TIMING_ROUNDS", "schedule_set",
           "run_ovg_schedule", "gain_share_interval", "SCHEDULE_NAMES", "schedule_table",
           "HEADERS"]

SCHEDULES = ("low", "mid", "high", "first_half", "last_half", "every_2", "every_4")
# each schedule as prose names it (its key stays in tables and code)
SCHEDULE_NAMES = {"low": "the low third", "mid": "the middle third", "high": "the high third",
                  "first_half": "the first half", "last_half": "the last half", "every_2": "every 2nd step",
                  "every_4": "every 4th step", "ovg": "full OVG", "ddim": "DDIM"}
MAX_TIME_RATIO = 1.5
TARGET_SHARE = 0.9
TARGET_RULE = (f"at least {100 * TARGET_SHARE:.0f} % of full OVG's S_HF gain over DDIM at no more than {MAX_TIME_RATIO}x "
               "the wall time of a DDIM translation")
PER_SAMPLE = ("psnr", "s_hf", "s_lf", "s_dc", "latent_norm_ratio", "failed")


def schedule_set(names, sigmas) -> dict[str, GuidanceSchedule]:
    """The named schedules on an inversion grid ``sigmas`` (thirds by steps: low, mid as a sigma window, high)."""
    asc = np.sort(np.asarray(sigmas, dtype=np.float64))
    n = len(asc) - 1
    k = math.ceil(n / 3)
    lo_i, hi_i = k, n - k - 1                                  # mid: steps k .. n - k - 1 (by their starting sigma)
    mid = (GuidanceSchedule(sigma_min=float(asc[lo_i]) * (1 - 1e-9), sigma_max=float(asc[hi_i]) * (1 + 1e-9))
           if hi_i >= lo_i else GuidanceSchedule(fraction=0.0))
    table = {"low": GuidanceSchedule(fraction=1 / 3, part="first"), "mid": mid,
             "high": GuidanceSchedule(fraction=1 / 3, part="last"),
             "first_half": GuidanceSchedule(fraction=0.5, part="first"),
             "last_half": GuidanceSchedule(fraction=0.5, part="last"),
             "every_2": GuidanceSchedule(every=2), "every_4": GuidanceSchedule(every=4)}
    bad = [s for s in names if s not in table]
    if bad:
        raise ValueError(f"unknown schedules {bad}; valid: {', '.join(table)}")
    return {s: table[s] for s in names}


TIMING_ROUNDS = 2


def run_ovg_schedule(spec: StudySpec, ctx: StudyContext | None = None) -> xr.Dataset:
    """DDIM, full OVG and OVG under each schedule on the main results' test inputs: scores, cost, S_HF gain."""
    ctx = ctx or StudyContext()
    names = list(spec.get("schedules") or SCHEDULES)
    if len(set(names)) != len(names) or {"ddim", "ovg"} & set(names):
        raise ValueError(f"schedules must be distinct names other than ddim and ovg, got {names}")
    n_time = int(spec.get("timing_images") or 8)
    prof = get_profile(spec.profile)
    data = spec_data(spec)
    given = user_models(spec)  # a user's model (knobs model / models) stands for the trained eps model
    if given is not None:
        par, ls = given.parameterization, given.latent_space
        D, space = given.models[par], "latent" if ls is not None else "pixel"
    else:
        models, ls, space = profile_models(spec.profile, spec.dataset, ["ovg"], options=data_options(spec),
                                           progress=ctx.progress)
        par, D = "eps", models["eps"]
    scoring = scoring_settings(data)
    op = ovg_for(spec, ctx, given, data)
    ddim, ovg = method_specs(["ddim", "ovg"], eta_hf=op["eta_hf"], eta_lf=op["eta_lf"], per_base=op.get("per_base"),
                             lowpass_kappa=scoring["kappa"], parameterization=par)
    sig = default_sigmas(D, prof.steps)
    scheds = schedule_set(names, sig)
    specs = [ddim, ovg] + [dataclasses.replace(ovg, label=s, guidance=dataclasses.replace(ovg.guidance, schedule=g))
                           for s, g in scheds.items()]
    labels = [m.label for m in specs]

    idx = test_subsets(data.test_source.shape[0], prof.n_test, prof.seeds, prof.n_val)[prof.seeds[0]]
    n = len(idx)  # the first seed's test crops of the main results
    src, gt = data.test_source[idx], data.test_target[idx] if getattr(data, "paired", True) else None
    x_in = src if ls is None else ls.encode(src)
    seed, batch = int(prof.seeds[0]), int(prof.batch_size)

    asc = np.sort(sig.double().numpy())
    cells, guided = [], {}
    for ms in specs:
        cells.append(scored_cells(ctx, D, x_in, ms, seed=seed, steps=prof.steps, batch_size=batch, src=src, gt=gt,
                                  scoring=scoring, n_images=0, ls=ls)[seed])
        guided[ms.label] = [] if ms.guidance is None else ms.guidance.schedule.guided_steps(asc)

    # timing: one translation of the same few inputs per method, same process, after an untimed warm-up
    x_t = x_in[:max(1, min(n_time, len(x_in)))]
    with torch.no_grad():
        translate_batched(D, x_t[:1], ddim, sample_seeds(seed, [0]), min(2, prof.steps), batch, False)
    # each method timed in rounds (best of TIMING_ROUNDS), the methods interleaved within a round, so that a load
    # change on the machine (another study running beside this one) reaches every method alike
    secs = {ms.label: np.inf for ms in specs}
    for _ in range(TIMING_ROUNDS):
        for ms in specs:
            t0 = time.perf_counter()
            translate_batched(D, x_t, ms, sample_seeds(seed, range(len(x_t))), prof.steps, batch, False)
            secs[ms.label] = min(secs[ms.label], time.perf_counter() - t0)

    ds = xr.concat([c[[*PER_SAMPLE, "s_g", "norm_z", "nfe", "n_kept"]] for c in cells], "method")
    ds = ds.assign_coords(method=labels)
    ds["n_failed"] = ds["failed"].sum("sample").astype(int)
    ds["guided_steps"] = ("method", np.array([len(guided[m]) for m in labels]))
    ds["backward_passes"] = 2 * ds["guided_steps"]
    ranges = {m: [float(asc[g[0]]), float(asc[g[-1] + 1])] if g else [np.nan, np.nan] for m, g in guided.items()}
    ds["sigma_lo"] = ("method", np.array([r[0] for r in ranges.values()]))
    ds["sigma_hi"] = ("method", np.array([r[1] for r in ranges.values()]))
    ds["time_s"] = ("method", np.array([secs[m] for m in labels]))
    ds["time_ratio"] = ds["time_s"] / secs["ddim"]
    ds["s_hf_mean"] = ds["s_hf"].mean("sample", skipna=True)
    mean = dict(zip(labels, ds["s_hf_mean"].values.tolist()))
    gain = mean["ovg"] - mean["ddim"]
    ds["s_hf_gain_share"] = (ds["s_hf_mean"] - mean["ddim"]) / (gain if gain != 0 else np.nan)
    # the schedule with the largest share at no more than MAX_TIME_RATIO times DDIM's time ("" when none)
    share = ds["s_hf_gain_share"].where(ds["time_ratio"] <= MAX_TIME_RATIO).sel({"method": names})
    best = str(share.idxmax("method").item()) if share.notnull().any() else ""
    best_share = float(share.sel({"method": best})) if best else float("nan")
    ck = str(getattr(D, "checkpoint", ""))
    plain = {s: {k: None if v == math.inf else v for k, v in dataclasses.asdict(g).items()} for s, g in scheds.items()}
    ds.attrs = dict(
        study=spec.study, dataset=spec.dataset, profile=spec.profile, steps=prof.steps, n_test=n, seed=seed,
        space=space, ovg=json.dumps(op), timing_images=len(x_t), ddim_time_s=float(secs["ddim"]),
        schedules=json.dumps({s: {"schedule": plain[s], "guided_steps": guided[s],
                                  "sigma_range": ranges[s] if guided[s] else None} for s in scheds}, default=str),
        sigmas=json.dumps([float(s) for s in asc]),
        target_rule=TARGET_RULE, max_time_ratio=MAX_TIME_RATIO, target_share=TARGET_SHARE,
        best_schedule=best, best_gain_share=best_share, target_met=int(bool(best) and best_share >= TARGET_SHARE),
        s_hf_gain="(S_HF(schedule) - S_HF(ddim)) / (S_HF(ovg) - S_HF(ddim)), means over the kept samples",
        cost="backward_passes = 2 vector-Jacobian products per guided inversion step; time_ratio = wall time of one "
             f"translation of timing_images inputs / DDIM's, same run, best of {TIMING_ROUNDS} interleaved rounds",
        timing_rounds=TIMING_ROUNDS,
        wavelet=scoring["wavelet"], mu_hf=float(scoring["mu_hf"]), s_lf_kappa=float(scoring["kappa"]),
        models=json.dumps({par: ck}), checkpoints=json.dumps({par: ck} if ck else {}),
        user_models=json.dumps(None if given is None else given.info))
    return ds


def gain_share_interval(ds: xr.Dataset, method: str, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float, int]:
    """(share, lo, hi, crops): a schedule's share of full OVG's S_HF gain over DDIM, 95 % bootstrap over the crops
    all three kept (resampled together); NaN interval below 2 crops."""
    if "s_hf" not in ds:   # shares without per-crop scores: no interval
        return float(ds["s_hf_gain_share"].sel({"method": method})), np.nan, np.nan, 0
    v = ds["s_hf"].sel({"method": [method, "ddim", "ovg"]}).transpose("method", "sample").values.astype(np.float64)
    v = v[:, np.isfinite(v).all(0)]
    n = v.shape[1]
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0

    def share(x: np.ndarray) -> np.ndarray:   # x: (3, draws, crops) or (3, crops)
        m = x.mean(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (m[0] - m[1]) / (m[2] - m[1])

    draws = share(v[:, np.random.default_rng(seed).integers(0, n, (n_boot, n))])
    draws = draws[np.isfinite(draws)]
    lo, hi = np.quantile(draws, [0.025, 0.975]) if n > 1 and len(draws) else (np.nan, np.nan)
    return float(share(v)), float(lo), float(hi), n

# Short column headers of the schedule table as the chapter shows them (``schedule_table`` keeps the results' names)
HEADERS = {"guided_steps": "guided steps", "sigma_lo": "σ from", "sigma_hi": "σ to", "nfe": "NFE",
           "backward_passes": "backward passes", "time_s": "time (s)", "time_ratio": "time / DDIM",
           "s_hf_gain_share": "share of gain", "share_lo": "share low", "share_hi": "share high", "psnr": "PSNR",
           "s_hf": "S_HF", "s_lf": "S_LF", "s_dc": "S_DC", "latent_norm_ratio": "‖x_T‖²/d", "s_g": "S_G",
           "norm_z": "norm z-score", "n_failed": "failed"}


def schedule_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per method: guided steps, σ range, cost, share of full OVG's S_HF gain with its interval, quality means."""
    per = ds[["psnr", "s_hf", "s_lf", "s_dc", "latent_norm_ratio"]].mean("sample", skipna=True).to_dataframe()
    cols = ["guided_steps", "sigma_lo", "sigma_hi", "nfe", "backward_passes", "time_s", "time_ratio",
            "s_hf_gain_share"]
    tab = ds[cols].to_dataframe().join(per).join(ds[["s_g", "norm_z", "n_failed"]].to_dataframe())
    ci = [gain_share_interval(ds, str(m))[1:3] for m in tab.index]
    tab.insert(tab.columns.get_loc("s_hf_gain_share") + 1, "share_lo", [lo if hi > lo else np.nan for lo, hi in ci])
    tab.insert(tab.columns.get_loc("share_lo") + 1, "share_hi", [hi if hi > lo else np.nan for lo, hi in ci])
    return tab
