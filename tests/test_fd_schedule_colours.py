"""The schedule chart (``plotting.pareto.cost_quality_chart``) as the ihc-edges study draws it: two schedules at
nearly one cost and one share (last half, high) with interval bars between them."""
from __future__ import annotations

import itertools

import numpy as np
import xarray as xr

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



def test_schedule_and_ovg_colours_are_far_apart_and_the_legend_has_a_title():
    from spectral_collapse.plotting.pareto import cost_quality_chart
    from tests.test_h2_palette import contrast
    from tests.test_charts_palette import _de2000

    spec = cost_quality_chart(_study(0, 0.0)).to_dict()
    colour = next(ly["encoding"]["color"] for ly in spec["layer"] if "color" in ly.get("encoding", {}))
    rng = dict(zip(colour["scale"]["domain"], colour["scale"]["range"]))
    for a, b in itertools.combinations(rng, 2):
        assert _de2000(rng[a], rng[b]) >= 25, (a, b)
    assert all(contrast(c, "#FFFFFF") >= 3 for c in rng.values())
    assert colour.get("title")
