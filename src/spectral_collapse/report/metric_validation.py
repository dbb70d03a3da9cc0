"""What the metric-validation chapter says (paper App. B.4, Figs. 9, 11–12, 14): the spectrum slopes and the wavelet
they pick, S_HF of Fourier-filtered real images, the points the metrics' correlations run over, which image metrics
could be computed, and the verdict paragraph.

A correlation the paper calls strong is read by the claims' three-way rule (``studies.verdicts.correlation_verdict``:
r beyond 0.5 with a Fisher-z interval excluding 0 holds, an interval wholly short of 0.5 does not hold, else
inconclusive) over one point per distinct method, as the claims page counts them. A metric that is 1 minus another on
every run (S_G and the KS distance D_KS) is shown once, with the relation said once (``complements``).
"""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import xarray as xr

from ..metrics.spectral import wavelet_order
from ..studies.metric_validation import POINT_HEADERS, complements, metric_points
from .metric_validation_words import correlation_points, pixel_scale, plain_outputs, runs_text  # noqa: F401  (imported from here)

__all__ = ["slope_table", "filter_table", "metric_points", "POINT_HEADERS", "correlation_points", "complements",
           "complements_text", "metric_status", "metric_validation_verdict", "band_used", "band_text",
           "points_note", "filters_text", "settings_table", "software_note", "fid_text", "correlations_text",
           "SHOWN_CORRELATIONS", "units_text", "reference_energy", "saturation_text", "UNFILTERED", "pixel_scale",
           "runs_text", "plain_outputs"]


def reference_energy(mu_hf: float) -> str:
    """The texture score's reference log energy μ_HF as every page prints it: two decimals, the precision at which
    it moves S_HF = 1 − |log E_HF − μ_HF| / μ_HF by less than a thousandth (the scores' own last digit)."""
    return f"{float(mu_hf):.2f}"


def _agrees(flag: bool) -> str:
    return "agrees" if flag else "does not agree"


def slope_table(ds: xr.Dataset) -> pd.DataFrame:
    """Spectrum slope per domain and the wavelet sym⌈|slope|⌉ it picks."""
    return pd.DataFrame({"slope": ds["slope"].values,
                         "wavelet sym⌈|slope|⌉": [wavelet_order(s) for s in ds["slope"].values]},
                        index=pd.Index(ds["domain"].values, name="domain"))


UNFILTERED = "none (unfiltered)"   # the filter table's first row: the held-out images as they are


def filter_table(ds: xr.Dataset) -> pd.DataFrame:
    """Mean S_HF of the filtered held-out images: cutoffs κ as rows (named in words, not by the key ``kappa``), the
    two filters as columns, in one header row; a first row ``UNFILTERED`` gives the same images unfiltered (the mean
    of ``unfiltered_s_hf``, the value the verdict reads the filters against) in both columns."""
    t = ds["filtered_s_hf"].mean("held_out").to_dataframe().reset_index()
    t["filter"] = t["filter"].map({"lowpass": "low-pass (HF removed)", "highpass": "high-pass (LF removed)"})
    out = t.pivot(index="kappa", columns="filter", values="filtered_s_hf")
    if "unfiltered_s_hf" in ds:
        base = float(ds["unfiltered_s_hf"].mean())
        out = pd.concat([pd.DataFrame({c: [base] for c in out.columns}, index=[UNFILTERED]), out])
    # one header row: the cutoffs' header in its corner (the columns' name), the filters beside it
    out.index.name, out.columns.name = None, "cutoff κ (fraction of Nyquist)"
    return out


# what a header of the points table means, for the headers no glossary entry names (said under the table)
POINT_GLOSSES = {"Δlog E_HF": "the signed texture error log E_HF − μ_HF (negative: smoother than real images)",
                 "S_LF (truth)": "S_LF against the ground truth instead of the degraded input",
                 "‖x_T‖²/d": "the latents' mean squared norm per dimension (1 for Gaussian noise)"}


