"""The latent-analysis chapters' tables and numbers, read from a study's stored results: PCA collapse (Fig. 3),
Gaussianity (Fig. 7, App. B.2), decorrelation (Fig. 8, App. B.3) and spectral velocity (App. E.2, Fig. 17).

Every function returns numbers or a DataFrame keyed by the results' variable names; ``shown`` gives a table its
short headers for display. Costs: a PCA table or a Gaussianity table reads stored arrays only (milliseconds); the
paired bootstrap of ``gaussianity_contrasts`` resamples the latents 2000 times per method (well under a second at
the quick profile's 128 latents).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["HEADERS", "shown", "uniform_auc", "pca_table", "raw_same", "noise_curve", "against_noise",
           "noise_scatter", "norm_sd_ratio", "sd_ratio_range", "smallest_norm_error", "failure_modes", "gaussianity_table", "gaussianity_contrasts", "decorrelation_table",
           "decorrelation_runs", "run_correlation", "velocity_summary", "positive_cells"]

# Short column headers of the chapters' tables (the tables keep the results' names; ``shown`` renames them)
HEADERS = {"norm_z": "norm z-score", "s_dc": "S_DC", "flagged_ratio": "flagged share", "s_dc_raw": "S_DC raw",
           "norm_ratio": "‖x_T‖²/d", "s_g": "S_G", "s_dc_lo": "S_DC low", "s_dc_hi": "S_DC high", "ks_d": "D_KS",
           "ks_p": "p-value", "mean_norm_ratio": "‖x_T‖²/d", "z_mean": "mean z", "norm_sd_ratio": "sd ratio",
           "k90_raw": "k90 raw", "auc": "AUC", "auc_raw": "AUC raw", "n": "latents", "nonfinite": "non-finite",
           "scale_off": "scale off", "spread": "spread"}
ROWS = {"gaussian": "Gaussian", "gaussian (reference)": "Gaussian (reference)"}


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its short headers (``HEADERS``) and the Gaussian reference's rows capitalised; a table with a
    default index and a label column first is indexed by that column."""
    if isinstance(table.index, pd.RangeIndex) and len(table.columns) and \
            not pd.api.types.is_numeric_dtype(table[table.columns[0]]):
        table = table.set_index(table.columns[0])
    return table.rename(columns=HEADERS, index=ROWS)


def _present(ds: xr.Dataset, keys) -> list[str]:
    """The keys a results file holds (files written before a field existed lack it)."""
    return [k for k in keys if k in ds]


# ---------------------------------------------------------------------------------------------- PCA (Fig. 3)

def uniform_auc(m: int) -> float:
    """The mean of the cumulative explained-variance curve when the variance is spread evenly over ``m``
    components: (1/m) * sum_k k/m = 0.5 + 1/(2m)."""
    return 0.5 + 1.0 / (2 * int(m))


def raw_same(ds: xr.Dataset) -> list[str]:
    """The raw-latent columns (k90_raw, auc_raw) equal to their unit-variance column in every row at the shown
    precision (k90 exactly, AUC to 3 decimals)."""
    out = []
    for raw, base, digits in (("k90_raw", "k90", 0), ("auc_raw", "auc", 3)):
        if raw in ds and base in ds and np.array_equal(np.round(np.asarray(ds[raw].values, float), digits),
                                                       np.round(np.asarray(ds[base].values, float), digits)):
            out.append(raw)
    return out


def pca_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per series: components for 50 / 90 / 99 % of the variance and the curve's mean (AUC) on unit-variance
    latents, the raw-latent k90 and AUC where they differ (``raw_same``), the mean ||x_T||^2 / d, latents and
    non-finite ones."""
    keys = _present(ds, ("k50", "k90", "k99", "auc", "k90_raw", "auc_raw", "mean_norm_ratio", "n", "nonfinite"))
    same = set(raw_same(ds))
    return pd.DataFrame({k: ds[k].values for k in keys if k not in same},
                        index=pd.Index(ds["series"].values, name="series"))


def noise_curve(ds: xr.Dataset) -> dict:
    """The Gaussian reference's curve against an exactly even spread (k/m over its m components): m, its largest
    gap above k/m and where, its k90 against the even spread's ceil(0.9 m), its AUC against 0.5 + 1/(2m)."""
    g = np.asarray(ds["cev"].sel(series="gaussian").values, float)
    keep = np.isfinite(g)
    g, k = g[keep], np.asarray(ds["component"].values)[keep]
    m = len(g)
    gap = g - k / m
    at = int(np.argmax(gap))
    return {"m": m, "gap": float(gap[at]), "gap_at": int(k[at]), "k90": int(k[np.argmax(g >= 0.9 - 1e-12)]),
            "k90_even": int(math.ceil(0.9 * m - 1e-9)), "auc": float(np.mean(g)), "auc_even": uniform_auc(m)}


