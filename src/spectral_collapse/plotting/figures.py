"""The paper's figures drawn from our results: the introduction's spectral-collapse figure (PNG), Fig. 2's grid and
numbers, Fig. 4's points and panels, and the slopes of the latents' spectra that Fig. 1 shows."""
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
from ..studies.method_labels import method_name
from .charts import compose_grid, padded_domain, series_lines
from .labels import reader_spec
from .palette import METHOD_COLORS, method_color, method_shape

__all__ = ["collapse_figure", "correlation_figure", "overprint_offsets", "fig2_rows", "fig2_grid", "fig4_points",
           "spectrum_slopes", "FIG2_METHODS"]


def _latent_view(z: np.ndarray) -> np.ndarray:
    """Latents for display: x / 3, the first channel where C is not 1 or 3."""
    z = np.asarray(z, dtype=np.float64) / 3.0
    return z if z.shape[1] in (1, 3) else z[:, :1]


def collapse_figure(ds: xr.Dataset, n: int = 4, ovg: str | None = None) -> bytes:
    """The introduction's figure as PNG bytes: inputs, DDIM's and OVG's translations, the truth and their latents beside
    noise (left); the latents' radial power spectra (right)."""
    methods = list(map(str, ds["method"].values))
    ovg = ovg or next((m for m in ("ovg", "ovg_taba", "ovg_edm") if m in methods), None)
    shown = [m for m in ("ddim", ovg) if m in methods]
    k = min(n, ds.sizes["image"])
    lat = {m: ds["latents"].sel({"method": m}).isel(seed=0).values for m in shown}
    gauss = np.random.default_rng(0).standard_normal(next(iter(lat.values())).shape)
    rows = {"input": ds["source_images"].values[:k]}
    rows.update({f"{method_name(m)} output": ds["images"].sel({"method": m}).isel(seed=0).values[:k] for m in shown})
    rows["ground truth"] = ds["truth_images"].values[:k]
    rows.update({f"{method_name(m)} latent": _latent_view(lat[m][:k]) for m in shown})
    rows["N(0, I) noise"] = _latent_view(gauss[:k])
    grid = compose_grid(rows, cell=72)
    spectra = []
    for name, z in [*lat.items(), ("N(0, I)", gauss)]:
        f, pw = radial_power_spectrum(z)
        spectra.append(pd.DataFrame({"frequency": f, "power": pw.reshape(-1, len(f)).mean(0), "latent": name}))
    sp = pd.concat(spectra)
    sp = sp[sp["frequency"] > 0]
    # the log axis fitted to the curves (a tenth of a decade beyond them), not run down to a round power of ten
    lo, hi = float(sp["power"][sp["power"] > 0].min()), float(sp["power"].max())
    ydom = [lo / 10 ** 0.1, hi * 10 ** 0.1]
    chart = series_lines(sp, x=alt.X("frequency:Q", title="frequency (cycles / pixel)"),
                         y=alt.Y("power:Q", scale=alt.Scale(type="log", domain=ydom, nice=False),
                                 title="radial power of the latent"),
                         series="latent", title=None, points=True, widths=(3.0, 2.0)).properties(
        width=300, height=grid.height - 80, title="Latent spectrum (flat = white noise)")
    png = Image.open(io.BytesIO(vlc.vegalite_to_png(reader_spec(chart.to_dict()), scale=1.0))).convert("RGB")
    fig = Image.new("RGB", (grid.width + png.width + 16, max(grid.height, png.height)), (255, 255, 255))
    fig.paste(grid, (0, 0))
    fig.paste(png, (grid.width + 16, 0))
    buf = io.BytesIO()
    fig.save(buf, format="PNG")
    return buf.getvalue()


