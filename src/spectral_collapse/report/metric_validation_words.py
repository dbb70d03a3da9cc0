"""The metric-validation chapter's words for what the results describe in storage terms: the scale μ_HF is measured
on (``pixel_scale``), how the runs of the main results add up (``runs_text``) and the images the image metrics score
(``plain_outputs``)."""
from __future__ import annotations

import re

import pandas as pd
import xarray as xr

from ..studies.metric_validation import POINT_HEADERS, complements, metric_points

__all__ = ["pixel_scale", "runs_text", "plain_outputs", "correlation_points"]


def pixel_scale(unit: str) -> str:
    """The scale μ_HF is measured on, in words: "uint8" -> "on the 0–255 pixel scale"; another unit as "<unit> units"."""
    return "on the 0–255 pixel scale" if str(unit) == "uint8" else f"{unit} units"


def runs_text(ds: xr.Dataset) -> str:
    """How many runs of the main results the correlations read and how they add up: methods × seeds (or each
    method's seed count when they differ), and the distinct methods they make (coinciding methods counted once)."""
    n = int(ds.sizes.get("point", 0))
    if not n or "point_method" not in ds:
        return f"{n} runs of the main results"
    per = pd.Series(ds["point_method"].values).value_counts(sort=False)
    counts = sorted(set(per.tolist()))
    how = (f"{len(per)} methods × {counts[0]} seeds" if len(counts) == 1 else
           f"{len(per)} methods, " + ", ".join(f"{int((per == c).sum())} with {c} seed{'s' if c > 1 else ''}"
                                               for c in counts))
    distinct = len(correlation_points(ds))
    merged = (f"; the correlations read them as {distinct} distinct methods, methods whose scores coincide counted "
              "once" if distinct < len(per) else "")
    return f"{n} runs of the main results ({how}{merged})"


_STORED_PHRASES = ((re.compile(r"on the (\d+) stored outputs of the first seed's run of each method against their "
                               r"ground truth \(the only seed whose ground truth the main results store\)"),
                    r"on \1 output images of each method against their ground truth, all from the first seed's run "
                    r"(the main results keep the images of that seed only)"),
                   (re.compile(r"\bthe stored outputs\b"), "the output images"))


def plain_outputs(text: str) -> str:
    """The results' description of the images the image metrics score, in a reader's words (no storage talk):
    "on the 8 stored outputs of the first seed's run ..." -> "on 8 output images of each method ..."."""
    for rx, to in _STORED_PHRASES:
        text = rx.sub(to, text)
    return text


def correlation_points(ds: xr.Dataset, digits: int = 3) -> pd.DataFrame:
    """The points the correlations are computed over, one row per distinct method (the mean of its seeds' runs;
    methods with identical scores kept once: ``studies.metric_validation.method_points``), with the metrics' short
    names as headers; a metric that is 1 minus another on every run (``complements``) is shown once."""
    from ..studies.metric_validation import method_points

    pts = metric_points(ds)
    twins = complements(pts)
    cols = [c for c in pts.columns if c not in ("method", "seed") and c not in twins]
    per = method_points(pts, cols).round(digits)
    per.index.name = "method"
    return per.rename(columns=POINT_HEADERS)
