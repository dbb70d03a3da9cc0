"""What a record of the benchmarks chapter leaves out, said beside it: the study chapters a per-study timing record
does not hold, and the shipped models the training table does not list (re-exported by ``benchmarks.report_runs``)."""
from __future__ import annotations

__all__ = ["untimed_chapters", "untimed_line", "shipped_sentence"]


def untimed_chapters(keys) -> list[str]:
    """The registered study chapters ("study/dataset", each study on the datasets the main command runs it on) that
    a record of per-study times (``keys``) does not hold."""
    from spectral_collapse.studies.registry import STUDIES

    studies = STUDIES.values() if isinstance(STUDIES, dict) else STUDIES
    every = [f"{s.name}/{d}" for s in studies for d in s.datasets]
    return [k for k in every if k not in set(keys)]


def untimed_line(keys) -> str:
    """A sentence naming the chapters a per-study timing record leaves out, "" when it holds every one."""
    from .report_runs import study_words

    left = untimed_chapters(keys)
    if not left:
        return ""
    return (f"The smoke run times {len(list(keys))} of the book's {len(list(keys)) + len(left)} study chapters; not "
            f"timed here: {'; '.join(map(study_words, left))}. ")


def shipped_sentence(weights, shipped: dict) -> str:
    """The sentence above the shipped models' training table: how many models ship (every folder of ``weights`` with
    a config), how many of them the table lists (those whose own log records a training time: ``shipped``,
    checkpoint_times of that folder), the others named, and what "last run only" means."""
    from pathlib import Path

    from .report_runs import model_name

    every = sorted(p.parent.name for p in Path(weights).glob("*/config.json"))
    listed = [k for k in every if (shipped.get(k) or {}).get("seconds") is not None]
    left = [model_name(k) for k in every if k not in listed]
    head = (f"The {len(every)} shipped models; the {len(listed)} below record their training in their own log"
            + (f" ({', '.join(left)} has no training log, so it is not listed)" if left else "")
            if left else f"The {len(every)} shipped models and their training, from each model's own log")
    return (head + ". \"last run only\": the log keeps the time of the run that finished the model alone; a "
            "training resumed from a checkpoint spent more.")
