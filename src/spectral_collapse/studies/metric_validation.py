"""Validation of the metrics (paper App. B.4, Figs. 9, 11-12, 14)."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import torch
import xarray as xr

from ..fourier import ideal_highpass, ideal_lowpass
from ..metrics import latent as lat
from ..metrics import spectral
from ..metrics.spectral import wavelet_order
from ..framework.aggregate import nan_mean, per_seed
from ..framework.controls import realism_sets
from ..framework.cells import StudyContext
from ..framework.model_set import data_options
from ..framework.realism import realism_gate
from ..framework.user_models import oracle_models, spec_data
from ..framework.spec import StudySpec
from ..verdicts.words import pearson_interval
from .leak_controls import leak_controls
from .realism_checks import (HALF_REFERENCE_BOUND, HALVES, REFIT_HALVES, REGION_HALVES, gate_arrays, halved_reference,
                             halving_movement, photo_gates)

__all__ = ["KAPPAS", "CORRELATED", "run_metric_validation", "metric_points", "POINT_HEADERS", "complements",
           "slope_table", "filter_table", "UNFILTERED", "band_used", "filter_changes", "correlation_points",
           "method_correlation"]

KAPPAS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8)                     # filter cutoffs, fraction of Nyquist
# the main results' metrics correlated with the image metrics and FID / KID (those the results hold)
CORRELATED = ("psnr", "s_hf", "delta_log_e_hf", "s_lf", "s_lf_gt", "s_dc", "s_g", "ks_d", "mean_norm_ratio")
MISSING = "not computed: no main_results stored for this dataset and profile (run main_results first)"


def _spectrum(images: torch.Tensor, band) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(freqs, mean log10 power per channel (C, K), slope (C,), intercept (C,)) of images, fitted over ``band``."""
    freqs, p = lat.radial_power_spectrum(images)
    logp = np.log10(np.clip(p, 1e-20, None)).mean(0)
    sel = (freqs > 0) & (freqs >= band[0]) & (freqs <= band[1])
    coef = np.polyfit(np.log10(freqs[sel]), logp[:, sel].T, 1)
    return freqs, logp, coef[0], coef[1]


def _run_scores(main: xr.Dataset, real: torch.Tensor, lpips_kw: dict, fid_kw: dict) -> tuple[pd.DataFrame, dict]:
    """Per (method, seed): MS-SSIM, HaarPSI, LPIPS against the truth (first seed only) and FID / KID."""
    from ..metrics.fid import fid_from_features, inception_features, kid_from_features
    from ..metrics.image import haarpsi, lpips, ms_ssim

    truth = main["truth_images"].values
    paired = np.isfinite(truth).all()   # else no paired test split: nothing to compare the outputs with
    status = {} if paired else {"ms_ssim_config": "{}", "lpips_status": "not computed: the main results have no "
                                "ground truth (no paired test split)"}
    kw = dict(fid_kw)
    fn = kw.pop("features_fn", None)
    if fn is None:
        f_real, st = inception_features(real, **kw)
        status["fid_status"] = st.reason
        fn = None if f_real is None else (lambda im: inception_features(im, **kw)[0])
    else:
        f_real, status["fid_status"] = np.asarray(fn(real), dtype=np.float64), "ok: custom features"
    rows = []
    for m in main["method"].values:
        for s in main["seed"].values:
            out = main["images"].sel({"method": m, "seed": s}).values
            row = dict.fromkeys(("ms_ssim", "haarpsi", "lpips", "fid", "kid"), np.nan)
            if paired and s == main["seed"].values[0]:
                ms, cfg = ms_ssim(out, truth)
                lp, status["lpips_status"] = lpips(out, truth, **lpips_kw)
                row.update(ms_ssim=nan_mean(ms), haarpsi=nan_mean(haarpsi(out, truth)), lpips=nan_mean(lp))
                status["ms_ssim_config"] = json.dumps(cfg)
            if fn is not None:
                f = np.asarray(fn(out), dtype=np.float64)
                row.update(fid=fid_from_features(f, f_real), kid=kid_from_features(f, f_real)[0])
            rows.append({"method": str(m), "seed": int(s), **row})
    return pd.DataFrame(rows), status


