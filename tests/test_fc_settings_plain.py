"""Settings rows said plainly: the decorrelation score's definition reads as sentences, not a parenthesis of internal
names."""


def test_decorrelation_definition_is_plain():
    from spectral_collapse.report.settings_words import words

    stored = ("1 - flagged-patch ratio (tables' convention); patch 4, stride 1, FPR 0.05, >= half of the channels; "
              "each latent scaled to unit variance first (s_dc, flagged_ratio, mask; the raw form: s_dc_raw)")
    text = words(stored)
    assert "first (" not in text and "masks;" not in text, text
    assert "scaled to unit variance" in text and "S_DC raw" in text

def test_a_tuning_record_writes_step_sizes_as_the_book_does_and_names_its_crops():
    from spectral_collapse.plotting.labels import step_size
    from spectral_collapse.report.settings_words import tuning_text

    text = tuning_text({"grid": {"eta_hf": [1e-8, 1e-5], "eta_lf": [1e-3, 1.0]},
                        "choice": {"eta_hf": 1e-8, "eta_lf": 0.1, "s_hf": 0.97}, "n_images": 12, "rule": "maximin",
                        "tuning_crops": [48, 49]})
    assert "e-0" not in text and step_size(1e-8) in text and step_size(0.1) in text, text
    assert "12 validation crops" in text
