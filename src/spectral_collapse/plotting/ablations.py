"""Charts and image grids of the ablation chapters (paper Sec. 6.3, Fig. 3, Table 6)."""
from __future__ import annotations

import itertools
import json

import altair as alt
import numpy as np
import pandas as pd
import xarray as xr

from ..metrics.intervals import paired_ci
from ..studies.ablations import ablation_summary, arm_latents, improvement_table
from ..framework.aggregate import TABLE_METRICS
from ..claims.checks import arm_name, arm_words
from ..reference.method_names import method_name
from ..claims.shares import TABLE6_METHODS
from ..claims.evidence import long_frame
from ..claims.compare import paired_units
from .charts import interval_rules, metric_bars, series_lines
from .grids import image_grid
from .palette import method_color, method_dash, method_shape

__all__ = ["arm_bars", "translations_grid", "latents_grid", "pca_chart", "factor_chart", "improvement_chart",
           "improvement_intervals"]

SCORES = ("s_hf", "s_dc", "s_lf", "psnr")
RULES = "the tables' 95 % interval over test crops (± one std over seeds for a score of a whole set)"


def _axes(ds: xr.Dataset) -> list[str]:
    return json.loads(ds.attrs["axes"])


def _grid(ds: xr.Dataset) -> list[tuple]:
    """Every arm's coordinate values, in the results' order."""
    return list(itertools.product(*[[v.item() for v in ds[a].values] for a in _axes(ds)]))


def arm_bars(ds: xr.Dataset, metrics=SCORES, width: int = 230, height: int = 160, columns: int = 2):
    """One chart per metric: per method a point per arm with the tables' interval; None for a two-axis study."""
    axes = _axes(ds)
    if len(axes) != 1:
        return None
    if axes[0] != "train_seed":   # arm values in words ("unet" -> "U-Net", 4 -> "×4"); a training seed keeps its number
        ds = ds.assign_coords({axes[0]: [arm_words(axes[0], v) for v in ds[axes[0]].values.tolist()]})
    return alt.concat(*[metric_bars(ds, m, color=axes[0], width=width, height=height, dots=True, note=False,
                                    interval="crops" if "sample" in ds[m].dims else "std")
                        for m in metrics if m in ds], columns=columns).properties(title=alt.TitleParams(
        "Scores per arm", subtitle=[f"Points: means; rules: {RULES}.", "Each axis spans the values shown, not from 0."],
        anchor="start"))


def translations_grid(ds: xr.Dataset, cell: int = 56):
    """Source, each arm's outputs per method (first seed) and the truth as a PNG grid; a source row per factor."""
    axes = _axes(ds)
    by_factor = axes[-1] == "factor"
    rows = {}
    for combo in _grid(ds):
        sel = dict(zip(axes, combo))
        name = arm_name(sel)
        if "source" not in rows or by_factor:
            rows[f"source ({name})" if by_factor else "source"] = ds["source_images"].sel(sel).values
        for m in ds["method"].values:
            rows[f"{name}, {method_name(m)}"] = ds["images"].sel({**sel, "method": m}).isel(seed=0).values
    rows["ground truth"] = ds["truth_images"].isel({a: 0 for a in axes}).values
    return image_grid(rows, cell=cell)


def latents_grid(ds: xr.Dataset, methods=("ddim", "ovg"), cell: int = 56):
    """The unit-variance inverted latents of each arm (first seed, first three channels, shown as x/3 + 0.5)."""
    rows = {}
    for combo in _grid(ds):
        sel = dict(zip(_axes(ds), combo))
        lat = arm_latents(ds, **sel)
        for m in [x for x in methods if x in ds["method"].values]:
            rows[f"{arm_name(sel)}, {method_name(m)}"] = lat.sel({"method": m}).isel(seed=0).values[:, :3] / 3
    return image_grid(rows, cell=cell)


