"""Stored results carry a checksum of their numbers and attributes: a results file edited, trimmed, damaged or
unreadable is computed again, and the chapter's run notes say why; so is a file without a checksum, which
``load_results`` refuses naming the file and the fix."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

from probes import probe
from spectral_collapse.pipeline.parameters import run_notes
from spectral_collapse.pipeline.runner import run_study
from spectral_collapse.studies.registry import DECLARED
from spectral_collapse.studies.registry import STUDIES
from spectral_collapse.framework.store import (CHECKSUM, ResultsChecksumError, ResultsUnsignedError, content_digest,
                                             load_results, read_verified, results_path, save_results)

ROOT = Path(__file__).resolve().parents[1]
TRUE_PSNR = 19.78 + 0.01 * np.arange(4)   # what the (stand-in) computation gives
LATENTS = np.linspace(1.0, 2.0, 4 * 64).reshape(4, 64)


def _computed(spec, ctx) -> xr.Dataset:
    """A stand-in for the main results' computation: every declared variable and the latents, no training."""
    n = len(TRUE_PSNR)
    return xr.Dataset({"psnr": ("sample", TRUE_PSNR.copy()), "s_hf": ("sample", np.full(n, 0.5)),
                       "s_lf": ("sample", np.full(n, 0.25)), "s_g": ("sample", np.full(n, 0.1)),
                       "failed": ("sample", np.zeros(n, bool)), "latents": (("sample", "d"), LATENTS.copy())},
                      coords={"sample": np.arange(n)})


@pytest.fixture
def study(tmp_path, monkeypatch):
    """run_study of main_results on the smoke profile with the stand-in computation; returns (run, stored path)."""
    monkeypatch.setitem(STUDIES, "main_results", dataclasses.replace(STUDIES["main_results"], run=_computed, reads=()))
    res = tmp_path / "results"

    def run():
        return run_study("main_results", dataset="ihc-sr", profile="smoke", results_root=res)

    return run, results_path("main_results", "ihc-sr", "smoke", res)


def _recomputed(ds, why: str) -> None:
    np.testing.assert_array_equal(ds["psnr"].values, TRUE_PSNR)
    first = json.loads(ds.attrs["run_warnings"])[0]
    assert "The stored results file" in first and why in first and "computed again" in first
    assert first in run_notes(ds.attrs)          # what the chapter shows above its results


def test_a_psnr_changed_on_disk_is_recomputed_and_the_chapter_says_so(study):
    run, path = study
    first = run()
    assert path.is_file() and read_verified(path).attrs[CHECKSUM]
    with h5py.File(path, "r+") as f:
        f["psnr"][0] = 21.53
    with pytest.raises(ResultsChecksumError, match=rf"{path} does not match its checksum.*rerun=True"):
        load_results(path)
    again = run()
    assert again.attrs["created"] != first.attrs["created"]
    _recomputed(again, "did not match its checksum")
    assert load_results(path)["psnr"].values[0] == TRUE_PSNR[0]   # the stored file is whole again


def test_a_psnr_replaced_by_99_is_recomputed(study):
    run, path = study
    run()
    with h5py.File(path, "r+") as f:
        f["psnr"][...] = 99.0
    _recomputed(run(), "did not match its checksum")


def test_flipped_bytes_in_the_latents_are_recomputed(study):
    run, path = study
    run()
    raw = bytearray(path.read_bytes())
    at = raw.find(LATENTS.astype("<f8").tobytes()[:64])
    assert at > 0, "the latents are stored uncompressed and contiguous"
    raw[at + 3] ^= 0x10
    path.write_bytes(bytes(raw))
    _recomputed(run(), "did not match its checksum")


def test_a_results_file_without_psnr_is_recomputed_even_with_a_fresh_checksum(study):
    """A file rewritten without psnr by a tool that also writes a matching checksum: the study declares psnr."""
    run, path = study
    run()
    trimmed = load_results(path).drop_vars("psnr")
    save_results(trimmed, path, add_provenance=False)
    assert "psnr" not in read_verified(path)
    _recomputed(run(), "lacked psnr")


def test_an_unreadable_results_file_is_recomputed(study):
    run, path = study
    run()
    path.write_bytes(path.read_bytes()[:500])
    _recomputed(run(), "could not be read")


@probe("silent", "a results file with its `content_sha256` deleted and `psnr` set to 99 (published as 99.000)",
       "load_results refuses it naming the file and the fix; run_study and the chapter compute it again, saying why")
def test_a_file_without_a_checksum_is_refused_by_load_results_and_recomputed_by_run_study(study):
    run, path = study
    first = run()
    with h5py.File(path, "r+") as f:
        del f.attrs[CHECKSUM]
        f["psnr"][...] = 99.0
    with pytest.raises(ResultsUnsignedError, match=rf"the results file {path} carries no checksum "
                                                   rf"\(content_sha256\).*rerun=True"):
        load_results(path)
    again = run()
    assert again.attrs["created"] != first.attrs["created"]
    _recomputed(again, "carried no checksum")
    assert read_verified(path).attrs[CHECKSUM] == content_digest(xr.load_dataset(path, engine="h5netcdf"))


@probe("silent", "a results file with its `content_sha256` deleted and a variable (`kid_wav`, here `latents`) "
                 "dropped (the column vanished)", "computed again with the variable back, the chapter saying why")
def test_a_variable_dropped_with_the_checksum_comes_back(study):
    run, path = study
    run()
    trimmed = load_results(path).drop_vars("latents")
    del trimmed.attrs[CHECKSUM]
    trimmed.to_netcdf(path, engine="h5netcdf")           # a tool that writes no checksum
    again = run()
    _recomputed(again, "carried no checksum")
    np.testing.assert_array_equal(again["latents"].values, LATENTS)
    assert "latents" in load_results(path)


@pytest.mark.parametrize("name", ["main_results/ihc-sr-quick.nc", "velocity/ihc-edges-quick.nc"])
def test_committed_results_load_and_keep_their_checksum_through_a_write(tmp_path, name):
    """Committed files load with their checksum; written again, their checksum holds on the way back."""
    ds = load_results(ROOT / "data" / "results" / name)
    path = save_results(ds, tmp_path / name, add_provenance=False)
    back = read_verified(path)
    assert back.attrs[CHECKSUM] == content_digest(back)
    xr.testing.assert_equal(load_results(path), ds)


def test_every_committed_results_file_carries_a_valid_checksum():
    """Stored results are trusted only with their checksum: each committed file carries one that holds."""
    unsigned = []
    for path in sorted((ROOT / "data" / "results").glob("*/*.nc")):
        try:
            read_verified(path)
        except ResultsUnsignedError:
            unsigned.append(str(path.relative_to(ROOT)))
    assert not unsigned, f"{unsigned} carry no checksum: compute them again (make studies)"


def test_every_committed_results_file_holds_what_its_study_declares():
    for path in sorted((ROOT / "data" / "results").glob("*/*.nc")):
        study = path.parent.name
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            missing = [v for v in DECLARED.get(study, ()) if v not in ds.variables]
        assert not missing, f"{path} lacks {missing}"
    assert set(DECLARED) <= set(STUDIES) and all(STUDIES[s].run is not None for s in DECLARED)
