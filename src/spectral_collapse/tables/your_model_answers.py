"""The values the "Your data, your model" chapter quotes, by name (costs one OVG translation)."""
from __future__ import annotations

import json
from pathlib import Path

import xarray as xr

from ..framework.profiles import get_profile
from ..framework.store import load_results, results_path
from ..inversion import OVG, Euler, translate
from ..studies.pareto_choice import ovg_choice
from ..text import step_size

__all__ = ["translation_answers", "in_words", "run_answers"]


def _norm(tr) -> float:
    """The mean ||x_T||^2 / d of a translation's latents."""
    return float(tr.latent.flatten(1).pow(2).mean(1).mean())


def translation_answers(D, x, ddim, ovg, small: OVG, *, dataset: str, profile: str, steps: int) -> dict[str, str]:
    """DDIM's reconstruction error and spread, and the latents' norms of DDIM and OVG at both step sizes."""
    try:
        sweep = load_results(results_path("pareto", dataset, profile))
    except FileNotFoundError:
        sweep = None
    chosen = ovg_choice(sweep)
    guide = OVG(eta_hf=chosen["eta_hf"], eta_lf=chosen["eta_lf"])
    theirs = translate(D, x, Euler(), guidance=guide, steps=steps, warn_norm=False)
    rmse = float((ddim.output - x).pow(2).mean().sqrt())
    return {"rmse": f"{rmse:.3g}", "spread": f"{float(x.std()):.3g}", "norm_ddim": f"{_norm(ddim):.3f}",
            "norm_ovg": f"{_norm(ovg):.3f}", "norm_theirs": f"{_norm(theirs):.3g}", "eta_source": chosen["source"],
            "eta_hf": step_size(chosen["eta_hf"]), "eta_lf": step_size(chosen["eta_lf"]),
            "small_hf": step_size(small.eta_hf), "small_lf": step_size(small.eta_lf)}


def in_words(text: str, work: Path) -> str:
    """``text`` with the chapter's temporary folders (under ``work``) named by what they are."""
    for path, words in ((f"folder:{work / 'data'}", "the image folder above"),
                        (work / "data", "the image folder above"), (work, "this page's folder")):
        text = text.replace(str(path), words)
    return text


def run_answers(res: xr.Dataset, work: Path, profile: str) -> dict[str, str]:
    """What the study run on the image folder recorded, and the profiles, checked."""
    used = json.loads(res.attrs["user_models"])["model"]
    ovg_used = json.loads(res.attrs["ovg"])
    counts = json.loads(res.attrs.get("data_meta") or "{}").get("counts", {})
    gate = json.loads(res.attrs.get("model_gate") or "{}")
    below = [v["failures"] for v in gate.values() if not v.get("passed")]
    run_profile = json.loads(res.attrs["spec"])["profile"]
    assert get_profile(run_profile).allow_weak_models is True
    assert get_profile(profile).allow_weak_models is not True
    return {"network": used["network"], "predicts": used["parameterization"],
            "run_hf": step_size(ovg_used["eta_hf"]), "run_lf": step_size(ovg_used["eta_lf"]),
            "run_source": in_words(ovg_used["source"], work), "paired": in_words(res.attrs["paired_metrics"], work),
            "n_test": str(res.sizes["sample"]), "run_steps": str(res.attrs["steps"]),
            "held_out": str(counts.get("test", "none")),
            "pool": str(counts.get("test", 0) + counts.get("source", 0)),
            "failed": str(int(res["failed"].sum())), "total": str(int(res["failed"].size)),
            "gate": "; ".join(below) or "none: it passes the gate", "run_profile": run_profile,
            "page_profile": profile}
