"""A chapter's parameters table: each knob of the run, the values it took where it was left at its default, and each
resolved input (another study's results, the data the results are recomputed for when it changes, the Pareto sweep's
step sizes) in words."""
from __future__ import annotations

import json
import math

def _cell(value) -> str:
    """One value as table text: None -> "default", lists comma-joined, pipes escaped."""
    if value is None:
        text = "default"
    elif isinstance(value, (list, tuple)):
        text = ", ".join("default" if v is None else str(v) for v in value)
    elif isinstance(value, float):
        text = f"{value:g}"
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


# keys of a resolved input's dict in words (a Pareto choice's per-variant step sizes)
_INPUT_KEYS = {"per_base": "per OVG variant"}
_STEP_SIZES = ("eta_hf", "eta_lf")


def _value_cell(key, value) -> str:
    """One value of a named setting as table text: an OVG step size as the book writes it ("10⁻⁶",
    ``plotting.labels.step_size``; a list of them comma-joined), a code word with its meaning as the settings table
    words it ("vp: variance-preserving (VP): ..."), anything else as ``_cell`` writes it."""
    if str(key) in _STEP_SIZES and value is not None:
        from ..plotting.labels import step_size

        return ", ".join(step_size(v) for v in value) if isinstance(value, (list, tuple)) else step_size(value)
    from ..report.settings import VALUE_WORDS as _VALUE_WORDS   # a code word's meaning, in the settings table's words

    meaning = _VALUE_WORDS.get(str(key), {}).get(str(value))
    return _cell(f"{value}: {meaning}" if meaning else value)


def _study_words(name: str) -> str:
    """Another study by its chapter's title ("main_results" -> "*Main results*"); an unknown name as it is."""
    from .graph import title

    try:
        return f"*{title(name)}*"
    except (KeyError, ValueError):
        return name


def _input_cell(value, name: str = "", spec: dict | None = None, ran=None) -> str:
    """A resolved input in words: a dict shows its values and its source; another study's results key names those
    results; a content signature (what the data or model folders held) names what the results depend on, not the
    hash. The
    Pareto sweep's choice shows the OVG variants of ``ran`` (the run's methods; None: every variant) only."""
    spec = spec or {}
    if value is None:
        return "none stored"
    if name == "pareto" and isinstance(value, dict) and "eta_hf" in value:
        from ..report.settings import ovg_text, scoped_ovg   # one text, here and in the settings table

        return _cell(ovg_text(scoped_ovg(value, ran)))
    if isinstance(value, dict):
        source = value.get("source")
        def pairs(d):
            return ", ".join(f"{k} = {_value_cell(k, v)}" for k, v in d.items())

        sep = "; " if any(isinstance(v, dict) for v in value.values()) else ", "
        body = sep.join(f"{_INPUT_KEYS.get(k, k)}: " + ", ".join(
            f"{b} ({pairs(c)})" if isinstance(c, dict) else f"{b} = {_value_cell(b, c)}" for b, c in v.items())
            if isinstance(v, dict) else f"{k} = {_value_cell(k, v)}"
            for k, v in value.items() if k != "source")
        if source is not None:
            from ..report.settings import plain_source

            source = plain_source(source)
        return f"{body} (source: {_cell(source)})" if source is not None else body
    where = ", ".join(str(spec[k]) for k in ("dataset", "profile") if spec.get(k))
    if isinstance(value, str) and len(value) == 16 and all(c in "0123456789abcdef" for c in value):
        # content_inputs: a signature of what the data or model folders held, part of the results key
        what = {"data": f"the {spec.get('dataset') or 'dataset'} images",
                "model": "the model folders"}.get(name, f"the {name} files")
        return _cell(f"{what} (the results are recomputed when they change)")
    if isinstance(value, str) and len(value) > 16 and all(c in "0123456789abcdef" for c in value):
        return _cell(f"the stored results of {_study_words(name)}" + (f" for {where}" if where else ""))
    return _cell(value)


# Where a knob left at None (the study's or profile's default) shows the values it took in the results: a dimension
# coordinate of that name, the distinct values of a variable, the size of a dimension or an attribute (first match).
# "series": a coordinate along another dimension, its distinct values in order, the N(0, I) reference and factor 0
# (no SR factor) left out.
_USED = {"seeds": (("coord", "seed"), ("distinct", "run_seed")), "methods": (("coord", "method"), ("series", "method")),
         "factors": (("coord", "factor"), ("series", "factor")), "kappas": (("coord", "kappa"),),
         "keys": (("coord", "model"),), "bases": (("coord", "base"),), "baselines": (("coord", "method"),),
         "eta_hf": (("coord", "eta_hf"),), "eta_lf": (("coord", "eta_lf"),), "steps_grid": (("distinct", "run_steps"),),
         "n_latents": (("size", "latent"),), "seed": (("attr", "seed"),)}
