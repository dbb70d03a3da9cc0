"""Results store: exact round trip, attr sanitising, provenance, atomic writes."""
from __future__ import annotations

import json
from importlib import metadata

import h5netcdf
import numpy as np
import pytest
import xarray as xr

from spectral_collapse.framework.store import (CHECKSUM, content_digest, load_results, provenance, results_path,
                                             sanitise_attrs, save_results)


def _dataset() -> xr.Dataset:
    rng = np.random.default_rng(0)
    psnr = rng.normal(20.0, 2.0, size=(3, 2, 4))
    psnr[0, 1, 2] = np.nan
    return xr.Dataset(
        {
            "psnr": (("method", "seed", "sample"), psnr),
            "s_hf": (("method", "seed", "sample"), rng.random((3, 2, 4)).astype(np.float32)),
            "diverged": (("method", "seed"), np.array([[True, False], [False, False], [True, True]])),
            "nfe": ("method", np.array([100, 200, 2**40], dtype=np.int64)),
            "note": ("method", np.array(["ok", "ok", "ünïcode"])),
        },
        coords={
            "method": ["DDIM", "EDM", "TABA"],
            "seed": np.array([0, 1], dtype=np.int64),
            "sample": np.arange(4, dtype=np.int64),
            "family": ("method", np.array(["euler", "heun", "taba"])),
        },
        attrs={"study": "main_results", "spec": json.dumps({"steps": 50}), "scale": 8, "sigma_max": 80.0,
               "sizes": [32, 64]},
    )


def test_round_trip_is_identical(tmp_path):
    ds = _dataset()
    ds["psnr"].attrs["units"] = "dB"
    path = save_results(ds, tmp_path / "r.nc")
    back = load_results(path)
    for key in provenance():
        assert key in back.attrs
    assert back.attrs.pop(CHECKSUM) == content_digest(xr.load_dataset(path, engine="h5netcdf"))
    back.attrs = {k: v for k, v in back.attrs.items() if k not in provenance()}
    # list attrs come back as arrays; compare them by value, everything else exactly
    np.testing.assert_array_equal(back.attrs.pop("sizes"), ds.attrs["sizes"])
    expected = ds.copy()
    expected.attrs = {k: v for k, v in ds.attrs.items() if k != "sizes"}
    xr.testing.assert_identical(back, expected)
    for name in ("nfe", "seed", "sample"):
        assert back[name].dtype == np.int64
    assert back["diverged"].dtype == bool
    assert back["nfe"].values[2] == 2**40
    assert np.isnan(back["psnr"].values[0, 1, 2])
    assert back["method"].values.tolist() == ["DDIM", "EDM", "TABA"]


def test_attrs_are_sanitised_and_input_is_untouched(tmp_path):
    ds = _dataset()
    spec = {"method": "TABA", "guidance": None, "nested": {"a": [1, 2]}}
    ds.attrs.update(spec_dict=spec, flag=True, nothing=None, mixed=[1, "a"], npflag=np.bool_(False))
    ds["psnr"].attrs["higher_is_better"] = True
    before = {k: v for k, v in ds.attrs.items()}
    back = load_results(save_results(ds, tmp_path / "r.nc"))
    assert json.loads(back.attrs["spec_dict"]) == spec
    assert back.attrs["flag"] == 1 and back.attrs["npflag"] == 0
    assert back.attrs["nothing"] == ""
    assert json.loads(back.attrs["mixed"]) == [1, "a"]
    assert back["psnr"].attrs["higher_is_better"] == 1
    assert ds.attrs == before and ds["psnr"].attrs["higher_is_better"] is True


def test_sanitise_attrs_values():
    out = sanitise_attrs({"b": False, "n": None, "d": {"x": 1}, "s": "t", "f": 1.5, "ls": ["a", "b"]})
    assert out == {"b": 0, "n": "", "d": '{"x": 1}', "s": "t", "f": 1.5, "ls": ["a", "b"]}


def test_provenance_names_real_versions(tmp_path):
    back = load_results(save_results(_dataset(), tmp_path / "r.nc"))
    versions = json.loads(back.attrs["versions"])
    assert versions["PyWavelets"] == metadata.version("PyWavelets")
    assert versions["xarray"] == xr.__version__
    assert back.attrs["git_dirty"] in (-1, 0, 1)
    commit = back.attrs["git_commit"]
    assert commit == "" or (len(commit) == 40 and int(commit, 16) >= 0)


def test_save_overwrites_a_file_that_is_open(tmp_path):
    path = tmp_path / "r.nc"
    save_results(_dataset(), path)
    with xr.open_dataset(path, engine="h5netcdf") as held:
        new = _dataset().assign(psnr=lambda d: d.psnr + 1)
        save_results(new, path)
        assert held.sizes["method"] == 3
    np.testing.assert_allclose(load_results(path)["psnr"], new["psnr"])


