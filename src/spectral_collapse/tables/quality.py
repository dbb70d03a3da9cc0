"""The model-quality chapter's tables and numbers (results of ``studies.model_quality``)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..text import notation
from ..train.cache import model_name
from ..framework.gate import current_verdict, stored_report
from ..framework.profiles import get_profile
from ..framework.edge_density import LEVEL
from ..framework.quality import CHECKS, RULES, THRESHOLDS, GateReport

__all__ = ["CHECK_TEXT", "thresholds_table", "shown_name", "reports", "check_value", "gate_table", "start_table",
           "spectrum_failures", "decoder_ceiling", "gate_lists", "mean_bias_table", "models_table", "vp_noise_levels",
           "brightness_spread", "stored_gate_table", "replicate_gate_table", "GATE_HEADERS", "gate_row",
           "column_digits", "most_digits", "EDGE_RULE", "gate_frame", "result_gate_table", "heldout_table",
           "HELDOUT_CAPTION"]

CHECK_TEXT = {
    "spectrum": "largest |log10 power ratio| of samples to real crops over radial bands up to Nyquist",
    "mean": "largest relative error of a channel's mean intensity ([0, 1] scale)",
    "std": "largest relative error of a channel's standard deviation",
    "patches": "sliced Wasserstein distance of 4 x 4 patches to training crops, relative to held-out real crops'",
    "memorisation": "median distance to the nearest training crop, relative to held-out real crops' (the gate "
                    "tables' column nearest crop)",
    "plateau": "relative fall of the held-out loss over the last fifth of training",
    "edges": "edge maps only: relative error of the share of edge pixels against the training edge maps'",
}
EDGE_RULE = f"at most the {100 * LEVEL:g} % bootstrap half-width of n real maps' share"

HELDOUT_CAPTION = ("Final held-out loss of each trained pixel-space ε / EDM model (its training objective on the test "
                   "crops, mean over four noise bands) beside the oracle's on the same crops, noise draws and "
                   "objective. The oracle is the exact denoiser of a Gaussian fitted to each domain's training crops "
                   "(models.oracle): exact for those Gaussians, not for tissue, and not put through the gate. A "
                   "trained model below it has learned more of the data than its first two moments.")


def stored_gate_table(folders: dict[str, str], weights_root=None) -> pd.DataFrame:
    """The gate table of {name: checkpoint folder} from their stored reports; "not stored" where none is."""
    rows = []
    for key, folder in folders.items():
        rep, cfg = stored_report(folder, weights_root)
        steps = (cfg.get("train") or {}).get("steps")
        rows.append(gate_row(key, rep, steps) if rep is not None else {"model": key, "steps": steps,
                                                                        "gate": "not stored"})
    return gate_frame(rows).fillna("—")


def replicate_gate_table(profile: str) -> pd.DataFrame:
    """The stored gate of every training-seed replicate (``SEED_REPLICATES``), without training any."""
    from ..framework.model_set import CHECKPOINT_ROOT, SEED_REPLICATES, checkpoint_name

    folders = [str(Path(CHECKPOINT_ROOT) / checkpoint_name(profile, r)) for r in SEED_REPLICATES]
    return stored_gate_table({model_name(f): f for f in folders})


GATE_HEADERS = {"memorisation": "nearest crop"}


def gate_row(key: str, rep: GateReport, steps) -> dict:
    """A gate-table row, unformatted: verdict, steps and per check (worst value over samplers and labels, passed),
    (nan, None) for a check without a value, None for one the model has no rows of."""
    row = {"model": key, "gate": "passes" if rep.passed else "fails", "steps": steps}
    for c in CHECKS:
        g = rep.rows[rep.rows["check"] == c]
        v, ok = g["value"].dropna(), g["passed"].dropna()
        worst = float(v.min() if RULES[c] == ">=" else v.max()) if len(v) else np.nan
        row[c] = None if g.empty else (worst, None if ok.empty or not len(v) else bool(ok.astype(bool).all()))
    return row


def column_digits(values, figures: int = 2, most: int = 4) -> int:
    """A column's decimals: ``figures`` significant figures of its smallest non-zero value, 2 to ``most``."""
    v = np.abs(np.asarray([x for x in values if isinstance(x, (int, float)) and np.isfinite(x) and x != 0], float))
    if not len(v):
        return 2
    return int(min(most, max(2, figures - 1 - int(np.floor(np.log10(v.min()))))))