def against_noise(ds: xr.Dataset) -> pd.DataFrame:
    """Per inverted series, its cumulative explained variance against the Gaussian reference's: the largest
    difference (above: more variance in the first k components), the largest |difference|, and at how many of the
    components where either curve is still below 1 it lies above the noise's."""
    g = np.asarray(ds["cev"].sel(series="gaussian").values, float)
    keep = np.isfinite(g)
    g = g[keep]
    rows = []
    for s in [str(v) for v in ds["series"].values if str(v) != "gaussian"]:
        d = np.asarray(ds["cev"].sel(series=s).values, float)[keep] - g
        full = (d + g < 1 - 1e-9) | (g < 1 - 1e-9)
        rows.append({"series": s, "max_above": float(np.max(d)), "max_abs": float(np.max(np.abs(d))),
                     "above": int(np.sum(d[full] > 1e-9)), "of": int(full.sum())})
    return pd.DataFrame(rows, columns=["series", "max_above", "max_abs", "above", "of"]).set_index("series")


def noise_scatter(ds: xr.Dataset, draws: int = 5, budget: float = 5e7) -> float:
    """The largest gap between the stored Gaussian curve and the curves of ``draws`` fresh sets of Gaussian noise of
    the reference's count and shape (seeds 1 to ``draws``, one PCA each): how far another draw of noise lies from
    the reference. NaN without stored latents or when count x dimension exceeds ``budget`` (a few seconds per
    draw at 1e7 on one core)."""
    if "latents" not in ds or "n" not in ds:
        return float("nan")
    n = int(ds["n"].sel(series="gaussian"))
    shape = tuple(int(v) for v in ds["latents"].shape[2:])
    if n < 2 or n * int(np.prod(shape)) > budget:
        return float("nan")
    import torch

    from ..metrics.latent import pca_explained_variance

    g = np.asarray(ds["cev"].sel(series="gaussian").values, float)
    gaps = []
    for s in range(1, draws + 1):
        c = pca_explained_variance(torch.randn((n, *shape), generator=torch.Generator().manual_seed(s)))
        gaps.append(float(np.nanmax(np.abs(c - g[:len(c)]))))
    return max(gaps)


# ----------------------------------------------------------------------------------------- Gaussianity (Fig. 7)

def norm_sd_ratio(ratios, d: int) -> float:
    """The spread of a set's ||x_T||^2/d against chi2(d)/d's: sample sd (ddof 1) over sqrt(2/d); 1 for Gaussian
    noise, below 1 for norms narrower than chi2(d), above 1 for wider."""
    r = np.asarray(ratios, dtype=float)
    r = r[np.isfinite(r)]
    return float(np.std(r, ddof=1) / math.sqrt(2 / d)) if len(r) > 1 else float("nan")


