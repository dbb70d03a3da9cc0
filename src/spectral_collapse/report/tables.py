"""Tables for the book, computed from stored results (never typed by hand).

Aggregation (``per_seed``, ``summary``: mean over the test samples of one seed, then mean and std with ddof = 1
over seeds, non-finite samples excluded and counted) is in ``spectral_collapse.studies.aggregate`` and re-exported
here. Comparison with the paper is a join on (method, metric).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import xarray as xr

from ..reference import paper_counterpart, paper_rows
from ..studies.claim_titles import SLF_READING
from ..studies.claims_words import listed
from ..text import plural, verb
from ..studies.aggregate import (METRIC_NAMES, TABLE_METRICS, cell_text, coinciding_methods, failed_label, per_seed,
                                  summary)

__all__ = ["TABLE_METRICS", "per_seed", "summary", "format_summary", "failed_label", "paper_comparison",
           "coincidence_note", "control_rows", "copy_beats_every_method", "copy_against_methods", "control_notes",
           "METRIC_NAMES", "GENERATED", "md_table"]

# What a metric scores an output against, where it is not the ground truth: a control scoring below every method
# there says the metric rewards resembling that reference.
_REFERENCE = {"s_lf": "the input condition"}


HIGHER_IS_BETTER = ("psnr", "s_hf", "s_lf", "s_lf_gt", "s_dc", "s_g")
# The book's translation tables: the paper's metrics with the signed texture error beside S_HF (log E_HF - mu_HF:
# below 0 too smooth, above 0 too noisy; S_HF alone cannot tell the two apart).
DISPLAY_METRICS = ("psnr", "s_hf", "delta_log_e_hf", "s_lf", "s_dc", "s_g")
# the realism table: S_HF beside the scores that tell texture from noise (studies.realism, metrics.realism)
REALISM_METRICS = ("s_hf", "delta_log_e_hf_luma", "delta_log_e_hf_chroma", "kid_wav")


def control_rows(ds: xr.Dataset, metrics=TABLE_METRICS, digits: int = 3) -> pd.DataFrame:
    """The controls' rows (``copy``, ``ground_truth``: studies.translation.control_scores) in the table's format;
    empty when the results hold none. Latent metrics (S_DC, S_G) have no control: '—'."""
    from ..metrics.intervals import bootstrap_ci

    if "control" not in ds.dims:
        return pd.DataFrame()
    rows = {}
    for c in ds["control"].values.tolist():
        row = {}
        for m in metrics:
            if f"control_{m}" not in ds:
                row[m] = "—"
                continue
            ci = bootstrap_ci(ds[f"control_{m}"].sel(control=c).values)
            row[m] = cell_text(ci.mean, np.nan, lo=ci.lo, hi=ci.hi, digits=digits) if ci.n else "—"
        rows[f"{c.replace('_', ' ')} (control)"] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def copy_beats_every_method(ds: xr.Dataset, metrics=TABLE_METRICS) -> list[str]:
    """Metrics on which the ``copy`` control (the input, untranslated) scores better than every method: such a metric
    rewards doing nothing, and the page says so."""
    if "control" not in ds.dims:
        return []
    s = summary(ds, [m for m in metrics if m in ds])
    out = []
    for m in metrics:
        if f"control_{m}" not in ds or m not in HIGHER_IS_BETTER:
            continue
        copy = float(np.nanmean(ds[f"control_{m}"].sel(control="copy").values))
        best = s.loc[s["metric"] == m, "mean"].max()
        if np.isfinite(copy) and np.isfinite(best) and copy > best:
            out.append(m)
    return out


def format_summary(ds: xr.Dataset, metrics=DISPLAY_METRICS, digits: int = 3, controls: bool = True) -> pd.DataFrame:
    """Methods x metrics table of cells (``aggregate.cell_text``: 'mean [95 % interval over test crops]', numbers
    only), in the dataset's method order, then the controls' rows (``control_rows``). A method whose samples failed
    says how many once, in its row label (``failed_label``); its cells are means over the samples kept."""
    metrics = [m for m in metrics if m in ds] or list(metrics)
    s = summary(ds, metrics)
    lo, hi = (s["lo"], s["hi"]) if "lo" in s else ([None] * len(s), [None] * len(s))
    s["cell"] = [cell_text(m, d, digits=digits, lo=a, hi=b) for m, d, a, b in zip(s["mean"], s["std"], lo, hi)]
    t = s.pivot(index="method", columns="metric", values="cell")
    t = t.reindex(index=[m for m in ds["method"].values if m in t.index], columns=[m for m in metrics if m in t.columns])
    if "failed" in s:
        # summary counts a method's failed samples once per method: every metric of the row shares them
        per = s.drop_duplicates("method").set_index("method")
        t.index = [failed_label(m, int(per.loc[m, "failed"]), int(per.loc[m, "n"]) if "n" in per else None)
                   for m in t.index]
    extra = control_rows(ds, list(t.columns), digits) if controls else pd.DataFrame()
    return pd.concat([t, extra]) if len(extra) else t


def paper_comparison(ds: xr.Dataset, dataset: str | None = None, metrics=TABLE_METRICS, scale: str | None = None) -> pd.DataFrame:
    """Our (mean, std) beside the paper's for each (method, metric), by an inner join on those keys."""
    dataset = dataset or ds.attrs.get("dataset", "")
    ours = summary(ds, metrics).rename(columns={"mean": "ours_mean", "std": "ours_std"})
    paper = paper_rows(dataset, scale=scale).rename(columns={"mean": "paper_mean", "std": "paper_std"})
    merged = ours.merge(paper[["method", "metric", "paper_mean", "paper_std", "table"]], on=["method", "metric"], how="left")
    pds, sc = paper_counterpart(dataset, scale)
    merged["paper_setting"] = f"{pds} {sc}".strip() or "none"
    return merged


