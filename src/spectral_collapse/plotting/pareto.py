"""Charts of OVG's tuning: the Pareto sweep (Fig. 6), its grid, and the schedules' cost and steps."""
from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import xarray as xr

from ..metrics.intervals import bootstrap_ci
from ..framework.aggregate import METRIC_NAMES
from ..claims.paper import INPUT_STRUCTURE
from ..reference.method_names import method_name
from ..studies.pareto import baseline_summary, grid_summary
from ..studies.ovg_schedule import gain_share_interval
from .charts import padded_domain, point_names, text_on, wrap_lines
from ..text import plural, step_size
from .labels import chart_label
from .palette import METHOD_COLORS, SPARE_COLORS, method_color

__all__ = ["pareto_chart", "pareto_figure", "grid_heatmaps", "cost_quality_chart", "guided_steps_chart"]

# marker radii in pixels (Vega-Lite sizes are areas): grid points, chosen rings, baseline diamonds
_R_POINT, _R_RING, _R_BASE = 5.0, 13.0, 8.0   # a ring reaches past a diamond's corners
# every base is an OVG variant (one family, one shape in the palette): here each base gets a shape of its own
_BASE_SHAPES = ("triangle-up", "triangle-down", "square", "cross", "circle")


def _crops(ds: xr.Dataset) -> str:
    """"12 validation crops": the sweep's tuning crops."""
    split = "validation " if "validation" in str(ds.attrs.get("tuning_split", "")) else ""
    return plural(ds.sizes.get("sample", 0), f"{split}crop")


def _interval_rows(ds: xr.Dataset, points: pd.DataFrame) -> pd.DataFrame:
    """95 % bootstrap intervals over the sweep's crops of S_HF and S_LF at each of ``points``."""
    def per_crop(r, metric: str) -> np.ndarray:
        """The point's per-crop scores; empty where the results hold none."""
        name = f"baseline_{metric}" if r.kind == "baseline" else metric
        if name not in ds or "sample" not in ds[name].dims:
            return np.array([])
        at = {"method": r.label} if r.kind == "baseline" else dict(base=r.label, eta_hf=r.eta_hf, eta_lf=r.eta_lf)
        return ds[name].sel(at).values   # a dict, never .sel(method=...): "method" is also .sel's own keyword

    rows = []
    for r in points.itertuples(index=False):
        hf, lf = bootstrap_ci(per_crop(r, "s_hf")), bootstrap_ci(per_crop(r, "s_lf"))
        rows.append({"label": r.label, "kind": r.kind, "s_hf": float(r.s_hf), "s_lf": float(r.s_lf),
                     "hf_lo": hf.lo, "hf_hi": hf.hi, "lf_lo": lf.lo, "lf_hi": lf.hi})
    return pd.DataFrame(rows, columns=["label", "kind", "s_hf", "s_lf", "hf_lo", "hf_hi", "lf_lo", "lf_hi"])


