"""run_study: stored results are reused only under the same key and the same weights; what a study reads is an
explicit, recorded input; two identical runs on one results folder both finish with identical results."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from spectral_collapse.data import Task, load_dataset, register_dataset
from spectral_collapse.pipeline.runner import run_study
from spectral_collapse.framework import model_set as models_mod
from spectral_collapse.studies.registry import STUDIES, study_spec
from spectral_collapse.train.cache import write_weight_hashes

ROOT = Path(__file__).resolve().parents[1]
MAIN = dict(dataset="ihc-sr", profile="smoke", methods=["ddim"], seeds=[0])


@pytest.fixture
def ckpts(tmp_path, monkeypatch):
    root = tmp_path / "ckpt"
    monkeypatch.setattr(models_mod, "CHECKPOINT_ROOT", str(root))
    return root


def _cells(ds) -> dict:
    return json.loads(ds.attrs["cells"])


def test_stored_results_are_reused_and_rerun_recomputes(tmp_path, ckpts):
    res = tmp_path / "results"
    first = run_study("main_results", results_root=res, **MAIN)
    assert _cells(first)["computed"] > 0
    again = run_study("main_results", results_root=res, **MAIN)
    assert again.attrs["created"] == first.attrs["created"]  # the stored file, not a new computation
    forced = run_study("main_results", results_root=res, rerun=True, **MAIN)
    assert _cells(forced) == {"computed": _cells(first)["computed"], "reused": 0}
    np.testing.assert_array_equal(forced["psnr"].values, first["psnr"].values)


@pytest.mark.slow  # a study run three times end to end
def test_a_changed_knob_recomputes_only_what_it_changes(tmp_path, ckpts):
    res = tmp_path / "results"
    run_study("main_results", results_root=res, **MAIN)
    both = run_study("main_results", results_root=res, **{**MAIN, "methods": ["ddim", "edm"]})
    assert _cells(both)["reused"] >= 1 and _cells(both)["computed"] >= 1  # ddim shared, edm new
    assert list(both["method"].values) == ["ddim", "edm"]


@pytest.mark.slow  # trains a model and runs a study twice
def test_retrained_weights_under_the_same_name_recompute(tmp_path, ckpts):
    """The stale-numbers bug: same checkpoint folder name, other weights -> the next run must not reuse anything."""
    res = tmp_path / "results"
    before = run_study("main_results", results_root=res, **MAIN)
    folder = Path(json.loads(before.attrs["checkpoints"])["eps"])
    assert folder.parent == ckpts
    for f in folder.glob("*.safetensors"):
        w = load_file(str(f))
        save_file({k: (v + 0.05 if v.is_floating_point() else v) for k, v in w.items()}, str(f))
    write_weight_hashes(folder)  # as a retraining records its new weights' hashes
    after = run_study("main_results", results_root=res, **MAIN)
    assert _cells(after)["reused"] == 0 and _cells(after)["computed"] > 0
    assert not np.allclose(after["psnr"].values, before["psnr"].values)


@pytest.mark.slow  # trains, ships and runs a study twice
def test_weights_shipped_anew_under_the_same_name_recompute_where_no_checkpoint_is_installed(tmp_path, ckpts,
                                                                                             monkeypatch, capsys):
    """A model retrained and shipped (data/weights) under the same configuration, read on a machine with no installed
    checkpoint: the stored results name the folder, its shipped form is installed to check them, and only other
    weights make them stale (the same shipped weights reuse them)."""
    import shutil

    from spectral_collapse.train import shipped

    monkeypatch.setattr(shipped, "SHIPPED_ROOT", str(tmp_path / "weights"))
    res = tmp_path / "results"
    first = run_study("main_results", results_root=res, **MAIN)
    folder = Path(json.loads(first.attrs["checkpoints"])["eps"])
    shipped.export(folder)  # the numbers now come from the shipped (float16) form
    shipped_form = run_study("main_results", results_root=res, **MAIN)
    shutil.rmtree(folder)
    capsys.readouterr()
    same = run_study("main_results", results_root=res, **MAIN)
    assert (folder / "DONE").exists() and "stale" not in capsys.readouterr().out
    assert same.attrs["created"] == shipped_form.attrs["created"]  # the same weights: the stored file is reused
    for f in folder.glob("*.safetensors"):  # retrained: other weights, shipped under the same folder name
        w = load_file(str(f))
        save_file({k: (v + 0.05 if v.is_floating_point() else v) for k, v in w.items()}, str(f))
    write_weight_hashes(folder)
    shipped.export(folder)
    shutil.rmtree(folder)
    after = run_study("main_results", results_root=res, **MAIN)
    assert f"stored results are stale (the weights in {folder} changed)" in capsys.readouterr().out
    assert _cells(after)["computed"] > 0
    assert not np.allclose(after["psnr"].values, same["psnr"].values)


def test_changed_data_recomputes(tmp_path, ckpts):
    """Same dataset name and options, other arrays (a user's folder edited in place) -> new cells, never the old."""
    from dataclasses import replace

    from spectral_collapse.data import DATASETS

    edited = dict(flip=False)

    def builder(*, size, factor, **kw):
        d = load_dataset("ihc-sr", size=size, factor=factor)
        return replace(d, test_source=torch.flip(d.test_source, dims=(-1,))) if edited["flip"] else d

    register_dataset("ihc-sr-editable", builder)
    kw = {**MAIN, "dataset": "ihc-sr-editable", "cache_root": tmp_path / "cells"}
    try:
        first = run_study("main_results", results_root=tmp_path / "a", **kw)
        same = run_study("main_results", results_root=tmp_path / "b", **kw)
        assert _cells(same)["computed"] == 0  # unchanged data: every cell reused
        edited["flip"] = True
        after = run_study("main_results", results_root=tmp_path / "c", **kw)
    finally:
        DATASETS.pop("ihc-sr-editable", None)
    arms = 1 + len(json.loads(after.attrs.get("arms", "[]")))   # the trained models' and the oracle's
    assert _cells(after)["reused"] <= arms and _cells(after)["computed"] >= 1  # only each arm's samples from noise
    assert not np.allclose(after["images"].values, first["images"].values)


def test_the_pareto_choice_is_an_explicit_recorded_input(tmp_path, ckpts):
    res = tmp_path / "results"
    alone = run_study("main_results", results_root=res, **MAIN)
    ovg_alone = json.loads(alone.attrs["spec"])["inputs"]["pareto"]
    assert "no Pareto sweep stored" in ovg_alone["source"]
    sweep = run_study("pareto", results_root=res, dataset="ihc-sr", profile="smoke", n_images=2, bases=["ovg"],
                      baselines=["ddim"], eta_hf=[1e-7], eta_lf=[1e-3, 1e-2])
    choice = json.loads(sweep.attrs["choices"])["ovg"]
    main = run_study("main_results", results_root=res, **{**MAIN, "methods": ["ddim", "ovg"]})
    recorded = json.loads(main.attrs["spec"])["inputs"]["pareto"]
    assert (recorded["eta_hf"], recorded["eta_lf"]) == (choice["eta_hf"], choice["eta_lf"])
    assert json.loads(main.attrs["ovg"])["eta_lf"] == choice["eta_lf"]
    assert "Pareto sweep" in recorded["source"]


def test_every_read_names_a_study_and_the_graph_has_no_cycle():
    for s in STUDIES.values():
        assert all(r in STUDIES for r in s.reads), s.name
    seen, order = set(), []

    def visit(name, stack=()):
        assert name not in stack, f"cycle through {stack}"
        for r in STUDIES[name].reads:
            visit(r, (*stack, name))
        if name not in seen:
            seen.add(name)
            order.append(name)

    for name in STUDIES:
        visit(name)
    assert order.index("pareto") < order.index("main_results") < order.index("metric_validation")


def test_spec_parses_papermill_strings_once_and_rejects_bad_values():
    s = study_spec("decorrelation", dataset="ihc-sr", profile="smoke", seeds="[0, 2]", steps_grid="4,8")
    assert s["seeds"] == [0, 2] and s["steps_grid"] == [4, 8]
    assert s.key() == study_spec("decorrelation", dataset="ihc-sr", profile="smoke", seeds=[0, 2],
                                 steps_grid=(4, 8)).key()
    for bad, match in ((dict(seeds="[1.7]"), "whole number"), (dict(seeds=True), "whole number"),
                       (dict(n_latents=0), ">= 2"), (dict(steps_grid="[0]"), ">= 2"), (dict(datset="x"), "datset"),
                       (dict(profile="tiny"), "valid profiles")):
        with pytest.raises((TypeError, ValueError), match=match):
            study_spec("decorrelation", **{"dataset": "ihc-sr", "profile": "smoke", **bad})


def test_a_dataset_named_like_a_task_behaves_as_the_task_it_declares(tmp_path, ckpts):
    """'my-sr-edges' declared generic: no SR factor in the checkpoint name, S_LF without the edge-map handling."""
    from spectral_collapse.framework.controls import scoring_settings

    register_dataset("my-sr-edges", lambda *, size, factor, **kw: load_dataset("ihc-sr", size=size, factor=factor,
                                                                                task=Task("generic")))
    try:
        data = models_mod.dataset_for("smoke", "my-sr-edges")
        assert data.task == Task("generic")
        assert scoring_settings(data)["edges"] is False
        tm = models_mod.trained_model("smoke", "my-sr-edges", "eps", progress=False)
        assert tm.path.name.startswith("my-sr-edges-eps-smoke-")  # not "-x4", not an edge model
        edges = models_mod.dataset_for("smoke", "ihc-edges")
        assert scoring_settings(edges)["edges"] is True
    finally:
        from spectral_collapse.data import DATASETS
        DATASETS.pop("my-sr-edges", None)


def test_two_identical_studies_started_together_both_finish_identically(tmp_path, ckpts):
    """Two processes run the same study on one results folder at once (shared cells, same results file)."""
    models_mod.trained_model("smoke", "ihc-sr", "eps", progress=False)  # trained once before, as the main command does
    res = tmp_path / "results"
    script = textwrap.dedent(f"""
        import sys, json, warnings
        warnings.simplefilter("ignore")
        from spectral_collapse.pipeline.runner import run_study
        ds = run_study("main_results", results_root={str(res)!r}, dataset="ihc-sr", profile="smoke",
                       methods=["ddim", "taba"], seeds=[0, 1])
        import numpy as np
        np.save(sys.argv[1], ds["psnr"].values)
    """)
    env = {**os.environ, "SPECTRAL_COLLAPSE_CHECKPOINTS": str(ckpts), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / f"out{i}.npy")], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(outs)
    a, b = (np.load(tmp_path / f"out{i}.npy") for i in range(2))
    np.testing.assert_array_equal(a, b)
    stored = run_study("main_results", results_root=res, dataset="ihc-sr", profile="smoke", methods=["ddim", "taba"],
                       seeds=[0, 1])
    np.testing.assert_array_equal(stored["psnr"].values, a)
    assert not list(res.rglob("*.tmp"))  # no temporary file left behind


