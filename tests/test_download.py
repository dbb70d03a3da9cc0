"""download(): resume (validated by If-Range), verification, the lock file, idempotence, offline switch;
safe_extract() against crafted archives (containment) and oversized ones (limits).

Everything runs against loopback HTTP servers (tests/fixtures_real.py, and VersionedServer below, which sends
ETag / Last-Modified and applies If-Range); nothing leaves the machine.
"""
from __future__ import annotations

import email.utils
import hashlib
import io
import json
import os
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fixtures_real import LoopbackServer, make_bbbc021, make_edges2shoes, malicious_tar, malicious_zip, serve_folder
from spectral_collapse.data import bbbc021 as bbbc
from spectral_collapse.data import download as dl
from spectral_collapse.data import extract
from spectral_collapse.data import edges2shoes as e2s
from spectral_collapse.digest import read_sha256

ROOT = Path(__file__).resolve().parents[1]

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


class VersionedServer:
    """Loopback HTTP server that names each file's version (strong ETag = its hash, and a Last-Modified date) and
    applies If-Range as RFC 9110 says: a Range whose If-Range names another version gets the whole file (200).
    ``honour_if_range = False`` makes it a server that ignores If-Range (206 with the current version's ETag).
    Records (path, Range, If-Range) per request."""

    last_modified = email.utils.formatdate(1_700_000_000, usegmt=True)

    def __init__(self, files: dict[str, bytes], *, etags: bool = True):
        self.files, self.etags = dict(files), etags
        self.requests: list[tuple[str, str | None, str | None]] = []
        self.cut_after: dict[str, int] = {}
        self.honour_if_range = True
        self.bytes_sent = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                rng, if_range = self.headers.get("Range"), self.headers.get("If-Range")
                outer.requests.append((self.path, rng, if_range))
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                current = outer.etag(self.path) if outer.etags else outer.last_modified
                start = 0
                if rng and (if_range in (None, current) or not outer.honour_if_range):
                    start = int(rng.split("=")[1].split("-")[0])
                if start >= len(body) > 0:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self._validators()
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206 if start else 200)
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                self._validators()
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:]
                cut = outer.cut_after.pop(self.path, None)
                if cut is not None:
                    payload = payload[:cut]
                    self.close_connection = True
                outer.bytes_sent += len(payload)
                self.wfile.write(payload)

            def _validators(self):
                if outer.etags:
                    self.send_header("ETag", outer.etag(self.path))
                else:
                    self.send_header("Last-Modified", outer.last_modified)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def etag(self, path: str) -> str:
        return '"' + hashlib.sha256(self.files[path]).hexdigest()[:16] + '"'

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def test_download_verifies_and_is_idempotent(server, tmp_path):
    dest = dl.download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA, size=len(BODY), progress=False)
    assert dest.read_bytes() == BODY
    assert not (tmp_path / "f.bin.part").exists()
    assert len(server.requests) == 1
    for kw in ({"sha256": SHA}, {"size": len(BODY)}, {}):  # already there and verified: no request at all
        dl.download(server.url + "f.bin", dest, progress=False, **kw)
    assert len(server.requests) == 1


def test_partial_file_without_recorded_validator_starts_over(server, tmp_path):
    """A .part whose origin is unknown (no ETag / Last-Modified recorded) could be another file: fetched again."""
    (tmp_path / "f.bin.part").write_bytes(BODY[:123_456])
    dest = dl.download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == BODY
    assert server.requests == [("/f.bin", None)]  # no Range: from byte 0
    assert not (tmp_path / "f.bin.part.json").exists()


def test_interrupted_transfer_keeps_part_and_resumes_with_if_range(tmp_path):
    with VersionedServer({"/f.bin": BODY}) as server:
        server.cut_after["/f.bin"] = 100_000
        with pytest.raises(dl.DownloadError, match="rerun"):
            dl.download(server.url + "f.bin", tmp_path / "f.bin", progress=False)
        assert (tmp_path / "f.bin.part").stat().st_size == 100_000
        assert not (tmp_path / "f.bin").exists()  # never renamed while incomplete
        recorded = json.loads((tmp_path / "f.bin.part.json").read_text())
        assert recorded["etag"] == server.etag("/f.bin")  # the validator of the body the .part holds
        server.bytes_sent = 0
        dest = dl.download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
        assert dest.read_bytes() == BODY
        assert server.requests[-1] == ("/f.bin", "bytes=100000-", server.etag("/f.bin"))
        assert server.bytes_sent == len(BODY) - 100_000  # only the missing tail travelled
    assert not (tmp_path / "f.bin.part.json").exists()


