"""Tables and charts of the model-quality chapter (results of ``studies.model_quality``)."""
from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import xarray as xr

from ..models.quality import CHECKS, THRESHOLDS, GateReport

__all__ = ["CHECK_TEXT", "thresholds_table", "gate_table", "loss_chart", "sample_rows", "reports", "verdict_text",
           "start_table", "spectrum_failures", "decoder_ceiling", "below_gate_text",
           "mean_bias_table"]

CHECK_TEXT = {
    "spectrum": "largest |log10 power ratio| of samples to real crops over radial bands up to Nyquist",
    "mean": "largest relative error of a channel's mean intensity ([0, 1] scale)",
    "std": "largest relative error of a channel's standard deviation",
    "patches": "sliced Wasserstein distance of 4 x 4 patches to training crops, relative to held-out real crops'",
    "memorisation": "median distance to the nearest training crop, relative to held-out real crops'",
    "plateau": "relative fall of the held-out loss over the last fifth of training",
}


def thresholds_table() -> pd.DataFrame:
    """Each check, what it measures and its rule."""
    rules = {c: ("at least" if c == "memorisation" else "below" if c == "plateau" else "at most") for c in CHECKS}
    return pd.DataFrame([{"check": c, "measures": CHECK_TEXT[c], "passes when": f"{rules[c]} {THRESHOLDS[c]:g}"}
                         for c in CHECKS])


def reports(ds: xr.Dataset) -> dict[str, GateReport]:
    return {k: GateReport.from_dict(v) for k, v in json.loads(ds.attrs["gate_reports"]).items()}


def gate_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per model: its training steps, the worst value of each check (over samplers and labels) and the
    verdict; a check that cannot be judged (no training log) reads "n/a", an infinite value "∞". (Each model's role
    is under its loss curves.)"""
    info = json.loads(ds.attrs["models"])
    rows = []
    for key, rep in reports(ds).items():
        t = rep.table().set_index("check")
        row = {"model": key, "steps": info[key].get("steps")}
        for c in CHECKS:
            if c not in t.index:
                row[c] = "—"
                continue
            v, ok = t.loc[c, "worst"], t.loc[c, "passed"]
            row[c] = "n/a" if ok is None or (isinstance(v, float) and np.isnan(v)) else \
                f"{'∞' if np.isinf(v) else f'{v:.3g}'} {'✓' if ok else '✗'}"
        row["gate"] = "passes" if rep.passed else "fails"
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


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
    cols = ["model", "label", "sampler", "mean error, gate start", "mean error, pure noise", "std error, gate start",
            "std error, pure noise"]
    return pd.DataFrame(rows, columns=cols).set_index(["model", "label"]).round(3)


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
            out = [f"{k + 1}: {v:+.2f}" for k, v in enumerate(bands) if abs(v) > THRESHOLDS["spectrum"]]
            rows.append({"model": key, "label": int(b["label"]), "sampler": b["sampler"],
                         "bands over the rule (band: log10 ratio)": ", ".join(out) or "—"})
    cols = ["model", "label", "sampler", "bands over the rule (band: log10 ratio)"]
    return pd.DataFrame(rows, columns=cols).set_index(["model", "label"])


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
    return pd.DataFrame(rows, columns=cols).set_index(["model", "label"])


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
        parts.append(f"The studies run {', '.join(f'`{k}`' for k in kept)} below the gate: each chapter that uses "
                     f"{'it' if len(kept) == 1 else 'one of them'} carries a warning naming the failed checks, and its "
                     f"results speak about that model as measured here, not about a model of the data.")
    if refused:
        parts.append(f"The studies refuse {', '.join(f'`{k}`' for k in refused)} until {'it passes' if len(refused) == 1 else 'they pass'}.")
    ceil = decoder_ceiling(ds).reset_index()
    for key, g in ceil.groupby("model", sort=False):
        w = g.loc[g["model's log10 ratio"].abs().idxmax()]
        mine, dec, share = w["model's log10 ratio"], w["decoder's log10 ratio"], w["decoder's share"]
        bands = sorted(g["band"].unique())
        parts.append(
            f"`{key}` diffuses in the latent space of `{_autoencoder(info)}`; its spectrum fails in "
            f"band{'s' if len(bands) > 1 else ''} {', '.join(str(b) for b in bands)} (worst {mine:+.2f} at band "
            f"{w['band']}, label {w['label']}), where the autoencoder's reconstructions of held-out crops already read "
            f"{dec:+.2f} ({share} of it). The decoder loses that band even on the encodings of real crops, so this "
            f"arm needs a sharper autoencoder (wider, or trained longer) to pass, not a longer-trained diffusion model.")
    return " ".join(parts)


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
                row[f"σ = {sig:g}"] = "—" if np.isnan(v).all() else f"{100 * v[np.nanargmax(np.abs(v))]:+.1f} %"
            rows.append(row)
    return pd.DataFrame(rows).set_index(["model", "label"]) if rows else pd.DataFrame()


def verdict_text(ds: xr.Dataset) -> str:
    """One sentence: how many models pass, and which fail on what."""
    reps = reports(ds)
    bad = {k: r for k, r in reps.items() if not r.passed}
    text = f"{len(reps) - len(bad)} of {len(reps)} models pass the gate."
    if bad:
        text += " Below it: " + "; ".join(f"`{k}` ({r.describe_failures(2)})" for k, r in bad.items()) + "."
    return text


def loss_chart(ds: xr.Dataset, key: str, width: int = 300, height: int = 180):
    """Training loss (every 50 steps) and held-out loss (mean over noise bands) against the training step."""
    m = ds.sel(model=key)
    tr = pd.DataFrame({"step": m["train_step"].values, "loss": m["train_loss"].values, "curve": "training"})
    he = pd.DataFrame({"step": m["heldout_step"].values, "loss": m["heldout_loss"].sel(band=0).values,
                       "curve": "held-out (EMA)"})
    frame = pd.concat([tr, he]).dropna()
    if frame.empty:
        return None
    lo, hi = float(frame["loss"].min()), float(frame["loss"].max())
    return alt.Chart(frame, title=f"{key}: loss").mark_line(point=False).encode(
        x=alt.X("step:Q", title="training step"),
        y=alt.Y("loss:Q", title="loss", scale=alt.Scale(type="log", domain=[lo * 0.9, hi * 1.1])),
        color=alt.Color("curve:N", title=None, scale=alt.Scale(range=["#0072B2", "#E69F00"]))
    ).properties(width=width, height=height)


def sample_rows(ds: xr.Dataset, key: str) -> dict:
    """Image-grid rows: samples from noise (or reconstructions) and real crops of each label."""
    m = ds.sel(model=key)
    vae = "vae" in key
    out = {}
    for lab in (0, 1):
        name = "source" if lab == 0 else "target"
        out[f"{'reconstructed' if vae else 'sampled'}, {name}"] = m["samples"].sel(label=lab).values
        out[f"{'held-out' if vae else 'real'}, {name}"] = m["real"].sel(label=lab).values
    return out