def test_a_changed_metric_setting_recomputes_the_results(tmp_path):
    """The filter cutoffs of the metric validation are a metric setting: new ones give new numbers, not the stored."""
    res = tmp_path / "results"
    one = run_study("metric_validation", dataset="ihc-sr", profile="smoke", results_root=res, kappas=[0.2], n_real=8)
    two = run_study("metric_validation", dataset="ihc-sr", profile="smoke", results_root=res, kappas=[0.2, 0.6],
                    n_real=8)
    assert one.sizes["kappa"] == 1 and two.sizes["kappa"] == 2 and one.attrs["results_key"] != two.attrs["results_key"]
    np.testing.assert_allclose(two["filtered_s_hf"].sel(kappa=0.2).values, one["filtered_s_hf"].sel(kappa=0.2).values)
    again = run_study("metric_validation", dataset="ihc-sr", profile="smoke", results_root=res, kappas=[0.2, 0.6],
                      n_real=8)
    assert again.attrs["created"] == two.attrs["created"]  # the same setting is read back, not recomputed


def test_a_profile_edit_makes_stored_results_stale(tmp_path, ckpts, monkeypatch, capsys):
    """Results are keyed by the profile's resolved values, not its name: fewer test crops or another training seed
    in the profile recompute (and train the model the new seed asks for), and the run says which value changed."""
    from dataclasses import replace

    from spectral_collapse.framework import profiles

    res = tmp_path / "results"
    first = run_study("main_results", results_root=res, **MAIN)
    smoke = profiles.PROFILES["smoke"]
    monkeypatch.setitem(profiles.PROFILES, "smoke", replace(smoke, n_test=6))
    capsys.readouterr()
    fewer = run_study("main_results", results_root=res, **MAIN)
    assert fewer.attrs["results_key"] != first.attrs["results_key"] and fewer.sizes["sample"] == 6
    said = capsys.readouterr().out
    assert "stored results are stale (changed: profile n_test); recomputing them" in said, said
    monkeypatch.setitem(profiles.PROFILES, "smoke", replace(smoke, train_eps=replace(smoke.train_eps, seed=1)))
    reseeded = run_study("main_results", results_root=res, **MAIN)
    assert reseeded.attrs["results_key"] != first.attrs["results_key"]
    said = capsys.readouterr().out
    assert "profile train_eps.seed, profile derived." in said and re.search(r", \d+ more\); recomputing", said), said
    trained = sorted(p.name for p in ckpts.glob("ihc-sr-x4-eps-smoke-*"))
    assert len(trained) == 2                           # the model of the new seed was trained