def correlation_figure(points: pd.DataFrame, width: int = 225, height: int = 210):
    """Fig. 4 from ``fig4_points``: (a) S_HF and (b) S_LF against S_DC, each method in its book look, the first dataset
    filled and the others hollow, axes fitted to points and intervals; overprinting points moved sideways
    (``overprint_offsets``) and the subtitle says so."""
    pts = points.dropna(subset=["s_dc"]).copy()
    pts["method"] = pts["method"].astype(str)
    pts["dataset"] = pts["dataset"].astype(str)
    rank = {m: i for i, m in enumerate(METHOD_COLORS)}
    labels = sorted(dict.fromkeys(pts["method"]), key=lambda m: (rank.get(m, len(rank)), m))
    datasets = list(dict.fromkeys(pts["dataset"]))
    twin: dict[str, str] = {}
    same = []   # methods whose points coincide with another's on every dataset: the later one is hidden
    for i, a in enumerate(labels):
        for b in labels[:i]:
            pa = pts[pts["method"] == a].set_index("dataset")[["s_hf", "s_lf", "s_dc"]].round(4).sort_index()
            pb = pts[pts["method"] == b].set_index("dataset")[["s_hf", "s_lf", "s_dc"]].round(4).sort_index()
            if len(pa) and pa.equals(pb):
                same.append(f"{method_name(a)} lies under {method_name(b)}")
                twin[a] = b
                break
    have = [c for c in ("s_dc_lo", "s_dc_hi") if c in pts]
    xdom = padded_domain(pts["s_dc"], *[pts[c] for c in have], pad=0.06)
    panels, moved_any, offsets, ydoms = [], False, {}, {}
    metrics = (("s_hf", "S_HF (texture)"), ("s_lf", "S_LF (structure)"))
    for metric, _ in metrics:
        ybars = [pts[c] for c in (f"{metric}_lo", f"{metric}_hi") if c in pts]
        ydom = ydoms[metric] = padded_domain(pts[metric], *ybars, pad=0.08)
        shown = ~pts["method"].isin(list(twin))   # a method under its twin keeps the twin's place
        dx = pd.Series(overprint_offsets(pts[shown], "s_dc", metric, xdom, ydom, width, height,
                                         order=[rank.get(m, len(rank)) for m in pts["method"][shown]]),
                       index=pts.index[shown])
        for hidden, under in twin.items():
            for j in pts.index[pts["method"] == hidden]:
                at = pts.index[shown & (pts["method"] == under) & (pts["dataset"] == pts.at[j, "dataset"])]
                dx[j] = dx[at[0]] if len(at) else 0.0
        offsets[metric] = dx.reindex(pts.index).fillna(0.0).tolist()
        moved_any |= any(offsets[metric])
    # the x axis holds every point where it is drawn, offset included: none is cut by the frame
    xdom = fit_offsets(xdom, pts["s_dc"], [o for m, _ in metrics for o in offsets[m]], width,
                       n=len(metrics))
    for i, (metric, name) in enumerate(metrics):
        ydom, dx = ydoms[metric], offsets[metric]
        x = alt.X("s_dc:Q", title="S_DC (decorrelation)", scale=alt.Scale(domain=xdom, nice=False, zero=False))
        y = alt.Y(f"{metric}:Q", title=name, scale=alt.Scale(domain=ydom, nice=False, zero=False))
        enc = dict(x=x, y=y, color=method_color(labels), shape=method_shape(labels),
                   tooltip=["dataset", "method", alt.Tooltip("s_dc:Q", format=".3f"),
                            alt.Tooltip(f"{metric}:Q", format=".3f")])
        layers = []
        for off, g in pts.assign(dx=dx).groupby("dx", sort=True):
            for m, span in ((metric, dict(x=x, y=f"{metric}_lo:Q", y2=f"{metric}_hi:Q")),
                            ("s_dc", dict(x="s_dc_lo:Q", x2="s_dc_hi:Q", y=y))):
                if {f"{m}_lo", f"{m}_hi"} <= set(g) and g[f"{m}_lo"].notna().any():
                    layers.append(alt.Chart(g.dropna(subset=[f"{m}_lo"])).mark_rule(
                        strokeWidth=1.2, opacity=0.7, xOffset=off).encode(**span, color=method_color(labels)))
            layers.append(alt.Chart(g).mark_point(size=80, strokeWidth=1.8, filled=False, xOffset=off).encode(**enc))
            first = g[g["dataset"] == datasets[0]]
            if len(first):
                layers.append(alt.Chart(first).mark_point(size=80, filled=True, opacity=0.85, xOffset=off).encode(
                    **enc))
        panels.append(alt.layer(*layers).properties(width=width, height=height,
                                                    title=f"({'ab'[i]}) {name} vs S_DC"))
    key = f"filled: {datasets[0]}" + (f"; hollow: {', '.join(datasets[1:])}" if len(datasets) > 1 else "")
    notes = [f"One point per dataset and method ({key}" + (f"; {', '.join(same)}" if same else "") + ")."]
    if any(pts[c].notna().any() for c in pts.columns if c.endswith("_lo")):
        notes.append("Bars: 95 % bootstrap intervals of the mean over crops.")
    if moved_any:
        notes.append(f"Points that would print over each other are drawn up to {OVERPRINT_STEP * 2:.0f} pixels "
                     "apart sideways; their values are unchanged.")
    return alt.hconcat(*panels).properties(title=alt.TitleParams(
        "Texture and structure against decorrelation", subtitle=notes, anchor="start"))


OVERPRINT_STEP = 9.0   # pixels: about one marker's width
MARKER_PX = 7.0        # pixels from a marker's centre to the outside of its stroke (size 80, with its outline)


def fit_offsets(dom, xs, offsets, width: float, n: int = 1, margin: float = MARKER_PX) -> tuple[float, float]:
    """The x domain ``dom`` widened so every point of ``xs`` drawn ``offsets`` pixels sideways (``n`` panels) lies
    ``margin`` pixels inside a ``width`` plot."""
    x = np.tile(np.asarray(xs, float), n)
    off = np.asarray(offsets, float)
    ok = np.isfinite(x)
    x, off = x[ok], off[ok]
    lo, hi = float(dom[0]), float(dom[1])
    if not len(x):
        return lo, hi
    for _ in range(40):   # the scale changes as the domain widens: rounds settle it
        per_px = (hi - lo) / width
        lo = min(lo, float((x + (off - margin) * per_px).min()))
        hi = max(hi, float((x + (off + margin) * per_px).max()))
    return lo, hi


