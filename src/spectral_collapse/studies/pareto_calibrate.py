"""OVG step sizes for a model that no Pareto sweep has seen: a short sweep on validation images of the study's data."""
from __future__ import annotations

import json

from ..text import step_sizes
from .pareto_choice import NO_CHOICE
from ..framework.profiles import get_profile
from ..framework.method_labels import OVG_DEFAULTS, ovg_setting

__all__ = ["CALIBRATION_IMAGES", "EXTEND", "ovg_for", "calibrate_ovg"]

CALIBRATION_IMAGES = 4
EXTEND = 2


def ovg_for(spec, ctx, given, data) -> dict:
    """The OVG step sizes of a study: the stored sweep's choice, else with a user's model ``calibrate_ovg``."""
    op = ovg_setting(spec)
    source = str(op.get("source", ""))
    # a sweep ran for this data and model: its choice, or its finding that no grid point is free of failed samples
    # (a calibration on part of the same grid would find none either)
    if given is None or "per_base" in op or not source.startswith("defaults") or source.startswith(NO_CHOICE):
        return op
    return calibrate_ovg(ctx, data, given, spec.profile, reason=source, dataset=spec.dataset)


def calibrate_ovg(ctx, data, given, profile: str, *, reason: str = "", n_images: int = CALIBRATION_IMAGES,
                  rule: str = "maximin", dataset: str | None = None) -> dict:
    """{"eta_hf", "eta_lf", "per_base", "source"} by the Pareto rule on ``n_images`` validation crops of ``given``;
    OVG_DEFAULTS with the reason when no grid point is free of failed samples."""
    from .pareto import pareto_results

    n = max(1, min(int(n_images), get_profile(profile).n_val))
    ds = pareto_results(ctx, data, given.models, profile=profile, bases=("ovg",), baselines=(), n_images=n,
                        rule=rule, n_show=0, ls=given.latent_space, parameterization=given.parameterization,
                        user_models=given.info, extend=EXTEND)
    choice = json.loads(ds.attrs.get("choices", "{}")).get("ovg")
    grid = {k: f"[{step_sizes(v)}]" if isinstance(v, (list, tuple)) else str(v)   # as the book writes a grid
            for k, v in json.loads(ds.attrs.get("grid", "{}")).items()}
    name = dataset or getattr(data, "name", "the data")
    how = (f"{ds.attrs.get('n_images')} validation images of {name} with the given model, Pareto rule {rule} over "
           f"eta_hf {grid.get('eta_hf')} × eta_lf {grid.get('eta_lf')}")
    if not choice:
        return {**OVG_DEFAULTS, "source": f"{reason or 'defaults'}, and a short calibration ({how}) found no step "
                                          f"sizes free of failed samples; run the pareto study with a wider grid to "
                                          f"tune OVG for this model"}
    eta = {"eta_hf": float(choice["eta_hf"]), "eta_lf": float(choice["eta_lf"])}
    why = f" ({reason})" if reason else ""
    return {**eta, "per_base": {"ovg": dict(eta)}, "source": f"short calibration on {how}; every OVG variant at "
                                                               f"this choice{why}"}
