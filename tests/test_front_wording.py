"""Front pages' wording (report.answers, report.paper_figures, report.reproducing, book pages): sentences that
say what each number measures and name what they compare with."""
from __future__ import annotations

import pandas as pd

from spectral_collapse.report import answers as A


class _NoEvidence:
    bands: dict = {}

    def select(self, *a, **k):
        return pd.DataFrame()


def _means(ddim_norm=0.79):
    row = {"s_dc": 0.3, "s_hf": 0.8, "s_lf": 0.7, "psnr": 22.0}
    return {"ddim": {**row, "latent_norm_ratio": ddim_norm}, "ovg": {**row, "s_dc": 0.45, "latent_norm_ratio": 1.0},
            "taba": {**row, "s_dc": 0.99}, "edm": {**row, "s_dc": 0.7}}


def test_the_collapse_answer_says_s_dc_is_measured_on_scaled_latents_and_gives_their_own_norm(monkeypatch):
    monkeypatch.setattr(A, "versus", lambda *a, **k: None)
    line = A._collapse_sentence("ihc-sr", _means(), _NoEvidence())
    assert "unit-variance latents;" not in line  # a 0.79-variance latent is not called unit-variance
    assert A.SCALED_NOTE in line and "own" in line and "0.79" in line


def test_the_ovg_answer_names_the_reference_it_compares_with(monkeypatch):
    monkeypatch.setattr(A, "versus", lambda *a, **k: None)
    line = A._ovg_sentence("ihc-sr", _means(), _NoEvidence())
    assert "the references reach" not in line
    assert "TABA, the higher of the references, reaches 0.990" in line


def test_fig2_table_gives_every_method_a_group_that_is_not_its_name():
    from spectral_collapse.report.paper_figures import _GROUP, _group
    from spectral_collapse.studies.method_labels import method_name

    for m in _GROUP:
        assert _group(m).strip() and _group(m) != method_name(m)


def test_a_means_only_note_names_the_claim_after_a_colon():
    from spectral_collapse.report.paper_figures import FIGURES, _means_only_note

    fig2 = next(f for f in FIGURES if f.number == 2)
    note = _means_only_note(fig2)
    assert "Of the claims behind this figure, one rests on means only, with no interval: *" in note


def test_fig6_says_how_many_of_the_validation_crops_the_sweep_scores():
    import json

    import xarray as xr

    from spectral_collapse.report.paper_figures import sweep_crops

    def stored(n, n_val, split="validation crops 48-59 of the paired split"):
        return xr.Dataset(attrs={"n_images": n, "tuning_split": split,
                                 "profile_values": json.dumps({"n_val": n_val})})

    assert sweep_crops([stored(12, 16), stored(12, 16)]).startswith("The sweep scores 12 of the profile's 16 validation")
    assert sweep_crops([stored(16, 16)]).startswith("The sweep scores all the profile's 16")
    assert sweep_crops([stored(12, 0, "the first 12 crops of the paired split")]) == ""
    assert sweep_crops([stored(12, 16), stored(8, 16)]) == ""


def _glossary_entry(term: str) -> str:
    from pathlib import Path

    lines = (Path(__file__).resolve().parents[1] / "book" / "glossary.md").read_text().splitlines()
    i = lines.index(term)
    body = []
    for line in lines[i + 1:]:
        if line and not line.startswith(" "):
            break
        body.append(line.strip())
    return " ".join(body)


def test_the_glossary_maps_ihc_sr_factor_to_the_papers_setting_as_the_chapters_do():
    from spectral_collapse.studies.ablations import paper_scale
    from spectral_collapse.studies.profiles import get_profile

    prof = get_profile("quick")
    ours, theirs = int(prof.factor), paper_scale(prof.factor, prof.factors)[1:]
    entry = _glossary_entry("ihc-sr")
    assert f"our ×{ours} for the paper's ×{theirs} setting" in entry
    assert "Table 9, the ×16 setting" not in entry


def test_the_k90_entry_says_what_fewer_components_mean():
    entry = _glossary_entry("k90")
    assert "of the same count needs means" not in entry and "collapsed" in entry


def test_the_methods_page_crop_brightness_spread_is_the_bundled_pools():
    """The methods page says, without typing the data's numbers, that the crop-to-crop spread of ihc-sr's brightness
    is of the same order as the pure-noise start's averaged noise (σ_0 / 32): not negligible beside it."""
    from pathlib import Path

    from spectral_collapse.data.bundled import ihc_sr
    from spectral_collapse.models.schedules import VPSchedule, ddim_sigmas

    text = " ".join((Path(__file__).resolve().parents[1] / "book" / "methods.md").read_text().split())
    assert "brightness of ihc-sr's crops (each channel's mean over its pixels) is of the same order" in text
    noise = float(ddim_sigmas(VPSchedule(), 50)[0]) / 32
    d = ihc_sr()
    spread = [float(t.mean(dim=(2, 3)).std(0).max()) for t in (d.source, d.target)]
    assert all(noise / 3 < s < 3 * noise for s in spread), (spread, noise)


def test_a_gpu_is_named_in_words_with_its_memory():
    from spectral_collapse.report.reproducing import gpu_words

    assert gpu_words("NVIDIA H100 80GB HBM3") == "one NVIDIA H100 GPU (80 GB)"
    assert gpu_words("NVIDIA A100-SXM4-40GB") != "one NVIDIA A100-SXM4-40GB"
    assert gpu_words("NVIDIA L4") == "one NVIDIA L4 GPU"
    assert gpu_words(None) == "one GPU"


def test_the_reproducing_page_points_to_the_datasets_guide_in_words():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "book" / "reproducing.md").read_text()
    assert "see `docs/datasets.md`" not in text and "source tree" in text