def test_without_a_strong_etag_an_interrupted_transfer_restarts(tmp_path):
    """A server that sends only Last-Modified: a file replaced within the same second carries the same date, so a
    resume could splice two versions. The transfer starts over instead, and the result is the new file whole."""
    new = bytes(reversed(BODY))
    with VersionedServer({"/f.bin": BODY}, etags=False) as server:
        server.cut_after["/f.bin"] = 50_000
        with pytest.raises(dl.DownloadError):
            dl.download(server.url + "f.bin", tmp_path / "f.bin", progress=False)
        server.files["/f.bin"] = new            # changed within the same Last-Modified second
        dest = dl.download(server.url + "f.bin", tmp_path / "f.bin", progress=False)
        assert dest.read_bytes() == new
        assert server.requests[-1][1] is None   # no Range: from byte 0


def test_plain_http_is_refused_unless_allowed(tmp_path, monkeypatch):
    monkeypatch.delenv(dl.HTTP_ENV, raising=False)
    with VersionedServer({"/f.bin": BODY}) as server:
        with pytest.raises(dl.DownloadError, match=r"refusing plain http for http://127\.0\.0\.1.*--allow-http"):
            dl.download(server.url + "f.bin", tmp_path / "f.bin", progress=False)
        assert server.requests == [] and not (tmp_path / "f.bin.part").exists()
        assert dl.download(server.url + "f.bin", tmp_path / "f.bin", progress=False, allow_http=True).exists()


def test_a_first_download_shows_its_hash_and_the_lock_marks_it(tmp_path, capsys):

    with VersionedServer({"/f.bin": BODY}) as server:
        dl.fetch(server.url + "f.bin", tmp_path / "f.bin", key="x/f.bin", dataset="x", root=tmp_path,
                       progress=False)
    err = capsys.readouterr().err
    assert f"recorded SHA-256 {SHA}" in err and "compare this one with any the publisher" in err
    entry = dl.read_lock(dl.lock_path(tmp_path))["x/f.bin"]
    assert entry["sha256"] == SHA and entry["origin"].startswith("first download (trust on first use)")


@pytest.mark.parametrize("honours_if_range", [True, False])
def test_resume_across_a_changed_file_is_not_spliced(tmp_path, honours_if_range):
    """The file changes on the server between the interruption and the resume: the result is the new file whole,
    never the old head glued to the new tail, whether the server applies If-Range (200, whole body) or ignores it
    (206 with the new ETag, which the client notices and restarts from zero)."""
    new = bytes(reversed(BODY))  # same length, other bytes
    with VersionedServer({"/f.bin": BODY}) as server:
        server.honour_if_range = honours_if_range
        server.cut_after["/f.bin"] = 100_000
        with pytest.raises(dl.DownloadError):
            dl.download(server.url + "f.bin", tmp_path / "f.bin", progress=False)
        server.files["/f.bin"] = new
        dest = dl.download(server.url + "f.bin", tmp_path / "f.bin", progress=False)
        assert dest.read_bytes() == new
        ranges = [r for _, r, _ in server.requests]
        assert ranges == ([None, "bytes=100000-"] if honours_if_range else [None, "bytes=100000-", None])


def test_spliced_partial_file_is_refused_by_the_lock(tmp_path):
    """Even a splice no validator could catch (a server without ETag or dates) fails the recorded SHA-256."""
    archive = make_edges2shoes(tmp_path / "a", n_train=4, n_val=2).read_bytes()
    root = tmp_path / "raw"
    with LoopbackServer({"/e2s.tar.gz": archive}) as server:
        e2s.download(root, url=server.url + "e2s.tar.gz", progress=False)
    dest = root / "edges2shoes" / "downloads" / e2s.ARCHIVE
    dest.unlink()
    other = make_edges2shoes(tmp_path / "b", n_train=5, n_val=2).read_bytes()
    with VersionedServer({"/e2s.tar.gz": other}) as server:
        # an old .part of the first file with a validator the server answers as if it still matched
        (dest.parent / (dest.name + ".part")).write_bytes(archive[:1000])
        (dest.parent / (dest.name + ".part.json")).write_text(
            json.dumps({"url": server.url + "e2s.tar.gz", "etag": server.etag("/e2s.tar.gz")}))
        with pytest.raises(dl.IntegrityError) as err:
            e2s.download(root, url=server.url + "e2s.tar.gz", progress=False)
    msg = str(err.value)
    assert str(dest) in msg and hashlib.sha256(archive).hexdigest() in msg and "deleted" in msg
    assert not dest.exists() and not (dest.parent / (dest.name + ".part")).exists()