def most_digits(check: str) -> int:
    """Two decimals beyond the check's threshold's own (0.1 -> 3, 0.02 -> 4); 3 for one set by the data (edges)."""
    text = f"{THRESHOLDS.get(check, 0.1):g}"
    return (len(text.split(".")[1]) if "." in text else 0) + 2


def gate_frame(rows: list[dict]) -> pd.DataFrame:
    """``gate_row``s as shown: one precision per column, "✗" failed, "n/a" not judged, "—" not run."""
    nb = "\u00a0"
    out = [{k: r.get(k) for k in ("model", "gate")} for r in rows]
    shown = [c for c in CHECKS if c in THRESHOLDS or any(r.get(c) is not None and r[c][1] is False for r in rows)]
    for c in shown:
        cells = [r.get(c) for r in rows]
        digits = column_digits([x[0] for x in cells if x is not None and x[1] is not None], most=most_digits(c))
        for o, x in zip(out, cells):
            if x is None:
                o[c] = "—"
            elif x[1] is None or (isinstance(x[0], float) and np.isnan(x[0])):
                o[c] = "n/a"
            else:
                o[c] = ("∞" if np.isinf(x[0]) else f"{x[0]:.{digits}f}") + ("" if x[1] else f"{nb}✗")
    return (pd.DataFrame(out, columns=["model", "gate", *shown]).set_index("model")
            .rename(columns=GATE_HEADERS))


def result_gate_table(attrs: dict) -> pd.DataFrame:
    """The models a result was computed with: model, gate (the verdict stored now with the same weights, else the
    recorded one), recorded (the verdict with the result) and failures; empty when the result records none."""
    try:
        used = json.loads(attrs.get("model_gate") or "null")
    except (TypeError, ValueError):
        used = None
    from ..framework.model_set import CHECKPOINT_ROOT

    word = {True: "passes", False: "below the gate"}
    rows = []
    for k, v in (used or {}).items():
        passed, failures = current_verdict(k, CHECKPOINT_ROOT) or (bool(v.get("passed")), v.get("failures") or "")
        rows.append({"model": model_name(k), "gate": word[bool(passed)], "recorded": word[bool(v.get("passed"))],
                     "failures": notation(str(failures or ""))})
    return pd.DataFrame(rows, columns=["model", "gate", "recorded", "failures"])


def thresholds_table() -> pd.DataFrame:
    """Each check, what it measures and its rule."""
    rules = {"<=": "at most", ">=": "at least", "<": "below"}
    return pd.DataFrame([{"check": c, "measures": CHECK_TEXT[c],
                          "passes when": f"{rules[RULES[c]]} {THRESHOLDS[c]:g}" if c in THRESHOLDS else EDGE_RULE}
                         for c in CHECKS])


def shown_name(ds: xr.Dataset, key: str) -> str:
    """A model's checkpoint name without its hash ("ihc-sr-x4-eps-quick"), else its key in the set."""
    folder = json.loads(getattr(ds, "attrs", {}).get("checkpoints", "{}") or "{}").get(key)
    return Path(model_name(folder)).name if folder else str(key)


