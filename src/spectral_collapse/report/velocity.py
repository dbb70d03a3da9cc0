"""What the spectral-velocity chapter says (paper App. E.2, Fig. 17): its verdict and where the heatmaps run above 0.

The heatmaps show log10 of the radially averaged power of the updates z_{i+1} − z_i, against unit white noise (power
1 in every bin, log 0). The study stores that power averaged over its few test inputs, not each input's, so every
reading here is one of means with no interval, and says so (``means_note``: "means of 4 inputs, no interval"), as
the Pareto verdicts do. Formulas in the prose are typeset as maths (TeX between dollar signs). Two readings follow
from the results:

- ``velocity_verdict``: the paper's claim that DDIM's high-frequency updates vanish as t -> T while EDM keeps and OVG
  injects update energy, judged by comparisons that can go either way: the late high-frequency level of DDIM against
  EDM's and OVG's, and how far each method's high-frequency power falls from the first to the last quarter of the
  steps (a ratio of powers, so free of the states' units). Each comparison is read on the stored means by one rule
  (``check_word``): a gap of at least ``MIN_EFFECT`` decades (a constant of the chapter) the way
  the claim says agrees, as large a gap the other way does not agree, and a smaller gap either way is inconclusive.
  The sign of the log power is reported, not judged: it
  compares a step's update with unit noise, and on the VP scale every method's steps are far smaller than that.
- ``positive_cells_text``: the cells above 0 (updates with more power than unit noise in their bin), per method: which
  steps, noise levels and frequencies, and what they are (the frequency-0 bin is the state's mean; a guided method
  against its unguided base, which tells whether OVG's drift puts the power there).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr

from ..studies.method_labels import name_methods  # methods by their reader names; `label` in code stays
from ..text import minus

__all__ = ["HF", "velocity_summary", "LATE", "SUMMARY_COLUMNS", "summary_table", "velocity_verdict", "positive_cells", "positive_cells_text",
           "vp_mean_rate", "vp_mean_rate_text", "means_note", "MIN_EFFECT", "check_word"]

HF = 0.25     # cycles/pixel: the high-frequency band of the summary table
LATE = 0.75   # the last quarter of the steps is "late", the first quarter "early"
MIN_EFFECT = 0.25   # decades of update power: the smallest gap between two means that a check reads as a difference


SUMMARY_COLUMNS = {"hf_late": "high frequencies, last quarter", "hf_early": "high frequencies, first quarter",
                   "lf_late": "low frequencies, last quarter", "min": "lowest cell (any step, any non-zero frequency)"}


def velocity_summary(ds: xr.Dataset, hf: float = 0.25, late: float = 0.75) -> pd.DataFrame:
    """Per method: mean log10 update power at frequencies >= ``hf`` (and below) over the last / first steps."""
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
    return pd.DataFrame(rows)

def summary_table(ds: xr.Dataset, hf: float = HF, late: float = LATE) -> pd.DataFrame:
    """The summary table as the chapter shows it: one row per method, the mean log10 update power of each band and
    part of the inversion under a header in words (``SUMMARY_COLUMNS``), three decimals."""
    s = velocity_summary(ds, hf=hf, late=late).set_index("method").round(3)
    return s.rename(columns=SUMMARY_COLUMNS).rename_axis("method")


def means_note(ds: xr.Dataset) -> str:
    """How far the chapter's numbers go: "means of 4 inputs, no interval" (the study keeps the power averaged over
    its test inputs, not each input's, so no interval over inputs can be drawn)."""
    n = ds.attrs.get("n_samples")
    try:
        n = int(n)
    except (TypeError, ValueError):
        return "means over the test inputs, no interval"
    return f"means of {n} input{'s' if n != 1 else ''}, no interval"


