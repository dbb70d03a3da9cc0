"""What the latent-analysis chapters say: PCA collapse, Gaussianity, decorrelation and spectral velocity, with the
overview, settings and verdict dispatch of the metric-validation chapter too (its tables, points and verdict are in
``report.metric_validation``). Each verdict is one paragraph (the paper's claim, our numbers, the verdict) computed
from the study's results; the tables are the chapters' numeric tables.

A comparison of DDIM with another method on per-latent values (S_G from the latents' norms, S_DC) is three-way: a
paired bootstrap over the latents read with the claims' minimal effects (holds, does not hold, inconclusive). The
PCA chapter gives the claims page's verdict. The velocity and metric-validation checks, made on curves and fits
without per-sample values, say whether our numbers agree with the paper's statement.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import xarray as xr

from ..metrics.latent import ks_resolution, s_g_tie
from ..text import unsigned_zero

__all__ = ["verdict", "settings", "overview", "uniform_auc", "velocity_summary", "pca_table", "gaussianity_table",
           "decorrelation_table", "decorrelation_runs", "HEADERS", "shown", "column_legend", "typeset", "norm_sd_ratio",
           "sd_ratio_range", "failure_modes_text", "k90_subsample_note", "pca_reading", "raw_same", "raw_note"]

from .latent_columns import HEADERS, column_legend, decorrelation_overview, judged_text, overall, shown  # noqa: F401
from ..plotting.latents import series_name
from .latent_pca import pca_reading, uniform_auc  # noqa: F401
from .latent_settings import settings  # noqa: F401  (imported from here)
from ..text import typeset  # noqa: F401  (imported from here)
from .latent_norms import norm_sd_ratio, sd_ratio_range  # noqa: F401  (imported from here)
from .velocity import velocity_summary  # noqa: F401  (imported from here)

NORM_Z = HEADERS["norm_z"]   # the norm z-score as the tables' header names it, in every sentence too


def _trained_at(ds: xr.Dataset) -> str:
    """The model's SR factor in words: "model trained at x4", or "model without an SR factor" (factor 0)."""
    f = int(ds.attrs.get("model_factor") or 0)
    return f"model trained at x{f}" if f else "model without an SR factor"


# ------------------------------------------------------------------------------------------------ overviews

def overview(ds: xr.Dataset) -> str:
    """One line on what a run holds (sizes, model, reference)."""
    study, name = ds.attrs.get("study", ""), f"{ds.attrs.get('dataset')}, profile {ds.attrs.get('profile')}"
    if study == "pca_collapse":
        return (f"{name}: series {', '.join(map(series_name, ds['series'].values))}; {int(ds['n'].values[-1])} latents of "
                f"dimension {ds['latents'][0, 0].size}; {_trained_at(ds)}")
    if study == "gaussianity":
        return f"{name}: {ds.sizes['latent']} latents per method, d = {ds.attrs['d']}"
    if study == "decorrelation":
        return decorrelation_overview(ds)
    if study == "velocity":
        return (f"{name}: {ds.sizes['step']} inversion steps, {ds.sizes['freq']} frequency bins, "
                f"{ds.attrs['n_samples']} inputs, space {ds.attrs['space']}")
    if study == "metric_validation":
        from .metric_validation_words import pixel_scale, runs_text
        from .metric_validation import reference_energy

        return (f"{name}: wavelet {ds.attrs['wavelet']}, μ_HF {reference_energy(ds.attrs['mu_hf'])} "
                f"({pixel_scale(ds.attrs['s_hf_unit'])}) from {ds.attrs['n_reference']} real images (the reference "
                f"pool); {ds.sizes.get('held_out', 0)} held-out real images filtered (n_real); {runs_text(ds)}")
    raise ValueError(f"no overview for study {study!r}")


# --------------------------------------------------------------------------------------------------- tables

def _present(ds: xr.Dataset, keys) -> list[str]:
    """The keys a results file holds (files written before a field existed lack it)."""
    return [k for k in keys if k in ds]


