"""Charts that set marks apart for legibility move them only a few pixels, and say so."""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

METHODS = ["ddim", "taba", "edm", "ovg", "ovg_taba", "ovg_edm", "ovg_stable", "null_class", "direct_inversion",
           "renoise", "edict", "bdia"]


def _ties() -> xr.Dataset:
    """Every method at S_G = 0 on the same S_DC, as on a dataset where no set of latents looks Gaussian."""
    n = len(METHODS)
    return xr.Dataset({"run_method": ("run", METHODS), "run_steps": ("run", [10] * n), "run_seed": ("run", [0] * n),
                       "run_s_g": ("run", [0.0] * n), "run_s_dc": ("run", [0.5] * n),
                       "run_s_dc_lo": ("run", [0.45] * n), "run_s_dc_hi": ("run", [0.55] * n)})


def test_tied_runs_stay_within_two_percent_of_the_axis_and_apart():
    from spectral_collapse.plotting.latents import decorrelation_scatter

    spec = decorrelation_scatter(_ties()).to_dict()
    width = spec["width"]
    points = [lay for lay in spec["layer"] if lay["mark"]["type"] == "point"]
    places = [(lay["mark"].get("xOffset", 0), lay["mark"].get("yOffset", 0)) for lay in points]
    assert len(points) == len(METHODS)
    assert max(abs(dx) for dx, _ in places) <= 0.02 * width          # a run at 0 never reads as one at 0.1
    assert min(dx for dx, _ in places) >= 0                          # never left of S_G = 0
    assert max(abs(dy) for _, dy in places) <= 12                     # a jitter of a few pixels, not a new value
    assert len(set(places)) == len(places)                            # no two methods on one place
    subtitle = " ".join(spec["title"]["subtitle"])
    assert "2 % of the axis width" in subtitle and "above or below" in subtitle


def test_slot_offsets_cap_the_sideways_shift_inside_the_range():
    from spectral_collapse.plotting.latents import slot_offsets

    moved = slot_offsets(range(9), [0.4] * 9, 3.5, 7.6)
    assert max(abs(dx) for dx, _ in moved) <= 7.6 and moved[0] == (0.0, 0.0)
    assert len(set(moved)) == 9
    right = slot_offsets(range(5), [1.0] * 5, 3.5, 7.6)
    assert all(dx <= 0 for dx, _ in right)                           # inward from S_G = 1


def test_fig4_draws_each_points_interval_bars():
    """Each point of Fig. 4 carries its interval bars on both axes, and the subtitle says what they are."""
    from spectral_collapse.plotting.figures import correlation_figure

    pts = pd.DataFrame({"dataset": ["a", "a", "b"], "method": ["taba", "ovg_taba", "ddim"],
                        "s_hf": [0.95, 0.951, 0.8], "s_lf": [0.7, 0.4, 0.6], "s_dc": [0.99, 0.992, 0.4]})
    for m in ("s_hf", "s_lf", "s_dc"):
        pts[f"{m}_lo"], pts[f"{m}_hi"] = pts[m] - 0.02, pts[m] + 0.02
    spec = correlation_figure(pts).to_dict()
    rules = [lay for lay in spec["hconcat"][0]["layer"] if lay["mark"]["type"] == "rule"]
    assert any("y2" in lay["encoding"] for lay in rules) and any("x2" in lay["encoding"] for lay in rules)
    assert "interval" in " ".join(spec["title"]["subtitle"])
