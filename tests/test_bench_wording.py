"""The benchmarks chapter states each record as it is: the recorded profile's sizes beside the book's, the chapters
a record leaves out, one number format per quantity, verbs that agree with their counts, and why a target is within
noise."""
from __future__ import annotations

import pandas as pd

from benchmarks import report_record as RR
from benchmarks import report_runs as runs
from spectral_collapse.studies.profiles import get_profile


def test_the_recorded_profile_is_compared_number_by_number_with_the_books():
    p = get_profile("quick")
    more = p.n_test + 8                      # a record with more test crops than the book, fewer training steps
    text = RR.recorded_size({"profile_size": f"250 training steps per model, {more} test crops per seed, "
                                             "the Pareto sweep on 6 images"}, "quick")
    assert "smaller" not in text and "earlier quick profile, not the one this book uses" in text
    assert f"{more} test crops per seed, this book {p.n_test:,}" in text
    steps = sorted({p.train_eps.steps, p.train_edm.steps, p.train_dit.steps})
    assert f"250 training steps per model, this book {steps[0]:,}" in text and f"{steps[-1]:,}" in text
    assert RR.recorded_size({}, "quick") == ""


def test_the_main_command_note_names_the_chapters_the_record_lacks():
    every = RR.untimed_chapters([])
    keys = every[:-2]
    note = RR.main_command_note({"studies_s": {k: 1.0 for k in keys}})
    assert f"The record holds {len(keys)} of the book's {len(every)} study chapters" in note
    assert runs.study_words(every[-1]) in note
    assert "holds" not in RR.main_command_note({"studies_s": {k: 1.0 for k in every}})


def _table(rows):
    t = runs._Rows()
    for r in rows:
        t.add(*r[:3], short=r[0], digits=r[3])
    return t.frame()


def test_a_count_of_one_target_takes_a_singular_verb():
    one = _table([("a", "<= 2", {"median": 1.5, "q25": 1.4, "q75": 1.6, "n": 3}, 2),
                  ("b", "<= 2", {"median": 2.5, "q25": 2.4, "q75": 2.6, "n": 3}, 2)])
    assert "1 of 2 speed targets is met" in runs._judged_sentence(one, "On X")
    two = _table([("a", "<= 2", {"median": 1.5, "q25": 1.4, "q75": 1.6, "n": 3}, 2)] * 2)
    assert "2 of 2 speed targets are met" in runs._judged_sentence(two, "On X")


def test_each_quantity_keeps_its_decimals_in_the_table_and_the_sentence():
    t = _table([("trainer", ">= 0.95", {"median": 0.96512, "q25": 0.92311, "q75": 1.01123, "n": 3}, runs.THROUGHPUT_DIGITS),
                ("pca", "< 60", 77.8512, runs.SECONDS_DIGITS)])
    shown, _ = runs.targets_display(t)
    cells = [c.replace("\xa0", " ").replace("\u2060", "") for c in shown["measured (quartiles)"]]
    assert cells[0].startswith("0.965 (0.923") and cells[1] == "77.9"
    said = runs._judged_sentence(t, "On X")
    assert "(0.965, quartiles 0.923–1.011" in said and "(77.9, goal < 60)" in said


def test_a_quartile_that_rounds_onto_the_goal_is_shown_past_it():
    t = _table([("translation", "<= 2", {"median": 1.72, "q25": 1.45, "q75": 2.0024, "n": 3}, 2)])
    assert t["verdict"].iloc[0] == "within noise"
    _, legend = runs.targets_display(t)
    assert "translation is within noise: its upper quartile, 2.002, lies past the goal of 2" in legend
    low = _table([("trainer", ">= 0.95", {"median": 0.965, "q25": 0.923, "q75": 1.011, "n": 3}, 3)])
    assert "its lower quartile, 0.923, lies past the goal of 0.95" in runs.targets_display(low)[1]
    assert runs.noise_reasons(_table([("a", "<= 2", {"median": 1.5, "q25": 1.4, "q75": 1.6, "n": 3}, 2)])) == ""


def test_the_chapter_source_has_no_garbled_schedule_or_floor_sentence():
    import json
    from pathlib import Path

    nb = json.loads((Path(__file__).parents[1] / "notebooks" / "benchmarks.ipynb").read_text())
    src = "".join("".join(c["source"]) for c in nb["cells"])
    assert "The schedule the stored results of chapter" not in src and "one per machine and date" not in src
    assert "This row times guidance on" in src and "memory / DDIM* is" in src
    assert "runs.main_command_note(mc)" in src and "runs.recorded_size(mc, profile)" in src


def test_the_extrapolation_to_another_cpu_is_in_minutes_as_the_record_is():
    import inspect

    src = inspect.getsource(runs.main_command_elsewhere)
    assert "/ 3600" not in src and " min there" in src
    assert isinstance(pd.DataFrame(), pd.DataFrame)
