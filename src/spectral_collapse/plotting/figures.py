"""Figures drawn as PNG (PIL + a Vega-Lite chart rendered offline): the introduction's spectral-collapse figure."""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..studies.scorecard import fmt_value, long_frame, method_means

__all__ = ["collapse_figure"]


def _latent_view(z: np.ndarray) -> np.ndarray:
    """Latents for display: x / 3 (so N(0, I) fills the range), first channel when C is not 1 or 3."""
    z = np.asarray(z, dtype=np.float64) / 3.0
    return z if z.shape[1] in (1, 3) else z[:, :1]


def collapse_figure(ds: xr.Dataset, n: int = 4, ovg: str | None = None) -> tuple[bytes, str]:
    """The introduction's figure (PNG bytes) and caption from a main-results dataset: spectral collapse at a glance.

    Left: the input, DDIM's and OVG's translations, the ground truth, and their inverted latents beside Gaussian
    noise. Right: radially averaged power spectrum of the latents (white noise is flat at 1).
    """
    import io

    import altair as alt
    import vl_convert as vlc
    from PIL import Image

    from ..metrics.latent import radial_power_spectrum
    from ..plotting.charts import compose_grid

    methods = list(map(str, ds["method"].values))
    ovg = ovg or next((m for m in ("ovg", "ovg_taba", "ovg_edm") if m in methods), None)
    shown = [m for m in ("ddim", ovg) if m in methods]
    k = min(n, ds.sizes["image"])
    lat = {m: ds["latents"].sel({"method": m}).isel(seed=0).values for m in shown}
    gauss = np.random.default_rng(0).standard_normal(next(iter(lat.values())).shape)
    rows = {"input": ds["source_images"].values[:k]}
    rows.update({f"{m} output": ds["images"].sel({"method": m}).isel(seed=0).values[:k] for m in shown})
    rows["ground truth"] = ds["truth_images"].values[:k]
    rows.update({f"{m} latent": _latent_view(lat[m][:k]) for m in shown})
    rows["N(0, I) noise"] = _latent_view(gauss[:k])
    grid = compose_grid(rows, cell=72)
    spectra = []
    for name, z in [*lat.items(), ("N(0, I)", gauss)]:
        f, pw = radial_power_spectrum(z)
        spectra.append(pd.DataFrame({"frequency": f, "power": pw.reshape(-1, len(f)).mean(0), "latent": name}))
    sp = pd.concat(spectra)
    sp = sp[sp["frequency"] > 0]
    chart = alt.Chart(sp).mark_line(point=True).encode(
        x=alt.X("frequency:Q", title="frequency (cycles / pixel)"),
        y=alt.Y("power:Q", scale=alt.Scale(type="log"), title="radial power of x_T"),
        color=alt.Color("latent:N", title=None)).properties(width=300, height=grid.height - 80,
                                                             title="Latent spectrum (flat = white noise)")
    png = Image.open(io.BytesIO(vlc.vegalite_to_png(chart.to_dict(), scale=1.0))).convert("RGB")
    fig = Image.new("RGB", (grid.width + png.width + 16, max(grid.height, png.height)), (255, 255, 255))
    fig.paste(grid, (0, 0))
    fig.paste(png, (grid.width + 16, 0))
    buf = io.BytesIO()
    fig.save(buf, format="PNG")
    w = method_means(long_frame(ds, "main", str(ds.attrs.get("dataset", ""))), by=("method",))

    def v(m, metric):
        return fmt_value(float(w.loc[m, metric])) if m in w.index and metric in w else "n/a"
    caption = (f"{ds.attrs.get('dataset', '')}, profile {ds.attrs.get('profile', '')}: translations and inverted "
               f"latents "
               f"of the first {k} test images (seed 0). Mean over seeds: S_HF (texture) " + ", ".join(
                   f"{m} {v(m, 's_hf')}" for m in shown) + "; S_DC (1 = as decorrelated as white noise) " + ", ".join(
                   f"{m} {v(m, 's_dc')}" for m in shown) + "; S_LF (structure) " + ", ".join(
                   f"{m} {v(m, 's_lf')}" for m in shown) + ".")
    return buf.getvalue(), caption
