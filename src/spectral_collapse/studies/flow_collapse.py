"""Flow matching: does deterministic flow inversion collapse spectrally, and does OVG remove it?

The study translates the paired test split with the profile's flow-matching (rectified-flow) model
(``Profile.model_spec("flow")``: the eps model's U-Net trained on x_t = (1 - t) x0 + t n to predict v = n - x0,
train/losses.py) and scores every crop as the main results do (S_HF, the signed HF error delta_log_e_hf, S_LF,
S_DC, PSNR, the latent norm ratio ||x_T||^2 / d), beside the controls (``copy``, ``ground_truth``).

In the suite's sigma coordinates the flow model is one more denoiser (models/flow.py: x~ = x_t / (1 - t),
sigma = t / (1 - t)), so every method runs on it unchanged:

- ``ddim``: deterministic Euler inversion and sampling, which is diffusers' flow Euler step x_t' = x_t + (t' - t) v
  in flow coordinates (the DDIM-style inversion of flow models);
- ``ddim_x1.15``: the same inversion with the inverted latent multiplied by ``LATENT_SCALE`` = 1.15 before sampling,
  a fixed rescaling of the inverted latent toward the norm of noise, run beside OVG (``ScaledLatentEuler``);
- ``taba``: TABA (stochastic, one draw per seed);
- ``ovg``: Euler inversion with OVG's drift (paper Eq. 14), its gradients taken through the flow model's own
  coordinates x_t = x~ / (1 + sigma) (``D.input_scale``). Its step sizes are tuned for the flow model: the Pareto
  sweep's grid and rule (``pareto.pareto_results``, base ``ovg``, the profile's grid and number of images) on the
  validation crops, never the test crops, with the flow model; the study's ``eta_hf`` / ``eta_lf`` set them
  instead. The eps model's choice does not carry over: the flow model's coordinates scale x_t by 1 / (1 + sigma)
  where the eps model's scale it by 1 / sqrt(1 + sigma^2), so the same step size is a different push.

``findings`` reads three claims from the per-crop numbers (``studies.verdicts``: paired bootstrap over crops, the
metric's ``MIN_EFFECT``), each holds / does not hold / inconclusive:

(a) flow inversion collapses: S_DC of ddim below TABA's, and ddim's signed HF error below 0 (outputs too smooth);
(b) OVG moves S_DC up from ddim's and the signed HF error toward 0 without overshooting (``verdicts.texture_check``);
(c) the x1.15 scaling does the same. S_DC is measured on each latent scaled to unit variance, which a scalar multiple
    does not change: where ddim_x1.15's S_DC equals ddim's on every crop, its S_DC check does not hold by
    construction (the scaling leaves the latent's structure as it was), and the detail says so.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import xarray as xr

from ..inversion import Euler
from . import translation
from .translation import OVG_DEFAULTS
from .cells import StudyContext
from .models import data_options, profile_models, spec_data
from .profiles import get_profile, study_params
from .spec import StudySpec
from .realism import add_kid
from .verdicts import FAILS, Finding, combine, compare, real_band, signed, texture_check

__all__ = ["LATENT_SCALE", "SCALED_LABEL", "FLOW_LABELS", "N_IMAGES", "ScaledLatentEuler", "flow_method_specs",
           "run_flow_collapse", "findings"]

LATENT_SCALE = 1.15
SCALED_LABEL = "ddim_x1.15"
FLOW_LABELS = ("ddim", SCALED_LABEL, "taba", "ovg")
N_IMAGES = 8   # translated images and latents stored per (method, seed)


@dataclass(frozen=True)
class ScaledLatentEuler(Euler):
    """Euler (DDIM) inversion whose last step multiplies the state by ``scale``; sampling is plain Euler.

    At the top level sigma_top the state is x~ = x_t / (1 - t_top), so the scale multiplies the model's x_t, and the
    unit-variance latent x~ / sigma_top, by the same factor: the inverted noise, scaled before sampling starts."""

    scale: float = LATENT_SCALE

    def step(self, D, x, sigma: float, sigma_next: float, ctx):
        x_next = super().step(D, x, sigma, sigma_next, ctx)
        last = ctx.sigmas is not None and ctx.step_index == len(ctx.sigmas) - 2
        return x_next * self.scale if ctx.direction == "invert" and last else x_next


def flow_method_specs(labels, ovg: dict, lowpass_kappa: float = 0.06) -> list[translation.MethodSpec]:
    """The study's labels as MethodSpecs on the flow model (``SCALED_LABEL`` included); a label that needs another
    model (the EDM ones) or is unknown raises, naming the valid ones."""
    std = [lab for lab in labels if lab != SCALED_LABEL]
    specs = dict(zip(std, translation.method_specs(std, eta_hf=ovg["eta_hf"], eta_lf=ovg["eta_lf"],
                                                   lowpass_kappa=lowpass_kappa, parameterization="flow",
                                                   per_base=ovg.get("per_base"))))
    other = [lab for lab, ms in specs.items() if ms.parameterization != "flow"]
    if other:
        raise ValueError(f"method(s) {', '.join(other)} need another model than the flow model; flow_collapse runs "
                         f"labels on the flow model only, e.g. {', '.join(FLOW_LABELS)}, ovg_taba, ovg_stable")
    specs[SCALED_LABEL] = translation.MethodSpec(SCALED_LABEL, "flow", ScaledLatentEuler())
    return [specs[lab] for lab in labels]


def _given(spec: StudySpec) -> dict:
    """The OVG step sizes given to the study ({} when none)."""
    return {k: float(spec.get(k)) for k in ("eta_hf", "eta_lf") if spec.get(k, None) is not None}


def _ovg(spec: StudySpec, ctx: StudyContext, data, D, ls, labels) -> tuple[dict, dict]:
    """OVG's step sizes on the flow model and how they were found: both given to the study, else the flow model's own
    Pareto sweep on the validation crops (one given: the other from the sweep). (setting, tuning record)."""
    given = _given(spec)
    needs = any(ms.guidance is not None and ms.label != translation.STABLE_OVG_LABEL  # the stable form: own sizes
                for ms in flow_method_specs(labels, {**OVG_DEFAULTS, "source": ""}))
    if len(given) == 2 or not needs:
        src = ", ".join(f"{k} = {v:g}" for k, v in given.items())
        return {**OVG_DEFAULTS, **given, "source": f"given to the study ({src})" if given else "no OVG label"}, {}
    from .pareto import ovg_choice, pareto_results
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
    """The flow_collapse study: every label of ``methods`` (default ``FLOW_LABELS``) on the profile's flow model,
    per seed, scored per crop with the controls; (method, seed, sample) like the main results. Bad knobs raise before
    any model is trained."""
    if spec.get("model") is not None or spec.get("models") is not None:
        raise ValueError("flow_collapse studies the flow-matching model it trains itself (Profile.model_spec('flow')), "
                         "so it cannot run on a given model; leave model / models unset, or run main_results on a "
                         "flow-matching diffusers folder of yours")
    labels = list(spec.get("methods", None) or FLOW_LABELS)
    if len(set(labels)) < len(labels):
        raise ValueError(f"methods lists a label twice: {labels}")
    flow_method_specs(labels, {**OVG_DEFAULTS, "source": ""})  # unknown labels, or another model's labels, raise here
    std = [lab for lab in labels if lab != SCALED_LABEL]
    if not std:
        raise ValueError(f"methods must hold a label besides {SCALED_LABEL}, e.g. ddim (its unscaled reference)")
    prof = get_profile(spec.profile)
    data = spec_data(spec)
    models, ls, space = profile_models(spec.profile, spec.dataset, std, parameterization="flow",
                                       options=data_options(spec), progress=ctx.progress)
    ovg, tuning = _ovg(spec, ctx, data, models["flow"], ls, labels)
    ds = translation.translation_results(ctx, data, models, profile=spec.profile, labels=std, seeds=spec.get("seeds"),
                                         n_images=n_images, ovg=ovg, ls=ls, parameterization="flow", space=space,
                                         study="flow_collapse")
    if SCALED_LABEL in labels:
        ds = _add_scaled(ctx, ds, data, models["flow"], prof, n_images=n_images, ls=ls)
    ds = ds.sel({"method": labels})
    ds.attrs.update(
        methods=json.dumps([m.describe() for m in flow_method_specs(labels, ovg, ds.attrs["s_lf_kappa"])], default=str),
        latent_scale=LATENT_SCALE, labels=json.dumps(labels), ovg_tuning=json.dumps(tuning),
        flow_schedule=json.dumps(asdict(models["flow"].schedule)))
    return ds


def _add_scaled(ctx: StudyContext, ds: xr.Dataset, data, D, prof, *, n_images: int, ls=None) -> xr.Dataset:
    """``ds`` with the ``SCALED_LABEL`` rows: the same crops as the other labels (``ds["crop"]``), translated once
    (the method is deterministic) and cut per seed, scored like them."""
    seeds = [int(s) for s in ds["seed"].values]
    subsets = {s: [int(i) for i in ds["crop"].sel(seed=s).values] for s in seeds}
    union = sorted(set().union(*map(set, subsets.values())))
    at = {i: k for k, i in enumerate(union)}
    src_all, gt_all = data.test_source, data.test_target
    x_all = src_all[union] if ls is None else ls.encode(src_all[union])
    paired = bool(getattr(data, "paired", True))
    scoring = translation.scoring_settings(data)
    ms = flow_method_specs([SCALED_LABEL], {"eta_hf": 0.0, "eta_lf": 0.0})[0]
    cells = translation.scored_cells(ctx, D, x_all, ms, seed=seeds[0], steps=prof.steps, batch_size=prof.batch_size,
                                     src=src_all[union], gt=gt_all[union] if paired else None, scoring=scoring,
                                     n_images=n_images, groups={s: [at[i] for i in subsets[s]] for s in seeds},
                                     ls=ls)
    part = xr.concat([cells[s].expand_dims(seed=[s]) for s in seeds], dim="seed").expand_dims(method=[SCALED_LABEL])
    per_method = [v for v in ds.data_vars if "method" in ds[v].dims]
    kid = [v for v in per_method if v.startswith("kid_wav")]   # set-level: scored again over every label below
    per_method = [v for v in per_method if v not in kid]
    missing = sorted(set(per_method) - set(part.data_vars))
    if missing:
        raise RuntimeError(f"the {SCALED_LABEL} cells lack {missing}, which the other labels' results hold")
    both = xr.concat([ds[per_method], part[per_method]], dim="method", data_vars="all", coords="minimal",
                     compat="override", join="outer")
    out = ds.drop_vars([*per_method, *kid, "method"]).merge(both)
    out.attrs = dict(ds.attrs)
    return add_kid(out, scoring["reference_features"]) if kid else out


# ------------------------------------------------------------------------------------------------ the verdicts

def _crops(ds: xr.Dataset):
    from .scorecard import crop_frame

    return crop_frame(ds, "flow_collapse", str(ds.attrs.get("dataset", "")))


def _below_zero(ds: xr.Dataset, method: str) -> tuple[str, str] | None:
    """Whether ``method``'s signed HF error (delta_log_e_hf) lies below 0 beyond MIN_EFFECT: the 95 % bootstrap
    interval over crops of its mean (``three_way``, claimed direction negative)."""
    from ..metrics.intervals import MIN_EFFECT, bootstrap_ci, three_way
    from .aggregate import crop_values

    v = crop_values(ds, "delta_log_e_hf", method)
    if not len(v):
        return None
    ci = bootstrap_ci(v)
    verdict = three_way(ci, MIN_EFFECT["delta_log_e_hf"], higher_is_claimed=False)
    return verdict, (f"Δlog E_HF of {method} {signed(ci.mean)} [{signed(ci.lo)}, {signed(ci.hi)}], {ci.n} crops "
                     f"(below 0: too smooth) → {verdict}")


def _s_dc_up(f, ds: xr.Dataset, method: str) -> tuple[str, str] | None:
    """S_DC of ``method`` above ddim's (paired over crops); where the two agree on every crop, as a scalar multiple
    of the latent must (S_DC is measured on unit-variance latents), the check does not hold and says why."""
    from .aggregate import crop_values

    a, b = crop_values(ds, "s_dc", method), crop_values(ds, "s_dc", "ddim")
    if len(a) and len(a) == len(b) and np.allclose(a, b, rtol=0.0, atol=1e-9):
        why = (": S_DC is measured on each latent scaled to unit variance, which a scalar multiple leaves as it was"
               if method == SCALED_LABEL else "")
        return FAILS, f"S_DC {method} − ddim {signed(0.0)} on each of {len(a)} crops{why} → {FAILS}"
    return compare(f, method, "ddim", "s_dc", higher=True)


def findings(ds: xr.Dataset) -> dict[str, Finding]:
    """The study's three claims read from its per-crop numbers (module docstring): {"collapse": (a), "ovg": (b),
    "scaled": (c)}; a claim whose methods were not run is "not testable here"."""
    f = _crops(ds)
    methods = [str(m) for m in ds["method"].values]
    has = lambda *ms: all(m in methods for m in ms)  # noqa: E731
    out = {"collapse": combine([compare(f, "ddim", "taba", "s_dc", higher=False), _below_zero(ds, "ddim")]
                               if has("ddim", "taba") else [], "needs the ddim and taba labels")}
    band = real_band(ds)
    for key, m in (("ovg", "ovg"), ("scaled", SCALED_LABEL)):
        out[key] = combine([_s_dc_up(f, ds, m), texture_check(f, m, "ddim", band=band)] if has(m, "ddim") else [],
                           f"needs the {m} and ddim labels")
    return out
