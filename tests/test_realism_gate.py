"""The controls decide which texture scores may decide: on real bundled crops the wavelet-statistics KID ranks the
ground truth first and the copied input, the blurred truth and both noises clearly worse; a score blind to a
control fails the gate; and the texture verdict counts too much detail as failing and the truth as closing the whole
gap."""
import functools
import statistics

import numpy as np
import pytest
import xarray as xr

from spectral_collapse.data import load_dataset
from spectral_collapse.metrics import realism as rl
from spectral_collapse.framework.controls import (CONTROLS, control_images, control_scores, noise_sigma,
                                                scoring_settings)
from spectral_collapse.claims.compare import real_band
from spectral_collapse.framework.realism import (add_kid, realism_gate, spread_band, texture_verdict,
                                                truth_band)

N = 48


@functools.lru_cache(maxsize=2)
def _controls_only(name: str, energy_scale: float = 1.0):
    """A results table holding only the controls, on the first N paired crops of a bundled dataset, with noise
    adding ``energy_scale`` times the truth's own level-1 detail energy."""
    d = load_dataset(name, size=32, factor=4)
    scoring = scoring_settings(d)
    src, gt = d.test_source[:N], d.test_target[:N]
    crops = list(range(N))
    energy = energy_scale * rl.hf_energy_rgb(gt, scoring["wavelet"]).mean()
    sigma = noise_sigma(gt, energy, crops, scoring["wavelet"])
    c = control_scores(src, gt, scoring, sigma=sigma, crops=crops)
    ds = c.rename({"sample": "crop_index"}).assign_coords(crop_index=np.arange(N), seed=[0])
    ds["crop"] = (("seed", "sample"), np.arange(N)[None])
    return add_kid(ds, scoring["reference_features"]), scoring, (src, gt, sigma)


@pytest.mark.parametrize("name", ["ihc-sr", "ihc-edges"])
def test_kid_wav_passes_the_controls_on_bundled_crops(name):
    ds, _, _ = _controls_only(name)
    gate = realism_gate(ds)
    kid = gate[gate["score"] == "kid_wav"].set_index("control")
    assert kid["worse"].all() and kid["passes"].all(), kid
    # colour speckle is further from real tissue than grain of the same energy in luminance
    assert kid.loc["colour_noise", "worse_by"] > kid.loc["luma_noise", "worse_by"]
    # the truth's own KID against the disjoint reference is small beside every control's
    k = ds["control_kid_wav"].sel(seed=0)
    assert all(k.sel(control=c) > k.sel(control="ground_truth") for c in CONTROLS if c != "ground_truth")


def test_kid_wav_sees_colour_noise_at_an_eighth_of_its_amplitude():
    ds, scoring, (src, gt, sigma) = _controls_only("ihc-sr")
    weak = control_images(src, gt, sigma=sigma / 8, crops=range(N))["colour_noise"]
    scaler = scoring["reference"]["scaler"]
    f_weak, f_truth = (scaler(rl.wavelet_features(x, scoring["wavelet"])) for x in (weak, gt))
    d = rl.paired_kid_difference(f_weak, f_truth, scoring["reference_features"], n_boot=500)
    assert d.lo > 0


def test_luma_and_chroma_errors_tell_the_two_noises_apart():
    ds, _, _ = _controls_only("ihc-sr")
    luma, chroma = (ds[f"control_delta_log_e_hf_{k}"] for k in ("luma", "chroma"))
    assert float(chroma.sel(control="colour_noise").mean()) > 3 * float(chroma.sel(control="luma_noise").mean())
    assert float(luma.sel(control="luma_noise").mean()) > float(luma.sel(control="colour_noise").mean())
    assert float(luma.sel(control="blur").mean()) < 0 and float(chroma.sel(control="blur").mean()) < 0
    np.testing.assert_allclose(luma.sel(control="ground_truth"), 0, atol=1e-12)


def test_a_score_blind_to_a_control_fails_the_gate():
    ds, _, _ = _controls_only("ihc-sr")
    blind = ds["control_s_hf"].copy()
    blind.loc[{"control": "colour_noise"}] = blind.sel(control="ground_truth").values
    gate = realism_gate(ds.assign(control_s_hf=blind))
    row = gate[gate["score"] == "s_hf"].set_index("control")
    assert not row.loc["colour_noise", "worse"] and not row["passes"].any()


def _as_methods(ds: xr.Dataset, outputs: dict, scoring) -> xr.Dataset:
    """``ds`` with methods whose outputs are the given control images, scored like a study scores methods."""
    from spectral_collapse.framework.controls import image_scores

    rows = []
    src = ds.attrs["src"]
    for name, imgs in outputs.items():
        s = image_scores(imgs, src, ds.attrs["gt"], scoring)
        rows.append(xr.Dataset({k: (("sample", "feature")[:np.ndim(v)], v) for k, v in s.items()})
                    .expand_dims(seed=[0]).expand_dims(method=[name]))
    return xr.merge([ds.drop_attrs(), xr.concat(rows, "method")])


