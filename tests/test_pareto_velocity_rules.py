"""The velocity chapter's checks read stored means by a stated minimal effect, with an inconclusive band."""
import re

import numpy as np
import xarray as xr

from spectral_collapse.report.velocity import MIN_EFFECT, check_word, velocity_verdict


def _falling(start: float, stop: float, steps: int = 20, freqs: int = 8) -> np.ndarray:
    return np.repeat(np.linspace(start, stop, steps)[:, None], freqs, axis=1)


def _velocity(power: dict) -> xr.Dataset:
    methods = list(power)
    steps, freqs = next(iter(power.values())).shape
    sf = np.tile(np.arange(steps) * 0.1, (len(methods), 1))
    return xr.Dataset({"log_power": (("method", "step", "freq"), np.stack([power[m] for m in methods])),
                       "sigma_from": (("method", "step"), sf), "sigma_to": (("method", "step"), sf + 0.1)},
                      coords={"method": methods, "step": np.arange(steps), "freq": np.linspace(0, 0.7, freqs)},
                      attrs={"space": "vp", "n_samples": 4})


def test_a_gap_under_the_minimal_effect_is_inconclusive_either_way():
    assert check_word(-5.0, -5.0 + 2 * MIN_EFFECT) == "agrees"
    assert check_word(-5.0, -5.0 - 2 * MIN_EFFECT) == "does not agree"
    for gap in (MIN_EFFECT / 2, -MIN_EFFECT / 2):
        assert check_word(-5.0, -5.0 + gap).startswith("inconclusive")


def test_the_verdict_states_its_rule_and_reads_a_small_gap_as_inconclusive():
    small = MIN_EFFECT / 3          # DDIM a little above the others late, and falling about as far: no difference
    ds = _velocity({"ddim": _falling(-3, -5), "edm": _falling(-3 - small, -5 - small),
                    "ovg": _falling(-3 - small, -5 - small)})
    text = velocity_verdict(ds)
    assert f"minimal effect of {MIN_EFFECT:g} decades" in text
    assert text.count(": inconclusive") == 4 and ": does not agree" not in text and ": agrees" not in text
    assert "log10" not in text and not re.search(r"-\d", text)      # typeset log and true minus signs


def test_failed_sample_notes_of_a_sweep_write_step_sizes_as_every_chapter_does():
    from spectral_collapse.pipeline.notes import failure_notes
    from spectral_collapse.text import step_size

    hf, lf = [1e-7, 1e-5], [1e-3, 1e-1]
    failed = np.zeros((1, 2, 2, 4), bool)
    failed[0, 0, 1, :] = True
    ds = xr.Dataset({"failed": (("base", "eta_hf", "eta_lf", "sample"), failed),
                     "failure": (("base", "eta_hf", "eta_lf", "sample"), np.where(failed, "nonfinite", ""))},
                    coords={"base": ["ovg"], "eta_hf": hf, "eta_lf": lf})
    text = "\n".join(failure_notes(ds))
    assert f"eta_hf {step_size(hf[0])}, eta_lf {step_size(lf[1])}" in text
    assert not re.search(r"\de-\d|eta_lf 0\.1\b", text)


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


def test_the_flow_page_says_what_its_pictures_show_beside_the_scores():
    from spectral_collapse.report.flow_collapse import picture_text

    text = picture_text(_flow_pictures(stripe=1.5, contrast=1.7))
    assert "OVG's inverted latents show a regular pattern" in text and "above DDIM's" in text
    assert "the score misses" in text and "OVG's outputs are over-contrasted" in text and "PSNR" in text
    assert "DDIM's inverted latents" not in text
    assert picture_text(_flow_pictures(stripe=0.0, contrast=1.0)) == ""


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


def test_schedule_shares_are_written_as_the_book_writes_percentages():
    from spectral_collapse.report.schedule import _pct

    assert _pct(0.76) == "76 %" and _pct(1.03) == "103 %" and _pct(-0.2) == "−20 %"
    assert not re.search(r"\d%", _pct(0.5))


def test_a_stored_target_rule_reads_in_the_book_percent_style():
    from spectral_collapse.text import spaced_percents

    assert spaced_percents("at least 90% of full OVG's gain") == "at least 90\u00a0% of full OVG's gain"
