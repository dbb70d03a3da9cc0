"""Reliability: bad input fails early with a message that names the problem and the fix, non-finite samples
are marked and left out of the tables, determinism and batch-size independence, and the soak run on the smoke
profile (slow).

``BAD_INPUTS`` is the catalogue behind docs/errors.md: each case makes one bad input and expects an error type and
the words that name the problem and the fix. ``python tests/test_reliability.py`` regenerates docs/errors.md with
the messages as they are raised. Related tests elsewhere: tests/test_real_datasets.py (folder rules in detail),
tests/test_loop.py (non-finite marking in the loop), tests/test_safety.py (unsafe files), tests/test_interrupt.py.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
import xarray as xr
from PIL import Image

from conftest import NaNNet, TinyData, oracle_denoiser, tiny_training
from spectral_collapse.data import UnpairedDomains, load_dataset, nearest_downup
from spectral_collapse.cli import _whole
from spectral_collapse.framework.quality import WeakModelError
from spectral_collapse.data.download import DatasetNotPreparedError, DownloadError, IntegrityError, OfflineError
from spectral_collapse.data.extract import ArchiveLimitError, UnsafeArchiveError, safe_extract
from spectral_collapse.inversion import OVG, Euler, NonFiniteError, default_sigmas, get_method, invert, translate
from spectral_collapse.metrics import get_metric
from spectral_collapse.models.denoisers import EpsDenoiser
from oracle import GaussianOracleNet
from spectral_collapse.models.schedules import VPSchedule
from spectral_collapse.framework import profiles
from spectral_collapse.studies.registry import study_spec
from spectral_collapse.framework.store import ResultsFileError, results_path, save_results
from spectral_collapse.tables.main_results import format_summary
from spectral_collapse.framework.aggregate import summary
from spectral_collapse.pipeline.execute import run_studies
from spectral_collapse.studies.main_results import run_translation_study
from spectral_collapse.framework.method_labels import method_specs
from spectral_collapse.train.trainer import load_trained, train
from spectral_collapse.train.cache import CheckpointCorrupt
from spectral_collapse.train.config import CheckpointMismatch

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "errors.md"


# --- helpers that build bad inputs ------------------------------------------------------------------------------


def _png(path: Path, size=(16, 16), value=128) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), value, np.uint8)).save(path)
    return path


def _folders(tmp: Path, n: int = 2) -> Path:
    """A valid user-folder layout with n flat images per set (16 x 16 RGB)."""
    for sub in ("source", "target", "test_source", "test_target"):
        for i in range(n):
            _png(tmp / sub / f"im{i}.png", value=40 * i + 20)
    return tmp


def _load_folder(root: Path, **kw):
    return load_dataset("folder", root=root, size=16, factor=4, **kw)


def _corrupt(tmp: Path, **kw):
    root = _folders(tmp)
    (root / "source" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    return _load_folder(root, **kw)


def _all_corrupt(tmp: Path):
    root = _folders(tmp)
    for p in (root / "source").iterdir():
        p.write_bytes(b"GIF89a broken")
    return _load_folder(root)


def _sizes(tmp: Path):
    root = _folders(tmp)
    _png(root / "target" / "big.png", size=(24, 32))
    return _load_folder(root)


def _missing_source(tmp: Path):
    root = _folders(tmp)
    shutil.rmtree(root / "source")
    return _load_folder(root)


def _empty(tmp: Path):
    root = _folders(tmp)
    shutil.rmtree(root / "source")
    (root / "source").mkdir()
    return _load_folder(root)


def _unreadable(tmp: Path):
    root = _folders(tmp)
    real = Path.iterdir

    def deny(self):
        if self.name == "target":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    with pytest.MonkeyPatch.context() as mp:  # root ignores chmod, so deny the listing itself
        mp.setattr(Path, "iterdir", deny)
        return _load_folder(root)


def _domains(**override):
    x = torch.zeros(2, 3, 16, 16)
    kw = dict(name="mine", size=16, source=x, target=x, test_source=x, test_target=x)
    return UnpairedDomains(**{**kw, **override})


@functools.lru_cache(maxsize=1)
def _checkpoint() -> Path:
    """A finished 4-step checkpoint of the smoke network (trained once per process)."""
    spec, cfg = tiny_training()
    root = Path(tempfile.mkdtemp(prefix="reliability-ck-"))
    return train(spec, cfg, TinyData(), name="tiny", root=root, progress=False).path


def _copy_checkpoint(tmp: Path) -> Path:
    return Path(shutil.copytree(_checkpoint(), tmp / "ck"))


def _altered_config(tmp: Path):
    ck = _copy_checkpoint(tmp)
    cfg = json.loads((ck / "config.json").read_text())
    cfg["model"]["backbone"]["block_out_channels"] = [8, 16]  # the saved weights are (16, 32)
    (ck / "config.json").write_text(json.dumps(cfg))
    return load_trained(ck)


def _incomplete(tmp: Path):
    ck = _copy_checkpoint(tmp)
    (ck / "DONE").unlink()
    return load_trained(ck)


def _smoke_with(**changes):
    """Temporarily register a modified smoke profile under the name 'smoke'."""
    mp = pytest.MonkeyPatch()
    mp.setitem(profiles.PROFILES, "smoke", replace(profiles.PROFILES["smoke"], **changes))
    return mp


def _profile_steps_zero(tmp: Path):
    mp = _smoke_with(steps=0)
    try:
        return run_translation_study("s", "ihc-sr", "smoke", models={})
    finally:
        mp.undo()


def _model_data_mismatch(tmp: Path):
    from spectral_collapse.models.backbones import UNetConfig

    spec = replace(tiny_training()[0], backbone=UNetConfig(sample_size=32, block_out_channels=(8, 16),
                                                           down_block_types=("DownBlock2D",) * 2,
                                                           up_block_types=("UpBlock2D",) * 2))
    return run_translation_study("s", "ihc-sr", "smoke", labels=["ddim"], models={"eps": spec.build()},
                                 progress=False)


def _escaping_zip(tmp: Path):
    import zipfile

    with zipfile.ZipFile(tmp / "a.zip", "w") as zf:
        zf.writestr("../outside.txt", b"x")
    return safe_extract(tmp / "a.zip", tmp / "out")


def _offline(tmp: Path):
    from spectral_collapse.data.download import download_dataset

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPECTRAL_COLLAPSE_OFFLINE", "1")
        return download_dataset("edges2shoes", tmp, url="http://127.0.0.1:9/edges2shoes.tar.gz", progress=False)


def _served_e2s(tmp: Path, n_train: int, root: Path, download: bool = True):
    """Serve a fake Edges2Shoes archive on loopback and download it under root (downloads allowed meanwhile)."""
    from fixtures_real import LoopbackServer, make_edges2shoes
    from spectral_collapse.data import download as dl
    from spectral_collapse.data import edges2shoes as e2s

    archive = make_edges2shoes(tmp / f"srv{n_train}", n_train=n_train, n_val=2).read_bytes()
    previous = dl._OFFLINE_OVERRIDE
    dl.set_offline(False)
    try:
        with LoopbackServer({"/edges2shoes.tar.gz": archive}) as server:
            return e2s.download(root, url=server.url + "edges2shoes.tar.gz", progress=False)
    finally:
        dl.set_offline(previous)


def _substituted_download(tmp: Path):
    root = tmp / "raw"
    _served_e2s(tmp, 4, root).unlink()  # the first download records its hash; then the file is gone
    return _served_e2s(tmp, 5, root)  # the server now gives another file


def _substituted_on_disk(tmp: Path):
    from spectral_collapse.data.download import prepare_dataset

    root = tmp / "raw"
    first = _served_e2s(tmp, 4, root)
    first.write_bytes((tmp / "srv4" / "edges2shoes.tar.gz").read_bytes()[:-10] + bytes(10))  # altered by hand
    return prepare_dataset("edges2shoes", root, progress=False)


def _unreadable_lock(tmp: Path):
    from spectral_collapse.data import edges2shoes as e2s

    (tmp / "downloads.lock.json").write_text('{"files": ')
    return e2s.download(tmp, url="http://127.0.0.1:9/edges2shoes.tar.gz", progress=False)


def _zip_bomb(tmp: Path):
    import zipfile

    with zipfile.ZipFile(tmp / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", bytes(2 << 20))
    return safe_extract(tmp / "bomb.zip", tmp / "out", max_bytes=1 << 20)


def _many_members(tmp: Path):
    import zipfile

    with zipfile.ZipFile(tmp / "many.zip", "w") as zf:
        for i in range(50):
            zf.writestr(f"{i}.txt", b"x")
    return safe_extract(tmp / "many.zip", tmp / "out", max_members=20)


def _damaged_results(tmp: Path):
    from spectral_collapse.framework.store import load_results

    path = save_results(_results(), tmp / "decorrelation" / "ihc-sr-quick.nc")
    path.write_bytes(path.read_bytes()[:2000])
    return load_results(path)


def _flipped_weights(tmp: Path):
    ck = _copy_checkpoint(tmp)
    data = bytearray((ck / "ema.safetensors").read_bytes())
    data[-10] ^= 1
    (ck / "ema.safetensors").write_bytes(bytes(data))
    return load_trained(ck)


def _truncated_config(tmp: Path):
    ck = _copy_checkpoint(tmp)
    (ck / "config.json").write_text((ck / "config.json").read_text()[:100])
    return load_trained(ck)


def _unreadable_resume(tmp: Path):
    spec, cfg = tiny_training(checkpoint_every=1)
    path = train(spec, cfg, TinyData(), name="tiny", root=tmp, progress=False, stop_after=2).path
    for snap in ("resume", "resume.old"):
        (path / snap / "ema.safetensors").write_bytes(b"\x00" * 7)
    return train(spec, cfg, TinyData(), name="tiny", root=tmp, progress=False)


def _results_root_is_a_file(tmp: Path):
    from spectral_collapse.pipeline.runner import run_study

    (tmp / "results").write_text("a file, not a folder")
    with pytest.MonkeyPatch.context() as mp:
        import spectral_collapse.studies.pareto as pareto

        mp.setattr(pareto, "run_pareto", lambda spec, ctx: pytest.fail("the study ran before the check"))
        return run_study("pareto", dataset="ihc-sr", profile="smoke", results_root=tmp / "results")


def _results_root_parent_read_only(tmp: Path):
    from spectral_collapse.pipeline.runner import run_study

    shared = tmp / "shared"
    shared.mkdir()
    real_access = os.access

    def access(path, mode, *a, **k):  # root ignores a folder's mode, so the check is told what a user would get
        if Path(path) == shared and mode & os.W_OK:
            return False
        return real_access(path, mode, *a, **k)

    with pytest.MonkeyPatch.context() as mp:
        import spectral_collapse.studies.pareto as pareto

        mp.setattr(pareto, "run_pareto", lambda spec, ctx: pytest.fail("the study ran before the check"))
        mp.setattr(os, "access", access)
        shared.chmod(0o555)
        try:
            return run_study("pareto", dataset="ihc-sr", profile="smoke", results_root=shared / "results")
        finally:
            shared.chmod(0o755)


def _nan_in_inversion(tmp: Path):
    D = EpsDenoiser(GaussianOracleNet("eps"), VPSchedule())
    x = torch.zeros(3, 3, 8, 8)
    x[1, 0, 0, 0] = float("nan")
    return invert(D, x, torch.linspace(0.01, 10, 5), Euler(), on_nonfinite="raise")


def _results():
    return xr.Dataset({"psnr": (("method", "seed", "sample"), np.zeros((1, 1, 2)))},
                      coords={"method": ["ddim"], "seed": [0]})


# --- the catalogue ---------------------------------------------------------------------------------------------


def _no_hash_record(tmp: Path):
    ck = _copy_checkpoint(tmp)
    (ck / "weights.sha256.json").unlink()
    return load_trained(ck)


def _weak_model(tmp: Path):
    from spectral_collapse.framework.gate import gate_policy
    from spectral_collapse.framework.quality import gate_report

    g = torch.Generator().manual_seed(0)
    data = UnpairedDomains("noise", 16, torch.rand(64, 3, 16, 16, generator=g) * 2 - 1,
                           torch.rand(64, 3, 16, 16, generator=g) * 2 - 1, torch.rand(16, 3, 16, 16, generator=g) * 2 - 1,
                           torch.rand(16, 3, 16, 16, generator=g) * 2 - 1, {})
    D = oracle_denoiser("eps")
    return gate_report(D, data, name="oracle-on-uniform-data", steps=8, n=16, shape=(3, 16, 16)).require()


def _damaged_cell(tmp: Path):
    from spectral_collapse.pipeline.memo import Memo

    values = np.arange(2048, dtype=np.float64)
    m = Memo(tmp / "cells")
    m.cell({"cell": "probe"}, lambda: xr.Dataset({"v": ("i", values)}))
    path = m.path({"cell": "probe"})
    raw = bytearray(path.read_bytes())
    at = bytes(raw).find(values[500:510].tobytes())
    raw[at:at + 40] = bytes(255 - b for b in raw[at:at + 40])
    path.write_bytes(bytes(raw))
    return Memo(tmp / "cells").cell({"cell": "probe"}, lambda: xr.Dataset({"v": ("i", values)}))


def _plain_http(tmp: Path):
    from spectral_collapse.data.download import HTTP_ENV, download

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(HTTP_ENV, raising=False)
        mp.delenv("SPECTRAL_COLLAPSE_OFFLINE", raising=False)
        return download("http://127.0.0.1:9/f.bin", tmp / "f.bin", progress=False)


def _folder_over_budget(tmp: Path):
    from spectral_collapse.data import load_folder

    for sub in ("source", "target"):
        for i in range(3):
            _png(tmp / sub / f"im{i}.png", size=(64, 64))
    return load_folder(tmp, size=16, max_total_pixels=10_000)


@dataclass(frozen=True)
class BadInput:
    id: str
    what: str                      # the bad input, in the user's words
    where: str                     # the call that catches it
    run: Callable[[Path], object]  # makes the bad input; must raise (or warn, for a warning case)
    error: type
    problem: str                   # regex: the message names the problem ...
    fix: str                       # ... and the fix


BAD_INPUTS = [
    BadInput("unknown-dataset-name", "unknown dataset name", "data.load_dataset",
             lambda t: load_dataset("ihc-sx"), ValueError, r"unknown dataset 'ihc-sx'", r"valid names: .*ihc-sr"),
    BadInput("unknown-dataset-on-the-command-line",
             "unknown dataset on the command line", "pipeline.execute.run_studies",
             lambda t: run_studies("smoke", ["main_results"], ["ihc_sr"], root=ROOT, results_root=str(t)),
             ValueError, r"unknown dataset 'ihc_sr'", r"valid (datasets|names): .*ihc-sr"),
    BadInput("unknown-study-name", "unknown study name", "pipeline.execute.run_studies",
             lambda t: run_studies("smoke", ["main_result"], root=ROOT, results_root=str(t)),
             ValueError, r"unknown study 'main_result'", r"valid studies: .*main_results"),
    BadInput("unknown-inversion-method", "unknown inversion method", "inversion.get_method",
             lambda t: get_method("ddimm"), ValueError, r"unknown inversion method 'ddimm'", r"valid methods: .*taba"),
    BadInput("unknown-method-label-of-a-study", "unknown method label of a study", "run_translation_study",
             lambda t: run_translation_study("s", "ihc-sr", "smoke", labels=["ovg_tab"]),
             ValueError, r"unknown method label 'ovg_tab'", r"valid labels: .*ovg_taba"),
    BadInput("unknown-metric-name", "unknown metric name", "metrics.get_metric",
             lambda t: get_metric("s_hff"), ValueError, r"unknown metric 's_hff'", r"valid metrics: .*s_hf"),
    BadInput("unknown-metric-in-a-results-table", "unknown metric in a results table", "framework.aggregate.summary",
             lambda t: summary(_results(), ["psnrr"]), ValueError, r"unknown metric 'psnrr'",
             r"these results hold: psnr"),
    BadInput("unknown-profile-name", "unknown profile name", "framework.profiles.get_profile",
             lambda t: profiles.get_profile("fast"), ValueError, r"unknown profile 'fast'",
             r"valid profiles: smoke, quick, paper"),
    BadInput("dataset-not-downloaded", "real dataset not downloaded", "data.load_dataset",
             lambda t: load_dataset("bbbc021", root=t), DatasetNotPreparedError, r"bbbc021 dataset is not prepared",
             r"python -m spectral_collapse.cli download bbbc021.*load_dataset\('ihc-sr'\)"),
    BadInput("download-while-downloads-are-off",
             "download while downloads are switched off", "data.download.download_dataset",
             _offline, OfflineError, r"downloads are switched off", r"unset SPECTRAL_COLLAPSE_OFFLINE"),
    BadInput("data-folder-that-does-not-exist", "data folder that does not exist", "data.load_dataset('folder')",
             lambda t: _load_folder(t / "nowhere"), FileNotFoundError, r"data folder .*nowhere does not exist",
             r"pass root= the folder that holds source/, target/"),
    BadInput("image-subfolder-that-does-not-exist",
             "image subfolder that does not exist", "data.load_dataset('folder')",
             _missing_source, FileNotFoundError, r"source folder .*/source does not exist",
             r"pass the folder that holds your source images"),
    BadInput("empty-image-folder", "empty image folder", "data.load_dataset('folder')",
             _empty, ValueError, r"no images in the source folder .*it is empty", r"Expected files ending in .*\.png"),
    BadInput("unreadable-image-folder", "unreadable image folder", "data.load_dataset('folder')",
             _unreadable, PermissionError, r"cannot list the target folder .*permission denied", r"chmod u\+rx"),
    BadInput("corrupt-image-when-told-to-raise",
             "corrupt image file, on_corrupt='raise'", "data.load_dataset('folder')",
             lambda t: _corrupt(t, on_corrupt="raise"), ValueError, r"cannot read image .*broken\.png",
             r"delete or replace it, or pass on_corrupt='skip'"),
    BadInput("corrupt-image-skipped-by-default",
             "corrupt image file, on_corrupt='skip' (default): a warning", "data.load_dataset('folder')",
             _corrupt, UserWarning, r"skipped 1 unreadable image \(source: broken\.png",
             r"pass on_corrupt='raise' to stop instead"),
    BadInput("every-image-of-a-set-corrupt", "every image of a set corrupt", "data.load_dataset('folder')",
             _all_corrupt, ValueError, r"no readable images left in the source folder", r"all 2 skipped"),
    BadInput("images-of-different-sizes", "images of different sizes in one set", "data.load_dataset('folder')",
             _sizes, ValueError, r"target images have 2 different sizes .*24x32",
             r"make them one size, or pass on_size_mismatch='resize'"),
    BadInput("images-as-uint8-tensors", "images as uint8 tensors (wrong mode / range)", "data.UnpairedDomains",
             lambda t: _domains(source=torch.zeros(2, 3, 16, 16, dtype=torch.uint8)), ValueError,
             r"source must be a float32 tensor", r"\(N, C, H, W\)"),
    BadInput("grey-and-rgb-images-mixed", "grey and RGB images mixed", "data.UnpairedDomains",
             lambda t: _domains(target=torch.zeros(2, 1, 16, 16)), ValueError,
             r"same number of channels, got .*'target': 1", r"repeat a grey channel three times"),
    BadInput("images-not-of-the-declared-size", "images not of the declared size", "data.UnpairedDomains",
             lambda t: _domains(size=32), ValueError, r"source has spatial size \(16, 16\), expected \(32, 32\)",
             r"crop or resize the images to 32 x 32"),
    BadInput("sr-factor-not-dividing-the-image-size",
             "SR factor that does not divide the image size", "data.load_dataset",
             lambda t: load_dataset("ihc-sr", size=16, factor=3), ValueError, r"size 16 is not a multiple of factor 3",
             r"use e\.g\. size="),
    BadInput("sr-factor-not-dividing-a-folder",
             "SR factor that does not divide a folder's size", "data.load_dataset('folder')",
             lambda t: load_dataset("folder", root=_folders(t), size=16, factor=5), ValueError,
             r"image size 16 is not divisible by the SR factor 5", r"use size=15 or 20"),
    BadInput("sr-factor-not-dividing-a-tensor", "SR factor that does not divide a tensor's size", "data.nearest_downup",
             lambda t: nearest_downup(torch.zeros(1, 3, 16, 16), 3), ValueError,
             r"factor 3 does not divide the image size 16x16", r"crop the image to a multiple of 3"),
    BadInput("zero-steps", "steps < 1", "inversion.translate",
             lambda t: translate(EpsDenoiser(GaussianOracleNet("eps"), VPSchedule()), torch.zeros(1, 3, 8, 8), Euler(),
                                 steps=0), ValueError, r"steps must be an integer >= 1, got 0", r">= 1"),
    BadInput("fractional-step-count", "a fractional step count (steps=2.5)", "inversion.translate",
             lambda t: translate(oracle_denoiser("eps"), torch.zeros(1, 3, 8, 8), Euler(), steps=2.5), ValueError,
             r"steps must be an integer >= 1, got 2.5", r"integer"),
    BadInput("profile-with-zero-steps", "a profile with steps < 1", "run_translation_study",
             _profile_steps_zero, ValueError, r"steps \(of the profile\) must be an integer >= 1, got 0", r">= 1"),
    BadInput("negative-ovg-step-size", "negative OVG step size", "inversion.OVG",
             lambda t: OVG(eta_hf=-1e-6), ValueError, r"OVG step sizes must be finite and >= 0: eta_hf is negative \(-1e-06\)",
             r"pass eta_hf=0 or eta_lf=0 to switch a term off"),
    BadInput("ovg-step-size-not-a-number",
             "an OVG step size that is not a number, in a study", "framework.method_labels.method_specs",
             lambda t: method_specs(["ovg"], eta_hf=float("nan"), eta_lf=1e-3), ValueError,
             r"must be finite and >= 0: eta_hf is not a number", r"switch a term off"),
    BadInput("zero-batch-size", "inversion batch size < 1", "run_translation_study",
             lambda t: run_translation_study("s", "ihc-sr", "smoke", batch_size=0),
             ValueError, r"batch_size must be an integer >= 1, got 0", r">= 1"),
    BadInput("seeds-that-are-not-integers", "seeds that are not integers", "run_translation_study",
             lambda t: run_translation_study("s", "ihc-sr", "smoke", seeds=["a"]),
             TypeError, r"seeds must be a list of integers", r"such as \[0, 1, 2\]"),
    BadInput("checkpoint-of-another-model", "checkpoint trained for another model", "train.load_trained(path, spec)",
             lambda t: load_trained(_copy_checkpoint(t), tiny_training("x0")[0]), CheckpointMismatch,
             r"was trained for a different model \(differs in: parameterization\)",
             r"delete it or ask for the model it holds"),
    BadInput("checkpoint-config-not-fitting-its-weights",
             "checkpoint whose config.json does not fit its weights", "train.load_trained",
             _altered_config, CheckpointMismatch, r"do not fit the model described by its config\.json",
             r"delete it and train again"),
    BadInput("checkpoint-of-an-interrupted-training", "checkpoint of an interrupted training", "train.load_trained",
             _incomplete, FileNotFoundError, r"is incomplete \(training was interrupted\)",
             r"rerun training to resume it"),
    BadInput("model-for-another-input-size", "model whose input size differs from the data", "run_translation_study",
             _model_data_mismatch, ValueError, r"the eps model takes 3x32x32 inputs, but ihc-sr gives 3x16x16",
             r"use the model trained for this dataset and profile"),
    BadInput("list-parameter-that-does-not-parse",
             "papermill list parameter that does not parse", "studies.registry.study_spec",
             lambda t: study_spec("main_results", seeds="[1, 2"), TypeError, r"seeds='\[1, 2' is not a valid list",
             r"write it as '\[1, 2\]' or '1,2'"),
    BadInput("list-items-of-the-wrong-type", "papermill list items of the wrong type (-p seeds abc)",
             "studies.registry.study_spec", lambda t: study_spec("main_results", seeds="abc"), TypeError,
             r"seeds must be a whole number such as 3, got 'abc'", r"whole number"),
    BadInput("seed-that-is-not-a-whole-number", "a seed that is not a whole number (-p seeds \"[1.7]\")",
             "studies.registry.study_spec", lambda t: study_spec("main_results", seeds="[1.7]"), TypeError,
             r"seeds must be a whole number such as 3, got 1.7", r"whole number"),
    BadInput("misspelled-parameter", "a misspelled parameter (-p datset ihc-edges)", "studies.registry.study_spec",
             lambda t: study_spec("main_results", datset="ihc-edges"), TypeError,
             r"main_results has no parameter 'datset'", r"its parameters: dataset, profile"),
    BadInput("name-parameter-given-as-a-list", "papermill name parameter that is a list", "studies.registry.study_spec",
             lambda t: study_spec("main_results", dataset=["ihc-sr"]), TypeError,
             r"dataset must be a string, got \['ihc-sr'\]", r"must be a string"),
    BadInput("non-finite-values-when-told-to-raise",
             "values that stop being finite during inversion, with on_nonfinite='raise'", "inversion.integrate",
             _nan_in_inversion, NonFiniteError, r"non-finite values at invert step 0 .* in samples \[1\]",
             r"lower the guidance step sizes or check the model and its input range"),
    BadInput("archive-member-leaving-the-target-folder",
             "archive with a member that leaves the target folder", "data.extract.safe_extract",
             _escaping_zip, UnsafeArchiveError, r"refusing to extract a\.zip: 1 member would be written outside",
             r"Nothing was extracted\. Do not use this archive"),
    BadInput("archive-past-the-size-limit",
             "archive expanding past the size limit (a zip bomb)", "data.extract.safe_extract",
             _zip_bomb, ArchiveLimitError, r"refusing to extract bomb\.zip: its members expand to more than 1\.0 MiB",
             r"\(max_bytes=\)\. Nothing was kept"),
    BadInput("archive-with-too-many-members", "archive with more members than the limit", "data.extract.safe_extract",
             _many_members, ArchiveLimitError, r"refusing to extract many\.zip: it holds more than 20 members",
             r"\(max_members=\)\. Nothing was kept"),
    BadInput("download-whose-sha256-differs", "a download whose SHA-256 differs from the first download's",
             "data.download.fetch", _substituted_download, IntegrityError,
             r"edges2shoes\.tar\.gz \(from http.*\): SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64} "
             r"\(.*downloads\.lock\.json, recorded at the first download",
             r"the file was deleted; download it again .*delete the entry"),
    BadInput("archive-replaced-on-disk", "a downloaded archive replaced on disk", "data.prepare_dataset",
             _substituted_on_disk, IntegrityError, r"refusing to use .*edges2shoes\.tar\.gz: SHA-256 [0-9a-f]{64}, "
             r"expected [0-9a-f]{64}", r"Delete .*edges2shoes\.tar\.gz and download it again"),
    BadInput("damaged-download-lock-file", "a damaged download lock file", "data.download.read_lock",
             _unreadable_lock, IntegrityError, r"the download lock file .*downloads\.lock\.json cannot be read",
             r"restore it \(git checkout .*\) or delete it"),
    BadInput("truncated-results-file", "a truncated results file", "framework.store.load_results",
             _damaged_results, ResultsFileError, r"the results file .*ihc-sr-quick\.nc cannot be read",
             r"rerun=True.*--force"),
    BadInput("weight-file-with-a-flipped-byte", "a weight file with a flipped byte", "train.load_trained",
             _flipped_weights, CheckpointCorrupt, r"ema\.safetensors is not the file written when training finished",
             r"delete the folder .* the model is trained again"),
    BadInput("truncated-checkpoint-config", "a truncated config.json of a checkpoint", "train.load_trained",
             _truncated_config, CheckpointCorrupt, r"config\.json cannot be read \(JSONDecodeError",
             r"delete the folder .* the model is trained again"),
    BadInput("no-readable-resume-snapshot", "no readable resume snapshot of an interrupted training", "train.train",
             _unreadable_resume, CheckpointCorrupt, r"cannot resume the training in .*resume/ema\.safetensors cannot "
             r"be read", r"to restart this training from step 0"),
    BadInput("results-root-that-cannot-be-written",
             "a results root that cannot be written", "pipeline.runner.run_study",
             _results_root_is_a_file, PermissionError, r"cannot write results under the results root .*results",
             r"nothing was computed\. Pass a results_root \(CLI: --results-root\)"),
    BadInput("results-root-in-a-read-only-folder", "a results root (not there yet) whose parent folder is read-only",
             "pipeline.runner.run_study", _results_root_parent_read_only, PermissionError,
             r"cannot write results under the results root \S*/shared/results \(\S*/shared is not writable\)",
             r"nothing was computed\. Pass a results_root \(CLI: --results-root\) that is a folder you can write to"),
    BadInput("profile-name-with-a-hyphen", "an unknown profile whose name has a '-'", "framework.store.results_path",
             lambda t: results_path("pareto", "ihc-sr", "no-such-profile"), ValueError,
             r"unknown profile 'no-such-profile'", r"valid profiles: smoke, quick, paper"),
    BadInput("sr-factor-below-2", "an SR factor below 2 (-p factors \"[1]\")", "studies.registry.study_spec",
             lambda t: study_spec("scale_factor", factors="[1]"), ValueError, r"factors=1", r"must be >= 2"),
    BadInput("checkpoint-without-its-weight-hashes",
             "a checkpoint whose weights.sha256.json was deleted", "train.load_trained",
             _no_hash_record, CheckpointCorrupt, r"has no weights\.sha256\.json, so its weights cannot be verified",
             r"delete the folder .* the model is trained again"),
    BadInput("model-below-the-quality-gate", "a model below the quality gate given to a study", "framework.gate.enforce",
             _weak_model, WeakModelError, r"model oracle-on-uniform-data is below the quality gate: \w+ \(",
             r"must be (≤|≥|<) [\d.]+.*allow_weak_model=True"),
    BadInput("cached-cell-with-flipped-bytes",
             "a cached cell with bytes flipped that netCDF still opens", "pipeline.memo.Memo.cell",
             _damaged_cell, RuntimeWarning, r"cached cell .*\.nc does not match its checksum", r"recomputing it"),
    BadInput("plain-http-download-address", "a plain http:// download address", "data.download.download",
             _plain_http, DownloadError, r"refusing plain http for http://127\.0\.0\.1:9/f\.bin",
             r"Use an https:// address, or allow http explicitly \(allow_http=True, `download --allow-http`"),
    BadInput("folders-over-the-pixel-budget", "folders whose images hold more pixels than the budget",
             "data.load_folder", _folder_over_budget, ValueError, r"the folders hold 24,576 pixels in 6 images",
             r"Downscale the images .* or pass a larger max_total_pixels"),
    BadInput("data-options-with-factor-1", "data_options {\"factor\": 1}", "data.load_dataset",
             lambda t: load_dataset("ihc-sr", size=32, factor=1), ValueError, r"factor must be a whole number >= 2",
             r"e\.g\. factor=4"),
    BadInput("ovg-step-size-given-as-a-string",
             "OVG(eta_hf=\"abc\")", "inversion.OVG", lambda t: OVG(eta_hf="abc"), TypeError,
             r"OVG eta_hf must be a real number, got str 'abc'", r"e\.g\. OVG\(eta_hf=2e-6, eta_lf=5e-3\)"),
    BadInput("train-with-factor-0", "python -m spectral_collapse.cli train --factor 0", "cli (argparse)",
             lambda t: _whole(2, "the SR factor")("0"), argparse.ArgumentTypeError,
             r"the SR factor must be a whole number", r">= 2, got '0'"),
]


def trigger(case: BadInput, tmp: Path) -> str:
    """Run a case; return the message of the expected error (or warning). Fails if nothing / something else happens."""
    if issubclass(case.error, Warning):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            case.run(tmp)
        hits = [w for w in seen if issubclass(w.category, case.error)]
        assert hits, f"{case.id}: no {case.error.__name__} was issued"
        return str(hits[0].message)
    with pytest.raises(case.error) as err:
        case.run(tmp)
    return str(err.value)


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c.id for c in BAD_INPUTS])
def test_bad_input_fails_with_a_clear_message(case, tmp_path):
    msg = trigger(case, tmp_path)
    assert re.search(case.problem, msg, re.S), f"problem not named: {msg}"
    assert re.search(case.fix, msg, re.S), f"fix not named: {msg}"
    # the errors page quotes the message the code raises now, not an older or paraphrased one
    shown = _messages(json.loads(RECORD.read_text())).get(case.id)
    assert shown == _placeholders(case, msg, tmp_path), (f"docs/errors.md quotes {shown!r} for {case.id}; the code "
                                                          "raises another: regenerate it (python tests/test_reliability.py)")


def test_study_arguments_are_checked_before_any_model_is_trained(tmp_path, monkeypatch):
    """A study with a bad argument never reaches training (trained_model would be the long work)."""
    import spectral_collapse.framework.model_set as sm

    def boom(*a, **k):
        raise AssertionError("training started before the arguments were checked")

    monkeypatch.setattr(sm, "trained_model", boom)
    monkeypatch.setenv("SPECTRAL_COLLAPSE_DATA", str(tmp_path))
    for kw in ({"labels": ["nope"]}, {"seeds": "x"}, {"batch_size": -1}, {"n_test": 0}, {"factor": 3}):
        with pytest.raises((ValueError, TypeError)):
            run_translation_study("s", "ihc-sr", "smoke", **kw)
    for name in ("nope", "bbbc021"):  # unknown, and a real dataset that is not downloaded
        with pytest.raises((ValueError, DatasetNotPreparedError)):
            run_translation_study("s", name, "smoke")


@pytest.mark.parametrize("study,knobs,error,words", [
    ("main_results", {"seeds": "[1.7]"}, TypeError, "whole number such as 3, got 1.7"),
    ("main_results", {"seeds": True}, TypeError, "whole number such as 3, got True"),
    ("pareto", {"n_images": True}, TypeError, "whole number such as 3, got True"),
    ("pareto", {"n_images": 2.5}, TypeError, "whole number such as 3, got 2.5"),
    ("pareto", {"n_images": 0}, ValueError, "n_images=0 must be >= 1"),
    ("gaussianity", {"bins": -3}, ValueError, "bins=-3 must be >= 1"),
    ("decorrelation", {"n_latents": "0"}, ValueError, "n_latents=0 must be >= 2"),
    ("decorrelation", {"steps_grid": "[0]"}, ValueError, "steps_grid=0 must be >= 2"),  # refused, not clamped
    ("scale_factor", {"factors": "[1]"}, ValueError, "factors=1 must be >= 2"),
    ("main_results", {"datset": "ihc-edges"}, TypeError, "no parameter 'datset'"),
])
def test_study_knobs_are_checked_when_the_spec_is_made(study, knobs, error, words):
    """Every knob is typed and bounded in one place (spec.Param via the registry), before work."""
    with pytest.raises(error) as err:
        study_spec(study, **knobs)
    assert words in str(err.value)
    assert list(study_spec("decorrelation", steps_grid="[4]").get("steps_grid")) == [4]  # one element: a list


def test_cli_train_refuses_factor_zero_instead_of_using_the_profiles(capsys):
    from spectral_collapse import cli

    for bad in ("0", "1", "x"):
        with pytest.raises(SystemExit):
            cli.main(["train", "--factor", bad])
        assert f"the SR factor must be a whole number >= 2, got '{bad}'" in capsys.readouterr().err


def test_errors_doc_lists_every_case():
    text = DOC.read_text()
    missing = [c.id for c in BAD_INPUTS if f"`{c.id}`" not in text]
    assert not missing, f"docs/errors.md lacks {missing}; regenerate it with `python tests/test_reliability.py`"
    record = json.loads(RECORD.read_text())
    assert [r["id"] for r in record["cases"]] == [c.id for c in BAD_INPUTS]
    assert sum(record["counts"].values()) == record["total"] == len(BAD_INPUTS)
    assert f"{record['total']} cases:" in text
    table = text.split("<!-- table -->")[1]
    # placeholders in braces, which HTML keeps as they are (a <tmp> tag would vanish, an entity reads badly in a
    # code span and in the record)
    assert not re.search(r"(<|&lt;)(sha256|port|tmp|date|checkpoints)(>|&gt;)", table)
    assert re.search(r"\{(tmp|port|sha256)\}", table)


def test_errors_doc_counts_a_fix_only_where_the_message_says_what_to_do():
    """A message that only says what is wrong is not counted as naming the fix, and the page's counts are the
    record's, which classifies each message as it was raised."""
    for said in ("steps must be an integer >= 1, got 0", "factors=1 must be >= 2",
                 "dataset must be a string, got ['ihc-sr']", "no readable images left in the source folder x (all 2 "
                 "skipped)"):
        assert not names_a_fix(said), said
    for said in ("unknown profile 'fast'; valid profiles: smoke, quick, paper", "delete it and train again",
                 "use size=15 or 20", "factor must be a whole number >= 2, got 1; e.g. factor=4"):
        assert names_a_fix(said), said
    record = json.loads(RECORD.read_text())
    by_id = {c.id: c for c in BAD_INPUTS}
    for row in record["cases"]:
        assert row["outcome"] == _outcome(by_id[row["id"]], row["what_the_user_sees"]), row["id"]
    text = DOC.read_text()
    for outcome, n in record["counts"].items():
        assert f"{n} {outcome}" in text
    assert sum(names_a_fix(r["what_the_user_sees"]) for r in record["cases"]
               if r["error"] not in ("UserWarning", "RuntimeWarning")) == record["counts"][OUTCOME_FIX]


