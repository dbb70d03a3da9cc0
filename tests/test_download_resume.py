"""A resumed download never splices two versions of a file, even from a server that changes the body and keeps
its strong ETag: the resume checks the bytes before the resume point and the total size (loopback server)."""
from __future__ import annotations

import hashlib
import os

import pytest

from spectral_collapse.data import download as dl
from test_download import VersionedServer, online  # noqa: F401 (online: downloads allowed, autouse)

BODY = os.urandom(300_000)


class SameETagServer(VersionedServer):
    """A server whose ETag never changes, whatever body it serves (a misconfigured cache or origin)."""

    def etag(self, path: str) -> str:
        return '"v1"'


@pytest.mark.parametrize("new", [bytes(reversed(BODY)), BODY[:90_000] + os.urandom(210_000),
                                 BODY + os.urandom(1000)], ids=["other-bytes", "changed-before-the-cut", "longer"])
def test_a_body_changed_under_the_same_etag_is_fetched_whole(tmp_path, new):
    with SameETagServer({"/f.bin": BODY}) as server:
        server.cut_after["/f.bin"] = 100_000
        with pytest.raises(dl.DownloadError, match="rerun"):
            dl.download(server.url + "f.bin", tmp_path / "f.bin", progress=False)
        server.files["/f.bin"] = new       # changed on the server, same ETag
        with pytest.warns(RuntimeWarning, match=r"changed on the server since .*f\.bin\.part was started, under the "
                                                r"same ETag; fetching it again from the start"):
            dest = dl.download(server.url + "f.bin", tmp_path / "f.bin", progress=False)
        assert hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(new).digest()
        assert server.requests[-1][1] is None      # the last request started from byte 0
    assert not (tmp_path / "f.bin.part").exists() and not (tmp_path / "f.bin.part.json").exists()


def test_an_unchanged_body_resumes_after_checking_the_seam(tmp_path):
    with SameETagServer({"/f.bin": BODY}) as server:
        server.cut_after["/f.bin"] = 100_000
        with pytest.raises(dl.DownloadError):
            dl.download(server.url + "f.bin", tmp_path / "f.bin", progress=False)
        server.bytes_sent = 0
        dest = dl.download(server.url + "f.bin", tmp_path / "f.bin", progress=False)
        assert dest.read_bytes() == BODY
        assert server.bytes_sent == len(BODY) - 100_000 + dl.RESUME_OVERLAP


def test_a_change_after_the_resume_point_gives_the_new_file(tmp_path):
    """Versions that agree up to the resume point: the partial file plus the new tail is the new file itself."""
    new = BODY[:150_000] + os.urandom(150_000)
    with SameETagServer({"/f.bin": BODY}) as server:
        server.cut_after["/f.bin"] = 100_000
        with pytest.raises(dl.DownloadError):
            dl.download(server.url + "f.bin", tmp_path / "f.bin", progress=False)
        server.files["/f.bin"] = new
        assert dl.download(server.url + "f.bin", tmp_path / "f.bin", progress=False).read_bytes() == new
