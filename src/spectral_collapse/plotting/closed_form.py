"""Charts of the closed-form chapter: spectra, OVG's weights and drift, the scale sweep, model quality."""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import xarray as xr

from .charts import series_lines
from .palette import REFERENCE_COLOR, method_color

__all__ = ["SERIES_NAMES", "SCALE_MEASURES", "spectra_chart", "weight_chart", "drift_step_chart", "drift_panels",
           "scale_chart", "quality_chart"]

SERIES_NAMES = {"input": "input (centred)", "oracle": "oracle, closed form", "oracle_ddim": "oracle, DDIM loop",
                "shipped": "shipped eps model", "white": "N(0, I) noise"}
MAX_POINTS = 4500   # the weight chart's points (altair embeds at most 5,000 rows of data in a chart)
# the scale chart's panels: variable, title, the value white noise takes (None: no reference)
SCALE_MEASURES = (("scale_s_dc", "S_DC (noise ≈ 0.99)", 0.99), ("scale_norm_ratio", "‖x_T‖²/d (noise 1)", 1.0),
                  ("scale_k90_ratio", "k90 / noise's k90", 1.0), ("scale_hf_deficit", "log10 power above 0.25 c/px",
                                                                  0.0),
                  ("scale_drift_chroma", "chroma share of OVG's drift", None),
                  ("scale_low_chroma_target", "chroma share, lowest 10 % of directions", None))


def spectra_chart(ds: xr.Dataset, width: int = 420, height: int = 260) -> alt.LayerChart:
    """Radial power (log axis) against frequency per series, white noise at 1; power below 1e-12 of a series' peak
    (frequencies the input does not hold, where a linear map leaves round-off) left out."""
    f = ds["spectrum"].to_dataframe().reset_index()
    peak = f.groupby("series")["spectrum"].transform("max")
    f = f[(f["freq"] > 0) & (f["spectrum"] > 1e-12 * peak)].assign(series=lambda t: t["series"].map(SERIES_NAMES))
    return series_lines(f, x=alt.X("freq:Q", title="radial frequency (cycles / pixel)"),
                        y=alt.Y("spectrum:Q", title="power (unit-variance samples)", scale=alt.Scale(type="log")),
                        series="series", title="series").properties(width=width, height=height,
                                                                    title="Radial power spectra")