def pareto_chart(ds: xr.Dataset, width: int = 560, height: int = 360, font_size: float = 12.0):
    """Fig. 6: S_LF against S_HF of every grid point and baseline, fronts dashed, choices ringed."""
    grid = grid_summary(ds)
    grid = grid.assign(label=grid["base"], kind="OVG grid point")
    base = baseline_summary(ds)
    base = base.assign(label=base["method"], name=base["method"].map(method_name), kind="baseline")
    pts = pd.concat([grid, base], ignore_index=True)
    failed = pts["failed"].fillna(0) if "failed" in pts else pd.Series(0, index=pts.index)
    drawn = np.isfinite(pts["s_hf"]) & np.isfinite(pts["s_lf"]) & (failed == 0)
    hidden = int((~drawn).sum())
    pts = pts[drawn]
    # intervals only on the points the chapter reads (each variant's choice, the baselines): the cloud stays legible
    read = pts[(pts["kind"] == "baseline") | pts["chosen"].fillna(False).astype(bool)]
    ci = _interval_rows(ds, read.astype({"s_hf": float, "s_lf": float}))
    ci = ci[np.isfinite(ci[["hf_lo", "hf_hi", "lf_lo", "lf_hi"]].astype(float)).all(axis=1)]
    xdom = padded_domain(pts["s_hf"], *([ci["hf_lo"], ci["hf_hi"]] if len(ci) else []), pad=0.07)
    ydom = padded_domain(pts["s_lf"], *([ci["lf_lo"], ci["lf_hi"]] if len(ci) else []), pad=0.08)
    x_enc = alt.X("s_hf:Q", title="S_HF (texture, higher is better)",
                  scale=alt.Scale(domain=xdom, nice=False, zero=False), axis=alt.Axis(format=".2f"))
    y_enc = alt.Y("s_lf:Q", title=f"S_LF ({INPUT_STRUCTURE} kept)",
                  scale=alt.Scale(domain=ydom, nice=False, zero=False), axis=alt.Axis(format=".2f"))
    enc = dict(x=x_enc, y=y_enc)
    g = pts[pts["kind"] == "OVG grid point"]
    bases = list(dict.fromkeys(g["label"]))
    # one legend for colour and shape (one title, one domain)
    colour = method_color(bases, field="label", title="OVG variant")
    shape = alt.Shape("label:N", title="OVG variant", scale=alt.Scale(
        domain=bases, range=[_BASE_SHAPES[i % len(_BASE_SHAPES)] for i in range(len(bases))]))
    cloud = alt.Chart(g).mark_point(filled=True, size=np.pi * _R_POINT ** 2 * 1.3, opacity=0.8).encode(
        color=colour, shape=shape, **enc)
    front = alt.Chart(g[g["on_front"].astype(bool)].sort_values("s_hf")).mark_line(strokeDash=[4, 3]).encode(
        color=colour, detail="label:N", order="s_hf:Q", x="s_hf:Q", y="s_lf:Q")
    picked = g[g["chosen"].astype(bool)]
    chosen = alt.Chart(picked).mark_point(size=np.pi * _R_RING ** 2 * 1.3, shape="circle", filled=False,
                                          strokeWidth=2.5).encode(color=colour, **enc)
    b = pts[pts["kind"] == "baseline"]
    bars = []
    for part, paint, mark in ((ci[ci["kind"] != "baseline"], dict(color=colour), dict(strokeWidth=1.5, opacity=0.9)),
                              (ci[ci["kind"] == "baseline"], {}, dict(strokeWidth=1.5, color="#333333"))):
        if not len(part):
            continue
        bars.append(alt.Chart(part).mark_rule(**mark).encode(x=x_enc, x2="hf_hi:Q", y=y_enc, **paint)
                    .transform_calculate(s_hf="datum.hf_lo"))
        bars.append(alt.Chart(part).mark_rule(**mark).encode(x=x_enc, y=y_enc, y2="lf_hi:Q", **paint)
                    .transform_calculate(s_lf="datum.lf_lo"))
    layers = [*bars, cloud, front]
    if len(b):
        # outlines over the grid points: a grid point at a baseline's place shows inside the diamond
        layers.append(alt.Chart(b).mark_point(shape="diamond", size=np.pi * _R_BASE ** 2 * 1.3, filled=False,
                                              color="#333333", strokeWidth=2, opacity=1).encode(**enc))
        along = np.linspace(0, 1, 16)[:, None]   # the interval bars as rows of small obstacles
        bar_x = np.concatenate([(ci["hf_lo"].to_numpy(float) + along * (ci["hf_hi"] - ci["hf_lo"]).to_numpy(float)),
                                np.broadcast_to(ci["s_hf"].to_numpy(float), (16, len(ci)))]).ravel()
        bar_y = np.concatenate([np.broadcast_to(ci["s_lf"].to_numpy(float), (16, len(ci))),
                                (ci["lf_lo"].to_numpy(float) + along * (ci["lf_hi"] - ci["lf_lo"]).to_numpy(float))]
                               ).ravel()
        marks = [(pts["s_hf"], pts["s_lf"], _R_POINT), (picked["s_hf"], picked["s_lf"], _R_RING),
                 (b["s_hf"], b["s_lf"], _R_BASE), (bar_x, bar_y, 1.0)]
        layers += _baseline_names(b, marks, xdom, ydom, width, height, font_size)
    layers.append(chosen)   # on top: a choice at a baseline's place stays visible around its diamond
    sub = (f"Means over {_crops(ds)}. Markers: grid points of each OVG variant; dashed: each variant's Pareto front; "
           f"ringed in its colour: the point its rule chose; grey diamond outlines: the baselines"
           + ("; bars on the chosen points and the baselines: their 95 % bootstrap interval over the crops."
              if len(ci) else "."))
    if hidden:   # a mean over the surviving samples of a partly failed point would not be comparable
        sub += f" Not drawn: {plural(hidden, 'point')} with failed samples."
    title = alt.TitleParams(f"{ds.attrs.get('dataset', '')}: S_LF against S_HF", anchor="start",
                            subtitle=wrap_lines(sub, width + 60, font_size), fontSize=font_size + 3,
                            subtitleFontSize=font_size)
    return alt.layer(*layers).properties(width=width, height=height, title=title)


