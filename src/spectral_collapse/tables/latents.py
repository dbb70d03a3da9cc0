"""The latent-analysis chapters' tables and numbers (Figs. 3, 7, 8 and 17; App. B.2, B.3, E.2)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
import xarray as xr
from scipy import optimize, stats

from ..metrics.latent import ks_resolution, pca_explained_variance
from ..verdicts.words import pearson_interval

__all__ = ["HEADERS", "shown", "uniform_auc", "pca_table", "raw_same", "noise_curve", "against_noise",
           "noise_scatter", "norm_sd_ratio", "sd_ratio_range", "smallest_norm_error", "failure_modes",
           "gaussianity_table", "gaussianity_contrasts", "decorrelation_table", "decorrelation_runs",
           "run_correlation", "velocity_summary", "positive_cells"]

# short column headers of the chapters' tables (``shown``)
HEADERS = {"norm_z": "norm z-score", "s_dc": "S_DC", "flagged_ratio": "flagged share", "s_dc_raw": "S_DC raw",
           "norm_ratio": "‖x_T‖²/d", "s_g": "S_G", "s_dc_lo": "S_DC low", "s_dc_hi": "S_DC high", "ks_d": "D_KS",
           "ks_p": "p-value", "mean_norm_ratio": "‖x_T‖²/d", "z_mean": "mean z", "norm_sd_ratio": "sd ratio",
           "k90_raw": "k90 raw", "auc": "AUC", "auc_raw": "AUC raw", "n": "latents", "nonfinite": "non-finite",
           "scale_off": "scale off", "spread": "spread", "support_leak": "support leak"}
ROWS = {"gaussian": "Gaussian", "gaussian (reference)": "Gaussian (reference)"}


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with short headers (``HEADERS``), indexed by its first column when that holds labels."""
    if isinstance(table.index, pd.RangeIndex) and len(table.columns) and \
            not pd.api.types.is_numeric_dtype(table[table.columns[0]]):
        table = table.set_index(table.columns[0])
    return table.rename(columns=HEADERS, index=ROWS)


# ---------------------------------------------------------------------------------------------- PCA (Fig. 3)

def uniform_auc(m: int) -> float:
    """The mean of an even spread's cumulative explained-variance curve over ``m`` components: 0.5 + 1/(2m)."""
    return 0.5 + 1.0 / (2 * int(m))


def raw_same(ds: xr.Dataset) -> list[str]:
    """The raw-latent columns (k90_raw, auc_raw) equal to their unit-variance column as shown (AUC to 3 decimals)."""
    return [raw for raw, base, digits in (("k90_raw", "k90", 0), ("auc_raw", "auc", 3)) if raw in ds and base in ds
            and np.array_equal(*(np.round(np.asarray(ds[v].values, float), digits) for v in (raw, base)))]


def pca_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per series: k50 / k90 / k99, AUC, the raw forms where they differ, mean ||x_T||^2 / d, n and non-finite."""
    keys = [k for k in ("k50", "k90", "k99", "auc", "k90_raw", "auc_raw", "mean_norm_ratio", "n", "nonfinite")
            if k in ds]
    same = set(raw_same(ds))
    return pd.DataFrame({k: ds[k].values for k in keys if k not in same},
                        index=pd.Index(ds["series"].values, name="series"))


def noise_curve(ds: xr.Dataset) -> dict:
    """The Gaussian reference's curve against an even spread k/m: m, largest gap and where, k90 and AUC of both."""
    g = np.asarray(ds["cev"].sel(series="gaussian").values, float)
    keep = np.isfinite(g)
    g, k = g[keep], np.asarray(ds["component"].values)[keep]
    m = len(g)
    gap = g - k / m
    at = int(np.argmax(gap))
    return {"m": m, "gap": float(gap[at]), "gap_at": int(k[at]), "k90": int(k[np.argmax(g >= 0.9 - 1e-12)]),
            "k90_even": int(math.ceil(0.9 * m - 1e-9)), "auc": float(np.mean(g)), "auc_even": uniform_auc(m)}