_REFERENCE = ("gaussian", 0)   # not a method / factor of the run: the N(0, I) reference, "no SR factor"


def _methods_of(spec: dict, ds) -> list[str] | None:
    """The method labels of the run: the ``methods`` knob where it is given, else those the results hold (the
    Pareto sweep's OVG variants included); None when neither says."""
    params = spec.get("params") or {}
    given = params.get("methods")
    if given is not None:
        return [str(m).strip() for m in (given.split(",") if isinstance(given, str) else given)]
    if ds is None:
        return None
    from ..report.settings import methods_run

    ran = methods_run(ds)
    return ran + [str(b) for b in (params.get("bases") or [])] if ran is not None else None


def _uses_ovg(spec: dict, ds) -> bool | None:
    """Whether the run's methods (given, or read from the results) include an OVG method; None when neither says."""
    given = (spec.get("params") or {}).get("methods")
    names = given if given is not None else _used("methods", ds)
    if names is None:
        return None
    names = names.split(", ") if isinstance(names, str) else [str(m) for m in names]
    return any(m.strip().startswith("ovg") for m in names)


def _used(name: str, ds) -> str | None:
    """The values a default knob took, read from the results ``ds``; None when they do not say."""
    if ds is None:
        return None
    for how, what in _USED.get(name, ()):
        if how == "size" and what in ds.sizes:
            return str(ds.sizes[what])
        if how == "attr" and what in ds.attrs:
            return _cell(ds.attrs[what])
        if how == "series" and what in ds.coords and what not in ds.dims:
            values = [v for v in dict.fromkeys(ds[what].values.ravel().tolist()) if v not in _REFERENCE]
            if values:
                return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)
            continue
        if (how == "coord" and what in ds.dims and what in ds.coords) or (how == "distinct" and what in ds.variables):
            values = ds[what].values.ravel().tolist()
            values = sorted(set(values)) if how == "distinct" else values
            if name in _STEP_SIZES:
                return _value_cell(name, values)
            return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)
    return None


def _clamped(name: str, value, ds) -> int | None:
    """The count a run used where it took fewer than the whole number given (``-p n_images 1000000000`` on data
    holding 8 crops: the results' ``attrs[name]`` says 8); None where it used the value given."""
    used = ds.attrs.get(name) if ds is not None else None
    if isinstance(value, bool) or not isinstance(value, int) or isinstance(used, bool):
        return None
    try:
        used = int(used)
    except (TypeError, ValueError):
        return None
    return used if used < value else None


def _json_attr(ds, key: str):
    try:
        return json.loads(ds.attrs.get(key) or "null")
    except (TypeError, ValueError):
        return None


def _models_used(ds) -> list[str]:
    """The names of the models a run used (checkpoint folders without their content hash), from the results."""
    from ..report.settings import model_name

    for key in ("checkpoints", "models"):
        found = _json_attr(ds, key)
        if isinstance(found, dict) and any(found.values()):
            return list(dict.fromkeys(model_name(v) for v in found.values() if v))
    gate = _json_attr(ds, "model_gate")
    return [model_name(k) for k in gate] if isinstance(gate, dict) else []


def _used_in_words(name: str, spec: dict, ds) -> str | None:
    """What a default knob meant in this run when the results hold it as a setting rather than a coordinate: the
    models used, the profile's rule for models below the gate, the data options, OVG's step sizes, the schedules."""
    profile = spec.get("profile")
    if name == "allow_weak_model" and profile:
        return _weak_rule(spec, ds)
    if ds is None:
        return None
    if name == "model":
        names = _models_used(ds)
        return f"the {profile} profile's trained models: {', '.join(names)}" if names else None
    if name == "data_options":
        return _data_defaults(spec, ds)
    if name in ("eta_hf", "eta_lf"):
        ovg = _json_attr(ds, "ovg")
        return _value_cell(name, ovg[name]) if isinstance(ovg, dict) and ovg.get(name) is not None else None
    if name == "schedules" and "method" in ds.dims:
        from ..plotting.labels import chart_label

        rest = [str(m) for m in ds["method"].values if str(m) not in ("ddim", "ovg")]
        return ", ".join(map(chart_label, rest)) if rest else None
    if name == "factors" and "factor" in ds.coords and all(v == 0 for v in ds["factor"].values.ravel().tolist()):
        return "none: the dataset has no SR factor"
    axes = ds.attrs.get("axes")
    if name == "factors" and axes is not None and "factor" not in (axes if isinstance(axes, (list, tuple)) else
                                                                  str(axes).replace(",", " ").split()):
        from ..studies.profiles import get_profile

        try:
            return f"not varied here: every arm at the {profile} profile's factor {get_profile(profile).factor}"
        except (KeyError, ValueError):
            return None
    return None


