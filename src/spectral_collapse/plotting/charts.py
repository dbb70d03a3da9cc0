"""Small Altair charts of an xr.Dataset or a tidy pd.DataFrame, aggregated in pandas."""
from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import xarray as xr

from .labels import chart_label, with_units
from .palette import REFERENCE_COLOR, method_color, method_dash, method_shape

__all__ = ["to_frame", "metric_bars", "metric_heatmap", "series_lines", "padded_domain", "wrap_lines", "point_names",
           "name_below", "interval_rules"]


def to_frame(data: xr.Dataset | pd.DataFrame, variable: str) -> pd.DataFrame:
    """Tidy frame with one column per dimension / coordinate and one for ``variable``."""
    frame = isinstance(data, pd.DataFrame)
    _require([variable], data.columns if frame else data.variables, "columns of the frame" if frame else "variables")
    return data.reset_index(drop=True) if frame else data[[variable]].to_dataframe().reset_index()


def _require(names: Sequence[str], have, what: str = "dimensions or coordinates of the data") -> None:
    """Raise a KeyError naming the ``names`` that are not among ``have``."""
    missing = [n for n in names if n not in have]
    if missing:
        raise KeyError(f"{missing} are not {what}; available: {sorted(map(str, have))}")


def interval_rules(chart: alt.Chart, tick: float = 8, where: str | None = None, **encoding) -> list[alt.Chart]:
    """An interval's layers: a black rule with end ticks over a wider white one; ``where`` filters the rows."""
    layers = [chart.mark_errorbar(ticks={"size": tick + 3, "color": "white"}, color="white", thickness=3.6),
              chart.mark_errorbar(ticks={"size": tick, "color": "black"}, color="black", thickness=1.4)]
    layers = [layer.encode(**encoding) for layer in layers]
    return [layer.transform_filter(where) for layer in layers] if where else layers


def metric_bars(
    data: xr.Dataset | pd.DataFrame,
    metric: str,
    *,
    color: str | None = None,
    over: str | None = "seed",
    title: str | None = None,
    width: int = 320,
    height: int = 220,
    interval: str = "std",
    reference=None,
    dots: bool | None = None,
    note: bool = True,
    rule: float | None = None,
) -> alt.LayerChart:
    """Points (or bars) of ``metric`` per method and ``color`` with ``interval`` ("std" over ``over``, "crops",
    "items"); ``reference``: a last grey bar; ``rule``: a dashed grey line at that value."""
    from ..metrics.intervals import bootstrap_ci

    items = [d for d in (data[metric].dims if isinstance(data, xr.Dataset) and metric in data else ())
             if d in ("latent", "sample")]
    if over is None and interval == "std" and items:   # per-item values: their interval over the items
        interval = "crops" if "sample" in items else "items"
    frame = to_frame(data, metric)
    keys, runs = ["method"] + [color] * bool(color), [over] * bool(over)
    _require(keys + runs, frame.columns)
    if interval == "std":
        per_run = frame.groupby(keys + runs, sort=False, dropna=False)[metric].mean().reset_index()
        stats = per_run.groupby(keys, sort=False, dropna=False)[metric].agg(
            mean="mean", std=lambda s: s.std(ddof=1) if over else np.nan, n="count").reset_index()
        stats["lo"], stats["hi"] = stats["mean"] - stats["std"], stats["mean"] + stats["std"]
    elif interval == "crops" and isinstance(data, xr.Dataset) and "sample" in data[metric].dims:
        stats = _table_stats(data, metric, color)
    elif interval in ("crops", "items"):
        rows = []
        for k, g in frame.groupby(keys, sort=False, dropna=False):
            c = bootstrap_ci(g[metric].to_numpy())
            rows.append((*(k if isinstance(k, tuple) else (k,)), c.mean, np.nan, c.n, c.lo, c.hi))
        stats = pd.DataFrame(rows, columns=[*keys, "mean", "std", "n", "lo", "hi"])
    else:
        raise ValueError(f"interval must be 'std', 'crops' or 'items', got {interval!r}")
    if reference is not None:
        ref = np.asarray(reference, dtype=np.float64).ravel()
        c = bootstrap_ci(ref) if ref.size > 1 else None
        row = {"method": "gaussian (reference)", "mean": c.mean if c else float(ref[0]), "std": np.nan, "n": ref.size,
               "lo": c.lo if c else np.nan, "hi": c.hi if c else np.nan}
        stats = pd.concat([stats, pd.DataFrame([row])], ignore_index=True)
    label = title if isinstance(title, str) else with_units(chart_label(metric))
    if dots is None:
        dots = bool(np.isfinite(pd.to_numeric(stats["lo"], errors="coerce")).any())
    what = {"std": f"± one std over {over}s", "crops": "95 % interval over test crops",
            "items": "95 % bootstrap interval of the mean" + (
                f" over {int(data.sizes[items[0]])} {items[0]}s" if items else "")}[interval]
    if dots and note and not isinstance(title, alt.TitleParams):
        title = alt.TitleParams(title or label, subtitle=wrap_lines(
            f"Points: means; rules: {what}. The axis spans the values shown, not from 0.", width), anchor="start")
    x = alt.X("method:N", sort=list(dict.fromkeys(stats["method"])), title="method")
    base = alt.Chart(stats).properties(width=width, height=height, title=title or label)
    enc: dict[str, Any] = {"x": x}
    if color:   # side by side in the order of the colour legend
        enc["xOffset"] = alt.XOffset(f"{color}:N", sort=pd.unique(stats[color]).tolist())
    span = padded_domain(stats["mean"], stats["lo"], stats["hi"], [] if rule is None else [rule], pad=0.12, min_span=0)
    scale = alt.Scale(zero=False, nice=False, domain=span) if dots else alt.Undefined
    mark = base.mark_point(filled=True, size=70, opacity=1) if dots else base.mark_bar()
    # marks per method name their method on the x axis: a colour legend would only repeat it
    hue = color or "method"
    marks = mark.encode(y=alt.Y("mean:Q", title=label, scale=scale), **enc,
                        color=method_color(stats[hue], field=hue, title=hue, **({} if color else {"legend": None})))
    line = [] if rule is None else [alt.Chart(pd.DataFrame({"rule": [rule]})).mark_rule(
        color=REFERENCE_COLOR, strokeDash=[4, 3]).encode(y=alt.Y("rule:Q", scale=scale))]
    # the rules over the points: an interval narrower than its point still shows
    return alt.layer(*line, marks, *interval_rules(base, 8 if dots else 10, y=alt.Y("lo:Q", title=label, scale=scale),
                                                   y2="hi:Q", **enc))


