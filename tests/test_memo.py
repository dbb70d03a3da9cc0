"""The one cache (pipeline/memo.py) and the shared cells (framework/cells.py): keyed by content, never by a name."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import xarray as xr

from conftest import oracle_denoiser
from spectral_collapse.inversion import TABA, Euler
from spectral_collapse.pipeline.memo import Memo, fingerprint
from spectral_collapse.framework.cells import StudyContext, NoCache, invert_cell, translate_cell
from spectral_collapse.framework.method_labels import MethodSpec


def _x(n=3, seed=0):
    return torch.randn(n, 3, 8, 8, generator=torch.Generator().manual_seed(seed))


def test_fingerprint_sees_content_and_is_blind_to_names_and_copies():
    a = torch.arange(6.0)
    assert fingerprint(a) == fingerprint(a.clone())
    assert fingerprint(a) != fingerprint(a + 1e-6)
    assert fingerprint(a) != fingerprint(a.double())             # dtype is content
    assert fingerprint(a) != fingerprint(a.reshape(2, 3))        # and so is shape
    assert fingerprint({"a": 1}) != fingerprint({"a": 1.0})      # type-tagged scalars
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})
    D1, D2 = oracle_denoiser("eps"), oracle_denoiser("eps")
    assert fingerprint(D1) == fingerprint(D2)                    # same weights, other objects
    D2.checkpoint = "another-name"                               # a name is not content
    assert fingerprint(D1) == fingerprint(D2)
    with torch.no_grad():
        next(p for p in D2.state_dict().values() if p.is_floating_point()).add_(1e-3)
    assert fingerprint(D1) != fingerprint(D2)
    assert fingerprint(oracle_denoiser("eps", sigma_data=0.5)) == fingerprint(oracle_denoiser("eps", sigma_data=0.5))
    with pytest.raises(TypeError, match="by content"):
        fingerprint(object())


def test_memo_computes_once_then_reads_and_rerun_recomputes(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return xr.Dataset({"v": ("i", np.arange(3.0) + len(calls))})

    key = {"cell": "t", "x": torch.ones(2)}
    m = Memo(tmp_path)
    first = m.cell(key, compute)
    again = Memo(tmp_path).cell(key, compute)
    assert len(calls) == 1 and np.array_equal(first["v"], again["v"])
    refreshed = Memo(tmp_path, refresh=True).cell(key, compute)
    assert len(calls) == 2 and refreshed["v"].values[0] == 2.0
    Memo(tmp_path).cell({"cell": "t", "x": torch.ones(3)}, compute)  # other content: another cell
    assert len(calls) == 3


def test_a_cells_warnings_are_raised_again_whenever_it_is_read_and_a_study_keeps_them(tmp_path):
    """The suite's own warnings of a cell's computation come back when the cell is read from the cache (and so when
    a cluster's worker computed it): a study's run_warnings do not depend on where its cells were computed. A
    library's warning is seen when computing only; the cell read back has no extra attribute."""
    from spectral_collapse.pipeline.memo import WARNINGS_ATTR, CellWarning, own_warnings
    import spectral_collapse.inversion.loop as loop

    def compute():   # a warning raised in the suite's own code, then a library's
        warnings.warn_explicit("3 of 4 samples  became non-finite", RuntimeWarning, loop.__file__, 377)
        warnings.warn("a library's note", UserWarning)   # this file is not the package: not the suite's own
        return xr.Dataset({"v": ("i", np.arange(3.0))})

    runs = []
    for _ in range(2):   # computed, then read
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cell = Memo(tmp_path).cell({"cell": "w"}, compute)
        runs.append((own_warnings(caught), [w.category for w in caught]))
        assert WARNINGS_ATTR not in cell.attrs and list(cell) == ["v"]
    (computed, categories), (read, read_categories) = runs
    assert computed == read and len(computed) == 1 and "non-finite" in computed[0]
    assert UserWarning in categories and read_categories == [CellWarning]

    def failing():
        warnings.warn("a note before the failure", UserWarning)
        raise ValueError("no cell")

    with warnings.catch_warnings(record=True) as caught, pytest.raises(ValueError, match="no cell"):
        warnings.simplefilter("always")
        Memo(tmp_path).cell({"cell": "fails"}, failing)
    assert [str(w.message) for w in caught] == ["a note before the failure"]   # seen, though compute raised


def _slow_cell(root: str, marker: str) -> float:
    """Ask a Memo in ``root`` for one shared cell whose computation takes 1 s and leaves a file in ``marker``."""
    import os
    import time

    def compute():
        with open(os.path.join(marker, f"computed-{os.getpid()}"), "w"):
            pass
        time.sleep(1.0)
        return xr.Dataset({"v": ("i", np.arange(3.0))})

    return float(Memo(root).cell({"cell": "shared"}, compute)["v"].sum())


def test_two_processes_asking_for_one_cell_compute_it_once(tmp_path):
    """The second process waits on the cell's lock and reads what the first stored, instead of computing it again."""
    import concurrent.futures as cf
    import multiprocessing as mp

    marker = tmp_path / "marks"
    marker.mkdir()
    with cf.ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        sums = list(pool.map(_slow_cell, [str(tmp_path / "cells")] * 2, [str(marker)] * 2))
    assert sums == [3.0, 3.0]
    assert len(list(marker.iterdir())) == 1


def test_a_corrupt_cell_is_recomputed_with_a_warning_naming_it(tmp_path):
    key = {"cell": "t"}
    m = Memo(tmp_path)
    m.cell(key, lambda: xr.Dataset({"v": ("i", np.ones(4))}))
    path = m.path(key)
    path.write_bytes(path.read_bytes()[:40])  # truncated
    with pytest.warns(RuntimeWarning, match=str(path.name)) as seen:
        cell = Memo(tmp_path).cell(key, lambda: xr.Dataset({"v": ("i", np.zeros(4))}))
    assert len([w for w in seen if path.name in str(w.message)]) == 1  # said once, not again under the lock
    assert cell["v"].values.sum() == 0
    assert xr.load_dataset(path, engine="h5netcdf")["v"].values.sum() == 0  # healed on disk


def test_a_cell_with_flipped_bytes_that_still_opens_is_recomputed(tmp_path):
    """Damage netCDF does not notice (bytes flipped inside the stored numbers) fails the cell's checksum."""
    key = {"cell": "flip"}
    values = np.arange(4096, dtype=np.float64)
    m = Memo(tmp_path)
    m.cell(key, lambda: xr.Dataset({"v": ("i", values)}))
    path = m.path(key)
    raw = bytearray(path.read_bytes())
    at = bytes(raw).find(values[1000:1010].tobytes())
    assert at > 0
    raw[at:at + 80] = bytes(255 - b for b in raw[at:at + 80])
    path.write_bytes(bytes(raw))
    damaged = xr.load_dataset(path, engine="h5netcdf")["v"].values   # netCDF opens it: the damage is silent
    assert not np.array_equal(damaged, values)
    again = Memo(tmp_path)
    with pytest.warns(RuntimeWarning, match=rf"{path.name} does not match its checksum.*recomputing") as seen:
        cell = again.cell(key, lambda: xr.Dataset({"v": ("i", values)}))
    assert len([w for w in seen if path.name in str(w.message)]) == 1
    np.testing.assert_array_equal(cell["v"].values, values)
    assert (again.hits, again.misses) == (0, 1)
    assert Memo(tmp_path).cell(key, lambda: 1 / 0)["v"].values[1005] == 1005.0   # healed: read, not computed


def test_translation_cells_are_shared_and_follow_model_data_method_and_seed(tmp_path):
    D = oracle_denoiser("eps")
    x = _x()
    memo = Memo(tmp_path)
    ctx = StudyContext(cache=memo)
    ddim = MethodSpec("ddim", "eps", Euler())
    a = translate_cell(ctx, D, x, ddim, seed=0, steps=4, batch_size=2)
    b = translate_cell(StudyContext(cache=memo), oracle_denoiser("eps"), x.clone(), ddim, seed=0, steps=4, batch_size=3)
    assert (memo.misses, memo.hits) == (1, 1)  # same model content, same data: one cell (batch size is not a key)
    np.testing.assert_array_equal(a["output"].values, b["output"].values)
    direct = translate_cell(StudyContext(), D, x, ddim, seed=0, steps=4, batch_size=2)  # NoCache computes
    np.testing.assert_array_equal(a["output"].values, direct["output"].values)
    D2 = oracle_denoiser("eps")
    with torch.no_grad():
        next(p for p in D2.state_dict().values() if p.is_floating_point()).add_(0.01)
    for changed in (dict(D=D2), dict(x=_x(seed=1)), dict(ms=MethodSpec("taba", "eps", TABA())), dict(seed=1),
                    dict(steps=5)):
        kw = dict(D=D, x=x, ms=ddim, seed=0, steps=4) | changed
        before = memo.misses
        translate_cell(ctx, kw["D"], kw["x"], kw["ms"], seed=kw["seed"], steps=kw["steps"], batch_size=2)
        assert memo.misses == before + 1, f"changing {list(changed)} must compute a new cell"
    inv = invert_cell(ctx, D, x, ddim, seed=0, steps=4, batch_size=2)
    assert inv["latent"].shape == (3, 3, 8, 8) and bool(inv["finite"].all())


def test_no_cache_counts_every_cell_as_computed():
    nc = NoCache()
    nc.cell({}, lambda: xr.Dataset())
    nc.cell({}, lambda: xr.Dataset())
    assert (nc.misses, nc.hits) == (2, 0)


def test_memo_leaves_other_runs_temporary_files_alone(tmp_path):
    """A run never deletes another run's files in progress: a stranger's temporary file survives a cell write."""
    m = Memo(tmp_path)
    key = {"cell": "t"}
    m.path(key).parent.mkdir(parents=True)
    stranger = m.path(key).parent / f".{m.path(key).name}.other.tmp"
    stranger.write_text("another process is writing this")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.cell(key, lambda: xr.Dataset({"v": ("i", np.ones(2))}))
    assert stranger.exists()


def test_a_models_digest_is_reused_until_a_weight_or_setting_changes():
    from spectral_collapse.pipeline import memo

    D = oracle_denoiser("eps")
    first = fingerprint(D)
    assert memo._MODULE_DIGESTS.get(D) is not None and fingerprint(D) == first     # remembered, same answer
    t = next(p for p in D.state_dict().values() if p.is_floating_point())
    with torch.no_grad():
        t.add_(1.0)                                                                 # in place: version bumped
    changed = fingerprint(D)
    assert changed != first
    D.load_state_dict(oracle_denoiser("eps").state_dict())                          # loaded back: copied in place
    assert fingerprint(D) == first
    D.sigma_max = D.sigma_max * 2                                                   # a setting
    assert fingerprint(D) not in (first, changed)
