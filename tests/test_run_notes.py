"""A chapter's run notes: each failure named by its arm, method and grid point or seed, counted from the stored arrays
(so a note never contradicts the page's tables), the stored warnings they replace left out, the rest prefixed with the
arms they concern, all in a collapsed block at the chapter's end."""
import json
import re

import numpy as np
import pytest
import xarray as xr

from spectral_collapse.framework.oracle_arm import with_arm
from spectral_collapse.pipeline.notes import NOTES_TITLE, chapter_notes, notes_block

BATCH = ("16 of 16 samples of a translation batch became non-finite (position in the batch at step; steps 0-49 invert, "
         "50-99 sample): 0 at step 38; the returned translation records each sample's step")
NULL = "null_class at guidance scale w = 1: the null-class embedding does not enter the guided prediction"


def _sweep(failed: np.ndarray, chosen: np.ndarray, bases=("ovg", "ovg_edm")) -> xr.Dataset:
    dims = ("base", "eta_hf", "eta_lf", "sample")
    reason = np.where(failed, "nonfinite", "")
    return xr.Dataset({"failed": (dims, failed), "failure": (dims, reason), "chosen": (dims[:3], chosen)},
                      coords={"base": list(bases), "eta_hf": [1e-8, 1e-6], "eta_lf": [1e-3, 1e-1],
                              "sample": np.arange(failed.shape[-1])})


def _main(failed: np.ndarray, methods=("ddim", "ovg_edm", "null_class")) -> xr.Dataset:
    dims = ("method", "seed", "sample")
    reason = np.where(failed, "output_range", "")
    return xr.Dataset({"failed": (dims, failed), "failure": (dims, reason)},
                      coords={"method": list(methods), "seed": np.arange(failed.shape[1]),
                              "sample": np.arange(failed.shape[2])})


def test_a_sweep_note_names_the_oracle_arm_the_method_and_each_failed_grid_point():
    rng = np.random.default_rng(0)
    trained = _sweep(np.zeros((2, 2, 2, 4), bool), np.eye(2, dtype=bool)[None].repeat(2, 0))
    failed = rng.random((2, 2, 2, 4)) < 0.5
    failed[0] = False                             # the oracle's OVG: no failure, no note
    failed[1, 0, 0] = False                       # the oracle's OVG + EDM chose the one clean point
    chosen = np.zeros((2, 2, 2), bool)
    chosen[:, 0, 0] = True
    ds = with_arm(trained, _sweep(failed, chosen))
    ds.attrs["run_warnings"] = json.dumps([BATCH] * 3 + ["ovg_edm: no grid point without failed samples; no "
                                                         "operating point chosen"])
    notes = chapter_notes(ds)
    assert len(notes) == 1, notes                # the batch notes and the superseded sweep note are said by the arrays
    note = notes[0]
    assert note.startswith("Oracle arm (exact Gaussian denoiser), OVG + EDM: ")
    bad = [(hf, lf) for i, hf in enumerate(("10⁻⁸", "10⁻⁶")) for j, lf in enumerate(("10⁻³", "10⁻¹"))
           if failed[1, i, j].any()]
    for (hf, lf), (i, j) in zip(bad, [(i, j) for i in range(2) for j in range(2) if failed[1, i, j].any()]):
        assert f"η_HF = {hf}, η_LF = {lf} ({int(failed[1, i, j].sum())} of 4)" in note
    assert f"non-finite values in {int(failed[1].sum())}" in note
    assert note.endswith("the operating point chosen: η_HF = 10⁻⁸, η_LF = 10⁻³.")
    assert "no grid point" not in note


def test_a_main_results_note_counts_per_seed_and_a_method_note_names_its_arm():
    failed = np.zeros((3, 2, 4), bool)
    failed[1, 0] = True                            # OVG + EDM, seed 0: every crop
    failed[1, 1, :2] = True                        # seed 1: two crops
    ds = with_arm(_main(np.zeros((3, 2, 4), bool)), _main(failed, ("ddim", "ovg_edm", "edm")))
    crops = ("ovg_edm: 4 of 4 test crops of seed 0 failed (output beyond ±5 in 4; 50 steps each way): every crop; "
             "they are left out of the tables' means")
    ds.attrs["run_warnings"] = json.dumps([NULL, crops])
    notes = chapter_notes(ds)
    assert notes[0] == ("Oracle arm (exact Gaussian denoiser), OVG + EDM: test crops failed at 2 of 2 seeds: seed 0 "
                        "(4 of 4); seed 1 (2 of 4) (output beyond ±5 in 6); they are left out of this arm's means.")
    # null_class runs only in the trained arm: the note says so and names the method
    assert notes[1].startswith("Trained models, Null-Class at guidance scale w = 1: ")
    assert len(notes) == 2