def test_errors_doc_fits_the_text_column_and_shows_code_as_typed():
    """The generated part is short blocks, not a five-column table wider than the page, and a code span shows its
    text as typed (an entity inside backticks would be shown raw: `folder:&lt;path&gt;`)."""
    tail = DOC.read_text().split("<!-- table -->")[1]
    assert not [line for line in tail.splitlines() if line.startswith("|")]
    assert not re.search(r"`[^`\n]*&(lt|gt|amp);[^`\n]*`", tail)
    assert "`studies --study pareto --dataset folder:<path>`" in tail
    # a command line is one code span: outside them no '--' is left to break a line at, and no hash-named folder
    assert not re.findall(r"\s--?\w", re.sub(r"`[^`\n]*`", "", tail)), re.findall(r".{30}\s--?\w.{10}",
                                                                                 re.sub(r"`[^`\n]*`", "", tail))
    assert not re.search(r"-[0-9a-f]{12}\b", tail)
    assert (_commands_as_code("run python -m x.cli studies --force (or not)")
            == "run `python -m x.cli studies --force` (or not)")
    assert (_commands_as_code("with: python -m x.cli download a --root /d or use b")
            == "with: `python -m x.cli download a --root /d` or use b")
    prose = re.sub(r"`[^`\n]*`", "", tail)  # linkify makes a link of an address outside a code span, cut at {port}
    assert not re.search(r"https?://\S", prose), re.findall(r".{30}https?://\S.{30}", prose)
    assert DOC.read_text().endswith(doc_tail(json.loads(RECORD.read_text())))  # the page is the record, rendered


