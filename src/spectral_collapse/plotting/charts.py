"""Small Altair charts and an image grid for the study notebooks.

Every chart takes an ``xr.Dataset`` (or a tidy ``pd.DataFrame``), does its aggregation in pandas, so the
numbers a chart shows can be checked against the data, and returns an Altair chart. Rendering is set by
:func:`spectral_collapse.plotting.render.setup_altair` (SVG by default, which draws offline).

:func:`image_grid` composes images with PIL and returns an ``IPython.display.Image`` (PNG), so image
figures need neither matplotlib nor a browser-side library.
"""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import xarray as xr
from PIL import Image, ImageDraw, ImageFont

__all__ = ["to_frame", "metric_bars", "metric_scatter", "metric_heatmap", "compose_grid", "image_grid"]


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    """None -> [], "a" -> ["a"], ("a", "b") -> ["a", "b"]."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def to_frame(data: xr.Dataset | pd.DataFrame, variables: str | Sequence[str]) -> pd.DataFrame:
    """Tidy frame with one column per dimension / coordinate and one per requested variable."""
    names = _as_list(variables)
    if isinstance(data, pd.DataFrame):
        missing = [n for n in names if n not in data.columns]
        if missing:
            raise KeyError(f"columns {missing} not in the frame; available: {sorted(map(str, data.columns))}")
        return data.reset_index(drop=True)
    missing = [n for n in names if n not in data.variables]
    if missing:
        raise KeyError(f"variables {missing} not in the dataset; available: {sorted(map(str, data.data_vars))}")
    return data[names].to_dataframe().reset_index()


def _check_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise a KeyError naming the columns that the chart needs but the data lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{missing} are neither dimensions nor coordinates of the data; have {sorted(frame.columns)}")


def _title(data: xr.Dataset | pd.DataFrame, name: str) -> str:
    """Axis title: the variable's ``long_name`` / ``units`` attrs when the data is a Dataset."""
    if isinstance(data, xr.Dataset) and name in data.variables:
        attrs = data[name].attrs
        label = attrs.get("long_name", name)
        return f"{label} [{attrs['units']}]" if attrs.get("units") else label
    return name


def metric_bars(
    data: xr.Dataset | pd.DataFrame,
    metric: str,
    *,
    by: str = "method",
    color: str | None = None,
    over: str | None = "seed",
    ddof: int = 1,
    title: str | None = None,
    width: int = 320,
    height: int = 220,
    interval: str = "std",
) -> alt.LayerChart:
    """Bars of ``metric`` per ``by`` (grouped by ``color``), error bars = std over ``over`` (ddof=1), or with
    ``interval="crops"`` the 95 % bootstrap interval of the mean over every finite value of the group (each test
    crop once: the tables' intervals, ``metrics.intervals.bootstrap_ci``).

    The metric is first averaged over every other dimension (samples, ...) within each (by, color, over)
    cell; bars show the mean over ``over`` and the error bars +-1 std over it. ``over=None`` draws no bars
    of error. NaN values are skipped.
    """
    frame = to_frame(data, metric)
    keys = [by] + _as_list(color)
    _check_columns(frame, keys + _as_list(over))
    if interval == "std":
        per_run = frame.groupby(keys + _as_list(over), sort=False, dropna=False)[metric].mean().reset_index()
        stats = per_run.groupby(keys, sort=False, dropna=False)[metric].agg(
            mean="mean", std=lambda s: s.std(ddof=ddof) if over else np.nan, n="count").reset_index()
        stats["lo"], stats["hi"] = stats["mean"] - stats["std"], stats["mean"] + stats["std"]
    elif interval == "crops":
        from ..metrics.intervals import bootstrap_ci

        rows = []
        for k, g in frame.groupby(keys, sort=False, dropna=False):
            c = bootstrap_ci(g[metric].to_numpy())
            rows.append((*(k if isinstance(k, tuple) else (k,)), c.mean, np.nan, c.n, c.lo, c.hi))
        stats = pd.DataFrame(rows, columns=[*keys, "mean", "std", "n", "lo", "hi"])
    else:
        raise ValueError(f"interval must be 'std' or 'crops', got {interval!r}")
    label = _title(data, metric)
    order = list(dict.fromkeys(stats[by]))
    x = alt.X(f"{by}:N", sort=order, title=by)
    base = alt.Chart(stats).properties(width=width, height=height, title=title or label)
    enc: dict[str, Any] = {"x": x}
    if color:
        enc["xOffset"] = alt.XOffset(f"{color}:N")
    tooltip = keys + [alt.Tooltip("mean:Q", format=".4g"), alt.Tooltip("std:Q", format=".3g"), "n:Q"]
    bars = base.mark_bar().encode(
        y=alt.Y("mean:Q", title=label), color=_color(stats, color or by), tooltip=tooltip, **enc)
    errors = base.mark_errorbar(ticks={"size": 10}, color="black").encode(
        y=alt.Y("lo:Q", title=label), y2="hi:Q", **enc)
    return alt.layer(bars, errors)