def weight_chart(ds: xr.Dataset, domain: str = "source", sigmas=(0.1, 1.0, 10.0), width: int = 420,
                 height: int = 260) -> alt.LayerChart:
    """OVG's weight sigma^2 / (lam + sigma^2)^2 per direction against lam at a few sigma (``MAX_POINTS`` at most)."""
    lam = ds[f"lam_{domain}"].values
    share = ds[f"chroma_energy_{domain}"].values / ds[f"ycc_energy_{domain}"].values
    keep = np.flatnonzero(lam > 1e-6 * lam.mean())
    keep = keep[np.argsort(lam[keep])][::max(1, -(-len(keep) * len(sigmas) // MAX_POINTS))]
    rows = [pd.DataFrame({"lam": lam[keep], "weight": s**2 / (lam[keep] + s**2) ** 2, "sigma": f"σ = {s:g}",
                          "chroma": share[keep]}) for s in sigmas]
    f = pd.concat(rows)
    return alt.Chart(f).mark_point(size=10, opacity=0.6, filled=True).encode(
        x=alt.X("lam:Q", title=f"variance λ of the {domain} direction", scale=alt.Scale(type="log")),
        y=alt.Y("weight:Q", title="σ² / (λ + σ²)²", scale=alt.Scale(type="log")),
        color=alt.Color("chroma:Q", title="chroma share", scale=alt.Scale(scheme="viridis", domain=[0, 1])),
        shape=alt.Shape("sigma:N", title="level")).properties(width=width, height=height,
                                                               title="OVG's weight per direction")


# drift_step_chart's looks: a colour per model, a dash per step size (the closed form solid, in the reference grey)
CLOSED_FORM = "closed form, Gaussian inputs"
DRIFT_MODEL_COLORS = {"oracle": "#179BA9", "shipped": "#35001A", CLOSED_FORM: REFERENCE_COLOR}
DRIFT_DASHES = ([1, 0], [6, 3], [2, 2], [8, 2, 2, 2])


def drift_step_chart(ds: xr.Dataset, width: int = 420, height: int = 240) -> alt.LayerChart:
    """Chroma share of OVG's drift per inversion step per model and eta_HF, beside the closed form's."""
    f = ds["drift_step_chroma"].to_dataframe().reset_index()
    f["eta"] = f["eta_hf"].map(lambda e: f"{e:.0e}")
    f = f.rename(columns={"drift_step_chroma": "share", "drift_sigma": "sigma"})[["model", "eta", "sigma", "share"]]
    pred = pd.DataFrame({"model": CLOSED_FORM, "sigma": ds["level"].values,
                         "share": ds["drift_chroma_predicted_source"].values})
    f, pred = f[f["sigma"] > 0], pred[pred["sigma"] > 0]
    known = list(DRIFT_MODEL_COLORS)   # the oracle, then the shipped model, then the closed form; others after
    models = sorted(set(f["model"]), key=lambda m: (known.index(m) if m in known else len(known), m)) + [CLOSED_FORM]
    etas = sorted(set(f["eta"]), key=float)
    x = alt.X("sigma:Q", title="σ of the inversion step", scale=alt.Scale(type="log", nice=False))
    y = alt.Y("share:Q", title="chroma share of the step's drift", scale=alt.Scale(domain=[0, 1]))
    colour = alt.Color("model:N", title="model", sort=models, scale=alt.Scale(
        domain=models, range=[DRIFT_MODEL_COLORS.get(m, "#986F8B") for m in models]))
    dash = alt.StrokeDash("eta:N", title="η_HF", sort=etas, scale=alt.Scale(
        domain=etas, range=[DRIFT_DASHES[i % len(DRIFT_DASHES)] for i in range(len(etas))]))
    lines = alt.Chart(f).mark_line(strokeWidth=2, opacity=0.9).encode(x=x, y=y, color=colour, strokeDash=dash,
                                                                     detail="eta:N")
    closed = alt.Chart(pred).mark_line(strokeWidth=3, opacity=0.7).encode(x=x, y=y, color=colour)
    return alt.layer(lines, closed).properties(width=width, height=height, title="Where each step's drift goes")


def drift_panels(ds: xr.Dataset, domain: str = "target") -> alt.VConcatChart:
    """``weight_chart`` of ``domain``'s directions above ``drift_step_chart``, each with its own legends."""
    return (weight_chart(ds, domain) & drift_step_chart(ds)).resolve_scale(color="independent", shape="independent",
                                                                           strokeDash="independent")


def scale_chart(ds: xr.Dataset, width: int = 130, height: int = 130) -> alt.FacetChart:
    """One panel per ``SCALE_MEASURES`` measure against the crop size, white noise's value as a grey rule."""
    size = ds["size"].values
    ratio = {"scale_k90_ratio": ds["scale_k90"].values / ds["scale_k90_white"].values}
    f = pd.concat([pd.DataFrame({"size": size, "value": np.asarray(ratio.get(var, ds.get(var)), float),
                                 "measure": title, "noise": np.nan if ref is None else ref})
                   for var, title, ref in SCALE_MEASURES])
    x = alt.X("size:Q", title="crop size (px)", scale=alt.Scale(type="log", base=2),
              axis=alt.Axis(values=[int(s) for s in size]))
    base = alt.Chart().encode(x=x)
    line = base.mark_line(point=True, color="#0D0059").encode(y=alt.Y("value:Q", title=None,
                                                                        scale=alt.Scale(zero=False)))
    rule = alt.Chart().mark_rule(color="#888888", strokeDash=[4, 3]).encode(y="noise:Q")
    return alt.layer(line, rule, data=f).properties(width=width, height=height).facet(
        facet=alt.Facet("measure:N", title=None, sort=[t for _, t, _ in SCALE_MEASURES]), columns=3).resolve_scale(
        y="independent").properties(title="The stationary oracle's collapse against the crop size")


def quality_chart(frame: pd.DataFrame, width: int = 135, height: int = 160) -> alt.HConcatChart:
    """One panel per measure against the held-out loss, a line per method, the exact model's value dashed."""
    from ..tables.collapse_quality import CHROMA

    trained, exact = frame[frame["step"].notna()], frame[frame["step"].isna()]
    colour = method_color(["ddim", "ovg"])
    lo, hi = float(trained["heldout_loss"].min()), float(trained["heldout_loss"].max())
    ticks = [v for v in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0) if lo / 1.5 <= v <= hi * 1.5]
    x = alt.X("heldout_loss:Q", title="held-out loss (log; training →)", axis=alt.Axis(values=ticks, format="~g"),
              scale=alt.Scale(type="log", reverse=True, nice=False))
    panels = []
    for measure in ("support leak", "S_DC", CHROMA):
        t, e = trained[trained["measure"] == measure], exact[exact["measure"] == measure]
        y = alt.Y("value:Q", title=measure, scale=alt.Scale(zero=True))
        line = alt.Chart(t).mark_line(point=True, strokeWidth=2).encode(
            x=x, y=y, color=colour, tooltip=["point", "method", alt.Tooltip("value:Q", format=".3g"),
                                              alt.Tooltip("heldout_loss:Q", format=".4f")])
        rule = alt.Chart(e).mark_rule(strokeDash=[6, 3], strokeWidth=2).encode(y="value:Q", color=colour)
        panels.append(alt.layer(line, rule).properties(width=width, height=height, title=measure))
    return alt.hconcat(*panels)   # the book's theme sets the text sizes (plotting.render: TEXT_PX)
