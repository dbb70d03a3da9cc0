"""What the main-results chapter says about its results: the spectral-collapse verdict, and what the paper's
columns beside ours are (which of the paper's settings our dataset stands in for, and whether its Null-Class row was
run at the setting of ours)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from ..studies.method_labels import MODEL_WORDS  # the models by their parameterization (re-exported)

__all__ = ["failed_note", "failed_counts", "collapse_verdict", "MAIN_CLAIMS", "beside_paper", "beside_table",
           "null_class_scale", "null_class_pairing",
           "latent_gaussianity_table", "noise_sample_table", "MODEL_WORDS", "smallest_norm_error", "latent_set_note"]

# The paper's datasets as it names them
_PAPER_NAMES = {"bbbc021": "BBBC021", "edges2shoes": "Edges2Shoes"}
_METRIC_NAMES = {"psnr": "PSNR", "s_hf": "S_HF", "s_lf": "S_LF", "s_dc": "S_DC", "s_g": "S_G"}


def _task(ds: xr.Dataset) -> dict:
    try:
        return json.loads(ds.attrs.get("task") or "{}") or {}
    except (TypeError, ValueError):
        return {}


def _table_names(cmp: pd.DataFrame) -> list[str]:
    """The paper's tables a comparison joined, as the paper names them ("Table 9")."""
    tabs = sorted({str(t) for t in cmp.get("table", pd.Series(dtype=object)).dropna()},
                  key=lambda t: int("".join(ch for ch in t if ch.isdigit()) or 0))
    return [f"Table {t[len('table'):]}" if t.startswith("table") else t for t in tabs]


