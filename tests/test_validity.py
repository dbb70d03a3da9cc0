"""Failed samples, honest table cells and shares, and shipped weights.

- ``framework.validity.failures`` fails a sample for what it is (NaN, a latent far off the Gaussian shell, an output
  far outside the data range), not only for NaN;
- a table cell never averages survivors silently, and a deterministic method has no "± 0";
- shares count coinciding methods once, leave failed cells out and tie S_G values within the KS resolution;
- a checkpoint exported to its shipped float16 form is reinstalled bit for bit from it, and training is skipped.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import xarray as xr

from conftest import TinyData, tiny_training
from spectral_collapse.metrics.latent import ks_resolution
from spectral_collapse.framework.aggregate import cell_text, coinciding_methods, deterministic_methods, summary
from spectral_collapse.claims.shares import countable, share_table
from spectral_collapse.framework.validity import MAX_ABS_OUTPUT, MAX_NORM_RATIO, failures


def test_failures_name_the_first_bound_left():
    g = torch.Generator().manual_seed(0)
    lat = torch.randn(5, 3, 8, 8, generator=g)
    out = torch.rand(5, 3, 8, 8, generator=g) * 2 - 1
    lat[1] *= 1.05 * MAX_NORM_RATIO ** 0.5      # finite but ~11x the energy of N(0, I)
    out[2, 0, 0, 0] = 1.01 * MAX_ABS_OUTPUT     # one pixel far outside [-1, 1]
    lat[3, 0, 0, 0] = float("nan")
    reason = failures(out, lat, nonfinite_step=np.array([-1, -1, -1, -1, 7]))
    assert reason.tolist() == ["", "latent_norm", "output_range", "nonfinite", "nonfinite"]
    lat[1] /= 1.1                               # just inside the bound: kept
    assert failures(out, lat)[1] == ""


def _results(values: dict, failed: dict | None = None, seeds=(0, 1, 2), n=4) -> xr.Dataset:
    """A main-results-like dataset: values[method] is (seeds, samples) for psnr / s_hf / s_lf alike."""
    methods = list(values)
    arr = np.stack([np.asarray(values[m], float) for m in methods])
    ds = xr.Dataset({k: (("method", "seed", "sample"), arr + i) for i, k in enumerate(("psnr", "s_hf", "s_lf"))},
                    coords={"method": methods, "seed": list(seeds), "sample": np.arange(n)})
    fail = np.zeros_like(arr, bool)
    for m, (s, i) in (failed or {}).items():
        fail[methods.index(m), s, i] = True
    ds["failed"] = (("method", "seed", "sample"), fail)
    for k in ("psnr", "s_hf", "s_lf"):
        ds[k] = ds[k].where(~ds["failed"])
    return ds


def test_cells_show_failed_counts_and_no_spread_for_deterministic_methods():
    det = np.tile(np.arange(4.0), (3, 1))                     # the same values for every seed
    sto = np.arange(12.0).reshape(3, 4)
    ds = _results({"ddim": det, "taba": sto}, failed={"taba": (1, 2)})
    assert deterministic_methods(ds) == {"ddim"}
    s = summary(ds, ["psnr"]).set_index("method")
    assert np.isnan(s.loc["ddim", "std"]) and s.loc["ddim", "failed"] == 0 and s.loc["ddim", "n"] == 4
    assert s.loc["taba", "failed"] == 1 and s.loc["taba", "n"] == 11
    # seed 1's mean runs over its 3 kept samples (4, 5, 7), not over a NaN-free 4
    assert s.loc["taba", "mean"] == pytest.approx(np.mean([1.5, (4 + 5 + 7) / 3, 9.5]))
    assert "±" not in cell_text(s.loc["ddim", "mean"], s.loc["ddim", "std"])
    text = cell_text(s.loc["taba", "mean"], s.loc["taba", "std"], failed=1, n=11)
    assert "±" in text and "n = 11" in text and "1 failed" in text
    assert cell_text(np.nan, np.nan, failed=12) == "n/a (12 failed)"
    dead = _results({"ddim": det, "ovg": det}, failed={"ovg": ([0, 1, 2], slice(None))})  # every sample of ovg fails
    assert deterministic_methods(dead) == {"ddim"}              # identical only in failing: counted in every seed
    assert summary(dead, ["psnr"]).set_index("method").loc["ovg", "failed"] == 12


def test_coinciding_methods_are_counted_once_in_shares():
    a = np.arange(12.0).reshape(3, 4)
    ds = _results({"ddim": a, "null_class": a + 1, "direct_inversion": a + 1, "taba": a + 5})
    assert coinciding_methods(ds) == {"direct_inversion": "null_class"}
    from spectral_collapse.claims.evidence import long_frame

    f = long_frame(ds, "main", "toy")
    kept, why = countable(f)
    assert "direct_inversion" not in set(kept["method"]) and why["coinciding"] == 3   # 3 seeds
    pct = share_table(f, f.iloc[0:0], "taba", ("ddim", "null_class", "direct_inversion"), "method", ("psnr",))
    assert set(pct["cases"]) == {2}                       # taba against ddim and null_class, the seeds pooled
    assert set(pct["coinciding_out"]) == {1}              # direct_inversion's (dataset, method) point


def test_s_g_within_ks_resolution_is_a_tie_and_failed_cells_are_left_out():
    n = 64
    res = ks_resolution(n)
    rows = []
    for d in range(3):   # one comparison per dataset
        rows += [dict(dataset=f"d{d}", method="taba", seed=0, metric="s_g", value=1e-16, n=n, failed=0),
                 dict(dataset=f"d{d}", method="ddim", seed=0, metric="s_g", value=0.0, n=n, failed=0)]
    rows[0]["value"] = 0.5 + res                                   # d0: a real win, beyond the resolution
    rows += [dict(dataset="d3", method="taba", seed=0, metric="s_g", value=0.9, n=n, failed=2),
             dict(dataset="d3", method="ddim", seed=0, metric="s_g", value=0.1, n=n, failed=0)]
    f = pd.DataFrame(rows)
    pct = share_table(f, f.iloc[0:0], "taba", "ddim", "method", ("s_g",)).iloc[0]
    assert pct["cases"] == 3 and pct["ties"] == 2 and pct["failed_out"] == 1
    assert pct["share"] == pytest.approx((1 + 0.5 + 0.5) / 3)      # without the tie rule it would read 3 of 3


def test_shipped_weights_install_exactly_and_skip_training(tmp_path, monkeypatch):
    from safetensors.torch import load_file

    from spectral_collapse.train import shipped
    from spectral_collapse.train.cache import CheckpointCorrupt
    from spectral_collapse.train.trainer import train

    monkeypatch.setattr(shipped, "SHIPPED_ROOT", str(tmp_path / "weights"))
    spec, cfg = tiny_training()
    first = train(spec, cfg, TinyData(), name="tiny-ship", root=tmp_path / "ckpt", progress=False)
    trained = load_file(str(first.path / "ema.safetensors"))
    dest = shipped.export(first.path)
    assert (dest / "ema.fp16.safetensors").exists() and (dest / "sha256.json").exists()
    installed = load_file(str(first.path / "ema.safetensors"))
    for k, v in trained.items():                                    # the local checkpoint now holds the rounded weights
        assert torch.equal(installed[k], v.half().float())
    # a fresh clone: no checkpoint folder; train() installs the shipped form instead of training
    again = train(spec, cfg, TinyData(), name="tiny-ship", root=tmp_path / "fresh", progress=False)
    assert again.path.name == first.path.name
    assert not (again.path / "model.safetensors").exists()          # nothing was trained
    assert (again.path / "weights.sha256.json").read_bytes() == (first.path / "weights.sha256.json").read_bytes()
    loaded = again.denoiser.net.state_dict()
    assert set(loaded) == set(trained)
    assert all(torch.equal(loaded[k], v.half().float()) for k, v in trained.items())
    # a damaged shipped file is refused, naming it
    blob = bytearray((dest / "ema.fp16.safetensors").read_bytes())
    blob[-1] ^= 1
    (dest / "ema.fp16.safetensors").write_bytes(bytes(blob))
    with pytest.raises(CheckpointCorrupt, match="ema.fp16.safetensors"):
        shipped.install(tmp_path / "other" / first.path.name)
    (dest / "ema.fp16.safetensors").write_bytes(bytes(blob[:-1] + bytes([blob[-1] ^ 1])))  # repaired
    # the shipped folder given as the checkpoint root is refused before anything in it is touched
    before = {p.name: p.read_bytes() for p in dest.iterdir()}
    with pytest.raises(ValueError, match="shipped copy"):
        train(spec, cfg, TinyData(), name="tiny-ship", root=tmp_path / "weights", progress=False)
    assert {p.name: p.read_bytes() for p in dest.iterdir() if p.name != ".lock"} == before


def test_a_checkpoint_built_before_other_weights_shipped_under_its_name_is_installed_again(tmp_path, monkeypatch):
    """Weights shipped anew under a checkpoint's folder name (a model retrained with the same configuration) replace
    a checkpoint installed from the earlier ones, or trained here, at the next load; an unchanged shipped form
    leaves the installed checkpoint alone."""
    from safetensors.torch import load_file, save_file

    from spectral_collapse.train import shipped
    from spectral_collapse.train.trainer import train

    monkeypatch.setattr(shipped, "SHIPPED_ROOT", str(tmp_path / "weights"))
    spec, cfg = tiny_training()
    local = train(spec, cfg, TinyData(), name="tiny-new", root=tmp_path / "ckpt", progress=False)  # trained here
    assert not shipped.replaced(local.path)                       # nothing shipped: it stays
    other = train(spec, cfg, TinyData(), name="tiny-new", root=tmp_path / "elsewhere", progress=False)
    w = load_file(str(other.path / "ema.safetensors"))
    save_file({k: v + 0.25 for k, v in w.items()}, str(other.path / "ema.safetensors"))  # retrained: other weights
    from spectral_collapse.train.cache import write_weight_hashes
    write_weight_hashes(other.path)
    dest = shipped.export(other.path)
    shipped_w = {k: v.float() for k, v in load_file(str(dest / "ema.fp16.safetensors")).items()}
    assert shipped.replaced(local.path)                           # trained here before those weights shipped
    again = train(spec, cfg, TinyData(), name="tiny-new", root=tmp_path / "ckpt", progress=False)
    got = again.denoiser.net.state_dict()
    assert all(torch.equal(got[k], shipped_w[k]) for k in shipped_w)
    assert not shipped.replaced(again.path)
    digest = (again.path / "weights.sha256.json").read_bytes()
    train(spec, cfg, TinyData(), name="tiny-new", root=tmp_path / "ckpt", progress=False)
    assert (again.path / "weights.sha256.json").read_bytes() == digest   # the same shipped form: not reinstalled


def test_the_ship_flag_exports_a_model_once_trained(tmp_path, monkeypatch):
    from spectral_collapse.train import shipped
    from spectral_collapse.train.trainer import train

    monkeypatch.setattr(shipped, "SHIPPED_ROOT", str(tmp_path / "weights"))
    monkeypatch.setenv("SPECTRAL_COLLAPSE_SHIP_WEIGHTS", "1")
    spec, cfg = tiny_training()
    tm = train(spec, cfg, TinyData(), name="tiny-flag", root=tmp_path / "ckpt", progress=False)
    assert (tmp_path / "weights" / tm.path.name / "sha256.json").is_file()
    assert not (tm.path / "model.safetensors").exists()          # the local folder is the installed, shipped form
    assert not shipped.shipping(tm.path)                         # shipped once; the next request just loads