def _named(ds: xr.Dataset, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its "model" index level (set keys) written as ``shown_name``."""
    if "model" not in (frame.index.names or []):
        return frame
    return frame.rename(index=lambda k: shown_name(ds, k), level="model")


def reports(ds: xr.Dataset) -> dict[str, GateReport]:
    return {k: GateReport.from_dict(v) for k, v in json.loads(ds.attrs["gate_reports"]).items()}


def check_value(value: float, check: str, signed: bool = False) -> str:
    """``value`` of ``check`` with ``most_digits`` decimals, so a rejected value never prints as its threshold."""
    return f"{value:{'+' if signed else ''}.{most_digits(check)}f}"


def gate_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per model: the verdict and the worst value of each check, as ``gate_frame`` shows them."""
    info = json.loads(ds.attrs["models"])
    rows = [gate_row(key, rep, info[key].get("steps")) for key, rep in reports(ds).items()]
    return _named(ds, gate_frame(rows))


def start_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per model and label, the channel-mean and std errors from the gate's start and from pure noise (not judged)."""
    rows = []
    for key, rep in reports(ds).items():
        r = rep.rows
        for u in rep.info.get("unit_start", []):
            judged = r[(r["sampler"] == u["sampler"]) & (r["label"] == u["label"])].set_index("check")["value"]
            rows.append((key, int(u["label"]), u["sampler"], judged.get("mean"), u["mean"], judged.get("std"),
                         u["std"]))
        for u in rep.info.get("euler", []):  # a flow model's own Euler steps, from the gate's start, not judged
            rows.append((key, int(u["label"]), "Euler (not judged)", u["mean"], None, u["std"], None))
    cols = ["model", "label", "sampler", "mean error, gate start", "mean error, pure noise", "std error, gate start",
            "std error, pure noise"]
    return _named(ds, pd.DataFrame(rows, columns=cols).set_index(["model", "label"]).round(3))


def spectrum_failures(ds: xr.Dataset) -> pd.DataFrame:
    """Per failed spectrum check: the radial bands (1 = lowest, 16 = Nyquist on 32-pixel crops) whose log10 power
    ratio is beyond the threshold."""
    rows = []
    for key, rep in reports(ds).items():
        r = rep.rows
        bad = r[(r["check"] == "spectrum") & (r["passed"] == False)]  # noqa: E712 (None: not judged)
        for _, b in bad.iterrows():
            bands = np.asarray(b.get("bands") if isinstance(b.get("bands"), (list, np.ndarray)) else [], float)
            out = [f"{k + 1}: {check_value(v, 'spectrum', signed=True)}" for k, v in enumerate(bands)
                   if abs(v) > THRESHOLDS["spectrum"]]
            rows.append((key, int(b["label"]), b["sampler"], ", ".join(out) or "—"))
    cols = ["model", "label", "sampler", "bands over the rule (band: log10 ratio)"]
    return _named(ds, pd.DataFrame(rows, columns=cols).set_index(["model", "label"]))


def decoder_ceiling(ds: xr.Dataset) -> pd.DataFrame:
    """Per failed band of a latent-space model: its log10 ratio beside the decoder's and the decoder's share (near
    100 %: the decoder's failure); empty without both."""
    info = json.loads(ds.attrs["models"])
    reps = reports(ds)
    vae = next((k for k, m in info.items() if m.get("parameterization") == "vae"), None)
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
                rows += [(key, int(b["label"]), b["sampler"], int(k) + 1, round(float(mine[k]), 3),
                          round(float(dec[k]), 3), f"{100 * dec[k] / mine[k]:.0f} %")
                         for k in np.flatnonzero(np.abs(mine) > THRESHOLDS["spectrum"])]
    return _named(ds, pd.DataFrame(rows, columns=cols).set_index(["model", "label"]))


def mean_bias_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per model, label and noise level: the signed error (%) of the denoised mean's worst channel; "—" above the
    model's highest noise level, models without the measurement left out."""
    m = ds["mean_bias"].dropna("model", how="all") if "mean_bias" in ds else None
    if m is None or not m.sizes["model"]:
        return pd.DataFrame()
    worst = 100 * m.isel(bias_channel=abs(m).fillna(-1).argmax("bias_channel"))   # the channel that strays most
    t = worst.to_series().unstack("bias_sigma").reindex(pd.MultiIndex.from_product(
        [m["model"].values, m["label"].values], names=["model", "label"]))
    t.columns = [f"σ = {sig:g}" for sig in t.columns]
    return _named(ds, t.map(lambda v: "—" if np.isnan(v) else f"{v:+.1f} %"))


def vp_noise_levels(steps: int = 50) -> dict:
    """The VP schedule's largest σ (``end``), a ``steps``-step DDIM sampler's first σ (``start``) and the signal's
    share there (``signal``, 1/√(1 + σ²))."""
    from ..models.schedules import VPSchedule, ddim_sigmas

    schedule = VPSchedule()
    start = float(ddim_sigmas(schedule, steps)[0])
    return {"end": schedule.sigma_max(), "start": start, "signal": 1 / np.sqrt(1 + start ** 2), "steps": steps}


def brightness_spread(ds: xr.Dataset) -> tuple[float, float, int] | None:
    """(smallest, largest) std of a real crop's channel mean over the VP models, and a crop's pixels."""
    info = json.loads(ds.attrs["models"])
    keys = [k for k, m in info.items()
            if m.get("parameterization") in ("eps", "x0", "v") and m.get("space") != "latent"]
    if not keys:
        return None
    real = ds["real"].sel(model=keys)
    sd = real.mean(["y", "x"]).std("image", ddof=1)
    return float(sd.min()), float(sd.max()), int(real.sizes["y"] * real.sizes["x"])


def gate_lists(ds: xr.Dataset) -> dict:
    """Models that pass (``passing``), fail ({key: first two failures}, ``failing``), and of those, the ones the
    profile runs with a warning (``kept``) or refuses (``refused``)."""
    reps = reports(ds)
    failing = {k: r.describe_failures(2) for k, r in reps.items() if not r.passed}
    allowed = get_profile(ds.attrs.get("profile", "quick")).allow_weak_models
    kept = [k for k in failing if allowed is True or (allowed and k in allowed)]
    return {"passing": [k for k, r in reps.items() if r.passed], "failing": failing, "kept": kept,
            "refused": [k for k in failing if k not in kept]}


def _weighting(objective: str | None, train: dict) -> str:
    """The training loss's weighting: truncated SNR, min-SNR or none."""
    if train.get("truncated_snr"):
        return "max(1, σ²)" if objective == "eps" else "max(1, 1/σ²)"
    if train.get("min_snr_gamma"):
        return f"min-SNR, γ = {train['min_snr_gamma']:g}"
    return "none"


def models_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per model: role, data, kind, training steps, device, loss weighting and the gate's verdict."""
    info = json.loads(ds.attrs["models"])
    folders = json.loads(ds.attrs.get("checkpoints", "{}"))
    rows = []
    for key in ds["model"].values.tolist():
        m = info.get(key, {})
        train = (stored_report(folders[key])[1].get("train") or {}) if folders.get(key) else {}
        rows.append({"model": key, "role": m.get("role"), "data": m.get("dataset"),
                     "kind": f"{m.get('parameterization')}, {m.get('space')}, {m.get('backbone')}",
                     "training steps": m.get("steps"), "device": m.get("device") or "—",
                     "loss weighting": _weighting(train.get("objective"), train) if train else "—",
                     "gate": "passes" if bool(ds["passed"].sel(model=key)) else "fails"})
    return _named(ds, pd.DataFrame(rows).set_index("model"))


def heldout_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per model, the trained model's last held-out loss beside the oracle arm's, and their ratio."""
    from ..framework.oracle_arm import arm_results

    arm = arm_results(ds)
    if arm is None or "heldout_loss" not in arm:
        return pd.DataFrame(columns=["model", "trained", "oracle", "trained / oracle"]).set_index("model")
    rows = []
    for key in arm["model"].values.tolist():
        curve = ds["heldout_loss"].sel(model=key).isel(band=0).dropna("heldout_index").values
        trained = float(curve[-1]) if len(curve) else np.nan
        oracle = float(arm["heldout_loss"].sel(model=key).isel(band=0))
        rows.append({"model": key, "trained": trained, "oracle": oracle, "trained / oracle": trained / oracle})
    return _named(ds, pd.DataFrame(rows).set_index("model"))
