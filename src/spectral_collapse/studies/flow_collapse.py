"""Flow matching: does deterministic flow inversion collapse spectrally, and does OVG remove it?"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import xarray as xr

from ..inversion import Euler
from . import main_results
from ..framework.method_labels import OVG_DEFAULTS, MethodSpec, method_specs
from ..framework.cells import StudyContext
from ..framework.model_set import data_options, profile_models
from ..framework.user_models import spec_data
from ..framework.profiles import study_params
from ..framework.spec import StudySpec
from ..reference.method_names import STABLE_OVG_LABEL

__all__ = ["LATENT_SCALE", "SCALED_LABEL", "FLOW_LABELS", "N_IMAGES", "ScaledLatentEuler", "flow_method_specs",
           "run_flow_collapse"]

LATENT_SCALE = 1.15
SCALED_LABEL = "ddim_x1.15"
FLOW_LABELS = ("ddim", SCALED_LABEL, "taba", "ovg")
N_IMAGES = 8   # translated images and latents stored per (method, seed)


@dataclass(frozen=True)
class ScaledLatentEuler(Euler):
    """Euler (DDIM) inversion whose last step multiplies the state by ``scale``; sampling is plain Euler."""

    scale: float = LATENT_SCALE

    def step(self, D, x, sigma: float, sigma_next: float, ctx):
        x_next = super().step(D, x, sigma, sigma_next, ctx)
        last = ctx.sigmas is not None and ctx.step_index == len(ctx.sigmas) - 2
        return x_next * self.scale if ctx.direction == "invert" and last else x_next


def flow_method_specs(labels, ovg: dict, lowpass_kappa: float = 0.06) -> list[MethodSpec]:
    """The study's labels as MethodSpecs on the flow model; another model's or an unknown label raises."""
    std = [lab for lab in labels if lab != SCALED_LABEL]
    specs = dict(zip(std, method_specs(std, eta_hf=ovg["eta_hf"], eta_lf=ovg["eta_lf"], lowpass_kappa=lowpass_kappa,
                                       parameterization="flow", per_base=ovg.get("per_base"))))
    other = [lab for lab, ms in specs.items() if ms.parameterization != "flow"]
    if other:
        raise ValueError(f"method(s) {', '.join(other)} need another model than the flow model; flow_collapse runs "
                         f"labels on the flow model only, e.g. {', '.join(FLOW_LABELS)}, ovg_taba, ovg_stable")
    specs[SCALED_LABEL] = MethodSpec(SCALED_LABEL, "flow", ScaledLatentEuler())
    return [specs[lab] for lab in labels]


def _ovg(spec: StudySpec, ctx: StudyContext, data, D, ls, specs) -> tuple[dict, dict]:
    """(OVG's step sizes on the flow model, tuning record): given to the study, else the flow model's Pareto sweep."""
    given = {k: float(spec.get(k)) for k in ("eta_hf", "eta_lf") if spec.get(k, None) is not None}
    needs = any(ms.guidance is not None and ms.label != STABLE_OVG_LABEL for ms in specs)   # stable form: own sizes
    if len(given) == 2 or not needs:
        src = ", ".join(f"{k} = {v:g}" for k, v in given.items())
        return {**OVG_DEFAULTS, **given, "source": f"given to the study ({src})" if given else "no OVG label"}, {}
    from .pareto import pareto_results
    from .pareto_choice import ovg_choice
    from .registry import get_study

    n = study_params(spec.profile, "pareto").get("n_images", get_study("pareto").params["n_images"].default)
    sweep = pareto_results(ctx, data, {"flow": D}, profile=spec.profile, bases=["ovg"], baselines=["ddim"],
                           n_images=n, parameterization="flow", ls=ls)
    choice = ovg_choice(sweep)
    choice.pop("per_base", None)
    tuned = {"eta_hf": choice["eta_hf"], "eta_lf": choice["eta_lf"], **given}
    source = choice["source"].replace("Pareto sweep", "Pareto sweep of OVG on the flow model", 1)
    if given:
        source = f"{', '.join(f'{k} = {v:g}' for k, v in given.items())} given to the study; the rest from the {source}"
    record = {"grid": json.loads(sweep.attrs["grid"]), "choice": json.loads(sweep.attrs["choices"]).get("ovg"),
              "n_images": int(sweep.attrs["n_images"]), "tuning_crops": json.loads(sweep.attrs["tuning_crops"]),
              "choice_on_edge": json.loads(sweep.attrs["choice_on_edge"]), "rule": sweep.attrs["rule"]}
    return {**tuned, "source": source}, record


def run_flow_collapse(spec: StudySpec, ctx: StudyContext, *, n_images: int = N_IMAGES) -> xr.Dataset:
    """The flow_collapse study: every label of ``methods`` on the profile's flow model, per seed, scored per crop.
    Bad knobs raise before any model is trained."""
    if spec.get("model") is not None or spec.get("models") is not None:
        raise ValueError("flow_collapse studies the flow-matching model it trains itself (Profile.model_spec('flow')), "
                         "so it cannot run on a given model; leave model / models unset, or run main_results on a "
                         "flow-matching diffusers folder of yours")
    labels = list(spec.get("methods", None) or FLOW_LABELS)   # the spec refuses a label given twice
    specs = flow_method_specs(labels, {**OVG_DEFAULTS, "source": ""})  # unknown or another model's labels raise here
    std = [lab for lab in labels if lab != SCALED_LABEL]
    if not std:
        raise ValueError(f"methods must hold a label besides {SCALED_LABEL}, e.g. ddim (its unscaled reference)")
    data = spec_data(spec)
    models, ls, space = profile_models(spec.profile, spec.dataset, std, parameterization="flow",
                                       options=data_options(spec), progress=ctx.progress)
    ovg, tuning = _ovg(spec, ctx, data, models["flow"], ls, specs)
    scaled = flow_method_specs([SCALED_LABEL], ovg) if SCALED_LABEL in labels else []
    ds = main_results.translation_results(ctx, data, models, profile=spec.profile, labels=std, seeds=spec.get("seeds"),
                                         n_images=n_images, ovg=ovg, ls=ls, parameterization="flow", space=space,
                                         study="flow_collapse", extra=tuple(scaled))
    ds = ds.sel({"method": labels})
    ds.attrs.update(
        methods=json.dumps([m.describe() for m in flow_method_specs(labels, ovg, ds.attrs["s_lf_kappa"])], default=str),
        latent_scale=LATENT_SCALE, labels=json.dumps(labels), ovg_tuning=json.dumps(tuning),
        flow_schedule=json.dumps(asdict(models["flow"].schedule)))
    return ds
