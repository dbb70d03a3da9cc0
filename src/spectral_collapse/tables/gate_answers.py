"""The model-quality chapter's answers to a reviewer and its named values."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import xarray as xr

from ..claims.evidence import STUDY_NAMES
from ..claims.paper import CLAIMS
from ..framework.edge_density import LEVEL, MIN_TOLERANCE, WHITE
from ..train.cache import model_name
from .quality import brightness_spread, gate_lists, reports, shown_name, vp_noise_levels

__all__ = ["start_errors", "start_rows", "edge_table", "EDGE_CAPTION", "claims_of_models", "failing_claims",
           "model_quality_answers"]

EDGE_CAPTION = (f"Share of edge pixels (luma below {WHITE:g} on the [−1, 1] scale; real edge maps are exactly −1 "
                f"or +1) in each edge-map model's label-0 samples, from the gate's start (both samplers, judged) and "
                f"from pure noise (the deterministic sampler, not judged), against the training edge maps'. The "
                f"check passes when the relative error is within the threshold: the half-width of the "
                f"{100 * LEVEL:g} % bootstrap interval of the mean share of n real training maps, n the gate's "
                f"samples, relative to their share, and at least {100 * MIN_TOLERANCE:g} %, what the gate allows a "
                f"mean.")


def start_errors(ds: xr.Dataset, key: str) -> dict[int, dict]:
    """{label: {"sampler", "gate", "noise"}}: the std errors from the gate's start and from pure noise."""
    rep = reports(ds).get(key)
    if rep is None:
        return {}
    r = rep.rows
    out = {}
    for u in rep.info.get("unit_start", []):
        g = r[(r["check"] == "std") & (r["sampler"] == u["sampler"]) & (r["label"] == u["label"])]["value"]
        out[int(u["label"])] = {"sampler": u["sampler"], "gate": float(g.iloc[0]) if len(g) else float("nan"),
                                "noise": float(u["std"])}
    return out


def start_rows(ds: xr.Dataset, key: str) -> dict:
    """Image-grid rows per label: samples from pure noise and from the gate's start (same seeds), real crops; {}
    without both."""
    if "gate_samples" not in ds:
        return {}
    errs, m, out = start_errors(ds, key), ds.sel(model=key), {}
    for lab in (0, 1):
        e = errs.get(lab)
        if e is None:
            return {}
        name = "source" if lab == 0 else "target"
        out[f"pure noise, {name}: std error {e['noise']:.3f}"] = m["samples"].sel(label=lab).values
        out[f"gate's start, {name}: std error {e['gate']:.3f}"] = m["gate_samples"].sel(label=lab).values
        out[f"real, {name}"] = m["real"].sel(label=lab).values
    return out


def edge_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per edge-map model and start: the share of edge pixels against the training maps' and the verdict."""
    cols = ["model", "start", "edge pixels, samples", "edge pixels, training maps", "relative error", "threshold",
            "check"]

    def row(key, start, share, real, error, threshold, check):
        return dict(zip(cols, (shown_name(ds, key), start, f"{100 * share:.1f} %", f"{100 * real:.1f} %",
                               f"{error:.3f}", f"{threshold:.3f}", check)))

    rows = []
    for key, rep in reports(ds).items():
        r = rep.rows
        if "check" not in r or not (r["check"] == "edges").any():
            continue
        e = r[r["check"] == "edges"]
        rows += [row(key, f"gate's start, {b['sampler']}", b["share"], b["real"], b["value"], b["threshold"],
                     "passes" if b["passed"] else "fails") for _, b in e.iterrows()]
        real, thr = float(e["real"].iloc[0]), float(e["threshold"].iloc[0])
        rows += [row(key, f"pure noise, {u['sampler']}", u["edges"], real, abs(u["edges"] / real - 1), thr,
                     "not judged") for u in rep.info.get("unit_start", []) if "edges" in u]
    return pd.DataFrame(rows, columns=cols).set_index(["model", "start"])


def claims_of_models(names, root: str | Path = "data/results", profile: str = "quick") -> dict[str, list[str]]:
    """{model name: keys of the claims that read a stored result computed with it}."""
    from ..framework.store import folder_parameter

    root = folder_parameter("results_root", root)   # read as open_study and results_path read it
    wanted = {model_name(n): n for n in names}
    studies: dict[str, set] = {n: set() for n in wanted}
    for study, short in STUDY_NAMES.items():
        for path in sorted((Path(root) / study).glob(f"*-{profile}.nc")):
            with xr.open_dataset(path) as f:
                used = json.loads(f.attrs.get("model_gate") or "{}")
            for m in used:
                if model_name(m) in wanted:
                    studies[model_name(m)].add(short)
    return {wanted[n]: [c.key for c in CLAIMS if set(c.reads) & s] for n, s in studies.items()}


def failing_claims(ds: xr.Dataset, root: str | Path = "data/results") -> pd.DataFrame:
    """One row per model below the gate: its failed checks and the claims it decides; the claims page judges those
    claims on the passing models alone, its caveat naming this model."""
    failing = gate_lists(ds)["failing"]
    folders = json.loads(ds.attrs.get("checkpoints", "{}") or "{}")
    names = {k: Path(folders.get(k, k)).name for k in failing}
    decides = claims_of_models(names.values(), root, ds.attrs.get("profile", "quick"))
    rows = [{"model": shown_name(ds, k), "failed checks": why,
             "claims it decides": ", ".join(decides.get(names[k], [])) or "none"} for k, why in failing.items()]
    return pd.DataFrame(rows, columns=["model", "failed checks", "claims it decides"]).set_index("model")


def model_quality_answers(ds: xr.Dataset) -> dict[str, str]:
    """The model-quality chapter's named values: the gate's verdicts, VP noise levels, brightness spread."""
    gates = gate_lists(ds)

    def names(keys):
        return ", ".join(shown_name(ds, k) for k in keys) or "none"

    levels = vp_noise_levels()
    spread = brightness_spread(ds)
    pixels = spread[2] if spread else 32 * 32
    return {"n_models": str(len(gates["passing"]) + len(gates["failing"])), "n_passing": str(len(gates["passing"])),
            "failing": "; ".join(f"{shown_name(ds, k)} ({why})" for k, why in gates["failing"].items()) or "none",
            "kept": names(gates["kept"]), "refused": names(gates["refused"]), "vp_steps": str(levels["steps"]),
            "vp_start": f"{levels['start']:.1f}", "vp_end": f"{levels['end']:.1f}",
            "vp_signal": f"{levels['signal']:.3f}", "pixels": str(pixels),
            "noise_avg": f"{levels['start'] / pixels ** 0.5:.2f}",
            "spread": f"{spread[0]:.2f} to {spread[1]:.2f}" if spread else "n/a"}
