"""What a study notebook calls: find the repo root, set up offline charts, compute or load a study's results.

A study notebook has a ``parameters`` cell and then one call::

    from spectral_collapse.pipeline.notebook import open_study
    ds = open_study("pareto", dataset=dataset, profile=profile, eta_hf=eta_hf, results_root=results_root,
                    rerun=rerun)

``open_study`` chdirs to the repository root (so ``data/results`` works from ``notebooks/`` and from the book's
executed copies), sets up SVG charts, turns papermill's string parameters into typed values (``studies.spec``),
computes or loads the results (``pipeline.runner.run_study``) and shows the run's parameters as a small table.
"""
from __future__ import annotations

import json
import os
import re
import sys
import warnings
from pathlib import Path

__all__ = ["repo_root", "setup_notebook", "open_study", "parameters_table", "strip_outputs"]


def repo_root(start: str | os.PathLike | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding pyproject.toml and src/spectral_collapse."""
    p = Path(start or os.getcwd()).resolve()
    for q in (p, *p.parents):
        if (q / "pyproject.toml").exists() and (q / "src" / "spectral_collapse").exists():
            return q
    return p


def setup_notebook(chdir: bool = True) -> Path:
    """chdir to the repo root (relative data/ paths work from notebooks/ or book/studies/), put it on sys.path (the
    ``benchmarks`` package lives there), torch threads as the main command chose them (``parallel.torch_threads``:
    ``$SPECTRAL_COLLAPSE_THREADS``, else ``$OMP_NUM_THREADS``, else the cores), SVG charts, quiet warnings; returns
    the root."""
    from .parallel import torch_threads

    torch_threads()
    root = repo_root()
    if chdir:
        os.chdir(root)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from ..plotting.render import setup_altair

    setup_altair("svg")
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm in a kernel without widgets
    show_missing_as_dash()
    return root


MISSING = "—"


def show_missing_as_dash() -> bool:
    """In a running kernel, tables (pandas DataFrames) display a missing value (a metric not computed or not
    available offline, a failed cell) as "—" instead of NaN, and leave out a plain 0, 1, 2, ... row index. Returns
    whether a kernel was found."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    if ip is None:
        return False
    import pandas as pd

    def numbered(df) -> bool:  # a plain 0, 1, 2, ... row index carries nothing a reader needs
        return isinstance(df.index, pd.RangeIndex) and df.index.name is None and df.index.start == 0

    ip.display_formatter.formatters["text/html"].for_type(
        pd.DataFrame, lambda df: df.to_html(na_rep=MISSING, index=not numbered(df)))
    ip.display_formatter.formatters["text/plain"].for_type(
        pd.DataFrame, lambda df, p, cycle: p.text(df.to_string(na_rep=MISSING, index=not numbered(df))))
    return True


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


def _input_cell(value, name: str = "", spec: dict | None = None) -> str:
    """A resolved input in words: a dict shows its values and its source; another study's results key names those
    results; a content signature (what the data or model folders held) says what was checked, not the hash."""
    spec = spec or {}
    if value is None:
        return "none stored"
    if isinstance(value, dict):
        source = value.get("source")
        def pairs(d):
            return ", ".join(f"{k} = {_cell(v)}" for k, v in d.items())

        sep = "; " if any(isinstance(v, dict) for v in value.values()) else ", "
        body = sep.join(f"{k}: " + ", ".join(f"{b} ({pairs(c)})" if isinstance(c, dict) else f"{b} = {_cell(c)}"
                                             for b, c in v.items()) if isinstance(v, dict) else f"{k} = {_cell(v)}"
                         for k, v in value.items() if k != "source")
        if source is not None:
            from ..report.settings import plain_source

            source = plain_source(source)
        return f"{body} (source: {_cell(source)})" if source is not None else body
    where = ", ".join(str(spec[k]) for k in ("dataset", "profile") if spec.get(k))
    if isinstance(value, str) and len(value) == 16 and all(c in "0123456789abcdef" for c in value):
        # content_inputs: a signature of what the data or model folders held, part of the results key
        what = {"data": f"the {spec.get('dataset') or 'dataset'} images",
                "model": "the model folder(s)"}.get(name, f"the {name} files")
        return _cell(f"{what}, checked for changes (an edit makes these results stale)")
    if isinstance(value, str) and len(value) > 16 and all(c in "0123456789abcdef" for c in value):
        return _cell(f"the stored {name} results" + (f" for {where}" if where else ""))
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
            return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)
    return None


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
        from ..report.settings import model_name
        from ..studies.gate import weak_model_rule

        try:
            rule = weak_model_rule(profile)
        except (KeyError, ValueError):
            return None
        gate = _json_attr(ds, "model_gate") if ds is not None else None
        weak = [k for k, v in gate.items() if not v.get("passed")] if isinstance(gate, dict) else []
        here = (f"; below the gate and allowed here: {', '.join(model_name(k) for k in weak)}" if weak else
                "; every model used passes the gate" if gate else "")
        return f"the {profile} profile's rule: it {rule}{here}"
    if ds is None:
        return None
    if name == "model":
        names = _models_used(ds)
        return f"the {profile} profile's trained models: {', '.join(names)}" if names else None
    if name == "models":
        given = (spec.get("params") or {}).get("model")
        return "none: one model inverts and samples (model)" if given else \
            "none: the profile's trained models invert and sample"
    if name == "data_options":
        task = _json_attr(ds, "task")
        if isinstance(task, dict) and task.get("kind"):
            opts = ", ".join(f"{k} {v}" for k, v in task.items() if v is not None and k != "kind")
            return f"the dataset's defaults: task {task['kind']}" + (f", {opts}" if opts else "")
        return f"none: the loader's defaults for {spec.get('dataset')}"
    if name in ("eta_hf", "eta_lf"):
        ovg = _json_attr(ds, "ovg")
        return _cell(ovg[name]) if isinstance(ovg, dict) and ovg.get(name) is not None else None
    if name == "schedules" and "method" in ds.dims:
        rest = [str(m) for m in ds["method"].values if str(m) not in ("ddim", "ovg")]
        return ", ".join(rest) if rest else None
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