@pytest.mark.parametrize("damage", ["flip", "delete-record"])
def test_damaged_weights_make_stored_results_stale_and_are_named(tmp_path, ckpts, damage, capsys):
    """Stored results are not served from weights whose bytes changed (or lost their hash record): the run says
    so, and the next computation names the damaged checkpoint instead of loading it."""
    from spectral_collapse.train.cache import HASH_FILE, CheckpointCorrupt

    res = tmp_path / "results"
    run_study("main_results", results_root=res, **MAIN)
    ck = next(ckpts.glob("ihc-sr-x4-eps-smoke-*"))
    ema = ck / "ema.safetensors"
    if damage == "flip":
        raw = bytearray(ema.read_bytes())
        raw[-10] ^= 0x01
        ema.write_bytes(bytes(raw))
    else:
        (ck / HASH_FILE).unlink()
    capsys.readouterr()
    with pytest.raises(CheckpointCorrupt, match=rf"{ck}"):
        run_study("main_results", results_root=res, **MAIN)
    assert f"stored results are stale (the weights in {ck} changed); recomputing them" in capsys.readouterr().out


def test_every_resolved_profile_value_is_in_the_results_key(monkeypatch):
    """Not only the profile's name: sample counts, inversion steps, training settings of each model and the
    autoencoder's all enter a study's key (the cheap check beside the end-to-end one above)."""
    from dataclasses import replace

    from spectral_collapse.framework import profiles

    smoke = profiles.PROFILES["smoke"]
    base = study_spec("main_results", **MAIN).key()
    for change in ({"n_test": 6}, {"steps": 4}, {"seeds": (0,)}, {"gate_samples": 8},
                   {"train_eps": replace(smoke.train_eps, seed=1)}, {"train_edm": replace(smoke.train_edm, lr=1e-3)},
                   {"train_vae": replace(smoke.train_vae, steps=21)}, {"sigma_data": 0.6}):
        monkeypatch.setitem(profiles.PROFILES, "smoke", replace(smoke, **change))
        assert study_spec("main_results", **MAIN).key() != base, change
    monkeypatch.setitem(profiles.PROFILES, "smoke", smoke)
    assert study_spec("main_results", **MAIN).key() == base


