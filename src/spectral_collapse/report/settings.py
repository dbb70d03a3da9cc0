"""A chapter's "settings of this run" as a readable two-column table.

Values are shown as a reader takes them in: a mapping as "key = value" with empty entries left out, a model by its
name (the checkpoint folder's content hash left off) and where its weights ship, a guidance schedule by the steps it
guides, the package that ran the study from its source tree as such. Hashes and other provenance stay in the results
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
           "versions_text", "SOURCE_TREE"]

from .settings_words import ms_ssim_text, tuning_text  # noqa: E402,F401  (values in words, re-exported)

_PROVENANCE_PACKAGES = ("spectral-collapse", "python", "torch", "diffusers", "numpy")
SOURCE_TREE = "from the source tree"   # the suite run from a checkout, not installed as a package
_HASHED = re.compile(r"^(?P<name>[\w.+-]+?)-[0-9a-f]{12}$")
_MISSING = "—"

_SETTINGS = "settings of"
# a stored value that is a code's word, by what it means
_VALUE_WORDS = {"s_hf_unit": {"uint8": "pixel values 0 to 255 (8-bit)"},
                "space": {"vp": "variance-preserving (VP): the state xₜ = √ᾱ·x₀ + √(1 − ᾱ)·ε"}}        # DataFrame.attrs key that marks a settings table (value: the study's name)

# Each stored setting by the name a reader reads (rows of the chapters' settings tables)
SETTING_NAMES = {
    "steps": "inversion and sampling steps", "main_steps": "steps of the main results", "steps_grid": "step counts",
    "n_test": "test crops", "n_images": "test images", "n_latents": "latents inverted", "n_samples": "test inputs",
    "n_reference": "reference images", "n_run": "test inputs per run", "timing_images": "test inputs timed",
    "seed": "seed of the stochastic methods", "seeds": "seeds",
    "ovg": "OVG step sizes", "methods": "methods (model, inversion, guidance)", "checkpoints": "models",
    "models": "models", "model_factor": "SR factor of the model", "wavelet": "wavelet of the texture score",
    "mu_hf": "texture score's reference log energy μ_HF", "s_hf_unit": "texture score's pixel scale",
    "s_hf_gain": "texture score's gain", "s_lf_kappa": "structure score's low-pass cutoff",
    "s_lf_condition": "structure score's reference", "s_dc_definition": "decorrelation score",
    "definition": "definition", "rule": "operating-point rule", "target_rule": "target",
    "primary": "methods the rule compares", "grid": "step-size grid", "baseline_sources": "baselines' source",
    "axes": "ablation axes", "band": "frequency band", "correlations": "correlations", "cost": "cost",
    "d": "latent dimension", "ddim_time_s": "DDIM translation time (s)", "fid": "FID", "filters": "filters",
    "gaussian": "Gaussian reference", "image_metrics": "image metrics", "inversion": "inversion",
    "ms_ssim_config": "MS-SSIM scales", "pca": "PCA", "schedules": "OVG schedules", "space": "coordinates",
    "latent": "latent space", "computed": "computed", "package versions": "package versions",
}


# a setting whose name depends on the study that stored it
STUDY_SETTING_NAMES = {("gaussianity", "definition"): "S_G and the norm z-score",
                       ("velocity", "definition"): "update spectrum", ("velocity", "space"): "coordinates of the updates",
                       ("pareto", "n_images"): "validation images per grid point"}


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
    in words (``_VALUE_WORDS``, ``settings_words.words``: no stored key, mapping or function path). Any other table
    unchanged."""
    if _SETTINGS not in frame.attrs:
        return frame
    from .settings_words import words

    study = frame.attrs[_SETTINGS]
    params = _study_params(study)
    keys = [str(k) for k in frame.index]
    out = pd.DataFrame({"value": [words(_VALUE_WORDS.get(k, {}).get(str(v), _reader_value(str(v))))
                                  for k, v in zip(keys, frame["value"])],
                        "parameter": [k if k in params else "" for k in keys]},
                       index=pd.Index([setting_name(k, study) for k in keys], name="setting"))
    keyed = [p for p in out["parameter"] if p]
    if len(keyed) < 2:   # one knob or none: its key in its row's name, not a column empty but for one row
        out.index = pd.Index([_with_parameter(n, p) for n, p in zip(out.index, out["parameter"])], name="setting")
        out = out.drop(columns="parameter")
    return out