def pca_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per series: components for 50 / 90 / 99 % of the variance and the curve's mean (unit-variance latents), the
    same on the raw latents, the mean ||x_T||^2 / d (amplitude), latents and failed ones."""
    keys = _present(ds, ("k50", "k90", "k99", "auc", "k90_raw", "auc_raw", "mean_norm_ratio", "n", "nonfinite"))
    same = set(raw_same(ds))
    return pd.DataFrame({k: ds[k].values for k in keys if k not in same},
                        index=pd.Index(ds["series"].values, name="series"))


def raw_same(ds: xr.Dataset) -> list[str]:
    """The raw-latent columns (k90_raw, auc_raw) that equal their unit-variance column in every row at the shown
    precision (k90 exactly, AUC to 3 decimals): the PCA table leaves them out and ``raw_note`` says so."""
    out = []
    for raw, base, digits in (("k90_raw", "k90", 0), ("auc_raw", "auc", 3)):
        if raw in ds and base in ds and np.array_equal(np.round(np.asarray(ds[raw].values, float), digits),
                                                       np.round(np.asarray(ds[base].values, float), digits)):
            out.append(raw)
    return out


def raw_note(ds: xr.Dataset) -> str:
    """One sentence for the raw-latent columns the PCA table leaves out as equal to the unit-variance ones; ''."""
    same = raw_same(ds)
    if not same:
        return ""
    what = " and ".join("k90" if k == "k90_raw" else "AUC" for k in same)
    return (f"The PCA of the latents as inverted (not scaled to unit variance) gives the same {what} as the table's "
            f"in every row, so the table does not repeat {'it' if len(same) == 1 else 'them'}.")


def gaussianity_table(ds: xr.Dataset) -> pd.DataFrame:
    """The KS test per method with norm_z and the norms' sd ratio beside it, and a reference row of Gaussian noise
    (one draw of the same number and size of latents) with every column: its S_G and p-value as stored, D_KS = 1 − S_G
    (Eq. 33), and the norm columns from its stored ‖x_T‖²/d as the methods' are computed (z_mean = norm_z / √n)."""
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


def failure_modes_text(ds: xr.Dataset, alpha: float = 0.05) -> str:
    """Markdown: for each method the KS test rejects (p < alpha), whether its norms are off in scale (|norm_z| > 2:
    the mean ‖x_T‖²/d beyond two standard errors from 1), in spread (sd ratio outside the range n Gaussian latents
    reach with probability 1 − alpha), both, or neither of the two alone; empty when nothing is rejected or the
    per-latent norms are not stored."""
    if not {"ks_p", "norm_z", "norm_ratio"} <= set(ds.variables) or "d" not in ds.attrs:
        return ""
    d = int(ds.attrs["d"])
    groups: dict[str, list[str]] = {}
    lo = hi = None
    for m in [str(v) for v in ds["method"].values]:
        if not float(ds["ks_p"].sel({"method": m})) < alpha:
            continue
        r = ds["norm_ratio"].sel({"method": m}).values
        n = int(np.isfinite(r).sum())
        if n < 3:
            continue
        lo, hi = sd_ratio_range(n, alpha)
        sd = norm_sd_ratio(r, d)
        z = float(ds["norm_z"].sel({"method": m}))
        scale = abs(z) > 2
        spread = "narrower" if sd < lo else "wider" if sd > hi else ""
        mode = ("scale and spread" if scale and spread else "scale only" if scale else
                "spread only, the mean within two standard errors of 1" if spread else
                "neither alone (the shape of the norms' distribution)")
        groups.setdefault(mode, []).append(f"{m} ({NORM_Z} {_signed(z, 1)}, sd ratio {sd:.2f}"
                                           + (f", {spread} than χ²(d))" if spread else ")"))
    if not groups:
        return ""
    items = " ".join(f"{mode[0].upper()}{mode[1:]}: {', '.join(ms)}." for mode, ms in groups.items())
    return (f"The KS test (p < {alpha:g}) rejects a set whose norms are off in scale (mean ‖x_T‖²/d away from 1, "
            f"read from the {NORM_Z}) or in spread (the sd of ‖x_T‖²/d against χ²(d)/d's √(2/d), the sd ratio, outside "
            f"{lo:.2f} to {hi:.2f}, where n Gaussian latents fall 95 % of the time). Which applies, per rejected "
            f"method: {items}")