def band_used(ds: xr.Dataset) -> tuple[float, float, int]:
    """(lowest, highest, count) of the stored spectrum's frequencies the slope was fitted over: the nonzero ones
    inside the requested band (``attrs['band']``), as ``studies.metric_validation._spectrum`` selects them."""
    lo, hi = (float(v) for v in np.ravel(ds.attrs["band"]))
    f = np.asarray(ds["freq"].values, dtype=float)
    sel = f[(f > 0) & (f >= lo) & (f <= hi)]
    return (float(sel.min()), float(sel.max()), int(sel.size)) if sel.size else (float("nan"), float("nan"), 0)


def band_text(ds: xr.Dataset) -> str:
    """The band the slope was fitted over, in words: the frequencies actually used, and the requested band they
    come from (a band reaching below the crops' lowest frequency is cut there)."""
    lo, hi, n = band_used(ds)
    req = [float(v) for v in np.ravel(ds.attrs["band"])]
    low = float(np.asarray(ds["freq"].values)[np.asarray(ds["freq"].values) > 0].min())
    cut = (f"; the requested lower end {req[0]:g} lies below the lowest frequency these {ds.sizes.get('x', '')}-pixel "
           f"crops resolve ({low:.3f})" if req[0] < low else "")
    return (f"The slope is fitted over {lo:.3f} to {hi:.3f} cycles/pixel, the {n} frequencies of the radially "
            f"averaged spectrum inside the requested band [{req[0]:g}, {req[1]:g}]{cut}.{lowest_wavelet_text(ds)}")


def lowest_wavelet_text(ds: xr.Dataset) -> str:
    """A sentence for the slopes whose ⌈|slope|⌉ lies below the rule's lowest wavelet (``wavelet_order``'s
    ``min_order``, sym2: pywt has no sym1) and so pick that wavelet, not sym⌈|slope|⌉; '' when there are none."""
    import inspect

    if "domain" not in ds.variables or "slope" not in ds.variables:
        return ""
    lowest = int(inspect.signature(wavelet_order).parameters["min_order"].default)
    low = [(str(d), float(v)) for d, v in zip(ds["domain"].values, ds["slope"].values)
           if np.isfinite(v) and np.ceil(abs(float(v))) < lowest]
    if not low:
        return ""
    said = " and ".join(f"the {d} slope {v:.3f}".replace("-", "−") for d, v in low)
    return (f" The rule's lowest wavelet is sym{lowest} (there is no sym1), so {said} "
            f"{'picks' if len(low) == 1 else 'pick'} sym{lowest}, not sym⌈|slope|⌉.")


def value_range(values, digits: int = 3) -> str:
    """The span of ``values`` as a reader's range: an en dash between the ends, true minus signs ("0.907–0.974",
    "−0.120 – −0.050" when an end is negative, so the dash is not read as a minus); one value when they agree."""
    v = np.asarray(values, float)
    lo, hi = (f"{float(x):.{digits}f}".replace("-", "−") for x in (np.nanmin(v), np.nanmax(v)))
    if lo == hi:
        return lo
    return f"{lo} – {hi}" if "−" in lo + hi else f"{lo}–{hi}"


def filters_text(ds: xr.Dataset) -> str:
    """The stored description of the Fourier filters, typeset: 'lowpass keeps |omega| <= kappa * 0.5' ->
    'low-pass keeps |ω| ≤ κ × 0.5'."""
    text = str(ds.attrs.get("filters", ""))
    for a, b in (("lowpass", "low-pass"), ("highpass", "high-pass"), ("omega", "ω"), ("kappa", "κ"), ("<=", "≤"),
                 (" * ", " × "), ("cycles/px", "cycles/pixel")):
        text = text.replace(a, b)
    return text


# computed on the main results' stored outputs (the first seed's run), not over each run's test crops
_STORED_OUTPUT_METRICS = ("ms_ssim", "haarpsi", "lpips", "fid", "kid")


