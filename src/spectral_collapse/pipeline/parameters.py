"""A chapter's run notes (``run_notes``) and parameters table (``parameters_table``, where each value came from)."""
from __future__ import annotations

import json
import math

__all__ = ["parameters_table", "run_notes", "json_attr", "HEADING", "GIVEN", "DEFAULT", "INPUT",
           "SWEEP"]

HEADING = "**Notes from the run that computed these results:**"


def json_attr(attrs, key: str, default=None):
    """``attrs[key]`` parsed as JSON; ``default`` when it is missing, empty, null or not JSON."""
    try:
        value = json.loads(attrs.get(key) or "null")
    except (TypeError, ValueError):
        return default
    return default if value is None else value


def run_notes(attrs: dict) -> str:
    """Markdown listing the run's warnings (``attrs["run_warnings"]``) once each under ``HEADING``; '' for none."""
    notes = json_attr(attrs, "run_warnings", [])
    notes = list(dict.fromkeys(map(str, notes))) if isinstance(notes, list) else []
    return HEADING + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n" if notes else ""


# the "set by" column: where each row's value came from
GIVEN, DEFAULT, INPUT = "given for this chapter", "the default", "read by the run"
SWEEP = "from the Pareto sweep"   # a step size the run took from a Pareto sweep's choice
_STEP_SIZES = ("eta_hf", "eta_lf")
_REFERENCE = ("gaussian", 0)   # not a method / factor of the run: the N(0, I) reference, "no SR factor"

# where a default knob's values are read from the results (first match); "series": a non-dimension coordinate's
# distinct values in order, ``_REFERENCE`` left out
_USED = {"seeds": (("coord", "seed"), ("distinct", "run_seed")), "methods": (("coord", "method"), ("series", "method")),
         "factors": (("coord", "factor"), ("series", "factor")), "kappas": (("coord", "kappa"),),
         "keys": (("coord", "model"),), "bases": (("coord", "base"),), "baselines": (("coord", "method"),),
         "eta_hf": (("coord", "eta_hf"),), "eta_lf": (("coord", "eta_lf"),), "steps_grid": (("distinct", "run_steps"),),
         "n_latents": (("size", "latent"),), "seed": (("attr", "seed"),), "schedules": (("coord", "method"),)}


def _cell(value) -> str:
    """One value as table text: None -> "default", lists comma-joined, floats in short form, pipes escaped."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(_cell, value))
    text = "default" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _value_cell(key, value) -> str:
    """A knob's value as table text; an OVG step size as the book writes it ("10⁻⁶", ``labels.step_size``)."""
    if str(key) in _STEP_SIZES and value is not None:
        from ..text import step_size

        return ", ".join(step_size(v) for v in value) if isinstance(value, (list, tuple)) else step_size(value)
    return _cell(value)


def _used(name: str, ds) -> str | None:
    """The values a default knob took, read from the results ``ds``; None when they do not hold them."""
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
                return _cell(values)
        if (how == "coord" and what in ds.dims and what in ds.coords) or (how == "distinct" and what in ds.variables):
            values = ds[what].values.ravel().tolist()
            values = sorted(set(values)) if how == "distinct" else values
            return _value_cell(name, values)
    return _stored(name, ds)


def _stored(name: str, ds) -> str | None:
    """A default knob's value held as a results attr: the models used, the data task, OVG's step sizes."""
    from ..train.cache import model_name

    if name == "model":
        for key in ("checkpoints", "models", "model_gate"):
            found = json_attr(ds.attrs, key)
            if isinstance(found, dict) and any(found.values()):
                return _cell(list(dict.fromkeys(model_name(k if key == "model_gate" else v)
                                                for k, v in found.items() if v)))
    if name == "data_options":
        from ..tables.settings import compact

        task = json_attr(ds.attrs, "task")
        return _cell(compact(task)) if isinstance(task, dict) and task else None
    if name in _STEP_SIZES:
        ovg = json_attr(ds.attrs, "ovg")
        return _value_cell(name, ovg[name]) if isinstance(ovg, dict) and ovg.get(name) is not None else None
    return None


def _clamped(name: str, value, ds) -> int | None:
    """The count a run used (``attrs[name]``) where it took fewer than the number given; else None."""
    used = ds.attrs.get(name) if ds is not None else None
    if isinstance(value, bool) or not isinstance(value, int) or isinstance(used, bool):
        return None
    try:
        used = int(used)
    except (TypeError, ValueError):
        return None
    return used if used < value else None


def _default(study: str | None, name: str) -> str:
    """A default knob's description: the "None: ..." part of its registry doc, else "default"."""
    from ..studies.registry import get_study

    try:
        doc = get_study(study).params[name].doc
    except (KeyError, ValueError, TypeError):
        return "default"
    return doc.split("None: ", 1)[1].rstrip(".") if "None: " in doc else "default"


