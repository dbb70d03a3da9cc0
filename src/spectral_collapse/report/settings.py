"""A chapter's "settings of this run" as a readable two-column table.

Values are shown as a reader takes them in: a mapping as "key = value" with empty entries left out, a model by its
name (the checkpoint folder's content hash left off) and where its weights ship, a guidance schedule by the steps it
guides, a package version the results did not record said to be unrecorded. Hashes and other provenance stay in the results
file.

The table keeps the stored keys as its row labels (code reads rows by key); what a reader sees (``reader_view``,
applied by the chapters' table display through ``short_model_names``) names each row in words (``SETTING_NAMES``),
gives the study parameter that sets it in a column of its own (the key a user types, only for a study's knobs), and
writes step sizes and method labels as the rest of the book does (η_HF, "OVG + EDM").
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["settings_table", "reader_view", "SETTING_NAMES", "setting_name", "readable", "model_name", "short_model_names", "models_text", "schedules_text", "ovg_text",
           "plain_source", "tuning_text", "ms_ssim_text",
           "versions_text", "SUITE", "SOURCE_TREE", "methods_run", "scoped_ovg", "seed_use", "seed_text"]

from .settings_words import (HASHED_NAME, MISSING, PARAMETERIZATION_WORDS, is_empty, guidance_text,  # noqa: E402,F401
                             parsed_value, ms_ssim_text, model_name, ovg_text, parameterization_words, plain_source, readable,
                             tuning_text)   # values in words, re-exported: callers import them from here

_PROVENANCE_PACKAGES = ("spectral-collapse", "python", "torch", "diffusers", "numpy")
# the suite itself as the provenance row names it, and what it says where the results recorded no version of it (a run
# from a source checkout that is not installed)
SUITE = "this suite"
SOURCE_TREE = "(run from a source checkout, not an installed release: its version was not recorded)"

_SETTINGS = "settings of"   # DataFrame.attrs key that marks a settings table (value: the study's name)
# a stored value that is a code's word, by what it means
VALUE_WORDS = {"s_hf_unit": {"uint8": "pixel values 0 to 255 (8-bit)"},
                "space": {"vp": "variance-preserving (VP): the state xₜ = √ᾱ·x₀ + √(1 − ᾱ)·ε",
                          "sigma": "σ coordinates: the state x₀ + σ·ε, unscaled"}}

# Each stored setting by the name a reader reads (rows of the chapters' settings tables)
SETTING_NAMES = {
    "steps": "inversion and sampling steps", "main_steps": "steps of the main results", "steps_grid": "step counts",
    "n_test": "test crops", "n_images": "test images", "n_latents": "latents inverted", "n_samples": "test inputs",
    "n_reference": "reference images", "n_run": "test inputs per run", "timing_images": "test inputs timed",
    "seed": "seed of the stochastic methods", "seeds": "seeds",
    "ovg": "OVG step sizes", "methods": "methods (model, inversion, guidance)", "checkpoints": "models",
    "models": "models", "model_factor": "SR factor of the model", "wavelet": "wavelet of the texture score",
    "mu_hf": "texture score's reference log energy μ_HF", "s_hf_unit": "texture score's pixel scale",
    "s_hf_gain": "texture score's gain", "s_lf_kappa": "structure score's low-pass cutoff (fraction of Nyquist)",
    "s_lf_condition": "structure score's reference", "s_dc_definition": "decorrelation score",
    "definition": "definition", "rule": "operating-point rule", "target_rule": "target",
    "primary": "OVG variants the rule picks a point for", "grid": "step-size grid", "baseline_sources": "baselines' source",
    "axes": "ablation axes", "band": "frequency band", "correlations": "correlations", "cost": "cost",
    "d": "latent dimension", "ddim_time_s": "DDIM translation time (s)", "fid": "FID", "filters": "filters",
    "gaussian": "Gaussian reference", "image_metrics": "image metrics", "inversion": "inversion",
    "ms_ssim_config": "MS-SSIM scales", "pca": "PCA", "schedules": "OVG schedules", "space": "coordinates",
    "latent": "latent space", "computed": "computed", "package versions": "package versions",
}


# a setting whose name depends on the study that stored it
STUDY_SETTING_NAMES = {("gaussianity", "definition"): "S_G and the norm z-score",
                       ("velocity", "definition"): "update spectrum", ("velocity", "space"): "coordinates of the updates",
                       ("pareto", "n_images"): "validation crops per grid point"}


def setting_name(key, study: str = "") -> str:
    """A stored setting's reader name (``STUDY_SETTING_NAMES`` for the study, then ``SETTING_NAMES``); a row without
    one (an ablation arm's, an extra row) in words (``settings_words.words``)."""
    from .settings_words import words

    key = str(key)
    return STUDY_SETTING_NAMES.get((study, key)) or SETTING_NAMES.get(key) or words(key)


def _study_params(study) -> set:
    from ..studies.registry import STUDIES

    found = STUDIES.get(study) if isinstance(STUDIES, dict) else next((s for s in STUDIES if s.name == study), None)
    return set(found.params) if found is not None else set()


def _reader_value(text: str) -> str:
    """A setting's value as the book writes it: OVG's step sizes by their symbols, methods by their names."""
    from ..studies.method_labels import name_methods
    from ..text import symbol

    for key in ("eta_hf", "eta_lf"):
        text = re.sub(rf"(?<![\w-]){key}(?![\w-])", symbol(key, "chart"), text)
    return name_methods(text)


def reader_view(frame: pd.DataFrame) -> pd.DataFrame:
    """A settings table (``settings_table``) as a reader sees it: each row named in words, the study parameter that
    sets it (its key, only where the study has such a parameter) beside the value, values in the book's notation and
    in words (``VALUE_WORDS``, ``settings_words.words``: no stored key, mapping or function path). Any other table
    unchanged."""
    if _SETTINGS not in frame.attrs:
        return frame
    from .settings_words import words

    study = frame.attrs[_SETTINGS]
    params = _study_params(study)
    keys = [str(k) for k in frame.index]
    out = pd.DataFrame({"value": [words(VALUE_WORDS.get(k, {}).get(str(v), _reader_value(str(v))))
                                  for k, v in zip(keys, frame["value"])],
                        "parameter": [_knob(k) if _knob(k) in params else "" for k in keys]},
                       index=pd.Index([setting_name(k, study) for k in keys], name="setting"))
    keyed = [p for p in out["parameter"] if p]
    if len(keyed) < 2:   # one knob or none: its key in its row's name, not a column empty but for one row
        out.index = pd.Index([_with_parameter(n, p) for n, p in zip(out.index, out["parameter"])], name="setting")
        out = out.drop(columns="parameter")
    return out


# a stored setting set by a study parameter of another name: the models a run used are set by ``model`` (the
# two-model form ``models`` is the same choice given as a pair), one parameter name on every chapter
_SETTING_KNOB = {"models": "model", "checkpoints": "model"}


def _knob(key: str) -> str:
    """The study parameter that sets a stored setting: its own key, or ``_SETTING_KNOB``'s."""
    return _SETTING_KNOB.get(key, key)


def _with_parameter(name: str, key: str) -> str:
    """A setting's name with the study parameter that sets it: "test images (parameter n_images)",
    "methods (model, inversion, guidance; parameter methods)"; without a key, the name as it is."""
    if not key:
        return name
    return f"{name[:-1]}; parameter {key})" if name.endswith(")") else f"{name} (parameter {key})"


def short_model_names(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as a reader sees it: every cell, index label and column label that is a checkpoint folder (a path or
    name ending in the training cache's 12-digit content hash) shown by its model name (``model_name``); other values
    unchanged, and the table returned as it is when it names no such folder. The table itself (and the results it
    came from) keeps the full names. A settings table is shown by ``reader_view``."""
    frame = reader_view(frame)

    def short(v):
        return model_name(v) if isinstance(v, str) and HASHED_NAME.match(Path(v.rstrip("/")).name) else v

    def hashed(values) -> bool:
        return any(short(x) is not x for v in values for x in (v if isinstance(v, tuple) else (v,)))

    def index(ix: pd.Index) -> pd.Index:
        if not hashed(ix):
            return ix
        if isinstance(ix, pd.MultiIndex):
            return pd.MultiIndex.from_tuples([tuple(short(v) for v in t) for t in ix], names=ix.names)
        return pd.Index([short(v) for v in ix], name=ix.name)

    text = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype)]
    cells = [c for c in text if hashed(frame[c].tolist())]
    if not cells and not hashed(frame.index) and not hashed(frame.columns):
        return frame
    out = frame.copy()
    for c in cells:
        out[c] = out[c].map(short)
    out.index, out.columns = index(frame.index), index(frame.columns)
    return out


def _shipped(path) -> bool:
    """Whether a checkpoint's weights ship with the suite (its folder name under data/weights)."""
    from ..train.shipped import SHIPPED_ROOT

    try:
        return (Path(SHIPPED_ROOT) / Path(str(path)).name).is_dir()
    except (OSError, ValueError):
        return False


def _role_words(role) -> str:
    """A model's role in words: its parameterization ("eps" -> "ε-prediction"), after the ablation arm it serves
    where the role names one ("train_seed1/edm" -> "training seed 1, EDM")."""
    from .settings_words import arm_words

    arm, _, kind = str(role).rpartition("/")
    parts = [parameterization_words(p) for p in arm_words(arm).split(", ")] if arm else []
    return ", ".join(parts + [parameterization_words(kind)] if parameterization_words(kind) not in parts else parts)


def models_text(value) -> str:
    """``{role: checkpoint path}`` as "role: model name" joined (a parameterization role by its name, "eps" ->
    "ε-prediction"; an ablation arm's role "arm/parameterization" by the arm's words too, "unet/eps" -> "U-Net,
    ε-prediction"), and where the weights come from (they ship in data/weights; trained on this machine; or a
    folder of the reader's)."""
    value = parsed_value(value)
    if not isinstance(value, dict):
        return readable(value)
    value = {k: v for k, v in value.items() if v not in (None, "")}
    if not value:
        return MISSING
    names = "; ".join(f"{_role_words(role)}: {model_name(p)}" for role, p in value.items())
    paths = [str(p) for p in value.values()]
    if all(_shipped(p) for p in paths):
        where = "trained weights shipped in data/weights"
    elif all(HASHED_NAME.match(Path(p).name) for p in paths):
        where = "trained by the suite on this machine"
    else:
        where = ""
    return f"{names} ({where})" if where else names


def _schedule_steps(steps: list[int], n: int) -> str:
    """Guided inversion steps as a reader reads them: a run "steps 0–16", a stride "steps 0, 2, …, 48"."""
    if not steps:
        return "no step"
    if len(steps) == 1:
        return f"step {steps[0]}"
    gaps = {b - a for a, b in zip(steps, steps[1:])}
    if gaps == {1}:
        body = f"steps {steps[0]}–{steps[-1]}"
    elif len(gaps) == 1:
        k = gaps.pop()
        nth = {2: "2nd", 3: "3rd"}.get(k, f"{k}th")
        body = f"every {nth} step: steps {steps[0]}, {steps[1]}, …, {steps[-1]}"
    else:
        body = "steps " + ", ".join(map(str, steps))
    return f"{body} ({len(steps)} of {n})" if n else body


def schedules_text(value, attrs: dict | None = None) -> str:
    """The ovg_schedule study's ``schedules`` attr ({name: {guided_steps, sigma_range, schedule}}) as which
    inversion steps each schedule guides, by its name in prose ("every 2nd step"), and the σ range they span (numbered from 0 = the first inversion step,
    lowest sigma, as the guided-steps chart is); the schedule's internal window parameters are left out."""
    value = parsed_value(value)
    if not isinstance(value, dict):
        return readable(value)
    n = 0
    try:
        n = len(json.loads((attrs or {}).get("sigmas", "[]"))) - 1
    except (TypeError, ValueError):
        n = 0
    n = n if n > 0 else int((attrs or {}).get("steps", 0) or 0)
    from ..studies.schedule import schedule_name

    parts = []
    for key, s in value.items():
        name = schedule_name(key).removeprefix("the ")
        if not isinstance(s, dict):
            parts.append(f"{name}: {readable(s, 1)}")
            continue
        steps = [int(i) for i in (s.get("guided_steps") or [])]
        rng = s.get("sigma_range")
        sig = (f", σ {readable(float(rng[0]))} to {readable(float(rng[1]))}"
               if isinstance(rng, (list, tuple)) and len(rng) == 2 else "")
        body = _schedule_steps(steps, n)
        if name.startswith("every "):   # the name says the stride already
            body = body.split(": ", 1)[-1]
        parts.append(f"{name}: {body}{sig}")
    return "; ".join(parts)


def _cost(value, attrs: dict) -> str:
    """The ovg_schedule study's cost definition, with the number of timing rounds the study takes (recorded as
    ``timing_rounds``; results written before it was recorded were timed with the study's TIMING_ROUNDS, which has
    not changed)."""
    if attrs.get("study") != "ovg_schedule":
        return readable(value)
    from ..studies.schedule import TIMING_ROUNDS, cost_text

    try:
        rounds = int(attrs.get("timing_rounds", TIMING_ROUNDS))
    except (TypeError, ValueError):
        rounds = TIMING_ROUNDS
    return cost_text(rounds)


def _methods(value) -> str:
    """The ``methods`` attr (a JSON list of method specs) as "label: inversion (model, guidance)": the model by
    ``parameterization_words``, OVG's step sizes as ``text.step_size`` writes them."""
    try:
        specs = json.loads(value) if isinstance(value, str) else value
        return "; ".join(f"{m['label']}: {m.get('method', '?')} ({parameterization_words(m.get('parameterization', '?'))}"
                         + (f", {guidance_text(m['guidance'])}" if m.get("guidance") else "") + ")" for m in specs)
    except (ValueError, TypeError, KeyError):
        return readable(value)


def versions_text(versions) -> str:
    """The main packages' versions ("package version", joined), the suite itself named in words ("this suite 0.3.0");
    where the results recorded no version of it (stored "not installed") the row says so and what it means: "this
    suite (run from a source checkout, not an installed release: its version was not recorded)"."""
    if isinstance(versions, str):
        try:
            versions = json.loads(versions)
        except ValueError:
            return ""
    if not isinstance(versions, dict):
        return ""
    shown = []
    for p in _PROVENANCE_PACKAGES:
        if p not in versions:
            continue
        v = str(versions[p])
        if p == "spectral-collapse" and v.strip().lower() in ("not installed", "", "none"):
            shown.append(f"{SUITE} {SOURCE_TREE}")
        elif v.strip().lower() != "not installed":
            shown.append(f"{SUITE if p == 'spectral-collapse' else p} {v}")
    return ", ".join(shown)


# ------------------------------------------------------------------------------------ what applies to a chapter

_REFERENCE_LABELS = ("gaussian",)   # the N(0, I) reference of the latent studies: not a method of the run
_ONE_CHOICE = re.compile(r"; each OVG variant at its own choice(?=\))")


def methods_run(ds) -> list[str] | None:
    """The method labels a results dataset ran, in order: its ``method`` and ``base`` coordinates (the Pareto sweep's
    OVG variants), the N(0, I) reference left out; None when the results do not say (no such coordinate)."""
    if ds is None:
        return None
    found = [str(v) for c in ("method", "base") if c in getattr(ds, "coords", {})
             for v in np.atleast_1d(ds[c].values).ravel()]
    return [m for m in dict.fromkeys(found) if m not in _REFERENCE_LABELS] if found else None


def scoped_ovg(value, ran) -> dict | str:
    """An OVG step-size record ({eta_hf, eta_lf, source, per_base}) with only the OVG variants of ``ran`` (the
    chapter's methods; None: all) in its per-variant choices; none left but plain OVG, the per-variant part and the
    source's "each OVG variant at its own choice" are left out. Anything else as it is."""
    value = parsed_value(value)
    if not isinstance(value, dict) or ran is None:
        return value
    value = dict(value)
    per = value.get("per_base")
    kept = {b: c for b, c in per.items() if b in ran} if isinstance(per, dict) else {}
    if set(kept) <= {"ovg"}:
        value.pop("per_base", None)
        if value.get("source"):
            value["source"] = _ONE_CHOICE.sub("", str(value["source"]))
    else:
        value["per_base"] = kept
    return value


def seed_use(ds, ran=None) -> str | None:
    """Where no method of a run draws random numbers, what the seed does there in words: "no method of this run
    draws random numbers", or, where it still draws the latent studies' N(0, I) reference, "draws the N(0, I)
    reference only; …"; None when a stochastic method runs or the results do not say which methods ran."""
    from ..studies.method_labels import STOCHASTIC

    ran = methods_run(ds) if ran is None else ran
    if ran is None or set(ran) & set(STOCHASTIC):
        return None
    unused = "no method of this run draws random numbers"
    reference = any(str(k).startswith("gaussian") for k in getattr(ds, "attrs", {}))
    return f"draws the N(0, I) reference only; {unused}" if reference else unused


def seed_text(value, use: str) -> str:
    """A seed with what it does in the run (``seed_use``): "0 (no method of this run draws random numbers)"."""
    return f"{value} ({use})"


def _value(key: str, value, attrs: dict) -> str:
    if isinstance(value, dict) and {"grid", "choice"} <= set(value):
        return tuning_text(value)
    if key == "ms_ssim_config":
        return ms_ssim_text(value)
    if key == "methods":
        return _methods(value)
    if key in ("models", "checkpoints"):
        return models_text(value)
    if key == "schedules" and "guided_steps" in str(value):
        return schedules_text(value, attrs)
    if key == "cost":
        return _cost(value, attrs)
    if key == "ovg":
        return ovg_text(value)
    return readable(value)


def _count_text(key: str, value, ds) -> str | None:
    """A count setting with the total the chapter's verdicts and charts use beside it, read from the results: test
    crops per seed with the distinct crops over every seed (each seed translates its own crops); test inputs per run
    with the number of runs. None when the results hold nothing more than the setting."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        return None
    if key == "n_test" and "crop" in getattr(ds, "variables", {}) and "seed" in ds["crop"].dims:
        crops = np.asarray(ds["crop"].values)
        total, seeds = int(np.unique(crops[crops >= 0]).size), int(ds.sizes["seed"])
        if seeds > 1 and total != n:
            return f"{n} per seed ({total} distinct crops over the {seeds} seeds)"
    if key == "n_run" and "run" in getattr(ds, "sizes", {}):
        return f"{n} ({int(ds.sizes['run'])} runs)"
    return None


def settings_table(ds, keys, extra: dict | None = None) -> pd.DataFrame:
    """The named attrs of a results dataset, one row each (those it lacks are left out), then ``extra`` rows
    ({setting: value}), then when it was computed and with which versions of the main packages. A count says the
    total the chapter uses beside it (``_count_text``). A setting shows what applies to the chapter's methods
    (``methods_run``): OVG's step sizes for the OVG variants it runs (``scoped_ovg``), the seed of the stochastic
    methods said to be unused where none runs (``seed_use``). Commit hashes and other provenance stay in the results
    file."""
    attrs, ran = dict(ds.attrs), methods_run(ds)

    def shown(k, v) -> str:
        if k == "ovg":   # only the OVG variants the chapter runs
            return ovg_text(scoped_ovg(v, ran))
        if k == "primary" and "base" in getattr(ds, "coords", {}):   # the rule picks a point for each variant swept
            return ", ".join(str(b) for b in ds["base"].values.ravel().tolist())
        if k == "seed" and seed_use(ds, ran):
            return seed_text(readable(v), seed_use(ds, ran))
        if k == "baseline_sources" and attrs.get("tuning_split"):   # the stored text, in the chapter's one name
            return _value(k, v, attrs).replace("the sweep's images", "the sweep's validation crops")
        return _count_text(k, v, ds) or _value(k, v, attrs)

    rows = [(k, shown(k, attrs[k])) for k in keys if k in attrs]
    rows += [(k, _value(k, v, attrs)) for k, v in (extra or {}).items()]
    if "created" in attrs:
        rows.append(("computed", str(attrs["created"]).replace("T", " ")[:16] + " UTC"))
    shown = versions_text(attrs.get("versions"))
    if shown:
        rows.append(("package versions", shown))
    out = pd.DataFrame(rows, columns=["setting", "value"]).set_index("setting")
    out.attrs[_SETTINGS] = str(attrs.get("study", ""))
    return out
