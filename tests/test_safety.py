"""Safe loading: no unpickling of what users download, contained archive extraction, verified
downloads, no network at import or during the tests.

Related tests elsewhere: tests/test_download.py checks safe_extract against crafted zip / tar members (absolute
paths, '..', links leaving the folder, paths through links, devices) and download() against size / SHA-256
mismatches; here the same protections are exercised through the dataset commands users run.
"""
from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import TinyData, netguard, tiny_training
from fixtures_real import LoopbackServer, make_edges2shoes, malicious_tar
from spectral_collapse.data import download as dl
from spectral_collapse.data import extract
from spectral_collapse.data.download import download_dataset, prepare_dataset
from spectral_collapse.train.trainer import train

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "spectral_collapse"

# --- the network guard -------------------------------------------------------------------------------------------


def test_guard_refuses_non_loopback_and_allows_loopback(tmp_path, monkeypatch):
    log = tmp_path / "net.log"
    monkeypatch.setenv(netguard.LOG_ENV, str(log))  # keep these deliberate attempts out of the session's log
    with pytest.raises(netguard.NetworkBlockedError, match="blocked"):
        socket.create_connection(("example.com", 80), timeout=1)
    with pytest.raises(netguard.NetworkBlockedError):
        socket.socket().connect(("203.0.113.7", 80))  # TEST-NET-3 literal: no lookup, refused before connecting
    with pytest.raises(ConnectionError):  # code that handles a missing network sees an ordinary ConnectionError
        socket.getaddrinfo("pypi.org", 443)
    assert len(log.read_text().splitlines()) == 3
    with socket.socket() as srv:  # loopback stays usable (the fake download server, papermill's kernel)
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        with socket.create_connection(srv.getsockname(), timeout=5):
            pass


def _import_everything_script() -> str:
    return (
        "import importlib, pkgutil, socket, spectral_collapse as p\n"
        "names = [m.name for m in pkgutil.walk_packages(p.__path__, p.__name__ + '.')]\n"
        "for n in names: importlib.import_module(n)\n"
        "print(len(names), getattr(socket, '_spectral_collapse_guard', False))\n"
    )


