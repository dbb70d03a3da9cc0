"""Our counterparts of the paper's two share tables, on the same rule as the claims page.

Table 1 is the share of comparisons in which a stochastic inversion (TABA, ReNoise) beats a deterministic one
(DDIM, Null-Class, DirectInversion); Table 6 the share of cases in which the x0-prediction model beats the
eps-prediction model for the same method and SR factor. Both are computed by ``verdicts.share_table``: every
distinct comparison counts once however many seeds repeat it, and the 95 % interval resamples the test crops
(seeds, for a set-level metric). The scorecard's rows and the claims' verdicts therefore quote the same numbers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .evidence import METRICS
from .verdicts import share_table

__all__ = ["table1_frames", "x0_frames", "table1_rows", "table6_rows", "DETERMINISTIC", "STOCHASTIC", "TABLE6_METHODS"]

DETERMINISTIC = ("ddim", "null_class", "direct_inversion")   # Table 1's "deterministic" group
STOCHASTIC = ("taba", "renoise")                             # Table 1's "stochastic" group
TABLE6_METHODS = ("ddim", "taba", "ovg")                     # Table 6's rows (our stable OVG form is shown apart)


def table1_frames(ev) -> tuple[pd.DataFrame, pd.DataFrame, tuple, tuple, str]:
    """(per-seed frame, per-crop frame, better labels, worse labels, label column) of Table 1's comparisons."""
    return ev.select("main"), ev.select("main", per_crop=True), STOCHASTIC, DETERMINISTIC, "method"


def x0_frames(ev) -> tuple[pd.DataFrame, pd.DataFrame, list, list, str]:
    """The same for Table 6: the ``eps_vs_x0`` rows of Table 6's methods, parameterization labels lower-cased;
    both label lists are empty when one of the arms is missing."""
    def arms(f):
        f = f[f["method"].isin(TABLE6_METHODS)] if "method" in f else f
        return f.assign(parameterization=f["parameterization"].str.lower()) if "parameterization" in f else f

    f, crops = arms(ev.select("x0")), arms(ev.select("x0", per_crop=True))
    labels = f["parameterization"].unique() if "parameterization" in f else []
    xs, eps = [v for v in labels if "x0" in v], [v for v in labels if "eps" in v]
    if not (xs and eps):
        return f.iloc[0:0], crops.iloc[0:0], [], [], "parameterization"
    return f, crops, xs, eps, "parameterization"


def _rows(parts, table: str, keys: dict, source: str) -> pd.DataFrame | None:
    frame, crops, better, worse, by = parts
    if frame.empty and crops.empty:
        return None
    s = share_table(frame, crops, better, worse, by, METRICS)
    if s.empty:
        return None
    return pd.DataFrame({
        "table": table, **keys, "metric": s["metric"], "ours_mean": s["share"], "ours_std": np.nan,
        "ours_lo": s["lo"], "ours_hi": s["hi"], "ours_n": s["cases"], "real": True, "ours_from": source})


def table1_rows(ev) -> pd.DataFrame | None:
    """Our Table 1 rows: one per metric, the share with its interval (``ours_lo``, ``ours_hi``)."""
    return _rows(table1_frames(ev), "table1", dict(dataset="all", scale="", backbone="unet", space="latent",
                                                   method="stochastic_vs_deterministic"),
                 "main_results, every dataset")


def table6_rows(ev) -> pd.DataFrame | None:
    """Our Table 6 rows: one per metric, the share with its interval."""
    return _rows(x0_frames(ev), "table6", dict(dataset="bbbc021", scale="all", backbone="unet", space="latent",
                                               method="x0_vs_eps"), "eps_vs_x0")
