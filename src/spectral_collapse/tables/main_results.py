"""The translation chapters' tables, computed from stored results (numbers and short headers, no prose)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from ..metrics.intervals import bootstrap_ci
from ..reference import paper_counterpart, paper_rows
from ..framework.aggregate import TABLE_METRICS, cell_text, failed_label, summary
from ..framework.method_labels import MODEL_WORDS

__all__ = ["format_summary", "paper_comparison", "control_rows", "control_beyond", "GENERATED", "md_table",
           "HIGHER_IS_BETTER", "DISPLAY_METRICS", "REALISM_METRICS", "MAIN_CLAIMS", "beside_table", "failed_counts",
           "noise_sample_table", "latent_gaussianity_table", "null_class_scale", "paper_null_equals_direct",
           "ours_beside_paper", "TEXTURE_HEADERS"]

# the headers of ``realism.texture_table`` as a chapter shows them (words that wrap in the text column)
TEXTURE_HEADERS = {"luma_x": "luma detail ×", "chroma_x": "chroma detail ×", "luma_in_band": "luma in band",
                   "chroma_in_band": "chroma in band", "coherence": "RGB coherence", "kid_wav": "KID_wav",
                   "kid_ratio": "KID_wav ÷ truth's"}

HIGHER_IS_BETTER = ("psnr", "s_hf", "s_lf", "s_lf_gt", "s_dc", "s_g")
# the paper's metrics with the signed texture error log E_HF - mu_HF beside S_HF (below 0 too smooth, above 0 noisy)
DISPLAY_METRICS = ("psnr", "s_hf", "delta_log_e_hf", "s_lf", "s_dc", "support_leak", "s_g")  # the leak beside S_DC
# the realism table: S_HF beside the scores that tell texture from noise (framework.realism, metrics.realism)
REALISM_METRICS = ("s_hf", "delta_log_e_hf_luma", "delta_log_e_hf_chroma", "kid_wav")
# The claims of the claims page that the main-results chapter's numbers answer on their own.
MAIN_CLAIMS = ("collapse_sdc", "collapse_shf", "ovg_vs_ddim", "edm_tradeoff", "taba_structure", "fill")
GENERATED = "_generated"


def control_rows(ds: xr.Dataset, metrics=TABLE_METRICS, digits: int = 3) -> pd.DataFrame:
    """The controls' rows (``copy``, ``ground_truth``) in the table's format, '—' for latent metrics; empty without."""
    if "control" not in ds.dims:
        return pd.DataFrame()

    def cell(m, c):
        ci = bootstrap_ci(ds[f"control_{m}"].sel(control=c).values) if f"control_{m}" in ds else None
        return cell_text(ci.mean, np.nan, lo=ci.lo, hi=ci.hi, digits=digits) if ci and ci.n else "—"

    return pd.DataFrame.from_dict({f"{c.replace('_', ' ')} (control)": {m: cell(m, c) for m in metrics}
                                   for c in ds["control"].values.tolist()}, orient="index")


def control_beyond(ds: xr.Dataset, control: str, side: int, metrics=TABLE_METRICS) -> list[str]:
    """Higher-is-better metrics on which ``control``'s mean is above (``side`` 1) or below (-1) every method's."""
    present = [m for m in metrics if m in HIGHER_IS_BETTER and m in ds and f"control_{m}" in ds]
    if "control" not in ds.dims or control not in ds["control"].values.tolist() or not present:
        return []
    edge = summary(ds, present).groupby("metric")["mean"].agg("max" if side > 0 else "min")
    ctrl = {m: float(ds[f"control_{m}"].sel(control=control).mean()) for m in present}
    return [m for m in present if np.isfinite(ctrl[m]) and np.isfinite(edge.get(m, np.nan))
            and side * (ctrl[m] - edge[m]) > 0]


def format_summary(ds: xr.Dataset, metrics=DISPLAY_METRICS, digits: int = 3, controls: bool = True) -> pd.DataFrame:
    """Methods x metrics cells (``cell_text``), then the controls' rows; row labels name failed samples."""
    metrics = [m for m in metrics if m in ds] or list(metrics)
    s = summary(ds, metrics)
    s["cell"] = [cell_text(m, d, digits=digits, lo=a, hi=b)
                 for m, d, a, b in zip(s["mean"], s["std"], s["lo"], s["hi"])]
    t = s.pivot(index="method", columns="metric", values="cell")
    t = t.reindex(index=[m for m in ds["method"].values if m in t.index],
                  columns=[m for m in metrics if m in t.columns])
    counts = failed_counts(ds, s)
    t.index = [failed_label(m, *counts.get(m, (0, None))) for m in t.index]
    extra = control_rows(ds, list(t.columns), digits) if controls else pd.DataFrame()
    return pd.concat([t, extra]) if len(extra) else t


