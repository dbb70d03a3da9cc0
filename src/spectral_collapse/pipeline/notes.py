"""The notes of a study run at a chapter's end (``notes_block``): failures by arm, method and grid point or seed from
the stored ``failed`` / ``failure`` / ``chosen`` arrays (so a note counts what the tables count), then the run's other
warnings with the arms they name."""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from ..framework.oracle_arm import arm_results
from ..framework.validity import FAILURE_WORDS
from ..reference.method_names import method_name
from ..text import step_size
from .parameters import json_attr

__all__ = ["chapter_notes", "notes_block", "arm_word", "NOTES_TITLE"]

NOTES_TITLE = "Notes from the run that computed these results"
# stored warnings that the failure arrays say again, by arm, method and grid point
_BATCH = re.compile(r"^\d+ of \d+ samples of a translation batch became non-finite")
_CROPS = re.compile(r"^[\w.]+: \d+ of \d+ test crops of seed \d+ failed")
_NO_POINT = re.compile(r"^[\w.]+: no grid point without failed samples")
_LEAD = ("method", "base")   # the dimension naming a failure's method
_SYMBOL = {"eta_hf": "η_HF", "eta_lf": "η_LF"}


def arm_word(tag: str | None) -> str:
    """An arm as a note names it: None -> "Trained models", "oracle" -> "Oracle arm (exact Gaussian denoiser)"."""
    if tag is None:
        return "Trained models"
    return "Oracle arm (exact Gaussian denoiser)" if tag == "oracle" else f"Arm {tag}"


def _arms(ds) -> list[tuple[str | None, object]]:
    """(tag, results) of the trained models and of each arm stored beside them under a suffix."""
    out = [(None, ds)]
    for arm in json_attr(ds.attrs, "arms", []) or []:
        part = arm_results(ds, arm.get("tag")) if isinstance(arm, dict) and arm.get("suffix") else None
        if part is not None and len(part.data_vars):
            out.append((arm["tag"], part))
    return out


def _point(dims, values) -> str:
    """A grid point or seed in words: "η_HF = 10⁻⁸, η_LF = 10⁻²", "seed 0", "backbone dit, seed 1"."""
    parts = [f"{_SYMBOL[d]} = {step_size(v)}" if d in _SYMBOL else f"{d.replace('_', ' ')} {v}"
             for d, v in zip(dims, values)]
    return ", ".join(parts)


def _failures(tag, part) -> list[str]:
    """One note per method of ``part`` with failed samples: where (grid point or seed), how many of how many, why."""
    if "failed" not in part or not part["failed"].dims:
        return []
    failed = part["failed"]
    lead = next((d for d in failed.dims if d in _LEAD), None)
    sample = failed.dims[-1]
    noun = "validation crops" if "eta_hf" in failed.dims else "test crops" if "seed" in failed.dims else "crops"
    labels = [str(v) for v in part[lead].values] if lead else [None]
    notes = []
    for label in labels:
        f = failed.sel({lead: label}) if lead else failed
        r = part["failure"].sel({lead: label}) if lead and "failure" in part else part.get("failure")
        if not bool(f.any()):
            continue
        dims = [d for d in f.dims if d != sample]
        stacked = f.stack(point=dims) if dims else f.expand_dims(point=[0])
        n = f.sizes[sample]
        hits = [(_point(dims, np.atleast_1d(p)) if dims else "", int(stacked.sel(point=p).sum()))
                for p in stacked["point"].values if bool(stacked.sel(point=p).any())]
        why = ""
        if r is not None:
            counts = Counter(str(x) for x in np.asarray(r.values)[np.asarray(f.values, dtype=bool)])
            why = " (" + ", ".join(f"{FAILURE_WORDS.get(k, k)} in {c}" for k, c in counts.most_common()) + ")"
        who = f"{arm_word(tag)}, {method_name(label)}" if label else arm_word(tag)
        if len(hits) == 1:   # one grid point or seed, or no dimension but the samples'
            where = f"{hits[0][1]} of {n} {noun} failed" + (f" at {hits[0][0]}" if dims else "")
        else:
            unit = "grid points" if "eta_hf" in dims else "seeds" if dims == ["seed"] else "runs"
            where = (f"{noun} failed at {len(hits)} of {stacked.sizes['point']} {unit}: "
                     + "; ".join(f"{p} ({k} of {n})" for p, k in hits))
        notes.append(f"{who}: {where}{why}; they are left out of this arm's means{_chosen(part, lead, label)}.")
    return notes


def _chosen(part, lead, label) -> str:
    """"; the operating point chosen: η_HF = ..., η_LF = ..." of a Pareto sweep's method ("" elsewhere)."""
    if "chosen" not in part or lead is None:
        return ""
    c = part["chosen"].sel({lead: label})
    if not bool(c.any()):
        return "; no operating point chosen"
    at = c.where(c, drop=True).stack(point=c.dims)["point"].values[0]
    return f"; the operating point chosen: {_point(list(c.dims), np.atleast_1d(at))}"


def _named_arms(note: str, arms) -> str | None:
    """The arms whose methods include the one a stored note starts with ("null_class at ..."), or None."""
    head = re.match(r"^([\w.]+)[: ]", note)
    if not head:
        return None
    found = [tag for tag, part in arms
             if any(head.group(1) in map(str, part[d].values) for d in _LEAD if d in part.coords)]
    return " and ".join(arm_word(t) if i == 0 else arm_word(t)[0].lower() + arm_word(t)[1:]
                        for i, t in enumerate(found)) or None


def chapter_notes(ds) -> list[str]:
    """Every note of the run that computed ``ds``, in the chapter's words (see the module docstring)."""
    arms = _arms(ds)
    notes = [n for tag, part in arms for n in _failures(tag, part)]
    stored = list(dict.fromkeys(map(str, json_attr(ds.attrs, "run_warnings", []) or [])))
    counted = any("failed" in part for _, part in arms)
    batches = [n for n in stored if _BATCH.match(n)]
    if batches and not any(part["failed"].any() for _, part in arms if "failed" in part):
        sizes = ", ".join(n.split(" samples")[0] for n in batches)
        scored = "no crop of the page's tables failed" if counted else "the page's tables leave non-finite samples out"
        notes.append(f"The run: {len(batches)} translation batch{'es' if len(batches) > 1 else ''} had non-finite "
                     f"samples ({sizes} samples) in a computation whose arm and method the run did not record; "
                     f"{scored}.")
    for note in stored:
        if _BATCH.match(note) or (counted and (_CROPS.match(note) or _NO_POINT.match(note))):
            continue
        who = _named_arms(note, arms)
        label = re.match(r"^[\w.]+", note).group(0) if who else ""
        notes.append(f"{who}, {method_name(label)}{note[len(label):]}" if who else f"The run: {note}")
    return notes


def notes_block(ds) -> str:
    """The run's notes (``chapter_notes``) in a collapsed ``<details>`` block titled with their count; '' for none."""
    notes = chapter_notes(ds)
    if not notes:
        return ""
    body = "\n".join(f"- {n}" for n in notes)
    return f"<details>\n<summary>{NOTES_TITLE} ({len(notes)})</summary>\n\n{body}\n\n</details>\n"