# --- faults that could give a wrong or stale number with no word: what the user sees instead ---------------------------

@dataclass(frozen=True)
class Probe:
    id: str
    fault: str                # what was done, in the user's words
    outcome: str              # one of OUTCOMES
    proof: tuple[str, ...]    # the tests that make the fault and check the outcome: "file::function" or a BAD_INPUTS id
    case: str = ""            # a BAD_INPUTS id whose message, as raised, is what the user sees
    message: str = ""         # else the message's template: its text as the code writes it, {name} where the code
                              # fills in a value, "..." where it is cut; every fragment in between is in the source
    then: str = ""            # what happens besides the message, in words (not a quotation)


OUTCOMES = ("recomputed, saying why", "refused with the fix named", "warned in one line", "cleaned up", "documented")

SILENT_BEFORE = [
    Probe("edited-profile-value", "edit a profile value (n_test, a training seed) and rerun a study", OUTCOMES[0],
          ("test_pipeline_runner.py::test_a_profile_edit_makes_stored_results_stale",),
          message="{path}: stored results are stale ({why}); recomputing them",
          then="{why} names what changed: after an edit of n_test it reads changed: profile n_test"),
    Probe("cached-cell-damaged-on-disk", "flip 2,000 bytes inside a cached cell that netCDF still opens", OUTCOMES[0],
          ("test_memo.py::test_a_cell_with_flipped_bytes_that_still_opens_is_recomputed",
           "cached-cell-with-flipped-bytes"),
          case="cached-cell-with-flipped-bytes"),
    Probe("weights-changed-after-results-were-stored",
          "flip bytes of a checkpoint's EMA weights after results were stored", OUTCOMES[0],
          ("test_pipeline_runner.py::test_damaged_weights_make_stored_results_stale_and_are_named",
           "weight-file-with-a-flipped-byte"),
          message="{path}: stored results are stale ({why}); recomputing them",
          then="{why} reads the weights in {checkpoint} changed, and the loader then names the altered file (case "
               "`weight-file-with-a-flipped-byte` above)"),
    Probe("deleted-weight-hash-record", "delete a checkpoint's weights.sha256.json", OUTCOMES[1],
          ("checkpoint-without-its-weight-hashes",), case="checkpoint-without-its-weight-hashes"),
    Probe("unreadable-image-in-a-study-folder",
          "an unreadable .png or two files of one name in source/, run as a study",
          OUTCOMES[2], ("test_folder_data.py::test_a_folder_warning_reaches_the_results_and_the_chapter",),
          case="corrupt-image-skipped-by-default",
          then="the warning is kept with the results and listed in the chapter"),
    Probe("rerun-with-another-model-or-data-options",
          "rerun `studies --study pareto --dataset folder:<path>` with another "
          "--model or --data-options", OUTCOMES[0],
          ("test_run_studies.py::test_another_model_or_data_options_make_the_chapter_stale_and_say_why",),
          message="{study} / {dataset} / {profile}: executing ({reason})",
          then="{reason} reads its parameters changed (model), or (data_options), whichever changed"),
    Probe("plain-http-address", "download from a plain http:// address", OUTCOMES[1],
          ("plain-http-download-address", "test_download.py::test_plain_http_is_refused_unless_allowed"),
          case="plain-http-download-address"),
    Probe("file-changed-during-a-resumed-download",
          "resume a partial download from a server that sends only Last-Modified, after "
          "the file changed within the same second", OUTCOMES[3],
          ("test_download.py::test_without_a_strong_etag_an_interrupted_transfer_restarts",
           "test_download.py::test_resume_across_a_changed_file_is_not_spliced"),
          then="the transfer restarts from zero, so no file is spliced from two versions"),
    Probe("first-download-of-a-file", "a first download records its hash as the reference", OUTCOMES[2],
          ("test_download.py::test_a_first_download_shows_its_hash_and_the_lock_marks_it",),
          message="recorded SHA-256 {sha256} of {file} (from its first download, {url}) in {lock}; later downloads "
                  "are checked against it. The host publishes no checksum: compare this one with any the publisher "
                  "or a colleague's copy gives before you rely on it",
          then="the lock file marks the hash as recorded from a download"),
    Probe("parameter-the-notebook-does-not-have", "`-p steps 0` on a notebook without a steps parameter", OUTCOMES[1],
          ("test_notebooks.py::test_a_parameter_the_study_does_not_have_stops_it_before_any_work",),
          message="unknown {parameter} of {study}: {names}; its parameters: {parameters}",
          then="{parameter} reads \"parameter\" for one name and \"parameters\" for more; for `-p steps 0` on velocity, "
               "{names} is 'steps' and {parameters} begins dataset, profile, methods"),
    Probe("factor-1-through-data-options", "data_options {\"factor\": 1} where --factor 1 was refused", OUTCOMES[1],
          ("data-options-with-factor-1",), case="data-options-with-factor-1"),
    Probe("one-huge-png-in-a-folder", "one 8000 × 8000 PNG in a folder", OUTCOMES[1],
          ("test_folder_data.py::test_one_8000_pixel_image_and_a_folder_over_the_total_budget_are_refused_before_decoding",
           "folders-over-the-pixel-budget"),
          message="image {path} is {w} x {h} = {pixels} pixels by its header, over the limit of {max_pixels} "
                  "(max_pixels); it was not decoded. Downscale or tile it first, or pass a larger max_pixels if the "
                  "file is genuine",
          then="refused from its header before decoding; a folder over the total budget is refused the same way "
               "(case `folders-over-the-pixel-budget` above)"),
    Probe("a-string-as-an-ovg-step-size",
          "OVG(eta_hf=\"abc\")", OUTCOMES[1], ("ovg-step-size-given-as-a-string",),
          case="ovg-step-size-given-as-a-string"),
    Probe("read-only-folder-above-the-results-root", "a results root whose parent is read-only", OUTCOMES[1],
          ("results-root-in-a-read-only-folder",), case="results-root-in-a-read-only-folder",
          then="nothing is computed: the check comes before any work"),
    Probe("interrupted-command-line-study", "interrupt a CLI study (Ctrl-C or SIGTERM)", OUTCOMES[3],
          ("test_run_studies.py::test_an_interrupted_chapter_leaves_no_hidden_copy",
           "test_run_studies.py::test_a_terminated_cli_study_leaves_no_hidden_copy"),
          then="no hidden `book/studies/.<chapter>.ipynb.tmp.ipynb` is left behind"),
    Probe("datasets-page-against-the-download-code",
          "the datasets page describing hosts and checks other than the download code uses",
          OUTCOMES[4], ("test_download.py::test_the_datasets_doc_describes_what_the_code_does",),
          then="the page gives the https hosts and the SHA-256 checks as the code does them"),
]