def points_note(ds: xr.Dataset, main: xr.Dataset | None = None) -> str:
    """What each column of ``correlation_points`` averages: the crop metrics over each run's test crops (their
    count from ``main``, the main results, when given), the image metrics over the stored outputs
    (``attrs['image_metrics']``); '' without points."""
    if ds.sizes.get("point", 0) == 0:
        return ""
    shown = correlation_points(ds)
    img = [POINT_HEADERS.get(k, k) for k in _STORED_OUTPUT_METRICS if POINT_HEADERS.get(k, k) in shown.columns]
    sets = [POINT_HEADERS[k] for k in ("s_g",) if POINT_HEADERS[k] in shown.columns]  # one value per set of latents
    crop = [c for c in shown.columns if c not in img and c not in sets]
    n = ""
    if main is not None and "sample" in main.dims:
        n = (f" ({main.sizes['sample']} crops per seed, {main.sizes.get('seed', 1)} seeds)")
    glossed = [f"{h}: {POINT_GLOSSES[h]}" for h in shown.columns if h in POINT_GLOSSES]
    said = (f"Each row is the mean of its method's runs{' (' + '; '.join(glossed) + ')' if glossed else ''}. "
            f"{', '.join(crop)}: means over each run's test crops{n}.")
    if sets:
        said += f" {', '.join(sets)}: one value per run, over the latents of its test crops."
    if img:
        said += (f" {', '.join(img)}: {plain_outputs(ds.attrs.get('image_metrics', 'on the output images'))}, so "
                 "they average fewer "
                 "images than the other columns.")
    return said


def settings_table(ds: xr.Dataset, keys) -> pd.DataFrame:
    """The chapter's settings table (``report.settings.settings_table``) with the band as fitted (``band_used``) and the
    filters typeset (``filters_text``)."""
    from .settings import settings_table as settings

    table = settings(ds, keys)
    if "band" in table.index:
        lo, hi, n = band_used(ds)
        table.loc["band", "value"] = (f"{lo:.3f} to {hi:.3f} cycles/pixel ({n} frequencies; requested "
                                      f"{', '.join(f'{float(v):g}' for v in np.ravel(ds.attrs['band']))})")
    if "filters" in table.index:
        table.loc["filters", "value"] = filters_text(ds)
    if "fid" in table.index:
        table.loc["fid", "value"] = plain_outputs(fid_text(ds))
    if "image_metrics" in table.index:
        table.loc["image_metrics", "value"] = plain_outputs(str(table.loc["image_metrics", "value"]))
    if "correlations" in table.index:
        table.loc["correlations", "value"] = correlations_text(ds)
    return table


# the correlation coefficients the chapter shows (heat map, verdict): the results also store Spearman's
SHOWN_CORRELATIONS = ("Pearson",)


def correlations_text(ds: xr.Dataset, shown=SHOWN_CORRELATIONS) -> str:
    """The settings row of the correlations, naming only the coefficients the page shows (``shown``): the stored
    text names every coefficient the results hold ("Pearson and Spearman over ...")."""
    text = str(ds.attrs.get("correlations", ""))
    m = re.match(r"(?P<names>[A-Z][a-z]+(?:(?:, | and )[A-Z][a-z]+)*) over (?P<rest>.*)", text)
    if not m:
        return text
    names = [n for n in re.split(r", | and ", m.group("names")) if n in shown]
    return f"{' and '.join(names) or m.group('names')} over {m.group('rest')}"


def fid_text(ds: xr.Dataset) -> str:
    """The settings row of FID / KID: what they would measure, and, when they were not computed (their network
    missing, ``metrics.weights.is_unavailable``), that they were not computed here and why (``plain_status``)."""
    from ..metrics.weights import is_unavailable, plain_status

    what = str(ds.attrs.get("fid", "")).rstrip(".")
    status = ds.attrs.get("fid_status")
    if not is_unavailable(status):
        return what
    why = plain_status(status)
    why = why.split(":", 1)[1].strip() if why.startswith("not computed:") else why
    what = re.sub(r"^FID / KID of ", "", what)
    return f"not computed here: {why}; they would score {what}" if what else f"not computed here: {why}"