class _Interrupt(BaseException):
    """Stands for KeyboardInterrupt / SystemExit arriving in the middle of a write."""


@pytest.mark.parametrize("exc", [RuntimeError, _Interrupt])
def test_interrupted_write_leaves_no_file(tmp_path, monkeypatch, exc):
    calls = []

    def failing_setitem(self, key, value):
        calls.append(self.name)
        raise exc("disk pulled out mid-write")

    monkeypatch.setattr(h5netcdf.Variable, "__setitem__", failing_setitem)
    path = tmp_path / "sub" / "r.nc"
    with pytest.raises(exc):
        save_results(_dataset(), path)
    assert calls, "the write was not actually interrupted inside h5netcdf"
    assert not path.exists()
    assert list(path.parent.iterdir()) == []


def test_interrupted_overwrite_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "r.nc"
    save_results(_dataset(), path)
    old = path.read_bytes()

    def failing_setitem(self, key, value):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(h5netcdf.Variable, "__setitem__", failing_setitem)
    with pytest.raises(RuntimeError):
        save_results(_dataset().assign(psnr=lambda d: d.psnr * 0), path)
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]


def test_results_path_layout_and_validation():
    assert results_path("main_results", "ihc-sr", "quick").as_posix() == "data/results/main_results/ihc-sr-quick.nc"
    assert results_path("pca", "edges", "smoke", root="/x").as_posix() == "/x/pca/edges-smoke.nc"
    with pytest.raises(ValueError, match="profile"):
        results_path("pca", "edges", "my-profile")
    with pytest.raises(ValueError, match="dataset"):
        results_path("pca", "../etc", "quick")


def test_missing_file_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"spectral_collapse\.cli studies --profile smoke"):
        load_results(tmp_path / "main_results" / "ihc-sr-smoke.nc")


def test_one_element_lists_survive_the_round_trip(tmp_path):
    """netCDF gives a one-element attribute back as a scalar; the store gives lists back as lists."""
    ds = _dataset()
    ds.attrs.update(steps_grid=[4], labels=["ddim"], grid=[2, 5, 10], scalar=4)
    ds["psnr"].attrs["valid"] = [1.5]
    back = load_results(save_results(ds, tmp_path / "r.nc"))
    assert isinstance(back.attrs["steps_grid"], np.ndarray) and back.attrs["steps_grid"].tolist() == [4]
    assert back.attrs["labels"] == ["ddim"]
    assert back.attrs["grid"].tolist() == [2, 5, 10] and back.attrs["sizes"].tolist() == [32, 64]
    assert back.attrs["scalar"] == 4 and not isinstance(back.attrs["scalar"], np.ndarray)  # scalars stay scalars
    assert back["psnr"].attrs["valid"].tolist() == [1.5]
    assert "list_attrs" not in back.attrs
    again = load_results(save_results(back, tmp_path / "r2.nc"))  # and again, from what was read
    assert again.attrs["steps_grid"].tolist() == [4] and again.attrs["labels"] == ["ddim"]


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_damaged_results_file_names_itself_and_how_to_recompute(tmp_path, damage):
    from spectral_collapse.framework.store import ResultsFileError

    path = save_results(_dataset(), tmp_path / "decorrelation" / "ihc-sr-smoke.nc")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not a netCDF file at all")
    with pytest.raises(ResultsFileError) as err:
        load_results(path)
    msg = str(err.value)
    assert str(path) in msg and "rerun=True" in msg and "--force" in msg
    assert "run_study('decorrelation', dataset='ihc-sr', profile='smoke', rerun=True)" in msg
    assert "cli studies --study decorrelation --dataset ihc-sr --profile smoke --force" in msg
    assert isinstance(err.value, OSError)  # what the runner catches to recompute a study's own file


def test_an_unknown_profile_with_a_hyphen_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown profile 'no-such-profile'; valid profiles: smoke, quick, paper"):
        results_path("pca", "ihc-sr", "no-such-profile")