def _defined_tests(file: str) -> set[str]:
    return set(re.findall(r"^def (test_\w+)\(", (ROOT / "tests" / file).read_text(), re.M))


def source_strings(root: Path = ROOT / "src") -> list[str]:
    """Every string the library's source writes, as the parser joins it: a literal, or an f-string's literal parts
    (implicitly concatenated pieces joined, each filled-in value a break)."""
    import ast

    out = []
    for f in root.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.JoinedStr):
                out += [v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                out.append(node.value)
    return out


def template_fragments(template: str) -> list[str]:
    """The literal fragments of a message template: the text between its {name} placeholders and "..." cuts, each
    with at least four letters or digits (shorter ones, such as "))", may be split across strings in the source)."""
    parts = re.split(r"\{\w+\}|\.\.\.", template)
    return [p for p in parts if len(re.sub(r"\W", "", p)) >= 4]


def unmatched_fragments(template: str, strings: list[str]) -> list[str]:
    """The fragments of ``template`` that no string of the source holds (none: the message is the code's)."""
    return [p for p in template_fragments(template) if not any(p in s for s in strings)]


def test_every_fault_that_could_pass_unnoticed_is_proved_by_a_test_and_recorded():
    """Each probe names tests that exist (or catalogue cases), a known outcome, and a message that is the code's:
    a catalogue case's message as raised, or a template whose every fragment the library's source writes; the
    reliability record and docs/errors.md carry the same rows."""
    bad = {c.id for c in BAD_INPUTS}
    strings = source_strings()
    for probe in SILENT_BEFORE:
        assert probe.outcome in OUTCOMES, probe.id
        assert probe.proof, probe.id
        for ref in probe.proof:
            if "::" in ref:
                file, name = ref.split("::")
                assert name in _defined_tests(file), f"{probe.id}: no test {ref}"
            else:
                assert ref in bad, f"{probe.id}: no BAD_INPUTS case {ref}"
        assert not (probe.case and probe.message), probe.id
        assert probe.case in bad | {""}, probe.id
        if probe.message:
            assert template_fragments(probe.message), probe.id
            assert not unmatched_fragments(probe.message, strings), f"{probe.id}: the library never says " \
                f"{unmatched_fragments(probe.message, strings)}"
        assert probe.case or probe.message or probe.then, probe.id
    assert len({p.id for p in SILENT_BEFORE}) == len(SILENT_BEFORE)
    record = json.loads(RECORD.read_text())
    assert record["silent_before"]["cases"] == [_probe_row(p, _messages(record)) for p in SILENT_BEFORE]
    text = DOC.read_text()
    assert all(f"`{p.id}`" in text for p in SILENT_BEFORE)
    assert f"{len(SILENT_BEFORE)} faults that could pass unnoticed" in text


def test_a_template_that_the_source_does_not_write_is_caught():
    """The check behind the probes can fail: a paraphrase of a real message is not matched."""
    strings = source_strings()
    assert not unmatched_fragments("cached cell {path} {why}; recomputing it",
                                   strings)
    assert unmatched_fragments("the checkpoint has no weights.sha256.json, so its weights cannot be verified", strings)
    assert unmatched_fragments("refusing plain http ...; use an https:// address, or allow http explicitly", strings)


def _messages(record: dict) -> dict:
    """{BAD_INPUTS id: its message as raised} from the record."""
    return {r["id"]: r["what_the_user_sees"] for r in record["cases"]}


def _probe_row(p: Probe, messages: dict) -> dict:
    return {"id": p.id, "fault": p.fault, "outcome": p.outcome,
            "what_the_user_sees": messages.get(p.case, "") if p.case else p.message, "then": p.then,
            "tests": list(p.proof)}


def _counts(rows) -> dict:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    return counts


def _placeholders(case: BadInput, msg: str, tmp: Path) -> str:
    """The message as raised, with what changes from run to run (folders, port, date, hashes) as placeholders."""
    msg = msg.replace(str(tmp), "{tmp}").replace(str(_checkpoint().parent), "{checkpoints}")
    # the loopback server's port, the recording date and the hashes of archives made now change from run to run
    msg = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:{port}", msg)
    msg = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", "{date}", msg)
    msg = re.sub(r"\b[0-9a-f]{64}\b", "{sha256}", msg)
    msg = re.sub(r"(?<=[a-z]-)[0-9a-f]{12}\b", "{hash}", msg)  # a checkpoint folder's configuration hash
    return re.sub(r"\s+", " ", msg).strip()


# A message names a fix when it tells the reader what to do: an instruction, or the valid choices to pick from.
# One that only states what is wrong ("steps must be an integer >= 1, got 0") does not, and is counted apart.
FIX_WORDS = re.compile(
    r"\b(valid \w+:|these results hold:|its parameters:|pass |use |delete|rerun|run the same|restore|unset|"
    r"make (it|them) |chmod|crop|convert|write it as|e\.g\.|download (it )?again|download and prepare|lower the|"
    r"raise the limit|train it longer|compute it again|downscale|recomputing it|ask for|choose|allow http)", re.I)
OUTCOME_FIX, OUTCOME_RULE, OUTCOME_WARNED = ("refused with the fix named", "refused, naming only what is wrong",
                                             "warned and recovered")


def names_a_fix(message: str) -> bool:
    """Whether ``message`` tells the reader what to do (not only what is wrong)."""
    return bool(FIX_WORDS.search(message))


def _outcome(case: BadInput, message: str) -> str:
    if issubclass(case.error, Warning):
        return OUTCOME_WARNED
    return OUTCOME_FIX if names_a_fix(message) else OUTCOME_RULE


_URL = re.compile(r"\b(?:https?|ftp)://[^\s;,()'\"]*[^\s;,()'\".:]")


def _md(text: str) -> str:
    """``text`` as Markdown prose: `code spans` kept as typed (a code span shows `<` as it is), an address set in a
    code span (linkify would turn the part before a {port} placeholder into a link of its own), and elsewhere
    '<', '>' as entities (they would be read as HTML tags and vanish) and '$', '*' escaped (they would start maths
    or emphasis)."""
    parts = re.split(r"(`[^`]*`)", text)
    parts = [q for p in parts for q in ([p] if p.startswith("`") else re.split(f"({_URL.pattern})", p))]
    parts = [f"`{p}`" if _URL.fullmatch(p) else p for p in parts]
    return "".join(p if p.startswith("`") and p.endswith("`") and len(p) > 1 else
                   p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("$", "\\$")
                   .replace("*", "\\*") for p in parts)


# a command line inside a message: the program, up to two words (subcommand, its argument), then options with at
# most one value each; a comma, semicolon, parenthesis or a word after an option's value ends it
_ARG = r"[^\s;,()`-][^\s;,()`]*"
_COMMAND = re.compile(rf"python -m [\w.]+(?: {_ARG}){{0,2}}(?: --?[\w-]+(?: {_ARG})?)*")


def _commands_as_code(text: str) -> str:
    """``text`` with every command line outside a code span set in one (a command would otherwise wrap at a '--'
    and read as a dash)."""
    parts = re.split(r"(`[^`]*`)", text)
    text = "".join(p if p.startswith("`") else _COMMAND.sub(lambda m: f"`{m.group(0)}`", p) for p in parts)
    parts = re.split(r"(`[^`]*`)", text)  # then a lone option named in prose
    return "".join(p if p.startswith("`") else re.sub(r"(?<![\w`-])--[a-z][\w-]*", lambda m: f"`{m.group(0)}`", p)
                   for p in parts)


def _case_block(row: dict) -> str:
    """One case of the page: what was wrong, where it is caught, the error and outcome, then the message quoted."""
    return (f"- **{_md(_commands_as_code(row['fault']))}** (`{row['id']}`): caught by `{row['caught_by']}`, `{row['error']}`, "
            f"{row['outcome']}.\n\n  > {_md(_commands_as_code(row['what_the_user_sees']))}\n")


RECORD = ROOT / "benchmarks" / "results" / "reliability.json"


def _record(cases_and_messages) -> dict:
    """The reliability record: every probed fault, what the user sees, and how it ends (counts by outcome)."""
    rows = [{"id": c.id, "fault": c.what, "caught_by": c.where, "error": c.error.__name__, "outcome": _outcome(c, m),
             "what_the_user_sees": m} for c, m in cases_and_messages]
    messages = {r["id"]: r["what_the_user_sees"] for r in rows}
    silent = [_probe_row(p, messages) for p in SILENT_BEFORE]
    return {"what": "bad inputs and faults probed by tests/test_reliability.py (BAD_INPUTS); each is also a test",
            "counts": _counts(rows), "total": len(rows), "cases": rows,
            "silent_before": {"what": "faults that could give a wrong or stale number with no word "
                                      "(tests/test_reliability.py SILENT_BEFORE), each proved by the tests named",
                              "counts": _counts(silent), "total": len(silent), "cases": silent}}


def _counts_text(counts: dict) -> str:
    return "; ".join(f"{n} {k}" for k, n in counts.items())  # outcomes hold commas ("recomputed, saying why")


def write_doc() -> None:
    """Regenerate docs/errors.md (and the record) from BAD_INPUTS with the messages as raised now."""
    seen = []
    for case in BAD_INPUTS:
        with tempfile.TemporaryDirectory() as d:
            seen.append((case, _placeholders(case, trigger(case, Path(d)), Path(d))))
    record = _record(seen)
    RECORD.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    head = DOC.read_text().split("<!-- table -->")[0] if DOC.exists() else "# Bad input and its messages\n\n"
    DOC.write_text(head + doc_tail(record))


def doc_tail(record: dict) -> str:
    """The generated part of docs/errors.md: one short block per case (a table of five columns does not fit the
    book's text column), then the faults that could pass unnoticed."""
    return (f"<!-- table -->\n\n## Each bad input and its message\n\n{record['total']} cases: "
            f"{_counts_text(record['counts'])} (the record: `benchmarks/results/reliability.json`). A message counts "
            "as naming the fix when it says what to do (an instruction, or the valid choices); the others say what "
            "is wrong and what is allowed. Each case gives the bad input, the function that catches it, the error "
            "raised and how it ends, then the message as the code raises it.\n\n"
            + "\n".join(_case_block(r) for r in record["cases"]) + _silent_doc(record["silent_before"]))


def _silent_doc(silent: dict) -> str:
    blocks = [f"- **{_md(_commands_as_code(r['fault']))}** (`{r['id']}`): {r['outcome']}"
              + (f"; {_md(r['then'])}" if r["then"] and not r["what_the_user_sees"] else "") + ".\n\n"
              + (f"  > {_md(_commands_as_code(r['what_the_user_sees']))}\n\n" if r["what_the_user_sees"] else "")
              + (f"  {_md(r['then'][:1].upper() + r['then'][1:])}.\n\n" if r["then"] and r["what_the_user_sees"]
                 else "")
              # one test a line: a test name is often as long as the text column, and a comma or full stop after
              # it would wrap onto a line of its own
              + "  Proved by:\n\n" + "".join(f"  - `{t}`\n" for t in r["tests"]) for r in silent["cases"]]
    return ("\n## Faults that could pass unnoticed\n\nEach fault below could give a wrong or stale number with no "
            f"word if nothing checked for it. {silent['total']} faults that could pass unnoticed, and what happens "
            f"instead: {_counts_text(silent['counts'])}. Each is made and checked by the tests named (a test file and "
            "function, or a case of the list above). A quoted line is the message as the code writes it: a case's message "
            "as raised, or its template, with {name} where the code fills in a value.\n\n" + "\n".join(blocks))


# --- papermill parameters: `-p seeds "[0]"` arrives as a string -------------------------------------------------

def _papermill(tmp: Path, *params: str) -> subprocess.CompletedProcess:
    """Execute notebooks/main_results.ipynb on the smoke profile with the papermill command line."""
    cmd = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / "main_results.ipynb"), str(tmp / "out.ipynb"),
           "-p", "profile", "smoke", "-p", "dataset", "ihc-sr", "-p", "methods", "ddim",
           "-p", "results_root", str(tmp / "results"), *params, "--cwd", str(ROOT), "--no-progress-bar"]
    env = {**os.environ, "SPECTRAL_COLLAPSE_CHECKPOINTS": str(tmp / "ck")}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)