def software_note(ds: xr.Dataset, main: xr.Dataset | None) -> str:
    """Markdown: when this chapter's results and the main results it reads were computed with different software
    (``report.seeds.software``: the packages recorded in attrs ``versions``), both; '' when they agree or ``main``
    is None."""
    from .seeds import software

    if main is None or software(ds) == software(main):
        return ""
    here, there = (" and ".join(f"{n} {v}" for n, v in software(d).items()) for d in (ds, main))
    return (f"These results were computed with {here}; the main results they read (the points of the correlations "
            f"and the output images) with {there}.")


# What a metric left out as another's complement is, for the sentence that says the relation.
_DEFINED = {"ks_d": "Eq. 33"}   # the paper's equation for the relation (S_G = 1 − D_KS)
_MEANING = {"ks_d": "the one-sample Kolmogorov–Smirnov statistic of the latents' ‖x_T‖² against χ²(d), Eq. 32"}


def complements_text(ds: xr.Dataset) -> str:
    """Markdown: the metrics shown once because one is 1 minus the other on every run (``complements``), with the
    relation said once ("S_G = 1 − D_KS on every run ..."); '' when there are none or no points are stored."""
    if not {"points", "point_method", "metric"} <= set(ds.variables) or ds.sizes.get("point", 0) == 0:
        return ""
    twins = complements(metric_points(ds))
    if not twins:
        return ""
    said = "; ".join(f"{POINT_HEADERS.get(k, k)} = 1 − {POINT_HEADERS.get(d, d)}"
                     + (f" ({_DEFINED[d]}; {POINT_HEADERS.get(d, d)}: {_MEANING[d]})" if d in _MEANING else "")
                     for d, k in twins.items())
    gone = ", ".join(POINT_HEADERS.get(d, d) for d in twins)
    return (f"{said} on every run, so the two are one quantity under two names: the table and the heat map show "
            f"{', '.join(dict.fromkeys(POINT_HEADERS.get(k, k) for k in twins.values()))} only, and {gone} "
            f"(whose correlations are the same with the sign flipped) is left out.")


def metric_status(ds: xr.Dataset) -> str:
    """Which image metrics could be computed (a Markdown list): LPIPS, FID / KID and the MS-SSIM configuration."""
    try:
        cfg = json.loads(ds.attrs.get("ms_ssim_config", "{}")) or {}
    except (TypeError, ValueError):
        cfg = {}
    ms = (f"{cfg.get('scales')} scales, {'standard' if cfg.get('standard') else 'reduced (non-standard) configuration'}"
          if cfg else "not computed")
    from ..metrics.weights import is_unavailable, offline_note, plain_status

    stored = {"LPIPS": ds.attrs.get("lpips_status"), "FID / KID": ds.attrs.get("fid_status")}
    note = offline_note(stored)
    return ("".join(f"- {m}: {'not computed (below)' if is_unavailable(r) else plain_status(r)}\n"
                    for m, r in stored.items()) + f"- MS-SSIM: {ms}\n"
            + (f"\n{note}\n" if note else ""))


def _corr(ds, a, b) -> float:
    if a in ds["metric_a"].values and b in ds["metric_b"].values:
        return float(ds["pearson"].sel(metric_a=a, metric_b=b))
    return float("nan")


def _strong_correlation(ds: xr.Dataset, a: str, b: str) -> tuple[str, str | None]:
    """Pearson r of ``a`` and ``b`` with its 95 % Fisher-z interval and the claims' three-way verdict on "strongly
    positively correlated" (``verdicts.correlation_verdict``: r >= 0.5 with the interval above 0 holds, the interval
    wholly below 0.5 does not hold, else inconclusive): (numbers in words, verdict; None when r is undefined).

    Over one point per distinct method, the mean of its seeds' runs (methods with the same values, coinciding ones,
    once), as the claims page counts them; results without per-run points give the stored r over their runs."""
    from ..studies.verdicts import correlation_verdict, fisher_interval

    name = f"r({a.upper()}, {b.upper()})"
    per = _per_method(ds, a, b)
    if per is not None:
        ok = len(per) >= 3 and per[a].nunique() > 1 and per[b].nunique() > 1
        r = float(np.corrcoef(per[a], per[b])[0, 1]) if ok else float("nan")
        n, unit = len(per), "distinct methods"
    else:
        r, n, unit = _corr(ds, a, b), int(ds.sizes.get("point", 0)), "runs"
    if not np.isfinite(r):
        return f"{name} = undefined (a metric missing or constant)", None
    lo, hi = fisher_interval(r, n)
    said = f"{name} = {r:+.2f} [{lo:+.2f}, {hi:+.2f}] over {n} {unit}".replace("-", "−")
    return said, correlation_verdict(r, lo, hi, +1, 0.5)