def test_importing_every_module_makes_no_connection(tmp_path):
    """A fresh interpreter (guard installed through PYTHONPATH as sitecustomize) imports every module."""
    log = tmp_path / "net.log"
    env = {**os.environ, netguard.LOG_ENV: str(log)}
    proc = subprocess.run([sys.executable, "-c", _import_everything_script()], env=env, capture_output=True,
                          text=True, timeout=900, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    count, guarded = proc.stdout.split()
    assert guarded == "True", "the subprocess ran without the guard, so the test could not fail"
    assert int(count) >= 30  # every subpackage was walked
    assert not log.exists() or log.read_text() == ""


def test_guard_catches_a_connection_in_a_subprocess(tmp_path):
    """The same mechanism sees an attempt made in a child process (so the test above can fail)."""
    log = tmp_path / "net.log"
    env = {**os.environ, netguard.LOG_ENV: str(log)}
    code = "import urllib.request\ntry: urllib.request.urlopen('http://example.com', timeout=1)\nexcept OSError: pass\n"
    subprocess.run([sys.executable, "-c", code], env=env, timeout=120, check=True)
    assert "example.com" in log.read_text()


# --- no unpickling ----------------------------------------------------------------------------------------------

UNSAFE_CALLS = {  # (module alias, function) -> why
    ("pickle", "load"): "pickle", ("pickle", "loads"): "pickle", ("cPickle", "load"): "pickle",
    ("dill", "load"): "pickle", ("cloudpickle", "load"): "pickle", ("joblib", "load"): "pickle",
    ("marshal", "loads"): "marshal", ("pd", "read_pickle"): "pickle", ("pandas", "read_pickle"): "pickle",
    ("shelve", "open"): "pickle",
}


def unsafe_loads(source: str, filename: str = "<string>") -> list[str]:
    """Lines of ``source`` that unpickle: pickle & co., torch.load without weights_only=True, allow_pickle=True."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.ClassDef):   # a subclass of pickle.Unpickler: a call of it is a pickle load
            node = ast.Call(func=next(iter(node.bases), ast.Name(id="")), args=[], keywords=[], lineno=node.lineno)
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
        kw = {k.arg: k.value for k in node.keywords}
        where = f"{filename}:{node.lineno}"
        if (owner, name) in UNSAFE_CALLS:
            found.append(f"{where} {owner}.{name}")
        elif name == "Unpickler" and owner == "pickle":
            found.append(f"{where} pickle.Unpickler")
        elif name == "load" and owner == "torch":
            wo = kw.get("weights_only")
            if not (isinstance(wo, ast.Constant) and wo.value is True):
                found.append(f"{where} torch.load without weights_only=True")
        elif name == "load" and owner in ("np", "numpy"):
            ap = kw.get("allow_pickle")
            if isinstance(ap, ast.Constant) and ap.value is True or ap is not None and not isinstance(ap, ast.Constant):
                found.append(f"{where} numpy load with allow_pickle")
        elif name == "load" and owner == "yaml" and "Loader" not in kw:
            found.append(f"{where} yaml.load without a safe Loader")
    return found


def test_unsafe_load_detector_finds_the_patterns():
    bad = ("import pickle, torch, numpy as np\npickle.load(f)\npickle.loads(b)\ntorch.load(p)\n"
           "torch.load(p, weights_only=False)\nnp.load(p, allow_pickle=True)\n")
    assert len(unsafe_loads(bad)) == 5
    assert unsafe_loads("torch.load(p, weights_only=True)\nnp.load(p)\n") == []
    assert len(unsafe_loads("import pickle\nclass U(pickle.Unpickler):\n    pass\n")) == 1


def test_no_unpickling_in_the_library_or_scripts():
    files = sorted(SRC.rglob("*.py")) + sorted((ROOT / "scripts").rglob("*.py"))
    assert len(files) > 30
    found = [hit for p in files for hit in unsafe_loads(p.read_text(), str(p.relative_to(ROOT)))]
    # the one exception: cell tasks on a Dask cluster, unpickled from what this command's own kernels sent
    cluster = [hit for hit in found if hit.startswith("src/spectral_collapse/pipeline/memo.py:")]
    assert found == cluster and len(cluster) == 1, "unsafe deserialisation:\n" + "\n".join(found)


def test_checkpoints_are_safetensors_and_resume_state_is_weights_only(tmp_path):
    spec, cfg = tiny_training(checkpoint_every=1)
    part = train(spec, cfg, TinyData(), name="t", root=tmp_path, progress=False, stop_after=2)
    state = part.path / "resume" / "state.pt"
    torch.load(state, weights_only=True)  # optimizer / RNG state: tensors and plain containers only
    done = train(spec, cfg, TinyData(), name="t", root=tmp_path, progress=False)
    files = sorted(p.name for p in done.path.iterdir())
    assert files == ["DONE", "config.json", "ema.safetensors", "log.json", "model.safetensors",
                     "weights.sha256.json"], files
    json.loads((done.path / "config.json").read_text())


class _Payload:
    """Unpickling this object runs open(marker, 'w'): a stand-in for arbitrary code in a downloaded file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_code_in_a_resume_state_is_refused(tmp_path):
    spec, cfg = tiny_training(checkpoint_every=1)
    part = train(spec, cfg, TinyData(), name="t", root=tmp_path, progress=False, stop_after=1)
    state = part.path / "resume" / "state.pt"
    marker = tmp_path / "code-ran"
    evil = torch.load(state, weights_only=True)
    evil["payload"] = _Payload(marker)
    torch.save(evil, state)
    torch.load(state, weights_only=False)  # the file really runs code when unpickled the unsafe way ...
    assert marker.exists()
    marker.unlink()
    with pytest.raises(ValueError, match="refused.*delete"):  # ... and the trainer refuses it
        train(spec, cfg, TinyData(), name="t", root=tmp_path, progress=False)
    assert not marker.exists()


# --- archives and downloads through the dataset commands ----------------------------------------------------------


def test_prepare_refuses_an_archive_that_escapes(tmp_path):
    root = tmp_path / "raw"
    downloads = root / "edges2shoes" / "downloads"
    downloads.mkdir(parents=True)
    malicious_tar(downloads / "edges2shoes.tar.gz", "edges2shoes/../../../escaped.txt")
    with pytest.raises(extract.UnsafeArchiveError, match="escaped.txt.*Nothing was extracted"):
        prepare_dataset("edges2shoes", root)
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not (root / "edges2shoes" / "prepared" / "prepared.json").exists()


def test_download_is_verified_before_it_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv(dl.OFFLINE_ENV, "0")
    archive = make_edges2shoes(tmp_path / "srv", n_train=4, n_val=2)
    root = tmp_path / "raw"
    with LoopbackServer({"/e2s.tar.gz": archive.read_bytes()}) as server:
        with pytest.raises(dl.IntegrityError, match="SHA-256.*deleted"):
            download_dataset("edges2shoes", root, url=server.url + "e2s.tar.gz", sha256="0" * 64, progress=False)
    left = sorted(p.name for p in root.rglob("*") if p.is_file())
    assert left == [], f"an unverified download was kept: {left}"
    with pytest.raises(dl.DatasetNotPreparedError):  # nothing usable: loading says how to download it
        prepare_dataset("edges2shoes", root)
