"""BBBC021 (Caie et al. 2010, via the Broad Bioimage Benchmark Collection) as x8 / x16 / x32 unpaired super-resolution.

Fields of view are either a clean target or a degraded source, never both (the paper's "strictly unpaired"); the
preparation choices are listed in docs/datasets.md. ``download`` -> ``prepare`` -> ``load_bbbc021``.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np

from .degrade import nearest_downup
from .download import check_download, data_root, fetch, not_prepared
from .extract import safe_extract
from .folder import check_factor, fit_square, read_rgb, split_indices, to_tensor
from .unpaired import Task, UnpairedDomains

__all__ = ["BASE_URL", "IMAGE_CSV", "ARCHIVE", "CHANNELS", "PERCENTILES", "download", "prepare", "load_bbbc021",
           "channels_to_rgb", "read_metadata"]

# Official location, listed on https://bbbc.broadinstitute.org/BBBC021 ("BBBC021v1", Ljosa et al. 2012)
BASE_URL = "https://data.broadinstitute.org/bbbc/BBBC021/"
URL_ENV = "SPECTRAL_COLLAPSE_BBBC021_URL"  # overrides BASE_URL (mirrors, tests)
IMAGE_CSV = "BBBC021_v1_image.csv"
ARCHIVE = "BBBC021_v1_images_{plate}.zip"
CHANNELS = ("Actin", "Tubulin", "DAPI")  # R, G, B
PERCENTILES = (0.1, 99.9)  # per-image, per-channel clipping points mapped to 0 and 1
PREPARED_SIZE = 256
CREDIT = ("BBBC021v1: Caie et al., Molecular Cancer Therapeutics 2010; available from the Broad Bioimage Benchmark "
          "Collection, Ljosa et al., Nature Methods 2012 (see https://bbbc.broadinstitute.org/BBBC021 for the licence)")


def _dirs(root) -> tuple[Path, Path, Path]:
    base = data_root(root) / "bbbc021"
    return base / "downloads", base / "prepared", base / "work"


def read_metadata(csv_path: str | os.PathLike) -> list[dict]:
    """Rows of BBBC021_v1_image.csv with a 'plate' key (the folder of Image_PathName_DAPI); checks the columns."""
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    need = [f"Image_FileName_{c}" for c in CHANNELS] + ["Image_PathName_DAPI"]
    missing = [c for c in need if not rows or c not in rows[0]]
    if missing:
        raise ValueError(f"{csv_path} is not the BBBC021 image table: missing columns {missing}; "
                         f"delete it and download it again")
    for r in rows:
        r["plate"] = r["Image_PathName_DAPI"].replace("\\", "/").rstrip("/").split("/")[-1]
    return rows


def _select(all_plates: list[str], plates) -> list[str]:
    if plates is None:
        return all_plates
    if isinstance(plates, (int, np.integer)) and not isinstance(plates, bool):
        if plates < 1:
            raise ValueError(f"plates must be >= 1, got {plates}")
        return all_plates[: int(plates)]
    unknown = [p for p in plates if p not in all_plates]
    if unknown:
        raise ValueError(f"unknown BBBC021 plate(s) {unknown}; valid plates: {', '.join(all_plates)}")
    return list(plates)


def download(root=None, *, base_url: str | None = None, plates=None, checksums: dict | None = None,
             progress: bool = True, timeout: float = 30) -> Path:
    """Fetch the metadata CSV and the plate zips (all, the first N if plates is an int, or the named ones), each checked
    against ``checksums[file name]`` or the download lock file."""
    base_url = (base_url or os.environ.get(URL_ENV) or BASE_URL).rstrip("/") + "/"
    checksums = checksums or {}
    dl, _, _ = _dirs(root)
    table = fetch(base_url + IMAGE_CSV, dl / IMAGE_CSV, key=f"bbbc021/{IMAGE_CSV}", dataset="bbbc021", root=root,
                  sha256=checksums.get(IMAGE_CSV), progress=progress, timeout=timeout)
    for plate in _select(list(dict.fromkeys(r["plate"] for r in read_metadata(table))), plates):
        name = ARCHIVE.format(plate=plate)
        fetch(base_url + name, dl / name, key=f"bbbc021/{name}", dataset="bbbc021", root=root,
              sha256=checksums.get(name), progress=progress, timeout=timeout)
    return dl


def channels_to_rgb(dapi: np.ndarray, tubulin: np.ndarray, actin: np.ndarray,
                    percentiles: tuple[float, float] = PERCENTILES) -> np.ndarray:
    """Three greyscale fields -> float32 (H, W, 3) in [0, 1]: R = actin, G = tubulin, B = DAPI, percentile-clipped."""
    out = []
    for ch in (actin, tubulin, dapi):  # CHANNELS' order
        ch = np.asarray(ch, dtype=np.float64)
        lo, hi = np.percentile(ch, percentiles)
        out.append(np.clip((ch - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(ch))
    return np.stack(out, axis=-1).astype(np.float32)


def _write_csv(rows: list[dict], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["id"])
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def _prepare_plate(plate: str, rows: list[dict], archive: Path, work: Path, out: Path, size: int,
                   percentiles) -> tuple[list[dict], list[str]]:
    """Extract one plate zip into ``work`` and write its RGB PNGs; (index rows, fields skipped for missing files)."""
    import tifffile  # ships with scikit-image
    from PIL import Image

    safe_extract(archive, work)
    found = {p.name: p for p in work.rglob("*") if p.is_file()}
    out.mkdir(parents=True, exist_ok=True)
    index, skipped = [], []
    for r in rows:
        names = [r[f"Image_FileName_{c}"] for c in ("DAPI", "Tubulin", "Actin")]
        if not all(n in found for n in names):
            skipped.append(names[0])
            continue
        dapi, tub, act = (np.asarray(tifffile.imread(found[n])) for n in names)
        rgb = to_tensor([channels_to_rgb(dapi, tub, act, percentiles)])[0] * 0.5 + 0.5  # (3, H, W) in [0, 1]
        field = f"{plate}_{Path(names[0]).stem.split('_w')[0]}"  # plate_well_site
        if min(rgb.shape[-2:]) < size:
            raise ValueError(f"BBBC021 field {field} is {rgb.shape[-2]}x{rgb.shape[-1]} px, smaller than size={size}; "
                             f"prepare with size <= {min(rgb.shape[-2:])}")
        rgb = fit_square(rgb, size, mode="area").permute(1, 2, 0).clamp(0, 1).numpy()
        Image.fromarray(np.round(rgb * 255).astype(np.uint8)).save(out / f"{field}.png.tmp", format="PNG")
        os.replace(out / f"{field}.png.tmp", out / f"{field}.png")  # a PNG is whole or absent
        index.append({"id": field, "field": field, "file": f"images/{plate}/{field}.png", "plate": plate,
                      "well": r.get("Image_Metadata_Well_DAPI", ""), "compound": r.get("Image_Metadata_Compound", ""),
                      "concentration": r.get("Image_Metadata_Concentration", "")})
    return index, skipped


def prepare(root=None, *, size: int = PREPARED_SIZE, percentiles: tuple[float, float] = PERCENTILES, plates=None,
            overwrite: bool = False, progress: bool = True) -> Path:
    """Downloaded plate zips + metadata CSV -> <root>/bbbc021/prepared/, every downloaded plate for ``plates=None``;
    resumable: plates already written are kept."""
    from tqdm.auto import tqdm

    check_factor(size, None)
    dl, prep, work = _dirs(root)
    if not (dl / IMAGE_CSV).exists():
        raise not_prepared("bbbc021", root, dl / IMAGE_CSV)
    check_download(dl / IMAGE_CSV, key=f"bbbc021/{IMAGE_CSV}", dataset="bbbc021", root=root)
    rows = read_metadata(dl / IMAGE_CSV)
    present = [p for p in dict.fromkeys(r["plate"] for r in rows) if (dl / ARCHIVE.format(plate=p)).exists()]
    chosen = _select(present, plates) if present else []
    if not chosen:
        raise not_prepared("bbbc021", root, dl / ARCHIVE.format(plate="<plate>"))
    settings = {"size": int(size), "crop": "center", "percentiles": [float(p) for p in percentiles],
                "channels": {"R": CHANNELS[0], "G": CHANNELS[1], "B": CHANNELS[2]}}
    manifest = prep / "prepared.json"
    if manifest.exists():
        old = json.loads(manifest.read_text())
        if old["settings"] == settings and old["plates"] == chosen:
            return prep
        if old["settings"] != settings and not overwrite:
            raise ValueError(f"{prep} was prepared with {old['settings']}, not {settings}; pass overwrite=True "
                             "to prepare it again, or use the same settings")
        manifest.unlink()
    if overwrite:
        shutil.rmtree(prep, ignore_errors=True)
    (prep / "index").mkdir(parents=True, exist_ok=True)
    index, skipped = [], []
    for plate in tqdm(chosen, desc="BBBC021 plates", disable=not progress):
        part = prep / "index" / f"{plate}.csv"
        if not part.exists():  # plates finished by an interrupted run are kept
            name = ARCHIVE.format(plate=plate)
            check_download(dl / name, key=f"bbbc021/{name}", dataset="bbbc021", root=root)
            try:  # the extracted files are removed, also when preparing the plate fails
                got, miss = _prepare_plate(plate, [r for r in rows if r["plate"] == plate], dl / name, work / plate,
                                           prep / "images" / plate, size, percentiles)
            finally:
                shutil.rmtree(work / plate, ignore_errors=True)
            _write_csv(got, part)
            skipped += miss
        with open(part, newline="", encoding="utf-8") as f:
            index += list(csv.DictReader(f))
    if not index:
        raise ValueError(f"no BBBC021 fields could be prepared from {chosen}: the zips do not hold the files "
                         f"named in {IMAGE_CSV}; delete {dl} and download again")
    _write_csv(index, prep / "index.csv")
    info = {"settings": settings, "plates": chosen, "fields": len({r["field"] for r in index}),
            "images": len(index), "skipped_fields": skipped, "credit": CREDIT}
    tmp = manifest.with_name("prepared.json.tmp")
    tmp.write_text(json.dumps(info, indent=1))
    os.replace(tmp, manifest)
    return prep


def load_bbbc021(
    *,
    size: int = 256,  # output size; at most the prepared size (smaller sizes are box- or bilinear-downscaled)
    factor: int = 16,  # SR factor of the source domain (paper: 8, 16, 32); must divide size
    root: str | os.PathLike | None = None,  # raw data root (default $SPECTRAL_COLLAPSE_DATA or ./data/raw)
    split_seed: int = 0,  # seed of the split of fields into source / target / test
    test_fraction: float = 0.1,  # fraction of fields held out as the paired test split
    max_per_pool: int | None = None,  # cap on images per pool (source, target, test); None = all (~10 GB at 256)
) -> UnpairedDomains:
    """Prepared BBBC021 as unpaired ×``factor`` SR: degraded source fields (label 0), clean target fields (label 1)."""
    from PIL import Image

    check_factor(size, factor)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    _, prep, _ = _dirs(root)
    if not (prep / "prepared.json").exists():
        raise not_prepared("bbbc021", root, prep / "prepared.json")
    info = json.loads((prep / "prepared.json").read_text())
    psize = info["settings"]["size"]
    if size > psize:
        raise ValueError(f"size {size} is larger than the prepared size {psize}; prepare again with size={size} "
                         f"(prepare_dataset('bbbc021', size={size}, overwrite=True)) or ask for size <= {psize}")
    with open(prep / "index.csv", newline="", encoding="utf-8") as f:
        index = list(csv.DictReader(f))
    fields = sorted({r["field"] for r in index})
    half = (1 - test_fraction) / 2
    parts = split_indices(len(fields), split_seed, (half, half, test_fraction))
    if min(len(p) for p in parts) == 0:
        raise ValueError(f"BBBC021 at {prep} has {len(fields)} field(s), too few for a source, target and test split "
                         f"with test_fraction={test_fraction} (at least 3); prepare more plates")
    pools = []
    for part in parts:
        chosen = {fields[i] for i in part}
        files = [r["file"] for r in index if r["field"] in chosen][:max_per_pool]
        x = to_tensor([read_rgb(Image.open(prep / f)) for f in files])
        if size != psize:
            x = fit_square(x, size, mode="area" if psize % size == 0 else "bilinear").clamp(-1, 1)
        pools.append((x, files))
    (src, src_files), (tgt, tgt_files), (test, test_files) = pools
    meta = {"dataset": "bbbc021", "size": int(size), "factor": int(factor), "root": str(prep),
            "prepared": info["settings"], "plates": info["plates"], "split_seed": int(split_seed),
            "test_fraction": float(test_fraction), "split_by": "field of view",
            "counts": {"source": len(src), "target": len(tgt), "test": len(test)},
            "files": {"source": src_files, "target": tgt_files, "test": test_files},
            "labels": {"source": 0, "target": 1, "null": 2},
            "degradation": f"nearest_downup(factor={factor}): top-left pixel of each block, repeated",
            "channels": "R = actin, G = tubulin, B = DAPI; per-image percentile clipping",
            "description": f"x{factor} nearest-neighbour super-resolution of BBBC021 MCF-7 fields", "credit": CREDIT}
    return UnpairedDomains("bbbc021", int(size), nearest_downup(src, factor), tgt, nearest_downup(test, factor),
                           test, meta, task=Task("sr", int(factor)))