def _per_method(ds: xr.Dataset, a: str, b: str) -> pd.DataFrame | None:
    """The points ``_strong_correlation`` correlates ``a`` and ``b`` over: one row per distinct method (the mean of
    its seeds' runs, methods with the same values once), both finite; None without per-run points."""
    if not ({"points", "point_method", "metric"} <= set(ds.variables) and {a, b} <= set(map(str, ds["metric"].values))):
        return None
    pts = metric_points(ds)[["method", a, b]]
    pts = pts[np.isfinite(pts[a].astype(float)) & np.isfinite(pts[b].astype(float))]
    return pts.groupby("method")[[a, b]].mean().round(12).drop_duplicates()


# the scores that live in [0, 1] (S = 1 − a distance or a share): a point at either end is at the score's bound
BOUNDED = ("s_g", "s_dc", "s_hf")
BOUND_DIGITS = 3   # a point within half a unit of this decimal of 0 or 1 sits at the bound (the table shows 0.000 / 1.000)


def saturation_text(ds: xr.Dataset, pairs=(("s_dc", "s_g"), ("s_hf", "s_dc"))) -> str:
    """A sentence per correlation the verdict reads whose points pile up at a bound of a score in [0, 1]
    (``BOUNDED``): how many of the points sit at 0 or 1 (at the table's ``BOUND_DIGITS`` decimals), and that r over
    such an axis says little (it mostly tells the points at the bound from the rest). Flagged when at least two
    points and a quarter of them sit there; '' when none does."""
    said = []
    tol = 0.5 * 10.0 ** -BOUND_DIGITS
    for a, b in pairs:
        per = _per_method(ds, a, b)
        if per is None or len(per) < 3:
            continue
        for m in (a, b):
            if m not in BOUNDED:
                continue
            v = per[m].astype(float).to_numpy()
            at = {end: int(np.sum(np.abs(v - end) < tol)) for end in (0, 1)}
            k = sum(at.values())
            if k >= 2 and k >= len(v) / 4:
                ends = " and ".join(f"{n} at {end:.{BOUND_DIGITS}f}" for end, n in at.items() if n)
                said.append(f"{k} of the {len(v)} points of r({a.upper()}, {b.upper()}) sit at a bound of "
                            f"{m.upper()} ({ends}): over an axis where that many points "
                            f"are tied at its end, r mostly tells those points from the rest and says little about "
                            f"how {m.upper()} and {(b if m == a else a).upper()} vary together.")
    return " ".join(said)


# The fixed rules the verdict's "agrees" is judged by (App. B.4 gives none): S_HF is insensitive to low frequencies
# when removing them moves the mean S_HF of the held-out images by less than _STABLE at every cutoff, and sensitive to
# high frequencies when removing them lowers it by more than _DROPS at one cutoff at least.
_STABLE, _DROPS = 0.1, 0.2