def coincidence_note(ds: xr.Dataset) -> str:
    """A sentence naming the methods whose translations coincide sample for sample ("" when none): they keep
    their rows in the tables and count once in shares and correlations."""
    same = coinciding_methods(ds)
    if not same:
        return ""
    from ..studies.method_labels import method_name

    pairs = ", ".join(f"{method_name(m)} and {method_name(first)}" for m, first in same.items())
    return (f"Identical translations: {pairs} give the same output for every test image (at the settings used they "
            "are the same update), so their rows agree; the claims' shares and correlations count them once.")


def _by_crop(ds: xr.Dataset, metric: str, method: str) -> pd.Series:
    """A method's value per test crop (mean over the seeds that translated it, failed samples left out), indexed by
    the crop's id (the ``crop`` variable, else the sample index), as ``aggregate.crop_values`` computes it."""
    from ..studies.aggregate import failed_of

    v = ds[metric].sel({"method": method})
    failed = failed_of(ds)
    if failed is not None and "method" in failed.dims:
        v = v.where(~failed.sel({"method": method}).astype(bool))
    crop = ds["crop"].broadcast_like(v) if "crop" in ds else xr.ones_like(v, dtype=np.int64) * v["sample"]
    frame = pd.DataFrame({"crop": np.asarray(crop.values).ravel(), "value": v.values.ravel()})
    return frame.groupby("crop")["value"].mean().dropna()


def _control_by_crop(ds: xr.Dataset, metric: str, control: str) -> pd.Series:
    v = ds[f"control_{metric}"].sel(control=control)
    return pd.Series(v.values, index=v[v.dims[0]].values).dropna()


def copy_against_methods(ds: xr.Dataset, metric: str) -> dict:
    """The ``copy`` control (the untranslated input) against each method on a higher-is-better ``metric``, methods
    that coincide sample for sample (``aggregate.coinciding_methods``) counted once: ``methods`` (counted),
    ``merged`` ({dropped: kept}), ``higher`` (methods whose mean is below the copy's), ``beyond`` (those of them
    whose paired 95 % interval over crops of copy − method lies above 0) and ``copy`` (the copy's mean)."""
    from ..metrics.intervals import paired_ci
    from ..studies.aggregate import coinciding_methods

    same = coinciding_methods(ds)
    methods = [str(m) for m in ds["method"].values if str(m) not in same]
    copy = _control_by_crop(ds, metric, "copy")
    mean_copy = float(copy.mean()) if len(copy) else float("nan")
    means = summary(ds, [metric]).set_index("method")["mean"]
    higher, beyond = [], []
    for m in methods:
        if not np.isfinite(means.get(m, np.nan)) or not means[m] < mean_copy:
            continue
        higher.append(m)
        mine = _by_crop(ds, metric, m)
        shared = copy.index.intersection(mine.index)
        if len(shared) > 1 and paired_ci(copy[shared].values, mine[shared].values).lo > 0:
            beyond.append(m)
    return {"methods": [m for m in methods if np.isfinite(means.get(m, np.nan))], "merged": same,
            "higher": higher, "beyond": beyond, "copy": mean_copy}


