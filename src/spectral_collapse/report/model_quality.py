"""Tables and charts of the model-quality chapter (results of ``studies.model_quality``)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import xarray as xr

from ..studies.quality import CHECKS, THRESHOLDS, GateReport
from .stored_gates import (GATE_HEADERS, column_digits, gate_frame, gate_row, most_digits,  # noqa: F401  (imported from here)
                           replicate_gate_table, stored_gate_table, stored_report)

__all__ = ["CHECK_TEXT", "thresholds_table", "gate_table", "loss_chart", "sample_rows", "reports", "verdict_text",
           "start_table", "spectrum_failures", "decoder_ceiling", "below_gate_text",
           "mean_bias_table", "mean_bias_omitted_text", "loss_note", "edge_density_text", "stored_gate_table",
           "replicate_gate_table", "euler_text", "shown_name", "gate_frame", "column_digits", "GATE_HEADERS",
           "check_value", "vp_noise_levels", "start_text", "drift_text", "brightness_spread"]

CHECK_TEXT = {
    "spectrum": "largest |log10 power ratio| of samples to real crops over radial bands up to Nyquist",
    "mean": "largest relative error of a channel's mean intensity ([0, 1] scale)",
    "std": "largest relative error of a channel's standard deviation",
    "patches": "sliced Wasserstein distance of 4 x 4 patches to training crops, relative to held-out real crops'",
    "memorisation": "median distance to the nearest training crop, relative to held-out real crops' (the gate "
                    "tables' column nearest crop)",
    "plateau": "relative fall of the held-out loss over the last fifth of training",
}


def thresholds_table() -> pd.DataFrame:
    """Each check, what it measures and its rule."""
    rules = {c: ("at least" if c == "memorisation" else "below" if c == "plateau" else "at most") for c in CHECKS}
    return pd.DataFrame([{"check": c, "measures": CHECK_TEXT[c], "passes when": f"{rules[c]} {THRESHOLDS[c]:g}"}
                         for c in CHECKS])


def shown_name(ds: xr.Dataset, key: str) -> str:
    """A model of the set as every chapter names it: its checkpoint's name without the content hash
    (``settings.model_name``: "ihc-sr-x4-eps-quick", the profile it was trained at included); the set's key where the
    results record no checkpoint for it."""
    from ..train.cache import model_name

    from pathlib import Path

    folder = json.loads(getattr(ds, "attrs", {}).get("checkpoints", "{}") or "{}").get(key)
    return Path(model_name(folder)).name if folder else str(key)


def _named(ds: xr.Dataset, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its "model" index level (set keys) written as ``shown_name``."""
    if "model" not in (frame.index.names or []):
        return frame
    if isinstance(frame.index, pd.MultiIndex):
        level = frame.index.names.index("model")
        frame.index = frame.index.set_levels(
            [shown_name(ds, k) for k in frame.index.levels[level]], level=level, verify_integrity=False)
    else:
        frame.index = pd.Index([shown_name(ds, k) for k in frame.index], name="model")
    return frame


def reports(ds: xr.Dataset) -> dict[str, GateReport]:
    return {k: GateReport.from_dict(v) for k, v in json.loads(ds.attrs["gate_reports"]).items()}


def check_value(value: float, check: str, signed: bool = False) -> str:
    """``value`` of ``check`` at the precision its gate-table column allows (``most_digits``), so that a value
    the rule rejects never prints as its threshold ("+0.304", not "+0.30", beside "at most 0.3")."""
    return f"{value:{'+' if signed else ''}.{most_digits(check)}f}"