GATE = "quality gate"   # the glossary's term (the chapter's first use of it links there)


def _weak_rule(spec: dict, ds) -> str | None:
    """The profile's rule for models below the quality gate, as it applies to this chapter, in one statement: the
    model-set entries it allows below the gate named only where the chapter uses them (its models, read from the
    results; without them the entries of its dataset), else that it refuses any model below the gate; then which
    models used here are below the gate, or that every one passes it. Entries the chapter does not use go
    unmentioned."""
    from ..report.settings import model_name
    from ..studies.models import MODEL_SET, SEED_REPLICATES
    from ..studies.profiles import get_profile

    profile = spec.get("profile")
    try:
        rule = get_profile(profile).allow_weak_models
    except (KeyError, ValueError, TypeError):
        return None
    gate = _json_attr(ds, "model_gate") if ds is not None else None
    used = {model_name(k) for k in gate} if isinstance(gate, dict) else set()
    if isinstance(rule, (tuple, list, set, frozenset)) and rule:
        datasets = {r.key: r.dataset for r in MODEL_SET + SEED_REPLICATES}
        here = sorted(str(r) for r in rule if (f"{r}-{profile}" in used if used else
                                               datasets.get(str(r), spec.get("dataset")) == spec.get("dataset")))
        text = (f"runs a study on {', '.join(f'`{r}`' for r in here)} even where it is below the {GATE} (the chapter "
                "then says so in a caution) and refuses any other model below it" if here
                else f"refuses any model below the {GATE}")
    else:
        text = (f"runs a study on any model, one below the {GATE} too (the chapter then says so in a caution)" if rule
                else f"refuses any model below the {GATE}")
    weak = [model_name(k) for k, v in gate.items() if not (v or {}).get("passed")] if isinstance(gate, dict) else []
    text += (f"; used here below it: {', '.join(weak)}" if weak else
             "; every model used here passes it" if gate else "")
    return f"the {profile} profile's rule: {text}"


def _data_defaults(spec: dict, ds) -> str | None:
    """The data loader's options a run took by default, in words: the task the results record (``attrs["task"]``),
    else the task of the dataset at the profile's settings; an SR factor that the run's arms vary is not named."""
    task = _json_attr(ds, "task")
    if not (isinstance(task, dict) and task.get("kind")):
        try:
            from ..studies.models import dataset_for

            task = dataset_for(spec.get("profile"), spec.get("dataset")).task.describe()
        except Exception:   # a folder that is gone, a dataset this install lacks: the default in words
            return None
    varied = "factor" in ds.dims and ds.sizes["factor"] > 1
    opts = ", ".join(f"{k} {v}" for k, v in task.items() if v is not None and k != "kind" and
                     not (varied and k == "factor"))
    return (f"the dataset's defaults: task {task['kind']}" + (f", {opts}" if opts else "")
            + (", at each arm's SR factor" if varied and task.get("factor") else ""))


def _default(study: str | None, name: str) -> str:
    """What a default knob means, in words: the "None: ..." part of its registry doc ("—" when it has none; the
    "set by" column says that it is the default)."""
    from ..studies.registry import get_study

    try:
        doc = get_study(study).params[name].doc
    except (KeyError, ValueError, TypeError):
        return "—"
    return doc.split('None: ', 1)[1].rstrip('.') if "None: " in doc else "—"


def _default_tag(name: str, spec: dict, ds) -> str:
    """How a default knob's used values relate to the default, for the table's "set by" column: "the default" when
    they are it; for a step-size grid the study grew past an edge (``attrs["grid_extended"]``), the profile's grid
    and the values added to it."""
    grown = [str(g).split()[1] for g in (_json_attr(ds, "grid_extended") or []) if str(g).split()[0] == name] \
        if ds is not None else []
    if not grown:
        return DEFAULT
    profile = spec.get("profile") or (ds.attrs.get("profile") if ds is not None else None)
    added = []
    try:
        from ..studies.pareto import default_grid

        base = dict(zip(("eta_hf", "eta_lf"), default_grid(profile)))[name]
        used = [float(v) for v in ds[name].values.ravel()] if name in ds.coords else []
        added = [v for v in used if not any(math.isclose(v, b, rel_tol=1e-9) for b in base)]
    except (KeyError, ValueError, TypeError):
        pass
    ends = " and ".join(dict.fromkeys(grown))
    what = f"{_value_cell(name, added)} added" if added else f"one log step added at the {ends} end"
    if added:
        what += f" at the {ends} end"
    return f"the default: the {profile} profile's grid, grown past its edge ({what})"


