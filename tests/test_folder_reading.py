"""A user's folders as the studies read them: float images whose values loading would clip and target folders the
studies cannot use (one image, every image flat) are refused before any study with the count and the fix; and results
computed from images edited between the folder's signature and the loader's read (reverted or not) are not stored."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tifffile
import xarray as xr
from PIL import Image

from probes import probe
from spectral_collapse.data import load_dataset
from spectral_collapse.pipeline import report
from spectral_collapse.pipeline.runner import run_study
from spectral_collapse.framework.controls import scoring_settings
from spectral_collapse.framework.model_set import data_options, dataset_for
from spectral_collapse.studies.registry import STUDIES
from spectral_collapse.framework.store import results_path

RNG = np.random.default_rng(0)


def _png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _texture(size=16):
    return RNG.integers(0, 256, (size, size, 3), dtype=np.uint8)


def _folder(root, n_source=4, n_target=4, target=None):
    """source/ and target/ of textured 16 px PNGs; ``target(i)`` gives target image i instead."""
    for i in range(n_source):
        _png(root / "source" / f"s{i}.png", _texture())
    for i in range(n_target):
        _png(root / "target" / f"t{i}.png", _texture() if target is None else target(i))
    return root


def _scoring_study(monkeypatch):
    """main_results replaced by a stand-in that reads the data as a study does and takes its scoring settings."""
    def run(spec, ctx):
        data = dataset_for(spec.profile, spec.dataset, options=data_options(spec))
        scoring_settings(data)
        return xr.Dataset({"psnr": ("sample", np.zeros(2))})

    monkeypatch.setitem(STUDIES, "main_results", dataclasses.replace(STUDIES["main_results"], run=run, reads=()))


@probe("silent", "float32 TIFFs holding 0..255 in a folder (they loaded as white, with a warning about copies only)",
       "refused at loading, naming how many values would be clipped, their range and how to rescale")
def test_float_images_holding_0_to_255_are_refused_with_the_count_and_the_rescale(tmp_path):
    root = _folder(tmp_path, n_target=0)
    values = [(RNG.random((16, 16)) * 255).astype(np.float32) for _ in range(3)]
    for i, a in enumerate(values):
        (root / "target").mkdir(exist_ok=True)
        tifffile.imwrite(root / "target" / f"t{i}.tif", a)
    clipped = sum(int(((a > 1.001) | (a < -0.001)).sum()) for a in values)
    with pytest.raises(ValueError, match=rf"3 float image\(s\) in the target folder .* hold {clipped:,} values outside "
                                         r"\[0, 1\] \(from .* to 25\d\.\d*.*divide by 255"):
        load_dataset("folder", root=root, size=16, factor=4)
    for i, a in enumerate(values):                      # rescaled as the message says: loaded, values kept
        tifffile.imwrite(root / "target" / f"t{i}.tif", a / 255)
    d = load_dataset("folder", root=root, size=16, factor=4)
    np.testing.assert_allclose((d.target[0, 0].numpy() + 1) / 2, values[0] / 255, atol=1e-6)


@probe("crash", "a folder whose target images are one flat colour (`RuntimeError: MKL FFT error`)",
       "refused before any study: every target image is flat after loading")
def test_a_flat_target_folder_is_refused_before_the_scoring(tmp_path, monkeypatch):
    root = _folder(tmp_path, target=lambda i: np.full((16, 16, 3), 90, np.uint8))
    _scoring_study(monkeypatch)
    with pytest.raises(ValueError, match=r"every target image is flat after loading \(4 of 4 in .*target hold one "
                                         r"colour\)"):
        run_study("main_results", dataset=f"folder:{root}", profile="smoke", results_root=tmp_path / "results")
    load_dataset("folder", root=root, size=16, factor=4)   # the loader alone (no study) still reads it


def test_a_target_folder_whose_images_each_hold_a_flat_channel_is_refused(tmp_path, monkeypatch):
    """Red texture with green and blue at 0: the realism reference keeps no crop; refused in words."""
    def red(i):
        a = np.zeros((16, 16, 3), np.uint8)
        a[..., 0] = _texture()[..., 0]
        return a

    root = _folder(tmp_path, target=red)
    _scoring_study(monkeypatch)
    with pytest.raises(ValueError, match=r"only 0 of 4 target images in .* vary in every channel"):
        run_study("main_results", dataset=f"folder:{root}", profile="smoke", results_root=tmp_path / "results")


@probe("late", "a folder with 1 target image, run as a report",
       "refused before the first study starts: target/ holds 1 image, at least 4 are needed")
def test_one_target_image_is_refused_before_the_studies_start(tmp_path, monkeypatch):
    root = _folder(tmp_path / "data", n_target=1)
    started = []
    monkeypatch.setattr(report, "report_content", lambda *a, **k: {})
    monkeypatch.setattr(report.execute, "run_studies", lambda *a, **k: started.append(a))
    with pytest.raises(ValueError, match=r"the target folder .*target holds 1 image after loading; at least 4 are "
                                         r"needed"):
        report.build_report(f"folder:{root}", model=str(tmp_path / "model"), profile="smoke",
                            out=tmp_path / "report", html=False)
    assert not started


@probe("unclear", "a folder with 2 images per split ('the reference needs at least 2 crops of features (n, F), got "
                  "shape (1, 66)')",
       "refused when the study reads the folder, naming the target folder, the 2 images it holds and the 4 needed")
def test_two_target_images_are_refused_naming_the_folder_and_the_count(tmp_path, monkeypatch):
    root = _folder(tmp_path / "data", n_source=2, n_target=2)
    for split in ("test_source", "test_target"):
        for i in range(2):
            _png(root / split / f"p{i}.png", _texture())
    _scoring_study(monkeypatch)
    with pytest.raises(ValueError, match=r"^the target folder .*target holds 2 images after loading; at least 4 are "
                                         r"needed .*add 2 or more target images"):
        run_study("main_results", dataset=f"folder:{root}", profile="smoke", results_root=tmp_path / "results")
    for i in range(2, 4):
        _png(root / "target" / f"t{i}.png", _texture())
    run_study("main_results", dataset=f"folder:{root}", profile="smoke", results_root=tmp_path / "results")


@probe("silent", "a test image edited after the folder's signature was taken and before the loader read it, then "
                 "reverted (results on the edited pixels were stored and reused)",
       "not stored: refused naming the image that changed while the study read it")
@pytest.mark.parametrize("revert", [True, False])
def test_results_from_images_edited_while_a_study_read_them_are_not_stored(tmp_path, monkeypatch, revert):
    root = _folder(tmp_path / "data")
    target = root / "target" / "t1.png"
    original = target.read_bytes()
    calls = []

    def run(spec, ctx):   # the folder is signed (run_study's key) before this runs
        if not calls:
            _png(target, _texture())                       # edited between the signature and the read
        data = dataset_for(spec.profile, spec.dataset, options=data_options(spec))
        if not calls and revert:
            target.write_bytes(original)                   # and put back before the results are stored
        calls.append(float(data.target[1].mean()))
        return xr.Dataset({"psnr": ("sample", np.zeros(2))})

    monkeypatch.setitem(STUDIES, "main_results", dataclasses.replace(STUDIES["main_results"], run=run, reads=()))
    kw = dict(dataset=f"folder:{root}", profile="smoke", results_root=tmp_path / "results")
    path = results_path("main_results", f"folder-data-{'x' * 8}", "smoke", tmp_path / "results").parent
    with pytest.raises(RuntimeError, match=r"image file\(s\) of folder:.* changed while the study read them \(t1.png\)"
                       if revert else r"the image files of folder:.* changed while the study ran"):
        run_study("main_results", **kw)
    assert not any(path.glob("*.nc")), "nothing is stored from the edited pixels"
    run_study("main_results", **kw)                       # unchanged during the run: stored
    assert len(list(path.glob("*.nc"))) == 1
