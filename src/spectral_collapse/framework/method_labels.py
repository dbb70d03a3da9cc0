"""The method labels of the translation studies and what each one runs."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from ..inversion import OVG, TABA, Euler
from ..inversion.methods import Fill, get_method
from ..reference.method_names import METHOD_NAMES, STABLE_OVG_LABEL

__all__ = ["MethodSpec", "PAPER_LABELS", "BASELINE_LABELS", "FILL_LABELS", "STOCHASTIC", "OVG_DEFAULTS",
           "BASELINE_PARAMS", "VARIANT_NAMES", "name_quoted_methods", "method_specs", "ovg_setting", "MODEL_WORDS"]

PAPER_LABELS = ("ddim", "taba", "edm", "ovg", "ovg_taba", "ovg_edm")
BASELINE_LABELS = ("null_class", "direct_inversion", "renoise", "edict", "bdia")
# the fill (inversion.methods.Fill): needs the projector of the task's support (``method_specs``' projector)
FILL_LABELS = ("ddim_fill", "ovg_fill")
STOCHASTIC = {"taba", "ovg_taba", "renoise", *FILL_LABELS}

# OVG step sizes when no Pareto choice is recorded (``ovg_setting``), on 16 ihc-sr crops with the quick eps model:
# eta_hf 1e-6 lifts S_DC from 0.39 to 0.54 at ||x_T||^2/d 0.99, 1e-5 overshoots the norm; eta_lf 1e-1 diverges.
OVG_DEFAULTS = {"eta_hf": 1e-6, "eta_lf": 1e-2}


# The models of a run, by their parameterization, as prose and tables name them
MODEL_WORDS = {"eps": "ε-prediction", "x0": "x0-prediction", "v": "v-prediction", "edm": "EDM",
               "flow": "flow-matching", "vae": "autoencoder"}
# The benchmarks' variants of a method (``benchmarks.inversion``), as their tables and charts name them
VARIANT_NAMES = {"heun": "EDM, Heun steps", "ovg_batched": "OVG, batched VJPs", "ovg_separate": "OVG, separate VJPs",
                 "ovg_naive": "OVG, released code", "renoise": "ReNoise, R = 1", "renoise_r9": "ReNoise, R = 9"}


_FENCE = re.compile(r"(```.*?```)", re.S)
_QUOTED = re.compile(r"`(" + "|".join(re.escape(k) for k in sorted(METHOD_NAMES, key=len, reverse=True)) + r")`")


def name_quoted_methods(text: str) -> str:
    """``text`` with each inline code span holding only a method label ("`ovg_edm`") written as the reader name
    ("OVG + EDM"); fenced code blocks and other code spans unchanged."""
    parts = _FENCE.split(str(text))
    return "".join(p if i % 2 else _QUOTED.sub(lambda m: METHOD_NAMES[m.group(1)], p) for i, p in enumerate(parts))


# Baseline settings where they differ from the authors' defaults: ReNoise with R = 1 (the authors' 50-step SD path;
# R = 9 is tuned for 4-step SDXL-Turbo) and the forward-noised clean image as KL reference (the clean image as is
# drives pixel-space latents off the Gaussian shell: PSNR 5.25 dB against 22.69 dB on 8 ihc-sr quick images).
BASELINE_PARAMS = {"renoise": dict(renoise_steps=1, first_step_renoise_steps=1, average_range=(0, 2),
                                   first_step_range=(0, 2), reference="forward")}


@dataclass(frozen=True)
class MethodSpec:
    label: str
    parameterization: str          # which trained model: "eps" or "edm" (or "x0")
    method: object                 # frozen dataclass with .step
    guidance: object | None = None

    def describe(self) -> dict:
        guidance = None if self.guidance is None else {"type": type(self.guidance).__name__, **asdict(self.guidance)}
        return {"label": self.label, "parameterization": self.parameterization, "method": type(self.method).__name__,
                "method_params": asdict(self.method) if hasattr(self.method, "__dataclass_fields__") else {},
                "guidance": guidance}


def ovg_setting(spec) -> dict:
    """OVG step sizes of a study: the Pareto sweep's choice, else OVG_DEFAULTS, the reason in ``source``."""
    chosen = spec.input("pareto")
    if isinstance(chosen, dict) and chosen.get("eta_hf") is not None:
        out = {"eta_hf": float(chosen["eta_hf"]), "eta_lf": float(chosen["eta_lf"]), "source": str(chosen["source"])}
        if chosen.get("fill_scale") is not None:   # the fill's scale chosen by the same sweep
            out["fill_scale"] = float(chosen["fill_scale"])
        if isinstance(chosen.get("per_base"), dict) and chosen["per_base"]:
            out["per_base"] = {str(k): {"eta_hf": float(v["eta_hf"]), "eta_lf": float(v["eta_lf"])}
                               for k, v in chosen["per_base"].items()}
        return out
    reason = (chosen or {}).get("source") if isinstance(chosen, dict) else None
    return {**OVG_DEFAULTS, "source": reason or f"defaults (no Pareto sweep stored for {spec.dataset}, {spec.profile})"}


def method_specs(labels, *, eta_hf: float, eta_lf: float, lowpass_kappa: float = 0.06, parameterization: str = "eps",
                 per_base: dict | None = None, projector=None, fill_scale: float = 1.0, check_support: bool = False,
                 **_) -> list[MethodSpec]:
    """Map the paper's method labels to (model, method, guidance). per_base: {OVG label: {"eta_hf", "eta_lf"}}, a
    variant's own step sizes; projector / fill_scale: the fill labels' (none: raises here with ``check_support``,
    else when its inversion ends)."""
    per_base = per_base or {}
    wanted_fill = [lab for lab in labels if lab in FILL_LABELS]
    if wanted_fill and projector is None and check_support:
        raise ValueError(f"method(s) {', '.join(wanted_fill)} need the support of the task's degradation, and this "
                         f"task has none (data.support.dataset_support); run them on an 'sr' or 'edges' dataset")

    def ovg_of(label: str, fallback: str | None = None) -> OVG:
        own = per_base.get(label) or per_base.get(fallback) or {}
        return OVG(eta_hf=float(own.get("eta_hf", eta_hf)), eta_lf=float(own.get("eta_lf", eta_lf)),
                   lowpass_kappa=lowpass_kappa)

    base = parameterization
    table = {
        "ddim": MethodSpec("ddim", base, Euler()),
        "taba": MethodSpec("taba", base, TABA()),
        "edm": MethodSpec("edm", "edm", Euler()),
        "ovg": MethodSpec("ovg", base, Euler(), ovg_of("ovg")),
        "ovg_taba": MethodSpec("ovg_taba", base, TABA(), ovg_of("ovg_taba")),
        "ovg_edm": MethodSpec("ovg_edm", "edm", Euler(), ovg_of("ovg_edm")),
        STABLE_OVG_LABEL: MethodSpec(STABLE_OVG_LABEL, base, Euler(), OVG.stable(lowpass_kappa=lowpass_kappa)),
        "ddim_fill": MethodSpec("ddim_fill", base, Fill(projector, fill_scale)),
        "ovg_fill": MethodSpec("ovg_fill", base, Fill(projector, fill_scale), ovg_of("ovg_fill", "ovg")),
    }
    for name in BASELINE_LABELS:
        table[name] = MethodSpec(name, base, get_method(name, **BASELINE_PARAMS.get(name, {})))
    unknown = [lab for lab in labels if lab not in table]
    if unknown:
        raise ValueError(f"unknown method label {unknown[0]!r}; valid labels: {', '.join(table)}")
    return [table[lab] for lab in labels]