def check_word(below: float, above: float, effect: float = MIN_EFFECT) -> str:
    """The reading of one check that claims ``below`` < ``above`` (two means, in decades): "agrees" when ``below``
    lies at least ``effect`` under ``above``, "does not agree" when it lies at least ``effect`` over it, and
    "inconclusive" when the gap is smaller than ``effect`` either way."""
    gap = float(above) - float(below)
    if gap >= effect:
        return "agrees"
    if gap <= -effect:
        return "does not agree"
    return f"inconclusive (a gap under {effect:g} decades)"


def _num(v: float) -> str:
    return minus(f"{v:.2f}")


def _signed(v: float) -> str:
    return minus(f"{v:+.2f}")


def velocity_verdict(ds: xr.Dataset, hf: float = HF, late: float = LATE) -> str:
    """Markdown: the paper's claim, our numbers, and the comparisons that judge it (module docstring); the sign of
    the late high-frequency log power described, with why it separates no method."""
    s = velocity_summary(ds, hf=hf, late=late).set_index("method")
    note = means_note(ds)
    lines = [("The paper claims (App. E.2, Fig. 17) that DDIM's high-frequency updates vanish as $t \\to T$, while "
              "EDM keeps update energy and OVG injects energy that prevents the vanishing. Our numbers, the mean "
              f"$\\log_{{10}}$ power of the updates at ≥ {hf:g} cycles/pixel over the last quarter of the steps ({note}): "
              + ", ".join(f"{m} {minus(f'{v:.2f}')}" for m, v in s["hf_late"].items()) + ".")]
    checks = []
    if "ddim" in s.index:
        for other in ("edm", "ovg"):
            if other in s.index:
                checks.append(f"DDIM's late high-frequency power below {other.upper()}'s "
                              f"({_num(s.loc['ddim', 'hf_late'])} against {_num(s.loc[other, 'hf_late'])} decades): "
                              f"{check_word(s.loc['ddim', 'hf_late'], s.loc[other, 'hf_late'])}")
        fall = s["hf_late"] - s["hf_early"]
        for other in ("edm", "ovg"):
            if other in s.index:
                checks.append(f"DDIM's high-frequency power falls further from the first to the last quarter of the "
                              f"steps than {other.upper()}'s ({_signed(fall['ddim'])} against "
                              f"{_signed(fall[other])} decades): {check_word(fall['ddim'], fall[other])}")
    if checks:
        lines.append(f"Checks ({note}: the study keeps the power averaged over its test inputs, so each check is "
                     f"read on the means by one stated rule, with a minimal effect of {MIN_EFFECT:g} "
                     f"decades: a gap of at least {MIN_EFFECT:g} decades the way the claim says agrees, as large a "
                     "gap the other way does not agree, and a smaller gap is inconclusive; with no interval each "
                     "reading is indicative):\n\n" + "\n".join(f"- {c}" for c in checks))
    below = [m for m, v in s["hf_late"].items() if v < 0]
    if below:
        every = len(below) == len(s)
        levels = ", ".join(f"{m} {_num(s.loc[m, 'hf_late'])}" for m in below)
        lines.append(
            f"The paper's \"log energy well below 0\" is not judged here: $\\log_{{10}}$ power is measured against unit white "
            f"noise (0), and {'every method' if every else ', '.join(below)} stays below it late in the inversion "
            f"({levels}), as a step that moves each pixel by "
            f"much less than 1 does, whatever the method. "
            + ("The sign therefore tells no method apart; the comparisons above do."
               if every else f"{', '.join(m for m in s.index if m not in below)} "
                             f"rise{'s' if len(s) - len(below) == 1 else ''} above it: see the cells above 0 below."))
    return name_methods("\n\n".join(lines))