# where a baseline's name may sit around its diamond: (align, baseline, dx, dy) in units of the diamond's radius
_NAME_SPOTS = (("left", "bottom", 1, -1), ("right", "bottom", -1, -1), ("left", "top", 1, 1), ("right", "top", -1, 1),
               ("center", "bottom", 0, -1.4), ("center", "top", 0, 1.4), ("left", "middle", 1.4, 0),
               ("right", "middle", -1.4, 0))


def name_spots(names, xy, marks, size: tuple[float, float], font_size: float, off: float) -> list[tuple]:
    """Per name beside its point ``xy`` (pixels, y down), the spot of ``_NAME_SPOTS`` whose text box covers the fewest
    ``marks`` ((x, y, radius)), names placed before it and pixels outside the plot of ``size``."""
    placed, out = [], []
    for name, (x, y) in zip(names, xy):
        w, h = 0.6 * font_size * len(str(name)), font_size

        def cost(spot):
            align, base, dx, dy = spot
            left = x + dx * off - {"left": 0, "center": w / 2, "right": w}[align]
            top = y + dy * off - {"top": 0, "middle": h / 2, "bottom": h}[base]
            box = (left, top, left + w, top + h)
            hits = sum(box[0] - r < mx < box[2] + r and box[1] - r < my < box[3] + r for mx, my, r in marks)
            crossed = sum(box[0] < o[2] and o[0] < box[2] and box[1] < o[3] and o[1] < box[3] for o in placed)
            outside = box[0] < 0 or box[1] < 0 or box[2] > size[0] or box[3] > size[1]
            return hits + 2 * crossed + 3 * outside, box

        best = min(_NAME_SPOTS, key=lambda spot: cost(spot)[0])
        placed.append(cost(best)[1])
        out.append(best)
    return out


def _baseline_names(b: pd.DataFrame, marks, xdom, ydom, width: int, height: int, font_size: float) -> list:
    """One text layer per baseline naming it beside its diamond, at the spot covering the fewest markers."""
    def px(x, y):
        return ((np.asarray(x, float) - xdom[0]) / (xdom[1] - xdom[0]) * width,
                height - (np.asarray(y, float) - ydom[0]) / (ydom[1] - ydom[0]) * height)

    centres = [(mx, my, r) for xs, ys, r in marks for mx, my in zip(*px(xs, ys))]
    own = list(zip(*px(b["s_hf"], b["s_lf"])))
    # a ring's distance off the centre: clear of its own diamond and of a choice ringed at the same place
    spots = name_spots(b["name"], own, centres, (width, height), font_size, _R_RING)
    return [alt.Chart(b.iloc[[i]]).mark_text(align=align, baseline=base, dx=dx * _R_RING, dy=dy * _R_RING,
                                             fontSize=font_size, color="#333333")
            .encode(x="s_hf:Q", y="s_lf:Q", text="name:N") for i, (align, base, dx, dy) in enumerate(spots)]


def pareto_figure(datasets: list[xr.Dataset], width: int = 500, height: int = 290):
    """Fig. 6 for the figures page: one Pareto panel per dataset, stacked, with 13 px text."""
    charts = [pareto_chart(ds, width=width, height=height, font_size=13) for ds in datasets]
    return alt.vconcat(*charts, spacing=28).resolve_scale(color="independent", shape="independent").configure_axis(
        labelFontSize=13, titleFontSize=13).configure_legend(labelFontSize=13, titleFontSize=13)


def _kid_label(v: float) -> str:
    """A KID_wav mean in a heat-map cell: 3 significant digits, thousands as "k" ("13.7", "1.24k", "157k")."""
    return f"{v / 1e3:.3g}k" if abs(v) >= 1e3 else f"{v:.3g}"