def _correlations(main: xr.Dataset | None, real: torch.Tensor, lpips_kw: dict, fid_kw: dict):
    """(points frame with method, seed and metric columns; metric columns; status attrs)."""
    if main is None:
        status = {"lpips_status": MISSING, "fid_status": MISSING, "ms_ssim_config": "{}", "main_steps": "",
                  "image_metrics": MISSING, "fid": MISSING, "correlations": MISSING}
        return pd.DataFrame({"method": [], "seed": []}), [], status
    metrics = [m for m in CORRELATED if m in main]
    pts = per_seed(main, metrics).pivot_table(index=["method", "seed"], columns="metric", values="value").reset_index()
    scores, status = _run_scores(main, real, lpips_kw, fid_kw)
    pts = pts.merge(scores, on=["method", "seed"])
    cols = [c for c in pts.columns if c not in ("method", "seed")]
    scored = [c for c in cols if c not in ("ms_ssim", "haarpsi", "lpips")]   # the first seed alone has these
    pts = pts.drop_duplicates(subset=["method", *scored])  # deterministic methods repeat over seeds: the first kept
    status.update(main_steps=main.attrs.get("steps", ""),
                  image_metrics=f"on the {main.sizes.get('image', 0)} stored outputs of the first seed's run of each "
                                "method against their ground truth (the only seed whose ground truth the main "
                                "results store)",
                  fid="FID / KID of the stored outputs of each run against the real reference images",
                  correlations="Pearson and Spearman over one point per distinct method (the mean of its seeds' "
                               "runs; methods with identical scores counted once)")
    return pts, cols, status


def method_points(pts: pd.DataFrame, cols: list) -> pd.DataFrame:
    """One point per distinct method: the mean of its runs' scores, coinciding methods kept once."""
    if pts.empty:
        return pd.DataFrame(columns=cols)
    per = pts.groupby("method", sort=False)[cols].mean()
    return per[~per.round(12).duplicated()]


def _gate(main: xr.Dataset | None) -> xr.Dataset:
    """The controls gate of the main results (``realism.realism_gate``) as arrays; empty without the controls."""
    if main is None or "control_wav_features" not in main:
        return xr.Dataset()
    g = realism_gate(main)
    if g.empty:     # no paired truth (a user's folder without pairs): no control can be scored against it
        return xr.Dataset()
    out = gate_arrays(g)
    passes, first = g.set_index(["score", "control"])["passes"], out["gate_control"].values[0]
    out["gate_passes"] = ("gate_score", np.array([bool(passes[(s, first)]) for s in out["gate_score"].values]))
    return out


def _halving(main: xr.Dataset | None) -> xr.Dataset:
    """The truth-relative KID_wav of every label against the reference and its halves, and how far it moves."""
    if main is None or "reference_wav_features" not in main or "control_wav_features" not in main:
        return xr.Dataset()
    seed = main["seed"].values[0]
    crops = main["crop"].sel(seed=seed).values
    ctl = main["control_wav_features"].sel(crop_index=crops)
    feats = {str(m): main["wav_features"].sel({"method": m, "seed": seed}).values
             for m in (main["method"].values if "wav_features" in main else [])}
    feats |= {c: ctl.sel(control=c).values for c in ctl["control"].values.tolist() if c != "ground_truth"}
    table = halved_reference(feats, ctl.sel(control="ground_truth").values, main["reference_wav_features"].values)
    grid = table.pivot(index="label", columns="reference").loc[list(feats)]
    halves = list(HALVES)
    out = xr.Dataset({f"halving_{k}": (("halving_label", "halving_reference"), grid[k][halves].to_numpy(float))
                      for k in ("kid_minus_truth", "lo", "hi")},
                     coords={"halving_label": list(feats), "halving_reference": halves})
    for name, moved in (("halving", halving_movement(table)),
                        ("halving_region", halving_movement(table, REGION_HALVES)),
                        ("halving_refit", halving_movement(table, REFIT_HALVES))):
        for k in ("factor", "moved", "same_sign"):
            out[f"{name}_{k}"] = ("halving_label", moved.loc[list(feats), k].to_numpy())
    return out


