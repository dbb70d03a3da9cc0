"""What the flow_collapse chapter shows: its table with 95 % intervals over crops, the latent norms, the verdicts
(``studies.flow_collapse.findings``) and the run's settings. The latent-scaling remedy's label ("ddim_x1.15", the key
a user types) reads by its name in every table, verdict and setting ("DDIM (latent ×1.15)",
``plotting.labels.study_method_names``), and OVG's step sizes as every chapter writes them (``labels.step_size``)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from ..plotting.labels import step_size, study_method_names
from ..studies.flow_collapse import LATENT_SCALE, SCALED_LABEL, findings
from ..studies.pareto import rule_words
from ..text import minus, signed, symbol
from ..studies.settings import settings_table
from .tables import format_summary

__all__ = ["FLOW_METRICS", "flow_table", "norm_table", "verdict_markdown", "flow_settings", "ovg_tuning_text",
           "sampler_note", "scaled_named", "verdict_rule", "copy_note", "raw_sdc_words", "NORM", "PATTERN", "CONTRAST", "pattern_ratio", "picture_text",
           "noise_quality"]

NORM = "‖x_T‖²/d"   # the latent's mean squared norm per dimension, as the tables head it
PATTERN = 5.0       # a latent set "shows a regular pattern" when its peak Fourier power over the median is ≥ 5 × noise's
CONTRAST = 0.25     # outputs are "over-contrasted" when their pixel spread exceeds the ground truth's by ≥ 25 %

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
    return verdict_rule(ds) + "\n\n" + "\n".join(lines)


def verdict_rule(ds: xr.Dataset) -> str:
    """Markdown: the rule every verdict below follows, stated before them: the paired interval against the metric's
    minimal effect (``MIN_EFFECT``), the overshoot rule of the signed texture check (``verdicts.texture_check``:
    a method whose mean error ends beyond the real crops' band on the other side from DDIM's does not hold,
    whatever its interval), and where that band comes from (``verdicts.real_band``, with its values), set apart
    from the ground-truth row's 95 % interval of the table."""
    from ..metrics.intervals import MIN_EFFECT, bootstrap_ci
    from ..studies.verdicts import real_band

    eff = lambda k: f"{MIN_EFFECT.get(k, 0.01):g}"  # noqa: E731
    text = ("Each claim holds, does not hold or is inconclusive by a rule fixed before computing. A check holds when "
            "the paired 95 % bootstrap interval over test crops of the difference lies beyond the metric's minimal "
            f"effect ({eff('s_dc')} for S_DC, {eff('delta_log_e_hf')} for the size of the signed HF error "
            "|Δlog E_HF|) in the claimed direction, does not hold when it lies beyond it the other way, and is "
            "inconclusive otherwise. The signed HF error check has one more rule: a method whose mean error ends "
            "beyond the real crops' band on the other side from DDIM's (DDIM too smooth, the method too noisy) "
            "overshoots, and the check does not hold whatever its interval says. A claim of several checks holds "
            "when all hold.")
    band = real_band(ds)
    if band is not None:
        gt = bootstrap_ci(ds["control_delta_log_e_hf"].sel(control="ground_truth").values)
        text += (f"\n\n**The real crops' band, [{signed(band[0], 2)}, {signed(band[1], 2)}]**, is the mean ± one "
                 "standard deviation of the ground truth's own per-crop Δlog E_HF: how far single real crops lie "
                 "from μ_HF. The ground truth (control) row of the table gives the 95 % interval of that mean, "
                 f"[{signed(gt.lo)}, {signed(gt.hi)}], a narrower range: it is not the band.")
    return text


