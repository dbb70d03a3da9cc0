"""What a chapter tells its reader is said in words: no file paths, hashes, exception text, internal field names or
constant names; every number and list it gives fits the unit it names; what it claims about a method holds."""
from __future__ import annotations

import json
import re
import urllib.error
import warnings
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from spectral_collapse.pipeline.notebook import failure_notes, parameters_table, run_notes
from spectral_collapse.report.settings import model_name, readable, settings_table
from spectral_collapse.studies import registry

ROOT = Path(__file__).resolve().parents[1]
HASH = re.compile(r"\b[0-9a-f]{12,}\b")
INTERNAL = re.compile(r"Translation\.|nonfinite_step|OVG_DEFAULTS|\(failed, failure\)|URLError|urlopen|Errno|"
                      r"[\w-]+\.(pth|pt)\b|~/|/tmp|https?://")


# ----------------------------------------------------------------------------------- weights not available offline

def test_a_missing_metric_network_is_said_once_in_words_with_how_to_enable_it(monkeypatch, tmp_path):
    """The stored reason names files, folders, an address and the exception; the page's sentence names none of
    them, says the weights are not available offline, and how to enable them."""
    from spectral_collapse.data.download import OFFLINE_ENV
    from spectral_collapse.metrics import weights as W

    def fail(url, dst, hash_prefix=None, progress=True):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", fail)
    lp = W.ensure_weights(W.hub_checkpoint(W.ALEXNET_FILE), W.ALEXNET_URL, name="LPIPS AlexNet backbone",
                          allow_download=True).reason
    fid = W.ensure_weights(tmp_path / W.INCEPTION_FILE, W.INCEPTION_URL, name="clean-fid Inception",
                           allow_download=False).reason
    assert W.ALEXNET_FILE in lp and "URLError" in lp            # the reason keeps what a maintainer needs
    for status in (lp, fid):
        words = W.plain_status(status)
        assert words.startswith("not computed") and "not available offline" in words
        assert not INTERNAL.search(words) and str(tmp_path) not in words, words
    note = W.offline_note({"LPIPS": lp, "FID / KID": fid, "MS-SSIM": "ok: computed"})
    assert note.count("not available offline") == 1 and "LPIPS and FID / KID are not computed" in note
    assert OFFLINE_ENV in note and "MS-SSIM" not in note
    assert not INTERNAL.search(note) and str(tmp_path) not in note, note
    assert W.offline_note({"LPIPS": "ok: LPIPS AlexNet backbone from /x"}) == ""
    assert W.plain_status("not computed: the main results have no ground truth") == \
        "not computed: the main results have no ground truth"


# ------------------------------------------------------------------------------------------------ settings tables

def _schedule_ds():
    from spectral_collapse.studies.schedule import schedule_set

    sig = np.linspace(0.0, 13.0, 13)      # 12 steps
    attrs = {"study": "ovg_schedule", "steps": 12, "sigmas": json.dumps(sig.tolist()),
             "cost": "backward_passes = 2 ...; time_ratio = ..., same run, best of 1"}
    scheds = schedule_set(["low", "mid", "every_4"], sig)
    stored = {}
    for name, g in scheds.items():
        steps = g.guided_steps(sig)
        stored[name] = {"schedule": {"sigma_min": 0.0, "sigma_max": None, "every": g.every, "reason": ""},
                        "guided_steps": steps, "sigma_range": [float(sig[steps[0]]), float(sig[steps[-1] + 1])]}
    attrs["schedules"] = json.dumps(stored)
    return xr.Dataset(attrs=attrs), stored


def test_settings_values_never_end_in_an_empty_assignment_nor_show_null():
    t = settings_table(xr.Dataset(attrs={"ms_ssim_config": json.dumps({"scales": 3, "min_size": 25, "reason": ""}),
                                         "arm": json.dumps({"space": "pixel", "latent_space": "null"})}),
                       ("ms_ssim_config", "arm"), extra={"arm latent": {"vae": "trained", "latent_space": None}})
    for value in t["value"]:
        assert not value.rstrip().endswith("=") and "null" not in value and "= —" not in value, value
    assert t.loc["ms_ssim_config", "value"].startswith("3 scales: ") and "at least 25 px" in t.loc["ms_ssim_config",
                                                                                                      "value"]
    assert readable("") == "—" and readable({"a": ""}) == "—"