def against_noise(ds: xr.Dataset) -> pd.DataFrame:
    """Per series, its curve minus noise's: largest difference and |difference|, and how often it is above."""
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
    """The largest gap between the stored Gaussian curve and ``draws`` fresh noise sets of its shape (seeds 1..draws);
    NaN above ``budget`` count x dimension (a few seconds per draw at 1e7)."""
    n = int(ds["n"].sel(series="gaussian"))
    shape = tuple(int(v) for v in ds["latents"].shape[2:])
    if n < 2 or n * int(np.prod(shape)) > budget:
        return float("nan")
    g = np.asarray(ds["cev"].sel(series="gaussian").values, float)
    curves = (pca_explained_variance(torch.randn((n, *shape), generator=torch.Generator().manual_seed(s)))
              for s in range(1, draws + 1))
    return max(float(np.nanmax(np.abs(c - g[:len(c)]))) for c in curves)


# ----------------------------------------------------------------------------------------- Gaussianity (Fig. 7)

def norm_sd_ratio(ratios, d: int) -> float:
    """Sample sd (ddof 1) of a set's ||x_T||^2/d over chi2(d)/d's, sqrt(2/d): 1 for Gaussian noise."""
    r = np.asarray(ratios, dtype=float)
    r = r[np.isfinite(r)]
    return float(np.std(r, ddof=1) / math.sqrt(2 / d)) if len(r) > 1 else float("nan")