def copy_note(ds: xr.Dataset, metrics=("psnr", "s_hf", "s_lf")) -> str:
    """Markdown: the metrics of ``metrics`` on which the untranslated input (``copy`` control) beats every method
    (``report.tables.copy_beats_every_method``), listed in words ("PSNR and S_LF") with the verb agreeing; ''
    when there is none."""
    from ..text import listed as and_list
    from .tables import METRIC_NAMES, copy_beats_every_method

    beaten = copy_beats_every_method(ds, list(metrics))
    if not beaten:
        return ""
    one = len(beaten) == 1
    return (f"**The untranslated input scores best on {and_list(METRIC_NAMES.get(m, m) for m in beaten)}.** The "
            f"`copy (control)` row beats every method there: {'that metric rewards' if one else 'those metrics reward'}"
            " doing nothing.")


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
    text = (f"{head}, chosen as {rule_words(tuning.get('rule', ''))} of the Pareto front on {tuning.get('n_images', len(crops))} "
            f"validation crops{f' ({_crops(crops)})' if crops else ''}, none of them a test crop, over a grid of "
            f"{symbol('eta_hf')} from {_span(grid['eta_hf'])} and {symbol('eta_lf')} from {_span(grid['eta_lf'])} "
            f"({points} points)")
    if any(grown.values()):
        text += (f"; that is the profile's grid ({symbol('eta_hf')} {_span(first['eta_hf'])}, "
                 f"{symbol('eta_lf')} {_span(first['eta_lf'])}) "
                 f"grown by one log step past each edge that a choice on it lies on")
    text += "."
    for edge in tuning.get("choice_on_edge") or []:
        axis, side = str(edge).split()
        name, low = _NAME.get(axis, axis), side == "low"
        again = (f", though the grid is grown {'below' if low else 'above'} the profile's range"
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
    from .stored_gates import stored_report
    from ..studies.method_labels import model_words

    try:
        used = json.loads(ds.attrs.get("model_gate") or "{}") or {}
    except (TypeError, ValueError):
        used = {}
    out = []
    for name in used:
        rep, _ = stored_report(str(Path(checkpoint_root or CHECKPOINT_ROOT) / name), weights_root)
        eu = (rep.info.get("euler") or []) if rep is not None else []
        if not eu:
            continue
        r = rep.rows
        heun = r[(r["sampler"] == "Heun") & (r["check"] == "std")]["value"].max()
        s_eu = max(u["std"] for u in eu)
        out.append(f"Euler's own 50-step samples from noise, which is how this chapter's translations are sampled, "
                   f"have a per-channel standard deviation off from the data's by up to {100 * s_eu:.1f} % "
                   f"(the largest error over labels; Heun's second-order steps from the same starts: "
                   f"{100 * heun:.1f} %; the gate judges "
                   f"{model_words(name)} with Heun). Every method here samples with those Euler steps (TABA's "
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
                                                                       "choice_on_edge", "tuning_crops")
                                                   if k in tuning}
    table = settings_table(ds, ("wavelet", "mu_hf", "s_hf_unit", "s_lf_kappa", "s_lf_condition", "s_dc_definition",
                                "ovg", "steps", "n_test", "checkpoints", "methods"), extra)
    if "value" in table:   # the methods' setting names the remedy by its name, as the tables do
        table["value"] = table["value"].map(lambda v: raw_sdc_words(scaled_named(v)) if isinstance(v, str) else v)
    return table


def raw_sdc_words(text: str) -> str:
    """A setting's clause on the raw decorrelation score in words: the stored "s_dc_raw: the same on the raw latent"
    (or its reader form "S_DC raw is the same on the latents as inverted") reads "s_dc_raw, the same score on the
    latents as inverted (not scaled to unit variance), stored beside it"; the key is named at display."""
    import re

    text = re.sub(r"s_dc_raw: the same on the raw latent|S_DC raw is the same on the latents as inverted",
                  "s_dc_raw, the same score on the latents as inverted (not scaled to unit variance), stored beside it",
                  text)
    return text.replace("flagged-patch ratio", "flagged share")   # the name the decorrelation chapter gives it


def _named(m: str) -> str:
    """A method's reader name: the study's own labels (``scaled_named``), then the suite's (``name_methods``)."""
    from ..studies.method_labels import name_methods

    named = scaled_named(m)
    return named if named != m else name_methods(m)


def pattern_ratio(latents) -> tuple[float, float]:
    """(ratio, frequency) of a set of latents (…, H, W), each channel scaled to unit variance: the power of the
    strongest Fourier coefficient (frequency 0 left out), averaged over the set, over the median coefficient's, and
    the radial frequency (cycles/pixel) of that peak. Noise gives a ratio near 1-2; a regular stripe or grid pattern
    shared by the latents gives a large one."""
    a = np.asarray(latents, dtype=np.float64)
    a = a / np.maximum(a.std(axis=(-2, -1), keepdims=True), 1e-12)
    power = (np.abs(np.fft.fft2(a)) ** 2).reshape(-1, *a.shape[-2:]).mean(axis=0)
    power[0, 0] = np.nan
    k = np.unravel_index(np.nanargmax(power), power.shape)
    f = float(np.hypot(np.fft.fftfreq(a.shape[-2])[k[0]], np.fft.fftfreq(a.shape[-1])[k[1]]))
    return float(np.nanmax(power) / np.nanmedian(power)), f