def test_papermill_bad_list_parameter_fails_at_once_with_the_fix(tmp_path):
    proc = _papermill(tmp_path, "-p", "seeds", "abc")
    assert proc.returncode != 0
    out = (tmp_path / "out.ipynb").read_text()
    assert "seeds must be a whole number such as 3, got 'abc'" in out
    assert not (tmp_path / "ck").exists() and not (tmp_path / "results").exists()  # nothing trained or computed


@pytest.mark.slow
def test_papermill_list_parameter_given_as_a_string_is_accepted(tmp_path):
    proc = _papermill(tmp_path, "-p", "seeds", "[0]")
    assert proc.returncode == 0, proc.stderr[-3000:]
    ds = xr.load_dataset(tmp_path / "results" / "main_results" / "ihc-sr-smoke.nc", engine="h5netcdf")
    assert ds["seed"].values.tolist() == [0] and ds["method"].values.tolist() == ["ddim"]


# --- non-finite samples in a study ---------------------------------------------------------------------------------

def _nan_models(sample: int, t_threshold: float):
    sched = VPSchedule()
    D = EpsDenoiser(NaNNet(GaussianOracleNet("eps", schedule=sched), sample, t_threshold, label=0), sched)
    return {"eps": D}


def test_study_marks_nonfinite_samples_and_tables_exclude_them(tmp_path):
    """A deterministic method translates every seed's crops in one batch (here 16, one batch): the net breaks input
    3 of that batch, so exactly one crop fails, in the seed whose crops hold it; it is marked there, left out of
    the tables and counted once."""
    bad, thr, steps = 3, 500.0, profiles.get_profile("smoke").steps
    models = _nan_models(bad, thr)
    D = models["eps"]
    grid = default_sigmas(D, steps).flip(0)
    # Euler inversion under the source label evaluates the net at sigma_i: the first step above t = 500 breaks
    expected = next(i for i in range(steps) if float(D.time_label(max(float(grid[i]), D.sigma_min))) > thr)
    with pytest.warns(RuntimeWarning, match=r"ddim: 1 of \d+ test crops of seed \d+ failed \(non-finite values in 1"), \
            pytest.warns(RuntimeWarning, match=rf": {bad} at step {expected};"):
        ds = run_translation_study("nan", "ihc-sr", "smoke", labels=["ddim"], seeds=[0, 1], models=models,
                                   progress=False, batch_size=16)
    union = sorted(int(c) for c in np.unique(ds["crop"].values))
    broken = union[bad]                                  # the crop at position 3 of the one translated batch
    cell = ds.sel({"method": "ddim"})
    n = ds.sizes["sample"]
    for seed in (0, 1):
        finite = ds["crop"].sel(seed=seed).values != broken
        np.testing.assert_array_equal(cell["finite"].sel(seed=seed).values, finite)
        np.testing.assert_array_equal(cell["nonfinite_step"].sel(seed=seed).values, np.where(finite, -1, expected))
        psnr = cell["psnr"].sel(seed=seed).values
        assert np.isnan(psnr[~finite]).all() and np.isfinite(psnr[finite]).all()
    assert np.isfinite(cell["s_g"].values).all()  # Gaussianity of the finite latents only
    table = summary(ds).set_index(["method", "metric"])
    for metric in ("psnr", "s_hf", "s_lf", "s_dc"):
        vals = cell[metric].values                   # (seed, sample), NaN where failed
        assert table.loc[("ddim", metric), "mean"] == pytest.approx(np.nanmean(vals, axis=1).mean(), rel=1e-12)
        assert table.loc[("ddim", metric), "failed"] == 1 and table.loc[("ddim", metric), "n"] == 2 * n - 1
    assert "nan" not in format_summary(ds).to_string().lower()
    save_results(ds, tmp_path / "nan.nc")  # the flags survive the results file's round trip
    stored = xr.load_dataset(tmp_path / "nan.nc", engine="h5netcdf")
    np.testing.assert_array_equal(stored["finite"].values, ds["finite"].values)