def test_texture_verdict_counts_too_much_detail_as_failing():
    """A method equal to the truth plus colour noise does not restore texture against a blurred truth: its KID_wav is
    not below the blur's (the real crops' band decides nothing); the truth itself against a blurred truth holds."""
    ds, scoring, (src, gt, sigma) = _controls_only("ihc-sr")
    imgs = control_images(src, gt, sigma=sigma, crops=range(N))
    ds = ds.copy()
    ds.attrs.update(src=src, gt=gt)
    full = _as_methods(ds, {"noisy": imgs["colour_noise"], "exact": gt, "smooth": imgs["blur"]}, scoring)
    assert truth_band(full, "delta_log_e_hf_chroma_ref") is not None
    verdict, text, _ = texture_verdict(full, "noisy", "smooth")
    assert verdict == "does not hold" and "chroma detail of noisy" in text and "band" not in text
    verdict, _, gaps = texture_verdict(full, "exact", "smooth")
    assert verdict == "holds"
    # the truth itself closes the whole of the blurred truth's gap on luma, chroma and KID_wav
    assert len(gaps) == 3 and all(g.word == "restores" and g.lo <= 1 <= g.hi for g in gaps)


def test_metric_validation_gate_is_empty_without_a_reference_split():
    """Main results of a folder without pairs hold controls but no reference crops: the gate has nothing to compare
    and metric validation stores no gate variables instead of failing."""
    import xarray as xr

    from spectral_collapse.studies.metric_validation import _gate

    main = xr.Dataset({"control_wav_features": (("control", "feature"), np.zeros((2, 3)))})
    assert len(_gate(main).data_vars) == 0


def test_the_noise_controls_never_vanish_when_ovg_adds_no_detail():
    """The noise controls add the detail energy OVG adds over the truth; where OVG adds less than the truth's own
    (a smooth choice adds none, or removes some), they add the truth's own energy instead, so a texture score is
    always tested against noise; without an OVG run, the truth's own too."""
    import xarray as xr

    from spectral_collapse.framework.realism import ovg_added_energy

    truth = np.array([1.0, 3.0, 2.0, 2.0])                    # the truth's detail energy of crops 0..3 (mean 2)
    crops = [10, 11, 12, 13]

    def ds_with(ovg_energy):
        return xr.Dataset({"e_hf_rgb": (("method", "seed", "sample"), np.array([[ovg_energy]]))},
                          coords={"method": ["ovg"]}).assign(crop=(("seed", "sample"), np.array([[10, 11, 12, 13]])))

    noisy, why = ovg_added_energy(ds_with([11.0, 13.0, 12.0, 12.0]), truth, crops)
    assert noisy == pytest.approx(10.0) and "adds over the truth" in why
    smooth, why = ovg_added_energy(ds_with([0.5, 1.0, 0.5, 1.0]), truth, crops)
    assert smooth == pytest.approx(2.0) and "truth's own" in why and "-1.25" in why
    assert ovg_added_energy(xr.Dataset(), truth, crops)[0] == pytest.approx(2.0)


def test_the_real_crops_band_lets_the_copy_through_on_photographs():
    """Why the band decides no verdict: on a scikit-image photograph of the metric-validation chapter, the copied
    (degraded) input's mean luma and chroma detail both lie inside the real tiles' band, as the truth's do."""
    from skimage import data as skdata

    from spectral_collapse.data import Task, UnpairedDomains, nearest_downup
    from spectral_collapse.framework.realism import BAND_SCORES
    from spectral_collapse.studies.realism_checks import PHOTOS, photo_tiles

    test, pool = photo_tiles(getattr(skdata, PHOTOS[0])(), 32)
    src = nearest_downup(test, 4)
    data = UnpairedDomains("photo", 32, pool, pool, src, test, {}, task=Task("sr", 4))
    scoring = scoring_settings(data)
    crops = list(range(len(test)))
    sigma = noise_sigma(test, float(rl.hf_energy_rgb(test, scoring["wavelet"]).mean()), crops, scoring["wavelet"])
    ds = control_scores(src, test, scoring, sigma=sigma, crops=crops)
    for score in BAND_SCORES:
        lo, hi = truth_band(ds, score)
        copy = float(np.nanmean(ds[f"control_{score}"].sel(control="copy").values))
        blur = float(np.nanmean(ds[f"control_{score}"].sel(control="blur").values))
        assert lo <= copy <= hi and not lo <= blur <= hi, (score, lo, hi, copy, blur)


def test_the_real_crops_band_is_mean_plus_minus_one_sample_std_of_the_finite_values():
    values = [0.3, -0.1, np.nan, 0.7, 0.2]
    finite = [v for v in values if np.isfinite(v)]
    m, sd = statistics.mean(finite), statistics.stdev(finite)
    assert spread_band(values) == pytest.approx((m - sd, m + sd), rel=1e-12)
    assert spread_band([0.4, np.nan]) is None
    ds = xr.Dataset({"control_delta_log_e_hf": (("control", "crop"), np.array([values, [9.0] * 5]))},
                    coords={"control": ["ground_truth", "noise"]})
    assert real_band(ds) == truth_band(ds, "delta_log_e_hf") == spread_band(values)
    assert real_band(ds.sel(control=["noise"])) is None