def test_an_atomic_write_makes_the_file_and_its_rename_durable(tmp_path, monkeypatch):
    """The file's bytes and then its folder entry are fsynced, so a crash after the write keeps the new file."""
    import os
    import stat

    from spectral_collapse.train.cache import atomic_write_bytes

    synced = []
    real = os.fsync

    def record(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        return real(fd)

    monkeypatch.setattr(os, "fsync", record)
    atomic_write_bytes(tmp_path / "sub" / "f.bin", b"abc")
    assert (tmp_path / "sub" / "f.bin").read_bytes() == b"abc"
    assert synced == [False, True]   # the file first, then the folder holding the rename


def test_large_numeric_variables_are_stored_deflated_and_read_back_exactly(tmp_path):
    """A (4, 3, 32, 32) float32 image stack with repeated rows, a large boolean mask and a small array: the large
    ones are stored with HDF5's shuffle and zlib filters, the small one as it is; every value reads back bit for bit
    and the file is smaller than the same results written plainly."""
    from spectral_collapse.framework.store import COMPRESS_FROM

    rng = np.random.default_rng(1)
    images = np.repeat(rng.random((4, 3, 32, 1), dtype=np.float32), 32, axis=3)
    ds = xr.Dataset({"images": (("image", "channel", "y", "x"), images),
                     "mask": (("image", "channel", "y", "x"), images > 0.5),
                     "small": ("k", np.arange(3, dtype=np.float64))})
    assert ds["images"].size >= COMPRESS_FROM > ds["small"].size
    path = save_results(ds, tmp_path / "r.nc", add_provenance=False)
    with h5netcdf.File(path, "r") as f:
        assert f["images"].compression == "gzip" and f["images"].shuffle
        assert f["mask"].compression == "gzip" and f["small"].compression is None
    back = load_results(path)
    np.testing.assert_array_equal(back["images"].values, images)
    np.testing.assert_array_equal(back["mask"].values, images > 0.5)
    plain = tmp_path / "plain.nc"
    ds.to_netcdf(plain, engine="h5netcdf")
    assert path.stat().st_size < plain.stat().st_size


def test_compare_folders_names_each_changed_variable_with_its_relative_size(tmp_path):
    """Two results folders: a value moved by float rounding, a timing that changed by a third, an attribute (named),
    a file only in one, and the cells-computed stamp, which says what was cached before and is no difference. Each
    difference is named, and the rounding reads as ~1e-16 beside the timing's 0.3."""
    from spectral_collapse.framework.store import compare_folders, describe

    a, b = tmp_path / "a", tmp_path / "b"
    base = _dataset().assign(time_s=("method", np.array([1.0, 2.0, 3.0])))
    save_results(base, a / "s" / "r.nc")
    psnr = base.psnr.values.copy()
    psnr[1, 0, 0] = np.nextafter(psnr[1, 0, 0], np.inf)   # one unit in the last place
    moved = base.assign(psnr=(base.psnr.dims, psnr), time_s=("method", np.array([1.0, 2.0, 2.0])))
    save_results(moved, b / "s" / "r.nc")
    save_results(base, a / "s" / "same.nc")
    save_results(base.assign_attrs(scale=9), b / "s" / "same.nc")
    save_results(base.assign_attrs(cells='{"computed": 2}'), a / "s" / "cached.nc")   # a stamp of the cache's state
    save_results(base.assign_attrs(cells='{"computed": 1}'), b / "s" / "cached.nc")
    save_results(base, a / "s" / "only.nc")
    files, diffs = compare_folders(a, b, names=("old", "new"))
    assert files == ["s/cached.nc", "s/only.nc", "s/r.nc", "s/same.nc"]
    by = {(d.file, d.variable): d for d in diffs}
    assert set(by) == {("s/only.nc", ""), ("s/r.nc", "psnr"), ("s/r.nc", "time_s"), ("s/same.nc", "")}
    assert by["s/only.nc", ""].what == "only in old" and by["s/same.nc", ""].what == "attributes: scale"
    assert 0 < by["s/r.nc", "psnr"].relative < 1e-15
    assert by["s/r.nc", "time_s"].relative == pytest.approx(1 / 3, rel=0.01)
    lines = describe(diffs)
    assert lines[0] == "s/only.nc: only in old" and lines[2] == "s/same.nc: differs (attributes: scale)"
    assert lines[1] == (f"s/r.nc: differs (psnr: {by['s/r.nc', 'psnr'].relative:.1e}, "
                        f"time_s: {by['s/r.nc', 'time_s'].relative:.1e})")
    assert compare_folders(a / "s", a / "s")[1] == []


@pytest.mark.parametrize("x, y, want", [([1.0, 2.0], [1.0, 2.5], 0.2), ([0.0], [0.0], 0.0),
                                        ([np.nan, 4.0], [np.nan, 2.0], 0.5), ([1.0], [1.0, 2.0], None),
                                        ([np.nan], [1.0], None), (["a"], ["b"], None)])
def test_relative_difference_is_the_largest_change_over_the_largest_size(x, y, want):
    from spectral_collapse.framework.store import relative_difference

    got = relative_difference(np.array(x), np.array(y))
    assert got == want if want is None else got == pytest.approx(want)