def _default(study: str | None, name: str) -> str:
    """A default knob in words: the "None: ..." part of its registry doc ("default" when it has none)."""
    from ..studies.registry import get_study

    try:
        doc = get_study(study).params[name].doc
    except (KeyError, ValueError, TypeError):
        return "default"
    return f"default: {doc.split('None: ', 1)[1].rstrip('.')}" if "None: " in doc else "default"


def parameters_table(spec: dict, ds=None) -> str:
    """A markdown table of one run: dataset, profile, each knob, each resolved input. A knob left at its default
    shows the values it took in the results ``ds`` (seeds, methods, grids, counts, models, the data options, the
    profile's gate rule) where they say, and what the default is in words otherwise (no results to read). Resolved
    inputs are named in words (another study's results, the data checked for changes), not by their hashes."""
    rows = [("dataset", _cell(spec.get("dataset"))), ("profile", _cell(spec.get("profile")))]
    for name, value in (spec.get("params") or {}).items():
        if value is not None:
            rows.append((name, _cell(value)))
            continue
        used = _used(name, ds)
        used = used if used is not None else _used_in_words(name, spec, ds)
        rows.append((name, _cell(f"{used} (default)") if used is not None else _cell(_default(spec.get("study"), name))))
    rows += [(f"from {name}", _input_cell(value, name, spec)) for name, value in (spec.get("inputs") or {}).items()]
    lines = ["| parameter | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines) + "\n"


def misspelled_parameters(names, known) -> dict:
    """{name: the known parameter it is close to} for names that look like a misspelled parameter (``-p datset x``
    defines ``datset`` in the kernel: papermill injects any name it is given, and the study would silently run its
    default). Names far from every parameter (a reader's own variables) are left alone."""
    import difflib

    out = {}
    for n in names:
        if n in known:
            continue
        close = difflib.get_close_matches(n, known, n=1, cutoff=0.75)
        if close:
            out[n] = close[0]
    return out


def _injected_names() -> list[str]:
    """The names papermill injected into the running kernel (its "# Parameters" cell, the last one executed);
    [] outside a kernel or when the notebook ran without injected parameters."""
    import ast

    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return []
    ip = get_ipython()
    history = list(getattr(ip, "user_ns", {}).get("In", []) or []) if ip is not None else []
    for src in reversed(history):
        if isinstance(src, str) and src.lstrip().startswith("# Parameters"):
            try:
                tree = ast.parse(src)
            except SyntaxError:
                return []
            return [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                    if isinstance(t, ast.Name)]
    return []


def _kernel_names() -> list[str]:
    """The plain-valued global names of the running IPython kernel that the user (or papermill) defined; [] outside
    a kernel."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return []
    ip = get_ipython()
    if ip is None:
        return []
    hidden = getattr(ip, "user_ns_hidden", {})
    plain = (str, int, float, bool, list, tuple, dict, type(None))
    return [k for k, v in ip.user_ns.items() if not k.startswith("_") and k not in hidden and isinstance(v, plain)]


def open_study(name: str, *, results_root: str | os.PathLike = "data/results", rerun=False, **params):
    """The results of study ``name`` (computed, or loaded when stored under the same key) as an ``xr.Dataset``;
    shows the models it used with their quality-gate status (and a warning when a model below the gate was allowed)
    and the run's parameters as a table. ``params``: dataset, profile and the study's knobs, as papermill gives
    them (strings are parsed by the registry's types; unknown names raise before any work)."""
    setup_notebook()
    from ..studies.registry import get_study
    from ..studies.spec import Param
    from .runner import run_study

    known = ["dataset", "profile", *get_study(name).params, "results_root", "rerun"]
    # papermill injects any name it is given (-p steps 0 on a study without steps would run its defaults): every
    # injected name must be a parameter; in an interactive kernel, names close to a parameter are caught too
    foreign = [n for n in _injected_names() if n not in known]
    stray = misspelled_parameters(_kernel_names(), known)
    if foreign or stray:
        close = {**stray, **misspelled_parameters(foreign, known)}
        names = list(dict.fromkeys([*foreign, *stray]))
        raise TypeError(f"unknown parameter(s) of {name}: "
                        + ", ".join(f"{k!r} (did you mean {close[k]!r}?)" if k in close else repr(k) for k in names)
                        + f"; its parameters: {', '.join(known)}")
    rerun = Param("bool", False, optional=False).parse("rerun", rerun)
    ds = run_study(name, results_root=results_root, rerun=rerun, **params)
    try:
        spec = json.loads(ds.attrs["spec"])
    except (KeyError, TypeError, ValueError):
        spec = None
    from IPython.display import Markdown, display

    from ..studies.gate import gate_banner

    banner = gate_banner(ds.attrs)
    if banner:
        display(Markdown(banner))
    notes = run_notes(ds.attrs, ds)
    if notes:
        display(Markdown(notes))
    if spec is not None:
        display(Markdown(parameters_table(spec, ds)))
    return ds


# What a run's warnings said before they were put in words (results stored then keep the old text): a study's
# failed samples as positions in the translated batch, the loop's non-finite samples per batch, Null-Class at w = 1.
_OLD_FAILED = re.compile(r"^(?P<label>[^,]+), seed (?P<seed>\d+): test samples \[(?P<idx>[^\]]*)\] failed "
                         r"\((?P<reasons>[^;)]*)(?:; (?P<steps>\d+) steps each way)?\)")
_NEW_FAILED = re.compile(r"^(?P<label>[^:]+): \d+ of \d+ test crops of seed \d+ failed")
_NONFINITE = re.compile(r"^(?P<k>\d+) of (?P<n>\d+) samples (?:of a translation batch )?became non-finite")
_NULL_CLASS_W1 = "null_class at guidance scale w = 1"
_PER_STEP = re.compile(r"(\d+) at step (\d+)")
_GRID = re.compile(r"steps 0-(\d+) invert")


def reasons_text(reasons) -> str:
    """Failure reasons (``studies.validity.REASONS``) in words, each once with its count: "output beyond ±5 ×17"."""
    from collections import Counter

    from ..studies.validity import MAX_ABS_OUTPUT, MAX_NORM_RATIO

    words = {"nonfinite": "non-finite values", "output_range": f"output beyond ±{MAX_ABS_OUTPUT:g}",
             "latent_norm": f"latent norm ‖x_T‖²/d above {MAX_NORM_RATIO:g}"}
    counts = Counter(str(r).strip() for r in reasons if str(r).strip())
    return ", ".join(f"{words.get(r, r.replace('_', ' '))} ×{c}" for r, c in counts.most_common())


def _numbers(idx) -> str:
    """1-based positions as a short list: "2, 6, 7" (all of them; the unit never holds more)."""
    return ", ".join(str(int(i) + 1) for i in idx)


_WHO = ("method", "base", "label")


def _point(dims: list[str], values: tuple) -> tuple[str, str]:
    """(who, where) of one point of a results table: the method (or base) and the rest of its coordinates in words."""
    who, where = "", []
    for d, v in zip(dims, values):
        v = v.item() if hasattr(v, "item") else v
        if d in _WHO and not who:
            who = str(v)
        elif d == "parameterization":
            where.append(f"{v} model")
        elif d == "factor":
            if v:
                where.append(f"factor {v}")
        else:
            where.append(f"{d} {v:g}" if isinstance(v, float) else f"{d} {v}")
    return who, ", ".join(where)


def failure_notes(ds) -> list[str]:
    """The failed samples of a results table (``failed`` / ``failure`` over a ``sample`` dimension), one line per
    method (and grid point or arm): how many of how many failed and why, each reason once with its count, and, per
    seed, which of that seed's test crops (numbered from 1, the order in which the chapter shows them). [] when
    nothing failed or the results hold no such table."""
    import itertools

    import numpy as np

    if ds is None or not {"failed", "failure"} <= set(ds.variables) or "sample" not in ds["failed"].dims:
        return []
    failed, failure = ds["failed"], ds["failure"]
    seeds = "seed" in failed.dims
    dims = [d for d in failed.dims if d not in ("sample", "seed")]
    unit = "test crops" if seeds else "images"
    lines, grouped = [], {}
    for values in itertools.product(*(failed[d].values.tolist() for d in dims)):
        at = dict(zip(dims, values))
        f = failed.sel(at) if at else failed
        k, total = int(f.values.sum()), int(f.size)
        if not k:
            continue
        why = reasons_text(np.asarray((failure.sel(at) if at else failure).values)[np.asarray(f.values, bool)])
        who, where = _point(dims, values)
        if not seeds:  # a sweep: the grid points with the same outcome on one line
            grouped.setdefault((who, k, total, why), []).append(where)
            continue
        text = f"{who or 'the run'}{f' ({where})' if where else ''}: {k} of {total} {unit} failed ({why})"
        if k < total:
            per = []
            for s in failed["seed"].values.tolist():
                row = np.asarray(f.sel(seed=s).values, bool)
                if row.any():
                    per.append(f"seed {s}: {int(row.sum())} of {row.size}, crop{'s' if row.sum() > 1 else ''} "
                               f"{_numbers(np.flatnonzero(row))}")
            text += "; " + "; ".join(per)
        lines.append(text)
    n_img = failed.sizes["sample"]
    for (who, k, total, why), where in grouped.items():
        if len(where) > 1:
            lines.append(f"{who or 'the run'} at {len(where)} grid points ({'; '.join(where)}): {k} of {total} "
                         f"{unit} failed at each ({why} at each)")
        else:
            lines.append(f"{who or 'the run'}{f' at {where[0]}' if where[0] else ''}: {k} of {total} {unit} failed "
                         f"({why})")
    if not lines:
        return []
    head = ("Failed samples, left out of the means (crops numbered from 1 within each seed, in the order the chapter "
            "shows them):" if seeds else f"Failed samples, left out of the means (of the {n_img} images at each "
                                         "point):")
    return [head + "".join(f"\n  - {line}" for line in lines)]


def _nonfinite_words(notes: list[str], attrs: dict) -> str:
    """The translation loop's notes on non-finite samples (one per batch) as one sentence: how many of how many per
    batch, and from which inversion or sampling step; at the grid points of an OVG step-size tuning when the batches
    are that tuning's images."""
    parts, spans = [], []
    n_inv = None
    for note in notes:
        m = _NONFINITE.match(note)
        parts.append(f"{m.group('k')} of {m.group('n')}")
        steps = [int(b) for _, b in _PER_STEP.findall(note)]
        g = _GRID.search(note)
        n_inv = int(g.group(1)) + 1 if g else n_inv
        spans.append((min(steps), max(steps)) if steps else None)
    try:
        tuning = json.loads(attrs.get("ovg_tuning") or "null")
    except (TypeError, ValueError):
        tuning = None
    sizes = {int(_NONFINITE.match(n).group("n")) for n in notes}
    if isinstance(tuning, dict) and sizes == {int(tuning.get("n_images") or -1)}:
        where = (f"While OVG's step sizes were tuned ({tuning['n_images']} validation images per grid point), the "
                 f"translations at {len(notes)} grid point{'s' if len(notes) > 1 else ''} became non-finite")
        choice = tuning.get("choice") or {}
        tail = (f"; the chosen point (eta_hf {choice['eta_hf']:g}, eta_lf {choice['eta_lf']:g}) is free of failed "
                "samples" if choice.get("eta_hf") is not None and choice.get("eta_lf") is not None else "")
    else:
        where = f"{len(notes)} translation batch{'es' if len(notes) > 1 else ''} became non-finite"
        tail = ""

    def phase(span):
        if span is None:
            return ""
        lo, hi = span
        sampling = n_inv is not None and lo >= n_inv
        lo, hi = (lo - n_inv, hi - n_inv) if sampling else (lo, hi)
        steps = f"step {lo}" if lo == hi else f"steps {lo} to {hi}"
        of = f" of {n_inv}" if n_inv else ""
        return f" at {'sampling' if sampling else 'inversion'} {steps}{of}"

    each = "; ".join(f"{p} images{phase(s)}" for p, s in zip(parts, spans))
    return f"{where}: {each}{tail}."


def _reworded(note: str) -> str:
    """A stored note in the words the suite uses now (notes written by older code named positions in a batch and
    internal fields)."""
    if note.startswith(_NULL_CLASS_W1):
        from ..inversion.methods.null_class import W1_NOTE

        return W1_NOTE
    m = _OLD_FAILED.match(note)
    if m:
        reasons = [r for r in m.group("reasons").split(",") if r.strip()]
        steps = f", {m.group('steps')} steps each way" if m.group("steps") else ""
        return (f"{m.group('label')}: {len(reasons)} test sample{'s' if len(reasons) != 1 else ''} failed "
                f"({reasons_text(reasons)}{steps}); they are left out of the means")
    from ..report.settings import plain_source

    return plain_source(note)


def run_notes(attrs: dict, ds=None) -> str:
    """Markdown listing what the run that computed a result warned about (one line each), in words, '' when nothing.

    With the results ``ds``, failed samples are described from the results themselves (``failure_notes``: which
    method, grid point or arm and seed, how many of how many, the reasons counted), in place of the run's notes on
    them; the translation loop's per-batch notes on non-finite samples become one sentence."""
    try:
        notes = json.loads(attrs.get("run_warnings") or "[]")
    except (TypeError, ValueError):
        notes = []
    from_data = failure_notes(ds)
    table = ds is not None and {"failed", "failure"} <= set(ds.variables)
    covered = table and bool((ds["failure"].values.astype(str) == "nonfinite").any())
    lines, nonfinite = [], []
    for n in notes:
        if table and (_OLD_FAILED.match(n) or _NEW_FAILED.match(n)):
            continue  # described from the results below
        if _NONFINITE.match(n):
            if not covered:
                nonfinite.append(n)
            continue
        text = _reworded(n)
        if text not in lines:
            lines.append(text)
    if nonfinite:
        lines.append(_nonfinite_words(nonfinite, attrs))
    lines += from_data
    if not lines:
        return ""
    return "**Notes from the run that computed these results:**\n\n" + "\n".join(f"- {n}" for n in lines) + "\n"


def strip_outputs(model: dict, **_) -> dict:
    """Clear the outputs and execution counts of a notebook's contents model, in place (JupyterLab's pre-save hook
    under ``make lab``: notebooks/ holds sources only; the executed copies with outputs are the book's)."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        meta = model["content"].setdefault("metadata", {})
        if isinstance(meta.get("language_info"), dict):  # the running kernel's versions: noise in a diff
            meta["language_info"] = {"name": meta["language_info"].get("name", "python")}
        for cell in model["content"].get("cells", []):
            if cell.get("cell_type") == "code":
                cell["outputs"] = []
                cell["execution_count"] = None
                cell.get("metadata", {}).pop("execution", None)
    return model
