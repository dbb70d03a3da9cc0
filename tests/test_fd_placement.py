"""Names beside the points of the schedule chart (``plotting.schedule.cost_quality_chart``) as the ihc-edges study
draws them: two schedules at nearly one cost and one share (last half, high) with interval bars between them. No two
names overlap, no name lies across another name's leader and no two leaders cross."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from PIL import ImageFont

FONT = ImageFont.truetype("DejaVuSans.ttf", 11)
# (time ratio, share of full OVG's gain) of each schedule, crowded as on the ihc-edges page
CROWD = {"last_half": (1.005, 1.04), "high": (1.108, 1.05), "mid": (1.093, 0.88), "every_4": (1.19, 1.09),
         "every_2": (1.33, 1.0), "first_half": (1.09, -0.35), "low": (1.215, -0.92)}


def _study(seed: int, jitter: float) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    n = 16
    ddim, ovg = rng.normal(0.2, 0.02, n), rng.normal(0.5, 0.02, n)
    s_hf, times = {"ddim": ddim, "ovg": ovg}, [1.0, 1.8]
    for k, (t, v) in CROWD.items():
        noise = rng.normal(0, 0.03 + 0.03 * abs(v), n)
        s_hf[k] = ddim + v * (ovg - ddim) + noise - noise.mean()
        times.append(t + rng.uniform(-jitter, jitter))
    names = list(s_hf)
    gain = [float((s_hf[m].mean() - ddim.mean()) / (ovg.mean() - ddim.mean())) for m in names]
    return xr.Dataset({"s_hf": (("method", "sample"), np.stack([s_hf[m] for m in names])),
                       "time_ratio": ("method", times), "s_hf_gain_share": ("method", gain),
                       "backward_passes": ("method", [0, 100] + [40] * len(CROWD))},
                      coords={"method": names}, attrs={"max_time_ratio": 1.5, "target_share": 0.9})


def _segments_cross(p, q, r, s) -> bool:
    def orient(a, b, c):
        return np.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))
    return orient(p, q, r) * orient(p, q, s) < 0 and orient(r, s, p) * orient(r, s, q) < 0


def _segment_in_box(p, q, box) -> bool:
    t = np.linspace(0, 1, 200)
    x, y = p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])
    return bool(((x > box[0]) & (x < box[2]) & (y > box[1]) & (y < box[3])).any())


@pytest.mark.parametrize("seed,jitter", [(0, 0.0), (1, 0.01), (2, 0.02), (3, 0.01)])
def test_crowded_schedule_names_overlap_no_name_and_no_leader(seed, jitter):
    from spectral_collapse.plotting.schedule import cost_quality_chart

    spec = cost_quality_chart(_study(seed, jitter)).to_dict()
    width, height = spec["width"], spec["height"]
    layers = spec["layer"]
    xdom = next(ly["encoding"]["x"]["scale"]["domain"] for ly in layers if "scale" in ly["encoding"].get("x", {}))
    ydom = next(ly["encoding"]["y"]["scale"]["domain"] for ly in layers if "scale" in ly["encoding"].get("y", {}))
    names = next(pd.DataFrame(v) for v in spec["datasets"].values() if "lx" in pd.DataFrame(v))

    def px(x, y):
        return ((float(x) - xdom[0]) / (xdom[1] - xdom[0]) * width, (ydom[1] - float(y)) / (ydom[1] - ydom[0]) * height)

    boxes, leaders = [], []
    for r in names.itertuples():
        cx, cy = px(r.lx, r.ly)
        w, h = FONT.getlength(r.label) + 4, 14
        boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
        leaders.append((px(r.time_ratio, r.s_hf_gain_share), px(r.ex, r.ey)) if r.leader else None)
    for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2):
        apart = min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1])
        assert apart, (names.label[i], names.label[j], "names overlap")
    for i, ln in enumerate(leaders):
        if ln is None:
            continue
        for j, box in enumerate(boxes):
            if j != i:
                assert not _segment_in_box(*ln, box), (names.label[i], "leader across", names.label[j])
        for j, other in enumerate(leaders[i + 1:], i + 1):
            if other is not None:
                assert not _segments_cross(*ln, *other), (names.label[i], names.label[j], "leaders cross")


def test_schedule_and_ovg_colours_are_far_apart_and_the_legend_has_a_title():
    from spectral_collapse.plotting.schedule import cost_quality_chart
    from tests.test_h2_palette import contrast
    from tests.test_charts_palette import _de2000

    spec = cost_quality_chart(_study(0, 0.0)).to_dict()
    colour = next(ly["encoding"]["color"] for ly in spec["layer"] if "color" in ly.get("encoding", {}))
    rng = dict(zip(colour["scale"]["domain"], colour["scale"]["range"]))
    for a, b in itertools.combinations(rng, 2):
        assert _de2000(rng[a], rng[b]) >= 25, (a, b)
    assert all(contrast(c, "#FFFFFF") >= 3 for c in rng.values())
    assert colour.get("title")