def _color(frame: pd.DataFrame, field: str):
    """The colour encoding of ``field``: the book's method colours for methods (``plotting.palette``)."""
    from .palette import method_color

    return method_color(frame[field], field=field) if field == "method" else alt.Color(f"{field}:N")


def metric_scatter(
    data: xr.Dataset | pd.DataFrame,
    x: str,
    y: str,
    *,
    by: str | Sequence[str] = "method",
    color: str | None = "method",
    title: str | None = None,
    width: int = 320,
    height: int = 240,
) -> alt.Chart:
    """One point per ``by`` group at (mean ``x``, mean ``y``); e.g. a Pareto plot with by=("method", "scale")."""
    frame = to_frame(data, [x, y])
    keys = _as_list(by)
    _check_columns(frame, keys + _as_list(color))
    group = list(dict.fromkeys(keys + _as_list(color)))
    means = frame.groupby(group, sort=False, dropna=False)[[x, y]].mean().reset_index()
    enc: dict[str, Any] = {
        "x": alt.X(f"{x}:Q", title=_title(data, x), scale=alt.Scale(zero=False)),
        "y": alt.Y(f"{y}:Q", title=_title(data, y), scale=alt.Scale(zero=False)),
        "tooltip": group + [alt.Tooltip(f"{x}:Q", format=".4g"), alt.Tooltip(f"{y}:Q", format=".4g")],
    }
    if color:
        enc["color"] = _color(frame, color)
    return alt.Chart(means).mark_point(filled=True, size=60).encode(**enc).properties(
        width=width, height=height, title=title or f"{_title(data, y)} vs {_title(data, x)}")


def metric_heatmap(
    data: xr.Dataset | pd.DataFrame,
    metric: str,
    *,
    x: str,
    y: str,
    agg: str = "mean",
    scheme: str = "viridis",
    fmt: str = ".3g",
    title: str | None = None,
    cell_width: int = 56,
    cell_height: int = 28,
) -> alt.LayerChart:
    """Heatmap of ``metric`` aggregated (``agg``: a pandas reduction name) over everything but ``x`` and ``y``."""
    frame = to_frame(data, metric)
    _check_columns(frame, [x, y])
    cells = frame.groupby([y, x], sort=False, dropna=False)[metric].agg(agg).reset_index()
    lo, hi = cells[metric].min(), cells[metric].max()
    cells["dark_cell"] = cells[metric] < (lo + hi) / 2  # low end of viridis-like schemes is dark
    label = _title(data, metric)
    base = alt.Chart(cells).encode(
        x=alt.X(f"{x}:O", sort=list(dict.fromkeys(cells[x]))),
        y=alt.Y(f"{y}:O", sort=list(dict.fromkeys(cells[y]))),
    ).properties(title=title or f"{label} ({agg})", width=alt.Step(cell_width), height=alt.Step(cell_height))
    rect = base.mark_rect().encode(color=alt.Color(f"{metric}:Q", title=label, scale=alt.Scale(scheme=scheme)),
                                   tooltip=[x, y, alt.Tooltip(f"{metric}:Q", format=fmt)])
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text(f"{metric}:Q", format=fmt),
        color=alt.condition("datum.dark_cell", alt.value("white"), alt.value("black")))
    return alt.layer(rect, text)


def _to_uint8(images: Any, value_range: tuple[float, float]) -> np.ndarray:
    """(B, C, H, W) or (C, H, W) tensor / array in ``value_range`` -> uint8 (B, H, W, 3). C = 1 is grey, C = 3 RGB;
    any other C (a VAE's latents) is shown channel by channel: grey panels in a k x k mosaic, k = ceil(sqrt(C)),
    the unused panels mid-grey (4 channels of h x w: one 2h x 2w tile)."""
    if hasattr(images, "detach"):
        images = images.detach().cpu().float().numpy()
    arr = np.asarray(images, dtype=np.float64)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[1] < 1:
        raise ValueError(f"images must be (B, C, H, W) or (C, H, W); got shape {arr.shape}")
    if arr.shape[1] not in (1, 3):
        b, c, h, w = arr.shape
        k = int(np.ceil(np.sqrt(c)))
        fill = np.full((b, k * k - c, h, w), (value_range[0] + value_range[1]) / 2)
        arr = np.concatenate([arr, fill], 1).reshape(b, k, k, h, w).transpose(0, 1, 3, 2, 4).reshape(b, 1, k * h, k * w)
    lo, hi = value_range
    arr = np.clip((arr - lo) / (hi - lo), 0.0, 1.0)
    arr = np.nan_to_num(arr, nan=0.0)
    out = np.rint(arr * 255.0).astype(np.uint8).transpose(0, 2, 3, 1)
    return np.repeat(out, 3, axis=3) if out.shape[3] == 1 else out


