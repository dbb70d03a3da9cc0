"""The values the main-results chapter and every claims chapter quote, by name. Costs: a few seconds."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from ..claims.compare import real_band
from ..claims.paper import rules_text
from ..framework.aggregate import METRIC_NAMES, coinciding_methods
from ..framework.oracle_arm import arm_results
from ..framework.realism import realism_gate, texture_table, texture_verdict
from ..framework.store import load_results, results_path
from ..metrics.latent import ks_resolution
from .closed_form_answers import inside_blocks
from .support import fill_answers
from ..reference import paper_counterpart
from ..studies.pareto_tuning import validation_test_gap
from ..text import step_size
from .latents import smallest_norm_error
from .main_results import control_beyond, failed_counts, null_class_scale, paper_comparison, paper_null_equals_direct

__all__ = ["READS", "stored_reads", "verdict_answers", "main_results_answers", "share"]

READS = ("pareto", "seed_spread", "gaussianity", "closed_form")   # the studies whose stored results it quotes


def stored_reads(dataset: str, profile: str, results_root="data/results", studies=READS) -> dict:
    """{study: its stored results, or None when not stored or unreadable} for ``studies`` of one dataset and profile."""
    out = {}
    for study in studies:
        try:
            out[study] = load_results(results_path(study, dataset, profile, results_root))
        except (FileNotFoundError, KeyError, ValueError, OSError):
            out[study] = None
    return out


def verdict_answers(claim_table: pd.DataFrame) -> dict[str, str]:
    """``claim_<key>`` (the verdict) and ``effect_<key>`` ("no gap measured" without one) of each row of a
    ``chapter_verdicts`` table, and ``claims_rule``, the rules that decided them."""
    out = {}
    for k, v, e in zip(claim_table["claim"], claim_table["verdict"], claim_table["effect"]):
        out[f"claim_{k}"] = v
        out[f"effect_{k}"] = e or "no gap measured"
    out["claims_rule"] = rules_text(claim_table)
    return out


def share(v) -> str:
    """A fraction as a whole percent: "37 %"."""
    return f"{100 * v:.0f} %"


def _names(metrics) -> str:
    return ", ".join(METRIC_NAMES.get(m, m) for m in metrics) or "none"


def _texture(ds: xr.Dataset) -> dict[str, str]:
    realism = "kid_wav" in ds and "reference_wav_features" in ds
    tex = texture_table(ds) if realism else None
    out = {}
    for a, b in (("ovg", "ddim"), ("ovg_taba", "taba"), ("ovg_edm", "edm")):
        got = texture_verdict(ds, a, b) if realism else None
        out[f"{a}_vs_{b}"] = got[0] if got else "not testable (no realism scores)"
    for m in ("ddim", "ovg", "taba", "ovg_taba"):
        for col, fmt in (("luma_x", ".2f"), ("chroma_x", ".1f"), ("kid_ratio", ".1f")):
            out[f"{m}_{col}"] = format(tex.loc[m, col], fmt) if tex is not None and m in tex.index else "n/a"
    gate = realism_gate(ds) if realism else None
    out["passing_scores"] = ", ".join(sorted(set(gate.loc[gate["passes"], "score"])) if realism else []) or "none"
    return out


def _numbers(ds: xr.Dataset) -> dict[str, str]:
    band = real_band(ds)
    ovg = json.loads(ds.attrs["ovg"])
    return {"copy_best": _names(control_beyond(ds, "copy", +1)),
            "truth_below": _names(control_beyond(ds, "ground_truth", -1)),
            "band": f"[{band[0]:+.2f}, {band[1]:+.2f}]" if band else "n/a",
            "failed": ", ".join(f"{m} {f} of {f + n}" for m, (f, n) in failed_counts(ds).items()) or "none",
            "coinciding": "; ".join(f"{a} and {b}" for a, b in coinciding_methods(ds).items()) or "none",
            "ovg_steps": f"η_HF = {step_size(ovg['eta_hf'])}, η_LF = {step_size(ovg['eta_lf'])} ({ovg['source']})"}


def _drift(ds: xr.Dataset, closed_form: xr.Dataset | None) -> dict[str, str]:
    drift = "ovg_drift_norm" in ds
    attrs = ds.attrs
    out = {name: share(attrs[key]) if drift else "n/a"
           for name, key in (("truth_chroma_share", "truth_detail_chroma_share"),
                             ("drift_chroma_share", "ovg_drift_total_chroma_share"),
                             ("white_chroma_share", "white_noise_chroma_share"))}
    norms = ds["ovg_drift_norm"].values if drift else None
    out["drift_first_step"] = share(norms[0] / norms.sum()) if drift else "n/a"
    edges = attrs.get("ovg_drift_block_edge_ratio") if drift else None
    out["drift_inside_blocks"] = inside_blocks(edges)
    orc = arm_results(ds, "oracle")    # the same diagnostics with the exact Gaussian denoiser, when stored
    odrift = orc is not None and "ovg_drift_norm" in orc
    oa = orc.attrs if odrift else {}
    out["oracle_drift_chroma_share"] = share(oa["ovg_drift_total_chroma_share"]) if odrift else "n/a"
    onorms = orc["ovg_drift_norm"].values if odrift else None
    out["oracle_drift_first_step"] = share(onorms[0] / onorms.sum()) if odrift else "n/a"
    white = attrs.get("white_noise_chroma_share") if drift else None
    out["oracle_colour_above_white"] = bool(odrift and white is not None
                                            and oa["ovg_drift_total_chroma_share"] > white)
    out["has_oracle_drift"] = bool(odrift)
    out["oracle_inside_blocks"] = inside_blocks(oa.get("ovg_drift_block_edge_ratio")) if odrift else "n/a"
    out["block_edge_ratio"] = f"{edges:.1f}" if edges is not None else "n/a"
    out["has_block_grid"] = edges is not None
    try:   # the closed-form chapter's chroma share of the least-variance directions
        cf = closed_form.attrs
        out["low_variance_chroma"] = f"{share(cf['low_chroma_target'])} (lowest {share(cf['low_fraction'])})"
    except (AttributeError, KeyError):
        out["low_variance_chroma"] = "n/a (the closed-form chapter's results are not stored)"
    return out


def _paper(ds: xr.Dataset) -> dict[str, str]:
    cmp = paper_comparison(ds)
    tables = " and ".join(t.replace("table", "Table ") for t in sorted({str(t) for t in cmp["table"].dropna()}))
    pds, scale = paper_counterpart(str(ds.attrs["dataset"]))
    task = json.loads(ds.attrs.get("task") or "{}")
    kind = [str(v) for v in (task.get("kind"), task.get("factor")) if v]
    w = null_class_scale(ds)
    same_rows = paper_null_equals_direct(cmp)
    return {"paper_tables": tables or "none", "paper_setting": f"{pds} {scale}".strip() or "none",
            "our_task": " ×".join(kind) or "n/a", "crop_px": str(ds.sizes["x"]),
            "null_w": f"{w:g}" if w is not None else "n/a (not run)",
            "paper_null_rows": {True: "equal", False: "different", None: "n/a"}[same_rows]}


def _latents(ds: xr.Dataset, gaussianity: xr.Dataset | None) -> dict[str, str]:
    n_set, d = int(ds.sizes["sample"]), int(np.prod(ds["latents"].shape[-3:]))
    n_g = int(gaussianity.attrs["n_latents"]) if gaussianity is not None and "n_latents" in gaussianity.attrs else None
    return {"seed0": str(int(ds["seed"].values[0])), "n_set": str(n_set), "latent_d": str(d),
            "ks_crit": f"{ks_resolution(n_set):.3f}", "norm_err": f"{100 * smallest_norm_error(n_set, d):.1f} %",
            "n_gauss": str(n_g) if n_g else "n/a",
            "norm_err_gauss": f"{100 * smallest_norm_error(n_g, d):.1f} %" if n_g else "n/a"}


def _tuning(ds: xr.Dataset, sweep: xr.Dataset | None) -> dict[str, str]:
    gap = validation_test_gap(sweep, ds) if sweep is not None else pd.DataFrame()

    def on_both(method, metric):
        row = gap[(gap["method"] == method) & (gap["metric"] == metric)] if len(gap) else gap
        if not len(row):
            return "n/a"
        r = row.iloc[0]
        fmt = "+.2f" if metric.startswith("delta") else ".3g" if metric == "kid_wav" else ".2f"
        return f"{r['validation']:{fmt}} on validation, {r['test']:{fmt}} on test"

    return {"tuning_split": str(sweep.attrs.get("tuning_split", "n/a")) if sweep is not None else "n/a",
            "tuning_n_val": str(int(gap["n_val"].max())) if len(gap) else "n/a",
            "gap_ddim_s_hf": on_both("ddim", "s_hf"), "gap_ovg_delta": on_both("ovg", "delta_log_e_hf"),
            "gap_ovg_chroma": on_both("ovg", "delta_log_e_hf_chroma"), "gap_ovg_kid": on_both("ovg", "kid_wav"),
            "gap_ddim_kid": on_both("ddim", "kid_wav")}


def main_results_answers(ds: xr.Dataset, claim_table: pd.DataFrame, reads: dict | None = None) -> dict[str, object]:
    """Every value the main-results chapter quotes, by name (``reads``: ``stored_reads``, missing ones "n/a")."""
    reads = reads or {}
    return {**verdict_answers(claim_table), **_texture(ds), **_numbers(ds), **_drift(ds, reads.get("closed_form")),
            **_paper(ds), **_latents(ds, reads.get("gaussianity")), **_tuning(ds, reads.get("pareto")),
            **fill_answers(ds)}