def point_names(frame: pd.DataFrame, *, x: str, y: str, text: str, font_size: float = 12.0,
                off: float = 5.0, near: float = 0.15) -> alt.LayerChart:
    """A layer naming each (``x``, ``y``) point beside it, above or below it as ``name_below`` says."""
    f = frame.reset_index(drop=True)
    below = name_below(f[x].to_numpy(np.float64), f[y].to_numpy(np.float64), near)

    def layer(rows, baseline, dy):
        return alt.Chart(f[rows]).mark_text(align="left", baseline=baseline, dx=off, dy=dy, fontSize=font_size,
                                            color="#333333").encode(x=f"{x}:Q", y=f"{y}:Q", text=f"{text}:N")

    return alt.layer(layer(~below, "bottom", -off), layer(below, "top", off))


def name_below(xs: np.ndarray, ys: np.ndarray, near: float = 0.15) -> np.ndarray:
    """Per point, whether its name goes below it: near the previous point (by ``xs``) whose name is above."""
    def scaled(v):
        span = np.nanmax(v) - np.nanmin(v) if len(v) else 0.0
        return (v - np.nanmin(v)) / span if span > 0 else np.zeros_like(v)

    sx, sy = scaled(xs), scaled(ys)
    below = np.zeros(len(xs), dtype=bool)
    order = np.argsort(xs, kind="stable")
    for prev, cur in zip(order, order[1:]):
        below[cur] = not below[prev] and abs(sx[cur] - sx[prev]) < near and abs(sy[cur] - sy[prev]) < near
    return below