def _step_origin(name: str, ds) -> str:
    """Where an OVG step size the run read from its ``ovg`` attr came from, for the "set by" column, from the attr's
    stored source: given to the study, chosen by a Pareto sweep (the flow model's own where it says so), a short
    calibration, or the suite's defaults. A source that gives one step size and reads the rest from a sweep names
    each by its own origin."""
    ovg = _json_attr(ds, "ovg") if ds is not None else None
    source = str(ovg.get("source") or "") if isinstance(ovg, dict) else ""
    head, _, rest = source.partition("; the rest from the ")
    if rest:   # "eta_hf = 1e-07 given to the study; the rest from the Pareto sweep ..."
        if any(part.strip().startswith(f"{name} =") for part in head.replace(" given to the study", "").split(",")):
            return GIVEN
        source = rest
    if source.startswith("given to the study"):
        return GIVEN
    if source.startswith("defaults"):
        return DEFAULT
    if source.startswith("short calibration"):
        return "from a short calibration"
    if source.startswith("Pareto sweep"):
        return SWEEP + (" of OVG on the flow model" if "on the flow model" in source.split("(")[0] else "")
    return DEFAULT


# the table's third column: who set each row's value (a reader tells a value from its origin by the column, never by
# words appended to the value)
GIVEN, DEFAULT, INPUT = "given for this chapter", "the default", "read by the run"
SWEEP = "from the Pareto sweep"   # a step size the run took from a Pareto sweep's choice

# a knob left out of the table where another one chose instead: ``model`` where the pair ``models`` is given
_ONE_ROW = {"model": "models"}


def parameters_table(spec: dict, ds=None) -> str:
    """A markdown table of one run: dataset, profile, each knob, each resolved input. A knob left at its default
    shows the values it took in the results ``ds`` (seeds, methods, grids, counts, models, the data options, the
    profile's gate rule) where they say, and what the default is in words otherwise (no results to read). Resolved
    inputs are named in words (another study's results, the data they depend on), not by their hashes.

    Each parameter has one row: the models a run used are the ``model`` row (the pair ``models`` shows only where it
    is given, and then ``model`` only where it is given too). A row shows what applies to this chapter: the gate
    rule's allowed models among the chapter's own, the Pareto sweep's step sizes for the OVG variants it runs, the
    seed of the stochastic methods said to be unused where none runs.

    A third column, "set by", says where each value came from (given for this chapter, the default, or read by the
    run), so that no tag is appended to a value where it could read as part of it."""
    rows = [("dataset", _cell(spec.get("dataset")), GIVEN), ("profile", _cell(spec.get("profile")), GIVEN)]
    params = spec.get("params") or {}
    ran = _methods_of(spec, ds)
    for name, value in params.items():
        if name in _ONE_ROW and params.get(_ONE_ROW[name]) is not None and value is None or \
                name == "models" and value is None and "model" in params:
            continue   # one row for the models: the knob that chose them (model, or the pair models)
        if name == "seed" and ds is not None:
            from ..report.settings import seed_use

            unused = seed_use(ds, ran)
            if unused:
                from ..report.settings import seed_text

                shown = _value_cell(name, value) if value is not None else _used(name, ds)
                rows.append((name, _cell(seed_text(shown, unused)), GIVEN if value is not None else DEFAULT))
                continue
        if value is not None:
            used = _clamped(name, value, ds)
            rows.append((name, _value_cell(name, value), GIVEN) if used is None else
                        (name, _cell(used), _cell(f"{GIVEN} as {value}, limited to what the data holds")))
            continue
        used = _used(name, ds)
        tag = _default_tag(name, spec, ds) if used is not None else None
        if used is None:
            used = _used_in_words(name, spec, ds)
            tag = _step_origin(name, ds) if name in _STEP_SIZES else DEFAULT
        rows.append((name, _cell(used), _cell(tag)) if used is not None
                    else (name, _cell(_default(spec.get("study"), name)), DEFAULT))
    for name, value in (spec.get("inputs") or {}).items():
        unused = name == "pareto" and _uses_ovg(spec, ds) is False
        rows.append((f"from {name}", _cell("not used: no OVG method in this run (the Pareto sweep's step sizes are "
                                           "read for OVG methods only)") if unused
                     else _input_cell(value, name, spec, ran), INPUT))
    lines = ["| parameter | value | set by |", "|---|---|---|"] + [f"| {k} | {v} | {w} |" for k, v, w in rows]
    return "\n".join(lines) + "\n"
