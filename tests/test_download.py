"""download(): resume, verification, idempotence, offline switch; safe_extract() against crafted archives.

Everything runs against a loopback HTTP server (tests/fixtures_real.py); nothing leaves the machine.
"""
from __future__ import annotations

import hashlib
import os

import pytest

from fixtures_real import LoopbackServer, malicious_tar, malicious_zip
from spectral_collapse.data import download as dl

BODY = os.urandom(300_000)  # a few chunks of the 1 MiB reader plus a partial one would be slow; 300 kB is enough
SHA = hashlib.sha256(BODY).hexdigest()


@pytest.fixture(autouse=True)
def online(monkeypatch):
    """Downloads allowed for these tests (CI sets SPECTRAL_COLLAPSE_OFFLINE=1); the server is on 127.0.0.1."""
    monkeypatch.setenv(dl.OFFLINE_ENV, "0")
    dl.set_offline(None)
    yield
    dl.set_offline(None)


@pytest.fixture
def server():
    with LoopbackServer({"/f.bin": BODY}) as s:
        yield s


def test_download_verifies_and_is_idempotent(server, tmp_path):
    dest = dl.download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA, size=len(BODY), progress=False)
    assert dest.read_bytes() == BODY
    assert not (tmp_path / "f.bin.part").exists()
    assert len(server.requests) == 1
    for kw in ({"sha256": SHA}, {"size": len(BODY)}, {}):  # already there and verified: no request at all
        dl.download(server.url + "f.bin", dest, progress=False, **kw)
    assert len(server.requests) == 1


def test_resume_from_truncated_partial_file(server, tmp_path):
    (tmp_path / "f.bin.part").write_bytes(BODY[:123_456])
    dest = dl.download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == BODY
    assert server.requests == [("/f.bin", "bytes=123456-")]
    assert server.bytes_sent == len(BODY) - 123_456  # only the missing tail travelled


def test_interrupted_transfer_keeps_part_and_resumes(server, tmp_path):
    server.cut_after["/f.bin"] = 100_000
    with pytest.raises(dl.DownloadError, match="rerun"):
        dl.download(server.url + "f.bin", tmp_path / "f.bin", progress=False)
    assert (tmp_path / "f.bin.part").stat().st_size == 100_000
    assert not (tmp_path / "f.bin").exists()  # never renamed while incomplete
    dest = dl.download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == BODY
    assert server.requests[-1] == ("/f.bin", "bytes=100000-")


def test_server_without_range_support_restarts(server, tmp_path):
    server.ignore_range = True
    (tmp_path / "f.bin.part").write_bytes(b"garbage that must not be kept")
    dest = dl.download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == BODY


def test_complete_partial_file_gets_416_and_is_accepted(server, tmp_path):
    (tmp_path / "f.bin.part").write_bytes(BODY)
    dest = dl.download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == BODY and server.bytes_sent == 0


def test_checksum_mismatch_deletes_and_explains(server, tmp_path):
    with pytest.raises(dl.IntegrityError, match="SHA-256") as err:
        dl.download(server.url + "f.bin", tmp_path / "f.bin", sha256="0" * 64, progress=False)
    assert "deleted" in str(err.value) and SHA in str(err.value)
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()


def test_size_mismatch_is_detected_before_download(server, tmp_path):
    with pytest.raises(dl.IntegrityError, match="expected 5"):
        dl.download(server.url + "f.bin", tmp_path / "f.bin", size=5, progress=False)
    assert not (tmp_path / "f.bin").exists()


def test_corrupt_existing_file_is_fetched_again(server, tmp_path):
    (tmp_path / "f.bin").write_bytes(b"not the file")
    dl.download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert (tmp_path / "f.bin").read_bytes() == BODY and len(server.requests) == 1


def test_http_error_names_url(server, tmp_path):
    with pytest.raises(dl.DownloadError, match="404.*missing.bin"):
        dl.download(server.url + "missing.bin", tmp_path / "m.bin", progress=False)