def test_how_a_profile_derives_its_training_configs_is_in_the_results_key(monkeypatch):
    """The configs a profile derives (which objectives get truncated-SNR weighting, the paper's Table 7 overrides)
    enter the key too: changing the derivation, with no profile field edited, makes stored results stale."""
    from dataclasses import replace

    from spectral_collapse.framework import profiles

    base = study_spec("main_results", **MAIN).key()
    derive = profiles.Profile.train_config

    def without_weighting(self, parameterization, dataset=None, **kw):
        return replace(derive(self, parameterization, dataset, **kw), truncated_snr=False, grad_clip=0.5)

    monkeypatch.setattr(profiles.Profile, "train_config", without_weighting)
    assert study_spec("main_results", **MAIN).key() != base
    monkeypatch.setattr(profiles.Profile, "train_config", derive)
    assert study_spec("main_results", **MAIN).key() == base


def test_the_bundled_data_as_built_is_in_the_results_key(monkeypatch):
    """A change to the bundled crops (the image or the code that cuts them), with no spec or profile edit, makes
    stored results stale: the key holds a digest of the crops themselves."""
    from dataclasses import replace as dc_replace

    from spectral_collapse.data.unpaired import DATASETS
    from spectral_collapse.pipeline.runner import resolve_inputs

    def key():
        from spectral_collapse.framework import content

        content._bundled_digest.cache_clear()
        return resolve_inputs(study_spec("main_results", **MAIN))[0].key()

    base = key()
    build = DATASETS["ihc-sr"]

    def altered(**kw):
        d = build(**kw)
        target = d.target.clone()
        target[0, 0, 0, 0] += 0.5
        return dc_replace(d, target=target)

    monkeypatch.setitem(DATASETS, "ihc-sr", altered)
    assert key() != base
    monkeypatch.setitem(DATASETS, "ihc-sr", build)
    assert key() == base


