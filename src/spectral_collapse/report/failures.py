"""The failed samples of a results table described from the table itself: which method, grid point or arm and
seed, how many of how many, each reason counted (``failure_notes``); ``reasons_text`` counts the reasons of a set of
failed samples in one sentence. ``pipeline.notes`` shows them with a run's notes."""
from __future__ import annotations

from ..text import step_size

__all__ = ["failure_notes", "reasons_text"]


def reasons_text(reasons) -> str:
    """Failure reasons (``studies.validity.REASONS``) in words, each once with its count: "output beyond ±5 in 17"."""
    from collections import Counter

    from ..studies.validity import MAX_ABS_OUTPUT, MAX_NORM_RATIO

    words = {"nonfinite": "non-finite values", "output_range": f"output beyond ±{MAX_ABS_OUTPUT:g}",
             "latent_norm": f"latent norm ‖x_T‖²/d above {MAX_NORM_RATIO:g}"}
    counts = Counter(str(r).strip() for r in reasons if str(r).strip())
    return ", ".join(f"{words.get(r, r.replace('_', ' '))} in {c}" for r, c in counts.most_common())


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
        elif d in ("eta_hf", "eta_lf") and isinstance(v, (int, float)):
            where.append(f"{d} {step_size(float(v))}")       # step sizes as every chapter writes them
        else:
            where.append(f"{d} {v:g}" if isinstance(v, float) else f"{d} {v}")
    return who, ", ".join(where)


def failure_notes(ds) -> list[str]:
    """The failed samples of a results table (``failed`` / ``failure`` over a ``sample`` dimension), one line per
    method (and grid point or arm): how many of how many failed and why, each reason once with its count, and, per
    seed, which of that seed's test crops (numbered from 1, the order in which the chapter shows them; the heading
    says so only where such numbers follow). [] when nothing failed or the results hold no such table."""
    import itertools

    import numpy as np

    if ds is None or not {"failed", "failure"} <= set(ds.variables) or "sample" not in ds["failed"].dims:
        return []
    failed, failure = ds["failed"], ds["failure"]
    seeds = "seed" in failed.dims
    dims = [d for d in failed.dims if d not in ("sample", "seed")]
    # a sweep on validation crops (``tuning_split``) counts them by that name, as the rest of its chapter does
    unit = "test crops" if seeds else "validation crops" if getattr(ds, "attrs", {}).get("tuning_split") else "images"
    lines, grouped, numbered = [], {}, False
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
            numbered = numbered or bool(per)
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
    # how crops are numbered is said only where crop numbers follow (a line that fails every crop lists none)
    head = ("Failed samples, left out of the means" + (" (crops numbered from 1 within each seed, in the order the "
                                                       "chapter shows them)" if numbered else "") + ":"
            if seeds else f"Failed samples, left out of the means (of the {n_img} {unit} at each point):")
    return [head + "".join(f"\n  - {line}" for line in lines)]