# --- determinism ---------------------------------------------------------------------------------------------------

DET_LABELS = ["ddim", "taba", "ovg"]  # deterministic, per-sample noise, gradient guidance


def _untrained_unet():
    torch.manual_seed(0)
    return {"eps": tiny_training()[0].build().eval()}


def _numbers(ds: xr.Dataset) -> xr.Dataset:
    """The data without provenance (creation time, git state)."""
    out = ds.copy()
    out.attrs = {}
    return out


def test_same_seed_same_numbers_and_batch_size_does_not_matter(tmp_path):
    kw = dict(labels=DET_LABELS, seeds=[0, 1], progress=False)
    a = run_translation_study("det", "ihc-sr", "smoke", models=_untrained_unet(), batch_size=8, **kw)
    b = run_translation_study("det", "ihc-sr", "smoke", models=_untrained_unet(), batch_size=8, **kw)
    xr.testing.assert_identical(_numbers(a), _numbers(b))  # bit for bit
    c = run_translation_study("det", "ihc-sr", "smoke", models=_untrained_unet(), batch_size=3, **kw)
    # the per-sample noise is keyed by (seed, test index), so the batches only change how the convolutions group
    # their sums (CPU kernels differ with the batch size): equal to float32 round-off carried through 16 steps,
    # measured at most 6e-5 on the [-1, 1] scale without guidance; we allow 2e-4, a 40th of an 8-bit grey level.
    # OVG's gradient drift amplifies that round-off (2.4e-4 measured on an AMD EPYC CPU): 1e-3 for it, still a
    # tenth of a grey level, and far below what a batch mixing samples would give.
    for v in ("latents", "images"):
        for m in DET_LABELS:
            tol = 1e-3 if m == "ovg" else 2e-4
            np.testing.assert_allclose(c[v].sel({"method": m}).values, a[v].sel({"method": m}).values, rtol=0,
                                       atol=tol, err_msg=f"{v} {m}")
    for v in ("psnr", "s_hf", "s_lf", "s_dc", "s_g"):
        np.testing.assert_allclose(c[v].values, a[v].values, rtol=1e-4, atol=1e-4, err_msg=v)
    taba = a["latents"].sel({"method": "taba"})
    assert not np.allclose(taba.sel(seed=0).values, taba.sel(seed=1).values)  # the seed does reach the noise