@pytest.mark.parametrize("how", ["env", "switch"])
def test_offline_raises_before_any_request(server, tmp_path, monkeypatch, how):
    if how == "env":
        monkeypatch.setenv(dl.OFFLINE_ENV, "1")
    else:
        dl.set_offline(True)
    with pytest.raises(dl.OfflineError, match=dl.OFFLINE_ENV):
        dl.download(server.url + "f.bin", tmp_path / "f.bin", progress=False)
    assert server.requests == []


# --- safe extraction ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("member", ["../evil.txt", "/abs/evil.txt", "a/../../evil.txt", "C:/evil.txt"])
def test_zip_with_escaping_member_is_refused(tmp_path, member):
    arc = malicious_zip(tmp_path / "bad.zip", member)
    out = tmp_path / "out"
    with pytest.raises(dl.UnsafeArchiveError, match="outside") as err:
        dl.safe_extract(arc, out)
    assert member in str(err.value)
    assert not (tmp_path / "evil.txt").exists() and list(out.iterdir()) == []  # nothing written, not even ok.txt


@pytest.mark.parametrize("name,kind,target", [
    ("../evil.txt", "file", ""),
    ("/tmp/evil.txt", "file", ""),
    ("link", "symlink", "/etc/passwd"),
    ("sub/link", "symlink", "../../evil"),
    ("hard", "hardlink", "../outside.txt"),
])
def test_tar_with_escaping_member_is_refused(tmp_path, name, kind, target):
    arc = malicious_tar(tmp_path / "bad.tar.gz", name, kind, target)
    out = tmp_path / "out"
    with pytest.raises(dl.UnsafeArchiveError, match="refusing"):
        dl.safe_extract(arc, out)
    assert list(out.iterdir()) == []


def test_tar_path_through_inner_symlink_is_refused(tmp_path):
    import io
    import tarfile

    arc = tmp_path / "chain.tar"
    with tarfile.open(arc, "w") as tf:
        link = tarfile.TarInfo("d")
        link.type, link.linkname = tarfile.SYMTYPE, "."  # points inside: allowed on its own
        tf.addfile(link)
        evil = tarfile.TarInfo("d/x.txt")  # but writing through it is refused
        evil.size = 1
        tf.addfile(evil, io.BytesIO(b"x"))
    with pytest.raises(dl.UnsafeArchiveError, match="through the link"):
        dl.safe_extract(arc, tmp_path / "out")


def test_safe_archives_extract(tmp_path):
    arc = malicious_tar(tmp_path / "ok.tar.gz", "sub/inner.txt")  # a plain nested path is fine
    files = dl.safe_extract(arc, tmp_path / "out")
    assert (tmp_path / "out" / "sub" / "inner.txt").read_bytes() == b"pwned"
    assert len(files) == 2
    arc = malicious_tar(tmp_path / "ok2.tar.gz", "sub/link", "symlink", "../ok.txt")  # link staying inside
    dl.safe_extract(arc, tmp_path / "out2")
    assert (tmp_path / "out2" / "sub" / "link").read_bytes() == b"fine"


def test_not_an_archive(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"hello")
    with pytest.raises(dl.UnsafeArchiveError, match="neither a zip nor a tar"):
        dl.safe_extract(tmp_path / "x.zip", tmp_path / "out")


def test_unknown_dataset_lists_valid_names(tmp_path):
    with pytest.raises(ValueError, match="bbbc021, edges2shoes"):
        dl.download_dataset("imagenet", tmp_path)


def test_data_root_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv(dl.DATA_ROOT_ENV, raising=False)
    (tmp_path / "data" / "raw").mkdir(parents=True)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")  # a notebook run from notebooks/ finds the repository's data/raw
    assert dl.data_root() == tmp_path / "data" / "raw"
    monkeypatch.setenv(dl.DATA_ROOT_ENV, str(tmp_path / "elsewhere"))
    assert dl.data_root() == tmp_path / "elsewhere"
    assert dl.data_root(tmp_path / "given") == tmp_path / "given"
