"""The chapters' support-leak table reads a results file's latents against the task's support: 0 for latents in the
support (block-constant for sr), 1 for white noise, failed samples left out, the stored variable preferred."""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

from spectral_collapse.tables.support import leak_table, leak_values


def _results(latents: dict, failed=None, stored=None) -> xr.Dataset:
    methods = list(latents)
    lat = np.stack([latents[m] for m in methods])            # (method, seed, image, C, H, W)
    ds = xr.Dataset({"latents": (("method", "seed", "image", "channel", "y", "x"), lat)},
                    coords={"method": methods})
    ds.attrs["task"] = json.dumps({"kind": "sr", "factor": 4})
    if failed is not None:
        ds["failed"] = (("method", "seed", "sample"), failed)
    if stored is not None:
        ds["support_leak"] = (("method", "seed", "sample"), stored)
    return ds


def _blocky(g, shape):
    small = g.standard_normal((*shape[:-2], shape[-2] // 4, shape[-1] // 4))
    return np.repeat(np.repeat(small, 4, axis=-2), 4, axis=-1)


def test_latents_in_the_support_leak_nothing_and_white_noise_leaks_one():
    g = np.random.default_rng(0)
    shape = (2, 8, 3, 32, 32)
    ds = _results({"imprint": _blocky(g, shape), "noise": g.standard_normal(shape)})
    table = leak_table(ds)
    assert table.loc["imprint", "trained"] < 1e-12
    # per latent the leak of N(0, I) has sd sqrt(2 (dim S / d) / (d - dim S)) = 0.007 at d = 3,072, dim S = 192
    assert abs(table.loc["noise", "trained"] - 1) < 4 * 0.007 / np.sqrt(16)
    assert table.loc["noise", "crops"] == 8 and table.loc["noise", "runs"].count("/") == 1


def test_failed_samples_are_left_out_and_a_stored_leak_is_read_as_stored():
    g = np.random.default_rng(1)
    shape = (1, 4, 3, 32, 32)
    noise = g.standard_normal(shape)
    noise[0, 0] *= 0
    noise[0, 0] += _blocky(g, (3, 32, 32))                   # crop 0 in the support, and failed
    failed = np.zeros((1, 1, 4), dtype=bool)
    failed[0, 0, 0] = True
    v = leak_values(_results({"m": noise}, failed=failed), "m")
    assert np.isnan(v[0, 0]) and np.all(np.abs(v[0, 1:] - 1) < 0.05)
    stored = np.full((1, 1, 4), 0.25)
    assert np.allclose(leak_values(_results({"m": noise}, stored=stored), "m"), 0.25)


def test_a_task_without_a_known_support_gives_no_row():
    g = np.random.default_rng(2)
    ds = _results({"m": g.standard_normal((1, 2, 3, 32, 32))})
    ds.attrs["task"] = json.dumps({"kind": "generic"})
    assert leak_table(ds).empty


def test_a_seed_whose_every_crop_failed_reads_nan_without_a_warning():
    """Seed 1 failed on every crop: its run reads nan and the mean is seed 0's, and numpy says nothing of an empty
    slice (a chapter shows every warning its cells raise)."""
    import warnings

    from spectral_collapse.framework.aggregate import nan_mean

    g = np.random.default_rng(2)
    failed = np.zeros((1, 2, 4), dtype=bool)
    failed[0, 1] = True
    ds = _results({"m": g.standard_normal((2, 4, 3, 32, 32))}, failed=failed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = leak_table(ds)
        assert np.isnan(nan_mean([np.nan, np.nan]))
    assert table.loc["m", "runs"].endswith("/ nan")
    assert np.isclose(table.loc["m", "trained"], np.mean(leak_values(ds, "m")[0]), rtol=1e-12)
    assert nan_mean([1.0, np.nan, 2.0]) == np.nanmean([1.0, np.nan, 2.0])
