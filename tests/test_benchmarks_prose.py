"""The benchmarks chapter's prose against its own numbers: what a record leaves out is said, columns that do not
multiply out are explained, and the page speaks of the profile it documents, not of earlier ones."""
import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import report, report_runs as runs  # noqa: E402
from benchmarks.report_training import training_legend  # noqa: E402


def test_the_smoke_line_names_the_chapters_it_did_not_time():
    rec = {"studies_s": {"main_results/ihc-sr": 3.0, "pareto/ihc-sr": 5.0}, "train_s": {}, "date": "2026-01-01"}
    line = runs.smoke_line(rec)
    assert "Every study took" not in line and "not timed here" in line
    assert runs.study_words("pareto/ihc-edges") in line
    assert "2 of the book's" in line


def test_the_soak_line_does_not_claim_every_study():
    soak = {"profile": "quick", "date": "2026-01-01", "identical": True, "within_bound": True,
            "rounds": [{"studies": [{"study": "main_results", "dataset": "ihc-sr"}]}]}
    line = runs.soak_line(soak)
    assert not line.startswith("Every study") and "not in that run" in line
    assert runs.study_words("main_results/ihc-sr") not in line.split("not in that run")[1]


def test_the_floor_variant_columns_are_said_not_to_multiply_out():
    t = pd.DataFrame({"floor / own DDIM step": [3.3], "DDIM step / default DDIM step": [1.07],
                      "floor / default DDIM step": [3.65]}, index=pd.Index(["standard layout: contiguous"]))
    _, legend = report.floor_variants_display(t)
    assert "not the product of the first two" in legend
    assert "median of the per-pair ratios" in training_legend()


def test_the_shipped_models_are_all_counted(tmp_path):
    for name, log in (("a-quick-0123456789ab", True), ("vae-quick-0123456789ab", False)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps({"train": {"steps": 10}}))
        if log:
            (tmp_path / name / "log.json").write_text(json.dumps({"seconds_total": 60.0}))
    from benchmarks.main_command import checkpoint_times

    said = runs.shipped_sentence(tmp_path, checkpoint_times(tmp_path))
    assert said.startswith("The 2 shipped models") and "the 1 below" in said and "vae-quick" in said


def test_the_main_command_rows_say_sum_and_wall_time():
    mc = {"install_s": 100, "studies_s": {"a/x": 3000, "b/x": 3000}, "book_s": 20, "total_s": 3200}
    t = runs.main_command_table(mc, {})
    assert "total (wall time)" in t.index and "exceeds the total wall time" in runs.MAIN_COMMAND_NOTE
    assert max(len(i) for i in t.index) <= 40          # short row labels: the table fits the text column
    v = runs.verdict(None, None, {**mc, "profile_size": "250 steps", "date": "2026-01-01"}, None)
    assert "today" not in v and "last timed" not in v