def sd_ratio_range(n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Where ``norm_sd_ratio`` of n Gaussian latents falls with probability 1 - alpha (near-normal norms at large
    d: the sample variance is about chi2(n - 1)/(n - 1) times the true one)."""
    import scipy.stats

    q = scipy.stats.chi2.ppf([alpha / 2, 1 - alpha / 2], n - 1) / (n - 1)
    return float(math.sqrt(q[0])), float(math.sqrt(q[1]))


def smallest_norm_error(n: int, d: int) -> float:
    """The relative error of the mean ||x_T||^2 / d at which the KS distance between chi2(d) and chi2(d) scaled by
    (1 + error) reaches the test's 5 % critical distance at n latents: smaller scale errors can pass the test."""
    from scipy import optimize, stats

    from ..metrics.latent import ks_resolution

    u = stats.chi2.ppf(np.linspace(1e-6, 1 - 1e-6, 4001), d)

    def gap(e):
        return np.max(np.abs(stats.chi2.cdf(u, d) - stats.chi2.cdf(u / (1 + e), d))) - ks_resolution(n)

    return float(optimize.brentq(gap, 1e-7, 10.0))


def failure_modes(ds: xr.Dataset, alpha: float = 0.05) -> pd.DataFrame:
    """Per method whose set the KS test rejects (p < alpha): norm_z, the sd ratio, whether the scale is off
    (|norm_z| > 2) and the spread ("narrower" / "wider" than the range n Gaussian latents reach with probability
    1 - alpha, ``sd_ratio_range``; "" within it). Empty without per-latent norms."""
    cols = ["norm_z", "norm_sd_ratio", "scale_off", "spread"]
    if not {"ks_p", "norm_z", "norm_ratio"} <= set(ds.variables) or "d" not in ds.attrs:
        return pd.DataFrame(columns=cols)
    d, rows = int(ds.attrs["d"]), {}
    for m in [str(v) for v in ds["method"].values]:
        r = ds["norm_ratio"].sel({"method": m}).values
        n = int(np.isfinite(r).sum())
        if not float(ds["ks_p"].sel({"method": m})) < alpha or n < 3:
            continue
        lo, hi = sd_ratio_range(n, alpha)
        sd, z = norm_sd_ratio(r, d), float(ds["norm_z"].sel({"method": m}))
        rows[m] = [z, sd, abs(z) > 2, "narrower" if sd < lo else "wider" if sd > hi else ""]
    return pd.DataFrame.from_dict(rows, orient="index", columns=cols)


def gaussianity_table(ds: xr.Dataset) -> pd.DataFrame:
    """The KS test per method with norm_z and the norms' sd ratio, and a reference row of Gaussian noise (one draw
    of the same number and size of latents): its stored S_G and p-value, D_KS = 1 - S_G (Eq. 33), and the norm
    columns from its stored ||x_T||^2/d computed as the methods' are (z_mean = norm_z / sqrt(n))."""
    tab = ds[_present(ds, ["s_g", "ks_d", "ks_p", "mean_norm_ratio", "z_mean", "norm_z"])].to_dataframe()
    d = int(ds.attrs["d"]) if "d" in ds.attrs else None
    if "norm_ratio" in ds and d:
        tab["norm_sd_ratio"] = [norm_sd_ratio(ds["norm_ratio"].sel({"method": m}).values, d) for m in tab.index]
    ref = "gaussian (reference)"
    tab.loc[ref, ["s_g", "ks_p"]] = [float(ds.attrs["gaussian_s_g"]), float(ds.attrs["gaussian_ks_p"])]
    if "ks_d" in tab:
        tab.loc[ref, "ks_d"] = 1 - float(ds.attrs["gaussian_s_g"])
    ratios = np.asarray(ds["gaussian_norm_ratio"].values, float) if "gaussian_norm_ratio" in ds else np.array([])
    ratios = ratios[np.isfinite(ratios)]
    if "gaussian_norm_z" in ds.attrs and "norm_z" in tab:
        tab.loc[ref, "norm_z"] = float(ds.attrs["gaussian_norm_z"])
        if "z_mean" in tab and len(ratios):
            tab.loc[ref, "z_mean"] = float(ds.attrs["gaussian_norm_z"]) / math.sqrt(len(ratios))
    if len(ratios) and "mean_norm_ratio" in tab:
        tab.loc[ref, "mean_norm_ratio"] = float(ratios.mean())
    if len(ratios) and "norm_sd_ratio" in tab:
        tab.loc[ref, "norm_sd_ratio"] = norm_sd_ratio(ratios, d)
    return tab


def _paired_latents(a, b, stat, *, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float, int]:
    """stat(a) - stat(b) for per-latent values of two methods on the same inputs, with its paired 95 % percentile
    bootstrap interval over the latents (pairs with a NaN dropped): (difference, lo, hi, n)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if len(a) < 2:
        return np.nan, np.nan, np.nan, len(a)
    idx = np.random.default_rng(seed).integers(0, len(a), size=(n_boot, len(a)))
    diffs = np.array([stat(a[i]) - stat(b[i]) for i in idx])
    lo, hi = np.quantile(diffs, [0.025, 0.975])
    return float(stat(a) - stat(b)), float(lo), float(hi), len(a)


def gaussianity_contrasts(ds: xr.Dataset, base: str = "ddim", others=("taba", "edm")) -> pd.DataFrame:
    """``base`` against each of ``others`` on the same latents: the difference of S_G (1 - the KS distance of the
    norms to chi2(d)) and of |norm_z|, each with its paired bootstrap interval over the latents; one row per other
    method that was run. Empty without per-latent norms."""
    import scipy.stats

    cols = ["s_g", "s_g_lo", "s_g_hi", "abs_z", "abs_z_lo", "abs_z_hi", "n"]
    methods = [str(v) for v in ds["method"].values]
    if "norm_ratio" not in ds or base not in methods:
        return pd.DataFrame(columns=cols)
    d = int(ds.attrs["d"])

    def s_g(r):
        return 1 - scipy.stats.kstest(r * d, "chi2", args=(d,)).statistic

    def abs_z(r):
        return abs(float(np.mean(r * d)) - d) / math.sqrt(2 * d / len(r))

    a = ds["norm_ratio"].sel({"method": base}).values
    rows = {}
    for m in [o for o in others if o in methods]:
        b = ds["norm_ratio"].sel({"method": m}).values
        g, z = _paired_latents(a, b, s_g), _paired_latents(a, b, abs_z)
        rows[f"{base} − {m}"] = [*g[:3], *z[:3], g[3]]
    return pd.DataFrame.from_dict(rows, orient="index", columns=cols)


# --------------------------------------------------------------------------------------- decorrelation (Fig. 8)

def decorrelation_table(ds: xr.Dataset) -> pd.DataFrame:
    """Mean S_DC (unit-variance latents) and flagged share per method, with the raw form's mean S_DC and the mean
    ||x_T||^2 / d beside them."""
    return ds[_present(ds, ["s_dc", "flagged_ratio", "s_dc_raw", "norm_ratio"])].mean("latent").to_dataframe()


def decorrelation_runs(ds: xr.Dataset) -> pd.DataFrame:
    """One row per inversion run of the scatter: method, steps, seed, S_G and norm_z of the set, mean S_DC with its
    95 % interval over the run's latents (where stored) and its raw form, mean ||x_T||^2 / d."""
    cols = {"method": ds["run_method"].values, "steps": ds["run_steps"].values, "seed": ds["run_seed"].values,
            "s_g": ds["run_s_g"].values, "s_dc": ds["run_s_dc"].values}
    for k in ("run_s_dc_lo", "run_s_dc_hi", "run_norm_z", "run_s_dc_raw", "run_norm_ratio"):
        if k in ds:
            cols[k[4:]] = ds[k].values
    return pd.DataFrame(cols)


def run_correlation(ds: xr.Dataset) -> tuple[float, float, float, int]:
    """Pearson r(S_G, S_DC) over the distinct runs of the scatter (repeats of a deterministic run once) with its
    95 % Fisher-z interval: (r, lo, hi, n); r is NaN with fewer than three runs or a constant score."""
    from .verdicts import fisher_interval

    g, c = ds["run_s_g"].values, ds["run_s_dc"].values
    keep = np.isfinite(g) & np.isfinite(c)
    pts = np.unique(np.stack([g[keep], c[keep]], 1), axis=0) if keep.any() else np.zeros((0, 2))
    ok = len(pts) > 2 and np.std(pts[:, 0]) > 0 and np.std(pts[:, 1]) > 0
    r = float(np.corrcoef(pts[:, 0], pts[:, 1])[0, 1]) if ok else np.nan
    lo, hi = fisher_interval(r, len(pts))
    return r, lo, hi, len(pts)


# ------------------------------------------------------------------------------------------- velocity (Fig. 17)

def velocity_summary(ds: xr.Dataset, hf: float = 0.25, late: float = 0.75) -> pd.DataFrame:
    """Per method: the mean log10 update power at frequencies >= ``hf`` over the last and the first quarter of the
    steps (``late`` sets the cut), below ``hf`` (non-zero) over the last, and the lowest non-zero-frequency cell."""
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
    return pd.DataFrame(rows).set_index("method")


def positive_cells(ds: xr.Dataset) -> pd.DataFrame:
    """One row per (method, step, frequency bin) whose log10 update power is above 0, with the step's noise
    levels."""
    rows = []
    p = ds["log_power"].transpose("method", "step", "freq").values
    for i, m in enumerate(ds["method"].values.tolist()):
        for step, k in np.argwhere(np.nan_to_num(p[i], nan=-np.inf) > 0):
            rows.append({"method": str(m), "step": int(ds["step"].values[step]), "freq": float(ds["freq"].values[k]),
                         "bin": int(k), "log_power": float(p[i, step, k]),
                         "sigma_from": float(ds["sigma_from"].values[i, step]),
                         "sigma_to": float(ds["sigma_to"].values[i, step])})
    return pd.DataFrame(rows, columns=["method", "step", "freq", "bin", "log_power", "sigma_from", "sigma_to"])
