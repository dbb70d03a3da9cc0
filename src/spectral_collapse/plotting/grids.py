"""Image grids for the study notebooks, composed with PIL, a failed sample drawn as a grey "failed" tile."""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .labels import chart_label

__all__ = ["compose_grid", "image_grid", "grid_font"]

FONT_SIZE = 12   # labels and titles, in pixels


def _to_uint8(images: Any) -> np.ndarray:
    """(B, C, H, W) array in [-1, 1] -> uint8 (B, H, W, 3); C other than 1 or 3 as a k x k grey mosaic."""
    arr = np.asarray(images, dtype=np.float64)
    if arr.ndim != 4 or arr.shape[1] < 1:
        raise ValueError(f"images must be (B, C, H, W) or (C, H, W); got shape {arr.shape}")
    if arr.shape[1] not in (1, 3):
        b, c, h, w = arr.shape
        k = int(np.ceil(np.sqrt(c)))
        fill = np.zeros((b, k * k - c, h, w))
        arr = np.concatenate([arr, fill], 1).reshape(b, k, k, h, w).transpose(0, 1, 3, 2, 4).reshape(b, 1, k * h, k * w)
    arr = np.nan_to_num(np.clip((arr + 1) / 2, 0.0, 1.0), nan=0.0)
    out = np.rint(arr * 255.0).astype(np.uint8).transpose(0, 2, 3, 1)
    return np.repeat(out, 3, axis=3) if out.shape[3] == 1 else out


def grid_font(size: int):
    """DejaVu Sans at ``size`` (draws Greek and maths signs), else Pillow's default."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def compose_grid(
    rows: Mapping[str, Any],
    *,
    titles: Sequence[str] | None = None,
    cell: int | None = None,
    min_cell: int = 64,
    pad: int = 2,
    failed: Mapping[str, Any] | None = None,
) -> Image.Image:
    """PIL image: one labelled row per ``rows`` entry ((B, C, H, W) in [-1, 1]) at ``cell`` px, ``titles`` over the
    columns; a non-finite sample or one marked in ``failed`` ({label: (B,) bools}) counts as failed."""
    if not rows:
        raise ValueError("rows is empty; pass {'label': images, ...}")
    marks, batches = {}, {}
    for k, v in rows.items():  # each row converted once: its failure marks and its uint8 tiles
        arr = np.asarray(v.detach().cpu().float().numpy() if hasattr(v, "detach") else v, dtype=np.float64)
        arr = arr[None] if arr.ndim == 3 else arr
        batches[str(k)] = _to_uint8(arr)  # raises on a wrong shape, naming it
        bad = ~np.isfinite(arr.reshape(arr.shape[0], -1)).all(axis=1)
        if failed is not None and k in failed:
            given = np.asarray(failed[k], dtype=bool).reshape(-1)[:len(bad)]
            bad[:len(given)] |= given
        marks[str(k)] = bad
    labels = {k: chart_label(k) + (" (all failed)" if len(m) and m.all() else "") for k, m in marks.items()}
    titles = [chart_label(str(t)) for t in titles] if titles else titles
    size = cell or max(min_cell, *(max(b.shape[1], b.shape[2]) for b in batches.values()))
    ncol = max(b.shape[0] for b in batches.values())
    font = grid_font(FONT_SIZE)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max(int(measure.textlength(labels[k], font=font)) for k in batches) + 2 * pad
    title_h = FONT_SIZE + 2 * pad if titles else 0
    width = label_w + ncol * (size + pad) + pad
    height = title_h + len(batches) * (size + pad) + pad
    grid = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    for j, text in enumerate(titles or []):
        draw.text((label_w + j * (size + pad) + pad, pad), str(text), fill=(0, 0, 0), font=font)
    for i, (label, batch) in enumerate(batches.items()):
        top = title_h + i * (size + pad) + pad
        draw.text((pad, top + size // 2 - FONT_SIZE // 2), labels[label], fill=(0, 0, 0), font=font)
        for j, img in enumerate(batch):
            left = label_w + j * (size + pad) + pad
            if marks[label][j]:
                draw.rectangle((left, top, left + size - 1, top + size - 1), fill=(200, 200, 200))
                w = int(measure.textlength("failed", font=font))
                if w <= size - 2:  # a tile too small for the word stays plain grey
                    draw.text((left + (size - w) // 2, top + size // 2 - FONT_SIZE // 2), "failed", fill=(90, 0, 0),
                              font=font)
                continue
            tile = Image.fromarray(img).resize((size, size), Image.Resampling.NEAREST)
            grid.paste(tile, (left, top))
    return grid


def image_grid(rows: Mapping[str, Any], **kwargs: Any):
    """:func:`compose_grid` as a PNG ``IPython.display.Image``."""
    from IPython.display import Image as PNG

    buffer = io.BytesIO()
    compose_grid(rows, **kwargs).save(buffer, format="PNG")
    return PNG(data=buffer.getvalue(), format="png")
