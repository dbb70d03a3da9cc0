"""The PCA chapter's reading of its chart: where the curves lie against each other and against the straight line of
variance spread exactly evenly, computed from the stored curves."""
from __future__ import annotations

import math

import numpy as np
import xarray as xr

__all__ = ["pca_reading", "noise_scatter", "reference_correlation", "on_noise_text", "uniform_auc"]


def pca_reading(ds: xr.Dataset) -> str:
    """Markdown: what the cumulative explained-variance chart shows, computed from the curves: how far Gaussian noise
    of the same count and size lies from the straight line of an exactly even spread (k/m over m components: its
    largest gap, its k90 against an even spread's, its mean against 0.5 + 1/(2m)), and at how many components each
    inverted series lies above the noise's curve; '' without a Gaussian series."""
    names = [str(v) for v in ds["series"].values]
    if "gaussian" not in names:
        return ""
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
    shape = (f"lies on the cumulative share of an exactly even spread (the dotted line, k/{m} at k components)"
             if float(np.max(np.abs(gap))) < 0.01 else
             f"lies above the cumulative share of an exactly even spread (the dotted line, k/{m} at k components), "
             f"by up to {gap[at]:.3f} (at k = {int(k[at])})")
    text = (f"Gaussian noise of the same count and size (dashed grey) {shape}: it reaches 90 % of the variance at "
            f"k = {k90_g}, where an even spread over the {m} components needs {k90_even}, and its AUC (the mean of the "
            f"cumulative explained-variance curve) is {float(np.mean(g)):.3f} against {uniform_auc(m):.3f} for an even "
            f"spread.")
    said, on = [], []
    for s in [x for x in names if x != "gaussian"]:
        d = np.asarray(ds["cev"].sel(series=s).values, float)[keep] - g
        full = (d + g < 1 - 1e-9) | (g < 1 - 1e-9)       # components where either curve is still below 1
        if float(np.max(np.abs(d))) < ON_NOISE:
            said.append(f"{_series(s)} on it (within {float(np.max(np.abs(d))):.3f} at every component)")
            on.append(s)
        else:
            n_above, n = int(np.sum(d[full] > 1e-9)), int(full.sum())
            where = "at every component" if n_above == n else f"at {n_above} of the {n} components"
            said.append(f"{_series(s)} above it {where} before both reach 1, by up to {float(np.max(d)):.3f}")
    if said:
        text += ("\n\nAgainst the noise's curve (above it: more variance in the first k components): "
                 + "; ".join(said) + ".")
    if on:
        text += "\n\n" + on_noise_text(ds, on)
    return text


ON_NOISE = 0.01       # a series whose curve stays this close to the noise's at every component lies "on it"
NOISE_DRAWS = 5       # fresh Gaussian sets behind the draw-to-draw scatter of the noise's curve
NOISE_BUDGET = 5e7    # largest count x dimension drawn for that scatter (the paper profile's sets are not redrawn)


def noise_scatter(ds: xr.Dataset, draws: int = NOISE_DRAWS, budget: float = NOISE_BUDGET) -> float | None:
    """The largest gap, over ``draws`` fresh sets of Gaussian noise of the reference's count and shape (seeds 1 to
    ``draws``, one PCA each as the study runs it), between a fresh set's curve and the stored Gaussian curve: how far
    another draw of noise lies from the reference. None without stored latents or beyond ``budget``."""
    if "latents" not in ds or "n" not in ds:
        return None
    n = int(ds["n"].sel(series="gaussian"))
    shape = tuple(int(v) for v in ds["latents"].shape[2:])
    if n < 2 or n * int(np.prod(shape)) > budget:
        return None
    import torch

    from ..metrics.latent import pca_explained_variance

    g = np.asarray(ds["cev"].sel(series="gaussian").values, float)
    gaps = []
    for s in range(1, draws + 1):
        c = pca_explained_variance(torch.randn((n, *shape), generator=torch.Generator().manual_seed(s)))
        gaps.append(float(np.nanmax(np.abs(c - g[:len(c)]))))
    return max(gaps)


def reference_correlation(ds: xr.Dataset, series: str) -> float | None:
    """The largest |Pearson r| between any stored latent of ``series`` and any stored latent of the Gaussian
    reference (the first few of each set): near 1/sqrt(d) when they are independent, 1 if one were a scaled copy of
    the other. None without stored latents."""
    if "latents" not in ds:
        return None
    a = np.asarray(ds["latents"].sel(series=series).values, float)
    b = np.asarray(ds["latents"].sel(series="gaussian").values, float)
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    ok_a, ok_b = np.isfinite(a).all(1), np.isfinite(b).all(1)
    if not ok_a.any() or not ok_b.any():
        return None
    r = np.corrcoef(a[ok_a], b[ok_b])[:ok_a.sum(), ok_a.sum():]
    return float(np.max(np.abs(r)))


def on_noise_text(ds: xr.Dataset, on: list[str]) -> str:
    """Why a series can lie on the noise's curve: how far fresh draws of noise lie from the reference (a set of this
    count and size has a nearly fixed curve, so any white latents lie this close), and that the series' latents are
    not the reference's draws (their largest correlation with them against 1/sqrt(d))."""
    names = " and ".join(_series(s) for s in on)
    g = np.asarray(ds["cev"].sel(series="gaussian").values, float)
    gap = max(float(np.nanmax(np.abs(np.asarray(ds["cev"].sel(series=s).values, float) - g))) for s in on)
    scatter = noise_scatter(ds)
    text = (f"{names} lying on the noise's curve means {'its' if len(on) == 1 else 'their'} latents have no more "
            f"structure than white noise to this PCA")
    if scatter is not None:
        text += (f": {NOISE_DRAWS} fresh draws of Gaussian noise of the same count and size lie up to "
                 f"{scatter:.3f} from the reference's curve, "
                 + (f"and {names} lies no further ({gap:.3f})" if gap <= scatter else
                    f"and {names} lies a little further ({gap:.3f})"))
    text += "."
    corr = {s: reference_correlation(ds, s) for s in on}
    if all(v is not None for v in corr.values()):
        d = int(np.prod(ds["latents"].shape[2:]))
        n_show = int(ds["latents"].shape[1])
        sd = 1 / math.sqrt(d)
        r = ", ".join(f"{_series(s)} {v:.3f} ({v / sd:.1f} sd)" for s, v in corr.items())
        text += (f" Nor are these latents the reference's noise itself: between the first {n_show} latents of "
                 f"each set (those shown under Inputs and their latents), the largest of the {n_show * n_show} "
                 f"|correlations| is {r}. Independent noise maps correlate with sd 1/√d = {sd:.3f}; a scaled copy "
                 f"would give 1.")
    text += (" Each latent is scaled to unit variance before the PCA, so a spread of norms narrower or wider than "
             "χ²(d) (the Gaussianity chapter's sd ratio) does not move these curves.")
    return text


def _series(label: str) -> str:
    """A PCA series as the chapter names it: a method's name, with its SR factor ("ddim x4" -> "DDIM ×4")."""
    from ..studies.method_labels import method_name
    from ..text import notation

    return notation(" ".join(method_name(w) for w in str(label).split()), "chart")


def uniform_auc(m: int) -> float:
    """The mean of the cumulative explained-variance curve when the variance is spread evenly over ``m``
    components: (1/m) * sum_k k/m = 0.5 + 1/(2m)."""
    return 0.5 + 1.0 / (2 * int(m))
