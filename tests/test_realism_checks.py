"""The realism checks of the metric-validation chapter: the truth-relative KID_wav of the bundled controls stays
within ``HALF_REFERENCE_BOUND`` of itself when the reference is halved, by sampling (even or odd crops) and by region
(first or second half), the feature map held fixed, and keeps its sign; refitting the map on a region half moves it
further; the movement is measured over the halves asked for; the photograph gate cuts a photograph into interleaved,
disjoint test, reference and real tiles and counts flat ones."""
import numpy as np
import pandas as pd
import pytest

from spectral_collapse.data import load_dataset
from spectral_collapse.metrics import realism as R
from spectral_collapse.framework.controls import control_scores, noise_sigma, realism_sets, scoring_settings
from spectral_collapse.studies.realism_checks import (HALF_REFERENCE_BOUND, HALVES, REFIT_HALVES, REGION_HALVES,
                                                      halved_reference, halving_movement, photo_gate, photo_tiles)


@pytest.mark.parametrize("name", ["ihc-sr", "ihc-edges"])
def test_halving_the_reference_moves_the_truth_relative_kid_within_the_bound(name):
    d = load_dataset(name, size=32, factor=4)
    scoring = scoring_settings(d)
    src, gt = d.test_source[:48], d.test_target[:48]
    sigma = noise_sigma(gt, R.hf_energy_rgb(gt, scoring["wavelet"]).mean(), range(48), scoring["wavelet"])
    f = control_scores(src, gt, scoring, sigma=sigma, crops=range(48))["control_wav_features"]
    feats = {c: f.sel(control=c).values for c in ("copy", "blur", "colour_noise", "luma_noise")}
    table = halved_reference(feats, f.sel(control="ground_truth").values, scoring["reference_features"], n_boot=200)
    assert set(table["reference"]) == set(HALVES)
    assert (table.set_index("reference")["n_reference"].loc[["even crops", "first half"]].diff().dropna() == 0).all()
    for halves in (("even crops", "odd crops"), REGION_HALVES):
        moved = halving_movement(table, halves)
        assert (moved["whole"] > 0).all() and moved["same_sign"].all(), moved
        assert moved["factor"].max() <= HALF_REFERENCE_BOUND, moved
    refit = halving_movement(table, REFIT_HALVES)
    assert refit["factor"].max() > halving_movement(table, REGION_HALVES)["factor"].max(), refit


def test_the_tasks_feature_map_is_fitted_on_its_reference():
    """The KID's feature map of a task holds the reference crops' features (its sorted values are theirs) and maps
    them to the reference features the scores compare with: halving the reference (above) keeps this one map."""
    d = load_dataset("ihc-sr", size=32, factor=4)
    scoring = scoring_settings(d)
    scaler = scoring["reference"]["scaler"]
    ref = R.wavelet_features(realism_sets(d)[0], scoring["wavelet"])
    assert len(scaler.sorted_reference) == scoring["reference"]["n"] == len(ref)
    np.testing.assert_array_equal(scaler.sorted_reference, np.sort(ref, axis=0))
    np.testing.assert_array_equal(scaler(ref), scoring["reference_features"])


def test_halving_movement_reads_only_the_halves_asked_for():
    """A hand-built table: label "a" has KID 2 [1, 3] on the whole reference, 3 and 1.5 on the sampled halves, -1 on
    the first region half and 4 on the second. Sampled: the largest move is 1 / 1 = 1 half-width, the factor
    max(3 / 2, 2 / 1.5) = 1.5, the sign stays. By region: a move of 3 half-widths, a sign change (factor inf)."""
    kid = {"all": (2, 1, 3), "even crops": (3, 2, 4), "odd crops": (1.5, 0.5, 2.5), "first half": (-1, -2, -0.5),
           "second half": (4, 3, 5)}
    table = pd.DataFrame([{"label": "a", "reference": r, "kid_minus_truth": m, "lo": lo, "hi": hi}
                          for r, (m, lo, hi) in kid.items()])
    sampled, region = halving_movement(table).loc["a"], halving_movement(table, REGION_HALVES).loc["a"]
    assert sampled["moved"] == pytest.approx(1.0) and sampled["factor"] == pytest.approx(1.5)
    assert sampled["same_sign"]
    assert region["moved"] == pytest.approx(3.0) and region["factor"] == np.inf and not region["same_sign"]


