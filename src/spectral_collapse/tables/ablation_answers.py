"""The values the ablation chapters quote, by name. Costs: the ablation summary and one comparison (< 1 s)."""
from __future__ import annotations

import json

import pandas as pd
import xarray as xr

from ..studies.ablations import ablation_summary
from .ablations import ablation_comparison, failed_samples, percent_improved, weak_models
from .main_answers import verdict_answers

__all__ = ["ablation_answers", "vae_answers", "x0_answers", "scale_answers"]


def ablation_answers(ds: xr.Dataset, claim_table: pd.DataFrame) -> dict[str, str]:
    """The claims' verdicts, ``weak_models`` and each arm's mean per method and metric (``<arm>_<method>_<metric>``)."""
    out = {**verdict_answers(claim_table), "weak_models": ", ".join(weak_models(ds)) or "none"}
    axes = json.loads(ds.attrs["axes"])
    for _, r in ablation_summary(ds).iterrows():
        out["_".join(str(r[a]) for a in axes) + f"_{r['method']}_{r['metric']}"] = f"{r['mean']:.3f}"
    return out


def vae_answers(ds: xr.Dataset) -> dict[str, str]:
    """The latent arm's autoencoder as stored (``vae_*``), "not stored" for a missing value."""
    latent = json.loads(ds.attrs["per_arm"])["latent"]
    vae = json.loads(latent.get("latent_space_info") or "{}")
    vae.update(json.loads(latent.get("latent_space") or "{}"))
    shown = {"test_reconstruction_psnr": "{:.2f}", "scaling_factor": "{:.4g}", "encode": "{}"}
    return {f"vae_{k}": fmt.format(vae[k]) if k in vae else "not stored" for k, fmt in shown.items()}


def x0_answers(ds: xr.Dataset) -> dict[str, str]:
    """Per metric, the share of comparisons x0 improves, their count and the paper's; the x0 arm's failures."""
    out = {}
    for metric, r in percent_improved(ds).set_index("metric").iterrows():
        out[f"x0_{metric}"] = f"{100 * r['improved']:.0f} %"
        out[f"x0_{metric}_n"] = str(int(r["comparisons"]))
        out[f"x0_{metric}_paper"] = f"{100 * r['paper_improved']:.1f} %" if r["paper_improved"] == r["paper_improved"] \
            else "—"
    failed = {m: failed_samples(ds, {"parameterization": "x0"}, m) for m in ds["method"].values}
    out["x0_failed"] = "; ".join(f"{m}: {f} of {n}" for m, (f, n) in failed.items() if f) or "none"
    return out


def scale_answers(ds: xr.Dataset) -> dict[str, str]:
    """Per method and metric, our means over the factors and the paper's (``..._ours``, ``..._paper``)."""
    cmp = ablation_comparison(ds)
    paper_col = next(c for c in cmp.columns if c in ("paper_scale", "paper_factor"))
    out = {}
    for m in ("ddim", "taba", "ovg"):
        for metric in ("psnr", "s_hf", "s_dc"):
            rows = cmp[(cmp["method"] == m) & (cmp["metric"] == metric)]
            ours = ", ".join(f"{v:.3f} (×{f})" for f, v in zip(rows["factor"], rows["ours_mean"]))
            paper = ", ".join(f"{v:.3f} (×{str(s)[1:]})" for s, v in zip(rows[paper_col], rows["paper_mean"]) if v == v)
            out[f"{m}_{metric}_ours"] = ours or "n/a"
            out[f"{m}_{metric}_paper"] = paper or "n/a"
    return out
