"""Charts of the decorrelation chapter (paper Fig. 8): latents beside their flag masks, and S_DC against S_G with one
point per inversion run."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import xarray as xr

from .charts import image_grid, padded_domain, wrap_lines
from .palette import method_color, method_shape

__all__ = ["flag_masks", "slot_offsets", "decorrelation_scatter"]


def flag_masks(ds: xr.Dataset, cell: int = 56):
    """Per method: latents x_T (shown as x/3) and their flag masks (white = flagged)."""
    rows = {}
    for m in ds["method"].values:
        rows[f"{m} x_T"] = ds["latents"].sel({"method": m}).values / 3
        rows[f"{m} flags"] = ds["mask"].sel({"method": m}).values[:, None] * 2.0 - 1   # flagged = white
    return image_grid(rows, cell=cell)


def slot_offsets(slots, values, step_px: float, cap_px: float, jitter_px: float = 3.0) -> list[tuple[float, float]]:
    """(x, y) pixel offsets of the runs' slots (0, 1, ... among the runs at one S_G): sideways in ``step_px`` steps
    within ``cap_px`` (inward at S_G 0 or 1), further slots in rows ``jitter_px`` up or down."""
    per_row = max(1, int(cap_px // step_px) + 1)   # sideways places within the cap: 0, 1, ... steps from the value
    out = []
    for k, v in zip(slots, values):
        side, row = k % per_row, k // per_row
        if v <= 0 or v >= 1:
            dx = step_px * side * (1 if v <= 0 else -1)
        else:   # 0, +1, -1, +2, ... steps, the farthest inside the cap
            dx = step_px * ((side + 1) // 2) * (1 if side % 2 else -1)
            dx = float(np.clip(dx, -cap_px, cap_px))
        dy = jitter_px * ((row + 1) // 2) * (-1 if row % 2 else 1)
        out.append((float(dx), float(dy)))
    return out


def decorrelation_scatter(ds: xr.Dataset, step_px: float = 3.5, cap: float = 0.02) -> alt.LayerChart:
    """Set-level S_G against mean S_DC, one point per distinct run with its 95 % interval over latents where stored;
    runs at one S_G set up to ``cap`` of the axis width apart (``slot_offsets``), values unchanged."""
    runs = pd.DataFrame({"method": ds["run_method"].values, "steps": ds["run_steps"].values,
                         "seed": ds["run_seed"].values, "s_g": ds["run_s_g"].values, "s_dc": ds["run_s_dc"].values})
    has_ci = "run_s_dc_lo" in ds
    if has_ci:
        runs = runs.assign(lo=ds["run_s_dc_lo"].values, hi=ds["run_s_dc_hi"].values)
    runs["method"] = runs["method"].astype(str)
    keys = ["method", "steps", "s_g", "s_dc"] + (["lo", "hi"] if has_ci else [])
    runs = (runs.assign(seeds=runs["seed"].astype(str)).groupby(keys, sort=False, dropna=False)
            .agg(seeds=("seeds", ", ".join), runs=("seed", "size")).reset_index())
    labels = list(dict.fromkeys(runs["method"]))
    xdom = padded_domain(runs["s_g"], pad=0.08, lo=0.0, hi=1.0)
    ydom = padded_domain(runs["s_dc"], *(([runs["lo"], runs["hi"]]) if has_ci else []), pad=0.06, hi=1.0)
    # as wide as the text column allows: the runs at S_G = 0 sit side by side within a few pixels
    width, height = 520, 280
    # one slot per (method, step count) among the runs at one S_G: one method's runs at several step counts too
    slots = runs.assign(at=runs["s_g"].round(9), slot=runs["method"] + " · " + runs["steps"].astype(str))
    slots = slots.groupby("at", sort=False)["slot"].transform(lambda v: pd.factorize(v)[0])
    moved = slot_offsets(slots, runs["s_g"].round(9), step_px, cap * width)
    runs["px"], runs["py"] = [dx for dx, _ in moved], [dy for _, dy in moved]
    jittered = any(dy for _, dy in moved)
    in_range = "datum.value < 0 || datum.value > 1 ? '' : datum.label"   # S_G lies in [0, 1]: no tick label beyond
    x = alt.X("s_g:Q", title="S_G (set of latents)", scale=alt.Scale(domain=xdom, nice=False, zero=False),
              axis=alt.Axis(labelExpr=in_range))
    y = alt.Y("s_dc:Q", title="mean S_DC (95 % interval over latents)",
              scale=alt.Scale(domain=ydom, nice=False, zero=False))
    steps = sorted(runs["steps"].unique().tolist())
    size = alt.Size("steps:O", title="steps", sort=steps,
                    scale=alt.Scale(domain=steps, range=list(np.linspace(35, 130, len(steps)))))
    groups = [(m, (dx, dy), g) for (m, dx, dy), g in runs.groupby(["method", "px", "py"], sort=False)]
    points = [alt.Chart(g).mark_point(filled=True, opacity=0.85, strokeWidth=0.6, stroke="white", xOffset=px[0],
                                      yOffset=px[1]).encode(
        x=x, y=y, color=method_color(labels), shape=method_shape(labels), size=size)
        for m, px, g in groups]
    title = alt.TitleParams("S_DC against S_G, one point per inversion run", anchor="start", subtitle=wrap_lines(
        "Identical runs of a deterministic method (one per seed) are drawn once. Runs (of different methods or "
        "step counts) at the same S_G are drawn side by side for legibility, "
        f"at most {cap * 100:.0f} % of the axis width from their value" + (" and, where more of them tie, a few pixels "
        "above or below it" if jittered else "") + "; at S_G = 0 they are drawn to the right of 0, and their value "
        "is still 0 (S_G is never below 0).", width))
    if has_ci:
        bars = [alt.Chart(g.dropna(subset=["lo", "hi"])).mark_rule(strokeWidth=1.5, xOffset=px[0], yOffset=px[1])
                .encode(x=x, y="lo:Q", y2="hi:Q", color=method_color(labels)) for m, px, g in groups
                if g[["lo", "hi"]].notna().all(axis=1).any()]
        return alt.layer(*bars, *points).properties(width=width, height=height, title=title)
    return alt.layer(*points).properties(width=width, height=height, title=title)