def test_photo_tiles_interleave_disjoint_sets():
    """A 3 x 2 grid of 32-px tiles, each painted with its own grey level: tiles (0, 0) and (2, 1) are the test
    tiles, the other four the target pool, every tile in exactly one set."""
    img = np.zeros((96, 64, 3), dtype=np.uint8)
    for i in range(3):
        for j in range(2):
            img[32 * i:32 * (i + 1), 32 * j:32 * (j + 1)] = 10 * (2 * i + j)
    test, pool = photo_tiles(img, 32)
    level = lambda t: [round((float(x[0, 0, 0]) + 1) * 127.5 / 10) for x in t]  # noqa: E731
    assert level(test) == [0, 5] and level(pool) == [1, 2, 3, 4]


def test_photo_gate_counts_flat_tiles_and_kid_passes_on_a_photograph():
    table, counts = photo_gate("astronaut")
    assert counts["flat_test"] == 2 and counts["flat_reference"] + counts["flat_real"] > 0
    kid = table[table["score"] == "kid_wav"]
    assert kid["worse"].all() and set(kid["control"]) == {"copy", "blur", "colour_noise", "luma_noise"}


def test_halving_words_name_labels_as_prose_does():
    """Hand-made halving results of two labels: the words name the largest factors' labels as a reader reads them,
    the sampled one within the bound and the region one with the sign change it shows."""
    import xarray as xr

    from spectral_collapse.studies.realism_checks import halving_words

    labels = ["ovg_edm", "colour_noise"]
    grid = np.ones((2, len(HALVES)))
    ds = xr.Dataset({**{f"halving_{k}": (("halving_label", "halving_reference"), grid) for k in
                        ("kid_minus_truth", "lo", "hi")},
                     "halving_factor": ("halving_label", [1.1, 1.3]), "halving_moved": ("halving_label", [0.5, 2.0]),
                     "halving_same_sign": ("halving_label", [True, True]),
                     "halving_region_factor": ("halving_label", [np.inf, 2.0]),
                     "halving_region_moved": ("halving_label", [9.0, 1.0]),
                     "halving_region_same_sign": ("halving_label", [False, True]),
                     "halving_refit_factor": ("halving_label", [3.0, 5.0]),
                     "halving_refit_moved": ("halving_label", [4.0, 1.0]),
                     "halving_refit_same_sign": ("halving_label", [True, True])},
                    coords={"halving_label": labels, "halving_reference": list(HALVES)},
                    attrs={"half_reference_bound": HALF_REFERENCE_BOUND})
    words, table = halving_words(ds)
    assert words["worst"] == "colour noise" and words["moved"] == "2.0 (colour noise)"
    assert words["within"] == "within the bound" and words["sign"] == "stays for every label"
    assert words["region_worst"] == "OVG + EDM" and words["region_sign"] == "changes for OVG + EDM"
    assert words["region_within"] == "beyond the bound for OVG + EDM, colour noise"
    assert words["refit_worst"] == "colour noise" and "refit_within" not in words
    assert list(table.columns[-3:]) == ["factor, sampled", "factor, by region", "factor, refitted"]   # headers in words


def test_kid_wav_under_a_fixed_feature_map():
    """``kid_wav(images, reference, fit=crops)`` is the MMD of features rank-normalised by a map fitted on ``crops``
    (re-derived here from ``wavelet_features`` and ``FeatureScaler``); ``fit`` the reference itself is the default;
    another fit set gives another number."""
    g = np.random.default_rng(0)
    crops = lambda n, s: np.clip(g.normal(0, s, (n, 1, 32, 32)) + g.normal(0, 0.05, (n, 3, 32, 32)), -1, 1)  # noqa: E731
    images, reference, other = crops(12, 0.3), crops(16, 0.25), crops(16, 0.4)
    feats = lambda x: R.wavelet_features(x, "sym4")  # noqa: E731
    scale = R.FeatureScaler.fit(feats(other))
    assert R.kid_wav(images, reference, fit=other) == pytest.approx(
        R.mmd2_unbiased(scale(feats(images)), scale(feats(reference))), rel=1e-12)
    assert R.kid_wav(images, reference, fit=reference) == R.kid_wav(images, reference)
    assert R.kid_wav(images, reference, fit=other) != R.kid_wav(images, reference)
