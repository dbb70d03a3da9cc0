"""The columns of the latent-analysis chapters' tables as a reader reads them: each column's header (``HEADERS``)
and what it holds (``COLUMN_NOTES``), so that a table and the legend under it (``column_legend``) name the same
headers. The tables themselves keep the results' variable names (code reads them by key); ``shown`` renames a table
for display. The chapters' small words live here too: step counts as a list in words (``and_list``), the
decorrelation overview, a paired comparison at one precision (``judged_text``) and a claim's overall verdict
(``overall``).
"""
from __future__ import annotations

import pandas as pd

from ..text import listed

__all__ = ["HEADERS", "COLUMN_NOTES", "shown", "header", "column_legend", "and_list", "decorrelation_overview", "overall"]

# Short column headers for the chapters' tables; norm_z by the glossary's name for it ("Norm z-score")
HEADERS = {"norm_z": "norm z-score", "s_dc": "S_DC", "flagged_ratio": "flagged share", "s_dc_raw": "S_DC raw", "norm_ratio": "‖x_T‖²/d",
           "s_g": "S_G", "s_dc_lo": "S_DC low", "s_dc_hi": "S_DC high", "ks_d": "D_KS", "ks_p": "p-value",
           "mean_norm_ratio": "‖x_T‖²/d", "z_mean": "mean z", "norm_sd_ratio": "sd ratio", "k90_raw": "k90 raw",
           "auc": "AUC", "auc_raw": "AUC raw", "n": "latents", "nonfinite": "non-finite"}

# What each column holds, in words (the header is put in front of it by ``column_legend``)
COLUMN_NOTES = {
    "s_g": "1 − D_KS (Eq. 33) of the set of latents",
    "ks_d": "the Kolmogorov–Smirnov statistic (Eq. 32) of the latents' ‖x_T‖² against χ²(d)",
    "ks_p": "the KS test's p-value (how often Gaussian latents give a distance this large)",
    "mean_norm_ratio": "the mean of ‖x_T‖²/d over the latents (1 for N(0, I))",
    "z_mean": "the mean over the latents of (‖x_T‖² − d)/√(2d), each latent's squared norm as a z-score under χ²(d) "
              "(about N(0, 1/n) for n Gaussian latents; the norm z-score is the same number times √n)",
    "norm_z": "(mean ‖x_T‖² − d)/√(2d/n), the deviation of the mean squared norm from d in standard errors (about "
              "N(0, 1) for Gaussian noise; signed, and still ordered where S_G has saturated)",
    "norm_sd_ratio": "the sd of ‖x_T‖²/d over the latents divided by χ²(d)/d's sd √(2/d) (1 for Gaussian noise; below "
                     "1, norms narrower than χ²(d))",
    "k50": "components needed for 50 % of the variance", "k90": "for 90 %", "k99": "for 99 %",
    "auc": "the mean of the cumulative explained-variance curve (near 1 when a few components carry the variance; "
           "0.5 + 1/(2m) if it were spread exactly evenly over m components, which a finite set of Gaussian latents "
           "never is: the Gaussian row gives noise's own value at this count and size)",
    "k90_raw": "k90 of the latents as inverted (not scaled to unit variance)", "auc_raw": "AUC of the latents as inverted",
    "n": "latents in the PCA", "nonfinite": "latents left out for a non-finite value",
    "s_dc": "1 − flagged share, the mean over the latents (higher: more like white noise)",
    "flagged_ratio": "the share of 4×4 windows flagged as autocorrelated",
    "s_dc_raw": "S_DC of the latents as inverted (not scaled to unit variance)",
    "norm_ratio": "the mean squared norm per dimension (1 for N(0, I))",
    "s_dc_lo": "the low end of the 95 % interval of the mean S_DC over the run's latents", "s_dc_hi": "its high end",
    "steps": "inversion steps", "seed": "the seed of the stochastic methods' draws",
}


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """A chapter table with its short headers (``HEADERS``), columns without one keeping their name, and the Gaussian
    reference's rows named as the charts name them (``ROWS``: "Gaussian", "Gaussian (reference)")."""
    if isinstance(table.index, pd.RangeIndex) and len(table.columns) and not pd.api.types.is_numeric_dtype(table[table.columns[0]]):
        table = table.set_index(table.columns[0])   # a row per record: its first (label) column leads, no 0 … n − 1
    return table.rename(columns=HEADERS, index=ROWS)


