"""Your report: one command builds a book for a user's image folder and diffusers model in a folder of its own
(results, cell cache, chapters, pages, HTML), named by the content of the data, the model and the options, while
the project's own book/ and data/results/ stay as they are; OVG step sizes calibrated for a model no sweep has
seen; translate's warning on latents off the noise; progress bars, a quiet kernel and torch threads set on purpose."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch

from conftest import oracle_denoiser
from conftest import png_folder
from spectral_collapse.pipeline.report import build_report, report_content, report_name, report_plan
from spectral_collapse.studies import registry

ROOT = Path(__file__).resolve().parents[1]


def _images(root: Path, n: int = 12, size: int = 16, seed: int = 0) -> Path:
    return png_folder(root, n, size, seed)


def _pipeline(path: Path, seed: int = 0) -> str:
    """A tiny randomly initialised diffusers UNet2DModel + DDPMScheduler pipeline, saved as a user would."""
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    torch.manual_seed(seed)
    unet = UNet2DModel(sample_size=16, in_channels=3, out_channels=3, layers_per_block=1, block_out_channels=(16, 32),
                       down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                       norm_num_groups=8)
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler()).save_pretrained(path)
    return str(path)


def _latent_pipeline(path: Path, seed: int = 0) -> str:
    """A tiny latent pipeline: a UNet2DModel on 4-channel 8 x 8 latents and an AutoencoderKL that halves 16 px
    images (vae/), saved as a user would."""
    from diffusers import AutoencoderKL, DDPMPipeline, DDPMScheduler, UNet2DModel

    torch.manual_seed(seed)
    unet = UNet2DModel(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(16, 32),
                       down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                       norm_num_groups=8)
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler()).save_pretrained(path)
    AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16),
                  down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                  layers_per_block=1, norm_num_groups=4).save_pretrained(Path(path) / "vae")
    return str(path)


def _hashes(*folders: Path) -> dict:
    """{path: sha256} of every file under ``folders`` (what a report must not change), build output (``_build``,
    which the book tests write beside a report test) aside."""
    out = {}
    for folder in folders:
        for f in sorted(p for p in folder.rglob("*") if p.is_file() and "_build" not in p.relative_to(folder).parts):
            out[str(f.relative_to(ROOT))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


# ------------------------------------------------------------------------------------------- end to end

# Every study of a report on the smoke profile takes about 3 minutes on a busy 2-core machine (8 kernels and the
# HTML); the default suite builds a report of three of them (the sweep, the main results that read it, and the
# schedule study), the slow one builds them all.
FEW = ["pareto", "main_results", "ovg_schedule"]


@pytest.mark.parametrize("studies,kind", [(FEW, "pixel"), pytest.param(None, "pixel", marks=pytest.mark.slow),
                                           pytest.param(None, "latent", marks=pytest.mark.slow)],
                         ids=["three-studies", "all", "all-latent"])
def test_one_command_builds_a_report_in_its_own_folder_and_leaves_the_project_alone(tmp_path, studies, kind):
    """Every study that applies runs on the user's model, a pixel-space one or a latent one (vae/ folder)."""
    make = _latent_pipeline if kind == "latent" else _pipeline
    data, model, out = _images(tmp_path / "mine"), make(tmp_path / "my_ddpm"), tmp_path / "report"
    before = _hashes(ROOT / "book", ROOT / "data" / "results")
    t0 = time.time()
    done = subprocess.run([sys.executable, "-m", "spectral_collapse", "report", "--data", f"folder:{data}",
                           "--model", model, "--profile", "smoke", "--data-options", '{"task": "generic"}',
                           "--out", str(out), "--threads", "1", *(["--study", *studies] if studies else [])],
                          cwd=ROOT, capture_output=True, text=True)
    took = time.time() - t0
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    assert _hashes(ROOT / "book", ROOT / "data" / "results") == before  # the project's book and results as they were
    assert "without encryption" not in done.stdout + done.stderr        # the kernels' start-up log is not shown

    runs, why = report_plan(studies)
    record = json.loads((out / "report.json").read_text())
    assert record["failed"] == {} and record["skipped"] == []
    assert sorted(record["chapters"]) == sorted(runs)
    assert set(record["not_applicable"]) == set(registry.STUDIES) - set(report_plan()[0])
    intro = (out / "book" / "intro.md").read_text()
    for study, reason in why.items():  # every study that does not run says why, on the intro page
        assert f"| `{study}` | does not apply | {reason} |" in intro
    for study in runs:  # every study that applies ran on the user's model, into the report's own roots
        chapter = out / "book" / f"{record['chapters'][study]}.ipynb"
        params = json.loads(chapter.read_text())["metadata"]["spectral_collapse"]["params"]
        assert params["results_root"] == str(out / "results")
        if "model" in registry.get_study(study).params:
            assert params["model"] == model
    assert len(list((out / "results").glob("*/*.nc"))) == len(runs)
    assert any((out / "cache" / "cells").rglob("*.nc"))
    html = out / "book" / "_build" / "html"
    assert (html / "index.html").exists() and (html / "studies" / "model_quality.html").exists()
    assert all((html / f"{doc}.html").exists() for doc in record["chapters"].values())
    toc = (out / "book" / "_toc.yml").read_text()
    assert all(f"file: {doc}" in toc for doc in record["chapters"].values())
    again = subprocess.run([sys.executable, "-m", "spectral_collapse", "report", "--data", f"folder:{data}",
                            "--model", model, "--profile", "smoke", "--data-options", '{"task": "generic"}',
                            "--out", str(out), "--no-html", *(["--study", *studies] if studies else [])],
                           cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0 and "executing" not in again.stdout  # nothing changed: nothing executed again
    print(f"report of {len(runs)} studies built in {took:.0f} s")


# ------------------------------------------------------------------------------------------- the plan, the name

def test_every_study_either_runs_on_a_given_model_or_says_why_not():
    runs, why = report_plan()
    assert set(runs) | set(why) == set(registry.STUDIES) and not set(runs) & set(why)
    for s in runs:
        study = registry.get_study(s)
        assert study.run is not None and (study.takes_model or "model" not in study.params)
    assert "trains itself" in why["scale_factor"] and "model_quality" in why
    assert runs.index("pareto") < runs.index("main_results") < runs.index("metric_validation")  # what each reads first
    with pytest.raises(ValueError, match=r"study 'scale_factor' does not run in a report; the studies that do: pareto"):
        report_plan(["scale_factor"])


def test_the_folder_name_follows_the_content_of_the_data_the_model_and_the_options(tmp_path):
    data = f"folder:{_images(tmp_path / 'mine')}"
    a, b = _pipeline(tmp_path / "a"), _pipeline(tmp_path / "b", seed=1)

    def name(**knobs):
        return report_name(data, "smoke", knobs, report_content(data, "smoke", knobs))

    first = name(model=a)
    assert first.startswith("folder-mine--a-smoke-") and first == name(model=a)
    assert name(model=b) != first                                        # another model
    assert name(model=a, data_options={"task": "generic"}) != first      # other options
    _pipeline(tmp_path / "a", seed=3)                                    # the model retrained in place
    assert name(model=a) != first
    with pytest.raises(FileNotFoundError, match=r"model folder \S*nowhere does not exist"):
        name(model=str(tmp_path / "nowhere"))


def test_a_report_needs_a_model_and_a_folder_of_its_own(tmp_path):
    data = f"folder:{_images(tmp_path / 'mine')}"
    with pytest.raises(ValueError, match=r"a report needs exactly one of model"):
        build_report(data, profile="smoke", out=tmp_path / "r")
    model = _pipeline(tmp_path / "m")
    for inside in (ROOT / "book" / "mine", ROOT / "data", ROOT):
        with pytest.raises(ValueError, match=r"would write into the project's own \S*(book|data); pass --out"):
            build_report(data, model=model, profile="smoke", out=inside)


def test_a_failed_study_does_not_stop_the_report_and_is_named_on_its_intro(tmp_path, monkeypatch):
    """With keep_going the others run; the intro names the failure and what was skipped; the command fails."""
    from spectral_collapse.pipeline import execute

    calls = []

    def fake(study, ds, profile, *, book_dir=None, **kw):
        calls.append(study)
        if study == "pareto":
            raise ValueError("the sweep broke")
        out = Path(book_dir) / f"{study}.ipynb"
        out.write_text("{}")
        return out

    monkeypatch.setattr(execute, "execute_study", fake)
    monkeypatch.setattr(execute, "notebook_path", lambda study, ds, profile, root, book_dir=None:
                        Path(book_dir) / f"{study}.ipynb")
    data = f"folder:{_images(tmp_path / 'mine')}"
    with pytest.raises(execute.StudiesFailed, match=r"pareto/folder:\S+ \(ValueError: the sweep broke\)"):
        build_report(data, model=_pipeline(tmp_path / "m"), profile="smoke", out=tmp_path / "r", html=False,
                     studies=["pareto", "main_results", "metric_validation"])
    assert calls == ["pareto"]  # main_results reads pareto, metric_validation reads main_results: not started
    intro = (tmp_path / "r" / "book" / "intro.md").read_text()
    assert "| OVG step sizes: Pareto sweep | `pareto` | failed | `ValueError: the sweep broke` |" in intro
    assert "| Main results | `main_results` | not started | a study it reads failed |" in intro
    assert "$" not in intro.replace("$$", "")                    # every field of the template filled
    assert json.loads((tmp_path / "r" / "report.json").read_text())["failed"] == {"pareto": "ValueError: the sweep broke"}


# ------------------------------------------------------------------------------------------- OVG on a new model

def _oracle_user(std: float = 0.5):
    from spectral_collapse.framework.user_models import UserModels

    D = oracle_denoiser("eps", stds=(std, std, std))
    D.checkpoint = "oracle"
    return UserModels({"eps": D}, None, {"model": {"path": "oracle"}}, 16)


def test_a_new_model_without_a_sweep_gets_step_sizes_calibrated_on_validation_crops(monkeypatch):
    from spectral_collapse.data import load_dataset
    from spectral_collapse.studies import pareto_calibrate as calibrate, pareto
    from spectral_collapse.framework.cells import StudyContext
    from spectral_collapse.framework.splits import validation_indices

    data = load_dataset("ihc-sr", size=16, factor=4)
    seen = []
    real = pareto.pareto_results
    monkeypatch.setattr(pareto, "pareto_results", lambda ctx, d, *a, **kw: seen.append(kw) or real(ctx, d, *a, **kw))
    given = _oracle_user()
    spec = registry.study_spec("main_results", dataset="ihc-sr", profile="smoke", model="m")
    op = calibrate.ovg_for(spec, StudyContext(), given, data)
    assert "short calibration on 4 validation images of ihc-sr" in op["source"]
    assert "no Pareto sweep stored" in op["source"]                       # and why it was needed
    assert seen[0]["bases"] == ("ovg",) and seen[0]["baselines"] == () and seen[0]["n_images"] == 4
    from spectral_collapse.text import step_size

    grid = [v.strip() for v in op["source"].split("eta_hf [")[1].split("]")[0].split(",")]   # in the book's one form
    assert step_size(op["eta_hf"]) in grid and op["per_base"] == {"ovg": {"eta_hf": op["eta_hf"], "eta_lf": op["eta_lf"]}}
    idx, note = validation_indices(data.test_source.shape[0], 4, 8)
    assert "validation" in note and len(idx) == 4
    # a stored sweep for the same model is taken as it is; so are the defaults when no user model is given
    swept = spec.with_inputs(pareto={"eta_hf": 3e-7, "eta_lf": 2e-3, "per_base": {"ovg": {"eta_hf": 3e-7,
                                                                                        "eta_lf": 2e-3}},
                                     "source": "Pareto sweep"})
    assert calibrate.ovg_for(swept, StudyContext(), given, data)["eta_hf"] == 3e-7
    assert calibrate.ovg_for(spec, StudyContext(), None, data)["source"].startswith("defaults")
    assert len(seen) == 1


def test_translate_warns_in_one_line_when_latents_leave_the_noise():
    from spectral_collapse.inversion import OVG, Euler, translate
    from spectral_collapse.inversion.loop import NORM_RATIO_BOUND

    assert NORM_RATIO_BOUND == (0.5, 2.0)
    D = oracle_denoiser("eps", stds=(0.5, 0.5, 0.5))
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # data the model knows: ||x_T||^2/d near 1, no warning
        translate(D, x, Euler(), steps=8)
    with pytest.warns(RuntimeWarning) as caught:
        translate(D, x * 4, Euler(), steps=8)  # four times the spread the model knows
    msg = [str(w.message) for w in caught if "inverted latents" in str(w.message)]
    assert len(msg) == 1 and "\n" not in msg[0]
    assert msg[0].startswith("4 of 4 inverted latents have ||x_T||^2/d outside [0.5, 2] (noise gives 1): sample 0: ")
    with pytest.warns(RuntimeWarning, match=r"lower OVG's step sizes \(eta_hf, eta_lf\) for this model"):
        translate(D, x, Euler(), guidance=OVG(eta_hf=0.0, eta_lf=10.0), steps=8)  # an over-large step: far below 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        translate(D, x * 4, Euler(), steps=8, warn_norm=False)


# ------------------------------------------------------------------------------------------- progress, kernel, threads

def test_a_long_cell_draws_a_bar_naming_study_method_and_images_only_when_asked(monkeypatch, capsys):
    from spectral_collapse.inversion import Euler
    from spectral_collapse.framework import cells as progress
    from spectral_collapse.framework.cells import StudyContext, translate_cell
    from spectral_collapse.framework.method_labels import MethodSpec

    D = oracle_denoiser("eps")
    x = torch.randn(3, 3, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.5
    ms = MethodSpec("ddim", "eps", Euler())
    monkeypatch.delenv(progress.ENV, raising=False)
    with progress.running("main_results/mine"):
        translate_cell(StudyContext(), D, x, ms, seed=0, steps=4, batch_size=2)
    assert capsys.readouterr().err == ""  # not asked: library use stays silent
    monkeypatch.setenv(progress.ENV, "1")
    monkeypatch.setattr(progress, "DELAY_S", 0.0)
    with progress.running("main_results/mine"):
        translate_cell(StudyContext(), D, x, ms, seed=7, steps=4, batch_size=2)
    err = capsys.readouterr().err
    assert "main_results/mine · ddim seed 7" in err and "images 3/3" in err and "16/16" in err  # 2 batches x 2 x 4


def test_kernels_start_quietly_with_the_threads_the_command_chose(tmp_path, monkeypatch, capfd):
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from spectral_collapse.pipeline.execute import run_studies
    from spectral_collapse.pipeline.parallel import kernel_threads

    study = registry.Study("tiny", "Tiny", {}, run=lambda spec, ctx: None, datasets=("ihc-sr",))
    monkeypatch.setitem(registry.STUDIES, "tiny", study)
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = new_code_cell('dataset = "ihc-sr"\nprofile = "smoke"\nresults_root = "data/results"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [new_markdown_cell("# Tiny"), params, new_code_cell(
        "from pathlib import Path\nimport torch\nfrom spectral_collapse.pipeline.notebook import setup_notebook\n"
        "setup_notebook()\np = Path(results_root) / 'tiny' / f'{dataset}-{profile}.nc'\n"
        "p.parent.mkdir(parents=True, exist_ok=True)\np.write_text(str(torch.get_num_threads()))")]
    nbformat.write(nb, str(root / "notebooks" / "tiny.ipynb"))
    capfd.readouterr()
    run_studies("smoke", ["tiny"], ["ihc-sr"], root=root, results_root=str(tmp_path / "results"), threads=3,
                book_dir=tmp_path / "chapters")
    captured = capfd.readouterr()
    assert (tmp_path / "results" / "tiny" / "ihc-sr-smoke.nc").read_text() == "3"
    assert (tmp_path / "chapters" / "tiny-ihc-sr-smoke.ipynb").exists() and not (root / "book").exists()
    assert "without encryption" not in captured.out + captured.err and "tiny / ihc-sr / smoke: executed" in captured.out
    monkeypatch.setenv("SPECTRAL_COLLAPSE_THREADS", "2")
    assert kernel_threads(4) == 2
    monkeypatch.delenv("SPECTRAL_COLLAPSE_THREADS")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("spectral_collapse.pipeline.parallel.cpu_cores", lambda: 8)
    assert kernel_threads(4) == 2 and kernel_threads(1) == 8

