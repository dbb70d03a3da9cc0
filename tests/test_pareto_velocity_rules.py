"""The Pareto and flow chapters' rules: pictures beside scores, the grown grid and its colour scale."""
import re

import numpy as np
import xarray as xr


def _flow_pictures(stripe: float, contrast: float) -> xr.Dataset:
    """Flow results with OVG's latents carrying a vertical stripe of amplitude ``stripe`` and its outputs scaled by
    ``contrast`` against the ground truth; S_DC and PSNR per crop as the chapter's table reads them."""
    rng = np.random.default_rng(1)
    methods, n, hw = ["ddim", "ovg"], 6, 16
    lat = rng.standard_normal((2, 1, n, 3, hw, hw))
    lat[1] += stripe * np.cos(2 * np.pi * 0.375 * np.arange(hw))[None, None, None, None, :]
    truth = rng.uniform(-0.5, 0.5, (n, 3, hw, hw))
    images = np.stack([truth, contrast * truth])[:, None]
    return xr.Dataset({"latents": (("method", "seed", "image", "channel", "y", "x"), lat),
                       "images": (("method", "seed", "image", "channel", "y", "x"), images),
                       "truth_images": (("image", "channel", "y", "x"), truth),
                       "s_dc": (("method", "seed", "sample"), np.stack([np.full((1, n), 0.66), np.full((1, n), 0.7)])),
                       "psnr": (("method", "seed", "sample"), np.stack([np.full((1, n), 22.0), np.full((1, n), 15.5)]))},
                      coords={"method": methods, "seed": [0]})


def test_the_flow_pictures_table_finds_the_stripe_and_the_contrast_it_was_given():
    from spectral_collapse.tables.flow import pattern_table

    t = pattern_table(_flow_pictures(stripe=1.5, contrast=1.7))
    assert bool(t.loc["ovg", "pattern"]) and not bool(t.loc["ddim", "pattern"])
    assert abs(t.loc["ovg", "frequency"] - 0.375) < 1e-9          # the stripe's frequency, cycles/pixel
    assert abs(t.loc["ovg", "contrast"] - 1.7) < 1e-3 and abs(t.loc["ddim", "contrast"] - 1.0) < 1e-3
    assert t.loc["N(0, I)", "/ noise's"] == 1.0
    calm = pattern_table(_flow_pictures(stripe=0.0, contrast=1.0))
    assert not calm.drop(index="N(0, I)")["pattern"].astype(bool).any()


def test_the_grid_heatmap_colour_scale_spans_the_drawn_means_only():
    """A cell where most samples failed has no mean: it must not stretch the colour scale down to 0."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_pareto import synthetic_sweep

    from spectral_collapse.plotting.pareto import grid_heatmaps

    ds = synthetic_sweep([(0.8, 0.7), (0.75, 0.8), (0.85, 0.72), (0.9, 0.75)], {"ddim": (0.5, 0.9)})
    for v in ("s_hf", "s_lf"):
        ds[v][0, 1, 1, :2] = np.nan
    ds["finite"][0, 1, 1, :2] = False
    spec = grid_heatmaps(ds).to_dict()
    domains = []

    def walk(node):
        if isinstance(node, dict):
            sc = node.get("scale")
            if isinstance(sc, dict) and sc.get("scheme") == "viridis":
                domains.append(sc["domain"])
            for x in node.values():
                walk(x)
        elif isinstance(node, list):
            for x in node:
                walk(x)

    walk(spec)
    assert domains and all(lo > 0.69 for lo, hi in domains)




def test_a_stored_target_rule_reads_in_the_book_percent_style():
    from spectral_collapse.text import spaced_percents

    assert spaced_percents("at least 90% of full OVG's gain") == "at least 90 % of full OVG's gain"