def beside_paper(ds: xr.Dataset, cmp: pd.DataFrame) -> str:
    """Markdown: which of the paper's tables and settings our columns are joined with (``report.tables
    .paper_comparison``'s ``cmp``), and how our dataset's task relates to that setting, in one reading: a bundled
    dataset is a small analogue of the paper's, so a different SR factor is named as ours standing in for the
    paper's, not as the same experiment; then ``null_class_pairing``."""
    from ..reference import paper_counterpart

    dataset = str(ds.attrs.get("dataset", ""))
    pds, scale = paper_counterpart(dataset)
    if not pds:
        return (f"The paper has no counterpart of `{dataset}`, so there is no paper column to compare with; the "
                "table shows our numbers only.")
    tables = _table_names(cmp)
    half = " one half of its Table 2," if set(tables) <= {"Table 9", "Table 11"} and tables else ""
    where = f"the paper's {' and '.join(tables)}" if tables else "the paper's tables"
    theirs = _PAPER_NAMES.get(pds, pds) + (f" ×{scale[1:]} super-resolution" if scale else "")
    task = _task(ds)
    size = int(ds["truth_images"].shape[-1]) if "truth_images" in ds else 0
    crops = f"{size}-pixel crops" if size else "crops"
    analogue = ("the paper's own dataset" if dataset == pds
                else f"our small analogue of {_PAPER_NAMES.get(pds, pds)} (not its data)")
    if task.get("kind") == "sr" and task.get("factor"):
        f = int(task["factor"])
        what = f"super-resolution at ×{f} on {crops}, {analogue}"
        if scale and f"x{f}" != scale:
            k = int(scale[1:])
            small = (f"; at ×{k} a {size}-pixel crop would come from a {size // k}-pixel input, so our factor is "
                     "smaller as our images are" if size and size // k >= 1 else "")
            what += f": our ×{f} task stands in for the paper's ×{k} setting{small}"
    elif task.get("kind") == "edges":
        what = f"translating edge maps of {crops} into the crops, {analogue}: a sketch-to-image task like the paper's"
    else:
        what = f"{task.get('kind') or 'its own'} task, standing in for the paper's setting"
    text = (f"Rows are matched to {where} ({theirs},{half} the paper's counterpart of this dataset) by method "
            "and metric. "
            f"This chapter's `{dataset}` task is {what}. Compare orderings between methods, not absolute values.")
    pairing = null_class_pairing(ds, cmp)
    return text + (f"\n\n{pairing}" if pairing else "")


def beside_table(ds: xr.Dataset, cmp: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """The "beside the paper" table as the chapter shows it: one row per method (the run's order), under each
    metric our mean beside the paper's ("ours" | "paper", a two-level header as the ablation chapters write it);
    a metric the paper does not report has ours alone. ``cmp``: ``report.tables.paper_comparison``."""
    from .tables import TABLE_METRICS, failed_label

    wide = cmp.pivot_table(index="method", columns="metric", values=["ours_mean", "paper_mean"], sort=False)
    wide = wide.swaplevel(0, 1, axis=1).rename(columns={"ours_mean": "ours", "paper_mean": "paper"}, level=1)
    metrics = [m for m in TABLE_METRICS if m in set(cmp["metric"])] + \
        [m for m in dict.fromkeys(cmp["metric"]) if m not in TABLE_METRICS]
    cols = [(m, w) for m in metrics for w in ("ours", "paper") if (m, w) in wide.columns and wide[(m, w)].notna().any()]
    out = wide[cols]
    out.columns = pd.MultiIndex.from_tuples(cols)
    order = [str(m) for m in ds["method"].values if str(m) in out.index]
    out = out.reindex(order)
    for c in out.columns:
        out[c] = out[c].map(lambda v, w=c[1]: _cell(v, digits if w == "ours" else None)).astype(object)
    out.index = [failed_label(m, *failed_counts(ds).get(m, (0, None))) for m in out.index]
    return out.rename_axis(index=None)


def failed_counts(ds: xr.Dataset) -> dict[str, tuple[int, int | None]]:
    """Per method with failed samples: (failed, kept), as ``report.tables.summary`` counts them (once per method:
    every metric of a row leaves out the same samples); {} when the results record none."""
    from .tables import summary

    s = summary(ds)
    if "failed" not in s:
        return {}
    per = s.drop_duplicates("method")
    return {str(r["method"]): (int(r["failed"]), int(r["n"]) if "n" in per else None)
            for _, r in per.iterrows() if int(r["failed"])}


def failed_note(ds: xr.Dataset) -> str:
    """Markdown: the sentence under the main results' verdict on failed samples, each method's count as its rows'
    labels give it, ending in a full stop; "" when no sample failed, or when the notes at the top of the chapter
    (``report.failures.failure_notes``, shown with the run's notes) already list them: the page says it once."""
    from .failures import failure_notes

    counts = failed_counts(ds)
    if not counts or failure_notes(ds):
        return ""
    return ("Failed samples (non-finite, or a latent / output beyond the validity bounds stated on the methods page) "
            "are left out of the means and counted in the tables' row labels: "
            + ", ".join(f"{m} {f} of {f + n}" if n is not None else f"{m} {f}" for m, (f, n) in counts.items()) + ".")


def _cell(v, digits: int | None) -> str:
    """A number of the beside-the-paper table: ours with ``digits`` decimals, the paper's as it prints it (the
    fewest decimals, at least 2, that give its value); '—' where there is none."""
    if v is None or not np.isfinite(v):
        return "—"
    if digits is None:
        digits = next((d for d in (2, 3, 4) if abs(round(v, d) - v) < 1e-9), 4)
    return f"{v:.{digits}f}"


def noise_sample_table(ds: xr.Dataset, digits: int = 3) -> pd.DataFrame:
    """The texture score S_HF of each model's samples from pure noise (mean over the samples), one row per model
    named in words ("EDM", "ε-prediction")."""
    v = ds["noise_s_hf"].mean("noise_image")
    models = [str(m) for m in v["model"].values]
    return pd.DataFrame({"S_HF of samples from noise": [round(float(v.sel(model=m)), digits) for m in models]},
                        index=pd.Index([MODEL_WORDS.get(m, m) + " model" for m in models], name="model"))


def latent_gaussianity_table(ds: xr.Dataset, seed, digits: int = 4) -> pd.DataFrame:
    """One seed's Gaussianity of the inverted latents per method: S_G, the KS distance D_KS, the KS test's p-value and
    the mean ‖x_T‖²/d, with headers a reader reads (the keys S_G, D_KS and ‖x_T‖²/d are named by ``report.reader``;
    the KS test's p-value as 'p-value')."""
    cols = [c for c in ("s_g", "ks_d", "ks_p", "mean_norm_ratio") if c in ds]
    frame = ds[cols].sel(seed=seed).to_dataframe().drop(columns="seed", errors="ignore")[cols].round(digits)
    return frame.rename(columns={"ks_p": "p-value"})


def smallest_norm_error(n: int, d: int) -> float:
    """The relative error of the mean ‖x_T‖²/d at which the KS distance between chi2(d) and the scaled chi2(d)
    reaches the test's 5 % critical distance for a set of ``n`` latents: smaller norm errors can pass the test."""
    from scipy import optimize, stats

    from ..metrics.latent import ks_resolution

    u = stats.chi2.ppf(np.linspace(1e-6, 1 - 1e-6, 4001), d)
    crit = ks_resolution(n)
    return float(optimize.brentq(
        lambda e: np.max(np.abs(stats.chi2.cdf(u, d) - stats.chi2.cdf(u / (1 + e), d))) - crit, 1e-7, 10.0))


def latent_set_note(ds: xr.Dataset, seed, n_gaussianity: int | None = None) -> str:
    """Markdown: the set of latents one seed's S_G and KS test score (how many latents per method, those with failed
    samples left out, and d, the values in one latent), the distance below which the Kolmogorov–Smirnov test cannot
    tell a set of n latents from Gaussian noise, n said as the number of latents in the set, and the norm error that
    distance stands for; with ``n_gaussianity`` (the latents per method the Gaussianity chapter tests), the same
    error at that chapter's n."""
    from ..metrics.latent import ks_resolution
    from ..studies.method_labels import method_name
    from ..text import percent

    n_set, d = int(ds.sizes["sample"]), int(np.prod(ds["latents"].shape[-3:]))
    fewer = ""
    if "n_kept" in ds:
        kept = ds["n_kept"].sel(seed=seed).to_series()
        fewer = "; ".join(f"{method_name(str(m))} {int(k)}, its {n_set - int(k)} failed samples left out"
                          for m, k in kept.items() if int(k) < n_set)
    said = (f"Seed {seed}'s set: {n_set} latents per method{f' ({fewer})' if fewer else ''}, each of d = {d} "
            f"values. With n = {n_set}, the number of latents in a method's set, the Kolmogorov–Smirnov (KS) test "
            f"tells the set from Gaussian noise only beyond a distance of {ks_resolution(n_set):.3f}, which a norm "
            f"error (mean ‖x_T‖²/d off 1) reaches at about {percent(smallest_norm_error(n_set, d))}; a smaller error can "
            "pass the test.")
    if n_gaussianity:
        said += (f" The Gaussianity chapter tests n = {n_gaussianity} latents per method, where that error is about "
                 f"{percent(smallest_norm_error(n_gaussianity, d))}, so its S_G and p-values differ from these.")
    return said


def null_class_scale(ds: xr.Dataset) -> float | None:
    """The guidance scale w our ``null_class`` ran at (its own ``guidance_scale``, else the studies' w = 1); None
    when the run has no Null-Class method."""
    try:
        specs = json.loads(ds.attrs.get("methods") or "[]")
    except (TypeError, ValueError):
        specs = []
    for m in specs:
        if isinstance(m, dict) and m.get("label") == "null_class":
            w = (m.get("method_params") or {}).get("guidance_scale")
            return float(w) if w is not None else 1.0
    return None


def null_class_pairing(ds: xr.Dataset, cmp: pd.DataFrame) -> str:
    """Whether our ``null_class`` row and the paper's are the same setting: at w = 1 Null-Class has nothing to
    optimise and translates as DirectInversion does; the paper's Null-Class row equal to its DirectInversion row on every
    metric compared here reads as the same (w = 1) setting, a different row as an optimised run. '' when either side
    lacks the rows."""
    w = null_class_scale(ds)
    if w is None or "paper_mean" not in cmp:
        return ""
    paper = cmp.dropna(subset=["paper_mean"]).pivot_table(index="metric", columns="method", values="paper_mean")
    if not {"null_class", "direct_inversion"} <= set(paper.columns):
        return ""
    both = paper[["null_class", "direct_inversion"]].dropna()
    both = both.reindex([m for m in _METRIC_NAMES if m in both.index] + [m for m in both.index
                                                                         if m not in _METRIC_NAMES])
    if both.empty:
        return ""
    same = bool(np.allclose(both["null_class"], both["direct_inversion"], rtol=0, atol=1e-9))
    names = ", ".join(_METRIC_NAMES.get(m, m) for m in both.index)
    tables = " and ".join(_table_names(cmp)) or "its table"
    if w == 1.0:
        text = ("Our `null_class` runs at guidance scale w = 1, where Null-Class has nothing to optimise and translates "
                "as DirectInversion does")
        if same:
            return (text + f"; the paper's Null-Class and DirectInversion rows in {tables} are equal as well ({names}), "
                    "which is what a run at w = 1 gives, so the two Null-Class rows are read as the same setting "
                    "(see {doc}`the errata </errata>`).")
        return (text + f"; the paper's Null-Class row in {tables} differs from its DirectInversion row ({names}), so it comes "
                "from a run that optimised the embedding (w > 1): our `null_class` row and the paper's are different "
                "settings, and their comparison is not like for like.")
    if same:
        return (f"Our `null_class` optimises the null embedding at w = {w:g}; the paper's Null-Class row in {tables} "
                f"equals its DirectInversion row ({names}), as a run at w = 1 would: the paper's row may be a different "
                "setting from ours.")
    return ""


# The claims of the claims page that this chapter's numbers answer on their own.
MAIN_CLAIMS = ("collapse_sdc", "collapse_shf", "ovg_vs_ddim", "edm_tradeoff", "taba_structure")


def collapse_verdict(ds: xr.Dataset) -> str:
    """Markdown: does standard DDIM inversion show spectral collapse here, and what do OVG, EDM and TABA do about
    it? Each claim of ``MAIN_CLAIMS`` judged on this chapter's results by the claims page's rule and in its words
    (paired 95 % intervals over crops, three-way verdicts), each claim the paper's own tables do not support with
    their numbers that go the other way (``claims_page.paper_dissent``), then S_G per method."""
    from ..studies.claims import chapter_claims, findings_markdown
    from ..studies.claims_words import chapter_rule
    from .claims_page import paper_dissent

    if "ddim" not in [str(m) for m in ds["method"].values]:
        return "DDIM was not run, so no verdict on spectral collapse."
    found = chapter_claims(ds, MAIN_CLAIMS)
    dissent = paper_dissent(found)
    text = (f"Judged by the claims page's rule on this chapter's results ({chapter_rule()}):\n\n"
            + findings_markdown(found) + (f"\n\n{dissent}" if dissent else ""))
    if "s_g" in ds:
        g = ", ".join(f"{m} {float(ds['s_g'].sel({'method': m}).mean()):.3f}" for m in ds["method"].values)
        text += f"\n\nS_G per method (mean over seeds): {g}."
    return text
