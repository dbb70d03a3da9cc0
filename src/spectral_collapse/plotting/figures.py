"""The paper's figures from our results: the introduction's figure, Fig. 2, Fig. 4 and Fig. 1's slopes."""
from __future__ import annotations

import io

import altair as alt
import numpy as np
import pandas as pd
import vl_convert as vlc
import xarray as xr
from PIL import Image

from ..metrics.intervals import bootstrap_ci
from ..metrics.latent import radial_power_spectrum
from ..reference.method_names import method_name
from .charts import padded_domain, series_lines
from .grids import compose_grid
from .labels import reader_spec
from .main_results import translation_rows
from .palette import METHOD_COLORS, method_color, method_shape

__all__ = ["collapse_figure", "correlation_figure", "fig2_rows", "fig2_grid", "fig4_points",
           "spectrum_slopes", "FIG2_METHODS"]


def _latent_view(z: np.ndarray) -> np.ndarray:
    """Latents for display: x / 3, the first channel where C is not 1 or 3."""
    z = np.asarray(z, dtype=np.float64) / 3.0
    return z if z.shape[1] in (1, 3) else z[:, :1]


def _latent_spectra(ds: xr.Dataset, ovg: str | None = None, seed: int = 0) -> tuple[dict, dict]:
    """({name: latents} of DDIM, OVG (``ovg``) and N(0, I) draws; {name: (frequencies, mean radial power)})."""
    methods = list(map(str, ds["method"].values))
    ovg = ovg or next((m for m in ("ovg", "ovg_taba", "ovg_edm") if m in methods), None)
    lat = {m: ds["latents"].sel({"method": m}).isel(seed=seed).values for m in ("ddim", ovg) if m in methods}
    lat["gaussian"] = np.random.default_rng(0).standard_normal(next(iter(lat.values())).shape)
    spectra = {}
    for name, z in lat.items():
        f, pw = radial_power_spectrum(z)
        spectra[name] = (np.asarray(f), np.asarray(pw).reshape(-1, len(f)).mean(0))
    return lat, spectra


def collapse_figure(ds: xr.Dataset, n: int = 4, ovg: str | None = None) -> bytes:
    """The introduction's figure as PNG bytes: translations and latents beside noise, and their spectra."""
    lat, spectra = _latent_spectra(ds, ovg)
    gauss = lat.pop("gaussian")
    shown = list(lat)
    k = min(n, ds.sizes["image"])
    rows = {"input": ds["source_images"].values[:k]}
    rows.update({f"{method_name(m)} output": ds["images"].sel({"method": m}).isel(seed=0).values[:k] for m in shown})
    rows["ground truth"] = ds["truth_images"].values[:k]
    rows.update({f"{method_name(m)} latent": _latent_view(lat[m][:k]) for m in shown})
    rows["N(0, I) noise"] = _latent_view(gauss[:k])
    grid = compose_grid(rows, cell=72)
    sp = pd.concat([pd.DataFrame({"frequency": f, "power": p, "latent": "N(0, I)" if name == "gaussian" else name})
                    for name, (f, p) in spectra.items()])
    sp = sp[sp["frequency"] > 0]
    # the log axis fitted to the curves (a tenth of a decade beyond them), not run down to a round power of ten
    lo, hi = float(sp["power"][sp["power"] > 0].min()), float(sp["power"].max())
    ydom = [lo / 10 ** 0.1, hi * 10 ** 0.1]
    chart = series_lines(sp, x=alt.X("frequency:Q", title="frequency (cycles / pixel)"),
                         y=alt.Y("power:Q", scale=alt.Scale(type="log", domain=ydom, nice=False),
                                 title="radial power of the latent"),
                         series="latent", title=None, points=True).properties(
        width=300, height=grid.height - 80, title="Latent spectrum (flat = white noise)")
    png = Image.open(io.BytesIO(vlc.vegalite_to_png(reader_spec(chart.to_dict()), scale=1.0))).convert("RGB")
    fig = Image.new("RGB", (grid.width + png.width + 16, max(grid.height, png.height)), (255, 255, 255))
    fig.paste(grid, (0, 0))
    fig.paste(png, (grid.width + 16, 0))
    buf = io.BytesIO()
    fig.save(buf, format="PNG")
    return buf.getvalue()


