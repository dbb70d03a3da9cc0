"""Your images, your model (issue items 1 and 5; image limits of folder data): ``folder:<path>`` datasets with
``data_options`` through ``pipeline.runner.run_study``, test folders optional (no paired metrics without them), a
seeded test split, image limits read from the header, models keyed by the data's content, and studies run on a
user's diffusers model instead of a trained one."""
from __future__ import annotations

import json
import shutil
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from spectral_collapse.data import Task, check_dataset, dataset_key, load_dataset, load_folder
from spectral_collapse.pipeline.runner import run_study
from spectral_collapse.framework import model_set as models_mod
from spectral_collapse.framework import user_models as user_mod
from spectral_collapse.studies.registry import study_spec

SMOKE = dict(profile="smoke", seeds=[0], methods=["ddim", "ovg"])


def _save(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def _pools(root: Path, n: int = 10, size: int = 16, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for sub in ("source", "target"):
        for i in range(n):
            _save(root / sub / f"im{i:02d}.png", rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    return root


def _paired_tests(root: Path, classes=("a", "b"), per_class: int = 6, size: int = 16) -> Path:
    """Test pairs whose names sort by class; pair k holds the value k in both folders (to check the pairing)."""
    k = 0
    for c in classes:
        for i in range(per_class):
            _save(root / "test_source" / f"{c}_{i}.png", np.full((size, size, 3), 10 * k, np.uint8))
            _save(root / "test_target" / f"{c}_{i}.jpg", np.full((size, size, 3), 10 * k, np.uint8))
            k += 1
    return root


@pytest.fixture
def ckpts(tmp_path, monkeypatch):
    root = tmp_path / "ckpt"
    monkeypatch.setattr(models_mod, "CHECKPOINT_ROOT", str(root))
    return root


# ------------------------------------------------------------------------------- test split

def test_the_test_split_is_a_seeded_draw_not_the_first_names(tmp_path):
    root = _paired_tests(_pools(tmp_path))
    a = load_folder(root, size=16, seed=0)
    b = load_folder(root, size=16, seed=1)
    assert a.paired and sorted(a.meta["test_names"]) == sorted(f"{c}_{i}" for c in "ab" for i in range(6))
    assert a.meta["test_names"] != sorted(a.meta["test_names"])          # not in name order
    assert a.meta["test_names"] != b.meta["test_names"]                  # the seed decides
    assert a.meta["test_names"] == load_folder(root, size=16, seed=0).meta["test_names"]  # reproducible
    assert {n[0] for n in a.meta["test_names"][:4]} == {"a", "b"}        # the first four mix both classes
    torch.testing.assert_close(a.test_source, a.test_target, atol=0.02, rtol=0)  # pairs stay paired (jpeg)
    assert "seeded random order (seed 0)" in a.meta["test_split"]


def test_without_test_folders_there_is_no_ground_truth_and_no_error(tmp_path):
    root = _pools(tmp_path, n=10)
    d = load_folder(root, size=16, seed=2, test_fraction=0.3)
    assert not d.paired and d.test_source.shape == (3, 3, 16, 16)
    assert torch.isnan(d.test_target).all()
    assert d.meta["counts"] == {"source": 7, "target": 10, "test": 3}   # held out of the source pool
    src_files = sorted((root / "source").iterdir())
    held = [int(n[2:]) for n in d.meta["test_names"]]
    arrays = [torch.from_numpy(np.asarray(Image.open(src_files[i]), np.float32) / 127.5 - 1).permute(2, 0, 1)
              for i in held]
    torch.testing.assert_close(d.test_source, torch.stack(arrays), atol=1e-6, rtol=0)
    for x in d.test_source:  # none of them is in the training pool
        assert not any(torch.equal(x, y) for y in d.source)
    assert load_folder(root, size=16, seed=3, test_fraction=0.3).meta["test_names"] != d.meta["test_names"]
    assert "no paired metrics" in d.meta["test_split"] and not d.paired
    with pytest.raises(ValueError, match=r"found test_source .* but no test_target.*remove test_source/"):
        _save(root / "test_source" / "x.png", np.zeros((16, 16, 3), np.uint8))
        load_folder(root, size=16)


def test_one_source_image_is_used_as_its_own_test_input_with_a_warning(tmp_path):
    root = _pools(tmp_path, n=1)
    _save(root / "target" / "im01.png", np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8))
    with pytest.warns(UserWarning, match=r"holds 1 image\(s\): the test input stays in the training pool"):
        d = load_folder(root, size=16)
    assert len(d.source) == len(d.test_source) == 1


# ------------------------------------------------------------------------------- image limits

def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height but whose pixel data is a stub (a decompression-bomb shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
                     + chunk(b"IEND", b""))
    return path


def test_a_huge_header_is_refused_before_decoding_and_names_the_file(tmp_path, monkeypatch):
    root = _pools(tmp_path)
    _png_header_only(root / "target" / "bomb.png", 100_000, 100_000)
    decoded = []
    real_load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self) or real_load(self))
    with pytest.raises(ValueError, match=r"image .*target/bomb\.png is 100000 x 100000 = 10,000,000,000 pixels by "
                                         r"its header, over the limit of 16,777,216 \(max_pixels\); it was not decoded"):
        load_folder(root, size=16)
    assert decoded == []  # nothing was decoded: the check runs on the headers first
    with pytest.raises(ValueError, match=r"bomb\.png is 100000 x 100000"):
        load_folder(root, size=16, max_pixels=10 ** 6)