def compose_grid(
    rows: Mapping[str, Any],
    *,
    titles: Sequence[str] | None = None,
    value_range: tuple[float, float] = (-1.0, 1.0),
    cell: int | None = None,
    min_cell: int = 64,
    pad: int = 2,
    font_size: int = 12,
    background: int = 255,
    failed: Mapping[str, Any] | None = None,
) -> Image.Image:
    """PIL image: one row per ``rows`` entry (label on the left), one column per image.

    Each value is a (B, C, H, W) tensor / array in ``value_range`` (C = 1 or 3; latents of other C are shown
    channel by channel, see ``_to_uint8``). Every image is scaled with
    nearest-neighbour to ``cell`` pixels (default: the largest image size present, at least ``min_cell``),
    so low-resolution inputs show their pixel grid. Rows with fewer images leave blank cells; ``titles``
    label the columns. A failed sample is drawn as a grey tile that says "failed" instead of its pixels: one with
    a non-finite value, or one marked in ``failed`` ({row label: (B,) booleans}, e.g. a study's ``failed``
    variable, for samples that left the bounds of ``studies.validity``); a row whose samples all failed says so
    in its label.
    """
    if not rows:
        raise ValueError("rows is empty; pass {'label': images, ...}")
    marks, batches = {}, {}
    for k, v in rows.items():  # each row converted once: its failure marks and its uint8 tiles
        arr = np.asarray(v.detach().cpu().float().numpy() if hasattr(v, "detach") else v, dtype=np.float64)
        arr = arr[None] if arr.ndim == 3 else arr
        batches[str(k)] = _to_uint8(arr, value_range)  # raises on a wrong shape, naming it
        bad = ~np.isfinite(arr.reshape(arr.shape[0], -1)).all(axis=1)
        if failed is not None and k in failed:
            given = np.asarray(failed[k], dtype=bool).reshape(-1)[:len(bad)]
            bad[:len(given)] |= given
        marks[str(k)] = bad
    labels = {k: (f"{k} (all failed)" if len(m) and m.all() else k) for k, m in marks.items()}
    size = cell or max(min_cell, *(max(b.shape[1], b.shape[2]) for b in batches.values()))
    ncol = max(b.shape[0] for b in batches.values())
    font = ImageFont.load_default(size=font_size)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max(int(measure.textlength(labels[k], font=font)) for k in batches) + 2 * pad
    title_h = font_size + 2 * pad if titles else 0
    width = label_w + ncol * (size + pad) + pad
    height = title_h + len(batches) * (size + pad) + pad
    grid = Image.new("RGB", (width, height), (background,) * 3)
    draw = ImageDraw.Draw(grid)
    for j, text in enumerate(titles or []):
        draw.text((label_w + j * (size + pad) + pad, pad), str(text), fill=(0, 0, 0), font=font)
    for i, (label, batch) in enumerate(batches.items()):
        top = title_h + i * (size + pad) + pad
        draw.text((pad, top + size // 2 - font_size // 2), labels[label], fill=(0, 0, 0), font=font)
        for j, img in enumerate(batch):
            left = label_w + j * (size + pad) + pad
            if marks[label][j]:
                draw.rectangle((left, top, left + size - 1, top + size - 1), fill=(200, 200, 200))
                w = int(measure.textlength("failed", font=font))
                if w <= size - 2:  # a tile too small for the word stays plain grey
                    draw.text((left + (size - w) // 2, top + size // 2 - font_size // 2), "failed", fill=(90, 0, 0),
                              font=font)
                continue
            tile = Image.fromarray(img).resize((size, size), Image.Resampling.NEAREST)
            grid.paste(tile, (left, top))
    return grid


def image_grid(rows: Mapping[str, Any], **kwargs: Any):
    """:func:`compose_grid` as a PNG ``IPython.display.Image`` (renders in notebooks and the book, offline)."""
    from IPython.display import Image as PNG

    buffer = io.BytesIO()
    compose_grid(rows, **kwargs).save(buffer, format="PNG")
    return PNG(data=buffer.getvalue(), format="png")