def test_batch_notes_without_a_failed_crop_say_the_run_did_not_record_where_they_came_from():
    ds = _main(np.zeros((3, 2, 4), bool))
    ds.attrs["run_warnings"] = json.dumps([BATCH, BATCH.replace("16 of 16", "12 of 16")])
    (note,) = chapter_notes(ds)
    assert note.startswith("The run: 2 translation batches had non-finite samples (16 of 16, 12 of 16 samples)")
    assert note.endswith("no crop of the page's tables failed.")


def test_the_notes_block_is_a_closed_details_block_and_empty_without_notes():
    ds = _main(np.zeros((3, 2, 4), bool))
    assert notes_block(ds) == "" and chapter_notes(ds) == []
    ds.attrs["run_warnings"] = json.dumps([NULL])
    block = notes_block(ds)
    assert re.fullmatch(rf"<details>\n<summary>{NOTES_TITLE} \(1\)</summary>\n\n- Trained models, Null-Class at [^\n]+"
                        r"\n\n</details>\n", block)


@pytest.mark.parametrize("path", ["data/results/main_results/ihc-edges-quick.nc",
                                  "data/results/pareto/ihc-sr-quick.nc"])
def test_stored_notes_agree_with_the_stored_failure_counts(path):
    """On the stored results: every note of a failure names its arm, and the counts it gives add up to the arm's
    failed samples of that method."""
    from pathlib import Path

    from spectral_collapse.framework.oracle_arm import arm_results

    file = Path(__file__).resolve().parents[1] / path
    if not file.is_file():
        pytest.skip(f"{path} is not stored")
    ds = xr.open_dataset(file)
    arms = {"Trained models": ds, "Oracle arm (exact Gaussian denoiser)": arm_results(ds, "oracle")}
    for note in chapter_notes(ds):
        m = re.match(r"(Trained models|Oracle arm \(exact Gaussian denoiser\)), ([^:]+): (.*)", note)
        assert m, note
        if "failed" not in m.group(3):
            continue
        part = arms[m.group(1)]
        lead = "base" if "base" in part.dims else "method"
        from spectral_collapse.reference.method_names import method_name

        label = next(str(v) for v in part[lead].values if method_name(str(v)) == m.group(2))
        counted = sum(int(k) for k in re.findall(r"(\d+) of \d+\)", m.group(3))) or int(
            re.match(r"(\d+) of", m.group(3)).group(1))
        assert counted == int(part["failed"].sel({lead: label}).sum()), note


def test_every_study_notebook_answers_before_its_evidence_and_ends_with_the_run_record():
    """In each study notebook that opens a study: the first bold "Answer" comes right after the hidden plumbing that
    follows ``open_study`` (before any chart, table or heading), and the last cell shows the run's record
    (``run_record``: models, notes, parameters), so none of it stands between the question and the answer."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    checked = 0
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        opened = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and "open_study(" in "".join(c["source"])]
        if not opened:
            continue
        checked += 1
        after = [c for c in cells[opened[0] + 1:]
                 if not (c["cell_type"] == "code" and "remove-cell" in c["metadata"].get("tags", []))]
        first = "".join(after[0]["source"]) if after else ""
        assert "**Answer" in first, f"{path.name}: the answer is not the first thing shown"
        assert "run_record(ds)" in "".join(cells[-1]["source"]), f"{path.name}: the last cell is not run_record(ds)"
    assert checked >= 16


def test_run_record_shows_the_models_then_the_notes_collapsed_then_the_parameters(monkeypatch):
    import IPython.display

    from spectral_collapse.pipeline import notebook

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(getattr(obj, "data", obj)))
    ds = _main(np.zeros((3, 2, 4), bool))
    ds.attrs.update(run_warnings=json.dumps([NULL]), spec=json.dumps({"study": "main_results", "dataset": "ihc-sr",
                                                                       "profile": "quick", "params": {}}),
                    model_gate=json.dumps({}))
    notebook.run_record(ds)
    texts = [s for s in shown if isinstance(s, str)]
    assert texts[0].startswith("<details>\n<summary>" + NOTES_TITLE) and texts[-1].startswith("| parameter | value |")
