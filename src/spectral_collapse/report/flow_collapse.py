"""What the flow_collapse chapter shows: its table with 95 % intervals over crops, the latent norms, the verdicts
(``studies.flow_collapse.findings``) and the run's settings. The latent-scaling remedy's label ("ddim_x1.15", the key
a user types) reads by its name in every table, verdict and setting ("DDIM (latent ×1.15)",
``plotting.labels.study_method_names``), and OVG's step sizes as every chapter writes them (``labels.step_size``)."""
from __future__ import annotations

import json

import pandas as pd
import xarray as xr

from ..plotting.labels import step_size, study_method_names
from ..studies.flow_collapse import LATENT_SCALE, SCALED_LABEL, findings
from .settings import settings_table
from .tables import format_summary

__all__ = ["FLOW_METRICS", "flow_table", "norm_table", "verdict_markdown", "flow_settings", "ovg_tuning_text",
           "sampler_note", "scaled_named", "NORM"]

NORM = "‖x_T‖²/d"   # the latent's mean squared norm per dimension, as the tables head it

# the main results' per-crop metrics, with the latent's norm ratio ||x_T||^2 / d beside S_DC (on unit-variance latents)
FLOW_METRICS = ("psnr", "s_hf", "delta_log_e_hf", "s_lf", "s_dc", "latent_norm_ratio")
_CLAIMS = {
    "collapse": "(a) Deterministic flow inversion collapses: S_DC of ddim below TABA's, and ddim's signed HF error "
                "below 0",
    "ovg": "(b) OVG removes it: S_DC up from ddim's, and the signed HF error toward 0 without overshooting",
    "scaled": f"(c) Scaling the inverted latent by {LATENT_SCALE:g} removes it: S_DC up from ddim's, and the signed HF "
              f"error toward 0 without overshooting",
}


def scaled_named(text) -> str:
    """``text`` with the study's own method labels ("ddim_x1.15") by their reader names ("DDIM (latent ×1.15)"),
    wherever one stands on its own outside a code span; a label inside code (the key a user types) stays."""
    import re

    names = study_method_names()
    keys = "|".join(re.escape(k) for k in sorted(names, key=len, reverse=True))
    parts = re.split(r"(`[^`\n]*`)", str(text))
    rx = re.compile(rf"(?<![\w\-./`])({keys})(?![\w\-/`])")
    return "".join(p if i % 2 else rx.sub(lambda m: names[m.group(1)], p) for i, p in enumerate(parts))


def flow_table(ds: xr.Dataset, digits: int = 3) -> pd.DataFrame:
    """Methods x metrics: each cell the mean over test crops with its 95 % bootstrap interval over crops, then the
    controls' rows (``report.tables.format_summary``); rows by the methods' names (``scaled_named``), the latent
    norm's column headed ``NORM``."""
    t = format_summary(ds, FLOW_METRICS, digits=digits)
    t.index = [scaled_named(m) for m in t.index]
    return t.rename(columns={"latent_norm_ratio": NORM})


def norm_table(ds: xr.Dataset) -> pd.DataFrame:
    """Mean ‖x_T‖²/d of the inverted latents per method (N(0, I) noise: 1), and its ratio to DDIM's: the latent-scaling
    remedy's is 1.15² = 1.3225 by construction. Rows by the methods' names."""
    from ..studies.aggregate import crop_values

    rows = {}
    ref = crop_values(ds, "latent_norm_ratio", "ddim").mean() if "ddim" in ds["method"].values else float("nan")
    for m in ds["method"].values.tolist():
        v = crop_values(ds, "latent_norm_ratio", m)
        mean = float(v.mean()) if len(v) else float("nan")
        rows[scaled_named(m)] = {NORM: round(mean, 4), "/ DDIM's": round(mean / ref, 4)}
    return pd.DataFrame.from_dict(rows, orient="index")


def verdict_markdown(ds: xr.Dataset) -> str:
    """One paragraph per claim: its verdict in bold and the numbers it rests on (paired bootstrap over crops)."""
    found = findings(ds)
    lines = [f"- **{_CLAIMS[k]}: {f.verdict}.** {scaled_named(f.detail)}" for k, f in found.items()]
    head = ("Each claim holds, does not hold or is inconclusive by the rule fixed before computing: a paired 95 % "
            "bootstrap interval over test crops against the metric's minimal effect (0.01 for S_DC, 0.05 for the "
            "signed HF error); a claim of several checks holds when all hold.")
    return head + "\n\n" + "\n".join(lines)


def _span(values) -> str:
    """A grid axis of step sizes in words: "10⁻⁸ to 10⁻⁵", or its one value (``labels.step_size``)."""
    values = [float(v) for v in values]
    return step_size(values[0]) if len(values) == 1 else f"{step_size(min(values))} to {step_size(max(values))}"


def _crops(idx) -> str:
    idx = [int(i) for i in idx]
    if len(idx) > 2 and idx == list(range(idx[0], idx[-1] + 1)):
        return f"crops {idx[0]}–{idx[-1]}"
    return "crop" + ("s " if len(idx) != 1 else " ") + ", ".join(map(str, idx))


_NAME = {"eta_hf": "eta_HF", "eta_lf": "eta_LF"}


