"""The metric-validation chapter's tables and numbers (paper App. B.4, Figs. 9, 11–12, 14): the spectrum slopes and
the wavelet each picks, S_HF of Fourier-filtered real images, the points the metrics' correlations run over, and a
correlation over those points with its Fisher-z interval."""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..metrics.spectral import wavelet_order
from .metric_validation import POINT_HEADERS, complements, method_points, metric_points
from .verdicts import fisher_interval

__all__ = ["slope_table", "filter_table", "UNFILTERED", "band_used", "filter_changes", "correlation_points",
           "method_correlation"]

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
    if "unfiltered_s_hf" in ds:
        base = float(ds["unfiltered_s_hf"].mean())
        out = pd.concat([pd.DataFrame({c: [base] for c in out.columns}, index=[UNFILTERED]), out])
    out.index.name, out.columns.name = None, "cutoff κ (fraction of Nyquist)"
    return out


def filter_changes(ds: xr.Dataset, digits: int = 3) -> dict[str, float]:
    """On the filter table's rounded values: ``unfiltered`` S_HF, its largest change under high-pass
    (``lf_moved``) and its largest fall under low-pass (``hf_fell``)."""
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
    """The correlations' points, one per distinct method (``method_points``), a metric that is 1 minus another
    shown once."""
    pts = metric_points(ds)
    twins = complements(pts)
    cols = [c for c in pts.columns if c not in ("method", "seed") and c not in twins]
    per = method_points(pts, cols).round(digits)
    per.index.name = "method"
    return per.rename(columns=POINT_HEADERS)


def method_correlation(ds: xr.Dataset, a: str, b: str) -> tuple[float, float, float, int]:
    """(r, lo, hi, n): Pearson r of metrics ``a`` and ``b`` over one point per distinct method with its 95 %
    Fisher-z interval; NaN with fewer than 3 points or a constant metric."""
    if not ({"points", "point_method", "metric"} <= set(ds.variables)
            and {a, b} <= set(map(str, ds["metric"].values))):
        return float("nan"), -1.0, 1.0, 0
    pts = metric_points(ds)[["method", a, b]]
    pts = pts[np.isfinite(pts[a].astype(float)) & np.isfinite(pts[b].astype(float))]
    per = pts.groupby("method")[[a, b]].mean().round(12).drop_duplicates()
    ok = len(per) >= 3 and per[a].nunique() > 1 and per[b].nunique() > 1
    r = float(np.corrcoef(per[a], per[b])[0, 1]) if ok else float("nan")
    lo, hi = fisher_interval(r, len(per))
    return r, lo, hi, len(per)
