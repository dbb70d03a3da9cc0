"""Tiny archives in the real BBBC021 / Edges2Shoes formats and a loopback HTTP server to serve them (no network).

* ``make_bbbc021``: per-plate zips ``BBBC021_v1_images_<plate>.zip`` holding ``<plate>/<well>_s<site>_w<n><uuid>.tif``
  16-bit TIFFs (w1 DAPI, w2 tubulin, w4 actin) and ``BBBC021_v1_image.csv`` with the official column names.
  Each channel of a field is low noise with one bright quadrant (DAPI top-left, tubulin top-right, actin
  bottom-left), so the RGB mapping can be read off the prepared images.
* ``make_edges2shoes``: ``edges2shoes.tar.gz`` with ``edges2shoes/{train,val}/<i>_AB.jpg`` side-by-side pairs.
  Pair i is flat: its left (edge) half is grey level ``pair_level(i)``, its right (photo) half the colour
  (level, 255 - level, 128), so each half tells which pair it came from and which side it is.
* ``LoopbackServer``: serves a dict of bytes on 127.0.0.1 with HTTP Range support, counts requests, and can
  ignore ranges or cut a transfer short.
"""
from __future__ import annotations

import csv
import io
import tarfile
import threading
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

BBBC_COLUMNS = ["TableNumber", "ImageNumber", "Image_FileName_DAPI", "Image_PathName_DAPI", "Image_FileName_Tubulin",
                "Image_PathName_Tubulin", "Image_FileName_Actin", "Image_PathName_Actin", "Image_Metadata_Plate_DAPI",
                "Image_Metadata_Well_DAPI", "Replicate", "Image_Metadata_Compound", "Image_Metadata_Concentration"]
QUADRANT = {"DAPI": (0, 0), "Tubulin": (0, 1), "Actin": (1, 0)}  # (row, col) of the bright quadrant
WTOKEN = {"DAPI": "w1", "Tubulin": "w2", "Actin": "w4"}