def grid_heatmaps(ds: xr.Dataset, metrics=("s_hf", "s_lf"), cell: int = 50, font_size: float = 12.0):
    """Mean of each metric over the (eta_HF, eta_LF) grid per base; failed cells counted, mostly failed grey."""
    grid = grid_summary(ds)
    n_samples = ds.sizes.get("sample", 0)
    long = grid.melt(id_vars=["base", "eta_hf", "eta_lf", "failed"], value_vars=list(metrics), var_name="metric")
    long["eta_HF"] = long["eta_hf"].map(step_size)   # the step sizes as every text of the book writes them
    long["eta_LF"] = long["eta_lf"].map(step_size)
    order_hf = [step_size(v) for v in sorted(grid["eta_hf"].unique())]
    order_lf = [step_size(v) for v in sorted(grid["eta_lf"].unique(), reverse=True)]
    value = long["value"].astype(float)
    nfail = long["failed"].fillna(0).astype(int)
    # a cell where most samples failed has no mean (``pareto.grid_summary``): grey, with its failed count
    long["drawn"] = np.isfinite(value) & (nfail < max(n_samples, 1))
    long["value"] = value.where(np.isfinite(value), 0.0)  # not drawn: failed cells are filtered
    shown = [_kid_label(v) if m == "kid_wav" else f"{v:.3f}" for v, m in zip(long["value"], long["metric"])]
    long["label"] = [("failed" if k >= max(n_samples, 1) else f"{k} of {n_samples}\nfailed") if not d
                     else f"{v}\n{k} failed" if k else v for v, k, d in zip(shown, nfail, long["drawn"])]
    panels = []
    for m in metrics:
        d = long[long["metric"] == m].copy()
        vals = d.loc[d["drawn"], "value"]   # the colour spans the drawn means only
        dom = [float(vals.min()), float(vals.max())] if len(vals) else [0.0, 1.0]
        # KID_wav spans decades over a grid: a log colour scale where every drawn value is positive
        log = m == "kid_wav" and len(vals) > 0 and dom[0] > 0
        d["text_colour"] = np.where(d["drawn"], text_on("viridis", np.log10(d["value"].clip(lower=dom[0])) if log
                                                        else d["value"], [np.log10(v) for v in dom] if log else dom),
                                    "black")
        base = alt.Chart(d).encode(x=alt.X("eta_HF:O", sort=order_hf, title="eta_HF", axis=alt.Axis(labelAngle=0)),
                                   y=alt.Y("eta_LF:O", sort=order_lf, title="eta_LF"))
        heat = base.mark_rect().encode(
            color=alt.Color("value:Q", title=METRIC_NAMES.get(m, m) + (" (log scale)" if log else ""),
                            scale=alt.Scale(scheme="viridis", domain=dom, type="log" if log else "linear"),
                            legend=alt.Legend(orient="top", direction="horizontal", gradientLength=240))
        ).transform_filter("datum.drawn")
        failed = base.mark_rect(color="#DDDDDD").transform_filter("!datum.drawn")
        texts = [base.mark_text(fontSize=font_size, lineBreak="\n", color=c).encode(text="label:N").transform_filter(
            alt.FieldEqualPredicate(field="text_colour", equal=c)) for c in ("white", "black")]
        panels.append(alt.layer(heat, failed, *texts).properties(
            width=cell * len(order_hf), height=cell * len(order_lf)).facet(
            column=alt.Column("base:N", title=None, sort=list(map(str, grid["base"].unique())),
                              header=alt.Header(labelFontSize=font_size)), spacing=12,
            title=alt.TitleParams(f"{METRIC_NAMES.get(m, m)}: mean over {_crops(ds)}", anchor="start")))
    return alt.vconcat(*panels, spacing=24).resolve_scale(color="independent")


