"""Names written beside the points of a scatter (``plotting.placement``), read back from the chart's spec in pixels:
no name touches a marker or an interval bar, no leader line crosses a bar or another marker."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from PIL import ImageFont

FONT = ImageFont.truetype("DejaVuSans.ttf", 11)


def _crowded_schedules(seed: int) -> xr.Dataset:
    """A schedule study whose schedules crowd round full OVG's share at a similar cost (and two far below)."""
    rng = np.random.default_rng(seed)
    shares = {"low": 1.05, "mid": 0.88, "high": 1.04, "first_half": 1.09, "last_half": 1.0, "every_2": -0.35,
              "every_4": -0.9}
    n = 16
    ddim, ovg = rng.normal(0.2, 0.02, n), rng.normal(0.5, 0.02, n)
    s_hf = {"ddim": ddim, "ovg": ovg}
    for k, v in shares.items():
        s_hf[k] = ddim + v * (ovg - ddim) + rng.normal(0, 0.04 + 0.02 * abs(v), n)
    names = list(s_hf)
    gain = [float((s_hf[m].mean() - ddim.mean()) / (ovg.mean() - ddim.mean())) for m in names]
    times = [1.0, 1.8] + list(1.0 + rng.uniform(0.0, 0.33, len(shares)))
    return xr.Dataset({"s_hf": (("method", "sample"), np.stack([s_hf[m] for m in names])),
                       "time_ratio": ("method", times), "s_hf_gain_share": ("method", gain),
                       "backward_passes": ("method", [0, 100] + [40] * len(shares))},
                      coords={"method": names}, attrs={"max_time_ratio": 1.5, "target_share": 0.9})


def _geometry(spec: dict):
    layers = spec["layer"]
    width, height = spec["width"], spec["height"]
    xdom = next(ly["encoding"]["x"]["scale"]["domain"] for ly in layers if "scale" in ly["encoding"].get("x", {}))
    ydom = next(ly["encoding"]["y"]["scale"]["domain"] for ly in layers if "scale" in ly["encoding"].get("y", {}))

    def px(x, y):
        return ((np.asarray(x, float) - xdom[0]) / (xdom[1] - xdom[0]) * width,
                (ydom[1] - np.asarray(y, float)) / (ydom[1] - ydom[0]) * height)

    frames = [pd.DataFrame(v) for v in spec["datasets"].values()]
    names = next(f for f in frames if "lx" in f)
    bars = next(f for f in frames if "share_lo" in f and "lx" not in f).dropna(subset=["share_lo", "share_hi"])
    return px, names, bars


@pytest.mark.parametrize("seed", range(4))
def test_schedule_names_touch_no_bar_and_no_marker_and_leaders_cross_no_bar(seed):
    from spectral_collapse.plotting.schedule import cost_quality_chart

    spec = cost_quality_chart(_crowded_schedules(seed)).to_dict()
    px, names, bars = _geometry(spec)
    bx, blo = px(bars["time_ratio"], bars["share_lo"])
    _, bhi = px(bars["time_ratio"], bars["share_hi"])
    mx, my = px(names["time_ratio"], names["s_hf_gain_share"])
    lx, ly = px(names["lx"], names["ly"])
    ex, ey = px(names["ex"], names["ey"])
    for i, r in enumerate(names.itertuples()):
        w, h = FONT.getlength(r.label) + 4, 14
        box = (lx[i] - w / 2, ly[i] - h / 2, lx[i] + w / 2, ly[i] + h / 2)
        for x, a, b in zip(bx, blo, bhi):   # every interval bar: at least 2 px clear of the name's box
            gap_x = max(box[0] - x, x - box[2], 0)
            gap_y = max(box[1] - max(a, b), min(a, b) - box[3], 0)
            assert max(gap_x, gap_y) >= 2, (r.label, "touches a bar")
        for x, y in zip(mx, my):            # every marker (radius 5)
            nx, ny = min(max(x, box[0]), box[2]), min(max(y, box[1]), box[3])
            assert np.hypot(nx - x, ny - y) >= 5 + 1, (r.label, "touches a marker")
        if r.leader:   # the leader, from outside its own marker, crosses no bar and no other marker
            t = np.linspace(0, 1, 200)
            sx, sy = mx[i] + t * (ex[i] - mx[i]), my[i] + t * (ey[i] - my[i])
            away = np.hypot(sx - mx[i], sy - my[i]) > 7
            for x, a, b in zip(bx, blo, bhi):
                on = away & (np.abs(sx - x) < 1.0) & (sy >= min(a, b) - 1) & (sy <= max(a, b) + 1)
                assert not on.any(), (r.label, "leader crosses a bar")
            for j, (x, y) in enumerate(zip(mx, my)):
                if np.hypot(x - mx[i], y - my[i]) > 10:   # a marker not lying on the named one
                    assert not (np.hypot(sx - x, sy - y) < 5).any(), (r.label, "leader crosses a marker")