def test_schedule_settings_name_the_guided_steps_and_one_sigma_range_each():
    from spectral_collapse.studies.schedule import TIMING_ROUNDS

    ds, stored = _schedule_ds()
    t = settings_table(ds, ("schedules", "cost"))
    text = t.loc["schedules", "value"]
    assert "sigma_max" not in text and "sigma_range" not in text and "fraction" not in text
    from spectral_collapse.studies.schedule import schedule_name

    for name, s in stored.items():   # each schedule by its name in prose ("every 4th step"), not its key
        part = next(p for p in text.split("; ") if p.startswith(f"{schedule_name(name).removeprefix('the ')}:"))
        steps = s["guided_steps"]
        assert f"({len(steps)} of 12)" in part and str(steps[0]) in part and str(steps[-1]) in part
        lo, hi = s["sigma_range"]
        assert part.endswith(f"σ {readable(lo)} to {readable(hi)}"), part   # one range, the stored one
    assert "every_4" not in text and text.count("every 4th step") == 1
    assert t.loc["cost", "value"].endswith(f"best of {TIMING_ROUNDS} interleaved rounds")


def test_models_show_their_names_and_where_the_weights_ship_not_paths_or_hashes(tmp_path, monkeypatch):
    from spectral_collapse.train import shipped

    monkeypatch.setattr(shipped, "SHIPPED_ROOT", str(tmp_path))
    ckpts = {"eps": "data/checkpoints/ihc-sr-x4-eps-quick-7e26214ebd7e",
             "edm": "data/checkpoints/ihc-sr-x4-edm-quick-42f07df621da"}
    for p in ckpts.values():
        (tmp_path / Path(p).name).mkdir()
    ds = xr.Dataset(attrs={"checkpoints": json.dumps(ckpts), "latent": json.dumps(
        {"vae": "trained", "checkpoint": "ihc-sr-x4-vae-quick-9d507a11fdad"})})
    t = settings_table(ds, ("checkpoints", "latent"))
    shown = " ".join(t["value"])
    assert not HASH.search(shown) and "data/checkpoints" not in shown, shown
    assert t.loc["checkpoints", "value"] == ("ε-prediction: ihc-sr-x4-eps-quick; EDM: ihc-sr-x4-edm-quick "
                                             "(trained weights shipped in data/weights)")
    assert "checkpoint ihc-sr-x4-vae-quick" in t.loc["latent", "value"]   # "key value" in words
    assert model_name("my/own-model") == "my/own-model"


