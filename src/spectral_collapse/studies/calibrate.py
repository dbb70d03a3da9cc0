"""OVG step sizes for a model that no Pareto sweep has seen: a short sweep on validation images of the study's data."""
from __future__ import annotations

import json
import re

from .pareto import NO_CHOICE
from .profiles import get_profile
from .method_labels import OVG_DEFAULTS, ovg_setting

__all__ = ["CALIBRATION_IMAGES", "EXTEND", "ovg_for", "calibrate_ovg"]

CALIBRATION_IMAGES = 4
EXTEND = 2


def _from_sweep(op: dict) -> bool:
    """Whether a Pareto sweep ran for a study's data and models: its choice, or its finding that no grid point is
    free of failed samples (a calibration on part of the same grid would find none either)."""
    source = str(op.get("source", ""))
    return "per_base" in op or not source.startswith("defaults") or source.startswith(NO_CHOICE)


def _default_reason(reason: str) -> tuple[str, str]:
    """(head, why) of a default source ("defaults (the suite's step sizes, ...): no Pareto sweep stored for ...", or
    "defaults (no Pareto sweep stored for ...)"): the words naming the defaults, and why no sweep's choice applies."""
    m = re.match(r"^(?P<head>defaults(?: \((?P<inner>[^()]*)\))?)(?::\s*(?P<tail>.+))?$", str(reason).strip(), re.S)
    if m is None:
        return "defaults", str(reason).strip() or "no Pareto sweep stored for this data and model"
    if m.group("tail"):
        return m.group("head"), m.group("tail")
    return "defaults", m.group("inner") or "no Pareto sweep stored for this data and model"


def ovg_for(spec, ctx, given, data) -> dict:
    """The OVG step sizes of a study: the stored Pareto sweep's choice (``translation.ovg_setting``); with a user's
    model (``given``: ``models.UserModels``) and no sweep for it, ``calibrate_ovg`` on ``data``'s validation crops."""
    op = ovg_setting(spec)
    if given is None or _from_sweep(op):
        return op
    return calibrate_ovg(ctx, data, given, spec.profile, reason=op.get("source", ""), dataset=spec.dataset)


def _grid_text(values) -> str:
    """A step-size grid as the book writes it: "[10⁻⁷, 10⁻⁶, 10⁻⁵]"; anything else as it is."""
    from ..text import step_sizes

    return f"[{step_sizes(values)}]" if isinstance(values, (list, tuple)) else str(values)


def calibrate_ovg(ctx, data, given, profile: str, *, reason: str = "", n_images: int = CALIBRATION_IMAGES,
                  rule: str = "maximin", dataset: str | None = None) -> dict:
    """{"eta_hf", "eta_lf", "per_base", "source"} by the Pareto rule on ``n_images`` validation crops with the user's
    models ``given`` (OVG on their base method, the grid grown up to ``EXTEND`` times); OVG_DEFAULTS with the reason
    when no grid point is free of failed samples."""
    from .pareto import pareto_results

    n = max(1, min(int(n_images), get_profile(profile).n_val))
    ds = pareto_results(ctx, data, given.models, profile=profile, bases=("ovg",), baselines=(), n_images=n,
                        rule=rule, n_show=0, ls=given.latent_space, parameterization=given.parameterization,
                        user_models=given.info, extend=EXTEND)
    choice = json.loads(ds.attrs.get("choices", "{}")).get("ovg")
    grid = json.loads(ds.attrs.get("grid", "{}"))
    name = dataset or getattr(data, "name", "the data")
    how = (f"{ds.attrs.get('n_images')} validation images of {name} with the given model, Pareto rule {rule} over "
           f"eta_hf {_grid_text(grid.get('eta_hf'))} × eta_lf {_grid_text(grid.get('eta_lf'))}")
    why = f" ({reason})" if reason else ""
    if not choice:
        head, no_sweep = _default_reason(reason)
        return {**OVG_DEFAULTS, "source": f"{head}: {no_sweep}, and a short calibration ({how}) found no step sizes "
                                          f"free of failed samples; run the pareto study with a wider grid to tune "
                                          f"OVG for this model"}
    eta = {"eta_hf": float(choice["eta_hf"]), "eta_lf": float(choice["eta_lf"])}
    return {**eta, "per_base": {"ovg": dict(eta)},
            "source": f"short calibration on {how}; every OVG variant at this choice{why}"}