def test_a_users_diffusers_folder_is_keyed_by_its_files_not_called_damaged(tmp_path):
    """The suite's checkpoints carry a weights.sha256.json; a folder with weights but no record is damaged. A
    diffusers model folder of a user's pipeline has no record by design: no digest (its files key the study)."""
    from spectral_collapse.models.examples import save_example
    from spectral_collapse.train.cache import DAMAGED, checkpoint_digest

    unet = save_example("ddpm", tmp_path / "pipe") / "unet"
    assert checkpoint_digest(unet) is None
    ours = tmp_path / "ours"
    ours.mkdir()
    save_file({"w": torch.ones(2)}, str(ours / "ema.safetensors"))
    assert checkpoint_digest(ours) == DAMAGED
    write_weight_hashes(ours)
    good = checkpoint_digest(ours)
    assert good not in (None, DAMAGED)
    save_file({"w": torch.zeros(2)}, str(ours / "ema.safetensors"))
    assert checkpoint_digest(ours) == DAMAGED


def test_a_chapter_hides_the_warnings_a_run_hands_on_and_keeps_them_in_its_run_notes(tmp_path, monkeypatch):
    """run_study hands a study's warnings on to its caller as ``pipeline.runner``'s: a script sees them, a chapter
    (``setup_notebook``'s filters) does not, and both find them in the results' run_warnings (its run notes)."""
    import dataclasses
    import warnings

    import xarray as xr

    from spectral_collapse.pipeline.notebook import setup_notebook

    from spectral_collapse.studies import main_results

    def warns(spec, ctx):   # a warning of the suite's own code, as a study's computation raises it
        warnings.warn_explicit("3 of 16 test crops failed", RuntimeWarning, main_results.__file__, 1)
        return xr.Dataset({"x": ("i", np.arange(3.0))}, attrs={"study": "velocity"})

    monkeypatch.setitem(STUDIES, "velocity", dataclasses.replace(STUDIES["velocity"], run=warns))
    monkeypatch.chdir(ROOT)
    for chapter in (False, True):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            if chapter:
                setup_notebook()
            ds = run_study("velocity", dataset="ihc-sr", profile="smoke", results_root=tmp_path / str(chapter),
                           rerun=True)
        assert json.loads(ds.attrs["run_warnings"]) == ["3 of 16 test crops failed"]
        assert [str(w.message) for w in seen if "crops failed" in str(w.message)] == ([] if chapter else
                                                                                      ["3 of 16 test crops failed"])