def picture_text(ds: xr.Dataset) -> str:
    """Markdown: what the pictures show beside the scores, by two rules fixed in constants. Latents: a method whose
    shown latents (first seed) have a ``pattern_ratio`` at least ``PATTERN`` times that of N(0, I) noise of the same
    shape shows a regular pattern; when its S_DC is still above DDIM's, the text says why S_DC misses it (S_DC flags
    patches smoother than noise; a pattern at a high frequency is not smooth). Outputs: a method whose shown outputs
    spread their pixels at least ``CONTRAST`` more than the ground truth's is over-contrasted, said beside its PSNR
    gap to DDIM's. '' when neither rule fires."""
    from ..studies.aggregate import crop_values

    methods = [str(m) for m in ds["method"].values]
    if "latents" not in ds or "ddim" not in methods:
        return ""
    idx = {m: i for i, m in enumerate(methods)}
    mean = lambda metric, m: float(np.nanmean(crop_values(ds, metric, m)))  # noqa: E731
    shown = ds["latents"].isel(seed=0)
    noise, _ = pattern_ratio(np.random.default_rng(0).standard_normal(shown.isel(method=0).shape))
    out = []
    for m in methods:
        ratio, f = pattern_ratio(shown.isel(method=idx[m]).values)
        if ratio < PATTERN * noise:
            continue
        text = (f"**{_named(m)}'s inverted latents show a regular pattern** (above): their strongest Fourier "
                f"frequency, {f:.2f} cycles/pixel, carries {ratio:.0f} times the power of the median one, against "
                f"{noise:.1f} for N(0, I) noise of the same shape (the rule: a ratio of at least {PATTERN:g} times "
                f"the noise's, here {PATTERN * noise:.1f}, marks a regular pattern)")
        if m != "ddim":
            d_ratio, _ = pattern_ratio(shown.isel(method=idx["ddim"]).values)
            text += f" and {d_ratio:.1f} for DDIM's"
        text += "."
        s_m, s_d = mean("s_dc", m), mean("s_dc", "ddim")
        if m != "ddim" and s_m > s_d:
            text += (f" Its $S_{{DC}}$ ({s_m:.3f}) is nonetheless above DDIM's ({s_d:.3f}): $S_{{DC}}$ flags patches "
                     "smoother than noise (correlated neighbours), and a pattern "
                     + ("at a high frequency alternates from pixel to pixel like noise does, so $S_{DC}$ does not "
                        "count it. The picture shows structure that the score misses."
                        if f >= 0.25 else "is not counted unless it makes its patches smooth. The picture shows "
                                          "structure that the score misses."))
        out.append(text)
    if "images" in ds and "truth_images" in ds:
        truth = np.asarray(ds["truth_images"].values, dtype=np.float64)
        t_std = truth.std(axis=(-3, -2, -1))
        for m in methods:
            o = np.asarray(ds["images"].isel(method=idx[m], seed=0).values, dtype=np.float64)
            ratio = float(np.nanmean(o.std(axis=(-3, -2, -1)) / t_std))
            if ratio < 1 + CONTRAST:
                continue
            gap = mean("psnr", m) - mean("psnr", "ddim")
            out.append(f"**{_named(m)}'s outputs are over-contrasted** (Translations, above): their pixels "
                       f"spread {100 * (ratio - 1):.0f} % more than the ground truth's (mean ratio of standard "
                       f"deviations over the crops shown, first seed; read as over-contrasted from "
                       f"{100 * CONTRAST:.0f} %), and "
                       f"its PSNR is {minus(f'{gap:+.2f}')} dB from DDIM's ({mean('psnr', m):.2f} against "
                       f"{mean('psnr', 'ddim'):.2f}). PSNR counts each pixel's distance to the ground truth, so "
                       "an over-contrasted output loses PSNR even where its structure is right.")
    return "\n\n".join(out)


def noise_quality(ds: xr.Dataset) -> tuple[pd.DataFrame, str]:
    """The flow model's samples from noise beside the reference they are read against: a table of the mean texture
    score S_HF of each model's samples and of the real target crops (the ground-truth control of the main table,
    with its 95 % interval over crops), and one sentence reading each model against the real crops by S_HF's minimal
    effect (``metrics.intervals.MIN_EFFECT``): within it, "scores as real crops do"; below it, "below"."""
    from ..metrics.intervals import MIN_EFFECT, bootstrap_ci

    if "noise_s_hf" not in ds:
        return pd.DataFrame(), ""
    rows, words = {}, []
    real = None
    if "control" in ds.dims and "control_s_hf" in ds and "ground_truth" in ds["control"].values.tolist():
        ci = bootstrap_ci(ds["control_s_hf"].sel(control="ground_truth").values)
        if ci.n:
            real = ci.mean
            rows["real target crops (ground truth of the test crops)"] = {
                "S_HF": f"{ci.mean:.3f} [{ci.lo:.3f}, {ci.hi:.3f}]"}
    eff = MIN_EFFECT["s_hf"]
    for m in ds["model"].values.tolist():
        v = float(ds["noise_s_hf"].sel(model=m).mean())
        rows[f"samples from noise, {m} model"] = {"S_HF": f"{v:.3f}"}
        if real is not None:
            gap = v - real
            how = ("score as the real crops do" if abs(gap) < eff else
                   "score above the real crops" if gap > 0 else "score below the real crops")
            words.append(f"the {m} model's samples {how} ({v:.3f} against {real:.3f}; a gap under {eff:g}, "
                         f"$S_{{HF}}$'s minimal effect, counts as none)")
    text = ("By texture, " + "; ".join(words) + ". $S_{HF}$ is higher for texture closer to the real crops'.") \
        if words else ""
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("samples"), text