def pca_chart(ds: xr.Dataset, width: int = 200, height: int = 180):
    """Fig. 3 per arm: the latents' PCA curves (first seed) beside noise; a Markdown note where none is drawn."""
    axes = _axes(ds)
    pca = ds["pca_cev"].isel(seed=0).to_dataframe().reset_index().dropna(subset=["pca_cev"])
    if pca.empty:  # PCA needs two finite inverted latents of an arm
        from IPython.display import Markdown

        return Markdown(f"No PCA curve: no arm has two finite inverted latents in this run "
                        f"({ds.attrs.get('n_test')} test images per arm).")
    pca["arm"] = [arm_name(dict(zip(axes, row))) for row in pca[axes].itertuples(index=False)]
    gauss = ds["pca_cev_gaussian"].to_dataframe().reset_index().dropna()
    gauss["arm"] = [arm_name(dict(zip(axes, row))) for row in gauss[axes].itertuples(index=False)]
    gauss = gauss[gauss["arm"].isin(set(pca["arm"]))].assign(method="N(0, I)")
    both = pd.concat([pca.rename(columns={"pca_cev": "cev"}), gauss.rename(columns={"pca_cev_gaussian": "cev"})],
                     ignore_index=True)[["arm", "method", "component", "cev"]]
    drawn = list(dict.fromkeys(both["method"]))
    subtitle = [f"Curves: {', '.join(map(method_name, drawn))} (first seed)."]
    failed = [str(m) for m in ds["method"].values if str(m) not in drawn]
    if failed:
        subtitle.append(f"No curve for {', '.join(map(method_name, failed))}: fewer than two finite inverted latents.")
    lines = series_lines(both, x=alt.X("component:Q", title="principal component k"),
                         y=alt.Y("cev:Q", title="cumulative explained variance"))
    return lines.properties(width=width, height=height).facet(
        column=alt.Column("arm:N", title=None, sort=list(dict.fromkeys(both["arm"])))).properties(
        title=alt.TitleParams("Cumulative explained variance of the inverted latents", subtitle=subtitle,
                              anchor="start"))


def factor_chart(ds: xr.Dataset, metrics=SCORES, width: int = 140, height: int = 140):
    """Each metric against the SR factor, one line per method, with its interval (``RULES``)."""
    s = ablation_summary(ds, metrics=metrics)
    s = s.assign(lo=s.get("lo", np.nan), hi=s.get("hi", np.nan))   # a set-level score: mean ± std over seeds
    s["lo"], s["hi"] = s["lo"].fillna(s["mean"] - s["std"]), s["hi"].fillna(s["mean"] + s["std"])
    s = s.dropna(subset=["mean"])
    labels = list(dict.fromkeys(s["method"]))
    s["factor"] = s["factor"].astype(int)
    x = alt.X("factor:O", title="SR factor", axis=alt.Axis(labelAngle=0))
    off = alt.XOffset("method:N", sort=labels, scale=alt.Scale(paddingOuter=0.6))
    enc = dict(x=x, color=method_color(labels), shape=method_shape(labels))
    lines = alt.Chart().mark_line(strokeWidth=1.6).encode(
        x=x, xOffset=off, y=alt.Y("mean:Q", title=None, scale=alt.Scale(zero=False)), color=method_color(labels),
        strokeDash=method_dash(labels))
    errs = alt.Chart().mark_rule(strokeWidth=1.4).encode(
        xOffset=off, y=alt.Y("lo:Q", title=None), y2="hi:Q", **{k: v for k, v in enc.items() if k != "shape"}
    ).transform_filter("isValid(datum.lo) && isValid(datum.hi)")
    pts = alt.Chart().mark_point(filled=True, size=45, opacity=1).encode(xOffset=off, y=alt.Y("mean:Q", title=None),
                                                                         **enc)
    sub = f"Mean with {RULES}."
    return alt.layer(lines, errs, pts, data=s).properties(width=width, height=height).facet(
        facet=alt.Facet("metric:N", title=None, sort=[m for m in metrics]), columns=4).resolve_scale(
        y="independent").properties(title=alt.TitleParams("Scores against the SR factor", subtitle=sub,
                                                          anchor="start"))