def _table_stats(ds: xr.Dataset, metric: str, color: str | None) -> pd.DataFrame:
    """Per method (and value of ``color``): the tables' mean and 95 % interval over crops."""
    from ..framework.aggregate import summary

    parts = []
    for v in (ds[color].values.tolist() if color else [None]):
        s = summary(ds.sel({color: v}) if color else ds, [metric])
        s = s[s["metric"] == metric]
        parts.append(pd.DataFrame({"method": s["method"], **({color: v} if color else {}), "mean": s["mean"],
                                   "std": np.nan, "n": s["crops"], "lo": s["lo"], "hi": s["hi"]}))
    return pd.concat(parts, ignore_index=True)


# the span of each Vega scheme (as a fraction of its domain) whose colours are light enough for black text: WCAG
# relative luminance of the scheme's colour stops above 0.179, where black has the higher contrast
LIGHT_SPANS = {"viridis": (0.4365, 1.0), "redblue": (0.159, 0.8615)}


def text_on(scheme: str, values, domain) -> list[str]:
    """"white" or "black" per cell of ``values`` on ``scheme``: the text colour of the higher contrast."""
    lo, hi = domain
    t = (np.asarray(values, dtype=np.float64) - lo) / ((hi - lo) or 1.0)
    a, b = LIGHT_SPANS[scheme]
    return ["black" if a <= v <= b else "white" for v in np.clip(t, 0, 1)]


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
    domain: tuple[float, float] | None = None,
    axis_titles: bool = True,
) -> alt.LayerChart:
    """Heat map of ``metric`` aggregated by ``agg`` over all but ``x`` and ``y``, numbers in white or black."""
    frame = to_frame(data, metric)
    _require([x, y], frame.columns)
    cells = frame.groupby([y, x], sort=False, dropna=False)[metric].agg(agg).reset_index()
    lo, hi = domain or (float(cells[metric].min()), float(cells[metric].max()))
    cells["text_colour"] = text_on(scheme, cells[metric], (lo, hi))
    label = with_units(chart_label(metric))
    base = alt.Chart(cells).encode(
        x=alt.X(f"{x}:O", sort=list(dict.fromkeys(cells[x])), **({} if axis_titles else {"title": None})),
        y=alt.Y(f"{y}:O", sort=list(dict.fromkeys(cells[y])), **({} if axis_titles else {"title": None})),
    ).properties(title=title or f"{label} ({agg})", width=alt.Step(cell_width), height=alt.Step(cell_height))
    rect = base.mark_rect().encode(
        color=alt.Color(f"{metric}:Q", title=label, scale=alt.Scale(scheme=scheme, domain=[lo, hi])))
    texts = [base.mark_text(fontSize=12, color=c).encode(text=alt.Text(f"{metric}:Q", format=fmt)).transform_filter(
        alt.FieldEqualPredicate(field="text_colour", equal=c)) for c in ("white", "black")]
    return alt.layer(rect, *texts)


def wrap_lines(text: str, width_px: int, font_px: float = 11.0) -> list[str]:
    """``text`` wrapped to lines that fit ``width_px`` at ``font_px`` (~0.6 em a character): a subtitle."""
    return textwrap.wrap(text, max(20, int(width_px / (0.6 * font_px))))


def padded_domain(*values, pad: float = 0.06, min_span: float = 0.05) -> list[float]:
    """[min, max] of the finite ``values`` (at least ``min_span`` wide) widened by ``pad`` of the span."""
    v = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in values]) if values else np.array([])
    v = v[np.isfinite(v)]
    if not len(v):
        return [0.0, 1.0]
    a, b = float(v.min()), float(v.max())
    span = max(b - a, min_span) or max(abs(b), 1e-12)
    mid = (a + b) / 2
    a, b = min(a, mid - span / 2), max(b, mid + span / 2)
    return [a - pad * span, b + pad * span]


def series_lines(frame: pd.DataFrame, *, x, y, series: str = "method", title: str | None = "method",
                 points: bool = False) -> alt.LayerChart:
    """One line per ``series`` value in the book's method look (``points``: shaped markers); facetable."""
    labels = list(dict.fromkeys(map(str, frame[series])))
    enc = dict(x=x, y=y, color=method_color(labels, field=series, title=title),
               strokeDash=method_dash(labels, field=series, title=title))
    if points:
        enc["shape"] = method_shape(labels, field=series, title=title)
    point = alt.OverlayMarkDef(filled=True, size=36, opacity=1) if points else False
    return alt.layer(alt.Chart().mark_line(strokeWidth=2, opacity=0.9, point=point).encode(**enc), data=frame)