def overprint_offsets(pts: pd.DataFrame, xcol: str, ycol: str, xdom, ydom, width: float, height: float,
                      order=None, near: float = 8.0) -> list[float]:
    """Sideways pixel offsets (0, ±1, ±2 steps) that keep each point, in ``order``, at least ``near`` pixels from those
    placed before; values unchanged."""
    xs = (pts[xcol].to_numpy(float) - xdom[0]) / (xdom[1] - xdom[0]) * width
    ys = (pts[ycol].to_numpy(float) - ydom[0]) / (ydom[1] - ydom[0]) * height
    idx = np.argsort(order if order is not None else np.arange(len(pts)), kind="stable")
    placed: list[tuple[float, float]] = []
    out = [0.0] * len(pts)
    for i in idx:
        for off in (0.0, OVERPRINT_STEP, -OVERPRINT_STEP, 2 * OVERPRINT_STEP, -2 * OVERPRINT_STEP):
            if all(np.hypot(xs[i] + off - px, ys[i] - py) >= near for px, py in placed):
                break
        else:
            off = 0.0
        out[i] = off
        placed.append((xs[i] + off, ys[i]))
    return out


# the methods of the paper's Fig. 2 and the groups its panel shows them in
FIG2_METHODS = ("ddim", "direct_inversion", "null_class", "renoise", "taba", "edm", "ovg_edm", "ovg")
FIG2_GROUPS = {"ddim": "deterministic", "direct_inversion": "deterministic", "null_class": "deterministic",
               "renoise": "stochastic", "taba": "stochastic", "edm": "EDM model", "ovg_edm": "OVG guidance",
               "ovg": "OVG guidance"}


def fig2_rows(ds) -> pd.DataFrame:
    """Fig. 2's numbers: per shown method its group and mean S_HF, Δlog E_HF and S_LF over kept crops and seeds."""
    rows = []
    for m in FIG2_METHODS:
        if m not in ds["method"].values:
            continue
        kept = ~ds["failed"].sel({"method": m}) if "failed" in ds else True
        row = {"method": m, "group": FIG2_GROUPS[m]}
        for metric in ("s_hf", "delta_log_e_hf", "s_lf"):
            if metric in ds:
                row[metric] = float(ds[metric].sel({"method": m}).where(kept).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def fig2_grid(ds, k: int = 4):
    """Fig. 2's image grid: the first ``k`` crops, each stored ``FIG2_METHODS`` translation (seed 0, failures marked)
    and the truth."""
    k = min(k, ds.sizes["image"])
    rows = {"input": ds["source_images"].values[:k]}
    failed = {}
    for m in FIG2_METHODS:
        if m in ds["method"].values:
            rows[m] = ds["images"].sel({"method": m}).isel(seed=0).values[:k]
            if "failed" in ds:
                failed[m] = ds["failed"].sel({"method": m}).isel(seed=0).values[:k]
    if "truth_images" in ds:
        rows["ground truth"] = ds["truth_images"].values[:k]
    return compose_grid(rows, cell=72, failed=failed)


def fig4_points(ev) -> pd.DataFrame:
    """Fig. 4's points: per (dataset, method) of the main results the mean S_HF, S_LF and S_DC and their 95 % bootstrap
    intervals over crops (``<metric>_lo`` / ``_hi``, NaN without per-crop values)."""
    metrics = ["s_hf", "s_lf", "s_dc"]
    f = ev.frame
    f = f[(f["study"] == "main") & f["metric"].isin(metrics)]
    if f.empty:
        return pd.DataFrame(columns=["dataset", "method", *metrics])
    points = (f.groupby(["dataset", "method", "metric"])["value"].mean().unstack("metric").reset_index()
              .dropna(subset=["s_dc"]))
    crops = getattr(ev, "crops", None)
    for m in metrics:
        points[f"{m}_lo"], points[f"{m}_hi"] = np.nan, np.nan
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
    """{name: (slope, range in decades)} of the latents' radial power spectra for DDIM, OVG (first stored variant) and
    Gaussian noise; {} without latents."""
    if "latents" not in ds:
        return {}
    methods = list(map(str, ds["method"].values))
    ovg = next((m for m in ("ovg", "ovg_taba", "ovg_edm") if m in methods), None)
    if "ddim" not in methods or ovg is None:
        return {}
    lat = {m: ds["latents"].sel({"method": m}).isel(seed=seed).values for m in ("ddim", ovg)}
    lat["gaussian"] = np.random.default_rng(0).standard_normal(lat["ddim"].shape)
    out = {}
    for name, z in lat.items():
        f, pw = radial_power_spectrum(z)
        p = np.asarray(pw).reshape(-1, len(f)).mean(0)
        keep = (np.asarray(f) > 0) & (p > 0)
        x, y = np.log10(np.asarray(f)[keep]), np.log10(p[keep])
        out["ovg" if name == ovg else name] = (float(np.polyfit(x, y, 1)[0]), float(y.max() - y.min()))
    return out