def ovg_tuning_text(ds: xr.Dataset) -> str:
    """Markdown: OVG's step sizes on the flow model and how they were found (given to the study, or the Pareto
    rule's choice over a grid on validation crops, with how far the sweep grew the profile's grid), and, when the
    choice sits on an edge of the grid (the lowest or highest value of an axis), that the best step size may lie
    beyond the grid, so the OVG rows show the best point the grid holds, not necessarily OVG at its best."""
    from ..studies.pareto import default_grid

    used = json.loads(ds.attrs.get("ovg") or "{}")
    tuning = json.loads(ds.attrs.get("ovg_tuning") or "{}")
    head = f"**OVG step sizes** eta_HF = {step_size(used['eta_hf'])}, eta_LF = {step_size(used['eta_lf'])}"
    grid, choice = tuning.get("grid") or {}, tuning.get("choice") or {}
    if not grid or not choice:
        return f"{head}: {used.get('source', '')}."
    try:
        first = dict(zip(("eta_hf", "eta_lf"), default_grid(ds.attrs.get("profile", "quick"))))
    except Exception:  # noqa: BLE001 - a profile this build does not know: the grid is given as stored
        first = {}
    grown = {a: [side for side, out in (("low", min(grid[a]) < min(first[a])), ("high", max(grid[a]) > max(first[a])))
                 if out] for a in grid if a in first}
    crops = tuning.get("tuning_crops") or []
    points = " × ".join(str(len(grid[a])) for a in ("eta_hf", "eta_lf"))
    text = (f"{head}, chosen by the Pareto rule {tuning.get('rule', '')} on {tuning.get('n_images', len(crops))} "
            f"validation crops{f' ({_crops(crops)})' if crops else ''}, none of them a test crop, over a grid of "
            f"eta_HF from {_span(grid['eta_hf'])} and eta_LF from {_span(grid['eta_lf'])} ({points} points)")
    if any(grown.values()):
        text += (f"; the profile's grid is eta_HF {_span(first['eta_hf'])} and eta_LF {_span(first['eta_lf'])}, and "
                 f"the sweep grew it beyond each edge its first choice sat on")
    text += "."
    for edge in tuning.get("choice_on_edge") or []:
        axis, side = str(edge).split()
        name, low = _NAME.get(axis, axis), side == "low"
        again = (f", even after the sweep grew the grid {'below' if low else 'above'} the profile's range"
                 if side in grown.get(axis, []) else "")
        text += (f"\n\n**The chosen {name} ({step_size(choice[axis])}) is the {'smallest' if low else 'largest'} value "
                 f"of the grid{again}.** A choice on the grid's edge means the best {name} for this model may lie "
                 f"{'below' if low else 'above'} it: the `ovg` rows show OVG at the best point the grid holds, not "
                 f"necessarily OVG at its best. Running this chapter with a {'smaller' if low else 'larger'} "
                 f"`{axis}` (a parameter of the notebook) tells whether OVG gains beyond the grid.")
    return text


def sampler_note(ds: xr.Dataset, checkpoint_root=None, weights_root=None) -> str:
    """Markdown: what the quality gate measured of the Euler steps this chapter inverts and samples with, for each
    flow-matching model the results name (``model_gate``), read from the gate report stored with its weights: the
    largest channel std and mean errors of Euler samples from noise beside the Heun samples the gate judges. ''
    when no stored report records Euler rows (a model measured before they were recorded, or a user's model)."""
    from pathlib import Path

    from ..studies.models import CHECKPOINT_ROOT
    from .model_quality import _stored_report
    from .settings import model_name

    try:
        used = json.loads(ds.attrs.get("model_gate") or "{}") or {}
    except (TypeError, ValueError):
        used = {}
    out = []
    for name in used:
        rep, _ = _stored_report(str(Path(checkpoint_root or CHECKPOINT_ROOT) / name), weights_root)
        eu = (rep.info.get("euler") or []) if rep is not None else []
        if not eu:
            continue
        r = rep.rows
        heun = r[(r["sampler"] == "Heun") & (r["check"] == "std")]["value"].max()
        s_eu = max(u["std"] for u in eu)
        out.append(f"Euler's own 50-step samples from noise, which is how this chapter's translations are sampled, "
                   f"have a channel spread off by up to {100 * s_eu:.1f} % (largest std error over labels; Heun's "
                   f"second-order steps from the same starts: {100 * heun:.1f} %; the gate judges "
                   f"`{model_name(name)}` with Heun). Every method here samples with those Euler steps (TABA's "
                   "randomness is in where its inversion starts), so that part of the error is shared and is not a "
                   "difference between methods.")
    return "\n\n".join(out)


def flow_settings(ds: xr.Dataset) -> pd.DataFrame:
    """The settings of the run (scores, the flow model's schedule and checkpoint, OVG's step sizes, the methods)."""
    extra = {f"latent scale of {scaled_named(SCALED_LABEL)}": ds.attrs.get("latent_scale", LATENT_SCALE)}
    if "flow_schedule" in ds.attrs:
        extra["flow schedule"] = json.loads(ds.attrs["flow_schedule"])
    tuning = json.loads(ds.attrs.get("ovg_tuning") or "{}")
    if tuning:
        extra["OVG tuning on the flow model"] = {k: tuning[k] for k in ("grid", "choice", "n_images", "rule",
                                                                       "choice_on_edge") if k in tuning}
    table = settings_table(ds, ("wavelet", "mu_hf", "s_hf_unit", "s_lf_kappa", "s_lf_condition", "s_dc_definition",
                                "ovg", "steps", "n_test", "checkpoints", "methods"), extra)
    if "value" in table:   # the methods' setting names the remedy by its name, as the tables do
        table["value"] = table["value"].map(lambda v: scaled_named(v) if isinstance(v, str) else v)
    return table