def _step_origin(name: str, ds) -> str:
    """Where an OVG step size came from (the ``ovg`` attr's source): given, a Pareto sweep, a calibration, default."""
    ovg = json_attr(ds.attrs, "ovg") if ds is not None else None
    source = str(ovg.get("source") or "") if isinstance(ovg, dict) else ""
    head, _, rest = source.partition("; the rest from the ")
    if rest:   # "eta_hf = 1e-07 given to the study; the rest from the Pareto sweep ..."
        if any(part.strip().startswith(f"{name} =") for part in head.replace(" given to the study", "").split(",")):
            return GIVEN
        source = rest
    starts = {"given to the study": GIVEN, "short calibration": "from a short calibration", "Pareto sweep": SWEEP}
    return next((origin for start, origin in starts.items() if source.startswith(start)), DEFAULT)


def _grid_origin(name: str, spec: dict, ds) -> str:
    """"the profile's grid, 10⁻⁴ added at the low end" for a grid grown past its edge, else ``DEFAULT``."""
    grown = [str(g).split() for g in (json_attr(ds.attrs, "grid_extended") or [])]
    ends = list(dict.fromkeys(g[1] for g in grown if len(g) == 2 and g[0] == name))
    if not ends or name not in ds.coords:
        return DEFAULT
    from ..studies.pareto import default_grid

    try:
        base = dict(zip(_STEP_SIZES, default_grid(spec.get("profile") or ds.attrs.get("profile"))))[name]
    except (KeyError, ValueError, TypeError):
        return DEFAULT
    added = [float(v) for v in ds[name].values.ravel() if not any(math.isclose(v, b, rel_tol=1e-9) for b in base)]
    return f"the profile's grid, {_value_cell(name, added)} added at the {' and '.join(ends)} end"


def _input_cell(value) -> str:
    """A resolved input: a dict as ``key = value`` pairs (without its source), a hash by its first 12 hex digits."""
    if value is None:
        return "none stored"
    if isinstance(value, dict):
        from ..tables.settings import compact

        def steps(d: dict) -> dict:   # OVG step sizes at any depth as the book writes them
            return {k: steps(v) if isinstance(v, dict) else _value_cell(k, v) if k in _STEP_SIZES else v
                    for k, v in d.items()}

        return _cell(compact(steps({k: v for k, v in value.items() if k != "source"})))
    if isinstance(value, str) and len(value) >= 16 and all(c in "0123456789abcdef" for c in value):
        return value[:12]
    return _cell(value)


def _uses_ovg(spec: dict, ds) -> bool | None:
    """Whether the run's methods (given, or read from the results) include an OVG method; None when neither says."""
    given = (spec.get("params") or {}).get("methods")
    names = given if given is not None else _used("methods", ds)
    if names is None:
        return None
    names = names.split(",") if isinstance(names, str) else [str(m) for m in names]
    return any(m.strip().startswith("ovg") for m in names)


def _rows(spec: dict, ds) -> list[tuple[str, str, str]]:
    rows = [("dataset", _cell(spec.get("dataset")), GIVEN), ("profile", _cell(spec.get("profile")), GIVEN)]
    params = spec.get("params") or {}
    for name, value in params.items():
        if value is None and (name == "model" and params.get("models") is not None or name == "models"
                              and "model" in params):
            continue   # one row for the models: the knob that chose them (model, or the pair models)
        if value is not None:
            used = _clamped(name, value, ds)
            rows.append((name, _value_cell(name, value), GIVEN) if used is None else
                        (name, _cell(used), f"{GIVEN} as {value}, limited to what the data holds"))
            continue
        used = _used(name, ds)
        if used is None:
            rows.append((name, _cell(_default(spec.get("study"), name)), DEFAULT))
        else:
            origin = _grid_origin(name, spec, ds) if name in ds.coords else _step_origin(name, ds)
            rows.append((name, used, origin if name in _STEP_SIZES else DEFAULT))
    for name, value in (spec.get("inputs") or {}).items():
        unused = name == "pareto" and _uses_ovg(spec, ds) is False
        rows.append((f"from {name}", "not used (no OVG method)" if unused else _input_cell(value), INPUT))
    return rows


def parameters_table(spec: dict, ds=None) -> str:
    """A Markdown table (parameter, value, set by) of the run whose stored spec is ``spec``: every knob and input."""
    rows = "".join(f"| {k} | {v} | {w} |\n" for k, v, w in _rows(spec, ds))
    return "| parameter | value | set by |\n|---|---|---|\n" + rows