def gate_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per model: the verdict and the worst value of each check (over samplers and labels), as
    ``gate_frame`` shows them. (Each model's role and training steps are under its loss curves.)"""
    info = json.loads(ds.attrs["models"])
    rows = [gate_row(key, rep, info[key].get("steps")) for key, rep in reports(ds).items()]
    return _named(ds, gate_frame(rows))


def start_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per model and label, the deterministic sampler's channel-mean and std errors begun from the training data's
    Gaussian plus noise (what the gate judges) and from pure noise (recorded, not judged)."""
    rows = []
    for key, rep in reports(ds).items():
        r = rep.rows
        for u in rep.info.get("unit_start", []):
            judged = r[(r["sampler"] == u["sampler"]) & (r["label"] == u["label"])].set_index("check")["value"]
            rows.append({"model": key, "label": int(u["label"]), "sampler": u["sampler"],
                         "mean error, gate start": judged.get("mean"), "mean error, pure noise": u["mean"],
                         "std error, gate start": judged.get("std"), "std error, pure noise": u["std"]})
        for u in rep.info.get("euler", []):  # a flow model's own Euler steps, from the gate's start, not judged
            rows.append({"model": key, "label": int(u["label"]), "sampler": "Euler (not judged)",
                         "mean error, gate start": u["mean"], "mean error, pure noise": None,
                         "std error, gate start": u["std"], "std error, pure noise": None})
    cols = ["model", "label", "sampler", "mean error, gate start", "mean error, pure noise", "std error, gate start",
            "std error, pure noise"]
    return _named(ds, pd.DataFrame(rows, columns=cols).set_index(["model", "label"]).round(3))


def euler_text(ds: xr.Dataset) -> str:
    """Markdown: for each flow-matching model, why the gate judges it with Heun and what the Euler steps of its
    inversions give from the same starts (the largest std and mean errors over labels, against the gate's
    thresholds); '' without a flow model."""
    out = []
    for key, rep in reports(ds).items():
        eu = rep.info.get("euler") or []
        if not eu:
            continue
        r = rep.rows
        heun = r[(r["sampler"] == "Heun") & r["check"].isin(["std", "mean"])].groupby("check")["value"].max()
        s_eu, m_eu = max(u["std"] for u in eu), max(u["mean"] for u in eu)
        over = [f"{n} error {v:.3f} against {THRESHOLDS[n]:g}" for n, v in (("std", s_eu), ("mean", m_eu))
                if v > THRESHOLDS[n]]
        out.append(
            f"`{shown_name(ds, key)}` is a flow-matching model: the gate judges it with Heun's second-order steps on its own time "
            f"grid (largest std error {heun.get('std', float('nan')):.3f}, mean error {heun.get('mean', float('nan')):.3f}), "
            f"as it judges the EDM models. The Euler steps its inversions take, run from the same starts, give a "
            f"largest std error of {s_eu:.3f} and mean error of {m_eu:.3f} (rows *Euler (not judged)*)"
            + (f"; judged with them it would fail ({'; '.join(over)})" if over else "")
            + ". At 50 steps Euler's first-order error shrinks the samples' spread: that is the sampler's error, "
            "which the flow-matching chapter's translations carry, not the model's.")
    return "\n\n".join(out)


def spectrum_failures(ds: xr.Dataset) -> pd.DataFrame:
    """Where each failed spectrum check fails: per model, label and sampler, the radial bands (1 = lowest non-zero
    frequency, 16 = Nyquist on 32-pixel crops) whose log10 power ratio leaves the threshold, with the ratio. Too much
    power across the upper bands is static, too little is blur; isolated bands at the spectral zeros of
    nearest-neighbour upsampling are notches the model fills."""
    rows = []
    for key, rep in reports(ds).items():
        r = rep.rows
        bad = r[(r["check"] == "spectrum") & (r["passed"] == False)]  # noqa: E712 (None: not judged)
        for _, b in bad.iterrows():
            bands = np.asarray(b.get("bands") if isinstance(b.get("bands"), (list, np.ndarray)) else [], float)
            out = [f"{k + 1}: {check_value(v, 'spectrum', signed=True)}" for k, v in enumerate(bands) if abs(v) > THRESHOLDS["spectrum"]]
            rows.append({"model": key, "label": int(b["label"]), "sampler": b["sampler"],
                         "bands over the rule (band: log10 ratio)": ", ".join(out) or "—"})
    cols = ["model", "label", "sampler", "bands over the rule (band: log10 ratio)"]
    return _named(ds, pd.DataFrame(rows, columns=cols).set_index(["model", "label"]))


def _autoencoder(info: dict) -> str | None:
    return next((k for k, m in info.items() if m.get("parameterization") == "vae"), None)


def decoder_ceiling(ds: xr.Dataset) -> pd.DataFrame:
    """For each failed spectrum check of a latent-space model, in each band outside the rule: the model's log10 power
    ratio beside the ratio of the autoencoder's own reconstructions of held-out crops of that label, and the share of
    the model's shortfall (or excess) the decoder already shows. A latent model's samples are decoded by that
    decoder, so a band the decoder cannot reconstruct is a band no latent model of it can sample; a share near 100 %
    puts the failure on the autoencoder, not on the diffusion model. Empty without a latent model or an autoencoder."""
    info = json.loads(ds.attrs["models"])
    reps = reports(ds)
    vae = _autoencoder(info)
    cols = ["model", "label", "sampler", "band", "model's log10 ratio", "decoder's log10 ratio", "decoder's share"]
    rows = []
    if vae is not None:
        vr = reps[vae].rows
        for key, rep in reps.items():
            if info.get(key, {}).get("space") != "latent" or info[key].get("parameterization") == "vae":
                continue
            r = rep.rows
            for _, b in r[(r["check"] == "spectrum") & (r["passed"] == False)].iterrows():  # noqa: E712
                ref = vr[(vr["check"] == "spectrum") & (vr["label"] == b["label"])]
                if ref.empty or not isinstance(b.get("bands"), (list, np.ndarray)):
                    continue
                mine, dec = np.asarray(b["bands"], float), np.asarray(ref.iloc[0]["bands"], float)
                for k in np.flatnonzero(np.abs(mine) > THRESHOLDS["spectrum"]):
                    rows.append({"model": key, "label": int(b["label"]), "sampler": b["sampler"], "band": int(k) + 1,
                                 "model's log10 ratio": round(float(mine[k]), 3),
                                 "decoder's log10 ratio": round(float(dec[k]), 3),
                                 "decoder's share": f"{100 * dec[k] / mine[k]:.0f} %"})
    return _named(ds, pd.DataFrame(rows, columns=cols).set_index(["model", "label"]))


def below_gate_text(ds: xr.Dataset) -> str:
    """What the chapters do with each model below the gate: the models the profile keeps as arms with their failures
    shown (``Profile.allow_weak_models``) and those a study refuses; for a latent-space model, how much of its
    spectrum failure its autoencoder's reconstructions already show (``decoder_ceiling``). "" when every model
    passes."""
    from ..studies.profiles import get_profile

    info = json.loads(ds.attrs["models"])
    bad = [k for k, r in reports(ds).items() if not r.passed]
    if not bad:
        return ""
    allowed = get_profile(ds.attrs.get("profile", "quick")).allow_weak_models
    kept = bad if allowed is True else [k for k in bad if allowed and k in allowed]
    refused = [k for k in bad if k not in kept]
    parts = []
    if kept:
        parts.append(f"The studies run {', '.join(f'`{shown_name(ds, k)}`' for k in kept)} below the gate: each chapter that uses "
                     f"{'it' if len(kept) == 1 else 'one of them'} carries a warning naming the failed checks, and its "
                     f"results speak about that model as measured here, not about a model of the data.")
    if refused:
        parts.append(f"The studies refuse {', '.join(f'`{shown_name(ds, k)}`' for k in refused)} until {'it passes' if len(refused) == 1 else 'they pass'}.")
    ceil = decoder_ceiling(ds).reset_index()
    for key, g in ceil.groupby("model", sort=False):
        w = g.loc[g["model's log10 ratio"].abs().idxmax()]
        mine, dec, share = w["model's log10 ratio"], w["decoder's log10 ratio"], w["decoder's share"]
        bands = sorted(g["band"].unique())
        parts.append(
            f"`{key}` diffuses in the latent space of `{shown_name(ds, _autoencoder(info))}`; its spectrum fails in "
            f"band{'s' if len(bands) > 1 else ''} {', '.join(str(b) for b in bands)} (worst {check_value(mine, 'spectrum', signed=True)} at band "
            f"{w['band']}, label {w['label']}), where the autoencoder's reconstructions of held-out crops already read "
            f"{check_value(dec, 'spectrum', signed=True)} ({share} of it). The decoder loses that band even on the encodings of real crops, so this "
            f"arm needs a sharper autoencoder (wider, or trained longer) to pass, not a longer-trained diffusion model.")
    return " ".join(parts)


def signed_percent(value: float, digits: int = 1) -> str:
    """A signed percentage as a table shows it, "+0.4 %", "−0.1 %"; a value that rounds to zero is "0.0 %" with no
    sign, so "+0.0 %" and "0.0 %" never stand for the same reading."""
    shown = f"{value:.{digits}f}"
    if float(shown) == 0:
        return f"{0:.{digits}f} %"
    return f"{value:+.{digits}f} %"


def mean_bias_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per model and label, at each noise level: the error of the denoised colour-channel mean on real crops, the
    channel that strays most (signed, % of the crops' mean on the [0, 1] scale); "—" above the model's highest noise
    level. Models without the measurement (the autoencoder, a latent-space model, results stored without it) are
    left out."""
    if "mean_bias" not in ds:
        return pd.DataFrame()
    rows = []
    for key in ds["model"].values.tolist():
        m = ds["mean_bias"].sel(model=key)
        if bool(m.isnull().all()):
            continue
        for lab in (0, 1):
            row = {"model": key, "label": lab}
            for sig in m["bias_sigma"].values:
                v = m.sel(label=lab, bias_sigma=sig).values
                row[f"σ = {sig:g}"] = "—" if np.isnan(v).all() else signed_percent(100 * v[np.nanargmax(np.abs(v))])
            rows.append(row)
    return _named(ds, pd.DataFrame(rows).set_index(["model", "label"])) if rows else pd.DataFrame()


def mean_bias_omitted_text(ds: xr.Dataset) -> str:
    """Which models the colour-drift table leaves out, and why: an autoencoder denoises nothing, and a latent-space
    model's channels are latent channels, not colours. "" when none is left out."""
    info = json.loads(ds.attrs["models"])
    shown = set(mean_bias_table(ds).index.get_level_values(0)) if "mean_bias" in ds else set()
    keys = ds["model"].values.tolist()
    vae = [shown_name(ds, k) for k in keys if info.get(k, {}).get("parameterization") == "vae"]
    latent = [shown_name(ds, k) for k in keys
              if info.get(k, {}).get("parameterization") != "vae" and info.get(k, {}).get("space") == "latent"]
    other = [n for n in map(lambda k: shown_name(ds, k), keys) if n not in shown and n not in vae and n not in latent]
    parts = []
    if vae:
        parts.append(f"{', '.join(f'`{k}`' for k in vae)} {'is an autoencoder' if len(vae) == 1 else 'are autoencoders'}: "
                     "it reconstructs images and denoises nothing (its reconstructions are judged in the gate table)")
    if latent:
        parts.append(f"{', '.join(f'`{k}`' for k in latent)} diffuse{'s' if len(latent) == 1 else ''} in a latent "
                     "space, whose channels are not colours")
    if other:
        parts.append(f"{', '.join(f'`{k}`' for k in other)}: no measurement stored with these results")
    return ("Left out of the table: " + "; ".join(parts) + ".") if parts else ""


def _train_config(ds: xr.Dataset, key: str) -> dict:
    folder = json.loads(ds.attrs.get("checkpoints", "{}")).get(key)
    return stored_report(folder)[1] if folder else {}


def loss_note(ds: xr.Dataset, key: str) -> str:
    """What the two loss curves of a model measure, from its training configuration: the training loss is the
    objective as trained (with its loss weighting, on the raw weights, averaged over 50 steps), the held-out loss
    the objective without any weighting (``train.heldout``: EMA weights, held-out crops, mean over the noise
    bands). When the training loss is weighted the two are on different scales, and the gap between the curves is
    the weighting, not over- or under-fitting."""
    from ..studies.method_labels import MODEL_WORDS

    train = (_train_config(ds, key).get("train") or {})
    obj = train.get("objective")
    if not obj:
        return ""
    said = MODEL_WORDS.get(obj, f"`{obj}`")   # the objective by the model kind it trains: "the ε-prediction objective"
    if train.get("truncated_snr"):
        weight = "max(1, σ²)" if obj == "eps" else "max(1, 1/σ²)"
        return (f"The training loss is the {said} objective weighted by {weight} (truncated-SNR weighting, at least 1 "
                "at every noise level); the held-out loss is the same objective unweighted. The training curve "
                "therefore sits above the held-out one by the weighting, not by over-fitting: read each curve's "
                "fall, not the gap between them.")
    if train.get("min_snr_gamma"):
        return (f"The training loss is the {said} objective with min-SNR weighting (gamma {train['min_snr_gamma']:g}, "
                "at most 1); the held-out loss is the same objective unweighted, so the two are on different "
                "scales: read each curve's fall, not the gap between them.")
    return (f"Both curves are the {said} objective with the same weighting; they differ in the weights (raw for "
            "training, EMA for held-out), the crops (training batches against the held-out crops) and the noise "
            "levels (random draws against fixed draws in four bands).")


def _worst_with_sampler(rows: pd.DataFrame, check: str) -> str:
    """"mean 0.011 (stochastic Heun)": a check's worst value over the gate's samplers, with the sampler that gave it."""
    r = rows.loc[rows["value"].astype(float).idxmax()]
    sampler = str(r.get("sampler") or "").strip()
    return f"{check} {float(r['value']):.3f}" + (f" ({sampler})" if sampler else "")


def edge_density_text(ds: xr.Dataset, white: float = 0.9) -> str:
    """One sentence per edge-map dataset (a task of kind "edges", whose source label 0 is the edge maps): the share
    of edge pixels (BT.601 luma below ``white`` on the [-1, 1] scale, the threshold S_LF's non-white mask uses) in
    each model's sampled edge maps shown and in the real edge maps beside them, with the gate's label-0 mean and std
    errors, and why the gate passes denser maps. "" without an edge-map model."""
    from ..studies.models import dataset_for

    info = json.loads(ds.attrs["models"])
    luma = np.array([0.299, 0.587, 0.114]).reshape(1, 3, 1, 1)
    by_data: dict[str, list[str]] = {}
    for key in ds["model"].values.tolist():
        m = info.get(key, {})
        if m.get("parameterization") == "vae" or m.get("space") == "latent":
            continue
        try:
            kind = dataset_for(ds.attrs.get("profile", "quick"), m["dataset"]).task.kind
        except Exception:  # noqa: BLE001 - a dataset not available here: no sentence for it
            continue
        if kind == "edges":
            by_data.setdefault(m["dataset"], []).append(key)
    reps = reports(ds)
    out = []
    for data, keys in by_data.items():
        def share(a):
            a = np.asarray(a, float)
            return float(((a[:, :3] * luma).sum(1) < white).mean()) if a.shape[1] >= 3 else float((a[:, 0] < white).mean())

        real = share(ds["real"].sel(model=keys[0], label=0).values)
        parts = [f"`{shown_name(ds, k)}` {100 * share(ds['samples'].sel(model=k, label=0).values):.0f} %" for k in keys]
        errs = []
        for k in keys:
            r = reps[k].rows
            lab0 = r[(r["label"] == 0) & r["check"].isin(["mean", "std"])]
            if len(lab0):
                errs.append(f"`{shown_name(ds, k)}` " + ", ".join(
                    _worst_with_sampler(lab0[lab0["check"] == c], c) for c in ("mean", "std")
                    if (lab0["check"] == c).any()))
        n = ds.sizes.get("image", 0)
        out.append(
            f"On {data}, edge pixels (luma below {white:g} on the [-1, 1] scale) cover {', '.join(parts)} of the "
            f"{n} sampled edge maps shown per model, against {100 * real:.0f} % of the {n} real edge maps beside them. "
            f"The gate judges edge maps by their channel means and standard deviations, spectra and 4 x 4 patch "
            f"statistics over all its samples. Its label-0 relative errors (each the worse of its deterministic and "
            f"stochastic samplers', named by the sampler that gives it) are {'; '.join(errs)} (threshold "
            f"{THRESHOLDS['mean']:g} for each; the table *Where sampling starts* gives the deterministic sampler's "
            f"errors alone). None of its checks counts edge pixels or asks whether edges join up, so maps "
            f"denser or more broken than the real ones can pass, and the eight shown are a small sample of them.")
    return " ".join(out)


def verdict_text(ds: xr.Dataset) -> str:
    """One sentence: how many models pass, and which fail on what."""
    reps = reports(ds)
    bad = {k: r for k, r in reps.items() if not r.passed}
    text = f"{len(reps) - len(bad)} of {len(reps)} models pass the gate."
    if bad:
        text += " Below it: " + "; ".join(f"`{shown_name(ds, k)}` ({r.describe_failures(2)})" for k, r in bad.items()) + "."
    return text


from .model_quality_charts import loss_chart, sample_rows, trained_caption  # noqa: E402,F401  (imported from here)
from .model_quality_levels import brightness_spread, drift_text, start_text, vp_noise_levels  # noqa: E402,F401  (imported from here)