def test_complete_partial_file_is_fetched_again_whole(tmp_path):
    with VersionedServer({"/f.bin": BODY}) as server:
        (tmp_path / "f.bin.part").write_bytes(BODY)
        (tmp_path / "f.bin.part.json").write_text(json.dumps({"url": server.url + "f.bin",
                                                             "etag": server.etag("/f.bin")}))
        dest = dl.download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
        assert dest.read_bytes() == BODY and server.bytes_sent == len(BODY)  # range past the end: 416, then 200


def test_server_without_range_support_restarts(server, tmp_path):
    server.ignore_range = True
    (tmp_path / "f.bin.part").write_bytes(b"garbage that must not be kept")
    dest = dl.download(server.url + "f.bin", tmp_path / "f.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == BODY


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
    with pytest.warns(RuntimeWarning, match=r"f\.bin: SHA-256 .* expected .*; fetching it again"):
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
    with pytest.raises(extract.UnsafeArchiveError, match="outside") as err:
        extract.safe_extract(arc, out)
    assert member in str(err.value)
    assert not (tmp_path / "evil.txt").exists() and not out.exists()  # nothing written, not even ok.txt


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
    with pytest.raises(extract.UnsafeArchiveError, match="refusing"):
        extract.safe_extract(arc, out)
    assert not out.exists()


def test_tar_path_through_inner_symlink_stays_inside(tmp_path):
    import io
    import tarfile

    arc = tmp_path / "chain.tar"
    with tarfile.open(arc, "w") as tf:
        link = tarfile.TarInfo("d")
        link.type, link.linkname = tarfile.SYMTYPE, ".."  # points outside: refused
        tf.addfile(link)
        evil = tarfile.TarInfo("d/x.txt")  # a file written through it would land outside
        evil.size = 1
        tf.addfile(evil, io.BytesIO(b"x"))
    with pytest.raises(extract.UnsafeArchiveError, match="outside"):
        extract.safe_extract(arc, tmp_path / "out")
    assert not (tmp_path / "x.txt").exists() and not (tmp_path / "out").exists()


def test_safe_archives_extract(tmp_path):
    arc = malicious_tar(tmp_path / "ok.tar.gz", "sub/inner.txt")  # a plain nested path is fine
    files = extract.safe_extract(arc, tmp_path / "out")
    assert (tmp_path / "out" / "sub" / "inner.txt").read_bytes() == b"pwned"
    assert len(files) == 2
    arc = malicious_tar(tmp_path / "ok2.tar.gz", "sub/link", "symlink", "../ok.txt")  # link staying inside
    extract.safe_extract(arc, tmp_path / "out2")
    assert (tmp_path / "out2" / "sub" / "link").read_bytes() == b"fine"


def test_not_an_archive(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"hello")
    with pytest.raises(extract.UnsafeArchiveError, match="neither a zip nor a tar"):
        extract.safe_extract(tmp_path / "x.zip", tmp_path / "out")


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


# --- the lock file: the first download's SHA-256, checked on every later use --------------------------------------

def _e2s_archive(folder: Path, n_train: int = 4) -> bytes:
    return make_edges2shoes(folder, n_train=n_train, n_val=2).read_bytes()


def test_first_download_is_recorded_then_a_substituted_archive_is_refused(tmp_path):
    first, other = _e2s_archive(tmp_path / "a"), _e2s_archive(tmp_path / "b", n_train=5)
    root = tmp_path / "raw"
    lock = root / dl.LOCK_NAME
    with LoopbackServer({"/e2s.tar.gz": first}) as server:
        dest = e2s.download(root, url=server.url + "e2s.tar.gz", progress=False)
    entry = json.loads(lock.read_text())["files"]["edges2shoes/edges2shoes.tar.gz"]
    assert entry["sha256"] == hashlib.sha256(first).hexdigest() and entry["size"] == len(first)
    assert entry["url"].endswith("/e2s.tar.gz") and entry["recorded"]
    dest.unlink()  # a later download, from a mirror that serves another file under the same name
    with LoopbackServer({"/mirror/edges2shoes.tar.gz": other}) as server:
        with pytest.raises(dl.IntegrityError) as err:
            e2s.download(root, url=server.url + "mirror/edges2shoes.tar.gz", progress=False)
    msg = str(err.value)
    assert str(dest) in msg and hashlib.sha256(first).hexdigest() in msg and hashlib.sha256(other).hexdigest() in msg
    assert str(lock) in msg and "deleted" in msg and "cli download edges2shoes" in msg
    assert sorted(p.name for p in dest.parent.iterdir()) == []  # neither the file nor a .part is left
    assert json.loads(lock.read_text())["files"]["edges2shoes/edges2shoes.tar.gz"] == entry  # lock unchanged


def test_an_archive_substituted_on_disk_is_refused_before_preparing(tmp_path):
    first, other = _e2s_archive(tmp_path / "a"), _e2s_archive(tmp_path / "b", n_train=5)
    root = tmp_path / "raw"
    with LoopbackServer({"/e2s.tar.gz": first}) as server:
        dest = e2s.download(root, url=server.url + "e2s.tar.gz", progress=False)
        assert len(server.requests) == 1
        dest.write_bytes(other)  # replaced by hand after the download
        with pytest.raises(dl.IntegrityError, match="refusing to use") as err:
            dl.prepare_dataset("edges2shoes", root, progress=False)
        assert str(dest) in str(err.value) and hashlib.sha256(other).hexdigest() in str(err.value)
        assert hashlib.sha256(first).hexdigest() in str(err.value)
        assert not (root / "edges2shoes" / "prepared").exists()  # nothing extracted
        with pytest.warns(RuntimeWarning, match="fetching it again"):  # a download heals it from the server
            e2s.download(root, url=server.url + "e2s.tar.gz", progress=False)
        assert dest.read_bytes() == first and len(server.requests) == 2
    assert (dl.prepare_dataset("edges2shoes", root, progress=False) / "prepared.json").exists()


def test_bbbc021_files_are_each_locked(tmp_path):
    make_bbbc021(tmp_path / "srv", plates=("Week1_22123", "Week2_24121"), shape=(16, 16))
    root = tmp_path / "raw"
    with LoopbackServer(serve_folder(tmp_path / "srv", "/bbbc/")) as server:
        bbbc.download(root, base_url=server.url + "bbbc/", plates=1, progress=False)
        locked = dl.read_lock(root / dl.LOCK_NAME)
        assert sorted(locked) == ["bbbc021/BBBC021_v1_image.csv", "bbbc021/BBBC021_v1_images_Week1_22123.zip"]
        plate = root / "bbbc021" / "downloads" / "BBBC021_v1_images_Week1_22123.zip"
        assert locked["bbbc021/" + plate.name]["sha256"] == read_sha256(plate)
        plate.write_bytes((tmp_path / "srv" / "BBBC021_v1_images_Week2_24121.zip").read_bytes())  # swapped plates
        with pytest.raises(dl.IntegrityError, match="BBBC021_v1_images_Week1_22123.zip"):
            dl.prepare_dataset("bbbc021", root, progress=False)
        assert not (root / "bbbc021" / "work").exists()


def test_lock_file_location(tmp_path, monkeypatch):
    monkeypatch.delenv(dl.LOCK_ENV, raising=False)
    assert dl.lock_path(tmp_path / "data" / "raw") == tmp_path / "data" / "downloads.lock.json"
    assert dl.lock_path(tmp_path / "elsewhere") == tmp_path / "elsewhere" / "downloads.lock.json"
    monkeypatch.setenv(dl.LOCK_ENV, str(tmp_path / "mine.json"))
    assert dl.lock_path(tmp_path / "data" / "raw") == tmp_path / "mine.json"


def test_the_repository_lock_file_is_committed_and_readable():
    lock = ROOT / "data" / dl.LOCK_NAME
    files = dl.read_lock(lock)
    for key, entry in files.items():
        assert key.split("/")[0] in ("bbbc021", "edges2shoes") and len(entry["sha256"]) == 64


def test_an_unreadable_lock_file_names_itself_and_the_fix(tmp_path):
    root = tmp_path / "raw"
    root.mkdir()
    (root / dl.LOCK_NAME).write_text('{"files": {"edges2shoes/edges2shoes.tar.gz": ')
    with pytest.raises(dl.IntegrityError, match=r"download lock file .*downloads\.lock\.json cannot be read.*git "
                                                r"checkout"):
        e2s.download(root, url="http://127.0.0.1:9/never.tar.gz", progress=False)


def test_the_hosts_are_https():
    assert e2s.URL.startswith("https://efrosgans.eecs.berkeley.edu/")
    assert bbbc.BASE_URL.startswith("https://data.broadinstitute.org/")


# --- bounded extraction --------------------------------------------------------------------------------------------

def _bomb(path: Path, size: int) -> Path:
    """A small zip holding one file of `size` zero bytes (deflate shrinks it about a thousand times)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ok.txt", b"fine")
        with zf.open("zeros.bin", "w") as f:
            for _ in range(size // (1 << 20)):
                f.write(bytes(1 << 20))
    return path


def test_zip_bomb_over_the_size_limit_is_refused_from_its_headers(tmp_path):
    arc = _bomb(tmp_path / "bomb.zip", 4 << 20)
    assert arc.stat().st_size < 50_000
    out = tmp_path / "out"
    with pytest.raises(extract.ArchiveLimitError, match=r"bomb\.zip: its members expand to more than 1\.0 MiB "
                                                   r"\(max_bytes=\)"):
        extract.safe_extract(arc, out, max_bytes=1 << 20)
    assert not out.exists()
    assert len(extract.safe_extract(arc, out, max_bytes=8 << 20)) == 2  # under a higher limit it extracts


def test_zip_bomb_is_refused_by_the_default_expansion_limit(tmp_path):
    arc = _bomb(tmp_path / "bomb.zip", 80 << 20)  # 80 MiB of zeros in about 80 kB: expands about 1000 times
    out = tmp_path / "out"
    with pytest.raises(extract.ArchiveLimitError, match=r"expands \d+ times, more than 100 \(max_ratio=\)"):
        extract.safe_extract(arc, out)
    assert not out.exists()


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_too_many_members_are_refused_and_nothing_is_left(tmp_path, kind):
    arc = tmp_path / f"many.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(arc, "w") as zf:
            for i in range(300):
                zf.writestr(f"d/{i}.txt", b"x")
    else:
        with tarfile.open(arc, "w") as tf:
            for i in range(300):
                info = tarfile.TarInfo(f"d/{i}.txt")
                info.size = 1
                tf.addfile(info, io.BytesIO(b"x"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("kept")  # what was there before stays
    with pytest.raises(extract.ArchiveLimitError, match=r"more than 100 members \(max_members=\)"):
        extract.safe_extract(arc, out, max_members=100)
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]


def test_an_error_while_writing_removes_what_was_written(tmp_path, monkeypatch):
    arc = tmp_path / "a.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        for i in range(5):
            zf.writestr(f"sub/deeper/{i}.txt", b"x" * 10)
    real, calls = zipfile.shutil.copyfileobj, []

    def failing(src, dst, *args):
        calls.append(dst)
        if len(calls) == 4:
            raise OSError(28, "No space left on device")
        return real(src, dst, *args)

    monkeypatch.setattr(zipfile.shutil, "copyfileobj", failing)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="No space"):
        extract.safe_extract(arc, out)
    assert len(calls) == 4 and not out.exists()


def test_prepare_without_train_folder_removes_what_it_extracted(tmp_path):
    root = tmp_path / "raw"
    downloads = root / "edges2shoes" / "downloads"
    downloads.mkdir(parents=True)
    with tarfile.open(downloads / e2s.ARCHIVE, "w:gz") as tf:
        for i in range(3):
            info = tarfile.TarInfo(f"edges2shoes/other/{i}.jpg")
            info.size = 1000
            tf.addfile(info, io.BytesIO(bytes(1000)))
    with pytest.raises(ValueError, match="no train/ folder"):
        dl.prepare_dataset("edges2shoes", root, progress=False)
    assert not (root / "edges2shoes" / "prepared").exists()


def test_an_https_download_redirected_to_plain_http_is_refused(tmp_path, monkeypatch):
    class Redirected:
        closed = False

        def geturl(self):
            return "http://mirror.example/edges2shoes.tar.gz"

        def close(self):
            self.closed = True

    resp = Redirected()
    monkeypatch.setattr(dl.urllib.request, "urlopen", lambda req, timeout: resp)
    with pytest.raises(dl.DownloadError, match="redirected to http://mirror.example.*not HTTPS"):
        dl.download("https://host.example/edges2shoes.tar.gz", tmp_path / "e.tar.gz", progress=False)
    assert resp.closed and not list(tmp_path.iterdir())


def test_the_datasets_doc_describes_what_the_code_does():
    """docs/datasets.md once said Edges2Shoes is fetched over http and that only sizes are checked."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "datasets.md").read_text()
    assert f"`{e2s.URL}`" in text and "http://efrosgans" not in text.replace("still writes http://", "")
    assert "only sizes are checked" not in text
    assert "--allow-http" in text and "strong ETag" in text and "recorded on first use" in text
