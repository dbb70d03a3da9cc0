"""The exact oracle (models/oracle.py) on pools it cannot fit: refused before any moment or eigendecomposition, naming
the pool, what is wrong and what to do (models/oracle_inputs.py); ``form="auto"`` takes the stationary form where the
full covariance would be of low rank."""
from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from probes import probe
from conftest import png_folder
from spectral_collapse.models.gaussian import FULL_MAX_DIM
from spectral_collapse.models.oracle import fit_oracle, oracle_pair


def _pools(n=200, shape=(3, 8, 8), seed=0, **over):
    g = torch.Generator().manual_seed(seed)
    pools = {k: torch.rand((n, *shape), generator=g) * 2 - 1 for k in ("source", "target")}
    return SimpleNamespace(**{**pools, **over})


@probe("silent", "the oracle fitted to non-square crops (full form: the dihedral views flattened as if square, a "
                 "scrambled mean; stationary: `RuntimeError: The size of tensor a ...`)",
       "refused before the fit, naming the pool, its crop size and the square size to crop to")
@pytest.mark.parametrize("form", ["full", "stationary"])
def test_non_square_crops_are_refused_naming_the_pool(form):
    data = _pools(n=64, shape=(3, 4, 8))
    with pytest.raises(ValueError, match=r"^the oracle's source pool holds 4 x 8 px crops.*crop them to 4 x 4"):
        oracle_pair(data, form=form)


@probe("silent", "a NaN or inf pixel in an oracle pool (only '4 of 4 samples became non-finite' later)",
       "refused before the fit, naming the pool, how many crops hold them and which")
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_non_finite_pixel_is_refused_naming_the_pool_and_crop(value):
    data = _pools()
    data.target[7, 1, 2, 3] = value
    with pytest.raises(ValueError, match=r"^the oracle's target pool holds NaN or inf values in 1 of its 200 crops "
                                         r"\(crops 7\)"):
        fit_oracle(data)


@probe("silent", "the oracle fitted to fewer crop views than pixels (64 crops at 16 px), one crop, or flat crops "
                 "(latents 480-1,700 times noise, the warning blaming the model's scheduler)",
       "refused before the fit with the crops it has and needs; form='auto' takes the stationary form where the "
       "full covariance would lack rank")
def test_too_few_or_flat_crops_are_refused_and_auto_avoids_a_low_rank_full_fit():
    shape = (3, 16, 16)
    with pytest.raises(ValueError, match=r"^the oracle's source pool has 64 textured crops \(512 views\) for 768 "
                                         r"elements.*at least 97 crops, or use form='stationary'"):
        oracle_pair(_pools(n=64, shape=shape), form="full")
    assert oracle_pair(_pools(n=64, shape=shape)).form == "stationary"
    assert oracle_pair(_pools(n=100, shape=shape)).form == "full"
    one = _pools(n=1, shape=shape)
    with pytest.raises(ValueError, match=r"^the oracle's source pool holds 1 crop\(s\) with texture.*at least 4"):
        oracle_pair(one, form="stationary")
    flat = _pools(n=200, shape=shape)
    flat.source = torch.rand(200, 3, 1, 1).expand(200, *shape).contiguous()
    with pytest.raises(ValueError, match=r"^the oracle's source pool holds 0 crop\(s\) with texture \(200 of its 200 "
                                         r"are flat"):
        oracle_pair(flat)
    same = _pools(n=200, shape=shape)
    same.target = same.target[:1].expand(200, *shape).contiguous()
    with pytest.raises(ValueError, match=r"^every crop of the oracle's target pool \(200\) is the same image"):
        oracle_pair(same)


@probe("late", "a 3 x 64 x 64 full-covariance oracle (minutes at 6.4 GB, no word)",
       "refused at once with the memory and time it would take, naming form='stationary'")
def test_a_full_fit_beyond_the_practical_size_is_refused_at_once():
    data = _pools(n=4, shape=(3, 64, 64))
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"^a full-covariance oracle on 3 x 64 x 64 crops \(12288 elements\) needs "
                                         r"about 5\.6 GiB.*form='stationary'"):
        oracle_pair(data, form="full")
    assert time.perf_counter() - t0 < 5
    assert 3 * 64 * 64 > FULL_MAX_DIM
    assert oracle_pair(data).form == "stationary"


