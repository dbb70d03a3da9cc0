"""The main results store every translated image of every method and seed and the normalisation of the KID features, so
KID_wav per seed is recomputed from the results file alone (images read back from disk, features, the stored
reference) and matches the stored KID."""
import numpy as np
import pytest
import xarray as xr

from spectral_collapse.metrics import realism as R
from spectral_collapse.pipeline.runner import run_study


@pytest.mark.slow
def test_kid_per_seed_is_recomputed_from_the_results_file_alone(tmp_path):
    res = tmp_path / "results"
    run_study("main_results", results_root=res, dataset="ihc-sr", profile="smoke", methods=["ddim", "edm"],
              seeds=[0, 1])
    (path,) = res.rglob("main_results/*.nc")
    ds = xr.open_dataset(path).load()
    assert ds.sizes["image"] == ds.sizes["sample"]                     # every translated image, not a few
    scale = R.FeatureScaler(ds["reference_feature_sorted"].values, ds["reference_feature_keep"].values.astype(bool))
    ref = ds["reference_wav_features"].values
    flat = ds["flat_truth"].to_series()
    for m in ds["method"].values:
        for s in ds["seed"].values:
            imgs = ds["images"].sel({"method": m, "seed": s}).values
            at = {"method": m, "seed": s}
            keep = ~ds["failed"].sel(at).values & ~flat.loc[ds["crop"].sel(seed=s).values].values
            f = scale(R.wavelet_features(imgs[keep], ds.attrs["wavelet"]))
            assert R.mmd2_unbiased(f, ref) == pytest.approx(float(ds["kid_wav"].sel(at)), rel=1e-9)
