"""The flow_collapse chapter's tables: the latents' norm, their regular patterns, the samples from noise."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from ..claims.flow import findings
from ..framework.aggregate import crop_values
from ..metrics.intervals import bootstrap_ci
from ..text import step_size
from ..verdicts.rules import EFFECT, PAIRED, RULES

__all__ = ["FLOW_METRICS", "NORM", "PATTERN", "CONTRAST", "norm_table", "pattern_ratio", "pattern_table",
           "noise_table", "flow_answers"]

# the main results' per-crop metrics, with the latent's norm ratio ||x_T||^2 / d beside S_DC (on unit-variance latents)
FLOW_METRICS = ("psnr", "s_hf", "delta_log_e_hf", "s_lf", "s_dc", "latent_norm_ratio")
NORM = "‖x_T‖²/d"   # the latent's mean squared norm per dimension, as the tables head it
PATTERN = 5.0       # a latent set shows a regular pattern when its peak Fourier power ratio is >= 5 x noise's
CONTRAST = 1.25     # outputs are over-contrasted when their pixel std is >= 1.25 x the ground truth's


def norm_table(ds: xr.Dataset) -> pd.DataFrame:
    """Mean ‖x_T‖²/d of the inverted latents per method (N(0, I) noise: 1), and its ratio to DDIM's."""
    ref = float(crop_values(ds, "latent_norm_ratio", "ddim").mean()) if "ddim" in ds["method"].values else np.nan
    means = {m: float(v.mean()) if len(v := crop_values(ds, "latent_norm_ratio", m)) else np.nan
             for m in ds["method"].values.tolist()}
    return pd.DataFrame.from_dict({m: {NORM: round(v, 4), "/ DDIM's": round(v / ref, 4)} for m, v in means.items()},
                                  orient="index")


def pattern_ratio(latents) -> tuple[float, float]:
    """(peak / median Fourier power of unit-variance latents (…, H, W), the peak's frequency in cycles/pixel): near
    1-2 for noise, large for a shared stripe or grid pattern."""
    a = np.asarray(latents, dtype=np.float64)
    a = a / np.maximum(a.std(axis=(-2, -1), keepdims=True), 1e-12)
    power = (np.abs(np.fft.fft2(a)) ** 2).reshape(-1, *a.shape[-2:]).mean(axis=0)
    power[0, 0] = np.nan
    k = np.unravel_index(np.nanargmax(power), power.shape)
    f = float(np.hypot(np.fft.fftfreq(a.shape[-2])[k[0]], np.fft.fftfreq(a.shape[-1])[k[1]]))
    return float(np.nanmax(power) / np.nanmedian(power)), f


def pattern_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per method (first seed): ``pattern_ratio``, ``pattern`` (>= ``PATTERN``) and ``contrast`` (output pixel std
    over the ground truth's); a row "N(0, I)" last."""
    shown = ds["latents"].isel(seed=0)
    noise, nf = pattern_ratio(np.random.default_rng(0).standard_normal(shown.isel(method=0).shape))
    t_std = np.asarray(ds["truth_images"].values, dtype=np.float64).std(axis=(-3, -2, -1))
    rows = {}
    for m in ds["method"].values.tolist():
        r, f = pattern_ratio(shown.sel({"method": m}).values)
        out = np.asarray(ds["images"].sel({"method": m}).isel(seed=0).values, dtype=np.float64)
        rows[m] = {"peak / median": r, "frequency": f, "/ noise's": r / noise, "pattern": r >= PATTERN * noise,
                   "contrast": float(np.nanmean(out.std(axis=(-3, -2, -1)) / t_std))}
    rows["N(0, I)"] = {"peak / median": noise, "frequency": nf, "/ noise's": 1.0, "pattern": False,
                       "contrast": np.nan}
    return pd.DataFrame.from_dict(rows, orient="index").round(3)


def noise_table(ds: xr.Dataset) -> pd.DataFrame:
    """S_HF (``mean``, ``lo``, ``hi``) of the real crops (row "real") and of each model's samples from noise."""
    ci = bootstrap_ci(ds["control_s_hf"].sel(control="ground_truth").values)
    rows = {"real": {"mean": ci.mean, "lo": ci.lo, "hi": ci.hi},
            **{m: {"mean": float(ds["noise_s_hf"].sel(model=m).mean()), "lo": np.nan, "hi": np.nan}
               for m in ds["model"].values.tolist()}}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("S_HF of")


def flow_answers(ds: xr.Dataset) -> dict[str, str]:
    """The flow_collapse chapter's named values: findings, means, step sizes, patterns, contrast, noise S_HF."""
    out = {}
    for k, f in findings(ds).items():   # the study's rule: holds / does not hold / ...
        out.update({f"flow_{k}": f.verdict, f"flow_{k}_effect": f.effect or "no gap measured"})
    out["flow_rule"] = f"{RULES[PAIRED]}; {RULES[EFFECT]}"
    for m in ds["method"].values.tolist():
        for metric in ("s_dc", "delta_log_e_hf", "psnr"):
            v = crop_values(ds, metric, m).mean()
            out[f"{m.replace('.', '')}_{metric}"] = f"{v:+.2f}".replace("-", "−") if metric[0] == "d" else f"{v:.3f}"
    ovg = json.loads(ds.attrs["ovg"])
    tuning = json.loads(ds.attrs.get("ovg_tuning") or "{}")
    out.update(eta_hf=step_size(ovg["eta_hf"]), eta_lf=step_size(ovg["eta_lf"]), ovg_source=ovg.get("source", ""),
               on_edge=", ".join(tuning.get("choice_on_edge") or []) or "none")
    methods = pattern_table(ds).drop(index="N(0, I)")
    out["pattern"] = ", ".join(methods.index[methods["pattern"].astype(bool)]) or "none"
    out["contrast"] = ", ".join(methods.index[methods["contrast"] >= CONTRAST]) or "none"
    out.update({f"noise_s_hf_{row}": f"{v:.3f}" for row, v in noise_table(ds)["mean"].items()})
    return out