def correlation_figure(points: pd.DataFrame, width: int = 225, height: int = 210):
    """Fig. 4 from ``fig4_points``: S_HF and S_LF against S_DC, the first dataset filled, the others hollow."""
    pts = points.dropna(subset=["s_dc"]).astype({"method": str, "dataset": str})
    rank = {m: i for i, m in enumerate(METHOD_COLORS)}
    labels = sorted(dict.fromkeys(pts["method"]), key=lambda m: (rank.get(m, len(rank)), m))
    datasets = list(dict.fromkeys(pts["dataset"]))
    xdom = padded_domain(pts["s_dc"], *[pts[c] for c in ("s_dc_lo", "s_dc_hi") if c in pts], pad=0.06)
    x = alt.X("s_dc:Q", title="S_DC (decorrelation)", scale=alt.Scale(domain=xdom, nice=False, zero=False))
    panels = []
    for i, (metric, name) in enumerate((("s_hf", "S_HF (texture)"), ("s_lf", "S_LF (structure)"))):
        ydom = padded_domain(pts[metric], *[pts[c] for c in (f"{metric}_lo", f"{metric}_hi") if c in pts], pad=0.08)
        y = alt.Y(f"{metric}:Q", title=name, scale=alt.Scale(domain=ydom, nice=False, zero=False))
        enc = dict(x=x, y=y, color=method_color(labels), shape=method_shape(labels))
        layers = []
        for m, span in ((metric, dict(x=x, y=f"{metric}_lo:Q", y2=f"{metric}_hi:Q")),
                        ("s_dc", dict(x="s_dc_lo:Q", x2="s_dc_hi:Q", y=y))):
            if {f"{m}_lo", f"{m}_hi"} <= set(pts) and pts[f"{m}_lo"].notna().any():
                layers.append(alt.Chart(pts.dropna(subset=[f"{m}_lo"])).mark_rule(strokeWidth=1.2, opacity=0.7).encode(
                    **span, color=method_color(labels)))
        layers.append(alt.Chart(pts).mark_point(size=80, strokeWidth=1.8, filled=False).encode(**enc))
        layers.append(alt.Chart(pts[pts["dataset"] == datasets[0]]).mark_point(size=80, filled=True, opacity=0.85)
                      .encode(**enc))
        panels.append(alt.layer(*layers).properties(width=width, height=height, title=f"({'ab'[i]}) {name} vs S_DC"))
    key = f"filled: {datasets[0]}" + (f"; hollow: {', '.join(datasets[1:])}" if len(datasets) > 1 else "")
    notes = [f"One point per dataset and method ({key})."]
    if any(pts[c].notna().any() for c in pts.columns if c.endswith("_lo")):
        notes.append("Bars: 95 % bootstrap intervals of the mean over crops.")
    return alt.hconcat(*panels).properties(title=alt.TitleParams(
        "Texture and structure against decorrelation", subtitle=notes, anchor="start"))


# the methods of the paper's Fig. 2 and the groups its panel shows them in
FIG2_METHODS = ("ddim", "direct_inversion", "null_class", "renoise", "taba", "edm", "ovg_edm", "ovg")
FIG2_GROUPS = {"ddim": "deterministic", "direct_inversion": "deterministic", "null_class": "deterministic",
               "renoise": "stochastic", "taba": "stochastic", "edm": "EDM model", "ovg_edm": "OVG guidance",
               "ovg": "OVG guidance"}


def fig2_rows(ds) -> pd.DataFrame:
    """Fig. 2's numbers: per shown method its group and mean S_HF, Δlog E_HF and S_LF over kept crops and seeds."""
    rows = []
    for m in [m for m in FIG2_METHODS if m in ds["method"].values]:
        kept = ~ds["failed"].sel({"method": m}) if "failed" in ds else True
        rows.append({"method": m, "group": FIG2_GROUPS[m], **{k: float(ds[k].sel({"method": m}).where(kept).mean())
                                                              for k in ("s_hf", "delta_log_e_hf", "s_lf") if k in ds}})
    return pd.DataFrame(rows)


def fig2_grid(ds, k: int = 4):
    """Fig. 2's image grid: the first ``k`` crops, each stored ``FIG2_METHODS`` translation (seed 0) and the truth."""
    rows, failed = translation_rows(ds, FIG2_METHODS, min(k, ds.sizes["image"]))
    rows["ground truth"] = rows.pop("ground truth")   # Fig. 2 ends with the truth
    return compose_grid(rows, cell=72, failed=failed)


def fig4_points(ev) -> pd.DataFrame:
    """Fig. 4's points: per (dataset, method) the mean S_HF, S_LF, S_DC and their 95 % intervals over crops
    (``<metric>_lo`` / ``_hi``, NaN without per-crop values)."""
    metrics = ["s_hf", "s_lf", "s_dc"]
    f = ev.frame
    f = f[(f["study"] == "main") & f["metric"].isin(metrics)]
    if f.empty:
        return pd.DataFrame(columns=["dataset", "method", *metrics])
    points = (f.groupby(["dataset", "method", "metric"])["value"].mean().unstack("metric").reset_index()
              .dropna(subset=["s_dc"]))
    crops = getattr(ev, "crops", None)
    points = points.assign(**{f"{m}_{end}": np.nan for m in metrics for end in ("lo", "hi")})
    if crops is None or crops.empty or not {"crop", "metric", "value"} <= set(crops.columns):
        return points
    c = crops[(crops["study"] == "main") & crops["metric"].isin(metrics)]
    per_crop = c.groupby(["dataset", "method", "metric", "crop"])["value"].mean()
    for (dataset, method, metric), values in per_crop.groupby(level=[0, 1, 2]):
        at = (points["dataset"] == dataset) & (points["method"] == method)
        if at.any() and len(values) > 1:
            ci = bootstrap_ci(values.to_numpy(), n_boot=2000)
            points.loc[at, f"{metric}_lo"], points.loc[at, f"{metric}_hi"] = ci.lo, ci.hi
    return points


def spectrum_slopes(ds, seed: int = 0) -> dict:
    """{name: (slope, range in decades)} of DDIM's, OVG's and noise's latent spectra; {} without latents."""
    if "latents" not in ds or "ddim" not in ds["method"].values:
        return {}
    lat, spectra = _latent_spectra(ds, seed=seed)
    if len(lat) < 3:   # no OVG variant stored
        return {}
    out = {}
    for name, (f, p) in spectra.items():
        keep = (f > 0) & (p > 0)
        x, y = np.log10(f[keep]), np.log10(p[keep])
        out[name if name in ("ddim", "gaussian") else "ovg"] = (float(np.polyfit(x, y, 1)[0]), float(y.max() - y.min()))
    return out
