"""A disk that fills up while results are written: one clear error naming the folder and the fix, no half-written
or temporary file, the earlier file unchanged, no HDF5 file left open, and no crash of the process."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

from spectral_collapse.framework.store import DiskFullError, load_results, save_results

ROOT = Path(__file__).resolve().parents[1]


def _results(value: float = 1.0) -> xr.Dataset:
    return xr.Dataset({"psnr": ("sample", np.full(1000, value))}, coords={"sample": np.arange(1000)})


class _FillingFile:
    """A file object whose disk fills up after ``room`` bytes: the rest of a write raises ENOSPC."""

    def __init__(self, f, room: int):
        self.f, self.room = f, room

    def write(self, data) -> int:
        if len(data) > self.room:
            self.f.write(bytes(data[:self.room]))
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def fill_disk_after(monkeypatch, room: int = 2000) -> None:
    real = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: _FillingFile(real(fd, *a, **k), room))


def test_disk_full_mid_write_names_the_folder_and_leaves_the_old_file(tmp_path, monkeypatch):
    path = save_results(_results(1.0), tmp_path / "main_results" / "ihc-sr-quick.nc")
    before = path.read_bytes()
    open_files = h5py.h5f.get_obj_count(h5py.h5f.OBJ_ALL, h5py.h5f.OBJ_FILE)
    fill_disk_after(monkeypatch)
    with pytest.raises(DiskFullError) as err:
        save_results(_results(2.0), path)
    msg = str(err.value)
    assert msg.startswith("no space left to write ihc-sr-quick.nc")
    assert str(path.parent.resolve()) in msg and "Free space on that disk" in msg and "results_root" in msg
    assert err.value.errno == errno.ENOSPC and isinstance(err.value, OSError)
    monkeypatch.undo()
    assert sorted(p.name for p in path.parent.iterdir()) == ["ihc-sr-quick.nc"]   # no temporary file
    assert path.read_bytes() == before and load_results(path)["psnr"].values[0] == 1.0
    assert h5py.h5f.get_obj_count(h5py.h5f.OBJ_ALL, h5py.h5f.OBJ_FILE) == open_files


def test_disk_full_on_a_first_write_leaves_nothing(tmp_path, monkeypatch):
    fill_disk_after(monkeypatch, room=0)
    with pytest.raises(DiskFullError, match="nothing was stored"):
        save_results(_results(), tmp_path / "r.nc")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_disk_full_in_a_process_ends_it_with_the_message_not_a_crash(tmp_path):
    """The process that met the full disk exits normally after the error (no segfault at interpreter exit)."""
    script = textwrap.dedent(f"""
        import errno, os, sys
        sys.path[:0] = [{str(ROOT / "src")!r}, {str(ROOT / "tests")!r}]
        import pytest
        from test_disk_full import _results, fill_disk_after
        from spectral_collapse.framework.store import save_results
        mp = pytest.MonkeyPatch()
        save_results(_results(), {str(tmp_path / "r.nc")!r})
        fill_disk_after(mp)
        save_results(_results(3.0), {str(tmp_path / "r.nc")!r})
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stderr[-2000:]
    assert "DiskFullError: no space left to write r.nc" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.nc"]