def test_one_8000_pixel_image_and_a_folder_over_the_total_budget_are_refused_before_decoding(tmp_path, monkeypatch):
    """One 8000 x 8000 PNG used to be accepted (3.8 GB, 23 s); many images each under the per-file limit add up."""
    root = _pools(tmp_path)
    _png_header_only(root / "target" / "slide.png", 8000, 8000)
    decoded = []
    real_load = Image.Image.load
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self) or real_load(self))
    with pytest.raises(ValueError, match=r"slide\.png is 8000 x 8000 = 64,000,000 pixels .* \(max_pixels\)"):
        load_folder(root, size=16)
    (root / "target" / "slide.png").unlink()
    for i in range(3):
        _png_header_only(root / "source" / f"tile{i}.png", 3000, 3000)
    with pytest.raises(ValueError, match=r"the folders hold 27,005,120 pixels in 23 images by their headers, over "
                                         r"the budget of 20,000,000 \(max_total_pixels\); nothing was decoded\. "
                                         r"Largest: tile0\.png \(9,000,000\)"):
        load_folder(root, size=16, max_total_pixels=20_000_000)
    assert decoded == []


def test_the_datasets_page_states_the_image_limits_the_loader_applies():
    """docs/datasets.md gives the per-image limit and the budget for all images with the loader's defaults."""
    from spectral_collapse.data.folder import MAX_PIXELS, MAX_TOTAL_PIXELS

    text = (Path(__file__).resolve().parents[1] / "docs" / "datasets.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| `")}
    assert f"{MAX_PIXELS:,}" in rows["`max_pixels`"], rows["`max_pixels`"]
    assert f"{MAX_TOTAL_PIXELS:,}" in rows["`max_total_pixels`"]
    assert "`max_total_pixels`" in text.split("* **Image limits.**")[1].split("* **")[0]


def test_too_small_images_are_refused_or_skipped_and_small_ones_warned(tmp_path):
    root = _pools(tmp_path, size=16)
    _save(root / "source" / "dot.png", np.zeros((1, 1, 3), np.uint8))
    with pytest.raises(ValueError, match=r"1 source image\(s\) have a side below 8 px \(min_size\): dot\.png \(1x1\)"):
        load_folder(root, size=16)
    with pytest.warns(UserWarning, match=r"left out 1 source image\(s\) with a side below 8 px"):
        d = load_folder(root, size=16, on_small="skip", on_size_mismatch="resize")
    assert "dot.png (below min_size)" in d.meta["skipped"]["source"]
    with pytest.warns(UserWarning, match=r"10 target image\(s\) are smaller than 32 x 32 and are upscaled"):
        load_folder(_pools(tmp_path / "b", size=16), size=32)


