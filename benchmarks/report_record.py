"""What a record of the benchmarks chapter leaves out, said beside it: the study chapters a per-study timing record
does not hold, and the shipped models the training table does not list (re-exported by ``benchmarks.report_runs``)."""
from __future__ import annotations

__all__ = ["untimed_chapters", "untimed_line", "shipped_sentence", "gpu_training_line", "model_name", "study_words"]


def untimed_chapters(keys) -> list[str]:
    """The registered study chapters ("study/dataset", each study on the datasets the main command runs it on) that
    a record of per-study times (``keys``) does not hold."""
    from spectral_collapse.studies.registry import STUDIES

    studies = STUDIES.values() if isinstance(STUDIES, dict) else STUDIES
    every = [f"{s.name}/{d}" for s in studies for d in s.datasets]
    return [k for k in every if k not in set(keys)]


def untimed_line(keys) -> str:
    """A sentence naming the chapters a per-study timing record leaves out, "" when it holds every one."""
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

    every = sorted(p.parent.name for p in Path(weights).glob("*/config.json"))
    listed = [k for k in every if (shipped.get(k) or {}).get("seconds") is not None]
    left = [model_name(k) for k in every if k not in listed]
    head = (f"The {len(every)} shipped models; the {len(listed)} below record their training in their own log"
            + (f" ({', '.join(left)} has no training log, so it is not listed)" if left else "")
            if left else f"The {len(every)} shipped models and their training, from each model's own log")
    return (head + ". \"last run only\": the log keeps the time of the run that finished the model alone; a "
            "training resumed from a checkpoint spent more.")


def _recorded_count(size: str, words: str) -> int | None:
    """The number a record's size text puts before ``words`` ("250 training steps per model" -> 250), or None."""
    import re

    m = re.search(r"(\d[\d,]*)\s+" + re.escape(words), str(size))
    return int(m.group(1).replace(",", "")) if m else None


def recorded_size(mc: dict | None, profile: str = "quick") -> str:
    """What the main command's record was timed at, against the book's ``profile``: "an earlier quick profile, not
    the one this book uses (250 training steps per model, this book 6,000–8,000; 24 test crops per seed, this book
    16; ...)". Each number the record's size text states is set beside the profile's own, so a record that is larger
    in one respect and smaller in another reads so; "" when the record names no size."""
    size = (mc or {}).get("profile_size")
    if not size:
        return ""
    from spectral_collapse.studies.profiles import get_profile
    from spectral_collapse.pipeline.cost_pages import RANGE

    p = get_profile(profile)
    steps = sorted({c.steps for c in (p.train_eps, p.train_edm, getattr(p, "train_dit", None)) if c is not None})
    book_steps = f"{steps[0]:,}" if len(steps) == 1 else f"{steps[0]:,}{RANGE}{steps[-1]:,}"
    parts = []
    for piece in str(size).split(", "):
        if (n := _recorded_count(piece, "training steps")) is not None:
            parts.append(f"{piece}, this book {book_steps}")
        elif (n := _recorded_count(piece, "test crops")) is not None:
            parts.append(f"{piece}, this book {p.n_test:,}")
        else:
            parts.append(piece)
    return f"an earlier {p.name} profile, not the one this book uses ({'; '.join(parts)})"


def main_command_note(mc: dict | None) -> str:
    """What the main-command table's rows sum, said under it: the studies row sums each chapter's own time (two ran
    at a time), training is part of it, and the chapters the record does not hold are named."""
    text = ("The studies row sums each chapter's own time; two chapters ran at a time, so that sum exceeds the total "
            "wall time. Each model was trained inside the study that first needed it, so the training row is part of "
            "the studies row.")
    keys = list(((mc or {}).get("studies_s") or {}).keys())
    left = untimed_chapters(keys) if keys else []
    if left:
        text += (f" The record holds {len(keys)} of the book's {len(keys) + len(left)} study chapters, the ones "
                 f"the book had when it was timed; not in it: {'; '.join(map(study_words, left))}.")
    return text


def gpu_training_line(results_dir) -> str:
    """A sentence from the newest record of a GPU training phase (``*-train-phase.json``: a model set trained side by
    side on one GPU by ``benchmarks.from_scratch --train-jobs``): the models, processes, wall time (summed over the
    runs it took when it was stopped and resumed), the range of steps per second per process and the estimate of
    the whole book from scratch on that GPU. "" without a record."""
    import json
    from pathlib import Path

    files = sorted(Path(results_dir).glob("*-train-phase.json"))
    if not files:
        return ""
    rec = json.loads(files[-1].read_text())
    ph = rec["train_phase"]
    runs = [v for k, v in ph.items() if k.startswith("wall_s_") and k.endswith("_run")]
    wall = sum(runs)
    rates = sorted(ph["steps_per_s_per_process"].values())
    split = (f" in {len(runs)} runs (stopped once and resumed from the models' snapshots)" if len(runs) > 1 else "")
    from spectral_collapse.report.reproducing import gpu_words

    return (f"On {gpu_words(rec['gpu'])}, on {rec['date']}, the {ph['models']} models of the quick set trained from scratch in "
            f"{ph['processes']} processes side by side took {int(wall // 60)} min {int(round(wall % 60))} s of wall "
            f"time{split}, {rates[0]:g} to {rates[-1]:g} training steps per second per process, the GPU busy "
            f"throughout (`{files[-1].name}`)"
            + (f"; its weights are kept in `{rec['weights']}`, and the book's numbers come from the models directly "
                 f"under `data/weights`"
               if rec.get("weights") else "") + ". "
            f"{rec.get('whole_book_estimate', '')}").strip()


def model_name(folder: str) -> str:
    """A checkpoint folder's model name without its configuration hash ("ihc-sr-x4-eps-quick-7e26214ebd7e" ->
    "ihc-sr-x4-eps-quick")."""
    stem, _, tail = str(folder).rpartition("-")
    return stem if stem and len(tail) == 12 and all(c in "0123456789abcdef" for c in tail) else str(folder)


def study_words(key: str) -> str:
    """A study and dataset key as a reader reads it: "pareto/ihc-sr" -> "OVG step sizes, ihc-sr" (the chapter's
    title up to its colon); a key of no registered study as it is."""
    from spectral_collapse.studies.registry import STUDIES

    name, _, dataset = str(key).partition("/")
    studies = STUDIES if isinstance(STUDIES, dict) else {s.name: s for s in STUDIES}
    if name not in studies:
        return str(key)
    title = studies[name].title.split(":", 1)[0]
    return f"{title}, {dataset}" if dataset else title