def _field(rng: np.random.Generator, shape: tuple[int, int], quadrant: tuple[int, int]) -> np.ndarray:
    """A uint16 field: noise in [100, 400) with one bright quadrant in [3000, 4000)."""
    h, w = shape
    img = rng.integers(100, 400, size=shape)
    r, c = quadrant
    img[r * h // 2:(r + 1) * h // 2, c * w // 2:(c + 1) * w // 2] = rng.integers(3000, 4000, size=(h // 2, w // 2))
    return img.astype(np.uint16)


def make_bbbc021(folder: Path, plates=("Week1_22123", "Week2_24121"), wells=("B02", "C03"), sites=(1, 2),
                 shape=(64, 80), seed=0) -> dict:
    """Write the metadata CSV and one zip per plate into `folder`; returns {field_id: {channel: array}}."""
    import tifffile

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows, fields = [], {}
    for plate in plates:
        week = plate.split("_")[0]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"{plate}/", b"")
            for well in wells:
                for site in sites:
                    row = {"TableNumber": 1, "ImageNumber": len(rows) + 1, "Image_Metadata_Plate_DAPI": plate,
                           "Image_Metadata_Well_DAPI": well, "Replicate": 1, "Image_Metadata_Compound": "DMSO",
                           "Image_Metadata_Concentration": 0.0}
                    arrays = {}
                    for ch in ("DAPI", "Tubulin", "Actin"):
                        name = f"{well}_s{site}_{WTOKEN[ch]}{str(uuid.UUID(int=int(rng.integers(2**62)))).upper()}.tif"
                        arrays[ch] = _field(rng, shape, QUADRANT[ch])
                        tif = io.BytesIO()
                        tifffile.imwrite(tif, arrays[ch])
                        zf.writestr(f"{plate}/{name}", tif.getvalue())
                        row[f"Image_FileName_{ch}"] = name
                        row[f"Image_PathName_{ch}"] = f"{week}/{plate}"
                    rows.append(row)
                    fields[f"{plate}_{well}_s{site}"] = arrays
        (folder / f"BBBC021_v1_images_{plate}.zip").write_bytes(buf.getvalue())
    with open(folder / "BBBC021_v1_image.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=BBBC_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return fields


def pair_level(i: int) -> int:
    """Grey level that identifies pair i in the fake Edges2Shoes archive."""
    return 10 + 12 * i


def level_to_pair(level: float) -> int:
    """Inverse of pair_level (to the nearest pair)."""
    return int(round((level - 10) / 12))


def make_edges2shoes(folder: Path, n_train: int = 10, n_val: int = 4, height: int = 64) -> Path:
    """Write edges2shoes.tar.gz (train pairs 0..n_train-1, val pairs n_train..n_train+n_val-1); returns its path."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "edges2shoes.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for split, ids in (("train", range(n_train)), ("val", range(n_train, n_train + n_val))):
            for k, i in enumerate(ids):
                v = pair_level(i)
                img = np.empty((height, 2 * height, 3), np.uint8)
                img[:, :height] = v
                img[:, height:] = (v, 255 - v, 128)
                buf = io.BytesIO()
                Image.fromarray(img).save(buf, format="JPEG", quality=95)
                info = tarfile.TarInfo(f"edges2shoes/{split}/{k + 1}_AB.jpg")
                info.size = len(buf.getvalue())
                tf.addfile(info, io.BytesIO(buf.getvalue()))
    return path


class LoopbackServer:
    """HTTP server on 127.0.0.1 serving `files` ({url path: bytes}); records every request as (path, Range header)."""

    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.requests: list[tuple[str, str | None]] = []
        self.ignore_range = False  # answer 200 with the whole body even to Range requests
        self.cut_after: dict[str, int] = {}  # path -> send only this many body bytes once, then drop the connection
        self.bytes_sent = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                rng = self.headers.get("Range")
                server.requests.append((self.path, rng))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                if rng and not server.ignore_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                payload = body[start:]
                cut = server.cut_after.pop(self.path, None)
                if cut is not None:
                    payload = payload[:cut]
                    self.close_connection = True
                server.bytes_sent += len(payload)  # counted before sending: the client may finish first
                self.wfile.write(payload)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/"

    def __enter__(self) -> "LoopbackServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def serve_folder(folder: Path, prefix: str = "/") -> dict[str, bytes]:
    """{prefix + file name: bytes} for every file in `folder` (input for LoopbackServer)."""
    return {prefix + p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def malicious_zip(path: Path, member: str) -> Path:
    """A zip holding one harmless file and one member with the given (unsafe) name."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        zf.writestr(zipfile.ZipInfo(member), b"pwned")
    return path


def malicious_tar(path: Path, name: str, kind: str = "file", target: str = "") -> Path:
    """A tar.gz holding one harmless file and one unsafe member (a file path, a 'symlink' or a 'hardlink' to target)."""
    with tarfile.open(path, "w:gz") as tf:
        ok = tarfile.TarInfo("ok.txt")
        ok.size = 4
        tf.addfile(ok, io.BytesIO(b"fine"))
        info = tarfile.TarInfo(name)
        if kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, target
            tf.addfile(info)
        elif kind == "hardlink":
            info.type, info.linkname = tarfile.LNKTYPE, target
            tf.addfile(info)
        else:
            info.size = 5
            tf.addfile(info, io.BytesIO(b"pwned"))
    return path


def make_prepared_root(root: Path, *, size: int = 32, n_train: int = 10, n_val: int = 4) -> Path:
    """Generate both fake archives, serve them on loopback, download and prepare them under `root`; returns root.

    For notebook / CLI tests of the real-data path: point ``SPECTRAL_COLLAPSE_DATA`` at the returned root and
    ``load_dataset("bbbc021", size=<= size, ...)`` / ``load_dataset("edges2shoes", ...)`` work offline.
    """
    from spectral_collapse.data import download as dl

    src = root / "_archives"
    make_bbbc021(src / "bbbc", plates=("Week1_22123", "Week2_24121", "Week3_25421"), wells=("B02", "C03"),
                 sites=(1, 2), shape=(2 * size, 2 * size + 16))
    make_edges2shoes(src / "e2s", n_train, n_val)
    files = {**serve_folder(src / "bbbc", "/bbbc/"), **serve_folder(src / "e2s", "/e2s/")}
    previous = dl._OFFLINE_OVERRIDE
    dl.set_offline(False)
    try:
        with LoopbackServer(files) as server:
            dl.download_dataset("bbbc021", root, base_url=server.url + "bbbc/", progress=False,
                                prepare_kw={"size": size})
            dl.download_dataset("edges2shoes", root, url=server.url + "e2s/edges2shoes.tar.gz", progress=False)
    finally:
        dl.set_offline(previous)
    return root