def test_one_name_with_two_extensions_is_reported(tmp_path):
    root = _pools(tmp_path)
    _save(root / "source" / "im00.jpg", np.zeros((16, 16, 3), np.uint8))
    with pytest.warns(UserWarning, match=r"source folder .* holds 1 name\(s\) with several extensions "
                                         r"\(im00\.jpg \+ im00\.png\)"):
        d = load_folder(root, size=16)
    assert d.meta["duplicate_names"] == {"source": ["im00"]}
    _paired_tests(root)
    _save(root / "test_source" / "a_0.jpg", np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(ValueError, match=r"test source folder .* \(a_0\.jpg \+ a_0\.png\); test files are paired by "
                                         r"name"):
        load_folder(root, size=16)


# ----------------------------------------------------------------------- names, options, identity

def test_folder_dataset_strings_and_their_file_name_safe_key(tmp_path):
    root = _pools(tmp_path / "My data!")
    d = load_dataset(f"folder:{root}", size=16)
    assert d.name == "folder" and not d.paired
    key = dataset_key(f"folder:{root}")
    assert key.startswith("folder-My_data-") and len(key.rsplit("-", 1)[1]) == 8
    assert key == dataset_key(f"folder:{root}/../{root.name}")          # the resolved path
    assert dataset_key("ihc-sr") == "ihc-sr" and dataset_key(f"folder:{root}", path_hash=False) == "folder-My_data"
    check_dataset(f"folder:{root}")
    with pytest.raises(ValueError, match=r"unknown dataset 'fodler:/x'.*or folder:<path>"):
        check_dataset("fodler:/x")
    with pytest.raises(ValueError, match=r"names no folder; write folder:<path>"):
        load_dataset("folder: ")
    with pytest.raises(ValueError, match=r"already names its folder"):
        load_dataset(f"folder:{root}", root=root)


def test_meta_is_content_not_place(tmp_path):
    """The trainer keys models by name + meta: the same images elsewhere give the same identity, an edited image a
    new one (meta["fingerprint"]); absolute paths live in ``origin``."""
    a = _pools(tmp_path / "one" / "data")
    b = tmp_path / "two" / "data"
    shutil.copytree(a, b)
    da, db = load_folder(a, size=16), load_folder(b, size=16)
    assert da.meta == db.meta and str(tmp_path) not in json.dumps(da.meta)
    assert da.origin["folders"]["source"] == str((a / "source").resolve())
    arr = np.asarray(Image.open(b / "target" / "im03.png")).copy()
    arr[0, 0, 0] ^= 1
    _save(b / "target" / "im03.png", arr)
    assert load_folder(b, size=16).meta["fingerprint"] != da.meta["fingerprint"]


def test_data_options_are_checked_against_the_loader(tmp_path):
    root = _pools(tmp_path)
    spec = study_spec("main_results", dataset=f"folder:{root}", profile="smoke",
                      data_options='{"task": {"kind": "sr", "factor": 4}, "seed": 1, "test_fraction": 0.5}')
    d = user_mod.spec_data(spec)
    assert d.task == Task("sr", 4) and d.meta["seed"] == 1 and len(d.test_source) == 5
    bad = study_spec("main_results", dataset=f"folder:{root}", profile="smoke", data_options='{"sed": 1}')
    with pytest.raises(ValueError, match=r"data_options \['sed'\] are not options of dataset 'folder'; its options: "
                                         r".*seed"):
        user_mod.spec_data(bad)
    with pytest.raises(ValueError, match=r"data_options may not set root"):
        user_mod.spec_data(study_spec("main_results", dataset=f"folder:{root}", profile="smoke",
                                        data_options={"root": "x"}))
    with pytest.raises(ValueError, match=r"size=32 differs from the smoke profile's image size 16"):
        user_mod.spec_data(study_spec("main_results", dataset=f"folder:{root}", profile="smoke",
                                        data_options={"size": 32}))
    with pytest.raises(TypeError, match=r"data_options=.* is not valid JSON"):
        study_spec("main_results", dataset="ihc-sr", profile="smoke", data_options="{task: sr}")


# ----------------------------------------------------------------------- studies on folder data

def test_a_study_runs_on_folder_data_without_test_folders(tmp_path, ckpts):
    root = _pools(tmp_path / "mine", n=10, size=20)
    res = tmp_path / "results"
    kw = dict(dataset=f"folder:{root}", data_options='{"task": "generic", "seed": 4}', results_root=res, **SMOKE)
    ds = run_study("main_results", **kw)
    assert np.isnan(ds["psnr"].values).all() and np.isnan(ds["s_lf_gt"].values).all()
    assert np.isfinite(ds["s_hf"].values).all() and np.isfinite(ds["s_lf"].values).all()
    assert ds.attrs["paired_metrics"].startswith("none (psnr and s_lf_gt are not computed): no test folders: 2 of 10")
    assert json.loads(ds.attrs["task"]) == {"kind": "generic", "factor": None}
    path = res / "main_results" / f"{dataset_key(kw['dataset'])}-smoke.nc"
    assert path.exists() and path.name.startswith("folder-mine-")
    inputs = json.loads(ds.attrs["spec"])["inputs"]
    assert "no Pareto sweep stored for folder:" in inputs["pareto"]["source"]          # OVG says why
    assert "not a Pareto sweep's choice" in json.loads(ds.attrs["ovg"])["source"]
    ckpt = Path(json.loads(ds.attrs["checkpoints"])["eps"])
    assert ckpt.parent == ckpts and ckpt.name.startswith("folder-mine-eps-smoke-")
    again = run_study("main_results", **kw)
    assert again.attrs["created"] == ds.attrs["created"]  # stored results reused
    arr = np.asarray(Image.open(root / "target" / "im05.png")).copy()
    arr[:4] = 255 - arr[:4]
    _save(root / "target" / "im05.png", arr)  # the user edits an image: new signature, new data, new model
    edited = run_study("main_results", **kw)
    assert json.loads(edited.attrs["spec"])["inputs"]["data"] != inputs["data"]
    assert Path(json.loads(edited.attrs["checkpoints"])["eps"]) != ckpt


def test_folder_data_with_paired_tests_has_paired_metrics(tmp_path, ckpts):
    root = _paired_tests(_pools(tmp_path / "p"))
    ds = run_study("main_results", dataset=f"folder:{root}", results_root=tmp_path / "r", **SMOKE)
    assert np.isfinite(ds["psnr"].values).all() and ds.attrs["paired_metrics"].startswith("psnr and s_lf_gt")


# ----------------------------------------------------------------------------- a user's model

def _pipeline(path: Path, prediction="epsilon", seed=0) -> str:
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    torch.manual_seed(seed)
    unet = UNet2DModel(sample_size=16, in_channels=3, out_channels=3, layers_per_block=1, block_out_channels=(16, 32),
                       down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                       norm_num_groups=8)
    DDPMPipeline(unet=unet, scheduler=DDPMScheduler(prediction_type=prediction)).save_pretrained(path)
    return str(path)


@pytest.mark.slow  # every translation method of a study end to end on a user model
def test_studies_take_a_model_and_record_its_hash(tmp_path, ckpts):
    from spectral_collapse.models.hub import folder_digest

    model = _pipeline(tmp_path / "model")
    res = tmp_path / "r"
    ds = run_study("main_results", dataset="ihc-sr", model=model, results_root=res, **SMOKE)
    used = json.loads(ds.attrs["user_models"])["model"]
    assert used["sha256"] == folder_digest(model) and used["parameterization"] == "eps"
    assert not ckpts.exists()  # nothing trained
    assert json.loads(ds.attrs["checkpoints"]) == {"eps": str(Path(model).resolve() / "unet")}
    with pytest.raises(ValueError, match=r"method\(s\) edm need a model .*labels on the given eps model run: ddim"):
        run_study("main_results", dataset="ihc-sr", model=model, results_root=res, profile="smoke",
                  methods=["ddim", "edm"])
    default = run_study("main_results", dataset="ihc-sr", model=model, results_root=tmp_path / "r2", profile="smoke",
                        seeds=[0])
    assert "edm" not in default["method"].values and "ovg_taba" in default["method"].values
    _pipeline(tmp_path / "model", seed=5)  # the user retrains: the stored results are stale
    again = run_study("main_results", dataset="ihc-sr", model=model, results_root=res, **SMOKE)
    assert json.loads(again.attrs["user_models"])["model"]["sha256"] != used["sha256"]
    assert json.loads(again.attrs["cells"])["reused"] == 0


@pytest.mark.slow  # four studies end to end on two user models
def test_two_models_and_the_latent_studies_and_pareto(tmp_path, ckpts):
    src, tgt = _pipeline(tmp_path / "s"), _pipeline(tmp_path / "t", "v_prediction", seed=1)
    res = tmp_path / "r"
    two = json.dumps({"source": src, "target": tgt})
    ds = run_study("main_results", dataset="ihc-sr", models=two, results_root=res, **SMOKE)
    assert set(json.loads(ds.attrs["user_models"])) == {"source", "target"}
    sweep = run_study("pareto", dataset="ihc-sr", profile="smoke", model=tgt, n_images=2, eta_hf=[1e-8],
                      eta_lf=[1e-4, 1e-3], results_root=res)
    assert list(sweep["base"].values) == ["ovg", "ovg_taba"]
    g = run_study("gaussianity", dataset="ihc-sr", profile="smoke", model=tgt, methods=["ddim", "ovg"], n_latents=4,
                  results_root=res)
    assert "Pareto sweep" in json.loads(g.attrs["ovg"])["source"]  # the sweep ran on the same model
    other = run_study("velocity", dataset="ihc-sr", profile="smoke", model=src, n_samples=2, results_root=res)
    assert list(other["method"].values) == ["ddim", "ovg"]
    assert "ran with model=" in json.loads(other.attrs["ovg"])["source"]  # a sweep on another model is not used
    with pytest.raises(ValueError, match=r"give either model .* not both"):
        run_study("main_results", dataset="ihc-sr", model=src, models=two, results_root=res, **SMOKE)
    with pytest.raises(ValueError, match=r"backbone_ablation compares models it trains itself"):
        run_study("backbone_ablation", dataset="ihc-sr", profile="smoke", model=src, results_root=res)


def test_cli_accepts_folder_datasets_and_options(tmp_path, ckpts, capsys):
    from spectral_collapse.cli import main
    from spectral_collapse.pipeline.execute import notebook_path

    root = _pools(tmp_path / "d")
    main(["train", "--profile", "smoke", "--dataset", f"folder:{root}", "--param", "eps",
          "--data-options", '{"task": "generic", "seed": 2}'])
    assert "folder-d-eps-smoke-" in capsys.readouterr().out
    with pytest.raises(SystemExit, match=r"--data-options .* is not valid JSON"):
        main(["train", "--profile", "smoke", "--dataset", f"folder:{root}", "--data-options", "{seed: 2}"])
    page = notebook_path("main_results", f"folder:{root}", "smoke", tmp_path)
    assert page.name == f"main_results-{dataset_key(f'folder:{root}')}-smoke.ipynb"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_dataset(f"folder:{root}")


def test_the_main_command_skips_what_cannot_take_a_model_or_a_folder(tmp_path, monkeypatch):
    """cli studies --dataset folder:... --model ...: the ablations (which refuse a given model) and the pages that
    store no results are left out unless named; every study gets the knobs it declares."""
    from spectral_collapse.pipeline import execute

    calls = []
    monkeypatch.setattr(execute, "execute_study",
                        lambda study, ds, profile, **kw: calls.append((study, ds, kw.get("extra"))) or None)
    root = _pools(tmp_path / "d")
    execute.run_studies("smoke", None, [f"folder:{root}"], root=tmp_path,
                        knobs={"model": "m", "data_options": {"task": "generic"}, "models": None})
    studies = [c[0] for c in calls]
    assert "main_results" in studies and "metric_validation" in studies
    assert not {"backbone_ablation", "scale_factor", "benchmarks", "your_model"} & set(studies)
    extra = dict((c[0], c[2]) for c in calls)
    assert extra["main_results"] == {"model": "m", "data_options": {"task": "generic"}}
    assert extra["metric_validation"] == {"data_options": {"task": "generic"}}
    calls.clear()
    execute.run_studies("smoke", ["scale_factor"], [f"folder:{root}"], root=tmp_path, knobs={"model": "m"})
    assert [c[0] for c in calls] == ["scale_factor"]  # named: it runs, and refuses the model itself


@pytest.mark.parametrize("fault,words", [
    ("duplicate", r"im03\.jpg \+ im03\.png"),
    ("unreadable", r"skipped 1 unreadable image \(source: broken\.png \(\w+\)\); pass on_corrupt='raise'"),
])
def test_a_folder_warning_reaches_the_results_and_the_chapter(tmp_path, ckpts, fault, words):
    """Duplicate names or an unreadable image in source/ warn when loading; inside a study the warning is kept with
    the results (one line naming the files and what was done) and the chapter lists it, although notebooks silence
    library noise."""
    import re

    from spectral_collapse.pipeline.parameters import run_notes

    root = _paired_tests(_pools(tmp_path / "p"))
    if fault == "duplicate":
        _save(root / "source" / "im03.jpg", np.zeros((16, 16, 3), np.uint8))
    else:
        (root / "source" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    with pytest.warns(UserWarning, match=words):
        ds = run_study("main_results", dataset=f"folder:{root}", results_root=tmp_path / "r", **SMOKE)
    notes = json.loads(ds.attrs["run_warnings"])
    assert len([n for n in notes if re.search(words, n)]) == 1
    assert re.search(words, run_notes(ds.attrs))