# --- the soak run --------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_soak_script_on_smoke(tmp_path):
    out = tmp_path / "soak.json"
    env = {**os.environ, "SPECTRAL_COLLAPSE_CHECKPOINTS": str(tmp_path / "ck")}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "soak.py"), "--profile", "smoke",
                           "--study", "main_results", "--dataset", "ihc-sr", "--work", str(tmp_path / "work"),
                           "--out", str(out)], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=3600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    rep = json.loads(out.read_text())
    assert rep["identical"] is True and rep["within_bound"] is True
    assert [r["round"] for r in rep["rounds"]] == [1, 2]
    assert all(s["peak_rss_mb"] > 50 for r in rep["rounds"] for s in r["studies"])  # the kernels were measured


def _load_soak():
    import importlib.util

    spec = importlib.util.spec_from_file_location("soak", ROOT / "scripts" / "soak.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_soak_compares_rounds_without_their_stamps_and_flags_memory_growth(tmp_path):
    """Two rounds' results that differ only in provenance stamps are identical; a changed variable, a file missing
    from one round and a peak above the bound are each named."""
    soak = _load_soak()
    a, b = tmp_path / "r1", tmp_path / "r2"
    for root, created, value in ((a, "monday", 1.0), (b, "tuesday", 1.0)):
        (root / "s").mkdir(parents=True)
        xr.Dataset({"x": ("i", [value, 2.0])}, attrs={"created": created, "steps": 3}).to_netcdf(
            root / "s" / "d.nc", engine="h5netcdf")
        (root / "s" / "c.json").write_text(json.dumps({"eta": 1e-6, "created": created}))
    assert soak.compare_results(a, b) == (["s/c.json", "s/d.nc"], [])
    xr.Dataset({"x": ("i", [1.5, 2.0])}, attrs={"steps": 3}).to_netcdf(b / "s" / "d.nc", engine="h5netcdf")
    (a / "s" / "e.json").write_text("{}")
    rel = abs(1.0 - 1.5) / 2.0   # the largest change over the largest magnitude
    assert soak.compare_results(a, b)[1] == [f"s/d.nc: differs (x: {rel:.1e})", "s/e.json: only in round 1"]

    def rnd(r, peak):
        return {"round": r, "wall_s": 1.0, "studies": [{"study": "s", "dataset": "d", "wall_s": 1.0,
                                                         "peak_rss_mb": peak}]}

    rep = soak.report("smoke", [rnd(1, 1000.0), rnd(2, 1150.0)], ["s/d.nc"], [], rel=0.1, abs_mb=100.0)
    assert rep["identical"] and rep["within_bound"]
    rep = soak.report("smoke", [rnd(1, 1000.0), rnd(2, 1250.0)], ["s/d.nc"], ["x"], rel=0.1, abs_mb=100.0)
    assert not rep["identical"] and rep["growth"] == ["s/d peak 1000.0 -> 1250.0 MB"]


def test_an_unwritable_cache_beside_the_results_is_refused_before_any_work(tmp_path, monkeypatch):
    """The results root is writable but the cell cache beside it cannot be created (its place is taken by a file, or
    its folder is read-only): the error comes before the study runs and names the cache and the option, instead of
    a bare OSError after the first computed cell."""
    from spectral_collapse.pipeline.runner import run_study
    import spectral_collapse.studies.main_results as translation

    (tmp_path / "results").mkdir()
    (tmp_path / "cache").write_text("a file where the cache folder would go")
    monkeypatch.setattr(translation, "run_main_results", lambda spec, ctx: pytest.fail("the study ran first"))
    with pytest.raises(PermissionError, match=r"cannot write cells under the cell cache .*cache/cells \(.*cache is "
                                              r"not a folder\); nothing was computed.*cache_root"):
        run_study("main_results", dataset="ihc-sr", profile="smoke", results_root=tmp_path / "results")


if __name__ == "__main__":
    torch.set_num_threads(1)
    write_doc()
    print(f"wrote {DOC}")