def and_list(values) -> str:
    """Values in words: "10, 25 and 50" (one: "50")."""
    return listed(f"{x:g}" if isinstance(x, float) else str(x) for x in values)


def decorrelation_overview(ds) -> str:
    """The decorrelation chapter's line on what it holds: the per-method latents (table, flag masks) and the
    scatter's runs, with their step counts in words, and that the two are different latents."""
    import numpy as np

    steps = and_list(int(s) for s in np.atleast_1d(ds.attrs["steps_grid"]))
    name = f"{ds.attrs.get('dataset')}, profile {ds.attrs.get('profile')}"
    return (f"{name}: {ds.sizes['latent']} latents per method for the table and the flag masks; {ds.sizes['run']} "
            f"runs for the scatter ({ds.attrs['n_run']} test inputs each, at {steps} steps). Each scatter run "
            "inverts its inputs anew, so the table and the scatter score different latents." + _white_noise(ds))


def _white_noise(ds) -> str:
    """What white noise scores on this chapter's latents (``metrics.latent.white_noise_s_dc`` of their channel
    count), as a sentence; "" when the results hold no latents to count channels of."""
    from ..metrics.latent import white_noise_s_dc

    if "channel" not in ds.dims:
        return ""
    c = int(ds.sizes["channel"])
    return (f" White noise scores S_DC = {white_noise_s_dc(c):.3f} on these {c}-channel latents: each channel of a "
            f"window falls below τ with probability 5 %, and a window is flagged when at least half of its "
            f"channels do.")


ROWS = {"gaussian": "Gaussian", "gaussian (reference)": "Gaussian (reference)"}


def header(key: str) -> str:
    """A column's header as the table shows it: ``HEADERS``, else the reader's name of a metric key, else the key."""
    from ..plotting.reader import reader_label

    return HEADERS.get(key) or reader_label(key)


def column_legend(table: pd.DataFrame, after: str = "") -> str:
    """Markdown: "Columns: <header>: <what it holds>; ..." for each column of ``table`` (its stored keys) that
    ``COLUMN_NOTES`` describes, each named by the header the table shows (``header``), in the table's order; then
    ``after``."""
    parts = [f"{header(str(c))}: {COLUMN_NOTES[str(c)]}" for c in table.columns if str(c) in COLUMN_NOTES]
    text = ("Columns: " + "; ".join(parts) + ".") if parts else ""
    return " ".join(x for x in (text, after) if x)


def _fixed(x: float, digits: int = 3) -> str:
    """A number at ``digits`` decimals with a true minus sign and no "+"; a small negative number keeps its sign
    (−0.000), exact zero reads 0.000."""
    return f"{float(x):.{digits}f}".replace("-", "−")


def overall(verdicts) -> str:
    """A claim's verdict from its checks' verdicts: holds when all hold, does not hold when one does not, else
    inconclusive."""
    v = list(verdicts)
    return "does not hold" if "does not hold" in v else "holds" if v and all(x == "holds" for x in v) else \
        "inconclusive"


def judged_text(what: str, ci, min_effect: float, higher: bool, unit: str = "latents") -> str:
    """One three-way comparison in words: "<what> <diff> [lo, hi] over n <unit> (paired bootstrap): <verdict>"."""
    from ..metrics.intervals import three_way

    v = three_way(ci, min_effect, higher_is_claimed=higher)
    vals = [float(x) for x in (ci.mean, ci.lo, ci.hi)]
    tiny = "; a value below 0.0005 in size is written 0.000" if any(0 < abs(x) < 5e-4 for x in vals) else ""
    return (f"{what} {_fixed(vals[0])} [{_fixed(vals[1])}, {_fixed(vals[2])}] over {ci.n} "
            f"{unit} (paired bootstrap{tiny}): {v}")