def cost_quality_chart(ds: xr.Dataset, width: int = 420, height: int = 320) -> alt.LayerChart:
    """Time ratio against S_HF gain share per method, with intervals, names and the target corner shaded."""
    t = ds[["time_ratio", "s_hf_gain_share", "backward_passes"]].to_dataframe().reset_index()
    t["method"] = t["method"].astype(str)
    iv = pd.DataFrame([gain_share_interval(ds, m) for m in t["method"]], columns=["share", "lo", "hi", "crops"])
    wide = iv["hi"] > iv["lo"]   # DDIM (0) and full OVG (1): an interval of no width, not drawn
    t["share_lo"], t["share_hi"], t["crops"] = iv["lo"].where(wide).values, iv["hi"].where(wide).values, iv["crops"]
    t["kind"] = t["method"].where(t["method"].isin(["ddim", "ovg"]), "schedule")
    t["name"] = t["method"].map(chart_label)   # a point named by its method's or its schedule's reader name
    t = t.dropna(subset=["time_ratio", "s_hf_gain_share"])
    lo = float(ds.attrs.get("max_time_ratio", 1.5))
    target = float(ds.attrs.get("target_share", 0.9))
    top = max(1.05, float(np.nanmax(t[["s_hf_gain_share", "share_hi"]].to_numpy(float))) if len(t) else 1.05)
    xdom = padded_domain(t["time_ratio"], [1.0], [lo], pad=0.08)
    goal = pd.DataFrame({"x": [xdom[0]], "x2": [lo], "y": [target], "y2": [top]})
    ydom = padded_domain(t["s_hf_gain_share"], t["share_lo"], t["share_hi"], [0.0, top], pad=0.06)
    x = alt.X("time_ratio:Q", title="wall time / DDIM's", scale=alt.Scale(domain=xdom, nice=False, zero=False))
    y = alt.Y("s_hf_gain_share:Q", title="share of full OVG's S_HF gain",
              scale=alt.Scale(domain=ydom, nice=False, zero=False))
    yfit = alt.Scale(domain=ydom, nice=False)
    zone = alt.Chart(goal).mark_rect(opacity=0.12, color="green").encode(
        x=alt.X("x:Q", scale=alt.Scale(domain=xdom, nice=False)), x2="x2", y=alt.Y("y:Q", scale=yfit), y2="y2")
    kinds = ["ddim", "schedule", "ovg"]
    # a schedule in a colour no method has (the first spare one, a teal far from OVG's brown and DDIM's navy)
    colours = alt.Scale(domain=kinds, range=[METHOD_COLORS["ddim"], SPARE_COLORS[0], METHOD_COLORS["ovg"]])
    colour = alt.Color("kind:N", title="guidance", sort=kinds, scale=colours)
    pts = alt.Chart(t).mark_point(filled=True, size=80, opacity=1).encode(x=x, y=y, color=colour)
    bars = t.dropna(subset=["share_lo", "share_hi"])
    layers = [zone, alt.Chart(pd.DataFrame({"y": [0.0, 1.0]})).mark_rule(strokeDash=[4, 3], color="#888888").encode(
        y=alt.Y("y:Q", scale=yfit))]
    if len(bars):
        layers.append(alt.Chart(bars).mark_rule(strokeWidth=1.5).encode(
            x="time_ratio:Q", y=alt.Y("share_lo:Q", scale=yfit), y2="share_hi:Q", color=colour))
    names = point_names(t, x="time_ratio", y="s_hf_gain_share", text="name")
    n = int(bars["crops"].max()) if len(bars) else 0
    sub = (f"Bars: each schedule's 95 % bootstrap interval over the {n} test crops; DDIM (0) and full OVG (1) are "
           "the ends of the share, with no interval." if len(bars) else "Means only: no interval over the crops.")
    title = alt.TitleParams("Cost against quality", subtitle=wrap_lines(sub, width + 60), anchor="start")
    return alt.layer(*layers, pts, names).properties(width=width, height=height, title=title)


def guided_steps_chart(ds: xr.Dataset) -> alt.Chart:
    """Which inversion steps each method guides (step 0: lowest σ), cells edged in white."""
    steps = int(ds.attrs["steps"])
    sched = json.loads(ds.attrs["schedules"])
    methods = list(map(str, ds["method"].values))
    rows = []
    for m in methods:
        g = set(range(steps)) if m == "ovg" else set() if m == "ddim" else set(sched[m]["guided_steps"])
        rows += [{"method": m, "step": i, "guided": i in g} for i in range(steps)]
    every = 5 if steps > 20 else 1
    return alt.Chart(pd.DataFrame(rows)).mark_rect(stroke="white", strokeWidth=1.5).encode(
        x=alt.X("step:O", title="inversion step (σ rising)",
                axis=alt.Axis(values=list(range(0, steps, every)), labelAngle=0)),
        y=alt.Y("method:N", sort=methods, title=None),
        color=alt.Color("guided:N", title="OVG drift on the step",
                        scale=alt.Scale(domain=[False, True], range=["#eeeeee", "#d62728"]),
                        legend=alt.Legend(labelExpr="datum.value ? 'guided' : 'unguided'")),
    ).properties(width=420, height=24 * ds.sizes["method"], title="Guided steps")