def _band_note(ds: xr.Dataset) -> str:
    """Markdown: where the real crops' band of the signed texture error comes from (``studies.verdicts.real_band``:
    the ground truth's own per-crop Δlog E_HF, mean ± one standard deviation), set apart from the ground-truth row's
    cell, the 95 % interval of that mean; '' without the ground-truth control."""
    from ..studies.verdicts import real_band

    band = real_band(ds)
    if band is None:
        return ""
    name = METRIC_NAMES.get("delta_log_e_hf", "delta_log_e_hf")
    return (f"**The real crops' band for {name}, [{band[0]:+.2f}, {band[1]:+.2f}]**, which the verdicts use to call "
            f"a texture right, too smooth or too noisy, is the mean ± one standard deviation of the ground truth's "
            f"own per-crop {name} (how far single real crops lie from μ_HF). The ground truth (control) row's "
            f"{name} cell is the 95 % interval of that mean, a narrower range: it is not the band.")


def _said_once(reading: str, said: bool) -> str:
    """The S_LF reading without its closing remark that the untranslated input scores highest on S_LF, where a note
    above says so already."""
    return re.sub(r"\s*\([^()]*untranslated input[^()]*\)\s*$", "", reading) if said else reading


def control_notes(ds: xr.Dataset, metrics=DISPLAY_METRICS) -> list[str]:
    """Markdown notes on the controls against the methods, for the higher-is-better metrics shown: the copy above
    every method (the metric rewards doing nothing); the copy's mean above most methods' (how many, coinciding
    methods counted once, and how many of those differences lie beyond their paired interval over crops); the
    ground truth below every method (the metric rewards resembling what it scores against, not the target)."""
    if "control" not in ds.dims:
        return []
    notes = []
    beaten = copy_beats_every_method(ds)
    if beaten:
        n = len(beaten)
        notes.append(f"**The untranslated input scores best on {listed(METRIC_NAMES.get(m, m) for m in beaten)}.** "
                     "The table's copy row (a control: the degraded input scored like a method) has a higher mean than "
                     f"every method there: {verb(n, 'that metric rewards', 'those metrics reward')} doing nothing.")
    present = [m for m in metrics if m in HIGHER_IS_BETTER and m in ds and f"control_{m}" in ds]
    controls = ds["control"].values.tolist()
    for m in present:
        name = METRIC_NAMES.get(m, m)
        if m in beaten or "copy" not in controls:
            continue
        c = copy_against_methods(ds, m)
        k, n = len(c["higher"]), len(c["methods"])
        if n and k > n / 2:
            once = (" (" + listed(f"`{a}` counted with `{b}`, its identical translation" for a, b in
                                  c["merged"].items()) + ")") if c["merged"] else ""
            nb = len(c["beyond"])
            notes.append(f"**The untranslated input has a higher mean {name} than {k} of {plural(n, 'method')}"
                         f"{once}**, and "
                         + (f"for {nb} of them the paired 95 % {verb(nb, 'interval', 'intervals')} over crops of the "
                            f"difference {verb(nb, 'lies', 'lie')} above 0" if nb else
                            "for none of them does the paired 95 % interval over crops of the difference lie above 0")
                         + ". The "
                         f"copy (control) row scores {c['copy']:.3f} there: doing nothing scores better than most "
                         f"methods, so {name} alone cannot show that a translation is good.")
    band = _band_note(ds)
    if band:
        notes.append(band)
    if "ground_truth" in controls:
        means = summary(ds, present).groupby("metric")["mean"].min() if present else pd.Series(dtype=float)
        for m in present:
            gt = _control_by_crop(ds, m, "ground_truth")
            low = float(means.get(m, np.nan))
            if len(gt) and np.isfinite(low) and float(gt.mean()) < low:
                name = METRIC_NAMES.get(m, m)
                ref = _REFERENCE.get(m, "its reference")
                notes.append(f"**The ground truth scores below every method on {name}** ({float(gt.mean()):.3f}, "
                             f"against {low:.3f} for the lowest method). {name} scores an output against {ref}, not "
                             f"the ground truth, so here it rewards resembling {ref}: a higher {name} is not a "
                             "better translation, and the target itself would rank last."
                             + (f" {_said_once(SLF_READING, 's_lf' in beaten)}." if m == "s_lf" else ""))
    return notes


GENERATED = "_generated"


def md_table(frame: pd.DataFrame, index: bool = False) -> str:
    """A GitHub / MyST pipe table of ``frame`` (cells as text, '|' escaped)."""
    f = frame.reset_index() if index else frame
    esc = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(esc(c) for c in f.columns) + " |", "|" + "---|" * len(f.columns)]
    lines += ["| " + " | ".join(esc(v) for v in row) + " |" for row in f.itertuples(index=False)]
    return "\n".join(lines) + "\n"
