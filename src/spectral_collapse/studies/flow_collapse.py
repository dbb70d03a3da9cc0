"""Flow matching: does deterministic flow inversion collapse spectrally, and does OVG remove it?"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import xarray as xr

from ..inversion import Euler
from ..metrics.intervals import MIN_EFFECT, bootstrap_ci, three_way
from . import translation
from .method_labels import OVG_DEFAULTS, MethodSpec, method_specs
from .aggregate import crop_values
from .cells import StudyContext
from .models import data_options, profile_models, spec_data
from .profiles import study_params
from .spec import StudySpec
from .verdicts import FAILS, Finding, combine, compare, texture_check
from ..reference.method_names import STABLE_OVG_LABEL
from ..text import signed

__all__ = ["LATENT_SCALE", "SCALED_LABEL", "FLOW_LABELS", "N_IMAGES", "ScaledLatentEuler", "flow_method_specs",
           "run_flow_collapse", "findings", "FLOW_METRICS", "NORM", "PATTERN", "CONTRAST", "norm_table",
           "pattern_ratio", "pattern_table", "noise_table"]

LATENT_SCALE = 1.15
SCALED_LABEL = "ddim_x1.15"
FLOW_LABELS = ("ddim", SCALED_LABEL, "taba", "ovg")
N_IMAGES = 8   # translated images and latents stored per (method, seed)


@dataclass(frozen=True)
class ScaledLatentEuler(Euler):
    """Euler (DDIM) inversion whose last step multiplies the state, and so the unit-variance latent, by ``scale``;
    sampling is plain Euler."""

    scale: float = LATENT_SCALE

    def step(self, D, x, sigma: float, sigma_next: float, ctx):
        x_next = super().step(D, x, sigma, sigma_next, ctx)
        last = ctx.sigmas is not None and ctx.step_index == len(ctx.sigmas) - 2
        return x_next * self.scale if ctx.direction == "invert" and last else x_next


def flow_method_specs(labels, ovg: dict, lowpass_kappa: float = 0.06) -> list[MethodSpec]:
    """The study's labels as MethodSpecs on the flow model (``SCALED_LABEL`` included); a label that needs another
    model (the EDM ones) or is unknown raises, naming the valid ones."""
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
    """OVG's step sizes on the flow model and how they were found: both given to the study, else the flow model's own
    Pareto sweep on the validation crops (one given: the other from the sweep). (setting, tuning record)."""
    given = {k: float(spec.get(k)) for k in ("eta_hf", "eta_lf") if spec.get(k, None) is not None}
    needs = any(ms.guidance is not None and ms.label != STABLE_OVG_LABEL  # the stable form: own sizes
                for ms in specs)
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
    specs = flow_method_specs(labels, {**OVG_DEFAULTS, "source": ""})  # unknown or another model's labels raise here
    std = [lab for lab in labels if lab != SCALED_LABEL]
    if not std:
        raise ValueError(f"methods must hold a label besides {SCALED_LABEL}, e.g. ddim (its unscaled reference)")
    data = spec_data(spec)
    models, ls, space = profile_models(spec.profile, spec.dataset, std, parameterization="flow",
                                       options=data_options(spec), progress=ctx.progress)
    ovg, tuning = _ovg(spec, ctx, data, models["flow"], ls, specs)
    scaled = flow_method_specs([SCALED_LABEL], ovg) if SCALED_LABEL in labels else []
    ds = translation.translation_results(ctx, data, models, profile=spec.profile, labels=std, seeds=spec.get("seeds"),
                                         n_images=n_images, ovg=ovg, ls=ls, parameterization="flow", space=space,
                                         study="flow_collapse", extra=tuple(scaled))
    ds = ds.sel({"method": labels})
    ds.attrs.update(
        methods=json.dumps([m.describe() for m in flow_method_specs(labels, ovg, ds.attrs["s_lf_kappa"])], default=str),
        latent_scale=LATENT_SCALE, labels=json.dumps(labels), ovg_tuning=json.dumps(tuning),
        flow_schedule=json.dumps(asdict(models["flow"].schedule)))
    return ds


# ------------------------------------------------------------------------------------------------ the verdicts

def _below_zero(ds: xr.Dataset, method: str) -> tuple[str, str] | None:
    """Whether ``method``'s signed HF error (delta_log_e_hf) lies below 0 beyond MIN_EFFECT: the 95 % bootstrap
    interval over crops of its mean (``three_way``, claimed direction negative)."""
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
    a, b = crop_values(ds, "s_dc", method), crop_values(ds, "s_dc", "ddim")
    if len(a) and len(a) == len(b) and np.allclose(a, b, rtol=0.0, atol=1e-9):
        why = (": S_DC is measured on each latent scaled to unit variance, which a scalar multiple leaves as it was"
               if method == SCALED_LABEL else "")
        return FAILS, f"S_DC {method} − ddim {signed(0.0)} on each of {len(a)} crops{why} → {FAILS}"
    return compare(f, method, "ddim", "s_dc", higher=True)


def findings(ds: xr.Dataset) -> dict[str, Finding]:
    """The study's claims from its per-crop numbers: "collapse" (ddim's S_DC below TABA's and its signed HF error
    below 0), "ovg" and "scaled" (S_DC up from ddim's, HF error toward 0); a claim whose methods
    were not run is "not testable here"."""
    from .evidence import long_frame

    f = long_frame(ds, "flow_collapse", str(ds.attrs.get("dataset", "")), per_crop=True)
    methods = [str(m) for m in ds["method"].values]
    has = lambda *ms: all(m in methods for m in ms)  # noqa: E731
    out = {"collapse": combine([compare(f, "ddim", "taba", "s_dc", higher=False), _below_zero(ds, "ddim")]
                               if has("ddim", "taba") else [], "needs the ddim and taba labels")}
    for key, m in (("ovg", "ovg"), ("scaled", SCALED_LABEL)):
        out[key] = combine([_s_dc_up(f, ds, m), texture_check(f, m, "ddim")] if has(m, "ddim") else [],
                           f"needs the {m} and ddim labels")
    return out


# ------------------------------------------------------------------------------------------- the tables

# the main results' per-crop metrics, with the latent's norm ratio ||x_T||^2 / d beside S_DC (on unit-variance latents)
FLOW_METRICS = ("psnr", "s_hf", "delta_log_e_hf", "s_lf", "s_dc", "latent_norm_ratio")
NORM = "‖x_T‖²/d"   # the latent's mean squared norm per dimension, as the tables head it
PATTERN = 5.0       # a latent set shows a regular pattern when its peak Fourier power ratio is >= 5 x noise's
CONTRAST = 1.25     # outputs are over-contrasted when their pixel std is >= 1.25 x the ground truth's


def norm_table(ds: xr.Dataset) -> pd.DataFrame:
    """Mean ‖x_T‖²/d of the inverted latents per method (N(0, I) noise: 1), and its ratio to DDIM's."""
    ref = float(crop_values(ds, "latent_norm_ratio", "ddim").mean()) if "ddim" in ds["method"].values else np.nan
    means = {m: float(v.mean()) if len(v := crop_values(ds, "latent_norm_ratio", m)) else np.nan
             for m in ds["method"].values.tolist()}
    return pd.DataFrame.from_dict({m: {NORM: round(v, 4), "/ DDIM's": round(v / ref, 4)} for m, v in means.items()},
                                  orient="index")


def pattern_ratio(latents) -> tuple[float, float]:
    """(peak / median Fourier power averaged over unit-variance latents (…, H, W), the peak's radial frequency in
    cycles/pixel): near 1-2 for noise, large for a shared stripe or grid pattern."""
    a = np.asarray(latents, dtype=np.float64)
    a = a / np.maximum(a.std(axis=(-2, -1), keepdims=True), 1e-12)
    power = (np.abs(np.fft.fft2(a)) ** 2).reshape(-1, *a.shape[-2:]).mean(axis=0)
    power[0, 0] = np.nan
    k = np.unravel_index(np.nanargmax(power), power.shape)
    f = float(np.hypot(np.fft.fftfreq(a.shape[-2])[k[0]], np.fft.fftfreq(a.shape[-1])[k[1]]))
    return float(np.nanmax(power) / np.nanmedian(power)), f


def pattern_table(ds: xr.Dataset) -> pd.DataFrame:
    """Per method (first seed): ``pattern_ratio``, its frequency, its ratio to noise's, ``pattern`` (>= ``PATTERN``)
    and ``contrast`` (output pixel std over the ground truth's); a row "N(0, I)" last."""
    shown = ds["latents"].isel(seed=0)
    noise, nf = pattern_ratio(np.random.default_rng(0).standard_normal(shown.isel(method=0).shape))
    t_std = np.asarray(ds["truth_images"].values, dtype=np.float64).std(axis=(-3, -2, -1))
    rows = {}
    for m in ds["method"].values.tolist():
        r, f = pattern_ratio(shown.sel({"method": m}).values)
        out = np.asarray(ds["images"].sel({"method": m}).isel(seed=0).values, dtype=np.float64)
        rows[m] = {"peak / median": r, "frequency": f, "/ noise's": r / noise, "pattern": r >= PATTERN * noise,
                   "contrast": float(np.nanmean(out.std(axis=(-3, -2, -1)) / t_std))}
    rows["N(0, I)"] = {"peak / median": noise, "frequency": nf, "/ noise's": 1.0, "pattern": False,
                       "contrast": np.nan}
    return pd.DataFrame.from_dict(rows, orient="index").round(3)


def noise_table(ds: xr.Dataset) -> pd.DataFrame:
    """S_HF (``mean``, ``lo``, ``hi``) of the real crops (row "real") and of each model's samples from noise."""
    ci = bootstrap_ci(ds["control_s_hf"].sel(control="ground_truth").values)
    rows = {"real": {"mean": ci.mean, "lo": ci.lo, "hi": ci.hi},
            **{m: {"mean": float(ds["noise_s_hf"].sel(model=m).mean()), "lo": np.nan, "hi": np.nan}
               for m in ds["model"].values.tolist()}}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("S_HF of")