def metric_validation_verdict(ds: xr.Dataset) -> str:
    """The chapter's paragraph: the paper's claims (App. B.4), our slope, filtered S_HF and correlations, and whether
    each agrees, by a rule the paragraph states: the slope by the wavelet sym⌈|slope|⌉ it picks, the filters by
    ``_STABLE`` and ``_DROPS``, the correlations by the claims' three-way rule."""
    slope = float(ds["slope"].sel(domain="target"))
    low = ds["filtered_s_hf"].sel(filter="lowpass").mean("held_out")
    high = ds["filtered_s_hf"].sel(filter="highpass").mean("held_out")
    # the differences of the values as the filter table shows them (three decimals), so the prose's number is the
    # difference a reader computes from the table
    base = round(float(ds["unfiltered_s_hf"].mean()), 3)
    moved = float(np.abs(np.round(high.values, 3) - base).max())
    fell = base - round(float(low.min()), 3)
    stable, drops = moved < _STABLE, fell > _DROPS
    if ds.sizes.get("point", 0) == 0:
        corr = (f"the correlations are missing ({ds.attrs.get('correlations', 'no main results')})",
                "strong positive correlations: not tested (no main results)")
    else:
        (t1, v1), (t2, v2) = _strong_correlation(ds, "s_dc", "s_g"), _strong_correlation(ds, "s_hf", "s_dc")
        per = "; a method's point is the mean of its seeds' runs" if "distinct methods" in t1 + t2 else ""
        corr = (f"{t1}, {t2} (95 % Fisher-z intervals{per})",
                "strong positive correlations by the claims' rule (r beyond 0.5 with the interval above 0; a "
                "whole interval below 0.5 does not hold, anything else is inconclusive): "
                f"S_DC with S_G {v1}, S_DC with S_HF {v2}" if v1 and v2 else
                "strong positive correlations: not tested (a correlation is undefined)")
    return ("The paper claims (App. B.4, Figs. 9, 11–12, 14) that real images have spectrum slopes near −3.5 "
            "(hence sym4), that S_HF stays stable when low frequencies are removed and drops when high frequencies "
            "are removed, and that S_DC correlates strongly with S_G and with S_HF. "
            f"Our numbers: {_slopes_text(ds)}; S_HF of unfiltered held-out real images "
            f"{base:.3f}, with low frequencies removed {value_range(high)}, with high "
            f"frequencies removed {value_range(low)}; {corr[0]}. "
            + (f"{saturation_text(ds)} " if ds.sizes.get("point", 0) and saturation_text(ds) else "")
            + f"Slope near the paper's −3.5, judged by the wavelet it picks (our target slope picks "
            f"{wavelet_order(slope)}, the paper's {wavelet_order(-3.5)}): "
            f"{_agrees(wavelet_order(slope) == wavelet_order(-3.5))}. "
            f"S_HF insensitive to low frequencies, judged by removing them changing the mean S_HF by less than "
            f"{_STABLE:g} at every cutoff (the largest change here is {moved:.3f}): {_agrees(stable)}. S_HF sensitive "
            f"to high frequencies, judged by removing them lowering it by more than {_DROPS:g} at one cutoff at least "
            f"(the largest drop here is {fell:.3f}): {_agrees(drops)}. {corr[1][0].upper()}{corr[1][1:]}."
            + (f" {units_text('metric_validation')}" if ds.sizes.get("point", 0) else ""))


def _slopes_text(ds: xr.Dataset) -> str:
    """The spectrum slopes as the slope table gives them, each named by its domain with the wavelet it picks: the
    target images' first (the one the verdict reads), then the other domains' ("target slope −2.67 (sym3), source
    slope −0.597 (sym2)")."""
    doms = [str(d) for d in ds["domain"].values]
    order = sorted(doms, key=lambda d: d != "target")
    return ", ".join(f"{d} slope {float(ds['slope'].sel(domain=d)):.3f} "
                     f"({wavelet_order(float(ds['slope'].sel(domain=d)))})".replace("-", "−") for d in order)


# What each chapter that judges "S_DC correlates strongly with S_G" correlates: its units, and the other chapter's
_UNITS = {"metric_validation": "the method means of the main results (one point per distinct method, the mean of its "
                               "seeds' runs)",
          "decorrelation": "the inversion runs of its scatter (one point per run: its set of latents' S_G and mean "
                           "S_DC)"}


def units_text(study: str) -> str:
    """One sentence for a chapter judging "S_DC correlates strongly with S_G": which units it correlates, and that
    the other chapter (named by its title, ``studies.registry``) correlates the other units, so the two verdicts on
    the one claim may differ."""
    from ..studies.registry import get_study

    other = next(k for k in _UNITS if k != study)
    return (f"This chapter correlates S_DC with S_G over {_UNITS[study]}; the chapter "
            f"\u201c{get_study(other).title}\u201d correlates them over {_UNITS[other]}"
            ", so the two chapters' verdicts on the same claim can differ.")