def positive_cells(ds: xr.Dataset) -> pd.DataFrame:
    """One row per (method, step, frequency bin) whose log10 update power is above 0, with the step's noise levels."""
    rows = []
    p = ds["log_power"].transpose("method", "step", "freq").values
    for i, m in enumerate(ds["method"].values.tolist()):
        for step, k in np.argwhere(np.nan_to_num(p[i], nan=-np.inf) > 0):
            rows.append({"method": str(m), "step": int(ds["step"].values[step]), "freq": float(ds["freq"].values[k]),
                         "bin": int(k), "log_power": float(p[i, step, k]),
                         "sigma_from": float(ds["sigma_from"].values[i, step]),
                         "sigma_to": float(ds["sigma_to"].values[i, step])})
    return pd.DataFrame(rows, columns=["method", "step", "freq", "bin", "log_power", "sigma_from", "sigma_to"])


def _base(method: str, methods) -> str | None:
    """The unguided method an OVG label adds its drift to ("ovg" -> "ddim", "ovg_edm" -> "edm"), when it was run."""
    if not method.startswith("ovg"):
        return None
    base = "ddim" if method == "ovg" else method.removeprefix("ovg_")
    return base if base in methods else None


def _steps(steps) -> str:
    steps = sorted(set(int(s) for s in steps))
    runs, start = [], steps[0]
    for a, b in zip(steps, steps[1:] + [None]):
        if b != a + 1:
            runs.append(f"{start}" if start == a else f"{start}–{a}")
            start = b
    return ("step " if len(steps) == 1 else "steps ") + ", ".join(runs)


def vp_mean_rate(sigma):
    """|d/dσ 1/√(1 + σ²)| = σ / (1 + σ²)^{3/2}: how fast the VP state's mean shrinks per unit σ (peak at 1/√2)."""
    sigma = np.asarray(sigma, dtype=float)
    return sigma / (1 + sigma * sigma) ** 1.5


def vp_mean_rate_text(lo: float, hi: float) -> str:
    """One sentence: where the VP mean's shrink rate per unit σ peaks, and what fraction of that peak it reaches at
    the ends of the σ span [lo, hi] (and whether the peak lies inside the span)."""
    mid = 1 / math.sqrt(2)
    peak = float(vp_mean_rate(mid))
    at_lo, at_hi = (100 * float(vp_mean_rate(x)) / peak for x in (lo, hi))
    inside = lo <= mid <= hi
    return (f"On the VP scale the state is $z = x/\\sqrt{{1 + \\sigma^2}}$, whose mean shrinks per unit σ at the rate "
            f"$\\sigma/(1 + \\sigma^2)^{{3/2}}$, fastest at $\\sigma = 1/\\sqrt{{2}} \\approx {mid:.2f}$; these steps "
            f"span σ {lo:.3g} to {hi:.3g}"
            + (", which includes that peak" if inside else "")
            + f"; the rate is {at_lo:.0f} % of that peak at σ {lo:.3g} and {at_hi:.0f} % at σ {hi:.3g}.")


def frequency0_note(ds: xr.Dataset) -> str:
    """Why the heatmaps leave out frequency 0, with the numbers of this run: that bin is one Fourier coefficient, the
    change of the state's mean, where every other bin averages a ring of them, so its log10 power measures a shift
    of the mean, not of the image's structure, and stands apart from the bins drawn. "" when there is no frequency 0."""
    freq = ds["freq"].values
    p = ds["log_power"].transpose("method", "step", "freq").values
    dc, rest = p[:, :, freq == 0], p[:, :, freq > 0]
    dc, rest = dc[np.isfinite(dc)], rest[np.isfinite(rest)]
    text = ("Frequency 0 (the state's mean) is not drawn in the heatmaps: its bin is a single Fourier coefficient, "
            "$HW$ times the squared change of the mean, where every other bin averages a ring of coefficients, so it "
            "measures how far a step shifts the mean, not the image's structure")
    if not (freq == 0).any():
        return ""
    if dc.size and rest.size:
        text += (f"; its $\\log_{{10}}$ power runs from {_signed(dc.min())} to {_signed(dc.max())} in this run, the "
                 f"bins drawn from {_signed(rest.min())} to {_signed(rest.max())}")
    return text + "."


