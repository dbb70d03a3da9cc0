"""The PCA chapter's reading of its chart: where the curves lie against each other and against the straight line of
variance spread exactly evenly, computed from the stored curves."""
from __future__ import annotations

import math

import numpy as np
import xarray as xr

__all__ = ["pca_reading"]


def pca_reading(ds: xr.Dataset) -> str:
    """Markdown: what the cumulative explained-variance chart shows, computed from the curves: how far Gaussian noise
    of the same count and size lies from the straight line of an exactly even spread (k/m over m components: its
    largest gap, its k90 against an even spread's, its mean against 0.5 + 1/(2m)), and at how many components each
    inverted series lies above the noise's curve; '' without a Gaussian series."""
    names = [str(v) for v in ds["series"].values]
    if "gaussian" not in names:
        return ""
    from .latents import uniform_auc

    g = np.asarray(ds["cev"].sel(series="gaussian").values, float)
    keep = np.isfinite(g)
    g = g[keep]
    k = np.asarray(ds["component"].values)[keep]
    m = len(g)
    even = k / m
    gap = g - even
    at = int(np.argmax(gap))
    k90_even = int(math.ceil(0.9 * m - 1e-9))
    k90_g = int(k[np.argmax(g >= 0.9 - 1e-12)])
    shape = ("lies on" if float(np.max(np.abs(gap))) < 0.01 else
             f"bends above the straight line of an exactly even spread, by up to {gap[at]:.3f} (at k = {int(k[at])})")
    text = (f"Gaussian noise of the same count and size (dashed grey) {shape}: it reaches 90 % of the variance at "
            f"k = {k90_g}, where an even spread over the {m} components needs {k90_even}, and the mean of its curve "
            f"is {float(np.mean(g)):.3f} against {uniform_auc(m):.3f} for an even spread.")
    said = []
    for s in [x for x in names if x != "gaussian"]:
        d = np.asarray(ds["cev"].sel(series=s).values, float)[keep] - g
        full = (d + g < 1 - 1e-9) | (g < 1 - 1e-9)       # components where either curve is still below 1
        if float(np.max(np.abs(d))) < 0.01:
            said.append(f"{_series(s)} on it (within {float(np.max(np.abs(d))):.3f} at every component)")
        else:
            n_above, n = int(np.sum(d[full] > 1e-9)), int(full.sum())
            where = "at every component" if n_above == n else f"at {n_above} of the {n} components"
            said.append(f"{_series(s)} above it {where} before both reach 1, by up to {float(np.max(d)):.3f}")
    if said:
        text += (" Against the noise's curve (above it: more variance in the first k components): "
                 + "; ".join(said) + ".")
    return text


def _series(label: str) -> str:
    """A PCA series as the chapter names it: a method's name, with its SR factor ("ddim x4" -> "DDIM ×4")."""
    from ..studies.method_labels import method_name
    from ..text import notation

    return notation(" ".join(method_name(w) for w in str(label).split()), "chart")