def _png_folder(root, n=6, seed=0, size=24):
    return png_folder(root, n, size, seed, prefix="")


@probe("silent", "a folder's target images edited in the same kernel (the rerun said 'stale ... recomputing', then "
                 "reused the old oracle: PSNR 17.09 against a fresh process's 15.62)",
       "the oracle is fitted again: it is keyed by the pools' content, and equals a fresh fit")
def test_the_oracle_follows_a_folder_edited_in_the_same_process(tmp_path):
    from PIL import Image

    from spectral_collapse.framework.model_set import dataset_for
    from spectral_collapse.framework.user_models import oracle_models

    root = _png_folder(tmp_path / "data")
    name = f"folder:{root}"
    before = oracle_models("smoke", name)["eps"].net.domain(1).mu.clone()
    rng = np.random.default_rng(1)
    for path in sorted((root / "target").iterdir()):
        Image.fromarray((rng.random((24, 24, 3)) * 80).astype(np.uint8)).save(path)   # darker targets
    after = oracle_models("smoke", name)["eps"].net.domain(1).mu
    fresh = oracle_pair(dataset_for("smoke", name)).domain(1).mu
    assert torch.equal(after, fresh)
    assert float((before - after).abs().max()) > 0.1


@probe("silent", "`closed_form` on a user's folder (its `scale_*` variables computed from the bundled image, "
                 "processed as an edges task)",
       "the scale sweep reads the folder's own images at each crop size; `scale_source` says so")
def test_the_closed_form_scale_sweep_reads_a_folders_own_images(tmp_path, monkeypatch):
    from spectral_collapse.studies import closed_form as cf
    from spectral_collapse.framework.cells import StudyContext
    from spectral_collapse.framework.model_set import dataset_for
    from spectral_collapse.framework.user_models import oracle_models
    from spectral_collapse.studies.registry import study_spec

    root = _png_folder(tmp_path / "data", n=12)
    name = f"folder:{root}"
    shipped = oracle_models("smoke", name)["eps"]      # stands in for the trained model: no training in a test
    monkeypatch.setattr(cf, "trained_model", lambda *a, **k: SimpleNamespace(denoiser=shipped))
    spec = study_spec("closed_form", dataset=name, profile="smoke", n_images=2, eta_hf=[1e-7], sizes=[16],
                      scale_images=2)
    ds = cf.run_closed_form(spec, StudyContext())
    assert ds.attrs["scale_source"] == "the dataset's own images"
    data = dataset_for("smoke", name, options={"size": 16})
    mine = cf._scale_cell(name, 16, 2, cf.get_profile("smoke"), 1e-7, 0.1, 0,
                          (data.source, data.target, data.test_source[:2], None))
    bundled = cf._scale_cell(name, 16, 2, cf.get_profile("smoke"), 1e-7, 0.1, 0)
    got = ds["scale_s_dc"].sel(size=16).item()
    assert got == pytest.approx(mine["scale_s_dc"].item(), rel=1e-9)
    assert got != pytest.approx(bundled["scale_s_dc"].item(), rel=1e-3)


@probe("silent", "a recompute from cached cells (`ovg_drift_images` stored as `'8'` instead of `8`: two runs of the "
                 "same results compared as different)",
       "the arm's attributes keep their numbers whether a cell was computed or read back from the cache")
def test_the_oracle_arms_attributes_are_the_same_from_fresh_and_cached_cells():
    import xarray as xr

    from spectral_collapse.framework.oracle_arm import arm_results, with_arm

    base = xr.Dataset({"psnr": ("sample", np.zeros(2))})
    fresh, cached = ({"ovg_drift_images": n, "white_noise_chroma_share": w}
                     for n, w in ((8, 0.5), (np.int64(8), np.float64(0.5))))     # netCDF gives numpy scalars back
    runs = [arm_results(with_arm(base, base.assign_attrs(attrs))).attrs for attrs in (fresh, cached)]
    assert runs[0] == runs[1]
    assert runs[1]["ovg_drift_images"] == 8 and isinstance(runs[1]["ovg_drift_images"], int)
