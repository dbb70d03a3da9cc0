"""Charts and image grids of the ablation chapters (paper Sec. 6.3): metrics per arm, translations, inverted
latents and their PCA (Fig. 3), the scale-factor curves and the eps-vs-x0 differences (Table 6)."""
from __future__ import annotations

import itertools
import json

import pandas as pd
import xarray as xr

from ..studies.ablations import ablation_summary, arm_latents, improvement_table
from .palette import method_color
from .charts import image_grid, metric_bars

__all__ = ["arm_bars", "translations_grid", "latents_grid", "pca_chart", "factor_chart", "improvement_chart"]

SCORES = ("s_hf", "s_dc", "s_lf", "psnr")


def _axes(ds: xr.Dataset) -> list[str]:
    return json.loads(ds.attrs["axes"])


def _grid(ds: xr.Dataset) -> list[tuple]:
    """Every arm's coordinate values, in the results' order."""
    return list(itertools.product(*[[v.item() for v in ds[a].values] for a in _axes(ds)]))


def arm_bars(ds: xr.Dataset, metrics=SCORES, width: int = 200, height: int = 170):
    """One bar chart per metric: methods side by side, one bar per arm; error bars the 95 % bootstrap interval over
    test crops for a per-crop metric, the std over seeds for a set-level one such as S_G (one-axis studies; a
    two-axis study returns None)."""
    import altair as alt

    axes = _axes(ds)
    if len(axes) != 1:
        return None
    return alt.hconcat(*[metric_bars(ds, m, color=axes[0], width=width, height=height,
                                     interval="crops" if "sample" in ds[m].dims else "std")
                         for m in metrics if m in ds])


def translations_grid(ds: xr.Dataset, cell: int = 56):
    """Source (input condition), each arm's outputs per method (first seed) and the ground truth, as a PNG grid;
    a factor axis gets one source row per factor (its inputs differ)."""
    axes = _axes(ds)
    by_factor = axes[-1] == "factor"
    rows = {}
    for combo in _grid(ds):
        sel = dict(zip(axes, combo))
        name = " ".join(f"{v}" for v in combo)
        if "source" not in rows or by_factor:
            rows[f"source {name}" if by_factor else "source"] = ds["source_images"].sel(sel).values
        for m in ds["method"].values:
            rows[f"{name} {m}"] = ds["images"].sel({**sel, "method": m}).isel(seed=0).values
    rows["ground truth"] = ds["truth_images"].isel({a: 0 for a in axes}).values
    return image_grid(rows, cell=cell)


def latents_grid(ds: xr.Dataset, methods=("ddim", "ovg"), cell: int = 56):
    """The unit-variance inverted latents x_T of each arm (first seed, first three channels, shown as x/3 + 0.5)."""
    rows = {}
    for combo in _grid(ds):
        lat = arm_latents(ds, **dict(zip(_axes(ds), combo)))
        for m in [x for x in methods if x in ds["method"].values]:
            rows[f"{' '.join(map(str, combo))} {m}"] = lat.sel({"method": m}).isel(seed=0).values[:, :3] / 3
    return image_grid(rows, cell=cell)


def pca_chart(ds: xr.Dataset, width: int = 220, height: int = 180):
    """Fig. 3 per arm: cumulative explained variance of the inverted latents' PCA (first seed) against Gaussian
    noise of the same count and dimension. When no arm has two finite latents, a Markdown note says so instead."""
    import altair as alt

    axes = _axes(ds)
    pca = ds["pca_cev"].isel(seed=0).to_dataframe().reset_index().dropna(subset=["pca_cev"])
    if pca.empty:  # PCA needs two finite inverted latents of an arm
        from IPython.display import Markdown

        return Markdown(f"No PCA curve: no arm has two finite inverted latents in this run "
                        f"({ds.attrs.get('n_test')} test images per arm).")
    pca["arm"] = pca[axes].astype(str).agg(" ".join, axis=1)
    gauss = ds["pca_cev_gaussian"].to_dataframe().reset_index().dropna()
    gauss["arm"] = gauss[axes].astype(str).agg(" ".join, axis=1) if axes[0] in gauss else "all"
    gauss["method"] = "N(0, I)"
    both = pd.concat([pca.rename(columns={"pca_cev": "cev"}), gauss.rename(columns={"pca_cev_gaussian": "cev"})])
    return alt.Chart(both).mark_line().encode(
        x=alt.X("component:Q", title="principal component k"), y=alt.Y("cev:Q", title="cumulative explained variance"),
        color=method_color(both["method"]), strokeDash="method:N").properties(width=width, height=height).facet(
        column=alt.Column("arm:N", title=None))


def factor_chart(ds: xr.Dataset, metrics=SCORES, width: int = 180, height: int = 150):
    """Each metric's mean over seeds against the SR factor, one line per method (Table 5 as curves)."""
    import altair as alt

    s = ablation_summary(ds, metrics=metrics)
    return alt.Chart(s).mark_line(point=True).encode(
        x=alt.X("factor:O"), y=alt.Y("mean:Q", title=None), color=method_color(s["method"])).properties(
        width=width, height=height).facet(column=alt.Column("metric:N", title=None)).resolve_scale(y="independent")


def improvement_chart(ds: xr.Dataset, width: int = 130, height: int = 150):
    """x0 minus eps per metric, method and factor (mean over seeds): above 0 the x0 model scores higher."""
    import altair as alt

    imp = improvement_table(ds).dropna(subset=["delta"])
    factors = sorted(imp["factor"].unique().tolist())
    enc = dict(x=alt.X("method:N", title=None), y=alt.Y("mean(delta):Q", title="x0 - eps"),
               color=method_color(imp["method"], legend=None))
    if len(factors) > 1:   # one bar per factor beside each other; a single factor needs no legend
        enc.update(xOffset="factor:N", opacity=alt.Opacity("factor:O", title="SR factor"))
    chart = alt.Chart(imp).mark_bar().encode(**enc).properties(width=width, height=height).facet(
        column=alt.Column("metric:N", title=None)).resolve_scale(y="independent")
    return chart.properties(title=f"SR factor {factors[0]}") if len(factors) == 1 else chart