def positive_cells_text(ds: xr.Dataset) -> str:
    """Markdown: where the heatmaps run above 0 (red), method by method, and what those cells are; a sentence saying
    that none does when no cell is above 0; then why frequency 0 is not drawn (``frequency0_note``)."""
    cells = positive_cells(ds)
    why = frequency0_note(ds)
    if cells.empty:
        return ("No update's log power is above 0 at any step or frequency (frequency 0 included, which the heatmaps leave out): "
                "every method's update carries less power than unit white noise in every bin."
                + (f"\n\n{why}" if why else ""))
    methods = [str(m) for m in ds["method"].values]
    p = ds["log_power"].transpose("method", "step", "freq").values
    vp = ds.attrs.get("space") == "vp"
    lines = []
    for m, g in cells.groupby("method", sort=False):
        bins = sorted(g["bin"].unique())
        freqs = ("frequency 0 only (not drawn in the heatmaps)" if bins == [0] else
                 f"frequencies {g['freq'].min():.3g} to {g['freq'].max():.3g} cycles/pixel")
        text = (f"`{m}`: {_steps(g['step'])} (σ {g['sigma_from'].min():.3g} to {g['sigma_to'].max():.3g}), "
                f"{freqs}; largest {_signed(g['log_power'].max())}.")
        base = _base(m, methods)
        if base is not None:
            at = p[methods.index(base)][g["step"].to_numpy(), g["bin"].to_numpy()]
            if np.all(np.nan_to_num(at, nan=-np.inf) > 0):
                text += (f" `{base}`, the same steps without OVG's drift, is above 0 there too: the base method's "
                         "steps put the power there, not the drift.")
            elif np.all(np.nan_to_num(at, nan=np.inf) <= 0):
                text += (f" `{base}`, the same steps without OVG's drift, stays below 0 there "
                         f"($\\log_{{10}}$ power at most {_signed(np.nanmax(at))}): OVG's drift puts that power "
                         "into the update.")
        lines.append(text)
    notes = []
    dc = [m for m, g in cells.groupby("method", sort=False) if set(g["bin"]) == {0}]
    if dc:
        named = " and ".join(f"`{m}`" for m in dc)
        notes.append(f"The cells of {named} are in the frequency-0 bin, which holds $HW$ times the squared change of "
                     "the state's mean ($H \\times W$ pixels) where every other bin averages many coefficients: it "
                     "passes 0 once a step moves the mean by more than $1/\\sqrt{HW}$ per pixel, a change that leaves "
                     "the image's structure as it was.")
        g = cells[cells["method"].isin(dc)]
        lo, hi = float(g["sigma_from"].min()), float(g["sigma_to"].max())
        if vp:
            notes.append(vp_mean_rate_text(lo, hi))
        quiet = [o for o in methods if o not in set(cells["method"])]
        width = cells["sigma_to"] - cells["sigma_from"]
        wide = {m: float(width[cells["method"] == m].max()) for m in dc}
        near = {}
        for o in quiet:
            i = methods.index(o)
            sf, st = ds["sigma_from"].values[i], ds["sigma_to"].values[i]
            over = (st > lo) & (sf < hi)
            if over.any():
                near[o] = float(np.nanmax((st - sf)[over]))
        if near and min(wide.values()) > max(near.values()):
            notes.append(f"Over that range the steps of {named} are wider in σ (up to Δσ "
                         f"{max(wide.values()):.3g} per step) than those of "
                         f"{' and '.join(f'`{o}`' for o in near)}, which stay{'s' if len(near) == 1 else ''} "
                         "below 0 (steps of at most Δσ "
                         f"{max(near.values()):.3g}), "
                         "so each of their steps moves the mean further.")
    head = ("**Where the log update power is above 0** (more power than unit white noise in the bin; red in the heatmaps, "
            "which leave out frequency 0, the bin of the state's mean):")
    return name_methods(head + "\n\n" + "\n".join(f"- {line}" for line in lines)
                        + ("\n\n" + " ".join(notes) if notes else "") + (f"\n\n{why}" if why else ""))