def decorrelation_table(ds: xr.Dataset) -> pd.DataFrame:
    """Mean S_DC (unit-variance latents) and flagged share per method, the raw form's mean S_DC and the mean
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


# ------------------------------------------------------------------------------------------------- verdicts

def _verdict_pca(ds: xr.Dataset) -> str:
    """The paper's claim, our k90s and AUCs (means of the cumulative explained-variance curves); the verdict is the claims page's (its three-way rule
    on the paired subsample differences of k90), so the chapter and the claims page cannot disagree."""
    k = {str(s): int(v) for s, v in zip(ds["series"].values, ds["k90"].values)}
    a = {str(s): float(v) for s, v in zip(ds["series"].values, ds["auc"].values)}
    inv = [s for s in k if s != "gaussian"]
    txt = (f"The paper claims (Fig. 3) that inverted latents concentrate their variance in few principal components, "
           f"unlike Gaussian noise, and more so for sparser inputs. Our numbers ({int(ds['n'].values[-1])} latents): "
           f"components for 90 % of the variance: Gaussian {k['gaussian']}, " + ", ".join(f"{s} {k[s]}" for s in inv)
           + f"; AUC ({_auc_reference(ds, a)}): "
           + ", ".join(f"{s} {a[s]:.3f}" for s in inv) + f" ({_trained_at(ds)}).")
    claims = _on_the_claims_page(ds)
    return txt + claims + (k90_subsample_note(ds) if claims else "")


def k90_subsample_note(ds: xr.Dataset) -> str:
    """Markdown: the claims page's k90 differences are over subsamples of m of the series' latents, so its k90s (the
    draws' means, given) are not the table's, computed on all of them; '' without draws or when m is all of them."""
    if "k90_draws" not in ds or "k90_subsample" not in ds.attrs:
        return ""
    m, n = int(ds.attrs["k90_subsample"]), int(ds["n"].values.min())
    if m >= n:
        return ""
    means = ", ".join(f"{series_name(s)} {v:.1f}" for s, v in zip(ds["series"].values.tolist(),
                                                     ds["k90_draws"].mean("draw").values.tolist()))
    return (f"\n\nThese k90 differences are over {ds.sizes['draw']} subsamples of {m} of the {n} latents of each "
            f"series (the same positions in every series), so they are not differences of the table's k90, which "
            f"uses all {n}: fewer latents need fewer components. The subsamples' mean k90: {means}.")


def _auc_reference(ds: xr.Dataset, auc: dict) -> str:
    """What the AUC (the mean of the cumulative explained-variance curve) is read against: the value of variance spread evenly over the curve's m
    components, 0.5 + 1/(2m), and Gaussian noise of the same count and dimension (which lies above it: a finite
    sample of noise does not spread its variance evenly)."""
    m = int(ds["n_components"].values.max()) if "n_components" in ds else int(ds.sizes.get("component", 0))
    even = f"variance spread evenly over the {m} components gives 0.5 + 1/(2 × {m}) = {uniform_auc(m):.3f}" if m else ""
    gauss = (f"Gaussian noise of the same count and dimension {auc['gaussian']:.3f}, the reference"
             if "gaussian" in auc else "")
    return "; ".join(x for x in (even, gauss) if x)


def _on_the_claims_page(ds: xr.Dataset) -> str:
    """The claims page's verdicts on this chapter's results (its rule reads only the DDIM series), after a blank line;
    '' when no claim reads them."""
    from ..studies.claims import chapter_claims, findings_markdown

    found = chapter_claims(ds)
    if not found:
        return ""
    text, data = findings_markdown(found), str(ds.attrs.get("dataset", ""))
    text = re.sub(r"\bgaussian\b", "Gaussian", text)            # the reference's name, as the chapter writes it
    text = unsigned_zero(text)                                  # an interval bound of zero carries no sign
    if data and data != data.capitalize():                      # a dataset's name keeps its case at a sentence start
        text = text.replace(data.capitalize(), data)
    return "\n\nThe claims page judges the same results by its rule:\n\n" + text


def _paired_latents(a, b, stat, *, n_boot: int = 2000, seed: int = 0):
    """stat(a) - stat(b) for per-latent values of two methods on the same inputs (latent i of each inverts crop i),
    with a paired percentile bootstrap interval over the latents (95 %; pairs with a NaN dropped)."""
    from ..metrics.intervals import Interval

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if len(a) < 2:
        return Interval(np.nan, np.nan, np.nan, len(a))
    idx = np.random.default_rng(seed).integers(0, len(a), size=(n_boot, len(a)))
    diffs = np.array([stat(a[i]) - stat(b[i]) for i in idx])
    lo, hi = np.quantile(diffs, [0.025, 0.975])
    return Interval(float(stat(a) - stat(b)), float(lo), float(hi), len(a))


def _signed(x: float, digits: int, plus: str = "") -> str:
    """A number with a true minus sign (−0.636), and a leading + when ``plus`` is "+". A nonzero number that rounds
    to zero keeps its first significant digit (−0.0004), up to ``EXTRA_DIGITS`` more decimals; below that it reads
    0 with no sign (never −0.000)."""
    x = float(x)
    need = _digits(x, digits)
    if need is None:
        return f"{0.0:.{digits}f}"
    return f"{x:{plus}.{need}f}".replace("-", "−")


def _digits(x: float, digits: int) -> int | None:
    """Decimals that show ``x`` nonzero: ``digits``, more for a small nonzero number (up to ``EXTRA_DIGITS`` more);
    None when it rounds to zero even then."""
    if not np.isfinite(x) or round(x, digits) != 0:
        return digits
    return next((k for k in range(digits + 1, digits + EXTRA_DIGITS + 1) if round(x, k) != 0), None)


EXTRA_DIGITS = 3   # decimals _signed adds to keep a small nonzero number's sign and first digit


def _verdict_gaussianity(ds: xr.Dataset) -> str:
    import scipy.stats

    from ..metrics.intervals import MIN_EFFECT

    m = [str(v) for v in ds["method"].values]
    sg = dict(zip(m, ds["s_g"].values.tolist()))
    nr = dict(zip(m, ds["mean_norm_ratio"].values.tolist()))
    txt = ("The paper claims (Fig. 7, Table 1) that deterministic DDIM latents fail the χ²(d) test on ‖x_T‖² "
           "while stochastic or x₀-predicting inversions come closer (S_G higher). "
           f"Our numbers (d = {ds.attrs['d']}): S_G " + ", ".join(f"{k} {sg[k]:.3f}" for k in m)
           + "; mean ‖x_T‖²/d " + ", ".join(f"{k} {nr[k]:.3f}" for k in m)
           + f" (Gaussian noise: S_G {float(ds.attrs['gaussian_s_g']):.3f}).")
    nz = dict(zip(m, ds["norm_z"].values.tolist())) if "norm_z" in ds else {}
    if nz:
        txt += f" {NORM_Z.capitalize()} (0 ± 1 under N(0, I)) " + ", ".join(f"{k} {_signed(nz[k], 1)}" for k in m) + "."
    others = [k for k in ("taba", "edm") if k in sg]
    if "ddim" not in sg or not others or "norm_ratio" not in ds:
        return txt
    d = int(ds.attrs["d"])

    def s_g(r):  # S_G of per-latent norm ratios ||x||^2 / d
        return 1 - scipy.stats.kstest(r * d, "chi2", args=(d,)).statistic

    def abs_z(r):
        return abs(float(np.mean(r * d)) - d) / math.sqrt(2 * d / len(r))

    ratio = {k: ds["norm_ratio"].sel({"method": k}).values for k in ["ddim", *others]}
    parts = []
    for k in others:
        ci = _paired_latents(ratio["ddim"], ratio[k], s_g)
        said = judged_text(f"S_G ddim − {k}", ci, MIN_EFFECT["s_g"], higher=False)
        n = ci.n
        if said.endswith("inconclusive") and n > 0 and s_g_tie(sg["ddim"], sg[k], n):
            # both within the KS resolution (saturated): |norm_z| (about N(0, 1) for noise) still orders them
            said += (f". The two lie within the KS resolution at n = {n} ({ks_resolution(n):.3f}), so by |{NORM_Z}|: "
                     + judged_text(f"|{NORM_Z}| ddim − {k}", _paired_latents(ratio["ddim"], ratio[k], abs_z), 1.0,
                               higher=True))
        parts.append(said)
    modes, end = failure_modes_text(ds), overall(p.rsplit(": ", 1)[1] for p in parts)
    return (txt + " The claim's check: DDIM further from N(0, I) than " + " and ".join(o.upper() for o in others)
            + ". Further means a lower S_G, by the paired interval over latents. Where the two S_G lie within the KS "
            f"test's resolution, it means a larger |{NORM_Z}| instead: by more than 1 on average (the {NORM_Z} is "
            "about N(0, 1) for Gaussian noise), with the paired interval above 0. "
            + " ".join(f"{p}." for p in parts) + f" Overall (the claim holds only when all its checks hold): {end}."
            + (f"\n\n{modes}" if modes else ""))


def _verdict_decorrelation(ds: xr.Dataset) -> str:
    from ..metrics.intervals import MIN_EFFECT, paired_ci
    from ..studies.verdicts import correlation_verdict, fisher_interval

    m = [str(v) for v in ds["method"].values]
    dc = dict(zip(m, ds["s_dc"].mean("latent").values.tolist()))
    g, c = ds["run_s_g"].values, ds["run_s_dc"].values
    keep = np.isfinite(g) & np.isfinite(c)
    pts = np.unique(np.stack([g[keep], c[keep]], 1), axis=0) if keep.any() else np.zeros((0, 2))  # repeats once
    ok = len(pts) > 2 and np.std(pts[:, 0]) > 0 and np.std(pts[:, 1]) > 0
    r = float(np.corrcoef(pts[:, 0], pts[:, 1])[0, 1]) if ok else np.nan
    lo, hi = fisher_interval(r, len(pts))
    txt = ("The paper claims (Sec. 4, Fig. 8, Fig. 14) that DDIM latents hold spatially correlated patches (low "
           "S_DC in the tables' convention) and that S_DC and S_G are strongly positively correlated. "
           "Our numbers: mean S_DC " + ", ".join(f"{k} {dc[k]:.3f}" for k in m)
           + f"; Pearson r(S_G, S_DC) over {len(pts)} distinct runs "
           + (f"= {_signed(r, 2)} [{_signed(lo, 2)}, {_signed(hi, 2)}] (95 % Fisher-z interval)" if np.isfinite(r)
              else "undefined (fewer than three runs, or one of the two is constant)"))
    verdicts = []
    for k in ("taba", "edm"):
        if "ddim" in dc and k in dc:
            ci = paired_ci(ds["s_dc"].sel({"method": "ddim"}).values, ds["s_dc"].sel({"method": k}).values)
            verdicts.append("DDIM below " + k.upper() + ": " + judged_text(f"S_DC ddim − {k}", ci, MIN_EFFECT["s_dc"],
                                                                       higher=False))
    verdicts.append("strong positive correlation (holds when r is at least 0.5 and its interval lies above 0, does not "
                    "hold when the whole interval lies below 0.5, inconclusive otherwise): "
                    f"{correlation_verdict(r, lo, hi, 1, 0.5)}" if np.isfinite(r) else "correlation undefined")
    from .metric_validation import units_text

    return txt + ". " + "; ".join(verdicts) + ". " + units_text("decorrelation")


def _verdict_velocity(ds: xr.Dataset) -> str:
    from .velocity import velocity_verdict  # velocity.py reads this module's summary

    return velocity_verdict(ds)


def _verdict_metric_validation(ds: xr.Dataset) -> str:
    from .metric_validation import metric_validation_verdict

    return metric_validation_verdict(ds)


_VERDICTS = {"pca_collapse": _verdict_pca, "gaussianity": _verdict_gaussianity, "decorrelation": _verdict_decorrelation,
             "velocity": _verdict_velocity, "metric_validation": _verdict_metric_validation}


def verdict(ds: xr.Dataset) -> str:
    """The chapter's one paragraph: what the paper claims for this analysis, our numbers, agrees or not."""
    study = ds.attrs.get("study", "")
    if study not in _VERDICTS:
        raise ValueError(f"no verdict for study {study!r}; valid: {', '.join(_VERDICTS)}")
    return _VERDICTS[study](ds)
