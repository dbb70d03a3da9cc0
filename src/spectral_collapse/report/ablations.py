"""What the ablation chapters say about their results (paper Sec. 6.3, Tables 3-6): our tables, the join with the
paper's BBBC021 rows, Table 6's "% improved", what was trained, the verdict paragraphs.

Everything here is computed from a study's ``xr.Dataset`` (``studies.ablations.run_ablation_spec``); the per-arm
aggregation (``ablation_summary``, ``improvement_table``) is in ``spectral_collapse.studies.ablations``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import xarray as xr

from ..reference import paper_tables
from ..studies.ablations import ABLATIONS, ablation_summary, axis_values, paper_key
from ..studies.aggregate import TABLE_METRICS, cell_text
from ..studies.validity import failed_of

__all__ = ["format_ablation", "ablation_comparison", "paper_table", "percent_improved", "percent_table",
           "factor_key", "trained_models", "latent_space_text", "run_settings", "ablation_verdict"]


def format_ablation(ds: xr.Dataset, metrics=TABLE_METRICS, digits: int = 3) -> pd.DataFrame:
    """Rows (axis values, method), columns metrics, cells as ``aggregate.cell_text`` (the paper's tables' layout)."""
    s = ablation_summary(ds, metrics)
    failed = s["failed"] if "failed" in s else [0] * len(s)
    n = s["n"] if "n" in s else [None] * len(s)
    lo, hi = (s["lo"], s["hi"]) if "lo" in s else ([None] * len(s), [None] * len(s))
    s["cell"] = [cell_text(m, d, failed=f, n=k, digits=digits, lo=a, hi=b)
                 for m, d, f, k, a, b in zip(s["mean"], s["std"], failed, n, lo, hi)]
    axes = list(axis_values(ds)[0])
    t = s.pivot_table(index=[*axes, "method"], columns="metric", values="cell", aggfunc="first", sort=False)
    return t[[m for m in metrics if m in t.columns]]


def ablation_comparison(ds: xr.Dataset, metrics=TABLE_METRICS) -> pd.DataFrame:
    """Our (mean, std) beside the paper's (BBBC021) number for each (arm, method, metric): a join on those keys.

    For eps_vs_x0 the eps arms are joined with the paper's eps models per factor (Table 5); Table 6 itself is the
    share of improved cells (percent_improved).
    """
    study = ds.attrs["study"]
    table = "table5" if study == "eps_vs_x0" else ABLATIONS[study][1]
    ours = ablation_summary(ds, metrics).rename(columns={"mean": "ours_mean", "std": "ours_std"})
    paper = paper_tables()
    paper = paper[(paper.table == table) & (paper.dataset == "bbbc021")]
    key = paper_key(ds)
    ax, col = key.columns[0], key["paper_column"].iloc[0]
    ours = ours.merge(key[[ax, "paper_value"]], on=ax, how="left")
    if study == "eps_vs_x0":
        ours.loc[ours["parameterization"] != "eps", "paper_value"] = None
    paper = paper.rename(columns={col: "paper_value", "mean": "paper_mean", "std": "paper_std"})
    out = ours.merge(paper[["paper_value", "method", "metric", "paper_mean", "paper_std"]],
                     on=["paper_value", "method", "metric"], how="left")
    return out.rename(columns={"paper_value": f"paper_{col}"})


def paper_table(ds: xr.Dataset, metrics=TABLE_METRICS, digits: int = 3) -> pd.DataFrame:
    """The chapter's comparison table: rows (arm, paper column, method), columns (ours_mean | paper_mean, metric)."""
    cmp = ablation_comparison(ds, metrics)
    axes = json.loads(ds.attrs["axes"])
    key = [c for c in cmp.columns if c.startswith("paper_") and c not in ("paper_mean", "paper_std")]
    wide = cmp.pivot_table(index=[*axes, *key, "method"], columns="metric", values=["ours_mean", "paper_mean"],
                           sort=False)
    return wide.round(digits)


def percent_improved(ds: xr.Dataset, metrics=TABLE_METRICS) -> pd.DataFrame:
    """Table 6 from this chapter's results, counted as the claims and the scorecard count it
    (``verdicts.share_table`` over ``paper_shares.x0_frames``): per metric, the share of distinct (method, factor)
    comparisons in which the x0 model beats the eps model (means over each comparison's crops; lower is better for
    LPIPS), its 95 % interval (bootstrap over crops; over seeds for the set-level S_G), the number of comparisons,
    beside the paper's share (``paper_improved``)."""
    from ..studies.paper_shares import x0_frames
    from ..studies.scorecard import Evidence, crop_frame, long_frame
    from ..studies.verdicts import share_table

    dataset = str(ds.attrs.get("dataset", ""))
    ev = Evidence(frame=long_frame(ds, "x0", dataset), crops=crop_frame(ds, "x0", dataset))
    frame, crops, xs, eps, by = x0_frames(ev)
    cols = ["metric", "improved", "lo", "hi", "comparisons", "unit", "notes"]
    out = (share_table(frame, crops, xs, eps, by, metrics).rename(columns={"share": "improved", "cases": "comparisons"})
           [cols] if xs and eps else pd.DataFrame(columns=cols))
    paper = paper_tables()
    paper = paper[(paper.table == "table6")][["metric", "mean"]].rename(columns={"mean": "paper_improved"})
    return out.merge(paper, on="metric", how="left")