def paper_comparison(ds: xr.Dataset) -> pd.DataFrame:
    """Our (mean, std) beside the paper's for each (method, metric), by a left join on those keys."""
    dataset = ds.attrs.get("dataset", "")
    ours = summary(ds, TABLE_METRICS).rename(columns={"mean": "ours_mean", "std": "ours_std"})
    paper = paper_rows(dataset).rename(columns={"mean": "paper_mean", "std": "paper_std"})
    merged = ours.merge(paper[["method", "metric", "paper_mean", "paper_std", "table"]], on=["method", "metric"],
                        how="left")
    pds, sc = paper_counterpart(dataset)
    return merged.assign(paper_setting=f"{pds} {sc}".strip() or "none")


def failed_counts(ds: xr.Dataset, s: pd.DataFrame | None = None) -> dict[str, tuple[int, int | None]]:
    """{method: (failed, kept)} for each method with failed samples, as ``summary`` counts them (``s``: its table)."""
    s = summary(ds) if s is None else s
    if "failed" not in s:
        return {}
    per = s.drop_duplicates("method")
    return {str(r["method"]): (int(r["failed"]), int(r["n"]) if "n" in per else None)
            for _, r in per.iterrows() if int(r["failed"])}


def ours_beside_paper(cmp: pd.DataFrame, index, metrics) -> pd.DataFrame:
    """``cmp``'s means as rows ``index``, columns (metric, "ours" | "paper"), a column without values left out."""
    wide = cmp.pivot_table(index=index, columns="metric", values=["ours_mean", "paper_mean"], sort=False)
    wide = wide.swaplevel(0, 1, axis=1).rename(columns={"ours_mean": "ours", "paper_mean": "paper"}, level=1)
    cols = [(m, w) for m in metrics for w in ("ours", "paper") if (m, w) in wide.columns and wide[(m, w)].notna().any()]
    out = wide[cols]
    out.columns = pd.MultiIndex.from_tuples(cols)
    return out


def beside_table(ds: xr.Dataset, cmp: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """One row per method, under each metric our mean beside the paper's (``cmp``: ``paper_comparison``)."""
    out = ours_beside_paper(cmp, "method", [m for m in TABLE_METRICS if m in set(cmp["metric"])])
    out = out.reindex([str(m) for m in ds["method"].values if str(m) in out.index])
    out = out.map(lambda v: f"{v:.{digits}f}" if np.isfinite(v) else "—").astype(object)
    out.index = [failed_label(m, *failed_counts(ds).get(m, (0, None))) for m in out.index]
    return out.rename_axis(index=None)


def noise_sample_table(ds: xr.Dataset, digits: int = 3) -> pd.DataFrame:
    """Mean S_HF of each model's samples from pure noise, one row per model ("EDM model")."""
    v = ds["noise_s_hf"].mean("noise_image").round(digits).to_series().rename("S_HF of samples from noise")
    return v.rename(lambda m: MODEL_WORDS.get(str(m), str(m)) + " model").rename_axis("model").to_frame()


def latent_gaussianity_table(ds: xr.Dataset, seed, digits: int = 4) -> pd.DataFrame:
    """One seed's S_G, D_KS, KS p-value and mean ‖x_T‖²/d per method."""
    cols = [c for c in ("s_g", "ks_d", "ks_p", "mean_norm_ratio") if c in ds]
    frame = ds[cols].sel(seed=seed).to_dataframe().drop(columns="seed", errors="ignore")[cols].round(digits)
    return frame.rename(columns={"ks_p": "p-value"})


def null_class_scale(ds: xr.Dataset) -> float | None:
    """The guidance scale w our ``null_class`` ran at (default 1); None when the run has none."""
    for m in json.loads(ds.attrs.get("methods") or "[]"):
        if m.get("label") == "null_class":
            w = (m.get("method_params") or {}).get("guidance_scale")
            return float(w) if w is not None else 1.0
    return None


def paper_null_equals_direct(cmp: pd.DataFrame) -> bool | None:
    """Whether the paper's Null-Class row equals its DirectInversion row in ``cmp``; None without both rows."""
    if "paper_mean" not in cmp:
        return None
    paper = cmp.pivot_table(index="metric", columns="method", values="paper_mean")   # rows without one dropped
    both = paper.reindex(columns=["null_class", "direct_inversion"]).dropna()
    return bool(np.allclose(both["null_class"], both["direct_inversion"], rtol=0, atol=1e-9)) if len(both) else None


def md_table(f: pd.DataFrame) -> str:
    """A GitHub / MyST pipe table of ``f`` (cells as text, '|' escaped; the index left out)."""
    esc = lambda v: str(v).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(esc(c) for c in f.columns) + " |", "|" + "---|" * len(f.columns)]
    lines += ["| " + " | ".join(esc(v) for v in row) + " |" for row in f.itertuples(index=False)]
    return "\n".join(lines) + "\n"