def _with_parameter(name: str, key: str) -> str:
    """A setting's name with the study parameter that sets it: "test images (parameter n_images)",
    "methods (model, inversion, guidance; parameter methods)"; without a key, the name as it is."""
    if not key:
        return name
    return f"{name[:-1]}; parameter {key})" if name.endswith(")") else f"{name} (parameter {key})"


def model_name(path) -> str:
    """A checkpoint folder (path or name) as a reader knows the model: its folder name without the 12-digit content
    hash that the training cache appends ("data/checkpoints/ihc-sr-x4-eps-quick-7e26214ebd7e" ->
    "ihc-sr-x4-eps-quick"); any other text unchanged."""
    text = str(path).rstrip("/")
    m = _HASHED.match(Path(text).name)
    return m.group("name") if m else text


def short_model_names(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as a reader sees it: every cell, index label and column label that is a checkpoint folder (a path or
    name ending in the training cache's 12-digit content hash) shown by its model name (``model_name``); other values
    unchanged, and the table returned as it is when it names no such folder. The table itself (and the results it
    came from) keeps the full names. A settings table is shown by ``reader_view``."""
    frame = reader_view(frame)

    def short(v):
        return model_name(v) if isinstance(v, str) and _HASHED.match(Path(v.rstrip("/")).name) else v

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


def _parsed(value):
    """A JSON object stored as text, parsed; anything else (or text that is not JSON) as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def models_text(value) -> str:
    """``{role: checkpoint path}`` as "role: model name" joined (a parameterization role by its name, "eps" ->
    "ε-prediction"), and where the weights come from (they ship in
    data/weights; trained on this machine; or a folder of the reader's)."""
    value = _parsed(value)
    if not isinstance(value, dict):
        return readable(value)
    value = {k: v for k, v in value.items() if v not in (None, "")}
    if not value:
        return _MISSING
    names = "; ".join(f"{parameterization_words(role)}: {model_name(p)}" for role, p in value.items())
    paths = [str(p) for p in value.values()]
    if all(_shipped(p) for p in paths):
        where = "trained weights shipped in data/weights"
    elif all(_HASHED.match(Path(p).name) for p in paths):
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
    value = _parsed(value)
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


_DEFAULTS_OLD = re.compile(r"defaults \(OVG_DEFAULTS, calibrated on (?P<on>[^)]*)\)")


def plain_source(text: str) -> str:
    """Where OVG's step sizes came from, in words: the suite's default step sizes are named as such, not by the
    constant that holds them."""
    return _DEFAULTS_OLD.sub(lambda m: f"defaults (the suite's step sizes, tuned on {m.group('on')})", str(text))


def ovg_text(value) -> str:
    """An ``ovg`` attr ({eta_hf, eta_lf, source, per_base}) as "eta_hf …, eta_lf … (where from); per variant: …"."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return readable(value)
    if not isinstance(value, dict) or "eta_hf" not in value:
        return readable(value)
    from ..plotting.labels import step_size

    def eta(v) -> str:
        """A step size in the book's one form ("10⁻⁶", ``plotting.labels.step_size``); "—" where none is stored."""
        return "—" if _empty(v) else step_size(v)

    text = f"eta_hf {eta(value.get('eta_hf'))}, eta_lf {eta(value.get('eta_lf'))}"
    if value.get("source"):
        text += f" ({plain_source(value['source'])})"
    per = value.get("per_base")
    if isinstance(per, dict) and per:
        text += "; per OVG variant: " + ", ".join(
            f"{b} (eta_hf {eta(c.get('eta_hf'))}, eta_lf {eta(c.get('eta_lf'))})" for b, c in per.items()
            if isinstance(c, dict))
    return text


def _empty(value) -> bool:
    if value is None or (isinstance(value, str) and value.strip() in ("", "null")):
        return True
    return isinstance(value, float) and not np.isfinite(value)


def _mapping(value: dict, depth: int) -> str:
    """A mapping's entries in words: "key value", its key by its name (``settings_words.key_words``), joined by
    commas ("backbone U-Net, space pixel"), by semicolons where a value is a list ("η_HF 10⁻⁷, 10⁻⁶;
    η_LF 10⁻²", step sizes in the book's one form), a nested mapping in parentheses; keys that share one text value named once ("DDIM, TABA and EDM:
    computed on the sweep's images")."""
    from ..plotting.labels import COMPOUND_WORDS
    from .settings_words import key_words

    def shown(v):
        if isinstance(v, (list, tuple, np.ndarray)):
            return ", ".join(readable(x, depth + 2) for x in v)
        text = readable(v, depth + 1)
        return COMPOUND_WORDS.get(text, text) if isinstance(v, str) else text

    def step_sizes(v) -> str:
        """An OVG step size, or a grid of them, in the book's one form ("10⁻⁷, 10⁻⁶, 10⁻⁵")."""
        from ..text import step_size

        return ", ".join(step_size(x) for x in v) if isinstance(v, (list, tuple, np.ndarray)) else step_size(v)

    names = {k: key_words(k) for k in value}
    texts = {k: step_sizes(v) if str(k) in ("eta_hf", "eta_lf") and not _empty(v) else shown(v)
             for k, v in value.items()}
    if len(value) > 1 and len(set(texts.values())) == 1 and " " in next(iter(texts.values())):
        keys = list(names.values())
        return f"{', '.join(keys[:-1])} and {keys[-1]}: {next(iter(texts.values()))}"
    parts = [f"{names[k]} {texts[k]}" for k in value]
    lists = any(isinstance(v, (list, tuple, np.ndarray)) and len(v) > 1 for v in value.values())
    return ("; " if lists else ", ").join(parts)


def readable(value, depth: int = 0) -> str:
    """A stored setting as text a reader can take in: JSON text is parsed, mappings read "key value" in words
    (``_mapping``; entries without a value are left out), lists comma-joined, booleans "on" / "off", floats in short
    form, a checkpoint by its model name, missing values "—"."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and (value[:1] in "[{" or value.strip() == "null"):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    if _empty(value):
        return _MISSING
    if isinstance(value, dict):
        body = _mapping({k: v for k, v in value.items() if not _empty(v)}, depth)
        if not body:
            return _MISSING
        return f"({body})" if depth else body
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (list, tuple, np.ndarray)):
        body = ", ".join(readable(v, depth + 1) for v in value)
        return f"({body})" if depth else body
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return model_name(text) if _HASHED.match(Path(text).name) else text


def _guidance(g) -> str:
    """A guidance spec by its type and step sizes, each step size in the book's one form ("10⁻³",
    ``text.step_size``, as the OVG row writes it); the full spec stays in the results file."""
    from ..text import step_size

    if not isinstance(g, dict):
        return readable(g)
    steps = ", ".join(f"{k} {step_size(g[k])}" for k in ("eta_hf", "eta_lf") if k in g)
    return f"{g.get('type', 'guidance')} {steps}".strip()


# a method spec's parameterization as the chapters name the model it runs on
PARAMETERIZATION_WORDS = {"eps": "ε-prediction", "x0": "x0-prediction", "v": "v-prediction", "edm": "EDM",
                          "flow": "flow"}


def parameterization_words(p) -> str:
    """A parameterization key by the model it names ("eps" -> "ε-prediction", "edm" -> "EDM"); others as they are."""
    return PARAMETERIZATION_WORDS.get(str(p).lower(), str(p))


def _methods(value) -> str:
    """The ``methods`` attr (a JSON list of method specs) as "label: inversion (model, guidance)": the model by
    ``parameterization_words``, OVG's step sizes as ``text.step_size`` writes them."""
    try:
        specs = json.loads(value) if isinstance(value, str) else value
        return "; ".join(f"{m['label']}: {m.get('method', '?')} ({parameterization_words(m.get('parameterization', '?'))}"
                         + (f", {_guidance(m['guidance'])}" if m.get("guidance") else "") + ")" for m in specs)
    except (ValueError, TypeError, KeyError):
        return readable(value)


def versions_text(versions) -> str:
    """The main packages' versions ("package version", joined); the suite itself run from a checkout without being
    installed reads "spectral-collapse from the source tree", not "not installed"."""
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
            shown.append(f"{p} {SOURCE_TREE}")
        elif v.strip().lower() != "not installed":
            shown.append(f"{p} {v}")
    return ", ".join(shown)


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
    total the chapter uses beside it (``_count_text``). Commit hashes and other provenance stay in the results
    file."""
    attrs = dict(ds.attrs)
    rows = [(k, _count_text(k, attrs[k], ds) or _value(k, attrs[k], attrs)) for k in keys if k in attrs]
    rows += [(k, _value(k, v, attrs)) for k, v in (extra or {}).items()]
    if "created" in attrs:
        rows.append(("computed", str(attrs["created"]).replace("T", " ")[:16] + " UTC"))
    shown = versions_text(attrs.get("versions"))
    if shown:
        rows.append(("package versions", shown))
    out = pd.DataFrame(rows, columns=["setting", "value"]).set_index("setting")
    out.attrs[_SETTINGS] = str(attrs.get("study", ""))
    return out