def percent_table(ds: xr.Dataset, metrics=TABLE_METRICS) -> pd.DataFrame:
    """``percent_improved`` as the chapter shows it: our share with its interval, in percent, the comparisons it
    counts, and the paper's share."""
    pi = percent_improved(ds, metrics)
    ours = [f"{100 * v:.1f} % [{100 * a:.1f}, {100 * b:.1f}]" for v, a, b in zip(pi.improved, pi.lo, pi.hi)]
    return pd.DataFrame({"metric": pi.metric, "x0 better (95 % interval)": ours, "comparisons": pi.comparisons,
                         "interval over": pi.unit.map({"crop": "crops", "seed": "seeds"}).fillna(pi.unit),
                         "paper": (100 * pi.paper_improved).round(1).map(lambda v: f"{v:.1f} %" if v == v else "—"),
                         "notes": pi.notes}).set_index("metric")


def factor_key(ds: xr.Dataset) -> pd.DataFrame:
    """Which paper row each of our factors is compared with, with both input sizes (the paper's fields are 256 px)."""
    size = int(ds["truth_images"].shape[-1])
    key = paper_key(ds)
    key["our input (px)"] = [size // int(f) for f in key["factor"]]
    key["paper input (px)"] = [256 // int(v[1:]) if v else None for v in key["paper_value"]]
    return key


def trained_models(ds: xr.Dataset) -> pd.DataFrame:
    """One row per model behind the results: arm, checkpoint, backbone kind, parameters, steps, batch, data space
    (read from each checkpoint's config.json, or its shipped copy's in data/weights, where present)."""
    from ..train.shipped import shipped_dir

    rows = []
    for tag, attrs in json.loads(ds.attrs["per_arm"]).items():
        for par, path in json.loads(attrs.get("models") or "{}").items():
            row = {"arm": tag, "model": par, "checkpoint": os.path.basename(str(path)) or "(given)"}
            cfg_file = os.path.join(str(path), "config.json")
            if path and not os.path.exists(cfg_file):  # computed elsewhere: the shipped copy has the same config
                cfg_file = str(shipped_dir(path) / "config.json")
            if path and os.path.exists(cfg_file):
                cfg = json.loads(Path(cfg_file).read_text())
                bb = cfg["model"]["backbone"]
                row.update(backbone=bb.get("kind", "unet"), parameters=cfg.get("parameters"),
                           shape=f"{bb['in_channels']}x{bb['sample_size']}x{bb['sample_size']}",
                           steps=cfg["train"]["steps"], batch=cfg["train"]["batch_size"], lr=cfg["train"]["lr"])
            space = json.loads(attrs.get("latent_space") or "null")
            row["space"] = "pixel" if not space else json.dumps(space.get("vae", space.get("checkpoint", "")))[:80]
            rows.append(row)
    out = pd.DataFrame(rows)
    for col in ("parameters", "steps", "batch"):  # whole numbers, shown as such beside a missing one
        if col in out:
            out[col] = out[col].astype("Int64")
    return out


def latent_space_text(ds: xr.Dataset, arm: str = "latent") -> str:
    """Markdown: the latent arm's latent space (which VAE, how latents are encoded and scaled) and its reconstruction
    figures (test reconstruction PSNR and MSE), from the results' ``latent_space_info``; results older than that
    fall back to the VAE checkpoint's record when it is present here, else say how to show them."""
    attrs = json.loads(ds.attrs["per_arm"]).get(arm)
    if attrs is None:
        return f"No arm `{arm}` in these results."
    ls = json.loads(attrs.get("latent_space") or "null") or {}
    vae = ls.get("vae")
    if vae == "trained":
        what = f"a VAE trained on this dataset (checkpoint `{ls.get('checkpoint')}`)"
    elif isinstance(vae, dict):
        sub = f", subfolder `{vae['subfolder']}`" if vae.get("subfolder") else ""
        what = f"the pretrained VAE `{vae.get('source')}`{sub}"
    else:
        what = "a VAE"
    info = json.loads(attrs.get("latent_space_info") or "null")
    scale = ls.get("scaling_factor", (info or {}).get("scaling_factor"))
    how = [f"encoded by the posterior {ls['encode']}" if ls.get("encode") else "",
           f"scaled by {float(scale):.4g} (unit variance on the training crops)" if scale is not None else ""]
    how = " and ".join(h for h in how if h)
    lines = [f"The {arm} arm diffuses in the latents of {what}" + (f", {how}." if how else ".")]
    if info is None and ls.get("checkpoint"):
        from ..studies.models import CHECKPOINT_ROOT

        f = Path(CHECKPOINT_ROOT) / ls["checkpoint"] / "latent_space.json"
        if f.exists():
            info = json.loads(f.read_text())
        else:
            lines.append("Its reconstruction figures are not stored with these results, and its checkpoint is not "
                         "present here: rerun the study (rerun=True) to show them.")
    if info and "test_reconstruction_psnr" in info:
        mse = info.get("test_reconstruction_mse")
        lines.append(f"It reconstructs the held-out test crops at PSNR {info['test_reconstruction_psnr']:.2f} dB"
                     + (f" (MSE {mse:.4f})." if mse is not None else "."))
    return " ".join(lines)


def run_settings(ds: xr.Dataset) -> pd.DataFrame:
    """The run's settings as a table: steps, test images, OVG step sizes, metric conventions, each arm's models,
    when it was computed and with which packages."""
    from .settings import settings_table

    arms = {f"arm {tag}": {k: a.get(k) for k in ("backbone", "space", "parameterization", "wavelet", "latent_space")
                           if a.get(k) is not None} for tag, a in json.loads(ds.attrs["per_arm"]).items()}
    return settings_table(ds, ("steps", "n_test", "ovg", "s_hf_unit", "s_lf_condition", "s_dc_definition", "axes"),
                          extra=arms)


def _x0_failed_note(ds: xr.Dataset) -> str:
    """Which (method, factor) cells of the x0 arms have failed samples (``studies.validity``), and why."""
    failed = failed_of(ds)
    if "parameterization" not in ds.dims or failed is None:
        return ""
    share = failed.sel(parameterization="x0").mean([d for d in failed.dims
                                                      if d not in ("method", "factor", "parameterization")])
    bad = [(str(m), int(f), float(share.sel({"method": m}).sel(factor=f)))
           for m in share["method"].values for f in share["factor"].values
           if float(share.sel({"method": m}).sel(factor=f)) > 0]
    if not bad:
        return ""
    cells = ", ".join(f"{m} x{f} ({100 * v:.0f}% of samples)" for m, f, v in bad)
    stable = ("ovg_stable" in ds["method"].values and
              not bool(failed.sel({"method": "ovg_stable", "parameterization": "x0"}).any()))
    return (f" Failed samples with the x0 models (non-finite, or beyond the bounds of `studies.validity`): {cells}. "
            "OVG as the paper writes it (Eq. 7-14) differentiates ||eps||^2 with eps = (x - x0_hat) / sigma, which an "
            "x0 model only gives through a division by the small sigma of the first inversion steps, so a fixed step "
            "size overshoots there. Cells with failed samples show their failed count and the number of samples "
            "their mean runs over; the shares above leave them out."
            + (" The stable form (`ovg_stable`: an Euler step in sigma with a trust region, see the OVG method page) "
               "kept every sample of the x0 models." if stable else ""))


_PAPER_SAYS = {
    "backbone_ablation": "collapse under DDIM with both backbones and recovery under TABA / OVG (Table 3)",
    "space_ablation": "collapse under DDIM in pixel space as in latent space (Table 4)",
    "scale_factor": "collapse under DDIM at every factor, deepening as the input gets sparser (Table 5, Fig. 3)",
    "eps_vs_x0": "x0-prediction a cure for collapse (S_HF, S_DC improve in most comparisons) that rarely improves "
                 "structure (S_LF, PSNR; Table 6)"}


def ablation_verdict(ds: xr.Dataset) -> str:
    """Markdown, from the numbers: what the paper reports for this ablation, then each claim of the claims page that
    reads it (``studies.claims``), judged on this chapter's results alone by the same rule and in the same words
    (holds / does not hold / inconclusive, with paired 95 % intervals over crops), and the x0 arms' failed samples."""
    from ..studies.claims import chapter_claims, findings_markdown

    study = ds.attrs["study"]
    lines = findings_markdown(chapter_claims(ds))
    note = _x0_failed_note(ds).strip() if study == "eps_vs_x0" else ""
    return (f"The paper reports {_PAPER_SAYS[study]}. Our numbers, judged by the claims page's rule on this "
            f"chapter's results (a comparison holds when its paired 95 % interval over crops excludes 0 on the "
            f"claimed side by more than the metric's minimal effect; a share when its interval lies wholly on the "
            f"paper's side of 50 %):\n\n" + lines + (f"\n\n{note}" if note else ""))
