"""Every study of the suite: its knobs, the function that computes it, what it reads from other studies."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..framework.spec import Param, StudySpec, make_spec

__all__ = ["Study", "STUDIES", "get_study", "study_spec", "DECLARED", "missing_variables"]

BUNDLED = ("ihc-sr", "ihc-edges")


@dataclass(frozen=True)
class Study:
    """One study: name, page title, knobs, computation, the datasets the main command runs it on, what it reads."""

    name: str
    title: str
    params: Mapping[str, Param]
    run: Callable | None = None            # (spec, ctx) -> xr.Dataset; None: the notebook stores no results
    datasets: tuple = BUNDLED
    reads: tuple = ()                       # studies (same dataset and profile) whose results this one takes
    export: Callable | None = None          # (its results or None, reader's spec) -> what readers record as input
    takes_model: bool = False               # runs on a user's model (knobs model / models) instead of training
    declares: tuple = ()                    # variables every results file holds, whatever its knobs, dataset or model


# --- shared knobs ---------------------------------------------------------------------------------------------
SEED_MAX = 2**32 - 1   # the largest seed every random generator the studies seed accepts (numpy's legacy one too)
_SEEDS = Param("list[int]", None, "seeds; None: the profile's (e.g. [0, 1, 2])", minimum=0, maximum=SEED_MAX)
_METHODS = Param("list[str]", None, "method labels; None: the study's default set")
_FACTORS = Param("list[int]", None, "SR factors; None: the profile's (smoke 2, 4; quick 2, 4, 8; paper 8, 16, 32)",
                 minimum=2)
_N_LATENTS = Param("int", None, "latents inverted; None: the profile's (smoke 16, quick 128, paper 2000)", minimum=2)
_SEED = Param("int", 0, "seed of the stochastic methods' draws", optional=False, minimum=0, maximum=SEED_MAX)
# The translation, Pareto and latent studies take a user's model instead of training one; the ablations refuse one.
_DATA = Param("json", None, "options of the data loader, e.g. {\"task\": \"sr\", \"factor\": 4}; for folder:<path> "
              "also seed, test_fraction, degrade_source (docs/datasets.md); None: the dataset's defaults")
_MODEL = Param("str", None, "a diffusers pipeline folder or hub id used instead of training (inverts and samples); "
               "None: the profile's trained models")
_MODELS = Param("json", None, "two models {\"source\": path, \"target\": path}: invert with the first, sample with "
                "the second (DDIB); None: model or the trained ones")
_WEAK = Param("bool", None, "run on a model below the quality gate (framework.quality) instead of refusing it; every "
              "chapter and table of the run then carries a warning. None: the profile's rule (smoke allows every "
              "model; quick and paper refuse one below the gate unless the profile lists it among its allowed weak "
              "models: the profile's allow_weak_models)")
_USER = {"data_options": _DATA, "model": _MODEL, "models": _MODELS, "allow_weak_model": _WEAK}
# the oracle arm (framework/oracle_arm.py): the study again with the exact Gaussian denoiser, trained models only
_ORACLE = {"oracle_arm": Param("bool", True, "also run the oracle (the exact Gaussian denoiser of the two domains, "
                               "models.oracle) and store its results as the arm 'oracle' (framework.oracle_arm); "
                               "None: True")}
_TRANSLATION = ("psnr", "s_hf", "s_lf", "s_g", "failed")
_LEAK = _TRANSLATION + ("support_leak",)   # translations that keep their latents: NaN where the support is unknown
_ABLATION = {"seeds": _SEEDS, "methods": _METHODS, "factors": _FACTORS, **_USER}


# --- lazy entry points (each study module is imported when its study runs) -----------------------------------
def _lazy(module: str, name: str) -> Callable:
    """``studies.<module>.<name>``, imported on the first call (the registry imports no study module)."""
    def call(*args):
        return getattr(importlib.import_module(f".{module}", __package__), name)(*args)
    call.__qualname__ = f"{module}.{name}"
    return call


_latents, _ablation = _lazy("latents", "run_latent_study"), _lazy("ablations", "run_ablation_spec")


_LIST = [
    Study("model_quality", "Are the models good enough?", {
        "keys": Param("list[str]", None, "models of the model set (framework.model_set.MODEL_SET) to measure; None: all"),
        **_ORACLE,
    }, _lazy("model_quality", "run_model_quality"), datasets=("ihc-sr",), declares=("passed",)),
    Study("pareto", "OVG step sizes: Pareto sweep", {
        "eta_hf": Param("list[float]", None, "eta_HF grid; None: the profile's (log-spaced around the default)",
                        minimum=0),
        "eta_lf": Param("list[float]", None, "eta_LF grid; None: the profile's", minimum=0),
        "bases": Param("list[str]", None, "OVG variants swept; None: ovg, ovg_taba, ovg_edm",
                       choices=("ovg", "ovg_taba", "ovg_edm")),
        "baselines": Param("list[str]", None, "non-OVG methods on the same axes; None: ddim, taba, edm"),
        "n_images": Param("int", None, "validation crops per grid point; None: all the profile's", minimum=1),
        "seed": Param("int", None, "None: the profile's first seed", minimum=0),
        "rule": Param("str", "maximin", "how the operating point is chosen", optional=False,
                      choices=("maximin", "knee")),
        "extend": Param("int", 1, "times the grid grows one step past an edge a choice sits on", optional=False,
                        minimum=0),
        "fill_scales": Param("list[float]", None, "scales of DDIM + fill's fresh component swept where the task's "
                             "support is known; None: 0.25, 0.5, 0.75, 1", minimum=0), **_USER, **_ORACLE,
    }, _lazy("pareto", "run_pareto"), export=_lazy("pareto", "pareto_export"), takes_model=True,
       declares=("psnr", "s_hf", "s_lf", "chosen", "failed")),
    Study("main_results", "Main results", {"seeds": _SEEDS, "methods": _METHODS, **_USER, **_ORACLE},
          _lazy("main_results", "run_main_results"), reads=("pareto",), takes_model=True,
          declares=_LEAK,
          export=lambda ds, spec: None if ds is None else ds.attrs.get("results_key")),
    Study("pca_collapse", "PCA collapse of inverted latents", {
        "methods": _METHODS, "factors": _FACTORS, "n_latents": _N_LATENTS, "seed": _SEED, **_USER, **_ORACLE,
    }, _latents, reads=("pareto",), takes_model=True, declares=("cev", "k90", "norm_ratio", "support_leak")),
    Study("gaussianity", "Gaussianity of inverted latents", {
        "methods": _METHODS, "n_latents": _N_LATENTS, "seed": _SEED,
        "bins": Param("int", 30, "histogram bins", optional=False, minimum=1), **_USER, **_ORACLE,
    }, _latents, reads=("pareto",), takes_model=True, declares=("ks_d", "norm_ratio", "s_g", "support_leak")),
    Study("decorrelation", "Patch decorrelation of inverted latents", {
        "seeds": _SEEDS, "methods": _METHODS, "n_latents": _N_LATENTS,
        "steps_grid": Param("list[int]", None, "step counts; None: (steps/5, steps/2, steps) of the profile",
                            minimum=2), **_USER, **_ORACLE,
    }, _latents, reads=("pareto",), takes_model=True, declares=("s_dc", "norm_ratio", "support_leak")),
    Study("velocity", "Spectral velocity of inversion", {
        "methods": _METHODS,
        "n_samples": Param("int", 4, "test inputs averaged per heatmap", optional=False, minimum=1),
        "space": Param("str", "vp", "coordinates of the updates", optional=False, choices=("vp", "sigma")),
        "seed": _SEED, **_USER,
    }, _lazy("latents", "run_velocity"), reads=("pareto",), takes_model=True, declares=("log_power",)),
    Study("ovg_schedule", "Where OVG must act: guidance schedules", {
        "schedules": Param("list[str]", None, "OVG schedules compared with DDIM and full OVG; None: low, mid, high "
                           "(thirds of the inversion steps, low = lowest sigma), first_half, last_half, every_2, "
                           "every_4", choices=("low", "mid", "high", "first_half", "last_half", "every_2", "every_4")),
        "timing_images": Param("int", 8, "test inputs of the one timed translation per method", optional=False,
                               minimum=1),
        **_USER,
    }, _lazy("ovg_schedule", "run_ovg_schedule"), reads=("pareto",), takes_model=True,
       declares=("psnr", "s_hf", "s_lf", "failed")),
    Study("metric_validation", "Validation of the metrics", {
        "kappas": Param("list[float]", None, "filter cutoffs (fractions of Nyquist); None: 0.1 ... 0.8", minimum=0),
        "n_real": Param("int", 64, "held-out real images for the filter test", optional=False, minimum=2),
        "data_options": _DATA,
    }, _lazy("metric_validation", "run_metric_validation"), reads=("main_results",),
       declares=("slope", "pearson", "spearman", "leak_control_leak")),
    *(Study(name, title, _ABLATION, _ablation, datasets=("ihc-sr",), reads=("pareto",), declares=_LEAK)
      for name, title in (("backbone_ablation", "Backbone ablation: U-Net vs DiT"),
                          ("space_ablation", "Data-space ablation: pixel vs latent"),
                          ("scale_factor", "Scale-factor ablation"),
                          ("eps_vs_x0", "Prediction target, ε-prediction vs x0-prediction"))),
    Study("seed_spread", "Training seeds: how far the numbers move between training runs",
          {k: v for k, v in _ABLATION.items() if k != "factors"}, _ablation, datasets=("ihc-sr", "ihc-edges"),
          reads=("pareto",), declares=_LEAK),
    Study("flow_collapse", "Flow matching: does flow inversion collapse?", {
        "seeds": _SEEDS,
        "methods": Param("list[str]", None, "labels on the flow model; None: ddim, ddim_x1.15 (the inverted latent "
                         "scaled by 1.15 before sampling), taba, ovg"),
        **{k: Param("float", None, f"OVG's eta_{k[4:].upper()} on the flow model; None: tuned on the flow "
                    "model (a Pareto sweep of OVG on the validation crops)", minimum=0)
           for k in ("eta_hf", "eta_lf")},
        **_USER,
    }, _lazy("flow_collapse", "run_flow_collapse"), datasets=("ihc-sr",), declares=_TRANSLATION),
    Study("closed_form", "Collapse in closed form", {
        "n_images": Param("int", None, "test crops inverted (the main results' first seed's); None: all of them",
                          minimum=1),
        "eta_hf": Param("list[float]", None, "OVG's eta_HF of the drift diagnostics (eta_LF 0); None: 1e-8, 1e-7, "
                        "1e-6", minimum=0),
        "low_fraction": Param("float", 0.1, "the share of least-variance directions whose chroma share is reported",
                              optional=False, minimum=0.001, maximum=1),
        "sizes": Param("list[int]", None, "crop sizes of the scale sweep (stationary oracle); None: the profile's "
                       "(smoke 16, 32; quick and paper 32, 64, 128, 256)", minimum=8, maximum=256),
        "scale_images": Param("int", None, "inputs per crop size of the scale sweep; None: n_images", minimum=2),
        "scale_eta_hf": Param("float", 1e-7, "OVG's eta_HF in the scale sweep at 32 x 32 x 3 (eta_HF x d held fixed "
                              "across sizes)", optional=False, minimum=0),
        "seed": _SEED,
    }, _lazy("closed_form", "run_closed_form"), declares=("s_g", "s_dc", "drift_chroma_share", "scale_s_dc")),
    Study("benchmarks", "What it costs", {
        "results_file": Param("str", "benchmarks/results/latest.json", "written by `python -m benchmarks`"),
        "main_command_file": Param("str", "benchmarks/results/main_command.json", "the timed main command"),
        "smoke_file": Param("str", "benchmarks/results/smoke_studies.json",
                            "every study on the smoke profile, one after another, timed"),
    }, datasets=("ihc-sr",)),
    Study("your_model", "Your data, your model", {
        "steps": Param("int", 20, "inversion and sampling steps of the demonstration", optional=False, minimum=2),
        "n_images": Param("int", 4, "bundled test images translated", optional=False, minimum=1),
    }, datasets=("ihc-sr",)),
]
STUDIES: dict[str, Study] = {s.name: s for s in _LIST}


def get_study(name: str) -> Study:
    """A study by name; the error lists the valid ones."""
    try:
        return STUDIES[name]
    except KeyError:
        raise ValueError(f"unknown study {name!r}; valid studies: {', '.join(STUDIES)}") from None


def study_spec(name: str, *, dataset: Any = "ihc-sr", profile: Any = "quick", **raw) -> StudySpec:
    """The typed spec of study ``name`` from raw values (papermill's strings, a caller's lists); see ``make_spec``."""
    return make_spec(name, get_study(name).params, dataset=dataset, profile=profile, **raw)


# A stored file without one of a study's declared variables is incomplete and computed again by
# ``pipeline.runner.run_study``, with a note in the chapter.
DECLARED: dict[str, tuple[str, ...]] = {s.name: s.declares for s in _LIST if s.declares}


def missing_variables(study: str, ds) -> list[str]:
    """The variables ``study`` declares that the results ``ds`` lack, in declared order ([] when none)."""
    return [name for name in DECLARED.get(study, ()) if name not in ds.variables]