def sd_ratio_range(n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Where ``norm_sd_ratio`` of n Gaussian latents falls with probability 1 - alpha (variance ~ chi2(n-1)/(n-1))."""
    q = stats.chi2.ppf([alpha / 2, 1 - alpha / 2], n - 1) / (n - 1)
    return float(math.sqrt(q[0])), float(math.sqrt(q[1]))


def smallest_norm_error(n: int, d: int) -> float:
    """The relative error e of the mean ||x_T||^2 / d at which the KS distance between chi2(d) and (1 + e) chi2(d)
    reaches the 5 % critical distance at n latents: smaller scale errors can pass the test."""
    u = stats.chi2.ppf(np.linspace(1e-6, 1 - 1e-6, 4001), d)

    def gap(e):
        return np.max(np.abs(stats.chi2.cdf(u, d) - stats.chi2.cdf(u / (1 + e), d))) - ks_resolution(n)

    return float(optimize.brentq(gap, 1e-7, 10.0))


def failure_modes(ds: xr.Dataset, alpha: float = 0.05) -> pd.DataFrame:
    """Per method the KS test rejects: norm_z, sd ratio, scale off (|norm_z| > 2) and spread."""
    d, rows = int(ds.attrs["d"]), {}
    for m in [str(v) for v in ds["method"].values]:
        r = ds["norm_ratio"].sel({"method": m}).values
        n = int(np.isfinite(r).sum())
        if not float(ds["ks_p"].sel({"method": m})) < alpha or n < 3:
            continue
        lo, hi = sd_ratio_range(n, alpha)
        sd, z = norm_sd_ratio(r, d), float(ds["norm_z"].sel({"method": m}))
        rows[m] = [z, sd, abs(z) > 2, "narrower" if sd < lo else "wider" if sd > hi else ""]
    return pd.DataFrame.from_dict(rows, orient="index", columns=["norm_z", "norm_sd_ratio", "scale_off", "spread"])


def gaussianity_table(ds: xr.Dataset) -> pd.DataFrame:
    """The KS test, norm_z and sd ratio per method, and a row of Gaussian noise of the same size (D_KS = 1 - S_G,
    Eq. 33; z_mean = norm_z / sqrt(n))."""
    tab = ds[[k for k in ["s_g", "ks_d", "ks_p", "mean_norm_ratio", "z_mean", "norm_z"] if k in ds]].to_dataframe()
    d = int(ds.attrs["d"])
    tab["norm_sd_ratio"] = [norm_sd_ratio(ds["norm_ratio"].sel({"method": m}).values, d) for m in tab.index]
    ratios = np.asarray(ds["gaussian_norm_ratio"].values, float)
    ratios = ratios[np.isfinite(ratios)]
    s_g, z = float(ds.attrs["gaussian_s_g"]), float(ds.attrs["gaussian_norm_z"])
    ref = {"s_g": s_g, "ks_d": 1 - s_g, "ks_p": float(ds.attrs["gaussian_ks_p"]), "norm_z": z,
           "mean_norm_ratio": float(ratios.mean()), "z_mean": z / math.sqrt(len(ratios)),
           "norm_sd_ratio": norm_sd_ratio(ratios, d)}
    tab.loc["gaussian (reference)"] = [ref[c] for c in tab.columns]
    return tab


def _paired_latents(a, b, stat, *, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float, int]:
    """(stat(a) - stat(b), lo, hi, n): paired 95 % percentile bootstrap over the finite pairs of latents."""
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
    """``base`` minus ``others``: S_G and |norm_z| with paired bootstrap intervals over latents (under a second);
    empty when ``base`` was not run."""
    cols = ["s_g", "s_g_lo", "s_g_hi", "abs_z", "abs_z_lo", "abs_z_hi", "n"]
    methods = [str(v) for v in ds["method"].values]
    d, rows = int(ds.attrs["d"]), {}

    def s_g(r):
        return 1 - stats.kstest(r * d, "chi2", args=(d,)).statistic

    def abs_z(r):
        return abs(float(np.mean(r * d)) - d) / math.sqrt(2 * d / len(r))

    for m in [o for o in others if o in methods and base in methods]:
        a = ds["norm_ratio"].sel({"method": base}).values
        b = ds["norm_ratio"].sel({"method": m}).values
        g, z = _paired_latents(a, b, s_g), _paired_latents(a, b, abs_z)
        rows[f"{base} − {m}"] = [*g[:3], *z[:3], g[3]]
    return pd.DataFrame.from_dict(rows, orient="index", columns=cols)


# --------------------------------------------------------------------------------------- decorrelation (Fig. 8)

def decorrelation_table(ds: xr.Dataset) -> pd.DataFrame:
    """Mean S_DC, the support leak beside it (where stored), flagged share, raw S_DC and ||x_T||^2 / d per method."""
    keys = [k for k in ["s_dc", "support_leak", "flagged_ratio", "s_dc_raw", "norm_ratio"] if k in ds]
    return ds[keys].mean("latent", skipna=True).to_dataframe()


def decorrelation_runs(ds: xr.Dataset) -> pd.DataFrame:
    """One row per inversion run of the scatter: method, steps, seed, S_G, S_DC and the run's other stored scores."""
    cols = ("method", "steps", "seed", "s_g", "s_dc", "s_dc_lo", "s_dc_hi", "support_leak", "norm_z", "s_dc_raw",
            "norm_ratio")
    return pd.DataFrame({k: ds[f"run_{k}"].values for k in cols if f"run_{k}" in ds})


def run_correlation(ds: xr.Dataset) -> tuple[float, float, float, int]:
    """(r, lo, hi, n): Pearson r(S_G, S_DC) over the distinct runs with its 95 % Fisher-z interval."""
    g, c = ds["run_s_g"].values, ds["run_s_dc"].values
    keep = np.isfinite(g) & np.isfinite(c)
    pts = np.unique(np.stack([g[keep], c[keep]], 1), axis=0)
    return pearson_interval(pts[:, 0], pts[:, 1])


# ------------------------------------------------------------------------------------------- velocity (Fig. 17)

def velocity_summary(ds: xr.Dataset, hf: float = 0.25, late: float = 0.75) -> pd.DataFrame:
    """Per method, mean log10 update power at frequencies >= ``hf`` over the last and first quarter of steps
    (``late``), below ``hf`` over the last, and the lowest non-zero-frequency cell."""
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
    """One row per (method, step, frequency bin) with log10 update power above 0, with the step's noise levels."""
    f = ds[["log_power", "sigma_from", "sigma_to"]].to_dataframe(dim_order=["method", "step", "freq"]).reset_index()
    f["bin"] = pd.Index(ds["freq"].values).get_indexer(f["freq"])
    f = f[f["log_power"] > 0]
    return f[["method", "step", "freq", "bin", "log_power", "sigma_from", "sigma_to"]].reset_index(drop=True)