def run_metric_validation(spec: StudySpec, ctx: StudyContext | None = None, *, n_examples: int = 4,
                          band: tuple[float, float] = (0.005, 0.4), lpips_kw: dict | None = None,
                          fid_kw: dict | None = None) -> xr.Dataset:
    """Spectrum slopes (Fig. 9), S_HF of filtered held-out real images (Figs. 11-12) and the metric correlations
    over the runs of ``ctx.inputs["main_results"]`` (Fig. 14)."""
    ctx = ctx or StudyContext()
    data = spec_data(spec)
    real, others, flat = realism_sets(data)   # the real target crops every texture score compares with
    wavelet = spectral.wavelet_order(spectral.spectrum_slope(real, band))
    mu = spectral.hf_reference(real, wavelet=wavelet)
    # Fig. 9: spectra of the target (real) and source (input) domains
    src = data.source[(data.source.flatten(2).std(2) > 1e-3).all(1)]
    src = src[:: max(1, len(src) // 512)]
    spectra = [_spectrum(imgs, band) for imgs in (real, src)]
    freqs = spectra[0][0]
    # Figs. 11-12: S_HF of filtered held-out real images (without a paired test split: target-pool images)
    paired = bool(getattr(data, "paired", True))
    held = (data.test_target if paired else data.target)[:int(spec["n_real"])]
    kappas = [float(k) for k in spec.get("kappas", KAPPAS)]
    shf = np.empty((2, len(kappas), len(held)))
    dle = np.empty_like(shf)
    examples = np.empty((2, len(kappas), min(n_examples, len(held)), *held.shape[1:]), dtype=np.float32)
    for i, filt in enumerate((ideal_lowpass, ideal_highpass)):
        for j, k in enumerate(kappas):
            y = filt(held, k)
            shf[i, j] = spectral.s_hf(y, mu, wavelet=wavelet)
            dle[i, j] = spectral.delta_log_e(y, mu, wavelet=wavelet)
            examples[i, j] = y[:n_examples].clamp(-1, 1).numpy()
    # Fig. 14: metric correlations over the main_results runs
    pts, cols, status = _correlations(ctx.inputs.get("main_results"), real, dict(lpips_kw or {}), dict(fid_kw or {}))
    per = method_points(pts, cols)
    usable = [c for c in cols if per[c].notna().sum() >= 3 and per[c].std() > 0]
    k = len(usable)
    ds = xr.Dataset(
        {"log_power": (("domain", "channel", "freq"), np.stack([s[1] for s in spectra])),
         "slope_channel": (("domain", "channel"), np.stack([s[2] for s in spectra])),
         "intercept_channel": (("domain", "channel"), np.stack([s[3] for s in spectra])),
         "slope": ("domain", np.array([spectral.spectrum_slope(real, band), spectral.spectrum_slope(src, band)])),
         "filtered_s_hf": (("filter", "kappa", "held_out"), shf),
         "filtered_delta_log_e": (("filter", "kappa", "held_out"), dle),
         "unfiltered_s_hf": ("held_out", spectral.s_hf(held, mu, wavelet=wavelet)),
         "examples": (("filter", "kappa", "example", "channel", "y", "x"), examples),
         "held_out_images": (("example", "channel", "y", "x"), held[:n_examples].numpy()),
         "points": (("point", "metric"), pts[cols].to_numpy(dtype=np.float64).reshape(len(pts), len(cols))),
         "pearson": (("metric_a", "metric_b"), per[usable].corr("pearson").to_numpy().reshape(k, k)),
         "spearman": (("metric_a", "metric_b"), per[usable].corr("spearman").to_numpy().reshape(k, k))},
        coords={"domain": ["target", "source"], "freq": freqs, "filter": ["lowpass", "highpass"], "kappa": kappas,
                "held_out": np.arange(len(held)), "point": np.arange(len(pts)), "metric": cols,
                "point_method": ("point", pts["method"].astype(str).tolist()),
                "point_seed": ("point", pts["seed"].astype(int).to_numpy()),
                "metric_a": usable, "metric_b": usable})
    main = ctx.inputs.get("main_results")
    ds = ds.merge(_gate(main)).merge(_halving(main)).merge(photo_gates())
    try:   # the exact model of a bundled dataset; a folder or an unknown task has none
        oracle = oracle_models(spec.profile, spec.dataset, options=data_options(spec))
    except (ValueError, KeyError, FileNotFoundError):
        oracle = None
    ds = ds.merge(leak_controls(data, main, oracle))
    flat_test = int(main["flat_truth"].sum()) if main is not None and "flat_truth" in main else -1
    ds.attrs.update(flat_reference=flat["reference"], flat_real=flat["real"], n_real_crops=len(others),
                    flat_test=flat_test, half_reference_bound=HALF_REFERENCE_BOUND, study="metric_validation",
                    dataset=spec.dataset, profile=spec.profile, band=list(band), wavelet=wavelet, mu_hf=float(mu),
                    s_hf_unit="uint8", n_reference=len(real),
                    filters="lowpass keeps |omega| <= kappa * 0.5 cycles/px (high frequencies removed); highpass is "
                            "its complement (low frequencies removed)", checkpoints="{}",
                    held_out="the paired test split's ground truth" if paired else
                             "target-pool images (no paired test split; they also enter the S_HF reference)",
                    **status)
    return ds


def metric_points(ds: xr.Dataset) -> pd.DataFrame:
    """The (method, seed) runs of the main results and every metric computed for at least one run (LPIPS and FID /
    KID only with their pretrained networks, as ``metric_status`` says)."""
    pts = pd.DataFrame(ds["points"].values, columns=ds["metric"].values)
    pts = pts.loc[:, pts.notna().any()]
    pts.insert(0, "seed", ds["point_seed"].values)
    pts.insert(0, "method", ds["point_method"].values)
    return pts


POINT_HEADERS = {"psnr": "PSNR", "s_hf": "S_HF", "delta_log_e_hf": "Δlog E_HF", "s_lf": "S_LF", "s_lf_gt": "S_LF (truth)",
                 "s_dc": "S_DC", "s_g": "S_G", "ks_d": "D_KS", "mean_norm_ratio": "‖x_T‖²/d", "ms_ssim": "MS-SSIM",
                 "haarpsi": "HaarPSI", "lpips": "LPIPS", "fid": "FID", "kid": "KID"}


def complements(points: pd.DataFrame, tol: float = 1e-9) -> dict[str, str]:
    """{metric: its twin} for each metric equal to 1 minus another on every run (S_G is 1 − D_KS, Eq. 33)."""
    order = {k: i for i, k in enumerate(POINT_HEADERS)}
    cols = sorted((c for c in points.columns if c not in ("method", "seed")), key=lambda c: order.get(c, len(order)))
    out: dict[str, str] = {}
    for kept, other in itertools.combinations(cols, 2):   # in that order: a twin is never kept
        a, b = (points[c].astype(float).to_numpy() for c in (kept, other))
        both = np.isfinite(a) & np.isfinite(b)
        if {kept, other}.isdisjoint(out) and both.sum() >= 2 and np.allclose(a[both] + b[both], 1, rtol=0, atol=tol):
            out[other] = kept
    return out


# ------------------------------------------------------------------------------------------- the tables

UNFILTERED = "none (unfiltered)"   # the filter table's first row: the held-out images as they are


def slope_table(ds: xr.Dataset) -> pd.DataFrame:
    """Spectrum slope per domain and the wavelet sym⌈|slope|⌉ it picks (``metrics.spectral.wavelet_order``)."""
    return pd.DataFrame({"slope": ds["slope"].values,
                         "wavelet sym⌈|slope|⌉": [wavelet_order(s) for s in ds["slope"].values]},
                        index=pd.Index(ds["domain"].values, name="domain"))


def filter_table(ds: xr.Dataset) -> pd.DataFrame:
    """Mean S_HF of the filtered held-out images, cutoffs κ x filters, with a first row ``UNFILTERED``."""
    t = ds["filtered_s_hf"].mean("held_out").to_dataframe().reset_index()
    t["filter"] = t["filter"].map({"lowpass": "low-pass (HF removed)", "highpass": "high-pass (LF removed)"})
    out = t.pivot(index="kappa", columns="filter", values="filtered_s_hf")
    base = float(ds["unfiltered_s_hf"].mean())
    out = pd.concat([pd.DataFrame({c: [base] for c in out.columns}, index=[UNFILTERED]), out])
    out.index.name, out.columns.name = None, "cutoff κ (fraction of Nyquist)"
    return out


def filter_changes(ds: xr.Dataset, digits: int = 3) -> dict[str, float]:
    """On the filter table's rounded values: ``unfiltered`` S_HF, its largest change under high-pass (``lf_moved``)
    and its largest fall under low-pass (``hf_fell``)."""
    base = round(float(ds["unfiltered_s_hf"].mean()), digits)
    low = ds["filtered_s_hf"].sel(filter="lowpass").mean("held_out").values
    high = ds["filtered_s_hf"].sel(filter="highpass").mean("held_out").values
    return {"unfiltered": base, "lf_moved": float(np.abs(np.round(high, digits) - base).max()),
            "hf_fell": base - round(float(np.min(low)), digits)}


def band_used(ds: xr.Dataset) -> tuple[float, float, int]:
    """(lowest, highest, count) of the nonzero frequencies in ``attrs['band']`` the slope was fitted over."""
    lo, hi = (float(v) for v in np.ravel(ds.attrs["band"]))
    f = np.asarray(ds["freq"].values, dtype=float)
    sel = f[(f > 0) & (f >= lo) & (f <= hi)]
    return (float(sel.min()), float(sel.max()), int(sel.size)) if sel.size else (float("nan"), float("nan"), 0)


def correlation_points(ds: xr.Dataset, digits: int = 3) -> pd.DataFrame:
    """The correlations' points, one per distinct method, a metric that is 1 minus another shown once."""
    pts = metric_points(ds)
    twins = complements(pts)
    cols = [c for c in pts.columns if c not in ("method", "seed") and c not in twins]
    per = method_points(pts, cols).round(digits)
    per.index.name = "method"
    return per.rename(columns=POINT_HEADERS)


def method_correlation(ds: xr.Dataset, a: str, b: str) -> tuple[float, float, float, int]:
    """(r, lo, hi, n): Pearson r of ``a`` and ``b`` over the distinct methods with its 95 % Fisher-z interval; NaN
    with fewer than 3 points or a constant metric."""
    if not {a, b} <= set(map(str, ds["metric"].values)):
        return float("nan"), -1.0, 1.0, 0
    per = method_points(metric_points(ds)[["method", a, b]].dropna(), [a, b])
    return pearson_interval(per[a].to_numpy(float), per[b].to_numpy(float))