def improvement_intervals(ds: xr.Dataset, metrics=None) -> pd.DataFrame:
    """x0 minus eps per (metric, method, factor) with its paired 95 % interval over crops (or ± std over seeds).
    Columns: metric, method, factor, delta, lo, hi, n, unit."""
    metrics = TABLE_METRICS if metrics is None else metrics
    crops = long_frame(ds, "x0", str(ds.attrs.get("dataset", "")), per_crop=True)
    scale = "scale" if "scale" in crops else "factor"
    rows = []
    for m in metrics:
        if m not in ds:
            continue
        if "sample" in ds[m].dims and m in set(crops["metric"]):
            f = crops[crops["metric"] == m]
            for (meth, fac), g in f.groupby(["method", scale], sort=False):
                xa, xb = paired_units(g, "x0", "eps", by="parameterization")
                if len(xa):
                    ci = paired_ci(xa, xb)
                    rows.append((m, meth, int(fac), ci.mean, ci.lo, ci.hi, ci.n, "crops"))
        else:
            imp = improvement_table(ds, [m]).dropna(subset=["delta"])
            for (meth, fac), g in imp.groupby(["method", "factor"], sort=False):
                d = g["delta"].astype(float)
                sd = float(d.std(ddof=1)) if len(d) > 1 else np.nan
                rows.append((m, meth, int(fac), float(d.mean()), float(d.mean() - sd), float(d.mean() + sd),
                             len(d), "seeds"))
    return pd.DataFrame(rows, columns=["metric", "method", "factor", "delta", "lo", "hi", "n", "unit"])


def improvement_chart(ds: xr.Dataset, width: int = 150, height: int = 140, columns: int = 3):
    """x0 minus eps per metric, method and factor (above 0: x0 scores higher) with ``improvement_intervals``."""
    imp = improvement_intervals(ds).dropna(subset=["delta"])
    factors = sorted(imp["factor"].unique().tolist())
    drawn = list(dict.fromkeys(imp["method"]))
    labels = [m for m in drawn if m in TABLE6_METHODS] + [m for m in drawn if m not in TABLE6_METHODS]
    x = alt.X("method:N", title=None, sort=labels, axis=alt.Axis(labelAngle=-30, labelAlign="right"))
    enc = dict(x=x)
    if len(factors) > 1:   # one bar per factor beside each other; a single factor needs no legend
        enc["xOffset"] = alt.XOffset("factor:N")
    y = alt.Y("delta:Q", title="x0 − ε")
    bars = alt.Chart().mark_bar().encode(y=y, color=method_color(labels, legend=None), **enc, **(
        {"opacity": alt.Opacity("factor:O", title="SR factor")} if len(factors) > 1 else {}))
    errs = interval_rules(alt.Chart(), 6, "isValid(datum.lo) && isValid(datum.hi)", y=alt.Y("lo:Q", title="x0 − ε"),
                          y2="hi:Q", **enc)
    zero = alt.Chart().mark_rule(color="#888888").encode(y=alt.datum(0))
    sub = "Bars: mean difference; black: its paired " + RULES.removeprefix("the tables' ") + "."
    head = f"x0 minus ε, SR factor {factors[0]}" if len(factors) == 1 else "x0 minus ε per SR factor"
    order = list(dict.fromkeys(imp["metric"]))
    return alt.layer(zero, bars, *errs, data=imp).properties(width=width, height=height).facet(
        facet=alt.Facet("metric:N", title=None, sort=order, header=alt.Header(labelFontSize=12)),
        columns=columns).resolve_scale(y="independent").resolve_axis(x="independent").properties(
        title=alt.TitleParams(head, subtitle=sub, anchor="start"))