def test_the_suite_run_from_its_source_tree_records_and_shows_its_version(monkeypatch):
    import spectral_collapse
    from spectral_collapse.studies import store

    version = re.search(r'(?m)^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    assert spectral_collapse.__version__ == version

    real = store.metadata.version

    def missing(name):
        if name == "spectral-collapse":
            raise store.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(store.metadata, "version", missing)
    versions = json.loads(store.provenance()["versions"])
    assert versions["spectral-collapse"].startswith(version) and "not installed" not in versions["spectral-collapse"]
    old = xr.Dataset(attrs={"versions": json.dumps({"spectral-collapse": "not installed", "torch": "2.1"})})
    shown = settings_table(old, ()).loc["package versions", "value"]
    assert shown.startswith("this suite (run from a source checkout, not an installed release: its version was not recorded") and shown.endswith("), torch 2.1")
    assert "spectral-collapse" not in shown


# ------------------------------------------------------------------------------------------------ parameter tables

def test_parameter_rows_show_the_values_used_not_only_the_word_default():
    from spectral_collapse.studies.profiles import get_profile

    spec = json.loads(registry.study_spec("main_results", dataset="ihc-sr", profile="quick").with_inputs(
        data="294377dc42e2f5be", main_results="ab" * 32).to_json())
    ds = xr.Dataset({"failed": (("method", "seed", "sample"), np.zeros((2, 3, 4), bool))},
                    coords={"method": ["ddim", "ovg"], "seed": [0, 1, 2]},
                    attrs={"task": json.dumps({"kind": "sr", "factor": 4}),
                           "checkpoints": json.dumps({"eps": "data/checkpoints/ihc-sr-x4-eps-quick-7e26214ebd7e"}),
                           "model_gate": json.dumps({"ihc-sr-x4-eps-quick-7e26214ebd7e": {"passed": True}})})
    table = parameters_table(spec, ds)
    rows = dict(line.strip("|").split(" | ", 1) for line in table.splitlines()[2:])
    rows = {k.strip(): v.strip() for k, v in rows.items()}
    assert not [k for k, v in rows.items() if v.startswith("default")], rows
    assert not HASH.search(table), table
    assert "ihc-sr-x4-eps-quick" in rows["model"] and "task sr, factor 4" in rows["data_options"]
    # the profile's rule, from the profile, naming only the allowed models this chapter uses (none here)
    assert not [n for n in get_profile("quick").allow_weak_models if n in rows["allow_weak_model"]]
    assert "refuse" in rows["allow_weak_model"] and "quick and paper refuse" not in table
    assert rows["from data"].startswith("the ihc-sr images") and "ihc-sr, quick" in rows["from main_results"]


def test_the_weak_model_help_follows_the_profiles():
    import subprocess
    import sys

    from spectral_collapse.studies.gate import weak_model_rule
    from spectral_collapse.studies.profiles import PROFILES, get_profile

    help_text = subprocess.run([sys.executable, "-m", "spectral_collapse.cli", "studies", "--help"],
                               capture_output=True, text=True, cwd=ROOT, timeout=300).stdout
    flat = " ".join(help_text.split())
    for p in PROFILES:
        rule = get_profile(p).allow_weak_models
        text = weak_model_rule(p)
        if isinstance(rule, (tuple, list)):
            assert all(n in text and n in flat for n in rule)
        else:
            assert text.startswith("runs a study on every model" if rule else "refuses every")
    assert "quick and paper refuse" not in flat


def test_ovg_defaults_are_named_in_words():
    from spectral_collapse.studies.pareto import ovg_choice

    spec = registry.study_spec("main_results", dataset="ihc-sr", profile="smoke")
    source = ovg_choice(None, spec)["source"]
    assert source.startswith("defaults") and "OVG_DEFAULTS" not in source and "no Pareto sweep stored" in source


# ------------------------------------------------------------------------------------------------ failure notes

def _failures(n_per=16, seeds=(0, 1, 2)):
    rng = np.random.default_rng(3)
    failed = rng.random((2, len(seeds), n_per)) < 0.3
    failed[0] = False
    failure = np.where(failed, "output_range", "")
    failure[1, 0, np.flatnonzero(failed[1, 0])[:1]] = "nonfinite"
    return xr.Dataset({"failed": (("method", "seed", "sample"), failed),
                       "failure": (("method", "seed", "sample"), failure)},
                      coords={"method": ["ddim", "bdia"], "seed": list(seeds), "sample": np.arange(n_per)})


def test_failure_notes_count_within_the_unit_and_number_crops_as_the_chapter_does():
    ds = _failures()
    failed = ds["failed"].sel({"method": "bdia"}).values
    stored = [f"bdia, seed 0: test samples {list(range(0, 48, 3))} failed ("
              + ", ".join(["output_range"] * 16) + "; 50 steps each way); they are marked (failed, failure) and left "
              "out of the tables' means",
              "16 of 16 samples became non-finite during translation (sample in this batch at step; steps 0-49 "
              "invert, 50-99 sample): 0 at step 4 ...; they are marked in Translation.nonfinite_step"]
    text = run_notes({"run_warnings": json.dumps(stored)}, ds)
    assert not INTERNAL.search(text) and "test samples [" not in text, text
    line = next(x for x in text.splitlines() if x.strip().startswith("- bdia"))
    assert f"{int(failed.sum())} of {failed.size} test crops failed" in line
    k_nonfinite = 1
    assert f"output beyond ±5 in {int(failed.sum()) - k_nonfinite}" in line and "non-finite values in 1" in line
    assert line.count("output beyond") == 1                       # a repeated reason once, with its count
    for s, row in zip(ds["seed"].values, failed):
        if not row.any():
            continue
        crops = [int(c) for c in re.search(rf"seed {s}: (\d+) of (\d+), crops? ([\d, ]+)", line).group(3).split(", ")]
        assert crops == [int(i) + 1 for i in np.flatnonzero(row)]   # 1-based positions within the seed
        assert max(crops) <= row.size and len(crops) <= row.size
    assert "ddim" not in text                                       # nothing failed there
    assert failure_notes(xr.Dataset()) == []


def test_loop_notes_without_a_results_table_become_one_sentence_naming_the_sweep():
    stored = [f"12 of 12 samples became non-finite during translation (sample in this batch at step; steps 0-49 "
              f"invert, 50-99 sample): 0 at step {s}, 1 at step {s + 1} ...; they are marked in "
              f"Translation.nonfinite_step" for s in (4, 37)]
    attrs = {"run_warnings": json.dumps(stored), "ovg_tuning": json.dumps(
        {"n_images": 12, "choice": {"eta_hf": 1e-8, "eta_lf": 0.1}})}
    ds = xr.Dataset({"failed": (("method", "sample"), np.zeros((1, 4), bool)),
                     "failure": (("method", "sample"), np.full((1, 4), ""))}, coords={"method": ["ovg"]})
    text = run_notes(attrs, ds)
    assert text.count("\n- ") == 1 and "2 grid points" in text and "inversion steps 37 to 38 of 50" in text
    assert "inversion step 4 to" not in text and "(eta_hf 10⁻⁸, eta_lf 10⁻¹)" in text
    assert not INTERNAL.search(text), text


def test_null_class_note_says_what_the_baseline_is_at_w_1_and_that_holds():
    """At w = 1 Null-Class gives DirectInversion's translation (the pivot inversion with the destination time
    label, then plain sampling), not DDIM's: the note says so in words, and the stored old note is replaced."""
    from test_baselines import EmbeddedOracle

    from spectral_collapse.inversion import Euler, default_sigmas, translate
    from spectral_collapse.inversion.methods import DirectInversion, NullClass
    from spectral_collapse.inversion.methods.null_class import W1_NOTE
    from spectral_collapse.models.denoisers import make_denoiser

    D = make_denoiser(EmbeddedOracle(), "eps")
    x0 = torch.randn(2, 2, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.5
    sig = default_sigmas(D, 6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nc = translate(D, x0, NullClass(), sigmas=sig)
    assert [str(w.message) for w in caught if issubclass(w.category, UserWarning)] == [W1_NOTE]
    di = translate(D, x0, DirectInversion(), sigmas=sig)
    ddim = translate(D, x0, Euler(), sigmas=sig)
    torch.testing.assert_close(nc.output, di.output, rtol=0, atol=0)
    assert not torch.allclose(nc.output, ddim.output)
    assert "DirectInversion" in W1_NOTE and "not the suite's DDIM" in W1_NOTE
    assert "cfg_scale" not in W1_NOTE and "NullClass(" not in W1_NOTE
    old = ("null_class at guidance scale w = 1: the null embedding does not enter the guided prediction, its gradient "
           "is exactly zero and Null-Class reduces to DDIM inversion; pass cfg_scale > 1 (or "
           "NullClass(guidance_scale=...)) to optimise it")
    text = run_notes({"run_warnings": json.dumps([old])})
    assert W1_NOTE in text and "reduces to DDIM" not in text


# ------------------------------------------------------------------------------------------------ glossary links

def test_glossary_links_reach_the_markdown_a_code_cell_displays(tmp_path):
    """A term first used in a displayed verdict or note is linked there (its first use on the page); a later
    markdown cell keeps the plain word; a hidden cell's output does not count."""
    import nbformat

    from spectral_collapse.pipeline.chapters import link_glossary

    glossary = tmp_path / "glossary.md"
    glossary.write_text("# Glossary\n\n```{glossary}\nTABA\n  a method.\n\nOVG\n  guidance.\n```\n")
    hidden = nbformat.v4.new_code_cell("x", metadata={"tags": ["remove-cell"]})
    hidden.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": "OVG hidden"})]
    shown = nbformat.v4.new_code_cell("verdict()")
    shown.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": "TABA and OVG: `TABA` agrees.",
                                                                  "text/plain": "<Markdown>"})]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"), hidden, shown,
                                         nbformat.v4.new_markdown_cell("Later TABA and OVG.")])
    assert link_glossary(nb, glossary) == 2
    assert nb.cells[1].outputs[0]["data"]["text/markdown"] == "OVG hidden"
    assert nb.cells[2].outputs[0]["data"]["text/markdown"] == \
        "{term}`TABA <TABA>` and {term}`OVG <OVG>`: `TABA` agrees."
    assert nb.cells[3].source == "Later TABA and OVG."


def test_the_noise_samples_score_and_the_ks_p_value_are_named_in_words():
    from spectral_collapse.report.reader import reader_text

    out = reader_text("the eps model's noise_s_hf is 0.9 and ks_p is small")
    assert "noise_s_hf" not in out and "ks_p" not in out
    assert "of samples from noise" in out and "p-value" in out
